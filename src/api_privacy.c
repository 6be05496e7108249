/*
 * api_privacy.c: data-subject requests, made by a company's admins on
 * behalf of the company (the controller): find everything about one
 * visitor by visitor id, the company's own user id or e-mail address;
 * export it (GDPR Art. 15, 20), erase it (Art. 17), rectify a visitor's
 * name or address (Art. 16), restrict or stop processing (Art. 18, 21).
 * Audited with which identifier was used and how many records, never the
 * identifier or the data itself.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "handler.h"
#include "resources.h"
#include "audit.h"
#include "db.h"
#include "util.h"
#include "validate.h"

/* $2 visitor id, $3 user id, $4 e-mail: exactly one is not NULL. */
#define SUBJECT                                                                \
	"v.company_id = $1 AND (v.id = $2::uuid OR v.external_id = $3 OR "     \
	"lower(v.email) = lower($4) OR lower(v.contact_email) = lower($4))"

/* The subject's visitor records (ids), at most 1000. */
static struct db_stmt q_subject_ids = { "privacy_subject_ids",
	"SELECT v.id FROM visitors v WHERE " SUBJECT " ORDER BY v.created_at, "
	"v.id LIMIT 1000",
	4, 0, 0 };
/* One visitor record with its consents; $2 the visitor. */
static struct db_stmt q_subject_visitor = { "privacy_subject_visitor",
	"SELECT json_build_object('id', v.id, 'chatbot_id', v.chatbot_id, "
	"'user_id', v.external_id, 'email', v.email, 'contact_email', "
	"v.contact_email, 'contact_confirmed_at', "
	"parley_time(v.contact_confirmed_at), 'name', v.name, "
	"'verified', v.verified, 'restricted', v.restricted, 'created_at', "
	"parley_time(v.created_at), 'last_seen_at', "
	"parley_time(v.last_seen_at), 'consents', (SELECT "
	"coalesce(json_agg(json_build_object('categories', c.categories, "
	"'policy_version', c.policy_version, 'created_at', "
	"parley_time(c.created_at)) ORDER BY c.created_at), '[]') FROM "
	"consents c WHERE c.company_id = v.company_id AND c.visitor_id = "
	"v.id))::text AS record FROM visitors v WHERE v.company_id = $1 AND "
	"v.id = $2",
	2, 0, 0 };
/* Their conversations, oldest first, 100 after ($3 µs, $4 id). */
static struct db_stmt q_subject_convs = { "privacy_subject_convs",
	"SELECT id, json_build_object('id', id, 'chatbot_id', chatbot_id, "
	"'status', status, 'created_at', parley_time(created_at), 'rating', "
	"rating, 'rating_comment', rating_comment)::text AS record, "
	"(extract(epoch FROM created_at) * 1000000)::bigint AS us "
	"FROM conversations WHERE "
	"company_id = $1 AND visitor_id = $2 AND ((extract(epoch FROM "
	"created_at) * 1000000)::bigint, id) > ($3::bigint, $4::uuid) ORDER "
	"BY created_at, id LIMIT 100",
	4, 0, 0 };
/* A conversation's messages, 1000 at a time after seq $3. */
static struct db_stmt q_subject_msgs = { "privacy_subject_msgs",
	"SELECT seq, json_build_object('seq', seq, 'role', role, 'content', "
	"content, 'created_at', parley_time(created_at), 'attachment', "
	"(SELECT json_build_object('id', a.id, 'media_type', a.media_type, "
	"'filename', a.filename, 'bytes', a.bytes, 'width', a.width, "
	"'height', a.height) FROM attachments a WHERE a.company_id = "
	"messages.company_id AND a.message_id = messages.id))::text AS record "
	"FROM messages WHERE "
	"company_id = $1 AND conversation_id = $2 AND seq > $3::integer ORDER "
	"BY seq LIMIT 1000",
	3, 0, 0 };
/*
 * Visitors go, and with them (cascades) their conversations, messages and
 * consent records; copies of their conversations in webhook deliveries
 * go too. Counted first.
 */
static struct db_stmt q_subject_erase = { "privacy_erase",
	"WITH v AS (SELECT v.id FROM visitors v WHERE " SUBJECT " FOR UPDATE), "
	"c AS (SELECT id FROM conversations WHERE company_id = $1 AND "
	"visitor_id IN (SELECT id FROM v)), m AS (SELECT count(*) AS n FROM "
	"messages WHERE company_id = $1 AND conversation_id IN (SELECT id FROM "
	"c)), w AS (DELETE FROM webhook_deliveries d WHERE d.company_id = $1 "
	"AND (d.payload->'data'->>'conversation_id' IN (SELECT id::text FROM "
	"c) OR (d.event_type LIKE 'conversation.%' AND "
	"d.payload->'data'->>'id' "
	"IN (SELECT id::text FROM c))) RETURNING 1), dv AS (DELETE FROM "
	"visitors x WHERE x.company_id = $1 AND x.id IN (SELECT id FROM v) "
	"RETURNING 1) SELECT {{Erasure}}",
	4, 0, 0 };
static struct db_stmt q_visitor_lock = { "visitor_lock",
	"SELECT restricted FROM visitors WHERE company_id = $1 AND id = $2 FOR "
	"UPDATE",
	2, 0, 0 };
/* $3/$5 whether name/email are given, $4/$6 their values (NULL clears). */
static struct db_stmt q_visitor_set = { "visitor_set",
	"UPDATE visitors SET name = CASE WHEN $3::boolean THEN $4 ELSE name "
	"END, email = CASE WHEN $5::boolean THEN $6 ELSE email END, restricted "
	"= coalesce($7::boolean, restricted), restricted_at = CASE WHEN "
	"$7::boolean AND NOT restricted THEN now() WHEN NOT $7::boolean THEN "
	"NULL ELSE restricted_at END WHERE company_id = $1 AND id = $2 "
	"RETURNING {{Visitor}}",
	7, 0, 0 };

/* The identifiers a subject is found by, as the body names them. */
static const char *const by[] = { "visitor_id", "user_id", "email" };

/*
 * Reads the subject of the body into 'p' ($2..$4) and the identifier's
 * name into '*which'. Returns 0, or HTTP_ANSWERED after answering 422.
 */
static int
subject(struct request *req, const char **p, const char **which)
{
	struct verr err;
	size_t	    i, given = 0;

	for (i = 0; i < nitems(by); i++) {
		p[1 + i] = api_body_str(req, by[i]);
		if (p[1 + i] != NULL) {
			given++;
			*which = by[i];
		}
	}
	if (given != 1) {
		err.field = "visitor_id";
		err.code = "one_of_visitor_id_user_id_email";
		validate_problem(req, &err);
		return HTTP_ANSWERED;
	}
	return 0;
}

/* The audit entry of a request: which identifier, how many records. */
static int
privacy_audit(struct ctx *ctx, struct request *req, const char *action,
    const char *which, json_t *counts)
{
	json_t *fields = json_pack("[s]", which);
	int	rc;

	(void)action; /* the route's spec names it */
	rc = api_audit(req, ctx, NULL, fields, counts);
	json_decref(fields);
	return rc;
}

/* One page of 'st' in its own tenant transaction. */
static PGresult *
page(struct ctx *ctx, struct db_stmt *st, const char *const *p)
{
	PGresult      *res = NULL;
	struct db_call c = { st, p, &res };

	if (db_tenant_batch(ctx->db, ctx->who.company_id, &c, 1) == -1)
		return NULL;
	return res;
}

static int
put(struct request *req, const char *s)
{
	return http_stream_write(req, s, strlen(s));
}

/* Writes JSON object 'obj' without its closing brace. */
static int
put_open(struct request *req, const char *obj)
{
	size_t n = strlen(obj);

	return n > 0 ? http_stream_write(req, obj, n - 1) : -1;
}

/*
 * Streams visitor 'vid' (its record, consents, conversations and their
 * messages) a page at a time: memory stays small whatever they wrote.
 */
static int
stream_visitor(struct request *req, struct ctx *ctx, const char *vid)
{
	const char *p[4] = { ctx->who.company_id, vid, NULL, NULL };
	char	    after[37] = "00000000-0000-0000-0000-000000000000";
	char	    after_us[24] = "-1", conv[37], seq[16];
	PGresult   *v, *cs, *ms;
	int	    i, j, nc, nm, first = 1;

	if ((v = page(ctx, &q_subject_visitor, p)) == NULL ||
	    PQntuples(v) != 1) {
		PQclear(v);
		return -1;
	}
	i = put_open(req, row_get(v, 0, "record"));
	PQclear(v);
	if (i == -1 || put(req, ", \"conversations\" : [") == -1)
		return -1;
	do {
		p[2] = after_us;
		p[3] = after;
		if ((cs = page(ctx, &q_subject_convs, p)) == NULL)
			return -1;
		nc = PQntuples(cs);
		for (i = 0; i < nc; i++) {
			const char *mp[3] = { ctx->who.company_id, conv, seq };

			snprintf(
			    conv, sizeof(conv), "%s", row_get(cs, i, "id"));
			snprintf(seq, sizeof(seq), "0");
			if (put(req, first ? "\n" : ",\n") == -1 ||
			    put_open(req, row_get(cs, i, "record")) == -1 ||
			    put(req, ", \"messages\" : [") == -1)
				goto fail;
			first = 0;
			do {
				if ((ms = page(ctx, &q_subject_msgs, mp)) ==
				    NULL)
					goto fail;
				nm = PQntuples(ms);
				for (j = 0; j < nm; j++)
					if (put(req,
						strcmp(seq, "0") == 0 && j == 0
						    ? "\n"
						    : ",\n") == -1 ||
					    put(req,
						row_get(ms, j, "record")) ==
						-1) {
						PQclear(ms);
						goto fail;
					}
				if (nm > 0)
					snprintf(seq, sizeof(seq), "%s",
					    row_get(ms, nm - 1, "seq"));
				PQclear(ms);
			} while (nm > 0);
			if (put(req, "]}") == -1)
				goto fail;
		}
		if (nc > 0) {
			snprintf(after, sizeof(after), "%s",
			    row_get(cs, nc - 1, "id"));
			snprintf(after_us, sizeof(after_us), "%s",
			    row_get(cs, nc - 1, "us"));
		}
		PQclear(cs);
	} while (nc > 0);
	return put(req, "]}");
fail:
	PQclear(cs);
	return -1;
}

int
h_privacy_export(struct request *req, struct ctx *ctx)
{
	const char *p[4] = { ctx->who.company_id }, *which = NULL;
	char	    head[64], (*ids)[37] = NULL;
	PGresult   *res;
	json_t	   *counts = NULL;
	int	    i, n, rc = -1;

	if (subject(req, p, &which) == HTTP_ANSWERED)
		return 0;
	if ((res = db_exec(ctx->db, &q_subject_ids, p)) == NULL)
		return -1;
	n = PQntuples(res);
	if ((ids = calloc((size_t)n + 1, sizeof(*ids))) == NULL) {
		PQclear(res);
		return -1;
	}
	for (i = 0; i < n; i++)
		snprintf(ids[i], sizeof(ids[i]), "%s", row_get(res, i, "id"));
	PQclear(res);
	/* Who took whose data is on record before the first byte. */
	counts = json_pack("{s:{s:i}}", "visitors", "found", n);
	if (privacy_audit(ctx, req, "privacy.subject_export", which, counts) ==
		-1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	rc = 0;
	http_stream_begin(
	    req, "application/json", "Cache-Control: no-store\r\n");
	snprintf(head, sizeof(head),
	    "{\"subject\": {\"by\": \"%s\"}, "
	    "\"visitors\": [",
	    which);
	if (put(req, head) == -1)
		goto out;
	for (i = 0; i < n; i++)
		if (put(req, i ? ",\n" : "\n") == -1 ||
		    stream_visitor(req, ctx, ids[i]) == -1)
			goto out; /* the client sees a cut answer */
	(void)put(req, "]}\n");
out:
	free(ids);
	json_decref(counts);
	return rc;
}

int
h_privacy_erase(struct request *req, struct ctx *ctx)
{
	const char *p[4] = { ctx->who.company_id }, *which = NULL;
	PGresult   *res;
	json_t	   *o = NULL, *counts = NULL;
	int	    rc = -1;

	if (subject(req, p, &which) == HTTP_ANSWERED)
		return 0;
	if ((res = db_exec(ctx->db, &q_subject_erase, p)) == NULL)
		return -1;
	o = row_json(&row_erasure, res, 0);
	PQclear(res);
	if (o == NULL)
		return -1;
	/* The counts are no one's data; the identifier is not kept. */
	counts = json_pack("{s:{s:O},s:{s:O},s:{s:O}}", "visitors", "erased",
	    json_object_get(o, "visitors"), "conversations", "erased",
	    json_object_get(o, "conversations"), "messages", "erased",
	    json_object_get(o, "messages"));
	if (privacy_audit(ctx, req, "privacy.subject_erasure", which, counts) ==
		-1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	rc = http_send_json(req, 200, o);
out:
	json_decref(counts);
	json_decref(o);
	return rc;
}

int
h_visitor_patch(struct request *req, struct ctx *ctx)
{
	const char *id = router_param(req, "id"), *p[7];
	json_t	   *v, *changes = NULL, *o = NULL;
	PGresult   *res;
	int	    was, rc = -1;

	p[0] = ctx->who.company_id;
	p[1] = id;
	if ((res = db_exec(ctx->db, &q_visitor_lock, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return router_not_found(req);
	}
	was = row_bool(res, 0, "restricted");
	PQclear(res);
	p[2] = json_object_get(req->json, "name") != NULL ? "true" : "false";
	p[3] = api_body_str(req, "name");
	p[4] = json_object_get(req->json, "email") != NULL ? "true" : "false";
	p[5] = api_body_str(req, "email");
	v = json_object_get(req->json, "restricted");
	p[6] = v == NULL ? NULL : json_is_true(v) ? "true" : "false";
	if ((res = db_exec(ctx->db, &q_visitor_set, p)) == NULL)
		return -1;
	/* Names of what changed; values only of the restriction flag. */
	if ((v = json_object_get(req->json, "restricted")) != NULL)
		changes = json_pack("{s:{s:b,s:b}}", "restricted", "old", was,
		    "new", json_is_true(v));
	if (api_audit(req, ctx, id, NULL, changes) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	o = row_json(&row_visitor, res, 0);
	rc = o != NULL ? http_send_json(req, 200, o) : -1;
out:
	PQclear(res);
	json_decref(changes);
	json_decref(o);
	return rc;
}
