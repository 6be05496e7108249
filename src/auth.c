/*
 * auth.c: the authentication step of the request pipeline.
 *
 * User routes: the Bearer access token is verified (src/token.c), then the
 * tenant transaction is opened with the session check in the same round
 * trip: the session must be live, and the role used for authorisation is
 * the one in the database now, not the one in the token. The handler runs
 * inside that transaction. API keys ("prl_…") are checked against their
 * stored hash and scopes; widget visitor tokens are JWTs of their own
 * audience and type, checked against the visitor and chatbot rows. An
 * auth kind without a verifier is refused with 401: fail closed.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth.h"
#include "crypto.h"
#include "security_events.h"
#include "ratelimit.h"
#include "scopes.h"
#include "conf.h"
#include "db.h"
#include "http.h"
#include "server_keys.h"
#include "log.h"
#include "token.h"

/*
 * Session check, run right after the tenant context is set: the session
 * must be live; the role is the user's now. The second column says the
 * session was last marked used over a minute ago.
 */
static struct db_stmt q_session_check = { "session_check",
	"SELECT u.role, s.last_used_at < now() - interval '1 minute', "
	"c.mfa_required AND u.totp_enabled_at IS NULL, CASE WHEN $5::integer > "
	"0 "
	"THEN parley_rate_add(decode($4, 'hex'), $5::integer, $6::integer) "
	"ELSE -1 END FROM sessions s JOIN "
	"users u ON u.id = s.user_id AND u.company_id = s.company_id JOIN "
	"companies c ON c.id = s.company_id WHERE s.id = $1 AND s.user_id = $2 "
	"AND s.company_id = $3 AND s.revoked_at IS NULL AND s.expires_at > "
	"now() AND s.idle_expires_at > now()",
	6, 0, 0 };

/*
 * While the company requires MFA and the user has none, only these
 * routes answer: enough to enrol (and to leave).
 */
static const char *const mfa_enrol_routes[] = {
	"/api/v1/auth/mfa/totp/setup",
	"/api/v1/auth/mfa/totp/enable",
	"/api/v1/me",
	"/api/v1/auth/logout",
	"/api/v1/auth/logout-all",
};

static int
mfa_enrol_route(const struct route *r)
{
	size_t i;

	for (i = 0; i < sizeof(mfa_enrol_routes) / sizeof(mfa_enrol_routes[0]);
	     i++)
		if (strcmp(r->pattern, mfa_enrol_routes[i]) == 0)
			return 1;
	return 0;
}
/* At most once a minute: last use, and the idle deadline moves on. */
static struct db_stmt q_session_used = { "session_used",
	"UPDATE sessions SET last_used_at = now(), idle_expires_at = "
	"least(expires_at, now() + make_interval(secs => $3::integer)) WHERE "
	"id = $1 AND company_id = $2",
	3, 0, 0 };

/*
 * Writes the session's last use (at most once a minute). A read route's
 * transaction is already committed, so it gets one of its own.
 */
static int
mark_used(
    struct ctx *ctx, const struct route *r, const char *sid, const char *cid)
{
	char	    idle[16];
	const char *p[3] = { sid, cid, idle };
	PGresult   *u = NULL;
	int	    ok;

	snprintf(idle, sizeof(idle), "%d", ctx->conf->refresh_idle_ttl);
	if (r->read == NULL) {
		u = db_exec(ctx->db, &q_session_used, p);
		ok = u != NULL;
	} else
		ok = db_tenant_begin(ctx->db, cid, &q_session_used, p, &u) ==
			0 &&
		    db_commit(ctx->db) == 0;
	PQclear(u);
	return ok ? 0 : -1;
}

static struct db_stmt q_key_lookup = { "api_key_lookup",
	"SELECT company_id FROM parley_lookup_api_key($1)", 1, DB_RETRY_SAFE,
	0 };
/*
 * Key check, right after the tenant context: live, not expired, secret
 * matching; the creator's current role caps the key's scopes.
 */
static struct db_stmt q_key_check = { "api_key_check",
	"SELECT k.scopes, u.role, u.id, k.last_used_at IS NULL OR "
	"k.last_used_at < now() - interval '1 minute', CASE WHEN $5::integer > "
	"0 "
	"THEN parley_rate_add(decode($4, 'hex'), $5::integer, $6::integer) "
	"ELSE -1 END, c.mfa_required AND u.totp_enabled_at IS NULL, "
	"parley_network($7) IS NULL OR EXISTS (SELECT 1 FROM known_networks n "
	"WHERE n.company_id = $2 AND n.subject = 'key:' || k.id::text AND "
	"n.network = "
	"parley_network($7)) FROM "
	"api_keys k JOIN companies c ON c.id = k.company_id JOIN "
	"users u ON u.id = k.created_by AND u.company_id = k.company_id WHERE "
	"k.id = $1 AND k.company_id = $2 AND k.secret_hash = decode($3, 'hex') "
	"AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > "
	"now())",
	7, 0, 0 };
/* At most once a minute: the key's last use, and its network's (so the
 * 50 networks kept of a key are the ones it uses). */
static struct db_stmt q_key_used = { "api_key_used",
	"WITH n AS (UPDATE known_networks SET last_seen = now() WHERE "
	"company_id = $2 AND subject = 'key:' || $1::text AND network = "
	"parley_network($3)) UPDATE api_keys SET last_used_at = now() WHERE "
	"id = $1::uuid AND company_id = $2",
	3, 0, 0 };

/*
 * The per-principal request budget (src/ratelimit.c batches the counts),
 * carried by the session or key check statement: no extra round trip.
 * Fills p[3..5] for bucket 'name'.
 */
struct rate {
	char		hex[65], n[16], win[16];
	int		max, window;
	struct rl_slot *slot;
};

/*
 * Chooses the budget for route 'r': LLM routes count against the
 * caller's LLM budget ('llm_max' per 'llm_window'), every other route
 * against the general API budget.
 */
static void
rate_params(struct ctx *ctx, const struct route *r, const char *who,
    struct rate *rt, const char **p)
{
	char name[96];
	int  n;

	if (r->rl == RL_LLM) {
		int visitor = r->auth == AUTH_VISITOR;

		snprintf(name, sizeof(name), "llm:%s", who);
		rt->max = visitor ? ctx->conf->widget_message_rate
				  : ctx->conf->suggest_rate;
		rt->window = visitor ? ctx->conf->widget_message_window
				     : ctx->conf->suggest_window;
	} else {
		snprintf(name, sizeof(name), "api:%s", who);
		rt->max = ctx->conf->api_rate_max;
		rt->window = ctx->conf->api_rate_window;
	}
	ratelimit_bucket(name, rt->hex);
	rt->slot = ratelimit_take(rt->hex, rt->max, rt->window, &n);
	snprintf(rt->n, sizeof(rt->n), "%d", n);
	snprintf(rt->win, sizeof(rt->win), "%d", rt->window);
	memcpy(ctx->rate_bucket, rt->hex, sizeof(ctx->rate_bucket));
	ctx->rate_sent = n;
	ctx->rate_window = rt->window;
	ctx->rate_commits = db_commits(ctx->db);
	p[3] = rt->hex;
	p[4] = rt->n;
	p[5] = rt->win;
}

/* Answers 429 when the budget is spent (column 'col' has the new total). */
static int
rate_exceeded(struct request *req, PGresult *res, int col, struct rate *rt)
{
	char hdr[48];
	long total = strtol(PQgetvalue(res, 0, col), NULL, 10);
	int  wait;

	wait = ratelimit_settle(rt->slot, (int)total, rt->max, rt->window);
	if (wait <= 0)
		return 0;
	snprintf(hdr, sizeof(hdr), "Retry-After: %d\r\n", wait);
	http_send_problem(req, 429, "rate_limited",
	    "Too many requests: try again later", NULL, NULL, hdr);
	return 1;
}

void
auth_record_denial(struct request *req, struct ctx *ctx, const struct route *r,
    const char *kind)
{
	json_t *d;

	if (ctx->who.company_id[0] == '\0')
		return;
	db_rollback(ctx->db);
	/* The rollback undid the request's count: count it on its own. */
	if (ctx->rate_sent > 0 && db_commits(ctx->db) == ctx->rate_commits &&
	    ratelimit_recount(ctx->db, ctx->rate_bucket, ctx->rate_sent,
		ctx->rate_window) == 0)
		ctx->rate_sent = 0;
	d = json_pack("{s:s,s:s,s:s*}", "route", r->pattern, "method",
	    http_method_name(r->method), "api_key",
	    ctx->who.kind == AUTH_KEY ? ctx->who.key_id : NULL);
	if (db_tenant_begin(ctx->db, ctx->who.company_id, NULL, NULL, NULL) ==
		0 &&
	    event_record(ctx, ctx->who.company_id,
		ctx->who.user_id[0] ? ctx->who.user_id : NULL, kind, d) == 0)
		(void)db_commit(ctx->db);
	db_rollback(ctx->db);
	json_decref(d);
}

static const char *const role_names[ROLE__MAX] = { "none", "member", "admin",
	"owner" };

enum role
auth_role_parse(const char *s)
{
	int i;

	for (i = 1; i < ROLE__MAX; i++)
		if (strcmp(s, role_names[i]) == 0)
			return (enum role)i;
	return ROLE_NONE;
}

const char *
auth_role_name(enum role r)
{
	return r < ROLE__MAX ? role_names[r] : "none";
}

static int
unauthorized(struct request *req, const char *code, const char *title)
{
	char hdr[96];

	snprintf(hdr, sizeof(hdr),
	    "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n");
	return http_send_problem(req, 401, code, title, NULL, NULL,
	    strcmp(code, "unauthenticated") == 0
		? "WWW-Authenticate: Bearer\r\n"
		: hdr);
}

/* Returns the token after "Bearer ", or NULL. Borrowed. */
static const char *
bearer(const struct request *req)
{
	const char *a = req->authorization;

	if (a == NULL || strncasecmp(a, "Bearer ", 7) != 0)
		return NULL;
	a += 7;
	while (*a == ' ')
		a++;
	return *a != '\0' ? a : NULL;
}

/*
 * Authenticates an API key "prl_<32 hex id>_<43-char secret>" for route
 * 'r'. Returns 0 with the tenant transaction open (or, for a read route,
 * committed with ctx->read filled), or -1 after answering.
 */
static int
auth_key(struct request *req, struct ctx *ctx, const struct route *r,
    const char *tok)
{
	char	      id[37], cid[37], hex[65], uid[37];
	char	      bucket[64];
	struct rate   rt;
	unsigned char h[32];
	const char   *p[7];
	PGresult     *res;
	enum role     role;
	unsigned      scopes;
	int	      mfa_block, net_known;
	size_t	      i, j;

	if (strlen(tok) != 4 + 32 + 1 + CRYPTO_TOKEN_LEN ||
	    strncmp(tok, "prl_", 4) != 0 || tok[36] != '_' ||
	    strspn(tok + 4, "0123456789abcdef") != 32)
		goto bad;
	for (i = 0, j = 4; i < 36; i++)
		id[i] =
		    (i == 8 || i == 13 || i == 18 || i == 23) ? '-' : tok[j++];
	id[36] = '\0';
	crypto_sha256(tok + 37, CRYPTO_TOKEN_LEN, h);
	crypto_hex(h, sizeof(h), hex);
	p[0] = id;
	if ((res = db_exec(ctx->db, &q_key_lookup, p)) == NULL) {
		http_send_problem(req, 503, "database_unavailable",
		    "Service temporarily unavailable", NULL, NULL,
		    "Retry-After: 1\r\n");
		return -1;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		goto bad;
	}
	snprintf(cid, sizeof(cid), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	p[1] = cid;
	p[2] = hex;
	snprintf(bucket, sizeof(bucket), "key:%s", id);
	rate_params(ctx, r, bucket, &rt, p);
	p[6] = ctx->from.addr;
	if (db_tenant_begin(ctx->db, cid, &q_key_check, p, &res) == -1) {
		http_send_problem(req, 503, "database_unavailable",
		    "Service temporarily unavailable", NULL, NULL,
		    "Retry-After: 1\r\n");
		return -1;
	}
	if (res == NULL || PQntuples(res) != 1) {
		PQclear(res);
		db_rollback(ctx->db);
		goto bad;
	}
	if (rate_exceeded(req, res, 4, &rt)) {
		PQclear(res);
		db_rollback(ctx->db);
		return -1;
	}
	mfa_block = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
	net_known = strcmp(PQgetvalue(res, 0, 6), "t") == 0;
	role = auth_role_parse(PQgetvalue(res, 0, 1));
	scopes = scope_from_pg(PQgetvalue(res, 0, 0)) & scope_ceiling(role);
	snprintf(uid, sizeof(uid), "%s", PQgetvalue(res, 0, 2));
	if (strcmp(PQgetvalue(res, 0, 3), "t") == 0) {
		PGresult *u;

		p[0] = id;
		p[1] = cid;
		p[2] = ctx->from.addr;
		if ((u = db_exec(ctx->db, &q_key_used, p)) == NULL) {
			PQclear(res);
			db_rollback(ctx->db);
			return -1;
		}
		PQclear(u);
	}
	PQclear(res);
	ctx->who.kind = AUTH_KEY;
	memcpy(ctx->who.company_id, cid, sizeof(cid));
	memcpy(ctx->who.user_id, uid, sizeof(uid));
	memcpy(ctx->who.key_id, id, sizeof(id));
	/* A network this key never used: judged after the request. */
	ctx->key_network_new = !net_known;
	ctx->who.role = role;
	ctx->who.scopes = scopes;
	if (mfa_block) {
		/* A key is no way around the company's MFA requirement. */
		auth_record_denial(req, ctx, r, "access_denied");
		http_send_problem(req, 403, "mfa_setup_required",
		    "The key's creator must set up two-factor authentication, "
		    "which the company requires",
		    NULL, NULL, NULL);
		return -1;
	}
	if (r->scope == 0 || (scopes & r->scope) != r->scope) {
		auth_record_denial(req, ctx, r, "access_denied");
		http_send_problem(req, 403, "insufficient_scope",
		    "This key's scopes do not allow this", NULL, NULL, NULL);
		return -1;
	}
	if (r->read != NULL) {
		p[0] = uid;
		p[1] = cid;
		if ((ctx->read = db_exec_commit(ctx->db, r->read, p)) == NULL) {
			db_rollback(ctx->db);
			return -1;
		}
	}
	return 0;
bad:
	unauthorized(
	    req, "invalid_api_key", "Invalid, revoked or expired API key");
	return -1;
}

/*
 * Verifies JWT 'tok' of audience 'aud' and type 'typ' into 'c'. Returns 0,
 * or -1 after answering 401 ('title'; token_expired when it expired).
 */
static int
check_token(struct request *req, struct ctx *ctx, const char *tok,
    const char *aud, const char *typ, const char *title, struct jwt_claims *c)
{
	const unsigned char *key;
	const char	    *why = "bad_signature";
	size_t		     keylen;
	int		     i;

	/* Every key of jwt_key_file verifies (a rotation under way); only
	 * a signature none of them made is tried with the next. */
	for (i = 0; why != NULL && strcmp(why, "bad_signature") == 0 &&
	     (key = keys_jwt_at(i, &keylen)) != NULL;
	     i++)
		why = ptok_verify(key, keylen, tok, ctx->conf->jwt_issuer, aud,
		    typ, time(NULL), c);
	if (why == NULL)
		return 0;
	log_event(LOG_INFO, "token_refused", LOG_S("reason", why));
	unauthorized(req,
	    strcmp(why, "expired") == 0 ? "token_expired" : "invalid_token",
	    title);
	return -1;
}

/*
 * Visitor check, right after the tenant context: the visitor and its
 * chatbot still exist; the first column says the chatbot now demands a
 * verified visitor and this one is not; the third that the visitor's
 * data may no longer be processed by the bot.
 */
static struct db_stmt q_visitor_check = { "visitor_check",
	"SELECT b.require_verified AND NOT v.verified, CASE WHEN $5::integer "
	"> 0 THEN parley_rate_add(decode($4, 'hex'), $5::integer, "
	"$6::integer) ELSE -1 END, v.restricted FROM visitors v JOIN chatbots "
	"b ON "
	"b.company_id = v.company_id AND b.id = v.chatbot_id WHERE v.id = $1 "
	"AND v.chatbot_id = $2 AND v.company_id = $3",
	6, 0, 0 };

/*
 * Authenticates a widget visitor token (src/token.c, audience
 * "parley-widget", type "visitor": sub the visitor, cid the company, sid
 * the chatbot). Returns 0 with the tenant transaction open, or -1 after
 * answering.
 */
static int
auth_visitor(struct request *req, struct ctx *ctx, const struct route *r,
    const char *tok)
{
	struct jwt_claims c;
	const char	 *p[6];
	char		  bucket[64];
	struct rate	  rt;
	PGresult	 *res = NULL;
	int		  unverified;

	if (check_token(req, ctx, tok, "parley-widget", "visitor",
		"Invalid or expired visitor token", &c) == -1)
		return -1;
	p[0] = c.sub;
	p[1] = c.sid;
	p[2] = c.cid;
	snprintf(bucket, sizeof(bucket), "visitor:%s", c.sub);
	rate_params(ctx, r, bucket, &rt, p);
	if (db_tenant_begin(ctx->db, c.cid, &q_visitor_check, p, &res) == -1) {
		http_send_problem(req, 503, "database_unavailable",
		    "Service temporarily unavailable", NULL, NULL,
		    "Retry-After: 1\r\n");
		return -1;
	}
	if (res == NULL || PQntuples(res) != 1) {
		PQclear(res);
		db_rollback(ctx->db);
		unauthorized(req, "session_revoked",
		    "The chat session has ended: start a new one");
		return -1;
	}
	if (rate_exceeded(req, res, 1, &rt)) {
		PQclear(res);
		db_rollback(ctx->db);
		return -1;
	}
	unverified = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	ctx->who.restricted = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
	PQclear(res);
	if (unverified) {
		db_rollback(ctx->db);
		http_send_problem(req, 403, "verification_required",
		    "This chat is for signed-in customers only", NULL, NULL,
		    NULL);
		return -1;
	}
	ctx->who.kind = AUTH_VISITOR;
	memcpy(ctx->who.company_id, c.cid, sizeof(c.cid));
	memcpy(ctx->who.visitor_id, c.sub, sizeof(c.sub));
	memcpy(ctx->who.chatbot_id, c.sid, sizeof(c.sid));
	memcpy(ctx->who.conversation_id, c.cnv, sizeof(c.cnv));
	return 0;
}

int
auth_authenticate(struct request *req, struct ctx *ctx, const struct route *r)
{
	struct jwt_claims c;
	const char	 *tok, *p[6], *rp[2];
	char		  bucket[64];
	struct rate	  rt;
	PGresult	 *res = NULL;
	enum role	  role;

	memset(&ctx->who, 0, sizeof(ctx->who));
	ctx->who.kind = AUTH_PUBLIC;
	ctx->rate_sent = 0;
	if (r->auth == AUTH_PUBLIC)
		return 0;
	if (r->auth != AUTH_USER && r->auth != AUTH_KEY &&
	    r->auth != AUTH_VISITOR) {
		unauthorized(req, "unauthenticated", "Authentication required");
		return -1;
	}
	if ((tok = bearer(req)) == NULL) {
		unauthorized(req, "unauthenticated", "Authentication required");
		return -1;
	}
	if (r->auth == AUTH_VISITOR)
		return auth_visitor(req, ctx, r, tok);
	if (strncmp(tok, "prl_", 4) == 0) {
		if (r->auth != AUTH_KEY) {
			unauthorized(req, "invalid_token",
			    "API keys cannot call this route");
			return -1;
		}
		return auth_key(req, ctx, r, tok);
	}
	if (check_token(req, ctx, tok, "parley-api", "access",
		"Invalid or expired access token", &c) == -1)
		return -1;
	p[0] = c.sid;
	p[1] = c.sub;
	p[2] = c.cid;
	snprintf(bucket, sizeof(bucket), "user:%s", c.sub);
	rate_params(ctx, r, bucket, &rt, p);
	rp[0] = c.sub;
	rp[1] = c.cid;
	db_set_actor(ctx->db, c.sub);
	if ((r->read != NULL ? db_tenant_read(ctx->db, c.cid, &q_session_check,
				   p, &res, r->read, rp, &ctx->read)
			     : db_tenant_begin(ctx->db, c.cid, &q_session_check,
				   p, &res)) == -1) {
		http_send_problem(req, 503, "database_unavailable",
		    "Service temporarily unavailable", NULL, NULL,
		    "Retry-After: 1\r\n");
		return -1;
	}
	if (res == NULL || PQntuples(res) != 1 ||
	    (role = auth_role_parse(PQgetvalue(res, 0, 0))) == ROLE_NONE) {
		PQclear(res);
		db_rollback(ctx->db);
		unauthorized(req, "session_revoked",
		    "The session has ended: log in again");
		return -1;
	}
	if (rate_exceeded(req, res, 3, &rt)) {
		PQclear(res);
		db_rollback(ctx->db);
		return -1;
	}
	if (strcmp(PQgetvalue(res, 0, 1), "t") == 0 &&
	    mark_used(ctx, r, c.sid, c.cid) == -1) {
		PQclear(res);
		db_rollback(ctx->db);
		http_send_problem(req, 503, "database_unavailable",
		    "Service temporarily unavailable", NULL, NULL,
		    "Retry-After: 1\r\n");
		return -1;
	}
	ctx->who.kind = AUTH_USER;
	memcpy(ctx->who.company_id, c.cid, sizeof(c.cid));
	memcpy(ctx->who.user_id, c.sub, sizeof(c.sub));
	memcpy(ctx->who.session_id, c.sid, sizeof(c.sid));
	ctx->who.role = role;
	if (strcmp(PQgetvalue(res, 0, 2), "t") == 0 && !mfa_enrol_route(r)) {
		PQclear(res);
		auth_record_denial(req, ctx, r, "access_denied");
		http_send_problem(req, 403, "mfa_setup_required",
		    "Your company requires two-factor authentication: set it "
		    "up "
		    "first (POST /api/v1/auth/mfa/totp/setup)",
		    NULL, NULL, NULL);
		return -1;
	}
	PQclear(res);
	if (role < r->min_role) {
		auth_record_denial(req, ctx, r, "access_denied");
		http_send_problem(req, 403, "forbidden",
		    "Your role does not "
		    "allow this",
		    NULL, NULL, NULL);
		return -1;
	}
	return 0;
}
