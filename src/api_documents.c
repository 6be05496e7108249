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
static struct db_stmt q_doc_new = { "document_new",
	"INSERT INTO kb_documents (company_id, chatbot_id, title, "
	"content_type, source_url, bytes, text, chunks, created_by, language) "
	"VALUES ($1, $2, $3, $4, $5, $6, $7, json_array_length($8::json), $9, "
	"$10) RETURNING {{Document}}",
	10, 0, 0 };
static struct db_stmt q_chunks_new = { "chunks_new",
	"INSERT INTO kb_chunks (company_id, chatbot_id, document_id, ord, "
	"content, language) SELECT $1, $2, $3, c.ord, c.content, $5::regconfig "
	"FROM json_array_elements_text($4::json) WITH ORDINALITY AS c(content, "
	"ord)",
	5, 0, 0 };
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

static int
add_chunk(void *arg, const char *chunk, size_t len)
{
	return json_array_append_new((json_t *)arg, json_stringn(chunk, len));
}

/* Target and hard maximum of a chunk, bytes. */
#define CHUNK_TARGET 900
#define CHUNK_MAX 1800

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
	const char *bot = router_param(req, "id"), *ctype, *content, *url;
	const char *p[10];
	struct verr err;
	json_t	   *chunks = NULL, *o = NULL, *fields = NULL;
	char	   *text = NULL, *title = NULL, *cj = NULL, *doc_id = NULL;
	char	    bytes[24], lang[24];
	PGresult   *res = NULL;
	size_t	    len;
	long long   used;
	int	    rc = -1;

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
	chunks = json_array();
	if (text_chunks(text, CHUNK_TARGET, CHUNK_MAX, add_chunk, chunks) ==
	    -1) {
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
	/* Its own language, else the chatbot's (followed when it changes). */
	snprintf(lang, sizeof(lang), "%s",
	    api_body_str(req, "language") != NULL
		? api_body_str(req, "language")
		: row_get(res, 0, "language"));
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
	if ((cj = json_dumps(chunks, JSON_COMPACT)) == NULL)
		goto out;
	snprintf(bytes, sizeof(bytes), "%zu", len);
	p[2] = api_body_str(req, "title");
	p[3] = ctype;
	p[4] = url;
	p[5] = bytes;
	p[6] = text;
	p[7] = cj;
	p[8] = ctx->who.user_id;
	p[9] = api_body_str(req, "language");
	if ((res = db_exec(ctx->db, &q_doc_new, p)) == NULL ||
	    PQntuples(res) != 1)
		goto out;
	o = row_json(&row_document, res, 0);
	doc_id = strdup(row_get(res, 0, "id"));
	PQclear(res);
	res = NULL;
	p[2] = doc_id;
	p[3] = cj;
	p[4] = lang;
	if (doc_id == NULL ||
	    (res = db_exec(ctx->db, &q_chunks_new, p)) == NULL)
		goto out;
	fields = json_pack("[s,s,s]", "title", "content_type", "source_url");
	if (o == NULL || api_audit(req, ctx, doc_id, fields, NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	rc = http_send_json(req, 201, o);
out:
	PQclear(res);
	free(text);
	free(cj);
	free(doc_id);
	json_decref(chunks);
	json_decref(fields);
	json_decref(o);
	return rc;
}

int
h_document_list(struct request *req, struct ctx *ctx)
{
	const char *p[2] = { ctx->who.company_id, router_param(req, "id") };
	PGresult   *res;

	/* An unknown chatbot is a 404, not an empty list. */
	if ((res = db_exec(ctx->db, &q_doc_bot, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return router_not_found(req);
	}
	PQclear(res);
	return api_list(req, ctx, &q_doc_list, p);
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
