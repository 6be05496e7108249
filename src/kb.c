/*
 * kb.c: documents and their chunks written (see kb.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "crypto.h"
#include "db.h"
#include "kb.h"
#include "row.h"
#include "text.h"

static struct db_stmt q_kb_new = { "kb_document_new",
	"INSERT INTO kb_documents (company_id, chatbot_id, title, "
	"content_type, source_url, bytes, text, chunks, created_by, language, "
	"source_id, content_sha256, fetched_at) VALUES ($1, $2, $3, $4, $5, "
	"$6, $7, json_array_length($8::json), $9, $10, $11, $12, CASE WHEN "
	"$11::uuid IS NULL THEN NULL ELSE now() END) RETURNING {{Document}}",
	12, 0, 0 };
/* A source's page of the same address, locked. */
static struct db_stmt q_kb_page = { "kb_document_page",
	"SELECT id, content_sha256 FROM kb_documents WHERE company_id = $1 "
	"AND source_id = $2 AND source_url = $3 FOR UPDATE",
	3, 0, 0 };
static struct db_stmt q_kb_touch = { "kb_document_touch",
	"UPDATE kb_documents SET fetched_at = now() WHERE company_id = $1 AND "
	"id = $2",
	2, 0, 0 };
static struct db_stmt q_kb_unchunk = { "kb_document_unchunk",
	"DELETE FROM kb_chunks WHERE company_id = $1 AND document_id = $2", 2,
	0, 0 };
static struct db_stmt q_kb_replace = { "kb_document_replace",
	"UPDATE kb_documents SET title = $3, content_type = "
	"$4, bytes = $5, text = $6, chunks = json_array_length($7::json), "
	"content_sha256 = $8, language = $9, fetched_at = now() WHERE "
	"company_id = $1 AND id = $2 RETURNING {{Document}}",
	9, 0, 0 };
/* Indexed in the document's language, else its chatbot's. */
static struct db_stmt q_kb_chunks = { "kb_chunks_new",
	"INSERT INTO kb_chunks (company_id, chatbot_id, document_id, ord, "
	"content, language) SELECT $1, $2, $3, c.ord, c.content, "
	"coalesce($5, (SELECT language FROM chatbots WHERE company_id = $1 "
	"AND id = $2))::regconfig FROM json_array_elements_text($4::json) "
	"WITH ORDINALITY AS c(content, ord)",
	5, 0, 0 };

static int
add_chunk(void *arg, const char *chunk, size_t len)
{
	return json_array_append_new((json_t *)arg, json_stringn(chunk, len));
}

json_t *
kb_chunks_of(const char *text)
{
	json_t *chunks = json_array();

	if (chunks != NULL &&
	    text_chunks(
		text, KB_CHUNK_TARGET, KB_CHUNK_MAX, add_chunk, chunks) == -1) {
		json_decref(chunks);
		return NULL;
	}
	return chunks;
}

int
kb_store(struct db *db, const struct kb_doc *d, void **row)
{
	unsigned char md[32];
	char	      sha[65], bytes[24], id[37] = "";
	const char   *p[12];
	json_t	     *chunks = NULL;
	char	     *cj = NULL;
	PGresult     *res = NULL;
	int	      rc = -1, what = KB_NEW;

	if (row != NULL)
		*row = NULL;
	crypto_sha256((const unsigned char *)d->text, strlen(d->text), md);
	crypto_hex(md, sizeof(md), sha);
	snprintf(bytes, sizeof(bytes), "%zu", d->bytes);
	p[0] = d->company_id;
	if (d->source_id != NULL) {
		p[1] = d->source_id;
		p[2] = d->source_url;
		if ((res = db_exec(db, &q_kb_page, p)) == NULL)
			goto out;
		if (PQntuples(res) == 1) {
			snprintf(id, sizeof(id), "%s", row_get(res, 0, "id"));
			what = row_opt(res, 0, "content_sha256") != NULL &&
				strcmp(
				    row_get(res, 0, "content_sha256"), sha) == 0
			    ? KB_UNCHANGED
			    : KB_UPDATED;
		}
		PQclear(res);
		res = NULL;
	}
	if (what == KB_UNCHANGED) {
		p[1] = id;
		if ((res = db_exec(db, &q_kb_touch, p)) == NULL)
			goto out;
		rc = KB_UNCHANGED;
		goto out;
	}
	if (d->chunks != NULL)
		chunks = json_incref(d->chunks);
	else if ((chunks = kb_chunks_of(d->text)) == NULL)
		goto out;
	if ((cj = json_dumps(chunks, JSON_COMPACT)) == NULL)
		goto out;
	if (what == KB_UPDATED) {
		p[1] = id;
		if ((res = db_exec(db, &q_kb_unchunk, p)) == NULL)
			goto out;
		PQclear(res);
		p[2] = d->title;
		p[3] = d->content_type;
		p[4] = bytes;
		p[5] = d->text;
		p[6] = cj;
		p[7] = sha;
		p[8] = d->language;
		res = db_exec(db, &q_kb_replace, p);
	} else {
		p[1] = d->chatbot_id;
		p[2] = d->title;
		p[3] = d->content_type;
		p[4] = d->source_url;
		p[5] = bytes;
		p[6] = d->text;
		p[7] = cj;
		p[8] = d->created_by;
		p[9] = d->language;
		p[10] = d->source_id;
		p[11] = d->source_id != NULL ? sha : NULL;
		res = db_exec(db, &q_kb_new, p);
	}
	if (res == NULL || PQntuples(res) != 1)
		goto out;
	snprintf(id, sizeof(id), "%s", row_get(res, 0, "id"));
	p[1] = d->chatbot_id;
	p[2] = id;
	p[3] = cj;
	p[4] = d->language;
	{
		PGresult *c = db_exec(db, &q_kb_chunks, p);

		if (c == NULL)
			goto out;
		PQclear(c);
	}
	if (row != NULL) {
		*row = res;
		res = NULL;
	}
	rc = what;
out:
	PQclear(res);
	free(cj);
	json_decref(chunks);
	return rc;
}
