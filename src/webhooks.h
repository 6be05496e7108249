/*
 * webhooks.h: outgoing webhooks. An event becomes, in the transaction of
 * the change that caused it, one delivery per subscribed endpoint and one
 * job each (database triggers, sql/012-webhooks.sql): a change rolled back
 * sends nothing. The jobs process sends a
 * delivery signed per the Standard Webhooks specification (src/whsig.c),
 * with a timeout, never following redirects, and only to public addresses
 * (judged on the address connected to, src/netguard.c). Each try is an
 * attempt row committed before the request goes out, so a process killed
 * mid-delivery leaves a record of the try it was making; the job then runs
 * again when its lease ends (a receiver deduplicates on webhook-id).
 */
#ifndef PARLEY_WEBHOOKS_H
#define PARLEY_WEBHOOKS_H

#include <jansson.h>

#include "job_queue.h"

struct conf;
struct ctx;
struct db;

/*
 * Returns 1 if 'name' may be subscribed to: an event type
 * ("message.created"), a family ("member.*") or "*".
 */
int webhook_event_valid(const char *name);

/* The jobs handler of kind "webhook". */
enum job_result webhook_deliver(const struct conf *cfg, struct db *db,
    const struct job *job, const char **err);

/*
 * Gives up the delivery of a "webhook" job its handler could not close
 * (the process kept dying, or the database failed at the last attempt):
 * marks it failed and turns its endpoint off. Best effort.
 */
void webhook_give_up(
    const struct conf *cfg, struct db *db, const struct job *job);

#endif
