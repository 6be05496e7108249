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
#include "db.h"
#include "handler.h"
#include "job_queue.h"
#include "kb.h"
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
	"chatbot_id = $2 AND id = $3 AND status IN ('done', 'failed') "
	"RETURNING {{Source}}",
	3, 0, 0 };
static struct db_stmt q_src_delete = { "kb_source_delete",
	"DELETE FROM kb_sources WHERE company_id = $1 AND chatbot_id = $2 AND "
	"id = $3",
	3, 0, 0 };
static struct db_stmt q_file_quota = { "kb_file_quota",
	"SELECT (SELECT coalesce(sum(octet_length(d.text)), 0) FROM "
	"kb_documents d WHERE d.company_id = $1) AS used FROM companies c JOIN "
	"chatbots b ON b.company_id = c.id WHERE c.id = $1 AND b.id = $2 FOR "
	"UPDATE OF c",
	2, 0, 0 };

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
	PGresult   *res;

	/* An unknown chatbot is a 404, not an empty list. */
	if ((res = db_exec(ctx->db, &q_src_bot, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return router_not_found(req);
	}
	PQclear(res);
	return api_list(req, ctx, &q_src_list, p);
}

int
h_source_get(struct request *req, struct ctx *ctx)
{
	const char *p[3] = { ctx->who.company_id, router_param(req, "id"),
		router_param(req, "source") };
	PGresult   *res;
	json_t	   *o;
	int	    rc;

	if ((res = db_exec_commit(ctx->db, &q_src_get, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return router_not_found(req);
	}
	o = row_json(&row_source, res, 0);
	PQclear(res);
	rc = o != NULL ? http_send_json(req, 200, o) : -1;
	json_decref(o);
	return rc;
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

/* 4xx for a file kb_type_of() or kb_extract() refused. */
static int
file_refused(struct request *req, const char *why)
{
	if (strcmp(why, "unsupported_type") == 0)
		return api_problem(req, 415, "unsupported_document_type",
		    "A file must be a PDF, a DOCX, HTML or plain text");
	if (strcmp(why, "too_large") == 0 || strcmp(why, "zip_bomb") == 0 ||
	    strcmp(why, "too_many_entries") == 0)
		return api_problem(req, 413, "document_too_large",
		    strcmp(why, "too_large") == 0
			? "The file or its text is larger than this server "
			  "accepts"
			: "The file unpacks to far more than it is: refused");
	if (strcmp(why, "no_text") == 0)
		return api_problem(req, 422, "no_text",
		    "The file has no text to read (a scan needs OCR first)");
	return api_problem(
	    req, 422, "unreadable_document", "The file cannot be read");
}

int
h_document_upload(struct request *req, struct ctx *ctx)
{
	struct plan_refusal refusal;
	const char	   *bot = router_param(req, "id"), *type, *why = NULL;
	const char	   *p[2] = { ctx->who.company_id, bot };
	struct kb_doc	    d;
	char		   *text = NULL, *title = NULL;
	PGresult	   *res = NULL;
	json_t		   *o = NULL, *fields = NULL, *chunks = NULL;
	int		    rc;

	if ((rc = plan_check(ctx, PLAN_DOCUMENTS, &refusal)) != 0)
		return rc == 1 ? api_plan_refused(req, &refusal) : -1;
	rc = -1;
	if (req->body_len == 0)
		return api_problem(req, 422, "no_text", "The file is empty");
	if (req->body_len > (size_t)ctx->conf->kb_file_max)
		return file_refused(req, "too_large");
	if ((type = kb_type_of((const unsigned char *)req->body, req->body_len,
		 req->content_type)) == NULL)
		return file_refused(req, "unsupported_type");
	/* Read outside the transaction: nothing locked while pdftotext runs. */
	if (db_in_tx(ctx->db) && db_commit(ctx->db) == -1)
		return -1;
	if ((text = kb_extract(ctx->conf, type,
		 (const unsigned char *)req->body, req->body_len, &title,
		 &why)) == NULL)
		return strcmp(why, "internal") == 0 ? -1
						    : file_refused(req, why);
	if (db_tenant_begin(
		ctx->db, ctx->who.company_id, &q_file_quota, p, &res) == -1 ||
	    res == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		rc = router_not_found(req);
		goto out;
	}
	if (row_int(res, 0, "used") + (long long)strlen(text) >
	    ctx->conf->kb_company_max) {
		rc = api_problem(req, 413, "knowledge_base_full",
		    "The company's knowledge base is full: delete documents "
		    "first");
		goto out;
	}
	PQclear(res);
	res = NULL;
	memset(&d, 0, sizeof(d));
	d.company_id = ctx->who.company_id;
	d.chatbot_id = bot;
	d.title = router_arg(req, "title") != NULL ? router_arg(req, "title")
	    : title != NULL			   ? title
						   : "Document";
	d.content_type = type;
	d.language = router_arg(req, "language");
	d.created_by = ctx->who.user_id;
	d.text = text;
	d.bytes = req->body_len;
	if ((d.chunks = chunks = kb_chunks_of(text)) == NULL) {
		rc = api_problem(req, 413, "document_too_large",
		    "The document has too many parts");
		goto out;
	}
	if (kb_store(ctx->db, &d, (void **)&res) != KB_NEW || res == NULL)
		goto out;
	fields = json_pack("[s,s]", "title", "content_type");
	if ((o = row_json(&row_document, res, 0)) == NULL ||
	    api_audit(req, ctx, row_get(res, 0, "id"), fields, NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	rc = http_send_json(req, 201, o);
out:
	if (db_in_tx(ctx->db))
		db_rollback(ctx->db);
	PQclear(res);
	free(text);
	free(title);
	json_decref(o);
	json_decref(fields);
	json_decref(chunks);
	return rc;
}
