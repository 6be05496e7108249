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
#include "handler.h"
#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "events.h"
#include "keys.h"
#include "password.h"
#include "totp.h"
#include "util.h"
#include "validate.h"

#define RECOVERY_CODES 10

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
static struct db_stmt q_codes_clear = { "recovery_clear",
	"DELETE FROM mfa_recovery_codes WHERE company_id = $2 AND user_id = $1",
	2, 0, 0 };
static struct db_stmt q_code_new = { "recovery_new",
	"INSERT INTO mfa_recovery_codes (company_id, user_id, code_hash) "
	"VALUES ($2, $1, decode($3, 'hex'))",
	3, 0, 0 };
static struct db_stmt q_totp_step = { "user_totp_step",
	"UPDATE users SET totp_last_step = $3 WHERE id = $1 AND company_id = "
	"$2 AND totp_last_step < $3",
	3, 0, 0 };
static struct db_stmt q_recovery_use = { "recovery_use",
	"UPDATE mfa_recovery_codes SET used_at = now() WHERE company_id = $1 "
	"AND user_id = $2 AND code_hash = decode($3, 'hex') AND used_at IS "
	"NULL RETURNING id",
	3, 0, 0 };
/*
 * Checks a second factor for the user in the open tenant transaction:
 * a six-digit TOTP code (each time step once) or an unused recovery
 * code. Returns 1 if accepted, 0 if not, -1 on error. Sets '*recovery'.
 */
int
mfa_verify(struct ctx *ctx, const char *cid, const char *uid,
    const char *secret_enc, const char *last_step, const char *code,
    int *recovery)
{
	unsigned char raw[64];
	uint64_t      step;
	int	      n;

	*recovery = 0;
	if (totp_code_valid(code)) {
		char	    s[24];
		const char *p[3] = { uid, cid, s };
		PGresult   *res;

		n = keyring_decrypt(
		    keys_ring(), cid, secret_enc, raw, sizeof(raw));
		if (n <= 0)
			return -1;
		if (totp_check(raw, (size_t)n, code, time(NULL),
			strtoull(last_step, NULL, 10), &step) == -1) {
			crypto_wipe(raw, sizeof(raw));
			return 0;
		}
		crypto_wipe(raw, sizeof(raw));
		snprintf(s, sizeof(s), "%llu", (unsigned long long)step);
		/* Only moves forward: a concurrent use of the step loses. */
		if ((res = db_exec(ctx->db, &q_totp_step, p)) == NULL)
			return -1;
		n = (int)strtol(PQcmdTuples(res), NULL, 10);
		PQclear(res);
		return n == 1;
	} else {
		char	      norm[32], hex[65];
		unsigned char h[32];
		const char   *p[3] = { cid, uid, hex };
		PGresult     *res;
		size_t	      i, o = 0;

		for (i = 0; code[i] != '\0' && o + 1 < sizeof(norm); i++)
			if (code[i] != '-' && code[i] != ' ')
				norm[o++] =
				    (char)tolower((unsigned char)code[i]);
		norm[o] = '\0';
		if (o != 16)
			return 0;
		crypto_sha256(norm, o, h);
		crypto_hex(h, sizeof(h), hex);
		if ((res = db_exec(ctx->db, &q_recovery_use, p)) == NULL)
			return -1;
		n = PQntuples(res);
		PQclear(res);
		*recovery = n == 1;
		return n == 1;
	}
}

/* Percent-encodes 's' for an otpauth URI label. */
static void
uri_escape(const char *s, char *out, size_t outlen)
{
	static const char hx[] = "0123456789ABCDEF";
	size_t		  o = 0;

	for (; *s != '\0' && o + 4 < outlen; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '.' || c == '-' || c == '_' ||
		    c == '@') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hx[c >> 4];
			out[o++] = hx[c & 15];
		}
	}
	out[o] = '\0';
}

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
 * transaction. Returns 0, or -2 after answering.
 */
static int
count_guess(struct request *req, struct ctx *ctx)
{
	char key[48];

	db_rollback(ctx->db);
	snprintf(key, sizeof(key), "u:%s", ctx->who.user_id);
	if (acct_limit(req, ctx, key) == -2)
		return -2;
	if (db_tenant_begin(ctx->db, ctx->who.company_id, NULL, NULL, NULL) ==
	    -1) {
		http_send_problem(req, 503, "unavailable",
		    "Service temporarily unavailable", NULL, NULL,
		    "Retry-After: 1\r\n");
		return -2;
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
		return http_send_problem(req, 409, "mfa_already_enabled",
		    "Two-factor authentication is already on", NULL, NULL,
		    NULL);
	}
	uri_escape(row_get(res, 0, "email"), label, sizeof(label));
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
	snprintf(uri, sizeof(uri),
	    "otpauth://totp/parley:%s?secret=%s&issuer=parley&algorithm=SHA1&"
	    "digits=6&period=30",
	    label, b32);
	o = json_pack("{s:s,s:s}", "secret", b32, "otpauth_uri", uri);
	rc = o != NULL ? http_send_json(req, 200, o) : -1;
out:
	crypto_wipe(raw, sizeof(raw));
	crypto_wipe(b32, sizeof(b32));
	crypto_wipe(uri, sizeof(uri));
	free(sealed);
	json_decref(o);
	return rc;
}

/* Checks a TOTP code against a sealed secret; fills 'step'. 1 ok, 0 no. */
static int
code_ok(struct ctx *ctx, const char *sealed, const char *last, const char *code,
    uint64_t *step)
{
	unsigned char raw[64];
	int	      n, ok;

	if (!totp_code_valid(code))
		return 0;
	n = keyring_decrypt(
	    keys_ring(), ctx->who.company_id, sealed, raw, sizeof(raw));
	if (n <= 0)
		return -1;
	ok = totp_check(raw, (size_t)n, code, time(NULL),
		 strtoull(last, NULL, 10), step) == 0;
	crypto_wipe(raw, sizeof(raw));
	return ok;
}

int
h_mfa_enable(struct request *req, struct ctx *ctx)
{
	char	    codes[RECOVERY_CODES][20], hex[65], step[24];
	const char *p[3];
	PGresult   *res;
	json_t	   *list = NULL, *o = NULL;
	uint64_t    st = 0;
	int	    i, ok, rc = -1;

	if (count_guess(req, ctx) == -2)
		return 0;
	if ((res = mfa_state(ctx)) == NULL)
		return -1;
	if (row_bool(res, 0, "enabled") ||
	    row_opt(res, 0, "totp_pending_enc") == NULL) {
		PQclear(res);
		db_rollback(ctx->db);
		return http_send_problem(req, 409, "mfa_setup_required",
		    "Start with POST /api/v1/auth/mfa/totp/setup", NULL, NULL,
		    NULL);
	}
	ok = code_ok(ctx, row_get(res, 0, "totp_pending_enc"),
	    row_get(res, 0, "totp_last_step"), api_body_str(req, "code"), &st);
	PQclear(res);
	if (ok != 1) {
		db_rollback(ctx->db);
		if (ok == -1)
			return -1;
		return http_send_problem(req, 400, "mfa_invalid",
		    "Wrong code: check the time on your device", NULL, NULL,
		    NULL);
	}
	snprintf(step, sizeof(step), "%llu", (unsigned long long)st);
	p[0] = ctx->who.user_id;
	p[1] = ctx->who.company_id;
	p[2] = step;
	if ((res = db_exec(ctx->db, &q_mfa_enable, p)) == NULL)
		return -1;
	PQclear(res);
	if ((res = db_exec(ctx->db, &q_codes_clear, p)) == NULL)
		return -1;
	PQclear(res);
	list = json_array();
	for (i = 0; i < RECOVERY_CODES; i++) {
		/* 16 symbols of 32 (no l, o): 80 bits, unbiased. */
		static const char alpha[] = "abcdefghijkmnpqrstuvwxyz23456789";
		unsigned char	  r[16], h[32];
		char		  norm[16];
		int		  j, n = 0;

		if (crypto_random(r, sizeof(r)) == -1)
			goto out;
		for (j = 0; j < 16; j++) {
			norm[j] = alpha[r[j] & 31];
			if (j > 0 && j % 4 == 0)
				codes[i][n++] = '-';
			codes[i][n++] = norm[j];
		}
		codes[i][n] = '\0';
		crypto_sha256(norm, 16, h);
		crypto_wipe(norm, sizeof(norm));
		crypto_hex(h, sizeof(h), hex);
		p[2] = hex;
		if ((res = db_exec(ctx->db, &q_code_new, p)) == NULL)
			goto out;
		PQclear(res);
		json_array_append_new(list, json_string(codes[i]));
	}
	if (event_record(ctx->db, req, ctx->who.company_id, ctx->who.user_id,
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
	char	    hash[PASSWORD_HASH_MAX];
	PGresult   *res;
	int	    ok, pw_ok, recovery;

	pw = api_body_str(req, "password");
	code = api_body_str(req, "code");
	if (count_guess(req, ctx) == -2)
		return 0;
	if ((res = mfa_state(ctx)) == NULL)
		return -1;
	if (!row_bool(res, 0, "enabled")) {
		PQclear(res);
		db_rollback(ctx->db);
		return http_send_problem(req, 409, "mfa_not_enabled",
		    "Two-factor authentication is off", NULL, NULL, NULL);
	}
	snprintf(hash, sizeof(hash), "%s", row_get(res, 0, "password_hash"));
	if (strlen(pw) > PASSWORD_MAX_BYTES) {
		password_verify_dummy(pw, ctx->conf->bcrypt_cost);
		pw_ok = 0;
	} else
		pw_ok = password_verify(pw, hash);
	crypto_wipe(hash, sizeof(hash));
	ok = pw_ok ? mfa_verify(ctx, ctx->who.company_id, ctx->who.user_id,
			 row_get(res, 0, "totp_secret_enc"),
			 row_get(res, 0, "totp_last_step"), code, &recovery)
		   : 0;
	PQclear(res);
	if (ok == -1)
		return -1;
	if (!ok) {
		db_rollback(ctx->db);
		return http_send_problem(req, 403, "mfa_invalid",
		    "Wrong password or code", NULL, NULL, NULL);
	}
	p[0] = ctx->who.user_id;
	p[1] = ctx->who.company_id;
	if ((res = db_exec(ctx->db, &q_mfa_disable, p)) == NULL)
		return -1;
	PQclear(res);
	if ((res = db_exec(ctx->db, &q_codes_clear, p)) == NULL)
		return -1;
	PQclear(res);
	if (event_record(ctx->db, req, ctx->who.company_id, ctx->who.user_id,
		"mfa_disabled", NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		return -1;
	forget_guess(ctx);
	return http_send_empty(req, 204);
}

int
api_reauth(struct request *req, struct ctx *ctx, const char *password,
    const char *code)
{
	char	  hash[PASSWORD_HASH_MAX];
	PGresult *res;
	int	  ok, pw_ok, recovery, totp;

	if (count_guess(req, ctx) == -2)
		return 0;
	if ((res = mfa_state(ctx)) == NULL)
		return -1;
	totp = row_bool(res, 0, "enabled");
	snprintf(hash, sizeof(hash), "%s", row_get(res, 0, "password_hash"));
	if (strlen(password) > PASSWORD_MAX_BYTES) {
		password_verify_dummy(password, ctx->conf->bcrypt_cost);
		pw_ok = 0;
	} else
		pw_ok = password_verify(password, hash);
	crypto_wipe(hash, sizeof(hash));
	if (pw_ok && totp && code == NULL) {
		PQclear(res);
		db_rollback(ctx->db);
		http_send_problem(req, 403, "mfa_code_required",
		    "Give a code from your authenticator app too", NULL, NULL,
		    NULL);
		return 0;
	}
	ok = pw_ok && totp
	    ? mfa_verify(ctx, ctx->who.company_id, ctx->who.user_id,
		  row_get(res, 0, "totp_secret_enc"),
		  row_get(res, 0, "totp_last_step"), code, &recovery)
	    : pw_ok;
	PQclear(res);
	if (ok == -1)
		return -1;
	if (!ok) {
		db_rollback(ctx->db);
		http_send_problem(req, 403, "reauth_failed",
		    "Wrong password or code", NULL, NULL, NULL);
		return 0;
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
