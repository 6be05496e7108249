/*
 * detect.h: detection rules and alerts (issue 20). Security events and
 * audit entries are judged as they are written, in the writer's own
 * tenant transaction, so an alert exists exactly when what caused it was
 * committed. A rule either fires on one event (a refresh token reused,
 * MFA turned off) or counts events per hour against a per-company,
 * per-subject baseline (sql/040-detection.sql: an exponentially weighted
 * mean of the hours before) and fires past
 * max(its minimum, detect_factor x baseline). A firing rule opens an
 * alert or adds to the incident already open: one alert per incident.
 * docs/security.md, Detection, lists the rules and their thresholds.
 */
#ifndef PARLEY_DETECT_H
#define PARLEY_DETECT_H

#include <jansson.h>

struct ctx;

/*
 * Runs 'rc = fn(...)' as detection must run inside a writer's
 * transaction: in a savepoint, so that a failing rule (a deadlock, a
 * timeout) is undone, logged and counted, and the security event or
 * change that caused it still commits. Returns -1 only if the savepoint
 * itself failed (the transaction is then lost anyway).
 */
int detect_guard_begin(struct ctx *ctx);
int detect_guard_end(struct ctx *ctx, int rc, const char *what);

/* The rules, for the API's documentation, the log and the metrics. */
struct detect_rule {
	const char *name; /* "login_failures" */
	const char *severity; /* "low", "medium" or "high" */
	const char *title; /* one line, for mail and the console */
};
extern const struct detect_rule detect_rules[];
extern const size_t		detect_nrules;

/* The rule named 'name', or NULL. */
const struct detect_rule *detect_rule_find(const char *name);

/*
 * Judges security event 'kind' of company 'cid' (user 'uid', may be
 * NULL; 'detail' borrowed, may be NULL), just written in the open tenant
 * transaction (event_record calls this). Returns 0 or -1.
 */
int detect_event(struct ctx *ctx, const char *cid, const char *uid,
    const char *kind, json_t *detail);

/*
 * A CSP report from chatbot 'chatbot's widget frame, in the open tenant
 * transaction of 'cid': counted against the chatbot's baseline only.
 * Reports are unauthenticated (anyone can post one naming a public bot
 * key), so none becomes a security event row. Returns 0 or -1.
 */
int detect_csp_report(struct ctx *ctx, const char *cid, const char *chatbot);

/* Judges audit entry 'action' about 'resource_id' (may be NULL) with
 * 'changes' (borrowed, may be NULL), just written in the open tenant
 * transaction of ctx->who.company_id (audit_write calls this). Returns
 * 0 or -1. */
int detect_audit(struct ctx *ctx, const char *action, const char *resource_id,
    json_t *changes);

/*
 * A session 'sid' just started for 'uid' in the open tenant transaction:
 * from a network and browser family that member used before? If not
 * (and they had signed in before), queues the "new sign-in" mail whose
 * link ends this session only, sets '*detail' (a new object the caller
 * frees: the session, network and family) and returns 1; the caller
 * records it as event new_sign_in. 0: nothing new; -1: error.
 */
int detect_sign_in(struct ctx *ctx, const char *cid, const char *uid,
    const char *sid, json_t **detail);

/*
 * A failed password login from ctx->from.addr, against the account 'uid'
 * of 'cid', or (both NULL) against the unknown address 'email'. Runs
 * with no transaction open; past detect_stuffing_accounts accounts in
 * detect_stuffing_window it logs the operator's alert and opens one in
 * each company whose accounts were among them. Never fails the login.
 */
void detect_login_failure(
    struct ctx *ctx, const char *cid, const char *uid, const char *email);

/*
 * API key ctx->who.key_id was used from a network its check did not know:
 * notes it in the open tenant transaction. 1 if the key was seen before
 * from other networks, with '*detail' set (a new object the caller
 * frees; the caller records it as event api_key_new_network); 0 if not
 * (its first use); -1 on error.
 */
int detect_key_network(struct ctx *ctx, json_t **detail);

/*
 * Opens an alert of rule 'rule' about 'subject' ("user:<id>", ...) in
 * the open tenant transaction of 'cid', or adds to the one open; 'uid'
 * may be NULL, 'detail' borrowed (ids and counts only). An alert opened
 * is logged as one "security_alert" line. Returns 0 or -1.
 */
int alert_raise(struct ctx *ctx, const char *cid, const char *rule,
    const char *subject, const char *uid, json_t *detail);

/* The browser family of user agent 'ua' (may be NULL), such as
 * "Firefox on Linux" or "curl", into 'out'. */
void detect_agent_family(const char *ua, char out[48]);

/*
 * The token of the "this was not me" link ending session 'sid' of 'cid',
 * valid until 'expires' (seconds since the epoch), into 'out'; and its
 * check: 0 with the ids filled, -1 if parley did not make it or it
 * expired. Stateless: ending the session makes it single-use.
 */
void detect_link_token(
    const char *cid, const char *sid, long long expires, char out[160]);
int detect_link_check(const char *token, char cid[37], char sid[37]);

#endif
