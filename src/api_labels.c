/*
 * api_labels.c: the company's labels and a conversation's (issue 18,
 * item 5). Admins define them (audited); any member labels
 * conversations; the inbox filters by one (?label=).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "ctx.h"
#include "db.h"
#include "handler.h"
#include "http.h"
#include "resources.h"
#include "router.h"
#include "validate.h"

static struct db_stmt q_labels = { "labels_list",
	"SELECT {{Label}} FROM labels WHERE company_id = $1 ORDER BY name", 1,
	0, 0 };
static struct db_stmt q_label_new = { "label_new",
	"INSERT INTO labels (company_id, name, colour) VALUES ($1, $2, "
	"coalesce($3, '#6b7280')) RETURNING {{Label}}",
	3, 0, 0 };
static struct db_stmt q_label_set = { "label_set",
	"UPDATE labels SET name = coalesce($3, name), colour = coalesce($4, "
	"colour) WHERE company_id = $1 AND id = $2 RETURNING {{Label}}",
	4, 0, 0 };
static struct db_stmt q_label_delete = { "label_delete",
	"DELETE FROM labels WHERE company_id = $1 AND id = $2", 2, 0, 0 };
static struct db_stmt q_conv_exists = { "conversation_exists_for_labels",
	"SELECT 1 FROM conversations WHERE company_id = $1 AND id = $2 FOR "
	"UPDATE",
	2, 0, 0 };
static struct db_stmt q_labels_clear = { "conversation_labels_clear",
	"DELETE FROM conversation_labels WHERE company_id = $1 AND "
	"conversation_id = $2 AND label_id <> ALL ($3::uuid[])",
	3, 0, 0 };
static struct db_stmt q_labels_add = { "conversation_labels_add",
	"INSERT INTO conversation_labels (company_id, conversation_id, "
	"label_id) SELECT $1, $2, l FROM unnest($3::uuid[]) l ON CONFLICT DO "
	"NOTHING",
	3, 0, 0 };
static struct db_stmt q_labels_of = { "conversation_labels_of",
	"SELECT coalesce(json_agg(label_id ORDER BY label_id), '[]') AS "
	"label_ids FROM conversation_labels WHERE company_id = $1 AND "
	"conversation_id = $2",
	2, 0, 0 };

int
h_labels(struct request *req, struct ctx *ctx)
{
	const char *p[1] = { ctx->who.company_id };

	return api_list(req, ctx, &q_labels, p);
}

/* 'colour' as the table takes it (#rrggbb, lower case), or answered. */
static int
colour_ok(struct request *req)
{
	const char *c = api_body_str(req, "colour");
	struct verr err = { "colour", "format", "" };
	size_t	    i;

	if (c == NULL)
		return 1;
	for (i = 1; c[0] == '#' && i < 7; i++)
		if (strchr("0123456789abcdef", c[i]) == NULL || c[i] == '\0')
			break;
	if (c[0] == '#' && i == 7 && c[7] == '\0')
		return 1;
	validate_problem(req, &err);
	return 0;
}

/* The written label: audited, committed, answered; a taken name: 409. */
static int
label_written(struct request *req, struct ctx *ctx, PGresult *res, int status)
{
	if (res == NULL) {
		if (strcmp(db_last_sqlstate(ctx->db), "23505") != 0)
			return -1;
		db_rollback(ctx->db);
		return api_problem(req, 409, "name_taken",
		    "The company has a label of this name");
	}
	if (PQntuples(res) != 1)
		return router_not_found(req);
	return api_written(req, ctx, res, status);
}

int
h_label_create(struct request *req, struct ctx *ctx)
{
	const char *p[3] = { ctx->who.company_id, api_body_str(req, "name"),
		api_body_str(req, "colour") };
	PGresult   *res;
	int	    rc;

	if (!colour_ok(req))
		return 0;
	res = db_exec(ctx->db, &q_label_new, p);
	rc = label_written(req, ctx, res, 201);
	PQclear(res);
	return rc;
}

int
h_label_patch(struct request *req, struct ctx *ctx)
{
	const char *p[4] = { ctx->who.company_id, router_param(req, "id"),
		api_body_str(req, "name"), api_body_str(req, "colour") };
	PGresult   *res;
	int	    rc;

	if (!colour_ok(req))
		return 0;
	res = db_exec(ctx->db, &q_label_set, p);
	rc = label_written(req, ctx, res, 200);
	PQclear(res);
	return rc;
}

int
h_label_delete(struct request *req, struct ctx *ctx)
{
	const char *p[2] = { ctx->who.company_id, router_param(req, "id") };

	return api_delete(req, ctx, &q_label_delete, p);
}

int
h_conversation_labels(struct request *req, struct ctx *ctx)
{
	json_t	   *ids = json_object_get(req->json, "label_ids"), *o;
	const char *conv = router_param(req, "id");
	char	   *arr;
	const char *p[3] = { ctx->who.company_id, conv, NULL };
	struct verr err = { "label_ids", "unknown", "" };
	PGresult   *res;
	size_t	    i;

	if ((res = db_exec(ctx->db, &q_conv_exists, p)) == NULL)
		return -1;
	i = (size_t)PQntuples(res);
	PQclear(res);
	if (i != 1)
		return router_not_found(req);
	if ((arr = api_uuid_array(ids)) == NULL)
		return -1;
	p[2] = arr;
	res = db_exec(ctx->db, &q_labels_clear, p);
	PQclear(res);
	if (res != NULL)
		res = db_exec(ctx->db, &q_labels_add, p);
	free(arr);
	if (res == NULL) {
		if (strcmp(db_last_sqlstate(ctx->db), "23503") != 0)
			return -1;
		db_rollback(ctx->db);
		return validate_problem(req, &err);
	}
	PQclear(res);
	if ((res = db_exec(ctx->db, &q_labels_of, p)) == NULL)
		return -1;
	o = json_pack("{s:o}", "label_ids",
	    json_loads(row_get(res, 0, "label_ids"), 0, NULL));
	PQclear(res);
	if (o == NULL || db_commit(ctx->db) == -1) {
		json_decref(o);
		return -1;
	}
	return api_send(req, 200, o);
}
