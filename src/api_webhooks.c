/*
 * api_webhooks.c: a company's webhook endpoints (admins, or API keys with
 * webhooks:write). The signing secret is shown once, when made or
 * rotated, and stored as keyring ciphertext; answers carry only a hint.
 * Every change is audited. Deliveries are listed with their attempts.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "api.h"
#include "handler.h"
#include "resources.h"
#include "audit.h"
#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "server_keys.h"
#include "netguard.h"
#include "util.h"
#include "validate.h"
#include "webhooks.h"

#define WH_MAX_ENDPOINTS 20 /* as the 409 says */
#define WH_SECRET_BYTES 24
#define WH_SECRET_LEN (6 + 32) /* "whsec_" + base64 of 24 bytes */
#define WH_PAGE 50 /* the LIMIT of q_wh_deliveries */

/* The company row locked: concurrent creations count in turn. */
static struct db_stmt q_wh_count = { "webhook_count",
	"SELECT (SELECT count(*) FROM webhook_endpoints WHERE company_id = "
	"$1) AS n FROM companies WHERE id = $1 FOR UPDATE",
	1, 0, 0 };
static struct db_stmt q_wh_new = { "webhook_new",
	"INSERT INTO webhook_endpoints (company_id, url, description, events, "
	"secret_enc, enabled) VALUES ($1, $2, coalesce($3, ''), ARRAY(SELECT "
	"DISTINCT jsonb_array_elements_text($4::jsonb) ORDER BY 1), $5, "
	"coalesce($6::boolean, true)) RETURNING {{WebhookEndpoint}}",
	6, 0, 0 };
static struct db_stmt q_wh_list = { "webhook_list",
	"SELECT {{WebhookEndpoint}} FROM webhook_endpoints WHERE company_id = "
	"$1 "
	"ORDER BY created_at, id",
	1, 0, 0 };
static struct db_stmt q_wh_get = { "webhook_get",
	"SELECT {{WebhookEndpoint}} FROM webhook_endpoints WHERE company_id = "
	"$1 AND "
	"id = $2",
	2, 0, 0 };
/* Turning an endpoint on clears why it was turned off. */
static struct db_stmt q_wh_set = { "webhook_set",
	"UPDATE webhook_endpoints SET url = coalesce($3, url), description = "
	"coalesce($4, description), events = CASE WHEN $5::jsonb IS NULL THEN "
	"events ELSE ARRAY(SELECT DISTINCT "
	"jsonb_array_elements_text($5::jsonb) "
	"ORDER BY 1) END, enabled = coalesce($6::boolean, enabled), "
	"disabled_reason = CASE WHEN $6::boolean THEN NULL ELSE "
	"disabled_reason END, updated_at = now() WHERE company_id = $1 AND id "
	"= $2 RETURNING {{WebhookEndpoint}}",
	6, 0, 0 };
static struct db_stmt q_wh_delete = { "webhook_delete",
	"DELETE FROM webhook_endpoints WHERE company_id = $1 AND id = $2", 2, 0,
	0 };
/* The old secret keeps signing for a day (see webhooks.c). */
static struct db_stmt q_wh_rotate = { "webhook_rotate",
	"UPDATE webhook_endpoints SET secret_prev_enc = secret_enc, "
	"secret_prev_until = now() + interval '24 hours', secret_enc = $3, "
	"updated_at = now() WHERE company_id = $1 AND id = $2 "
	"RETURNING {{WebhookEndpoint}}",
	3, 0, 0 };
/* Newest first; $3/$4 the cursor (microseconds, id) of the last seen. */
static struct db_stmt q_wh_deliveries = { "webhook_deliveries",
	"SELECT {{WebhookDelivery}} FROM webhook_deliveries d WHERE "
	"d.company_id = $1 AND d.endpoint_id = $2 AND ($3::bigint IS NULL OR "
	"(d.created_at, d.id) < (to_timestamp($3::bigint / 1000000.0), "
	"$4::uuid)) ORDER BY d.created_at DESC, d.id DESC LIMIT 50",
	4, 0, 0 };

/* An endpoint as answered: the secret only as a hint. */
static json_t *
wh_json(const char *cid, PGresult *res, int i)
{
	char	hint[24] = "whsec_...";
	char	plain[WH_SECRET_LEN + 16];
	int	n;
	json_t *o;

	n = keyring_decrypt(keys_ring(), cid, row_get(res, i, "secret_enc"),
	    (unsigned char *)plain, sizeof(plain) - 1);
	if (n > 10)
		snprintf(hint, sizeof(hint), "whsec_...%.4s", plain + n - 4);
	crypto_wipe(plain, sizeof(plain));
	if ((o = row_json(&row_webhook, res, i)) != NULL)
		json_object_set_new(o, "secret_hint", json_string(hint));
	return o;
}

/* A new secret in 'plain' and its ciphertext (free()) for company 'cid'. */
static char *
new_secret(const char *cid, char plain[WH_SECRET_LEN + 1])
{
	unsigned char r[WH_SECRET_BYTES];

	if (crypto_random(r, sizeof(r)) == -1)
		return NULL;
	memcpy(plain, "whsec_", 6);
	EVP_EncodeBlock((unsigned char *)plain + 6, r, sizeof(r));
	crypto_wipe(r, sizeof(r));
	return keyring_encrypt(keys_ring(), cid, plain, WH_SECRET_LEN);
}

/*
 * Checks what the spec cannot: the events are known, the URL may be
 * reached. Returns 0, or HTTP_ANSWERED after answering 422.
 */
static int
wh_check(struct request *req, struct ctx *ctx)
{
	struct verr err;
	json_t	   *ev = json_object_get(req->json, "events"), *v;
	const char *url = api_body_str(req, "url");
	const char *why;
	size_t	    i;
	unsigned    flags = 0;

	json_array_foreach(
	    ev, i, v) if (!webhook_event_valid(json_string_value(v)))
	{
		err.field = "events";
		err.code = "unknown_event";
		return validate_problem(req, &err), HTTP_ANSWERED;
	}
	if (ctx->conf->webhook_allow_http)
		flags |= NG_ALLOW_HTTP;
	if (ctx->conf->webhook_allow_loopback)
		flags |= NG_ALLOW_LOOPBACK;
	if (url != NULL && (why = netguard_url_check(url, flags)) != NULL) {
		err.field = "url";
		err.code = why;
		return validate_problem(req, &err), HTTP_ANSWERED;
	}
	return 0;
}

/* The events array as JSON text (free()), or NULL when absent. */
static char *
events_text(struct request *req)
{
	json_t *ev = json_object_get(req->json, "events");

	return ev != NULL ? json_dumps(ev, JSON_COMPACT) : NULL;
}

static const char *
bool_param(struct request *req, const char *name)
{
	json_t *v = json_object_get(req->json, name);

	return v == NULL ? NULL : json_is_true(v) ? "true" : "false";
}

int
h_webhook_create(struct request *req, struct ctx *ctx)
{
	const char *p[6];
	char	    plain[WH_SECRET_LEN + 1] = "", *sealed = NULL, *ev = NULL;
	PGresult   *res = NULL;
	json_t	   *o = NULL;
	int	    rc = -1;

	if (wh_check(req, ctx) == HTTP_ANSWERED)
		return 0;
	p[0] = ctx->who.company_id;
	if ((res = db_exec(ctx->db, &q_wh_count, p)) == NULL ||
	    PQntuples(res) != 1) {
		PQclear(res);
		return -1;
	}
	if (row_int(res, 0, "n") >= WH_MAX_ENDPOINTS) {
		PQclear(res);
		return api_problem(req, 409, "too_many",
		    "A company has at most 20 webhook endpoints");
	}
	PQclear(res);
	if ((sealed = new_secret(ctx->who.company_id, plain)) == NULL ||
	    (ev = events_text(req)) == NULL)
		goto out;
	p[1] = api_body_str(req, "url");
	p[2] = api_body_str(req, "description");
	p[3] = ev;
	p[4] = sealed;
	p[5] = bool_param(req, "enabled");
	if ((res = db_exec(ctx->db, &q_wh_new, p)) == NULL ||
	    PQntuples(res) != 1)
		goto out;
	if (api_audit(req, ctx, row_get(res, 0, "id"), NULL, NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	if ((o = wh_json(ctx->who.company_id, res, 0)) == NULL)
		goto out;
	json_object_set_new(o, "secret", json_string(plain));
	rc = http_send_json(req, 201, o);
out:
	crypto_wipe(plain, sizeof(plain));
	PQclear(res);
	free(sealed);
	free(ev);
	json_decref(o);
	return rc;
}

int
h_webhook_list(struct request *req, struct ctx *ctx)
{
	const char *p[1] = { ctx->who.company_id };
	PGresult   *res;
	json_t	   *items;
	int	    i;

	if ((res = db_exec_commit(ctx->db, &q_wh_list, p)) == NULL)
		return -1;
	items = json_array();
	for (i = 0; i < PQntuples(res); i++)
		json_array_append_new(
		    items, wh_json(ctx->who.company_id, res, i));
	PQclear(res);
	return http_send_items(req, items);
}

int
h_webhook_get(struct request *req, struct ctx *ctx)
{
	const char *p[2] = { ctx->who.company_id, router_param(req, "id") };
	PGresult   *res;
	json_t	   *o = NULL;
	int	    rc;

	if ((res = db_exec_commit(ctx->db, &q_wh_get, p)) == NULL)
		return -1;
	rc = PQntuples(res) != 1 ? router_not_found(req)
	    : (o = wh_json(ctx->who.company_id, res, 0)) != NULL
	    ? http_send_json(req, 200, o)
	    : -1;
	PQclear(res);
	json_decref(o);
	return rc;
}

int
h_webhook_patch(struct request *req, struct ctx *ctx)
{
	const char *id = router_param(req, "id"), *p[6];
	char	   *ev = NULL;
	PGresult   *res = NULL;
	json_t	   *o = NULL, *changes = NULL, *v;
	int	    rc = -1;

	if (wh_check(req, ctx) == HTTP_ANSWERED)
		return 0;
	ev = events_text(req);
	p[0] = ctx->who.company_id;
	p[1] = id;
	p[2] = api_body_str(req, "url");
	p[3] = api_body_str(req, "description");
	p[4] = ev;
	p[5] = bool_param(req, "enabled");
	if ((res = db_exec(ctx->db, &q_wh_set, p)) == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		rc = router_not_found(req);
		goto out;
	}
	/* Names always; the new values of the non-personal settings. */
	changes = json_object();
	if ((v = json_object_get(req->json, "enabled")) != NULL)
		json_object_set_new(
		    changes, "enabled", json_pack("{s:O}", "new", v));
	if ((v = json_object_get(req->json, "events")) != NULL)
		json_object_set_new(
		    changes, "events", json_pack("{s:O}", "new", v));
	if (api_audit(req, ctx, id, NULL,
		json_object_size(changes) > 0 ? changes : NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	o = wh_json(ctx->who.company_id, res, 0);
	rc = o != NULL ? http_send_json(req, 200, o) : -1;
out:
	PQclear(res);
	free(ev);
	json_decref(changes);
	json_decref(o);
	return rc;
}

int
h_webhook_delete(struct request *req, struct ctx *ctx)
{
	const char *p[2] = { ctx->who.company_id, router_param(req, "id") };

	return api_delete(req, ctx, &q_wh_delete, p);
}

int
h_webhook_rotate(struct request *req, struct ctx *ctx)
{
	const char *id = router_param(req, "id"), *p[3];
	char	    plain[WH_SECRET_LEN + 1] = "", *sealed = NULL;
	PGresult   *res = NULL;
	json_t	   *o = NULL, *fields = NULL;
	int	    rc = -1;

	if ((sealed = new_secret(ctx->who.company_id, plain)) == NULL)
		goto out;
	p[0] = ctx->who.company_id;
	p[1] = id;
	p[2] = sealed;
	if ((res = db_exec(ctx->db, &q_wh_rotate, p)) == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		rc = router_not_found(req);
		goto out;
	}
	fields = json_pack("[s]", "secret");
	if (api_audit(req, ctx, id, fields, NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	if ((o = wh_json(ctx->who.company_id, res, 0)) == NULL)
		goto out;
	json_object_set_new(o, "secret", json_string(plain));
	rc = http_send_json(req, 200, o);
out:
	crypto_wipe(plain, sizeof(plain));
	PQclear(res);
	free(sealed);
	json_decref(fields);
	json_decref(o);
	return rc;
}

int
h_webhook_deliveries(struct request *req, struct ctx *ctx)
{
	const char *p[4] = { ctx->who.company_id, router_param(req, "id") };
	char	    us[20], cid[37];
	PGresult   *check;

	if (api_cursor(req, us, cid)) {
		p[2] = us;
		p[3] = cid;
	}
	if ((check = db_exec(ctx->db, &q_wh_get, p)) == NULL)
		return -1;
	if (PQntuples(check) != 1) {
		PQclear(check);
		return router_not_found(req);
	}
	PQclear(check);
	return api_page(req, ctx, &q_wh_deliveries, p, WH_PAGE);
}
