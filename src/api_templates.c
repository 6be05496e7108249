/*
 * api_templates.c: response templates (canned replies). Members list and
 * use them; admins create, edit and delete them, audited. The route
 * specs (routes.c) check the bodies; the row is declared in resources.c.
 */
#include "config.h"

#include <string.h>

#include "api.h"
#include "handler.h"

static struct db_stmt q_tpl_new = { "template_new",
	"INSERT INTO response_templates (company_id, name, body, created_by) "
	"VALUES ($1, $2, $3, $4) ON CONFLICT (company_id, name) DO NOTHING "
	"RETURNING {{Template}}",
	4, 0, 0 };
static struct db_stmt q_tpl_list = { "template_list",
	"SELECT {{Template}} FROM response_templates WHERE company_id = $1 "
	"ORDER BY name LIMIT 1000",
	1, 0, 0 };
static struct db_stmt q_tpl_set = { "template_set",
	"UPDATE response_templates SET name = coalesce($3, name), body = "
	"coalesce($4, body), updated_at = now() WHERE company_id = $1 AND id = "
	"$2 RETURNING {{Template}}",
	4, 0, 0 };
static struct db_stmt q_tpl_delete = { "template_delete",
	"DELETE FROM response_templates WHERE company_id = $1 AND id = $2", 2,
	0, 0 };

int
h_template_create(struct request *req, struct ctx *ctx)
{
	const char *p[4] = { ctx->who.company_id, api_body_str(req, "name"),
		api_body_str(req, "body"), ctx->who.user_id };
	PGresult   *res;
	int	    rc;

	if ((res = db_exec(ctx->db, &q_tpl_new, p)) == NULL)
		return -1;
	rc = PQntuples(res) == 1 ? api_written(req, ctx, res, 201)
				 : api_conflict(req, "name_taken",
				       "A template with this name exists");
	PQclear(res);
	return rc;
}

int
h_template_list(struct request *req, struct ctx *ctx)
{
	const char *p[1] = { ctx->who.company_id };

	return api_list(req, ctx, &q_tpl_list, p);
}

int
h_template_patch(struct request *req, struct ctx *ctx)
{
	const char *p[4] = { ctx->who.company_id, router_param(req, "id"),
		api_body_str(req, "name"), api_body_str(req, "body") };
	PGresult   *res;
	int	    rc;

	if ((res = db_exec(ctx->db, &q_tpl_set, p)) == NULL) {
		if (strcmp(db_last_sqlstate(ctx->db), "23505") == 0)
			return api_conflict(req, "name_taken",
			    "A template with this name exists");
		return -1;
	}
	rc = api_written(req, ctx, res, 200);
	PQclear(res);
	return rc;
}

int
h_template_delete(struct request *req, struct ctx *ctx)
{
	const char *p[2] = { ctx->who.company_id, router_param(req, "id") };

	return api_delete(req, ctx, &q_tpl_delete, p);
}
