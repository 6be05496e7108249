/*
 * api_branding.c: a chatbot's look in the widget (docs/widget.md,
 * "Branding"). Admins set the colours, the launcher's side and the names
 * through PATCH /api/v1/chatbots/:id (api_chatbots.c) and the logo here;
 * the widget reads them before any visitor session exists (the launcher
 * is drawn on the host page before anyone opens the chat), by the
 * chatbot's public key, like the session itself.
 *
 * A logo is what attach_check() makes of the upload: decoded from its
 * bytes by libvips and written again without metadata, PNG, JPEG or WebP
 * only (no SVG: a script format; no GIF: no animation in a header), at
 * most LOGO_MAX_SIDE pixels a side and LOGO_MAX_BYTES as stored. It is
 * kept in PostgreSQL (chatbot_logos), so every host serves it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "api.h"
#include "attach.h"
#include "audit.h"
#include "crypto.h"
#include "db.h"
#include "handler.h"
#include "http.h"
#include "limits.h"
#include "resources.h"
#include "router.h"
#include "row.h"
#include "util.h"

static struct db_stmt q_logo_bot = { "logo_bot",
	"SELECT id FROM chatbots WHERE company_id = $1 AND id = $2 FOR UPDATE",
	2, 0, 0 };
static struct db_stmt q_logo_put = { "logo_put",
	"INSERT INTO chatbot_logos AS l (company_id, chatbot_id, media_type, "
	"width, height, content, sha256) VALUES ($1, $2, $3, $4::integer, "
	"$5::integer, decode($6, 'hex'), $7) ON CONFLICT (company_id, "
	"chatbot_id) DO UPDATE SET media_type = EXCLUDED.media_type, width = "
	"EXCLUDED.width, height = EXCLUDED.height, content = EXCLUDED.content, "
	"sha256 = EXCLUDED.sha256, updated_at = now() RETURNING {{Logo l}}",
	7, 0, 0 };
static struct db_stmt q_logo_delete = { "logo_delete",
	"DELETE FROM chatbot_logos WHERE company_id = $1 AND chatbot_id = $2 "
	"RETURNING 1",
	2, 0, 0 };
static struct db_stmt q_config_bot = { "widget_config_bot",
	"SELECT company_id, chatbot_id FROM parley_lookup_bot($1)", 1,
	DB_RETRY_SAFE, 0 };
static struct db_stmt q_config = { "widget_config",
	"SELECT {{WidgetConfig b}} FROM chatbots b WHERE b.company_id = $1 AND "
	"b.id = $2",
	2, 0, 0 };
static struct db_stmt q_logo_get = { "logo_get",
	"SELECT media_type, encode(content, 'hex') AS content, sha256 FROM "
	"chatbot_logos WHERE company_id = $1 AND chatbot_id = $2",
	2, 0, 0 };

/* The audit entry 'action' for chatbot 'id', naming the field "logo". */
static int
logo_audit(struct ctx *ctx, const char *action, const char *id)
{
	struct audit_entry e;
	json_t		  *fields = json_pack("[s]", "logo");
	int		   rc;

	memset(&e, 0, sizeof(e));
	e.action = action;
	e.resource_type = "chatbot";
	e.resource_id = id;
	e.fields = fields;
	rc = fields != NULL ? audit_write(ctx, &e) : -1;
	json_decref(fields);
	return rc;
}

/* 415, 413 or 422 for a logo attach_check() or the bounds refused. */
static int
logo_refused(struct request *req, int why, const char *detected)
{
	json_t *x;
	int	rc;

	switch (why) {
	case ATT_TYPE:
	case ATT_NAME:
		x = json_pack("{s:s}", "detected", detected);
		rc = http_send_problem(req, 415, "unsupported_logo_type",
		    "A logo must be a PNG, JPEG or WebP image", NULL, x, NULL);
		json_decref(x);
		return rc;
	case ATT_PIXELS:
		return api_problem(req, 413, "image_too_large",
		    "A logo may be at most 1024 pixels wide and high");
	case -2:
		return api_problem(req, 413, "logo_too_large",
		    "A logo may take at most 256 KiB once stored");
	default:
		return api_problem(
		    req, 422, "unreadable_logo", "The image cannot be read");
	}
}

int
h_chatbot_logo_put(struct request *req, struct ctx *ctx)
{
	const char	  *id = router_param(req, "id"), *p[7];
	struct attach_file f;
	PGresult	  *res = NULL;
	json_t		  *o = NULL;
	char		  *hex = NULL, w[12], h[12];
	int		   r, rc = -1;

	memset(&f, 0, sizeof(f));
	if (req->body_len == 0)
		return api_problem(req, 422, "empty_logo", "The file is empty");
	if (req->body_len > PRL_LOGO_BODY)
		return logo_refused(req, -2, NULL);
	/* Decoded outside the transaction: nothing is locked meanwhile. */
	if (db_in_tx(ctx->db) && db_commit(ctx->db) == -1)
		return -1;
	if ((r = attach_check(ctx->conf, (const unsigned char *)req->body,
		 req->body_len, "logo", &f)) != ATT_OK) {
		rc = r == -1 ? -1 : logo_refused(req, r, f.sent_type);
		goto out;
	}
	if (strcmp(f.media_type, "image/png") != 0 &&
	    strcmp(f.media_type, "image/jpeg") != 0 &&
	    strcmp(f.media_type, "image/webp") != 0) {
		rc = logo_refused(req, ATT_TYPE, f.media_type);
		goto out;
	}
	if (f.width > LOGO_MAX_SIDE || f.height > LOGO_MAX_SIDE) {
		rc = logo_refused(req, ATT_PIXELS, NULL);
		goto out;
	}
	if (f.len > LOGO_MAX_BYTES) {
		rc = logo_refused(req, -2, NULL);
		goto out;
	}
	if ((hex = malloc(f.len * 2 + 1)) == NULL)
		goto out;
	crypto_hex(f.data, f.len, hex);
	snprintf(w, sizeof(w), "%d", f.width);
	snprintf(h, sizeof(h), "%d", f.height);
	if (db_tenant_begin(ctx->db, ctx->who.company_id, NULL, NULL, NULL) ==
	    -1)
		goto out;
	p[0] = ctx->who.company_id;
	p[1] = id;
	if ((res = db_exec(ctx->db, &q_logo_bot, p)) == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		rc = router_not_found(req);
		goto out;
	}
	PQclear(res);
	p[2] = f.media_type;
	p[3] = w;
	p[4] = h;
	p[5] = hex;
	p[6] = f.sha256;
	if ((res = db_exec(ctx->db, &q_logo_put, p)) == NULL ||
	    (o = row_json(&row_logo, res, 0)) == NULL ||
	    logo_audit(ctx, "chatbot.logo_update", id) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	rc = http_send_json(req, 200, o);
out:
	if (rc == -1 && db_in_tx(ctx->db))
		db_rollback(ctx->db);
	PQclear(res);
	json_decref(o);
	free(hex);
	attach_free(&f);
	return rc;
}

int
h_chatbot_logo_delete(struct request *req, struct ctx *ctx)
{
	const char *p[2] = { ctx->who.company_id, router_param(req, "id") };
	PGresult   *res;
	int	    n;

	if ((res = db_exec(ctx->db, &q_logo_delete, p)) == NULL)
		return -1;
	n = PQntuples(res);
	PQclear(res);
	if (n != 1)
		return router_not_found(req);
	if (logo_audit(ctx, "chatbot.logo_delete", p[1]) == -1 ||
	    db_commit(ctx->db) == -1)
		return -1;
	return http_send_empty(req, 204);
}

/*
 * The chatbot of public key ?bot= into 'cid' and 'bid', in a tenant
 * transaction of its company with 'st' run in it ('res'). Returns 1, 0
 * when no chatbot has the key (404 answered), or -1.
 */
static int
by_key(struct request *req, struct ctx *ctx, struct db_stmt *st, PGresult **res)
{
	const char *p[2] = { router_arg(req, "bot"), NULL };
	PGresult   *r;
	char	    cid[37], bid[37];

	*res = NULL;
	if ((r = db_exec(ctx->db, &q_config_bot, p)) == NULL)
		return api_unavailable(req) == -1 ? -1 : 0;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return router_not_found(req) == -1 ? -1 : 0;
	}
	snprintf(cid, sizeof(cid), "%s", row_get(r, 0, "company_id"));
	snprintf(bid, sizeof(bid), "%s", row_get(r, 0, "chatbot_id"));
	PQclear(r);
	p[0] = cid;
	p[1] = bid;
	if (db_tenant_begin(ctx->db, cid, st, p, res) == -1)
		return api_unavailable(req) == -1 ? -1 : 0;
	db_rollback(ctx->db);
	if (*res == NULL)
		return -1;
	if (PQntuples(*res) != 1) {
		PQclear(*res);
		*res = NULL;
		return router_not_found(req) == -1 ? -1 : 0;
	}
	return 1;
}

int
h_widget_config(struct request *req, struct ctx *ctx)
{
	PGresult *res;
	json_t	 *o;
	int	  rc;

	if ((rc = by_key(req, ctx, &q_config, &res)) != 1)
		return rc;
	o = row_json(&row_widget_config, res, 0);
	PQclear(res);
	if (o == NULL)
		return -1;
	/* Public and the same for everyone: caches may keep it a minute. */
	(void)http_add_header(req, "Cache-Control", "public, max-age=60");
	rc = http_send_json(req, 200, o);
	json_decref(o);
	return rc;
}

int
h_widget_logo(struct request *req, struct ctx *ctx)
{
	PGresult      *res;
	const char    *hex, *etag = router_arg(req, "v");
	unsigned char *bytes;
	size_t	       n, i;
	int	       rc;

	if ((rc = by_key(req, ctx, &q_logo_get, &res)) != 1)
		return rc;
	hex = row_get(res, 0, "content");
	n = strlen(hex) / 2;
	if ((bytes = malloc(n > 0 ? n : 1)) == NULL) {
		PQclear(res);
		return -1;
	}
	for (i = 0; i < n; i++)
		bytes[i] = (unsigned char)(hex_digit(hex[2 * i]) * 16 +
		    hex_digit(hex[2 * i + 1]));
	/*
	 * ?v= is the logo's sha256 (the widget configuration's logo_url carries it):
	 * the URL changes with the logo, so a versioned one is immutable.
	 */
	(void)http_add_header(req, "Cache-Control",
	    etag != NULL && strcmp(etag, row_get(res, 0, "sha256")) == 0
		? "public, max-age=31536000, immutable"
		: "public, max-age=60");
	rc = http_send_body(
	    req, 200, row_get(res, 0, "media_type"), (const char *)bytes, n);
	free(bytes);
	PQclear(res);
	return rc;
}
