/*
 * api_sources.c: knowledge from the web and from files (docs/widget.md,
 * "Knowledge from the web and from files"). A source (a page, or a
 * sitemap) is stored with a fetch job in one transaction; the jobs
 * process fetches it (src/kb_fetch.c) and reports progress on the
 * source's row. A file (PDF, DOCX, HTML, text) is uploaded as it is and
 * its text read here (src/kb_extract.c). Changes are audited.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "handler.h"
#include "job_queue.h"
#include "kb_extract.h"
#include "netguard.h"
#include "plans.h"
#include "resources.h"
#include "router.h"
#include "row.h"
#include "validate.h"

static struct db_stmt q_src_new = { "kb_source_new",
	"INSERT INTO kb_sources (company_id, chatbot_id, kind, url, language, "
	"resync, created_by) SELECT $1, b.id, $3, $4, $5, coalesce($6, 'off'), "
	"$7 FROM chatbots b WHERE b.company_id = $1 AND b.id = $2 RETURNING "
	"{{Source}}",
	7, 0, 0 };
static struct db_stmt q_src_bot = { "kb_source_bot",
	"SELECT 1 FROM chatbots WHERE company_id = $1 AND id = $2", 2, 0, 0 };
static struct db_stmt q_src_list = { "kb_source_list",
	"SELECT {{Source}} FROM kb_sources WHERE company_id = $1 AND "
	"chatbot_id = $2 ORDER BY created_at, id LIMIT 200",
	2, 0, 0 };
static struct db_stmt q_src_get = { "kb_source_get",
	"SELECT {{Source}} FROM kb_sources WHERE company_id = $1 AND "
	"chatbot_id = $2 AND id = $3",
	3, 0, 0 };
/* A fetch again, unless one is due or under way. */
static struct db_stmt q_src_sync = { "kb_source_sync",
	"UPDATE kb_sources SET status = 'queued' WHERE company_id = $1 AND "
	"chatbot_id = $2 AND id = $3 AND status IN ('done', 'failed') AND "
	"kind <> 'file' RETURNING {{Source}}",
	3, 0, 0 };
static struct db_stmt q_src_delete = { "kb_source_delete",
	"DELETE FROM kb_sources WHERE company_id = $1 AND chatbot_id = $2 AND "
	"id = $3",
	3, 0, 0 };

/* Queues the fetch of source 'row' (its first row) in the open tx. */
static int
queue_fetch(struct ctx *ctx, PGresult *row)
{
	json_t *payload =
	    json_pack("{s:s}", "source_id", row_get(row, 0, "id"));
	int rc;

	rc = payload != NULL
	    ? jobs_enqueue(ctx->db, "kb_source", ctx->who.company_id, payload)
	    : -1;
	json_decref(payload);
	return rc;
}

int
h_source_create(struct request *req, struct ctx *ctx)
{
	const char *url = api_body_str(req, "url"), *why, *p[7];
	unsigned flags = (ctx->conf->kb_fetch_allow_http ? NG_ALLOW_HTTP : 0) |
	    (ctx->conf->kb_fetch_allow_loopback ? NG_ALLOW_LOOPBACK : 0);
	PGresult *res = NULL;
	json_t	 *o = NULL, *fields = NULL;
	int	  rc = -1;

	/* Judged now and again at every connection the fetch makes. */
	if ((why = netguard_url_check(url, flags)) != NULL) {
		struct verr err = { "url", why, "" };

		return validate_problem(req, &err);
	}
	p[0] = ctx->who.company_id;
	p[1] = router_param(req, "id");
	p[2] = api_body_str(req, "kind");
	p[3] = url;
	p[4] = api_body_str(req, "language");
	p[5] = api_body_str(req, "resync");
	p[6] = ctx->who.user_id;
	if ((res = db_exec(ctx->db, &q_src_new, p)) == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		rc = router_not_found(req);
		goto out;
	}
	fields = json_pack("[s,s,s]", "kind", "url", "resync");
	if (queue_fetch(ctx, res) == -1 ||
	    api_audit(req, ctx, row_get(res, 0, "id"), fields, NULL) == -1 ||
	    db_commit(ctx->db) == -1 ||
	    (o = row_json(&row_source, res, 0)) == NULL)
		goto out;
	rc = http_send_json(req, 202, o);
out:
	PQclear(res);
	json_decref(o);
	json_decref(fields);
	return rc;
}

int
h_source_list(struct request *req, struct ctx *ctx)
{
	const char *p[2] = { ctx->who.company_id, router_param(req, "id") };

	return api_list_of(req, ctx, &q_src_bot, &q_src_list, p);
}

int
h_source_get(struct request *req, struct ctx *ctx)
{
	const char *p[3] = { ctx->who.company_id, router_param(req, "id"),
		router_param(req, "source") };

	return api_get_one(req, ctx, &q_src_get, p);
}

int
h_source_sync(struct request *req, struct ctx *ctx)
{
	const char *p[3] = { ctx->who.company_id, router_param(req, "id"),
		router_param(req, "source") };
	PGresult   *res;
	json_t	   *o = NULL;
	int	    rc = -1, n;

	if ((res = db_exec(ctx->db, &q_src_sync, p)) == NULL)
		return -1;
	if ((n = PQntuples(res)) != 1) {
		PQclear(res);
		if ((res = db_exec(ctx->db, &q_src_get, p)) == NULL)
			return -1;
		n = PQntuples(res);
		PQclear(res);
		db_rollback(ctx->db);
		return n == 1
		    ? api_problem(req, 409, "sync_under_way",
			  "A fetch of this source is due or under way")
		    : router_not_found(req);
	}
	if (queue_fetch(ctx, res) == -1 ||
	    api_audit(req, ctx, p[2], NULL, NULL) == -1 ||
	    db_commit(ctx->db) == -1 ||
	    (o = row_json(&row_source, res, 0)) == NULL)
		goto out;
	rc = http_send_json(req, 202, o);
out:
	PQclear(res);
	json_decref(o);
	return rc;
}

int
h_source_delete(struct request *req, struct ctx *ctx)
{
	const char *p[3] = { ctx->who.company_id, router_param(req, "id"),
		router_param(req, "source") };

	return api_delete(req, ctx, &q_src_delete, p);
}

static struct db_stmt q_file_new = { "kb_file_new",
	"INSERT INTO kb_sources (company_id, chatbot_id, kind, title, "
	"language, file, file_type, created_by) SELECT $1, b.id, 'file', $3, "
	"$4, decode($5, 'hex'), $6, $7 FROM chatbots b WHERE b.company_id = "
	"$1 AND b.id = $2 RETURNING {{Source}}",
	7, 0, 0 };

/*
 * A file for the knowledge base: what it is from its bytes (PDF, DOCX) or
 * its declared type (HTML, text), then kept as a source of kind file
 * whose text the jobs process reads: a PDF can take seconds of CPU, which
 * no request worker spends.
 */
int
h_document_upload(struct request *req, struct ctx *ctx)
{
	struct plan_refusal refusal;
	const char	   *type, *p[7];
	char		   *hex = NULL;
	PGresult	   *res = NULL;
	json_t		   *o = NULL, *fields = NULL;
	int		    rc;

	if ((rc = plan_check(ctx, PLAN_DOCUMENTS, &refusal)) != 0)
		return rc == 1 ? api_plan_refused(req, &refusal) : -1;
	rc = -1;
	if (req->body_len == 0)
		return api_problem(req, 422, "no_text", "The file is empty");
	if (req->body_len > (size_t)ctx->conf->kb_file_max)
		return api_problem(req, 413, "document_too_large",
		    "The file is larger than this server accepts");
	if ((type = kb_type_of((const unsigned char *)req->body, req->body_len,
		 req->content_type)) == NULL)
		return api_problem(req, 415, "unsupported_document_type",
		    "A file must be a PDF, a DOCX, HTML or plain text");
	if ((hex = malloc(req->body_len * 2 + 1)) == NULL)
		return -1;
	crypto_hex((const unsigned char *)req->body, req->body_len, hex);
	p[0] = ctx->who.company_id;
	p[1] = router_param(req, "id");
	p[2] = router_arg(req, "title");
	p[3] = router_arg(req, "language");
	p[4] = hex;
	p[5] = type;
	p[6] = ctx->who.user_id;
	if ((res = db_exec(ctx->db, &q_file_new, p)) == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		rc = router_not_found(req);
		goto out;
	}
	fields = json_pack("[s,s]", "kind", "title");
	if (queue_fetch(ctx, res) == -1 ||
	    api_audit(req, ctx, row_get(res, 0, "id"), fields, NULL) == -1 ||
	    db_commit(ctx->db) == -1 ||
	    (o = row_json(&row_source, res, 0)) == NULL)
		goto out;
	rc = http_send_json(req, 202, o);
out:
	free(hex);
	PQclear(res);
	json_decref(o);
	json_decref(fields);
	return rc;
}
