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
#include "audit.h"
#include "db.h"
#include "util.h"
#include "validate.h"

/* $2 visitor id, $3 user id, $4 e-mail: exactly one is not NULL. */
#define SUBJECT                                                                \
	"v.company_id = $1 AND (v.id = $2::uuid OR v.external_id = $3 OR "     \
	"lower(v.email) = lower($4))"

static struct db_stmt q_subject_export = { "privacy_export",
	"SELECT count(*), coalesce(json_agg(json_build_object('id', v.id, "
	"'chatbot_id', v.chatbot_id, 'user_id', v.external_id, 'email', "
	"v.email, 'name', v.name, 'verified', v.verified, 'restricted', "
	"v.restricted, 'created_at', v.created_at, 'last_seen_at', "
	"v.last_seen_at, 'consents', (SELECT coalesce(json_agg(json_build_"
	"object('categories', c.categories, 'policy_version', "
	"c.policy_version, 'created_at', c.created_at) ORDER BY c.created_at), "
	"'[]') FROM consents c WHERE c.company_id = v.company_id AND "
	"c.visitor_id = v.id), 'conversations', (SELECT coalesce(json_agg("
	"json_build_object('id', x.id, 'chatbot_id', x.chatbot_id, 'status', "
	"x.status, 'created_at', x.created_at, 'messages', (SELECT coalesce("
	"json_agg(json_build_object('seq', m.seq, 'role', m.role, 'content', "
	"m.content, 'created_at', m.created_at) ORDER BY m.seq), '[]') FROM "
	"messages m WHERE m.company_id = x.company_id AND m.conversation_id = "
	"x.id)) ORDER BY x.created_at), '[]') FROM conversations x WHERE "
	"x.company_id = v.company_id AND x.visitor_id = v.id)) ORDER BY "
	"v.created_at), '[]')::text FROM visitors v WHERE " SUBJECT,
	4, 0, 0 };
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
	"RETURNING 1) SELECT (SELECT count(*) FROM dv), (SELECT count(*) FROM "
	"c), (SELECT n FROM m), (SELECT count(*) FROM w)",
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
	"RETURNING id, chatbot_id, external_id, email, name, verified, "
	"restricted, created_at, last_seen_at",
	7, 0, 0 };

static const struct field f_subject[] = {
	{ "visitor_id", V_UUID, 0, 0, 0 },
	{ "user_id", V_STRING, 1, 200, 0 },
	{ "email", V_EMAIL, 3, 254, 0 },
};

/*
 * Reads the subject of the body into 'p' ($2..$4) and the identifier's
 * name into '*which'. Returns 0, or 1 after answering 422.
 */
static int
subject(struct request *req, const char **p, const char **which)
{
	struct verr err;
	size_t	    i, given = 0;

	if (validate_object(req->json, f_subject, nitems(f_subject), 0, &err) ==
	    -1) {
		validate_problem(req, &err);
		return 1;
	}
	for (i = 0; i < nitems(f_subject); i++) {
		p[1 + i] = json_string_value(
		    json_object_get(req->json, f_subject[i].name));
		if (p[1 + i] != NULL) {
			given++;
			*which = f_subject[i].name;
		}
	}
	if (given != 1) {
		err.field = "visitor_id";
		err.code = "one_of_visitor_id_user_id_email";
		validate_problem(req, &err);
		return 1;
	}
	return 0;
}

/* The audit entry of a request: which identifier, how many records. */
static int
privacy_audit(struct ctx *ctx, struct request *req, const char *action,
    const char *which, json_t *counts)
{
	struct audit_entry e = { 0 };
	json_t		  *fields = json_pack("[s]", which);
	int		   rc;

	e.action = action;
	e.resource_type = "visitor";
	e.fields = fields;
	e.changes = counts;
	rc = audit_write(ctx, req, &e);
	json_decref(fields);
	return rc;
}

int
h_privacy_export(struct request *req, struct ctx *ctx)
{
	const char *p[4] = { ctx->who.company_id }, *which = NULL;
	PGresult   *res;
	json_t	   *o = NULL, *counts = NULL;
	long	    n;
	int	    rc = -1;

	if (subject(req, p, &which) != 0)
		return 0;
	if ((res = db_exec(ctx->db, &q_subject_export, p)) == NULL)
		return -1;
	n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	counts = json_pack("{s:{s:i}}", "visitors", "found", (int)n);
	if (privacy_audit(ctx, req, "privacy.subject_export", which, counts) ==
		-1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	o = json_pack("{s:{s:s},s:o}", "subject", "by", which, "visitors",
	    json_loads(PQgetvalue(res, 0, 1), 0, NULL));
	rc = o != NULL ? http_send_json(req, 200, o) : -1;
out:
	PQclear(res);
	json_decref(counts);
	json_decref(o);
	return rc;
}

int
h_privacy_erase(struct request *req, struct ctx *ctx)
{
	const char *p[4] = { ctx->who.company_id }, *which = NULL;
	PGresult   *res;
	json_t	   *o = NULL, *counts = NULL;
	int	    rc = -1;

	if (subject(req, p, &which) != 0)
		return 0;
	if ((res = db_exec(ctx->db, &q_subject_erase, p)) == NULL)
		return -1;
#define I(c) (json_int_t) strtoll(PQgetvalue(res, 0, c), NULL, 10)
	o = json_pack("{s:I,s:I,s:I,s:I}", "visitors", I(0), "conversations",
	    I(1), "messages", I(2), "webhook_deliveries", I(3));
#undef I
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

static const struct field f_visitor[] = {
	{ "name", V_STRING, 1, 200, F_NULLABLE },
	{ "email", V_EMAIL, 3, 254, F_NULLABLE },
	{ "restricted", V_BOOL, 0, 0, 0 },
};

int
h_visitor_patch(struct request *req, struct ctx *ctx)
{
	const char	  *id = router_param(req, "id"), *p[7];
	struct verr	   err;
	struct audit_entry e = { 0 };
	json_t		  *v, *fields = NULL, *changes = NULL, *o = NULL;
	const char	  *k;
	PGresult	  *res;
	int		   was, rc = -1;

	if (!db_uuid_valid(id))
		return http_not_found(req, "No such visitor");
	if (validate_object(req->json, f_visitor, nitems(f_visitor), 0, &err) ==
	    -1)
		return validate_problem(req, &err);
	p[0] = ctx->who.company_id;
	p[1] = id;
	if ((res = db_exec(ctx->db, &q_visitor_lock, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return http_not_found(req, "No such visitor");
	}
	was = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	p[2] = json_object_get(req->json, "name") != NULL ? "true" : "false";
	p[3] = json_string_value(json_object_get(req->json, "name"));
	p[4] = json_object_get(req->json, "email") != NULL ? "true" : "false";
	p[5] = json_string_value(json_object_get(req->json, "email"));
	v = json_object_get(req->json, "restricted");
	p[6] = v == NULL ? NULL : json_is_true(v) ? "true" : "false";
	if ((res = db_exec(ctx->db, &q_visitor_set, p)) == NULL)
		return -1;
	/* Names of what changed; values only of the restriction flag. */
	fields = json_array();
	json_object_foreach(req->json, k, v)
	    json_array_append_new(fields, json_string(k));
	if ((v = json_object_get(req->json, "restricted")) != NULL)
		changes = json_pack("{s:{s:b,s:b}}", "restricted", "old", was,
		    "new", json_is_true(v));
	e.action = "visitor.update";
	e.resource_type = "visitor";
	e.resource_id = id;
	e.fields = fields;
	e.changes = changes;
	if (audit_write(ctx, req, &e) == -1 || db_commit(ctx->db) == -1)
		goto out;
#define S(c) (PQgetisnull(res, 0, c) ? NULL : PQgetvalue(res, 0, c))
	o = json_pack("{s:s,s:s,s:s*,s:s*,s:s*,s:b,s:b,s:s,s:s}", "id", S(0),
	    "chatbot_id", S(1), "user_id", S(2), "email", S(3), "name", S(4),
	    "verified", strcmp(PQgetvalue(res, 0, 5), "t") == 0, "restricted",
	    strcmp(PQgetvalue(res, 0, 6), "t") == 0, "created_at", S(7),
	    "last_seen_at", S(8));
#undef S
	rc = o != NULL ? http_send_json(req, 200, o) : -1;
out:
	PQclear(res);
	json_decref(fields);
	json_decref(changes);
	json_decref(o);
	return rc;
}
