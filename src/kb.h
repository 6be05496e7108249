/*
 * kb.h: a knowledge-base document written: split into chunks (src/text.c)
 * and stored with them in the open tenant transaction, from the API (a
 * document posted or uploaded) or the jobs process (a page fetched,
 * src/kb_fetch.c). Nothing here knows HTTP.
 */
#ifndef PARLEY_KB_H
#define PARLEY_KB_H

#include <stddef.h>

#include <jansson.h>

struct db;

/* Target and hard maximum of a chunk, bytes. */
#define KB_CHUNK_TARGET 900
#define KB_CHUNK_MAX 1800

/* A document to store. Strings are borrowed; NULL where optional. */
struct kb_doc {
	const char *company_id, *chatbot_id;
	const char *title;
	const char *content_type; /* as kb_documents.content_type allows */
	const char *source_url;
	const char *language; /* NULL: the chatbot's, followed */
	const char *created_by; /* a user, or NULL (the jobs process) */
	const char *source_id; /* a kb_sources row, or NULL */
	const char *text; /* what is indexed */
	size_t	    bytes; /* the size of what was sent or fetched */
	json_t	   *chunks; /* kb_chunks_of(text) when made already, or NULL */
};

/* What kb_store() did. */
enum kb_stored { KB_UNCHANGED, KB_NEW, KB_UPDATED };

/*
 * The chunks of 'text' as a JSON array of strings; NULL when it has too
 * many parts. Returns a new array; caller frees with json_decref().
 */
json_t *kb_chunks_of(const char *text);

/*
 * Stores 'd' in the open tenant transaction: a new document, or, for a
 * page of a source, the existing one of the same address replaced when
 * its text changed (chunks and all) and left alone when not. 'row'
 * receives the document's row ({{Document}}; caller frees with PQclear)
 * when not NULL. Returns a kb_stored, or -1.
 */
int kb_store(struct db *db, const struct kb_doc *d, void **row);

#endif
