/*
 * api_auth.c: registration, login, refresh, logout, the current user,
 * password reset and change, e-mail verification, and session listing.
 *
 * Lookups before a company is known use the parley_lookup_* functions
 * (credential in, ids out); everything else runs in the tenant
 * transaction of the company found.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "api.h"
#include "audit.h"
#include "mfa.h"
#include "handler.h"
#include "resources.h"
#include "auth.h"
#include "captcha.h"
#include "pow.h"
#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "detect.h"
#include "row.h"
#include "security_events.h"
#include "job_queue.h"
#include "server_keys.h"
#include "log.h"
#include "password.h"
#include "ratelimit.h"
#include "realtime.h"
#include "session.h"
#include "sso.h"
#include "totp.h"
#include "util.h"
#include "validate.h"

#define EMAIL_MAX ACCOUNT_EMAIL_MAX

/* --- statements --- */

static struct db_stmt q_lookup_refresh = { "lookup_refresh",
	"SELECT session_id AS id, company_id FROM "
	"parley_lookup_refresh_token(decode($1, 'hex'))",
	1, DB_RETRY_SAFE, 0 };
static struct db_stmt q_user_login = { "user_login",
	"SELECT password_hash, role, totp_secret_enc, totp_last_step, "
	"totp_enabled_at IS NOT NULL AS mfa FROM users WHERE id = $1 AND "
	"company_id "
	"= $2",
	2, 0, 0 };
static struct db_stmt q_company_new = { "company_new",
	"INSERT INTO companies (id, name) VALUES ($1, $2)", 2, 0, 0 };
static struct db_stmt q_user_new = { "user_new",
	"INSERT INTO users (company_id, email, name, role, password_hash, "
	"email_verified_at) VALUES ($1, $2, $3, 'owner', $4, now()) RETURNING "
	"id",
	4, 0, 0 };
static struct db_stmt q_signup_find = { "signup_find",
	"SELECT company_id FROM signups WHERE token_hash = decode($1, 'hex') "
	"AND expires_at > now()",
	1, DB_RETRY_SAFE, 0 };
static struct db_stmt q_signup_take = { "signup_take",
	"DELETE FROM signups WHERE token_hash = decode($1, 'hex') AND "
	"expires_at > now() RETURNING email, name, company_name, password_hash",
	1, 0, 0 };
static struct db_stmt q_refresh_use = { "refresh_use",
	"SELECT rt.rotated_at IS NOT NULL AS reused, s.user_id, s.revoked_at "
	"IS NULL AND s.expires_at > now() AND s.idle_expires_at > now() AS "
	"live, u.role FROM "
	"refresh_tokens rt JOIN sessions s ON s.id = rt.session_id AND "
	"s.company_id = rt.company_id JOIN users u ON u.id = s.user_id AND "
	"u.company_id = s.company_id WHERE rt.token_hash = decode($1, 'hex') "
	"AND rt.company_id = $2 FOR UPDATE OF rt, s",
	2, 0, 0 };
static struct db_stmt q_refresh_rotate = { "refresh_rotate",
	"UPDATE refresh_tokens SET rotated_at = now() WHERE token_hash = "
	"decode($1, 'hex') AND company_id = $2 AND rotated_at IS NULL",
	2, 0, 0 };
static struct db_stmt q_session_touch = { "session_touch",
	"UPDATE sessions SET last_used_at = now(), idle_expires_at = "
	"least(expires_at, now() + make_interval(secs => $3::integer)) WHERE "
	"id = $1 AND company_id = $2",
	3, 0, 0 };
static struct db_stmt q_session_kill = { "session_kill",
	"UPDATE sessions SET revoked_at = now(), revoke_reason = $3 WHERE id "
	"= $1 AND company_id = $2 AND revoked_at IS NULL RETURNING id",
	3, 0, 0 };
struct db_stmt	      q_me = { "me",
	       "SELECT {{Me}} FROM users u JOIN companies c ON c.id = "
		      "u.company_id WHERE u.id = $1 AND u.company_id = $2",
	       2, 0, 0 };
static struct db_stmt q_token_use = { "auth_token_use",
	"SELECT t.user_id, t.expires_at > now() AND t.used_at IS NULL AS "
	"usable, u.email, u.name, u.email_verified_at IS NOT NULL AS verified "
	"FROM auth_tokens t "
	"JOIN users u ON u.id = t.user_id AND u.company_id = t.company_id "
	"WHERE t.id = $1 AND t.company_id = $2 AND t.kind = $3 FOR UPDATE OF t",
	3, 0, 0 };
static struct db_stmt q_token_spend = { "auth_token_spend",
	"UPDATE auth_tokens SET used_at = now() WHERE company_id = $1 AND "
	"user_id = $2 AND kind = $3 AND used_at IS NULL",
	3, 0, 0 };
static struct db_stmt q_password_set = { "password_set",
	"UPDATE users SET password_hash = $3, password_changed_at = now(), "
	"updated_at = now() WHERE id = $1 AND company_id = $2",
	3, 0, 0 };
static struct db_stmt q_user_secret = { "user_secret",
	"SELECT password_hash, email, name FROM users WHERE id = $1 AND "
	"company_id = $2",
	2, 0, 0 };
static struct db_stmt q_email_verified = { "email_verified",
	"UPDATE users SET email_verified_at = now(), updated_at = now() WHERE "
	"id = $1 AND company_id = $2",
	2, 0, 0 };
static struct db_stmt q_user_state = { "user_state",
	"SELECT email, email_verified_at IS NOT NULL AS verified FROM users "
	"WHERE id = $1 AND company_id = $2",
	2, 0, 0 };
static struct db_stmt q_user_email = { "user_email",
	"SELECT email FROM users WHERE id = $1 AND company_id = $2", 2, 0, 0 };
struct db_stmt	      q_sessions = { "sessions_list",
	       "SELECT {{Session}} FROM sessions WHERE company_id = $2 AND "
		      "user_id = $1 AND revoked_at IS NULL AND expires_at > now() AND "
		      "idle_expires_at > now() ORDER BY created_at DESC LIMIT 100",
	       2, 0, 0 };

/* --- helpers --- */

static int
too_many(struct request *req, int seconds)
{
	char	hdr[48];
	json_t *x = json_pack("{s:i}", "retry_after", seconds);
	int	rc;

	snprintf(hdr, sizeof(hdr), "Retry-After: %d\r\n", seconds);
	rc = http_send_problem(req, 429, "rate_limited",
	    "Too many attempts: try again later", NULL, x, hdr);
	json_decref(x);
	return rc;
}

static int
unavailable(struct request *req)
{
	return http_send_problem(req, 503, "unavailable",
	    "Service temporarily unavailable", NULL, NULL,
	    "Retry-After: 1\r\n");
}

/*
 * Applies rate limit 'name' (see ratelimit_hit). Returns 0 to go on, or
 * HTTP_ANSWERED after answering (429 or, failing closed, 503).
 */
static int
limit(struct request *req, struct ctx *ctx, const char *kind,
    const char *subject, int max, int window, int record)
{
	char name[EMAIL_MAX + 64];
	int  r;

	snprintf(name, sizeof(name), "%s:%s", kind, subject);
	r = ratelimit_hit(ctx->db, name, max, window, record);
	if (r == 0)
		return 0;
	if (r > 0)
		too_many(req, r);
	else
		unavailable(req);
	return HTTP_ANSWERED;
}

/*
 * The account bucket: the user id when the account exists, else the whole
 * address in lower case, so no spelling of an address buys a new budget.
 */
static void
acct_key(
    int found, const char *uid, const char *email, char *out, size_t outlen)
{
	size_t i;

	if (found) {
		snprintf(out, outlen, "u:%s", uid);
		return;
	}
	snprintf(out, outlen, "e:%s", email);
	for (i = 2; out[i] != '\0'; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
}

/* Counts a guess on the account's budget (see h_login). */
int
acct_limit(struct request *req, struct ctx *ctx, const char *key)
{
	return limit(req, ctx, "login:acct", key,
	    ctx->conf->login_max_per_account, ctx->conf->login_window, 1);
}

/* Takes a counted guess back once it proved right. */
void
acct_forget(struct ctx *ctx, const char *key)
{
	char name[EMAIL_MAX + 64];

	snprintf(name, sizeof(name), "login:acct:%s", key);
	(void)ratelimit_forget(ctx->db, name);
}

/* The per-address limit 'kind' (IPv6 counted per /64). */
static int
addr_limit(
    struct request *req, struct ctx *ctx, const char *kind, int max, int window)
{
	char a[80];

	ratelimit_addr(req->remote_addr, a, sizeof(a));
	return limit(req, ctx, kind, a, max, window, 1);
}

static int
weak_password(struct request *req, const char *field, const char *reason)
{
	json_t *x = json_pack(
	    "{s:[{s:s,s:s}]}", "errors", "field", field, "code", reason);
	int rc = http_send_problem(req, 422, "weak_password",
	    "Password refused", password_policy_text(reason), x, NULL);

	json_decref(x);
	return rc;
}

/*
 * A proof of work (pow.h), each challenge spent once. Returns 0 to go
 * on, or HTTP_ANSWERED once refused.
 */
static int
pow_check(struct request *req, struct ctx *ctx, const char *token)
{
	char id[65], name[80];
	int  r = -2;

	if (pow_verify(ctx->conf, token, id) == 0) {
		snprintf(name, sizeof(name), "pow:%s", id);
		r = ratelimit_hit(ctx->db, name, 1, ctx->conf->pow_ttl + 60, 1);
	}
	if (r == 0)
		return 0;
	if (r == -1)
		unavailable(req);
	else
		api_problem(
		    req, 400, "captcha_failed", "The captcha check failed");
	return HTTP_ANSWERED;
}

/*
 * The captcha of registration and password reset: a proof of work when
 * pow_difficulty is set and the token is one, else reCAPTCHA when its
 * secret is set; with neither, none.
 */
static int
captcha_check(struct request *req, struct ctx *ctx)
{
	const char *token = api_body_str(req, "captcha_token");
	int	    r;

	if (pow_enabled(ctx->conf) && token != NULL &&
	    strncmp(token, POW_PREFIX ".", sizeof(POW_PREFIX)) == 0)
		return pow_check(req, ctx, token);
	if (!captcha_enabled(ctx->conf)) {
		if (!pow_enabled(ctx->conf))
			return 0;
		api_problem(
		    req, 400, "captcha_failed", "The captcha check failed");
		return HTTP_ANSWERED;
	}
	r = captcha_verify(ctx->conf, token, req->remote_addr);
	if (r == 0)
		return 0;
	if (r == -1)
		api_problem(
		    req, 400, "captcha_failed", "The captcha check failed");
	else
		unavailable(req);
	return HTTP_ANSWERED;
}

static int
bad_token(struct request *req)
{
	return api_problem(
	    req, 400, "invalid_token", "This link is invalid, used or expired");
}

int
h_pow_challenge(struct request *req, struct ctx *ctx)
{
	char	challenge[POW_CHALLENGE_MAX + 1];
	json_t *o;
	int	rc;

	if (!pow_enabled(ctx->conf))
		return api_problem(req, 404, "captcha_off",
		    "This deployment asks for no proof of work");
	if (pow_challenge(ctx->conf, challenge) == -1)
		return -1;
	o = json_pack("{s:s,s:i,s:i}", "challenge", challenge, "difficulty",
	    ctx->conf->pow_difficulty, "expires_in", ctx->conf->pow_ttl);
	rc = o != NULL ? http_send_json(req, 200, o) : -1;
	json_decref(o);
	return rc;
}

/* --- shared with the other handlers (api.h) --- */

int
api_addr_limit(
    struct request *req, struct ctx *ctx, const char *kind, int max, int window)
{
	return addr_limit(req, ctx, kind, max, window);
}

int
api_limit(struct request *req, struct ctx *ctx, const char *kind,
    const char *subject, int max, int window)
{
	return limit(req, ctx, kind, subject, max, window, 1);
}

int
api_weak_password(struct request *req, const char *field, const char *reason)
{
	return weak_password(req, field, reason);
}

int
api_unavailable(struct request *req)
{
	return unavailable(req);
}

/* --- registration and login --- */

/*
 * The registration of an address that has an account: its holder is
 * told by mail (and sees it in the account's security events), nothing
 * else changes. The caller has hashed the password all the same, so
 * both answers cost alike.
 */
static int
register_taken(struct request *req, struct ctx *ctx, const char *email,
    const char *uid, const char *cid)
{
	json_t *job =
	    json_pack("{s:s,s:s}", "to", email, "template", "signup_existing");
	int rc = -1;

	if (job == NULL ||
	    db_tenant_begin(ctx->db, cid, NULL, NULL, NULL) == -1)
		goto out;
	if (jobs_enqueue(ctx->db, "email", cid, job) == -1 ||
	    event_record(ctx, cid, uid, "signup_attempt", NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	rc = 0;
out:
	json_decref(job);
	return rc;
}

int
api_signup_gate(struct request *req, struct ctx *ctx, const char *email)
{
	const struct conf *cfg = ctx->conf;
	char		   akey[EMAIL_MAX + 8];

	if (captcha_check(req, ctx) == HTTP_ANSWERED ||
	    addr_limit(req, ctx, "register:ip", cfg->register_max_per_ip,
		cfg->register_window) == HTTP_ANSWERED)
		return HTTP_ANSWERED;
	acct_key(0, NULL, email, akey, sizeof(akey));
	return limit(req, ctx, "register:addr", akey, cfg->register_max_per_ip,
	    cfg->register_window, 1);
}

int
api_company_create(struct request *req, struct ctx *ctx,
    const struct new_company *nc, char uid[37])
{
	const char *p[4] = { nc->cid, nc->company_name, NULL, NULL };
	PGresult   *res;

	if ((res = db_exec(ctx->db, &q_company_new, p)) == NULL)
		return -1;
	PQclear(res);
	p[1] = nc->email;
	p[2] = nc->name;
	p[3] = nc->password_hash;
	if ((res = db_exec(ctx->db, &q_user_new, p)) == NULL) {
		/* The address got an account since; its holder reads this. */
		if (strcmp(db_last_sqlstate(ctx->db), "23505") != 0)
			return -1;
		db_rollback(ctx->db);
		http_send_problem(req, 409, "email_taken",
		    "This address already has an account",
		    "Sign in with it, or set a new password.", NULL, NULL);
		return HTTP_ANSWERED;
	}
	snprintf(uid, 37, "%s", row_get(res, 0, "id"));
	PQclear(res);
	return 0;
}

int
api_send_signed_up(struct request *req, struct ctx *ctx,
    const struct new_company *nc, const char *uid, json_t *tokens)
{
	json_t *out;
	int	rc;

	out = json_pack("{s:{s:s,s:s,s:s,s:s,s:b,s:b},s:{s:s,s:s}}", "user",
	    "id", uid, "email", nc->email, "name", nc->name, "role", "owner",
	    "email_verified", 1, "mfa_enabled", 0, "company", "id", nc->cid,
	    "name", nc->company_name);
	if (out == NULL || json_object_update(out, tokens) == -1) {
		json_decref(out);
		return -1;
	}
	rc = api_send_tokens(req, ctx, 201, out);
	return rc;
}

/*
 * Registration answers 202 the same way whether or not the address has
 * an account, so it tells nobody which addresses do: a new address gets
 * a link that creates the company and its owner
 * (h_register_confirm), a taken one a notice. Checks that depend only on
 * the request (captcha, address limit, format, password policy) come
 * first and answer as before.
 */
int
h_register(struct request *req, struct ctx *ctx)
{
	const struct conf *cfg = ctx->conf;
	struct verr	   err;
	char		   email[EMAIL_MAX + 1], hash[PASSWORD_HASH_MAX];
	char		   cid[37], uid[37], akey[EMAIL_MAX + 8];
	const char	  *pw, *name, *cname, *why;
	json_t		  *out = NULL;
	int		   found, rc = -1;

	if (captcha_check(req, ctx) == HTTP_ANSWERED ||
	    addr_limit(req, ctx, "register:ip", cfg->register_max_per_ip,
		cfg->register_window) == HTTP_ANSWERED)
		return 0;
	pw = api_body_str(req, "password");
	name = api_body_str(req, "name");
	cname = api_body_str(req, "company_name");
	if (account_email_normalize(api_body_str(req, "email"), email) == -1) {
		err.field = "email";
		err.code = "format";
		return validate_problem(req, &err);
	}
	if ((why = password_policy(pw, email, name, cfg->password_min_bits)))
		return weak_password(req, "password", why);
	/* Mail to one address is budgeted, taken or not. */
	acct_key(0, NULL, email, akey, sizeof(akey));
	if (limit(req, ctx, "register:addr", akey, cfg->register_max_per_ip,
		cfg->register_window, 1) == HTTP_ANSWERED)
		return 0;
	if ((found = account_lookup_email(ctx->db, email, uid, cid)) == -1 ||
	    password_hash(pw, cfg->bcrypt_cost, hash) == -1)
		goto out;
	if ((found ? register_taken(req, ctx, email, uid, cid)
		   : account_signup_put(ctx->db, ctx->conf->verify_ttl, email,
			 name, cname, hash)) == -1)
		goto out;
	out = json_pack(
	    "{s:s,s:s}", "status", "confirmation_sent", "email", email);
	rc = out == NULL ? -1 : http_send_json(req, 202, out);
out:
	crypto_wipe(hash, sizeof(hash));
	json_decref(out);
	return rc;
}

/* The body of the routes that take a link's token. */
/*
 * The signup link, with the password chosen at registration: creates the
 * company and its owner, whose address the link has just proven, and
 * starts their first session. The signup is deleted in the same
 * transaction, so the link works once. The password must match: anyone
 * may register any address again, which replaces the pending signup and
 * mails the address a new link; without the password, following that
 * link would make the account with a stranger's password.
 */
int
h_register_confirm(struct request *req, struct ctx *ctx)
{
	char		   hex[65], cid[37], uid[37], email[EMAIL_MAX + 1];
	char		   name[201], cname[201], hash[PASSWORD_HASH_MAX];
	const char	  *p[1];
	PGresult	  *res;
	json_t		  *tokens = NULL;
	const char	  *pw;
	struct new_company nc;
	int		   made, rc = -1;

	pw = api_body_str(req, "password");
	/* 256-bit links are not guessed; nginx's per-address limit_req on
	 * /api/ bounds the tries. */
	if (account_token_hash(api_body_str(req, "token"), hex) == -1)
		goto bad;
	p[0] = hex;
	if ((res = db_exec(ctx->db, &q_signup_find, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		goto bad;
	}
	snprintf(cid, sizeof(cid), "%s", row_get(res, 0, "company_id"));
	PQclear(res);
	if (db_tenant_begin(ctx->db, cid, NULL, NULL, NULL) == -1)
		return unavailable(req);
	if ((res = db_exec(ctx->db, &q_signup_take, p)) == NULL)
		goto out;
	if (PQntuples(res) != 1) { /* used meanwhile */
		PQclear(res);
		db_rollback(ctx->db);
		goto bad;
	}
	snprintf(email, sizeof(email), "%s", row_get(res, 0, "email"));
	snprintf(name, sizeof(name), "%s", row_get(res, 0, "name"));
	snprintf(cname, sizeof(cname), "%s", row_get(res, 0, "company_name"));
	snprintf(hash, sizeof(hash), "%s", row_get(res, 0, "password_hash"));
	PQclear(res);
	if (strlen(pw) > PASSWORD_MAX_BYTES || !password_verify(pw, hash)) {
		db_rollback(ctx->db); /* the signup stays, for a typo */
		crypto_wipe(hash, sizeof(hash));
		return http_send_problem(req, 403, "password_mismatch",
		    "This link belongs to a sign-up with another password",
		    "Enter the password you chose when you signed up. If you "
		    "did not sign up twice, someone else signed up with your "
		    "address after you: sign up again.",
		    NULL, NULL);
	}
	nc.cid = cid;
	nc.company_name = cname;
	nc.email = email;
	nc.name = name;
	nc.password_hash = hash;
	if ((made = api_company_create(req, ctx, &nc, uid)) != 0) {
		if (made == HTTP_ANSWERED)
			rc = 0;
		goto out;
	}
	if ((tokens = session_start(ctx, cid, uid, "owner")) == NULL ||
	    event_record(ctx, cid, uid, "register", NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	rc = api_send_signed_up(req, ctx, &nc, uid, tokens);
out:
	crypto_wipe(hash, sizeof(hash));
	json_decref(tokens);
	return rc;
bad:
	return api_problem(
	    req, 400, "invalid_token", "This link is invalid, used or expired");
}

static int
bad_credentials(struct request *req)
{
	return api_problem(req, 401, "invalid_credentials",
	    "Wrong e-mail address or password");
}

/* Records a failed login as a security event of a known account. */
static void
login_failed(struct request *req, struct ctx *ctx, const char *cid,
    const char *uid, const char *reason)
{
	json_t *d = json_pack("{s:s}", "reason", reason);

	if (db_tenant_begin(ctx->db, cid, NULL, NULL, NULL) == 0 &&
	    event_record(ctx, cid, uid, "login_failure", d) == 0)
		(void)db_commit(ctx->db);
	db_rollback(ctx->db);
	json_decref(d);
	if (strcmp(reason, "password") == 0)
		detect_login_failure(ctx, cid, uid, NULL);
}

void
api_login_failed(struct request *req, struct ctx *ctx, const char *cid,
    const char *uid, const char *reason)
{
	login_failed(req, ctx, cid, uid, reason);
}

/*
 * The checks of a password login. Order matters: the address limit first
 * (before any work), then the account limit, which counts the attempt
 * before the password is checked (concurrent guesses cannot outrun it)
 * and takes it back when the login succeeds (successful logins cost
 * nothing). Unknown accounts, accounts without a password and over-long
 * passwords cost the same bcrypt as a wrong password. 1: verified, the
 * account's tenant transaction open (a TOTP code spent in it);
 * HTTP_ANSWERED after answering; -1 on error.
 */
static int
sso_required(struct request *req)
{
	api_problem(req, 403, "sso_required",
	    "Your company signs you in through its identity provider: use "
	    "single sign-on");
	return HTTP_ANSWERED;
}

int
api_password_login(struct request *req, struct ctx *ctx, const char *email_in,
    const char *pw, const char *code, struct login_ok *r)
{
	const struct conf *cfg = ctx->conf;
	char		   email[EMAIL_MAX + 1], akey[300];
	char		   hash[PASSWORD_HASH_MAX], step[24];
	char		  *secret = NULL;
	const char	  *p[2];
	struct sso_domain  d;
	PGresult	  *res;
	int		   found, ok, sso, rc = -1;

	memset(r, 0, sizeof(*r));
	if (pw == NULL)
		pw = "";
	if (addr_limit(req, ctx, "login:ip", cfg->login_max_per_ip,
		cfg->login_window) == HTTP_ANSWERED)
		return HTTP_ANSWERED;
	if (account_email_normalize(email_in, email) == -1) {
		password_verify_dummy(pw, cfg->bcrypt_cost);
		bad_credentials(req);
		return HTTP_ANSWERED;
	}
	/* A company that verified the domain may require its SSO. */
	if ((sso = sso_domain_of(ctx->db, email, &d)) == -1)
		return -1;
	if ((found = account_lookup_email(ctx->db, email, r->uid, r->cid)) ==
	    -1)
		return -1;
	if (sso && d.required && (!found || strcmp(r->cid, d.company_id) == 0))
		sso = 2; /* the company's member, or nobody yet */
	else
		sso = 0;
	if (sso && !found)
		return sso_required(req);
	acct_key(found, r->uid, email, akey, sizeof(akey));
	if (acct_limit(req, ctx, akey) == HTTP_ANSWERED) {
		if (found && req->status == 429 &&
		    db_tenant_begin(ctx->db, r->cid, NULL, NULL, NULL) == 0 &&
		    event_record(ctx, r->cid, r->uid, "login_locked", NULL) ==
			0)
			db_commit(ctx->db);
		return HTTP_ANSWERED;
	}
	if (!found || strlen(pw) > PASSWORD_MAX_BYTES) {
		password_verify_dummy(pw, cfg->bcrypt_cost);
		if (found)
			login_failed(req, ctx, r->cid, r->uid, "password");
		else
			detect_login_failure(ctx, NULL, NULL, email);
		log_event(LOG_INFO, "login_failed",
		    LOG_S("reason", found ? "password" : "unknown_account"));
		bad_credentials(req);
		return HTTP_ANSWERED;
	}
	if (db_tenant_begin(ctx->db, r->cid, NULL, NULL, NULL) == -1) {
		unavailable(req);
		return HTTP_ANSWERED;
	}
	p[0] = r->uid;
	p[1] = r->cid;
	if ((res = db_exec(ctx->db, &q_user_login, p)) == NULL ||
	    PQntuples(res) != 1) {
		PQclear(res);
		return -1;
	}
	snprintf(hash, sizeof(hash), "%s", row_get(res, 0, "password_hash"));
	snprintf(r->role, sizeof(r->role), "%s", row_get(res, 0, "role"));
	secret = strdup(row_get(res, 0, "totp_secret_enc"));
	snprintf(step, sizeof(step), "%s", row_get(res, 0, "totp_last_step"));
	r->mfa = row_bool(res, 0, "mfa");
	PQclear(res);
	db_rollback(ctx->db); /* no transaction held during bcrypt */
	if (secret == NULL)
		goto out;
	/* SSO required: only an owner with TOTP on passes, by password and
	 * code (break glass, audited); nobody else's password is tried. */
	if (sso) {
		if (strcmp(r->role, "owner") != 0 || !r->mfa) {
			rc = sso_required(req);
			goto out;
		}
		r->break_glass = 1;
	}
	if (hash[0] == '\0')
		password_verify_dummy(pw, cfg->bcrypt_cost);
	if (hash[0] == '\0' || !password_verify(pw, hash)) {
		login_failed(req, ctx, r->cid, r->uid, "password");
		bad_credentials(req);
		rc = HTTP_ANSWERED;
		goto out;
	}
	if (r->mfa && (code == NULL || *code == '\0')) {
		/* The password was right: not a failed guess. */
		acct_forget(ctx, akey);
		api_problem(req, 401, "mfa_required",
		    "Enter the code from your authenticator app");
		rc = HTTP_ANSWERED;
		goto out;
	}
	if (db_tenant_begin(ctx->db, r->cid, NULL, NULL, NULL) == -1) {
		unavailable(req);
		rc = HTTP_ANSWERED;
		goto out;
	}
	if (r->mfa) {
		if ((ok = mfa_verify(ctx->db, r->cid, r->uid, secret, step,
			 code, &r->recovery)) == -1)
			goto out;
		if (!ok) {
			db_rollback(ctx->db);
			login_failed(req, ctx, r->cid, r->uid, "mfa");
			api_problem(req, 401, "mfa_invalid",
			    "Wrong or already used code");
			rc = HTTP_ANSWERED;
			goto out;
		}
	}
	acct_forget(ctx, akey);
	rc = 1;
out:
	crypto_wipe(hash, sizeof(hash));
	if (secret != NULL) {
		crypto_wipe(secret, strlen(secret));
		free(secret);
	}
	return rc;
}

/* An owner signed in by password while the company requires SSO. */
static int
break_glass_audit(struct ctx *ctx, const struct login_ok *r)
{
	struct audit_entry e = { 0 };

	ctx->who.kind = AUTH_USER;
	snprintf(
	    ctx->who.company_id, sizeof(ctx->who.company_id), "%s", r->cid);
	snprintf(ctx->who.user_id, sizeof(ctx->who.user_id), "%s", r->uid);
	e.action = "sso.break_glass";
	e.resource_type = "user";
	e.resource_id = r->uid;
	return audit_write(ctx, &e);
}

int
h_login(struct request *req, struct ctx *ctx)
{
	struct login_ok r;
	json_t	       *tokens = NULL, *detail = NULL;
	int		rc;

	if ((rc = api_password_login(req, ctx, api_body_str(req, "email"),
		 api_body_str(req, "password"), api_body_str(req, "totp_code"),
		 &r)) != 1)
		return rc == HTTP_ANSWERED ? 0 : -1;
	rc = -1;
	detail = json_pack("{s:b,s:b,s:b}", "mfa", r.mfa, "recovery_code",
	    r.recovery, "break_glass", r.break_glass);
	if ((tokens = session_start(ctx, r.cid, r.uid, r.role)) == NULL ||
	    event_record(ctx, r.cid, r.uid, "login_success", detail) == -1 ||
	    (r.break_glass && break_glass_audit(ctx, &r) == -1) ||
	    db_commit(ctx->db) == -1)
		goto out;
	rc = api_send_tokens(req, ctx, 200, tokens);
	tokens = NULL; /* taken */
out:
	json_decref(detail);
	json_decref(tokens);
	return rc;
}

/* --- refresh and logout --- */

int
h_refresh(struct request *req, struct ctx *ctx)
{
	char	    hex[65], sid[37], cid[37], uid[37], role[8], idle[16];
	char	    cookie[128];
	const char *p[3], *rt;
	PGresult   *res;
	json_t	   *tokens = NULL;
	int	    reused, live, answered;

	/* The console's cookie, from parley's own pages; else the body's. */
	if (api_cookie_mode(req)) {
		rt = api_refresh_cookie(
		    req, ctx, cookie, sizeof(cookie), &answered);
		if (answered)
			return 0;
	} else if ((rt = api_body_str(req, "refresh_token")) == NULL) {
		struct verr err = { .field = "refresh_token",
			.code = "required" };

		return validate_problem(req, &err);
	}
	if (rt == NULL || account_token_hash(rt, hex) == -1)
		goto invalid;
	p[0] = hex;
	if ((res = db_exec(ctx->db, &q_lookup_refresh, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		goto invalid;
	}
	snprintf(sid, sizeof(sid), "%s", row_get(res, 0, "id"));
	snprintf(cid, sizeof(cid), "%s", row_get(res, 0, "company_id"));
	PQclear(res);
	if (db_tenant_begin(ctx->db, cid, NULL, NULL, NULL) == -1)
		return unavailable(req);
	p[1] = cid;
	if ((res = db_exec(ctx->db, &q_refresh_use, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		goto invalid;
	}
	reused = row_bool(res, 0, "reused");
	snprintf(uid, sizeof(uid), "%s", row_get(res, 0, "user_id"));
	live = row_bool(res, 0, "live");
	snprintf(role, sizeof(role), "%s", row_get(res, 0, "role"));
	PQclear(res);
	if (reused) {
		/* A rotated token came back: someone else has it. */
		p[0] = sid;
		p[1] = cid;
		p[2] = "refresh_reuse";
		if ((res = db_exec(ctx->db, &q_session_kill, p)) == NULL)
			return -1;
		rt_end_sessions(ctx, res);
		PQclear(res);
		if (event_record(ctx, cid, uid, "refresh_reuse", NULL) == -1 ||
		    db_commit(ctx->db) == -1)
			return -1;
		return api_problem(req, 401, "refresh_reused",
		    "This refresh token was already used: the session has been "
		    "ended");
	}
	if (!live) {
		db_rollback(ctx->db);
		return api_problem(req, 401, "session_revoked",
		    "The session has ended: log in again");
	}
	if ((res = db_exec(ctx->db, &q_refresh_rotate, p)) == NULL)
		return -1;
	PQclear(res);
	snprintf(idle, sizeof(idle), "%d", ctx->conf->refresh_idle_ttl);
	p[0] = sid;
	p[1] = cid;
	p[2] = idle;
	if ((res = db_exec(ctx->db, &q_session_touch, p)) == NULL)
		return -1;
	PQclear(res);
	if ((tokens = session_tokens(ctx, cid, uid, role, sid)) == NULL ||
	    db_commit(ctx->db) == -1) {
		json_decref(tokens);
		return -1;
	}
	return api_send_tokens(req, ctx, 200, tokens);
invalid:
	return api_problem(req, 401, "invalid_token", "Unknown refresh token");
}

int
h_logout(struct request *req, struct ctx *ctx)
{
	if (session_revoke(ctx, ctx->who.company_id, ctx->who.user_id,
		ctx->who.session_id, NULL, "logout") == -1 ||
	    event_record(ctx, ctx->who.company_id, ctx->who.user_id, "logout",
		NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		return -1;
	if (api_cookie_mode(req))
		api_clear_cookie(req);
	return http_send_empty(req, 204);
}

int
h_logout_all(struct request *req, struct ctx *ctx)
{
	int	n;
	json_t *d;

	if ((n = session_revoke(ctx, ctx->who.company_id, ctx->who.user_id,
		 NULL, NULL, "logout_all")) == -1)
		return -1;
	d = json_pack("{s:i}", "sessions", n);
	if (event_record(ctx, ctx->who.company_id, ctx->who.user_id,
		"logout_all", d) == -1 ||
	    db_commit(ctx->db) == -1) {
		json_decref(d);
		return -1;
	}
	json_decref(d);
	if (api_cookie_mode(req))
		api_clear_cookie(req);
	return http_send_empty(req, 204);
}

/* --- the current user --- */

/* The answer of GET and PATCH /me: the q_me row and the session. */
static int
send_me(struct request *req, struct ctx *ctx, PGresult *res)
{
	json_t *o;
	int	rc;

	if (res == NULL || PQntuples(res) != 1)
		return -1;
	if ((o = row_json(&row_me, res, 0)) == NULL ||
	    json_object_set_new(
		o, "session_id", json_string(ctx->who.session_id)) == -1)
		rc = -1;
	else
		rc = http_send_json(req, 200, o);
	json_decref(o);
	return rc;
}

int
h_me(struct request *req, struct ctx *ctx)
{
	return send_me(
	    req, ctx, ctx->read); /* q_me, run with the session check */
}

/* $3 the name (NULL: kept), $4 the display name when $5 (NULL: none). */
static struct db_stmt q_me_rename = { "me_rename",
	"UPDATE users SET name = coalesce($3, name), display_name = CASE WHEN "
	"$5::boolean THEN $4 ELSE display_name END WHERE id = $1 AND "
	"company_id = $2 AND (name, display_name) IS DISTINCT FROM "
	"(coalesce($3, name), CASE WHEN $5::boolean THEN $4 ELSE "
	"display_name END) RETURNING id",
	5, 0, 0 };

/*
 * PATCH /me {name?, display_name?}: one's own profile; answers what GET
 * /me does.
 */
int
h_me_patch(struct request *req, struct ctx *ctx)
{
	const char *p[5] = { ctx->who.user_id, ctx->who.company_id,
		api_body_str(req, "name"), api_body_str(req, "display_name"),
		json_object_get(req->json, "display_name") != NULL ? "t"
								   : "f" };
	PGresult   *res;
	int	    changed = 0, rc;

	if (p[2] != NULL || *p[4] == 't') {
		if ((res = db_exec(ctx->db, &q_me_rename, p)) == NULL)
			return -1;
		changed = PQntuples(res) == 1;
		PQclear(res);
	}
	/* A name is the person's: which field changed, never its value. */
	if (changed && api_audit(req, ctx, ctx->who.user_id, NULL, NULL) == -1)
		return -1;
	if ((res = db_exec(ctx->db, &q_me, p)) == NULL)
		return -1;
	if (db_commit(ctx->db) == -1) {
		PQclear(res);
		return -1;
	}
	rc = send_me(req, ctx, res);
	PQclear(res);
	return rc;
}

/* --- passwords --- */

int
h_password_forgot(struct request *req, struct ctx *ctx)
{
	const struct conf *cfg = ctx->conf;
	struct verr	   err;
	char		   email[EMAIL_MAX + 1], uid[37], cid[37], akey[300];
	json_t		  *o;
	int		   found, rc;

	/* The captcha first: nobody without one may spend a victim's budget. */
	if (captcha_check(req, ctx) == HTTP_ANSWERED ||
	    addr_limit(req, ctx, "reset:ip", cfg->reset_max,
		cfg->reset_window) == HTTP_ANSWERED)
		return 0;
	if (account_email_normalize(api_body_str(req, "email"), email) == -1) {
		err.field = "email";
		err.code = "format";
		return validate_problem(req, &err);
	}
	if ((found = account_lookup_email(ctx->db, email, uid, cid)) == -1)
		return -1;
	acct_key(found, uid, email, akey, sizeof(akey));
	if (limit(req, ctx, "reset:acct", akey, cfg->reset_max,
		cfg->reset_window, 1) == HTTP_ANSWERED)
		return 0;
	if (found) {
		const char *p[2] = { uid, cid };
		PGresult   *res;

		if (db_tenant_begin(ctx->db, cid, NULL, NULL, NULL) == -1)
			return unavailable(req);
		/* Always to the address on file, not the one typed. */
		if ((res = db_exec(ctx->db, &q_user_email, p)) == NULL ||
		    PQntuples(res) != 1) {
			PQclear(res);
			return -1;
		}
		snprintf(email, sizeof(email), "%s", row_get(res, 0, "email"));
		PQclear(res);
		if (account_send_link(ctx->db, cid, uid, email,
			"password_reset", cfg->reset_ttl) == -1 ||
		    event_record(ctx, cid, uid, "password_reset_requested",
			NULL) == -1 ||
		    db_commit(ctx->db) == -1)
			return -1;
	}
	/* The same answer either way: no account enumeration. */
	o = json_pack("{s:s}", "status", "accepted");
	rc = http_send_json(req, 202, o);
	json_decref(o);
	return rc;
}

/*
 * Opens the tenant transaction of an e-mailed token of 'kind' and locks
 * it. Returns 1 with ids filled when it is live and unused; 0 after
 * answering 400; -1 on error.
 */
static int
open_token(struct request *req, struct ctx *ctx, const char *kind,
    const char *tok, char cid[37], char uid[37], char *email, char *name)
{
	char	    tid[37];
	const char *p[3];
	PGresult   *res;
	int	    r;

	if ((r = account_lookup_token(ctx->db, kind, tok, tid, cid)) != 1) {
		if (r == 0)
			bad_token(req);
		return r;
	}
	if (db_tenant_begin(ctx->db, cid, NULL, NULL, NULL) == -1) {
		unavailable(req);
		return 0;
	}
	p[0] = tid;
	p[1] = cid;
	p[2] = kind;
	if ((res = db_exec(ctx->db, &q_token_use, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1 || !row_bool(res, 0, "usable")) {
		PQclear(res);
		db_rollback(ctx->db);
		bad_token(req);
		return 0;
	}
	snprintf(uid, 37, "%s", row_get(res, 0, "user_id"));
	snprintf(email, EMAIL_MAX + 1, "%s", row_get(res, 0, "email"));
	snprintf(name, 201, "%s", row_get(res, 0, "name"));
	PQclear(res);
	return 1;
}

/* Spends every unused token of 'kind' of the user (single use). */
static int
spend_tokens(
    struct ctx *ctx, const char *cid, const char *uid, const char *kind)
{
	const char *p[3] = { cid, uid, kind };
	PGresult   *res = db_exec(ctx->db, &q_token_spend, p);

	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

int
h_password_reset(struct request *req, struct ctx *ctx)
{
	char	    cid[37], uid[37], email[EMAIL_MAX + 1], name[201];
	char	    hash[PASSWORD_HASH_MAX];
	const char *pw, *why, *p[3];
	PGresult   *res;
	int	    r, rc = -1;

	pw = api_body_str(req, "password");
	r = open_token(req, ctx, "password_reset", api_body_str(req, "token"),
	    cid, uid, email, name);
	if (r != 1)
		return r;
	if ((why = password_policy(
		 pw, email, name, ctx->conf->password_min_bits)) != NULL) {
		db_rollback(ctx->db); /* the link stays usable */
		return weak_password(req, "password", why);
	}
	if (password_hash(pw, ctx->conf->bcrypt_cost, hash) == -1)
		return -1;
	p[0] = uid;
	p[1] = cid;
	p[2] = hash;
	if ((res = db_exec(ctx->db, &q_password_set, p)) == NULL)
		goto out;
	PQclear(res);
	if (spend_tokens(ctx, cid, uid, "password_reset") == -1 ||
	    session_revoke(ctx, cid, uid, NULL, NULL, "password_reset") == -1 ||
	    event_record(ctx, cid, uid, "password_reset", NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	rc = http_send_empty(req, 204);
out:
	crypto_wipe(hash, sizeof(hash));
	return rc;
}

int
h_password_change(struct request *req, struct ctx *ctx)
{
	char	    akey[48];
	char	    hash[PASSWORD_HASH_MAX], email[EMAIL_MAX + 1], name[201];
	const char *cur, *pw, *why, *p[3];
	PGresult   *res;
	json_t	   *end, *o = NULL;
	int	    ended = 0, passwordless = 0, proof, rc = -1;

	cur = api_body_str(req, "current_password");
	pw = api_body_str(req, "new_password");
	end = json_object_get(req->json, "end_other_sessions");
	p[0] = ctx->who.user_id;
	p[1] = ctx->who.company_id;
	if ((res = db_exec(ctx->db, &q_user_secret, p)) == NULL ||
	    PQntuples(res) != 1) {
		PQclear(res);
		return -1;
	}
	snprintf(hash, sizeof(hash), "%s", row_get(res, 0, "password_hash"));
	snprintf(email, sizeof(email), "%s", row_get(res, 0, "email"));
	snprintf(name, sizeof(name), "%s", row_get(res, 0, "name"));
	PQclear(res);
	db_rollback(ctx->db);
	/* A guess at the current password counts like a login guess. */
	snprintf(akey, sizeof(akey), "u:%s", ctx->who.user_id);
	if (hash[0] != '\0' && acct_limit(req, ctx, akey) == HTTP_ANSWERED)
		goto out;
	if (hash[0] != '\0' &&
	    (cur == NULL || strlen(cur) > PASSWORD_MAX_BYTES ||
		!password_verify(cur, hash))) {
		rc = api_problem(req, 403, "wrong_password",
		    "The current password is wrong");
		goto out;
	}
	if (hash[0] != '\0')
		acct_forget(ctx, akey);
	else
		passwordless =
		    1; /* proven below, by a fresh provider sign-in */
	if ((why = password_policy(
		 pw, email, name, ctx->conf->password_min_bits)) != NULL) {
		rc = weak_password(req, "new_password", why);
		goto out;
	}
	if (password_hash(pw, ctx->conf->bcrypt_cost, hash) == -1)
		goto out;
	if (db_tenant_begin(ctx->db, ctx->who.company_id, NULL, NULL, NULL) ==
	    -1) {
		rc = unavailable(req);
		goto out;
	}
	if (passwordless &&
	    (proof = api_password_proof(req, ctx, "", NULL)) != 1) {
		rc = proof == HTTP_ANSWERED ? 0 : -1;
		goto out;
	}
	p[2] = hash;
	if ((res = db_exec(ctx->db, &q_password_set, p)) == NULL)
		goto out;
	PQclear(res);
	if (end == NULL || json_is_true(end)) {
		if ((ended = session_revoke(ctx, ctx->who.company_id,
			 ctx->who.user_id, NULL, ctx->who.session_id,
			 "password_change")) == -1)
			goto out;
	}
	if (spend_tokens(ctx, ctx->who.company_id, ctx->who.user_id,
		"password_reset") == -1 ||
	    event_record(ctx, ctx->who.company_id, ctx->who.user_id,
		"password_change", NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	o = json_pack("{s:i}", "sessions_ended", ended);
	rc = http_send_json(req, 200, o);
out:
	if (req->status != 0 && rc == -1)
		rc = 0;
	crypto_wipe(hash, sizeof(hash));
	json_decref(o);
	return rc;
}

/* --- e-mail verification --- */

int
h_email_verify(struct request *req, struct ctx *ctx)
{
	char	    cid[37], uid[37], email[EMAIL_MAX + 1], name[201];
	const char *p[2];
	PGresult   *res;
	int	    r;

	r = open_token(req, ctx, "email_verify", api_body_str(req, "token"),
	    cid, uid, email, name);
	if (r != 1)
		return r;
	p[0] = uid;
	p[1] = cid;
	if ((res = db_exec(ctx->db, &q_email_verified, p)) == NULL)
		return -1;
	PQclear(res);
	if (spend_tokens(ctx, cid, uid, "email_verify") == -1 ||
	    event_record(ctx, cid, uid, "email_verified", NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		return -1;
	return http_send_empty(req, 204);
}

int
h_email_resend(struct request *req, struct ctx *ctx)
{
	const char *p[2] = { ctx->who.user_id, ctx->who.company_id };
	char	    email[EMAIL_MAX + 1];
	PGresult   *res;
	json_t	   *o;
	int	    verified, rc;

	if ((res = db_exec(ctx->db, &q_user_state, p)) == NULL ||
	    PQntuples(res) != 1) {
		PQclear(res);
		return -1;
	}
	snprintf(email, sizeof(email), "%s", row_get(res, 0, "email"));
	verified = row_bool(res, 0, "verified");
	PQclear(res);
	db_rollback(ctx->db);
	if (verified)
		return api_problem(req, 409, "already_verified",
		    "This address is already verified");
	if (limit(req, ctx, "verify:acct", ctx->who.user_id, 3, 3600, 1) ==
	    HTTP_ANSWERED)
		return 0;
	if (db_tenant_begin(ctx->db, ctx->who.company_id, NULL, NULL, NULL) ==
		-1 ||
	    account_send_link(ctx->db, ctx->who.company_id, ctx->who.user_id,
		email, "email_verify", ctx->conf->verify_ttl) == -1 ||
	    db_commit(ctx->db) == -1)
		return -1;
	o = json_pack("{s:s}", "status", "accepted");
	rc = http_send_json(req, 202, o);
	json_decref(o);
	return rc;
}

/* --- sessions --- */

int
h_sessions_list(struct request *req, struct ctx *ctx)
{
	PGresult *res = ctx->read; /* q_sessions */
	json_t	 *items, *o;
	size_t	  i;

	if (res == NULL || (items = row_json_all(&row_session, res)) == NULL)
		return -1;
	json_array_foreach(items, i, o) json_object_set_new(o, "current",
	    json_boolean(strcmp(json_string_value(json_object_get(o, "id")),
			     ctx->who.session_id) == 0));
	return http_send_items(req, items);
}

int
h_session_delete(struct request *req, struct ctx *ctx)
{
	const char *id = router_param(req, "id");
	json_t	   *d;
	int	    n;

	if ((n = session_revoke(ctx, ctx->who.company_id, ctx->who.user_id, id,
		 NULL, "ended_by_user")) == -1)
		return -1;
	if (n == 0) {
		db_rollback(ctx->db);
		return router_not_found(req);
	}
	d = json_pack("{s:s}", "session_id", id);
	n = event_record(
	    ctx, ctx->who.company_id, ctx->who.user_id, "session_ended", d);
	json_decref(d);
	if (n == -1 || db_commit(ctx->db) == -1)
		return -1;
	return http_send_empty(req, 204);
}
