/*
 * api_keys.c: scoped API keys. The key is "prl_<id>_<secret>", shown once;
 * only SHA-256 of the secret is stored. Creating and revoking are audited.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "crypto.h"
#include "db.h"
#include "scopes.h"
#include "util.h"
#include "validate.h"

static struct db_stmt q_key_new = { "api_key_new",
	"INSERT INTO api_keys (id, company_id, created_by, name, scopes, "
	"secret_hash, expires_at) VALUES ($1, $2, $3, $4, "
	"ARRAY(SELECT json_array_elements_text($5::json)), decode($6, 'hex'), "
	"$7::timestamptz) RETURNING created_at, expires_at",
	7, 0, 0 };
static struct db_stmt q_key_list = { "api_key_list",
	"SELECT id, name, scopes, created_at, coalesce(last_used_at::text, "
	"''), "
	"coalesce(expires_at::text, ''), created_by FROM api_keys WHERE "
	"company_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC LIMIT "
	"500",
	1, 0, 0 };
static struct db_stmt q_key_revoke = { "api_key_revoke",
	"UPDATE api_keys SET revoked_at = now() WHERE company_id = $1 AND id = "
	"$2 AND revoked_at IS NULL",
	2, 0, 0 };
static struct db_stmt q_future = { "api_key_future",
	"SELECT $1::timestamptz > now() + interval '1 minute'", 1, 0, 0 };

static const struct field f_key[] = {
	FIELD("name", V_STRING, 1, 100, F_REQUIRED),
	FIELD("scopes", V_ARRAY, 1, SCOPE__COUNT, F_REQUIRED),
	FIELD("expires_at", V_STRING, 10, 40, F_NULLABLE),
};

/* "prl_" + the id's 32 hex digits + "_" + a 43-character secret. */
#define API_KEY_LEN (4 + 32 + 1 + CRYPTO_TOKEN_LEN)

int
h_api_key_create(struct request *req, struct ctx *ctx)
{
	struct verr	   err;
	struct audit_entry e = { 0 };
	json_t	     *scopes, *v, *fields = NULL, *changes = NULL, *o = NULL;
	char	      id[37], hex32[33], secret[CRYPTO_TOKEN_LEN + 1];
	char	      hex[65], key[API_KEY_LEN + 1], prefix[16];
	char	     *sj = NULL;
	const char   *exp, *p[7];
	unsigned char h[32];
	unsigned      mask = 0;
	PGresult     *res;
	size_t	      i, j;
	int	      rc = -1;

	if (validate_object(req->json, f_key, nitems(f_key), 0, &err) == -1)
		return validate_problem(req, &err);
	scopes = json_object_get(req->json, "scopes");
	json_array_foreach(scopes, i, v)
	{
		unsigned s =
		    json_is_string(v) ? scope_parse(json_string_value(v)) : 0;

		if (s == 0) {
			err.field = "scopes";
			err.code = "format";
			return validate_problem(req, &err);
		}
		mask |= s;
	}
	if (mask & ~scope_ceiling(ctx->who.role))
		return http_send_problem(req, 403, "scope_beyond_role",
		    "A key cannot hold a scope beyond your role", NULL, NULL,
		    NULL);
	exp = json_string_value(json_object_get(req->json, "expires_at"));
	if (exp != NULL) {
		p[0] = exp;
		res = db_exec(ctx->db, &q_future, p);
		if (res == NULL || strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
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
	snprintf(prefix, sizeof(prefix), "prl_%.8s", id);
	sj = json_dumps(v = scope_json(mask), JSON_COMPACT);
	json_decref(v);
	p[0] = id;
	p[1] = ctx->who.company_id;
	p[2] = ctx->who.user_id;
	p[3] = json_string_value(json_object_get(req->json, "name"));
	p[4] = sj;
	p[5] = hex;
	p[6] = exp;
	if ((res = db_exec(ctx->db, &q_key_new, p)) == NULL)
		goto out;
	o = json_pack("{s:s,s:s,s:s,s:o,s:s,s:s*,s:s}", "id", id, "name", p[3],
	    "key", key, "scopes", scope_json(mask), "created_at",
	    PQgetvalue(res, 0, 0), "expires_at",
	    PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1), "prefix",
	    prefix);
	PQclear(res);
	fields = json_pack("[s,s,s]", "name", "scopes", "expires_at");
	changes = json_pack(
	    "{s:{s:n,s:o}}", "scopes", "old", "new", scope_json(mask));
	memset(&e, 0, sizeof(e));
	e.action = "api_key.create";
	e.resource_type = "api_key";
	e.resource_id = id;
	e.fields = fields;
	e.changes = changes;
	if (o == NULL || audit_write(ctx, req, &e) == -1 ||
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
	PGresult   *res;
	json_t	   *items;
	int	    i;

	if ((res = db_exec_commit(ctx->db, &q_key_list, p)) == NULL)
		return -1;
	items = json_array();
	for (i = 0; i < PQntuples(res); i++) {
		const char *le = PQgetvalue(res, i, 4),
			   *ex = PQgetvalue(res, i, 5);
		char prefix[16];

		/* The id's first characters identify a key; no secret. */
		snprintf(
		    prefix, sizeof(prefix), "prl_%.8s", PQgetvalue(res, i, 0));
		json_array_append_new(items,
		    json_pack("{s:s,s:s,s:s,s:o,s:s,s:s*,s:s*,s:s}", "id",
			PQgetvalue(res, i, 0), "name", PQgetvalue(res, i, 1),
			"prefix", prefix, "scopes",
			scope_json(scope_from_pg(PQgetvalue(res, i, 2))),
			"created_at", PQgetvalue(res, i, 3), "last_used_at",
			*le ? le : NULL, "expires_at", *ex ? ex : NULL,
			"created_by", PQgetvalue(res, i, 6)));
	}
	PQclear(res);
	return http_send_items(req, items);
}

int
h_api_key_delete(struct request *req, struct ctx *ctx)
{
	const char	  *id = router_param(req, "id"), *p[2];
	struct audit_entry e = { 0 };
	PGresult	  *res;
	int		   n;

	p[0] = ctx->who.company_id;
	p[1] = id;
	if ((res = db_exec(ctx->db, &q_key_revoke, p)) == NULL)
		return -1;
	n = (int)strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	if (n == 0)
		return router_not_found(req);
	memset(&e, 0, sizeof(e));
	e.action = "api_key.revoke";
	e.resource_type = "api_key";
	e.resource_id = id;
	if (audit_write(ctx, req, &e) == -1 || db_commit(ctx->db) == -1)
		return -1;
	return http_send_empty(req, 204);
}
