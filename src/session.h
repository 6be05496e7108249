/*
 * session.h: login sessions, refresh-token rotation and access tokens.
 *
 * A session is created at every login and registration. Its refresh
 * token (256 random bits, stored as SHA-256) is rotated on every use; a
 * rotated token presented again revokes the whole session. There is no
 * grace period for concurrent refreshes: tokens are random, not
 * re-derivable, so the second of two racing refreshes is treated as reuse.
 */
#ifndef PARLEY_SESSION_H
#define PARLEY_SESSION_H

#include <jansson.h>

struct ctx;
struct request;

/*
 * In the open tenant transaction of 'company_id', starts a session for
 * 'user_id' with 'role' and returns the token pair as a new JSON object
 * {access_token, token_type, expires_in, refresh_token, session_id}
 * (caller json_decref()s), or NULL.
 */
json_t *session_start(struct ctx *ctx, const char *company_id,
    const char *user_id, const char *role);
/* session_start(), the session lasting at most 'max_ttl' seconds (a
 * company's single sign-on: sso_session_ttl), refreshes or not. */
json_t *session_start_ttl(struct ctx *ctx, const char *company_id,
    const char *user_id, const char *role, int max_ttl);

/*
 * Issues a new refresh token for 'session_id' and an access token, in the
 * open tenant transaction. Returns the pair as session_start() does.
 */
json_t *session_tokens(struct ctx *ctx, const char *company_id,
    const char *user_id, const char *role, const char *session_id);

/*
 * In the open tenant transaction of 'company_id', revokes one session
 * ('session_id') or, with NULL, every session of 'user_id' except 'keep'
 * (may be NULL). Returns the number revoked or -1.
 */
int session_revoke(struct ctx *ctx, const char *company_id, const char *user_id,
    const char *session_id, const char *keep, const char *reason);

#endif
