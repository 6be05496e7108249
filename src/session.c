/*
 * session.c: sessions and tokens.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "server_keys.h"
#include "ctx.h"
#include "realtime.h"
#include "security_events.h"
#include "detect.h"
#include "session.h"
#include "token.h"
#include "util.h"

static struct db_stmt q_session_new = { "session_new",
	"INSERT INTO sessions (company_id, user_id, expires_at, "
	"idle_expires_at, ip, user_agent) VALUES ($1, $2, now() + "
	"make_interval(secs => $3::integer), now() + make_interval(secs => "
	"$4::integer), nullif($5, ''), nullif($6, '')) RETURNING id",
	6, 0, 0 };
static struct db_stmt q_refresh_new = { "refresh_new",
	"INSERT INTO refresh_tokens (token_hash, company_id, session_id) "
	"VALUES (decode($1, 'hex'), $2, $3)",
	3, 0, 0 };
static struct db_stmt q_revoke_one = { "session_revoke_one",
	"UPDATE sessions SET revoked_at = now(), revoke_reason = $4 WHERE "
	"company_id = $1 AND user_id = $2 AND id = $3 AND revoked_at IS NULL "
	"RETURNING id",
	4, 0, 0 };
static struct db_stmt q_revoke_all = { "session_revoke_all",
	"UPDATE sessions SET revoked_at = now(), revoke_reason = $4 WHERE "
	"company_id = $1 AND user_id = $2 AND revoked_at IS NULL AND id IS "
	"DISTINCT FROM $3::uuid RETURNING id",
	4, 0, 0 };

json_t *
session_tokens(struct ctx *ctx, const char *company_id, const char *user_id,
    const char *role, const char *session_id)
{
	const struct conf   *cfg = ctx->conf;
	struct jwt_claims    c;
	char		     rt[CRYPTO_TOKEN_LEN + 1], hex[65];
	unsigned char	     h[32];
	const char	    *p[3];
	const unsigned char *key;
	size_t		     keylen;
	PGresult	    *res;
	char		    *at = NULL;
	json_t		    *out = NULL;

	if (crypto_token(rt, h) == -1)
		return NULL;
	crypto_hex(h, sizeof(h), hex);
	p[0] = hex;
	p[1] = company_id;
	p[2] = session_id;
	if ((res = db_exec(ctx->db, &q_refresh_new, p)) == NULL)
		goto out;
	PQclear(res);
	memset(&c, 0, sizeof(c));
	snprintf(c.sub, sizeof(c.sub), "%s", user_id);
	snprintf(c.cid, sizeof(c.cid), "%s", company_id);
	snprintf(c.sid, sizeof(c.sid), "%s", session_id);
	snprintf(c.role, sizeof(c.role), "%s", role);
	key = keys_jwt(&keylen);
	if ((at = ptok_issue(key, keylen, cfg->jwt_issuer, "parley-api",
		 "access", time(NULL), cfg->access_ttl, &c)) == NULL)
		goto out;
	out = json_pack("{s:s,s:s,s:i,s:s,s:s}", "access_token", at,
	    "token_type", "Bearer", "expires_in", cfg->access_ttl,
	    "refresh_token", rt, "session_id", session_id);
out:
	if (at != NULL) {
		crypto_wipe(at, strlen(at));
		free(at);
	}
	crypto_wipe(rt, sizeof(rt));
	return out;
}

json_t *
session_start(struct ctx *ctx, const char *company_id, const char *user_id,
    const char *role)
{
	return session_start_ttl(
	    ctx, company_id, user_id, role, ctx->conf->refresh_ttl);
}

json_t *
session_start_ttl(struct ctx *ctx, const char *company_id, const char *user_id,
    const char *role, int max_ttl)
{
	char	    ttl[16], idle[16], ua[513], sid[37];
	const char *p[6];
	PGresult   *res;

	snprintf(ttl, sizeof(ttl), "%d",
	    max_ttl < ctx->conf->refresh_ttl ? max_ttl
					     : ctx->conf->refresh_ttl);
	snprintf(idle, sizeof(idle), "%d", ctx->conf->refresh_idle_ttl);
	utf8_clean(ctx->from.user_agent, ua, sizeof(ua));
	p[0] = company_id;
	p[1] = user_id;
	p[2] = ttl;
	p[3] = idle;
	p[4] = ctx->from.addr;
	p[5] = ua;
	if ((res = db_exec(ctx->db, &q_session_new, p)) == NULL)
		return NULL;
	snprintf(sid, sizeof(sid), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	/* A network and browser this member never signed in from: told. */
	{
		json_t *d = NULL;
		int	n;

		if (detect_guard_begin(ctx) == -1)
			return NULL;
		if ((n = detect_sign_in(ctx, company_id, user_id, sid, &d)) ==
		    1)
			n = event_record(
			    ctx, company_id, user_id, "new_sign_in", d);
		json_decref(d);
		if (detect_guard_end(ctx, n, "new_sign_in") == -1)
			return NULL;
	}
	return session_tokens(ctx, company_id, user_id, role, sid);
}

int
session_revoke(struct ctx *ctx, const char *company_id, const char *user_id,
    const char *session_id, const char *keep, const char *reason)
{
	const char *p[4] = { company_id, user_id,
		session_id != NULL ? session_id : keep, reason };
	PGresult   *res;
	int	    n;

	res = db_exec(
	    ctx->db, session_id != NULL ? &q_revoke_one : &q_revoke_all, p);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	/*
	 * Their event streams end once this commits: one session's, or
	 * (one deletion, however many sessions) all the user's.
	 */
	if (session_id != NULL)
		rt_end_sessions(ctx, res);
	else if (n > 0)
		rt_end_user(ctx, user_id);
	PQclear(res);
	return n;
}
