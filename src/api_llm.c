/*
 * api_llm.c: a company's own LLM provider settings (admin+): its API key
 * (stored as keyring ciphertext, never shown again), its default model and,
 * where the deployment allows it (llm_company_base_url), its own provider
 * URL. Changes are audited; the key by name only.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "handler.h"
#include "resources.h"
#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "server_keys.h"
#include "netguard.h"
#include "util.h"
#include "validate.h"

static struct db_stmt q_llm_get = { "company_llm_get",
	"SELECT {{CompanyLlm l}} FROM (SELECT 1) x LEFT JOIN company_llm l ON "
	"l.company_id = $1",
	1, 0, 0 };
/* $2..$4: new values; $5..$7: 't' to set that column (NULL clears). */
static struct db_stmt q_llm_set = { "company_llm_set",
	"INSERT INTO company_llm AS l (company_id, base_url, model, "
	"api_key_enc) VALUES ($1, $2, $3, $4) ON CONFLICT (company_id) DO "
	"UPDATE SET base_url = CASE WHEN $5::boolean THEN EXCLUDED.base_url "
	"ELSE l.base_url END, model = CASE WHEN $6::boolean THEN "
	"EXCLUDED.model ELSE l.model END, api_key_enc = CASE WHEN $7::boolean "
	"THEN EXCLUDED.api_key_enc ELSE l.api_key_enc END, updated_at = now() "
	"RETURNING {{CompanyLlm l}}",
	7, 0, 0 };

static json_t *
llm_json(PGresult *res)
{
	return row_json(&row_company_llm, res, 0);
}

int
h_company_llm_get(struct request *req, struct ctx *ctx)
{
	const char *p[1] = { ctx->who.company_id };
	PGresult   *res;
	json_t	   *o;

	if ((res = db_exec_commit(ctx->db, &q_llm_get, p)) == NULL)
		return -1;
	o = llm_json(res);
	PQclear(res);
	return api_send(req, 200, o);
}

int
h_company_llm_put(struct request *req, struct ctx *ctx)
{
	struct verr err;
	const char *p[7], *url, *key, *why;
	char	   *sealed = NULL;
	json_t	   *fields = NULL, *changes = NULL, *o = NULL, *v;
	PGresult   *res = NULL;
	const char *k;
	int	    rc = -1;

	url = api_body_str(req, "base_url");
	if (url != NULL) {
		if (!ctx->conf->llm_company_base_url)
			return api_problem(req, 403, "base_url_not_allowed",
			    "This deployment does not let companies choose "
			    "their own provider URL");
		/*
		 * A tenant's provider: https only (the key travels with each
		 * request) and a public host, judged as webhook URLs are
		 * (src/netguard.c); parleyd also checks the address it
		 * actually connects to (src/llm.c).
		 */
		if ((why = netguard_url_check(url, 0)) != NULL) {
			err.field = "base_url";
			err.code = why;
			return validate_problem(req, &err);
		}
	}
	key = api_body_str(req, "api_key");
	if (key != NULL &&
	    (sealed = keyring_encrypt(
		 keys_ring(), ctx->who.company_id, key, strlen(key))) == NULL)
		return -1;
	p[0] = ctx->who.company_id;
	p[1] = url;
	p[2] = api_body_str(req, "model");
	p[3] = sealed;
	p[4] = json_object_get(req->json, "base_url") != NULL ? "t" : "f";
	p[5] = json_object_get(req->json, "model") != NULL ? "t" : "f";
	p[6] = json_object_get(req->json, "api_key") != NULL ? "t" : "f";
	if ((res = db_exec(ctx->db, &q_llm_set, p)) == NULL)
		goto out;
	fields = json_array();
	changes = json_object();
	json_object_foreach(req->json, k, v)
	{
		json_array_append_new(fields, json_string(k));
		/* A URL may carry credentials: its value is not kept. */
		if (strcmp(k, "model") == 0)
			json_object_set_new(
			    changes, k, json_pack("{s:O}", "new", v));
	}
	if (api_audit(req, ctx, ctx->who.company_id, fields, changes) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	o = llm_json(res);
	rc = o != NULL ? http_send_json(req, 200, o) : -1;
out:
	PQclear(res);
	free(sealed);
	json_decref(fields);
	json_decref(changes);
	json_decref(o);
	return rc;
}
