/*
 * realtime.h: events to nginx's nchan module, which holds the subscribers
 * (agents on GET /api/v1/events, visitors on their conversation's events),
 * so idle listeners never occupy a parleyd worker.
 *
 * parleyd publishes over a unix socket that only it can reach (a server
 * block of its own in nginx, not a public location), and only after the
 * transaction that made the change commits. Channels:
 *   c-<company id>       every event of a company (agents)
 *   s-<session id>       nothing is published; deleting it ends the
 *                        streams of that session at once (logout)
 *   u-<user id>          likewise for every session of a user (logout-all,
 *                        password change or reset, removal)
 *   v-<conversation id>  a visitor's own conversation
 */
#ifndef PARLEY_REALTIME_H
#define PARLEY_REALTIME_H
#include <jansson.h>
#include <libpq-fe.h>
struct ctx;

#define RT_QUEUE_MAX 16 /* events one transaction may queue */

/*
 * Queues event 'ev' (borrowed; copied) for channel "<prefix>-<id>", sent
 * when the open transaction commits; dropped if it rolls back. Does
 * nothing when realtime_socket is not configured.
 */
void rt_queue(
    struct ctx *ctx, const char *prefix, const char *id, const json_t *ev);
/* Queues the deletion of channel "s-<id>" for each row of 'ids' (column 0). */
void rt_end_sessions(struct ctx *ctx, PGresult *ids);
/*
 * Queues the deletion of channel "u-<user>": every event stream of that
 * user ends (logout-all, password change or reset, removal).
 */
void rt_end_user(struct ctx *ctx, const char *user_id);
/*
 * Queues the events of a stored message 'msg' (borrowed) of conversation
 * 'conv': to the company's channel, and to the visitor's (without the
 * agent's id).
 */
void rt_message(struct ctx *ctx, const char *conv, const json_t *msg);
/* Queues a conversation's new status and assignee (assignee may be NULL). */
void rt_status(struct ctx *ctx, const char *conv, const char *status,
    const char *assignee);
/*
 * Queues a deleted conversation's events: "deleted" to the company's
 * channel, and the end of the visitor's channel.
 */
void rt_conversation_deleted(struct ctx *ctx, const char *conv);
#endif
