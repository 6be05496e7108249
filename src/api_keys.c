/*
 * api_keys.c: scoped API keys. The key is "prl_<id>_<secret>", shown once;
 * only SHA-256 of the secret is stored. Creating and revoking are audited.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "handler.h"
#include "resources.h"
#include "crypto.h"
#include "db.h"
#include "scopes.h"
#include "util.h"
#include "validate.h"

static struct db_stmt q_key_new = { "api_key_new",
	"INSERT INTO api_keys (id, company_id, created_by, name, scopes, "
	"secret_hash, expires_at) VALUES ($1, $2, $3, $4, "
	"ARRAY(SELECT json_array_elements_text($5::json)), decode($6, 'hex'), "
	"$7::timestamptz) RETURNING {{ApiKey}}",
	7, 0, 0 };
static struct db_stmt q_key_list = { "api_key_list",
	"SELECT {{ApiKey}} FROM api_keys WHERE "
	"company_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC LIMIT "
	"500",
	1, 0, 0 };
static struct db_stmt q_key_revoke = { "api_key_revoke",
	"UPDATE api_keys SET revoked_at = now() WHERE company_id = $1 AND id = "
	"$2 AND revoked_at IS NULL",
	2, 0, 0 };
static struct db_stmt q_future = { "api_key_future",
	"SELECT $1::timestamptz > now() + interval '1 minute' AS ok", 1, 0, 0 };

/* "prl_" + the id's 32 hex digits + "_" + a 43-character secret. */
#define API_KEY_LEN (4 + 32 + 1 + CRYPTO_TOKEN_LEN)

int
h_api_key_create(struct request *req, struct ctx *ctx)
{
	struct verr   err;
	json_t	     *scopes, *v, *fields = NULL, *changes = NULL, *o = NULL;
	char	      id[37], hex32[33], secret[CRYPTO_TOKEN_LEN + 1];
	char	      hex[65], key[API_KEY_LEN + 1];
	char	     *sj = NULL;
	const char   *exp, *p[7];
	unsigned char h[32];
	unsigned      mask = 0;
	PGresult     *res;
	size_t	      i, j;
	int	      rc = -1;

	scopes = json_object_get(req->json, "scopes");
	json_array_foreach(scopes, i, v) mask |=
	    scope_parse(json_string_value(v));
	if (mask & ~scope_ceiling(ctx->who.role))
		return api_problem(req, 403, "scope_beyond_role",
		    "A key cannot hold a scope beyond your role");
	exp = api_body_str(req, "expires_at");
	if (exp != NULL) {
		p[0] = exp;
		res = db_exec(ctx->db, &q_future, p);
		if (res == NULL || !row_bool(res, 0, "ok")) {
			PQclear(res);
			/* An unparsable time aborted the transaction: start anew. */
			db_rollback(ctx->db);
			err.field = "expires_at";
			err.code = "range";
			return validate_problem(req, &err);
		}
		PQclear(res);
	}
	if (crypto_uuid(id) == -1 || crypto_token(secret, h) == -1)
		return -1;
	for (i = 0, j = 0; id[i] != '\0'; i++)
		if (id[i] != '-')
			hex32[j++] = id[i];
	hex32[j] = '\0';
	crypto_sha256(secret, CRYPTO_TOKEN_LEN, h);
	crypto_hex(h, sizeof(h), hex);
	snprintf(key, sizeof(key), "prl_%s_%s", hex32, secret);
	sj = json_dumps(v = scope_json(mask), JSON_COMPACT);
	json_decref(v);
	p[0] = id;
	p[1] = ctx->who.company_id;
	p[2] = ctx->who.user_id;
	p[3] = api_body_str(req, "name");
	p[4] = sj;
	p[5] = hex;
	p[6] = exp;
	if ((res = db_exec(ctx->db, &q_key_new, p)) == NULL)
		goto out;
	if ((o = row_json(&row_api_key, res, 0)) != NULL)
		json_object_set_new(o, "key", json_string(key));
	PQclear(res);
	fields = json_pack("[s,s,s]", "name", "scopes", "expires_at");
	changes = json_pack(
	    "{s:{s:n,s:o}}", "scopes", "old", "new", scope_json(mask));
	if (o == NULL || api_audit(req, ctx, id, fields, changes) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	rc = http_send_json(req, 201, o);
out:
	crypto_wipe(secret, sizeof(secret));
	crypto_wipe(key, sizeof(key));
	if (o != NULL)
		json_object_del(o, "key");
	free(sj);
	json_decref(fields);
	json_decref(changes);
	json_decref(o);
	return rc;
}

int
h_api_key_list(struct request *req, struct ctx *ctx)
{
	const char *p[1] = { ctx->who.company_id };

	return api_list(req, ctx, &q_key_list, p);
}

int
h_api_key_delete(struct request *req, struct ctx *ctx)
{
	const char *p[2] = { ctx->who.company_id, router_param(req, "id") };

	return api_delete(req, ctx, &q_key_revoke, p);
}
