/*
 * api_templates.c: response templates (canned replies). Members list and
 * use them; admins create, edit and delete them, audited.
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

#define TPL_COLS "id, name, body, created_by, created_at, updated_at"

static struct db_stmt q_tpl_new = { "template_new",
	"INSERT INTO response_templates (company_id, name, body, created_by) "
	"VALUES ($1, $2, $3, $4) ON CONFLICT (company_id, name) DO NOTHING "
	"RETURNING " TPL_COLS,
	4, 0, 0 };
static struct db_stmt q_tpl_list = { "template_list",
	"SELECT " TPL_COLS " FROM response_templates WHERE company_id = $1 "
	"ORDER BY name LIMIT 1000",
	1, 0, 0 };
static struct db_stmt q_tpl_set = { "template_set",
	"UPDATE response_templates SET name = coalesce($3, name), body = "
	"coalesce($4, body), updated_at = now() WHERE company_id = $1 AND id = "
	"$2 RETURNING " TPL_COLS,
	4, 0, 0 };
static struct db_stmt q_tpl_delete = { "template_delete",
	"DELETE FROM response_templates WHERE company_id = $1 AND id = $2", 2,
	0, 0 };

static const struct field f_tpl[] = {
	{ "name", V_STRING, 1, 100, F_REQUIRED },
	{ "body", V_TEXT, 1, 4000, F_REQUIRED },
};
static const struct field f_tpl_patch[] = {
	{ "name", V_STRING, 1, 100, 0 },
	{ "body", V_TEXT, 1, 4000, 0 },
};

static json_t *
tpl_json(PGresult *res, int i)
{
	return json_pack("{s:s,s:s,s:s,s:s*,s:s,s:s}", "id",
	    PQgetvalue(res, i, 0), "name", PQgetvalue(res, i, 1), "body",
	    PQgetvalue(res, i, 2), "created_by",
	    PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3), "created_at",
	    PQgetvalue(res, i, 4), "updated_at", PQgetvalue(res, i, 5));
}

static int
tpl_audit(struct ctx *ctx, struct request *req, const char *action,
    const char *id, json_t *fields)
{
	struct audit_entry e = { 0 };

	memset(&e, 0, sizeof(e));
	e.action = action;
	e.resource_type = "template";
	e.resource_id = id;
	e.fields = fields;
	return audit_write(ctx, req, &e);
}

/* Answers after a write of one template row 'res' (status 'status'). */
static int
tpl_done(struct request *req, struct ctx *ctx, PGresult *res,
    const char *action, int status)
{
	json_t	   *fields = NULL, *o = NULL, *v;
	const char *k;
	int	    rc = -1;

	fields = json_array();
	json_object_foreach(req->json, k, v)
	    json_array_append_new(fields, json_string(k));
	if (tpl_audit(ctx, req, action, PQgetvalue(res, 0, 0), fields) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	o = tpl_json(res, 0);
	rc = o != NULL ? http_send_json(req, status, o) : -1;
out:
	json_decref(fields);
	json_decref(o);
	return rc;
}

int
h_template_create(struct request *req, struct ctx *ctx)
{
	struct verr err;
	const char *p[4];
	PGresult   *res;
	int	    rc;

	if (validate_object(req->json, f_tpl, nitems(f_tpl), 0, &err) == -1)
		return validate_problem(req, &err);
	p[0] = ctx->who.company_id;
	p[1] = json_string_value(json_object_get(req->json, "name"));
	p[2] = json_string_value(json_object_get(req->json, "body"));
	p[3] = ctx->who.user_id;
	if ((res = db_exec(ctx->db, &q_tpl_new, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return http_send_problem(req, 409, "name_taken",
		    "A template with this name exists", NULL, NULL, NULL);
	}
	rc = tpl_done(req, ctx, res, "template.create", 201);
	PQclear(res);
	return rc;
}

int
h_template_list(struct request *req, struct ctx *ctx)
{
	const char *p[1] = { ctx->who.company_id };
	PGresult   *res;
	json_t	   *items;
	int	    i;

	if ((res = db_exec_commit(ctx->db, &q_tpl_list, p)) == NULL)
		return -1;
	items = json_array();
	for (i = 0; i < PQntuples(res); i++)
		json_array_append_new(items, tpl_json(res, i));
	PQclear(res);
	return http_send_items(req, items);
}

int
h_template_patch(struct request *req, struct ctx *ctx)
{
	const char *id = router_param(req, "id"), *p[4];
	struct verr err;
	PGresult   *res;
	int	    rc;

	if (!db_uuid_valid(id))
		return http_not_found(req, "No such template");
	if (validate_object(
		req->json, f_tpl_patch, nitems(f_tpl_patch), 0, &err) == -1)
		return validate_problem(req, &err);
	p[0] = ctx->who.company_id;
	p[1] = id;
	p[2] = json_string_value(json_object_get(req->json, "name"));
	p[3] = json_string_value(json_object_get(req->json, "body"));
	if ((res = db_exec(ctx->db, &q_tpl_set, p)) == NULL) {
		if (strcmp(db_last_sqlstate(ctx->db), "23505") == 0)
			return http_send_problem(req, 409, "name_taken",
			    "A template with this name exists", NULL, NULL,
			    NULL);
		return -1;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		return http_not_found(req, "No such template");
	}
	rc = tpl_done(req, ctx, res, "template.update", 200);
	PQclear(res);
	return rc;
}

int
h_template_delete(struct request *req, struct ctx *ctx)
{
	const char *id = router_param(req, "id"), *p[2];
	PGresult   *res;
	int	    n;

	if (!db_uuid_valid(id))
		return http_not_found(req, "No such template");
	p[0] = ctx->who.company_id;
	p[1] = id;
	if ((res = db_exec(ctx->db, &q_tpl_delete, p)) == NULL)
		return -1;
	n = (int)strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	if (n == 0)
		return http_not_found(req, "No such template");
	if (tpl_audit(ctx, req, "template.delete", id, NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		return -1;
	return http_send_empty(req, 204);
}
