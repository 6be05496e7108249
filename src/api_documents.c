/*
 * api_documents.c: a chatbot's knowledge base. A document (plain text,
 * Markdown, or HTML reduced to text by libxml2's parser) is stored, split
 * into chunks (src/text.c) and indexed with PostgreSQL full-text search in
 * the chatbot's language. Size is bounded per document and per company.
 * Adding and deleting documents are audited.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "handler.h"
#include "kb.h"
#include "resources.h"
#include "conf.h"
#include "db.h"
#include "plans.h"
#include "text.h"
#include "util.h"
#include "validate.h"

/* Locks the company row: uploads of one company are serialised, so the
 * quota holds. Returns the chatbot's language and the bytes stored. */
static struct db_stmt q_doc_quota = { "document_quota",
	"SELECT b.language, (SELECT coalesce(sum(octet_length(d.text)), 0) "
	"FROM "
	"kb_documents d WHERE d.company_id = $1) AS used FROM companies c JOIN "
	"chatbots b ON b.company_id = c.id WHERE c.id = $1 AND b.id = $2 FOR "
	"UPDATE OF c",
	2, 0, 0 };
static struct db_stmt q_doc_bot = { "document_bot",
	"SELECT 1 FROM chatbots WHERE company_id = $1 AND id = $2", 2, 0, 0 };
static struct db_stmt q_doc_list = { "document_list",
	"SELECT {{Document}} FROM kb_documents WHERE company_id = $1 AND "
	"chatbot_id = $2 ORDER BY created_at DESC, id LIMIT 1000",
	2, 0, 0 };
static struct db_stmt q_doc_get = { "document_get",
	"SELECT {{Document}}, text FROM kb_documents WHERE company_id = $1 AND "
	"chatbot_id = $2 AND id = $3",
	3, 0, 0 };
static struct db_stmt q_doc_delete = { "document_delete",
	"DELETE FROM kb_documents WHERE company_id = $1 AND chatbot_id = $2 "
	"AND id = $3",
	3, 0, 0 };

/* Answers 413 'code' naming the limit 'max' in bytes. */
static int
too_large(struct request *req, const char *code, const char *title, int max)
{
	json_t *x = json_pack("{s:i}", "max_bytes", max);
	int	rc = http_send_problem(req, 413, code, title, NULL, x, NULL);

	json_decref(x);
	return rc;
}

int
h_document_create(struct request *req, struct ctx *ctx)
{
	struct plan_refusal refusal;
	const char   *bot = router_param(req, "id"), *ctype, *content, *url;
	const char   *p[2];
	struct verr   err;
	struct kb_doc d;
	json_t	     *chunks = NULL, *o = NULL, *fields = NULL;
	char	     *text = NULL, *title = NULL;
	PGresult     *res = NULL;
	size_t	      len;
	long long     used;
	int	      rc = -1;

	ctype = api_body_str(req, "content_type");
	content = api_body_str(req, "content");
	len = strlen(content);
	url = api_body_str(req, "source_url");
	if (url != NULL && strncmp(url, "https://", 8) != 0 &&
	    strncmp(url, "http://", 7) != 0) {
		err.field = "source_url";
		err.code = "format";
		return validate_problem(req, &err);
	}
	if ((rc = plan_check(ctx, PLAN_DOCUMENTS, &refusal)) != 0)
		return rc == 1 ? api_plan_refused(req, &refusal) : -1;
	rc = -1;
	if (len > (size_t)ctx->conf->kb_document_max)
		return too_large(req, "document_too_large",
		    "The document is larger than this server accepts",
		    ctx->conf->kb_document_max);
	if (strcmp(ctype, "text/html") == 0)
		text = text_from_html(content, len, &title);
	else if (strcmp(ctype, "text/plain") == 0 ||
	    strcmp(ctype, "text/markdown") == 0)
		text = text_normalize(content, len);
	else
		return api_problem(req, 415, "unsupported_document_type",
		    "content_type must be text/plain, text/markdown or "
		    "text/html");
	free(title);
	if (text == NULL || text[strspn(text, " \n\t")] == '\0') {
		free(text);
		err.field = "content";
		err.code = "empty";
		return validate_problem(req, &err);
	}
	if ((chunks = kb_chunks_of(text)) == NULL) {
		rc = api_problem(req, 413, "document_too_large",
		    "The document has too many parts");
		goto out;
	}
	p[0] = ctx->who.company_id;
	p[1] = bot;
	if ((res = db_exec(ctx->db, &q_doc_quota, p)) == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		rc = router_not_found(req);
		goto out;
	}
	used = row_int(res, 0, "used");
	PQclear(res);
	res = NULL;
	if (used + (long long)strlen(text) > ctx->conf->kb_company_max) {
		rc = too_large(req, "knowledge_base_full",
		    "The company's knowledge base is full: delete documents "
		    "first",
		    ctx->conf->kb_company_max);
		goto out;
	}
	memset(&d, 0, sizeof(d));
	d.company_id = ctx->who.company_id;
	d.chatbot_id = bot;
	d.title = api_body_str(req, "title");
	d.content_type = ctype;
	d.source_url = url;
	d.language = api_body_str(req, "language");
	d.created_by = ctx->who.user_id;
	d.text = text;
	d.bytes = len;
	d.chunks = chunks;
	if (kb_store(ctx->db, &d, (void **)&res) != KB_NEW || res == NULL)
		goto out;
	o = row_json(&row_document, res, 0);
	fields = json_pack("[s,s,s]", "title", "content_type", "source_url");
	if (o == NULL ||
	    api_audit(req, ctx, row_get(res, 0, "id"), fields, NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	rc = http_send_json(req, 201, o);
out:
	PQclear(res);
	free(text);
	json_decref(chunks);
	json_decref(fields);
	json_decref(o);
	return rc;
}

int
h_document_list(struct request *req, struct ctx *ctx)
{
	const char *p[2] = { ctx->who.company_id, router_param(req, "id") };

	return api_list_of(req, ctx, &q_doc_bot, &q_doc_list, p);
}

int
h_document_get(struct request *req, struct ctx *ctx)
{
	const char *p[3] = { ctx->who.company_id, router_param(req, "id"),
		router_param(req, "doc") };

	return api_get_one(req, ctx, &q_doc_get, p);
}

int
h_document_delete(struct request *req, struct ctx *ctx)
{
	const char *p[3] = { ctx->who.company_id, router_param(req, "id"),
		router_param(req, "doc") };

	return api_delete(req, ctx, &q_doc_delete, p);
}
