/*
 * api_company.c: the tenant itself. GET for every member; PATCH (admin+)
 * for its name and settings, audited: field names always, old and new
 * values of settings (never personal data).
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

struct db_stmt	      q_company = { "company_get",
	       "SELECT c.id, c.name, c.mfa_required, c.created_at FROM companies c "
		      "JOIN users u ON u.company_id = c.id WHERE u.id = $1 AND c.id = $2",
	       2, 0, 0 };
static struct db_stmt q_company_lock = { "company_lock",
	"SELECT name, mfa_required FROM companies WHERE id = $1 FOR UPDATE", 1,
	0, 0 };
static struct db_stmt q_company_set = { "company_set",
	"UPDATE companies SET name = $2, mfa_required = $3, updated_at = now() "
	"WHERE id = $1 RETURNING id, name, mfa_required, created_at",
	3, 0, 0 };

static json_t *
company_json(PGresult *res)
{
	return json_pack("{s:s,s:s,s:{s:b},s:s}", "id", PQgetvalue(res, 0, 0),
	    "name", PQgetvalue(res, 0, 1), "settings", "mfa_required",
	    strcmp(PQgetvalue(res, 0, 2), "t") == 0, "created_at",
	    PQgetvalue(res, 0, 3));
}

int
h_company_get(struct request *req, struct ctx *ctx)
{
	json_t *o;
	int	rc;

	if (ctx->read == NULL || PQntuples(ctx->read) != 1)
		return -1;
	o = company_json(ctx->read);
	rc = o != NULL ? http_send_json(req, 200, o) : -1;
	json_decref(o);
	return rc;
}

static const struct field f_patch[] = {
	{ "name", V_STRING, 1, 200, 0 },
	{ "settings", V_OBJECT, 0, 0, 0 },
};
static const struct field f_settings[] = {
	{ "mfa_required", V_BOOL, 0, 0, 0 },
};

int
h_company_patch(struct request *req, struct ctx *ctx)
{
	struct verr	   err;
	struct audit_entry e = { 0 };
	json_t		  *settings, *v, *fields = NULL, *changes = NULL, *o;
	const char	  *p[3];
	char		   name[201];
	PGresult	  *res;
	int		   mfa, new_mfa, rc = -1;

	if (validate_object(req->json, f_patch, nitems(f_patch), 0, &err) == -1)
		return validate_problem(req, &err);
	settings = json_object_get(req->json, "settings");
	if (settings != NULL &&
	    validate_object(
		settings, f_settings, nitems(f_settings), 0, &err) == -1) {
		/* Name the nested field as settings.X. */
		char full[80];

		snprintf(full, sizeof(full), "settings.%s", err.field);
		err.field = full;
		return validate_problem(req, &err);
	}
	p[0] = ctx->who.company_id;
	if ((res = db_exec(ctx->db, &q_company_lock, p)) == NULL ||
	    PQntuples(res) != 1) {
		PQclear(res);
		return -1;
	}
	snprintf(name, sizeof(name), "%s", PQgetvalue(res, 0, 0));
	mfa = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	PQclear(res);
	new_mfa = mfa;
	fields = json_array();
	changes = json_object();
	if ((v = json_object_get(req->json, "name")) != NULL &&
	    strcmp(json_string_value(v), name) != 0) {
		/* A name is not a setting: its values stay out of the log. */
		json_array_append_new(fields, json_string("name"));
		snprintf(name, sizeof(name), "%s", json_string_value(v));
	}
	if (settings != NULL &&
	    (v = json_object_get(settings, "mfa_required")) != NULL &&
	    json_is_true(v) != mfa) {
		new_mfa = json_is_true(v);
		json_array_append_new(
		    fields, json_string("settings.mfa_required"));
		json_object_set_new(changes, "settings.mfa_required",
		    json_pack("{s:b,s:b}", "old", mfa, "new", new_mfa));
	}
	p[1] = name;
	p[2] = new_mfa ? "true" : "false";
	if ((res = db_exec(ctx->db, &q_company_set, p)) == NULL)
		goto out;
	if (json_array_size(fields) > 0) {
		e.action = "company.update";
		e.resource_type = "company";
		e.resource_id = ctx->who.company_id;
		e.fields = fields;
		e.changes = json_object_size(changes) > 0 ? changes : NULL;
		if (audit_write(ctx, req, &e) == -1) {
			PQclear(res);
			goto out;
		}
	}
	if (db_commit(ctx->db) == -1) {
		PQclear(res);
		goto out;
	}
	o = company_json(res);
	PQclear(res);
	rc = o != NULL ? http_send_json(req, 200, o) : -1;
	json_decref(o);
out:
	json_decref(fields);
	json_decref(changes);
	return rc;
}
