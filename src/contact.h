/*
 * contact.h: a visitor reached by e-mail (issue 18, items 3 and 4). A
 * visitor who leaves an address in the widget gets one confirmation
 * mail; once confirmed, agents' replies they have not seen are mailed
 * after a quiet delay (one mail per conversation per window) and they may
 * ask for a transcript. Each mail carries a signed link that opens that
 * one conversation on parley's own chat page. Mails are built from the
 * database when they are sent, so a conversation erased or deleted by
 * retention meanwhile sends nothing.
 */
#ifndef PARLEY_CONTACT_H
#define PARLEY_CONTACT_H

#include <time.h>

#include "job_queue.h"

struct conf;
struct db;

/* "<company>.<conversation>.<expiry>.<mac>": 36 + 36 + 10 + 43 + dots. */
#define CONTACT_LINK_MAX 136

enum contact_link {
	LINK_RESUME, /* opens the conversation */
	LINK_CONFIRM, /* confirms the address it was sent to, then opens */
	LINK__MAX
};

/*
 * Writes link token 'kind' for conversation 'conv' of company 'cid',
 * valid until 'exp', bound to 'bind' (the address, for LINK_CONFIRM;
 * "" otherwise), into 'out'.
 */
void contact_link_make(enum contact_link kind, const char *cid,
    const char *conv, time_t exp, const char *bind, char out[CONTACT_LINK_MAX]);

/*
 * Splits 'token' into its company and conversation ids and (when 'exp'
 * is not NULL) its expiry, without trusting it yet. Returns 0, or -1
 * when malformed.
 */
int contact_link_parse(
    const char *token, char cid[37], char conv[37], time_t *exp);

/*
 * Checks 'token' (parsed already) of 'kind' against 'bind' in constant
 * time, and its expiry against 'now'. Returns 0 if valid, 1 if valid but
 * expired, -1 if not valid.
 */
int contact_link_check(
    enum contact_link kind, const char *token, const char *bind, time_t now);

/*
 * The reply-mail sweep (jobs process): for each conversation whose
 * agent's reply has waited unseen past contact_reply_delay, one
 * "visitor_mail" job naming the replies, in its company's transaction.
 * Returns how many were queued, or -1.
 */
int contact_sweep(const struct conf *cfg, struct db *db);

/* The "visitor_mail" job: a confirmation, replies or a transcript. */
enum job_result job_visitor_mail(const struct conf *cfg, struct db *db,
    const struct job *job, const char **err);

#endif
