/*
 * api_mfa.c: TOTP second factor: setup, enable (with ten single-use
 * recovery codes, stored as SHA-256), disable (password and a code).
 * The secret is stored AES-256-GCM encrypted with the company id as
 * associated data.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "mfa.h"
#include "handler.h"
#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "security_events.h"
#include "server_keys.h"
#include "password.h"
#include "totp.h"
#include "util.h"
#include "validate.h"

static struct db_stmt q_mfa_state = { "mfa_state",
	"SELECT email, totp_enabled_at IS NOT NULL AS enabled, "
	"totp_pending_enc, "
	"totp_secret_enc, totp_last_step, password_hash FROM users WHERE id = "
	"$1 AND company_id = $2 FOR UPDATE",
	2, 0, 0 };
static struct db_stmt q_mfa_pending = { "mfa_pending",
	"UPDATE users SET totp_pending_enc = $3, updated_at = now() WHERE id "
	"= $1 AND company_id = $2",
	3, 0, 0 };
static struct db_stmt q_mfa_enable = { "mfa_enable",
	"UPDATE users SET totp_secret_enc = totp_pending_enc, totp_pending_enc "
	"= NULL, totp_enabled_at = now(), totp_last_step = $3, updated_at = "
	"now() WHERE id = $1 AND company_id = $2",
	3, 0, 0 };
static struct db_stmt q_mfa_disable = { "mfa_disable",
	"UPDATE users SET totp_secret_enc = NULL, totp_pending_enc = NULL, "
	"totp_enabled_at = NULL, updated_at = now() WHERE id = $1 AND "
	"company_id = $2",
	2, 0, 0 };
/* Reads the user's MFA state, locking the row. Caller PQclear()s. */
static PGresult *
mfa_state(struct ctx *ctx)
{
	const char *p[2] = { ctx->who.user_id, ctx->who.company_id };
	PGresult   *res = db_exec(ctx->db, &q_mfa_state, p);

	if (res != NULL && PQntuples(res) != 1) {
		PQclear(res);
		return NULL;
	}
	return res;
}

/*
 * Leaves the request's transaction to count a guess on the user's account
 * budget (a rolled-back count would not count), then opens a new tenant
 * transaction. Returns 0, or HTTP_ANSWERED after answering.
 */
static int
count_guess(struct request *req, struct ctx *ctx)
{
	char key[48];

	db_rollback(ctx->db);
	snprintf(key, sizeof(key), "u:%s", ctx->who.user_id);
	if (acct_limit(req, ctx, key) == HTTP_ANSWERED)
		return HTTP_ANSWERED;
	if (db_tenant_begin(ctx->db, ctx->who.company_id, NULL, NULL, NULL) ==
	    -1) {
		http_send_problem(req, 503, "unavailable",
		    "Service temporarily unavailable", NULL, NULL,
		    "Retry-After: 1\r\n");
		return HTTP_ANSWERED;
	}
	return 0;
}

static void
forget_guess(struct ctx *ctx)
{
	char key[48];

	snprintf(key, sizeof(key), "u:%s", ctx->who.user_id);
	acct_forget(ctx, key);
}

int
h_mfa_setup(struct request *req, struct ctx *ctx)
{
	unsigned char raw[TOTP_SECRET_BYTES];
	char	      b32[TOTP_B32_LEN + 1], label[800], uri[1024];
	const char   *p[3];
	char	     *sealed = NULL;
	PGresult     *res;
	json_t	     *o = NULL;
	int	      rc = -1;

	if ((res = mfa_state(ctx)) == NULL)
		return -1;
	if (row_bool(res, 0, "enabled")) {
		PQclear(res);
		db_rollback(ctx->db);
		return api_problem(req, 409, "mfa_already_enabled",
		    "Two-factor authentication is already on");
	}
	snprintf(label, sizeof(label), "%s", row_get(res, 0, "email"));
	PQclear(res);
	if (totp_new_secret(raw, b32) == -1 ||
	    (sealed = keyring_encrypt(
		 keys_ring(), ctx->who.company_id, raw, sizeof(raw))) == NULL)
		goto out;
	p[0] = ctx->who.user_id;
	p[1] = ctx->who.company_id;
	p[2] = sealed;
	if ((res = db_exec(ctx->db, &q_mfa_pending, p)) == NULL)
		goto out;
	PQclear(res);
	if (db_commit(ctx->db) == -1)
		goto out;
	mfa_otpauth_uri(label, b32, uri, sizeof(uri));
	o = json_pack("{s:s,s:s,s:o*}", "secret", b32, "otpauth_uri", uri, "qr",
	    mfa_qr_rows(uri));
	rc = o != NULL && json_object_get(o, "qr") != NULL
	    ? http_send_json(req, 200, o)
	    : -1;
out:
	crypto_wipe(raw, sizeof(raw));
	crypto_wipe(b32, sizeof(b32));
	crypto_wipe(uri, sizeof(uri));
	free(sealed);
	json_decref(o);
	return rc;
}

int
h_mfa_enable(struct request *req, struct ctx *ctx)
{
	char	    codes[MFA_RECOVERY_CODES][MFA_RECOVERY_LEN], step[24];
	const char *p[3];
	PGresult   *res;
	json_t	   *list = NULL, *o = NULL;
	uint64_t    st = 0;
	int	    i, ok, rc = -1;

	if (count_guess(req, ctx) == HTTP_ANSWERED)
		return 0;
	if ((res = mfa_state(ctx)) == NULL)
		return -1;
	if (row_bool(res, 0, "enabled") ||
	    row_opt(res, 0, "totp_pending_enc") == NULL) {
		PQclear(res);
		db_rollback(ctx->db);
		return api_problem(req, 409, "mfa_setup_required",
		    "Start with POST /api/v1/auth/mfa/totp/setup");
	}
	ok = mfa_totp_ok(ctx->who.company_id,
	    row_get(res, 0, "totp_pending_enc"),
	    row_get(res, 0, "totp_last_step"), api_body_str(req, "code"), &st);
	PQclear(res);
	if (ok != 1) {
		db_rollback(ctx->db);
		if (ok == -1)
			return -1;
		return api_problem(req, 400, "mfa_invalid",
		    "Wrong code: check the time on your device");
	}
	snprintf(step, sizeof(step), "%llu", (unsigned long long)st);
	p[0] = ctx->who.user_id;
	p[1] = ctx->who.company_id;
	p[2] = step;
	if ((res = db_exec(ctx->db, &q_mfa_enable, p)) == NULL)
		return -1;
	PQclear(res);
	list = json_array();
	if (mfa_recovery_new(
		ctx->db, ctx->who.company_id, ctx->who.user_id, codes) == -1)
		goto out;
	for (i = 0; i < MFA_RECOVERY_CODES; i++)
		json_array_append_new(list, json_string(codes[i]));
	if (event_record(ctx, ctx->who.company_id, ctx->who.user_id,
		"mfa_enabled", NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	forget_guess(ctx);
	o = json_pack("{s:O}", "recovery_codes", list);
	rc = o != NULL ? http_send_json(req, 200, o) : -1;
out:
	crypto_wipe(codes, sizeof(codes));
	json_decref(list);
	json_decref(o);
	return rc;
}

/*
 * Turns TOTP off. The attempt is counted first; the password is always
 * checked (a bcrypt) before the code, so the time taken says nothing
 * about the code.
 */
int
h_mfa_disable(struct request *req, struct ctx *ctx)
{
	const char *pw, *code, *p[3];
	PGresult   *res;
	int	    ok, pw_ok, recovery;

	pw = api_body_str(req, "password");
	code = api_body_str(req, "code");
	if (count_guess(req, ctx) == HTTP_ANSWERED)
		return 0;
	if ((res = mfa_state(ctx)) == NULL)
		return -1;
	if (!row_bool(res, 0, "enabled")) {
		PQclear(res);
		db_rollback(ctx->db);
		return api_problem(req, 409, "mfa_not_enabled",
		    "Two-factor authentication is off");
	}
	pw_ok =
	    api_password_proof(req, ctx, row_get(res, 0, "password_hash"), pw);
	if (pw_ok < 0) {
		PQclear(res);
		return pw_ok == HTTP_ANSWERED ? 0 : -1;
	}
	ok = pw_ok ? mfa_verify(ctx->db, ctx->who.company_id, ctx->who.user_id,
			 row_get(res, 0, "totp_secret_enc"),
			 row_get(res, 0, "totp_last_step"), code, &recovery)
		   : 0;
	PQclear(res);
	if (ok == -1)
		return -1;
	if (!ok) {
		db_rollback(ctx->db);
		return api_problem(
		    req, 403, "mfa_invalid", "Wrong password or code");
	}
	p[0] = ctx->who.user_id;
	p[1] = ctx->who.company_id;
	if ((res = db_exec(ctx->db, &q_mfa_disable, p)) == NULL)
		return -1;
	PQclear(res);
	if (mfa_recovery_clear(
		ctx->db, ctx->who.company_id, ctx->who.user_id) == -1)
		return -1;
	if (event_record(ctx, ctx->who.company_id, ctx->who.user_id,
		"mfa_disabled", NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		return -1;
	forget_guess(ctx);
	return http_send_empty(req, 204);
}

static struct db_stmt q_reauth_spend = { "reauth_spend",
	"UPDATE sessions SET reauth_at = NULL WHERE id = $1 AND company_id = "
	"$2 AND user_id = $3 AND revoked_at IS NULL AND reauth_at > now() - "
	"interval '5 minutes' RETURNING id",
	3, 0, 0 };

int
api_password_proof(struct request *req, struct ctx *ctx, const char *hash,
    const char *password)
{
	const char *p[3] = { ctx->who.session_id, ctx->who.company_id,
		ctx->who.user_id };
	PGresult   *res;
	int	    ok;

	if (password == NULL)
		password = "";
	if (hash[0] != '\0') {
		if (strlen(password) <= PASSWORD_MAX_BYTES)
			return password_verify(password, hash);
		password_verify_dummy(password, ctx->conf->bcrypt_cost);
		return 0;
	}
	/* No password: a fresh sign-in at the provider stands in, once. */
	if ((res = db_exec(ctx->db, &q_reauth_spend, p)) == NULL)
		return -1;
	ok = PQntuples(res) == 1;
	PQclear(res);
	if (ok)
		return 1;
	db_rollback(ctx->db);
	api_problem(req, 403, "reauth_required",
	    "Confirm it is you: sign in with your provider again (POST "
	    "/api/v1/auth/oidc/reauth), then retry within five minutes");
	return HTTP_ANSWERED;
}

int
api_reauth(struct request *req, struct ctx *ctx, const char *password,
    const char *code)
{
	PGresult *res;
	int	  ok, pw_ok, recovery, totp;

	if (count_guess(req, ctx) == HTTP_ANSWERED)
		return HTTP_ANSWERED;
	if ((res = mfa_state(ctx)) == NULL)
		return -1;
	totp = row_bool(res, 0, "enabled");
	pw_ok = api_password_proof(
	    req, ctx, row_get(res, 0, "password_hash"), password);
	if (pw_ok < 0) {
		PQclear(res);
		return pw_ok;
	}
	if (pw_ok && totp && code == NULL) {
		PQclear(res);
		db_rollback(ctx->db);
		api_problem(req, 403, "mfa_code_required",
		    "Give a code from your authenticator app too");
		return HTTP_ANSWERED;
	}
	ok = pw_ok && totp
	    ? mfa_verify(ctx->db, ctx->who.company_id, ctx->who.user_id,
		  row_get(res, 0, "totp_secret_enc"),
		  row_get(res, 0, "totp_last_step"), code, &recovery)
	    : pw_ok;
	PQclear(res);
	if (ok == -1)
		return -1;
	if (!ok) {
		db_rollback(ctx->db);
		api_problem(
		    req, 403, "reauth_failed", "Wrong password or code");
		return HTTP_ANSWERED;
	}
	forget_guess(ctx);
	/* A code or recovery code is spent for good, whatever follows. */
	if (totp &&
	    (db_commit(ctx->db) == -1 ||
		db_tenant_begin(
		    ctx->db, ctx->who.company_id, NULL, NULL, NULL) == -1))
		return -1;
	return 1;
}
