/*
 * handler.c: the handler helpers of handler.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "db.h"
#include "handler.h"

const struct row *
api_row(const struct request *req)
{
	const struct spec *sp = req->route_def ? req->route_def->spec : NULL;

	return sp != NULL && sp->nreplies > 0 ? sp->replies[0].row : NULL;
}

/* Sends row 0 of 'res' encoded as the route's row, with 'status'. */
static int
send_row(struct request *req, const PGresult *res, int status)
{
	const struct row *r = api_row(req);
	json_t		 *o;
	int		  rc;

	if (r == NULL || (o = row_json(r, res, 0)) == NULL)
		return -1;
	rc = http_send_json(req, status, o);
	json_decref(o);
	return rc;
}

int
api_get_one(struct request *req, struct ctx *ctx, struct db_stmt *st,
    const char *const *p)
{
	PGresult *res;
	int	  rc;

	if ((res = db_exec_commit(ctx->db, st, p)) == NULL)
		return -1;
	rc = PQntuples(res) == 1 ? send_row(req, res, 200)
				 : router_not_found(req);
	PQclear(res);
	return rc;
}

int
api_list(struct request *req, struct ctx *ctx, struct db_stmt *st,
    const char *const *p)
{
	const struct row *r = api_row(req);
	PGresult	 *res;
	json_t		 *items;

	if (r == NULL || (res = db_exec_commit(ctx->db, st, p)) == NULL)
		return -1;
	items = row_json_all(r, res);
	PQclear(res);
	return items != NULL ? http_send_items(req, items) : -1;
}

int
api_audit(struct request *req, struct ctx *ctx, const char *id, json_t *changes)
{
	const struct spec *sp = req->route_def->spec;
	struct audit_entry e;
	json_t		  *fields = NULL, *v;
	const char	  *k;
	size_t		   i;
	int		   rc;

	memset(&e, 0, sizeof(e));
	if (json_is_object(req->json)) {
		fields = json_array();
		json_object_foreach(req->json, k, v)
		{
			for (i = 0; i < sp->nbody; i++)
				if (strcmp(sp->body[i].name, k) == 0 &&
				    !(sp->body[i].flags & F_SECRET))
					json_array_append_new(
					    fields, json_string(k));
		}
	}
	e.action = sp->audit;
	e.resource_type = sp->noun;
	e.resource_id = id;
	e.fields = fields;
	e.changes = changes;
	rc = audit_write(ctx, req, &e);
	json_decref(fields);
	return rc;
}

int
api_delete(struct request *req, struct ctx *ctx, struct db_stmt *st,
    const char *const *p)
{
	PGresult *res;
	long	  n;

	if ((res = db_exec(ctx->db, st, p)) == NULL)
		return -1;
	n = strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	if (n == 0)
		return router_not_found(req);
	if (api_audit(req, ctx, router_param(req, "id"), NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		return -1;
	return http_send_empty(req, 204);
}

int
api_written(
    struct request *req, struct ctx *ctx, const PGresult *res, int status)
{
	if (PQntuples(res) != 1)
		return router_not_found(req);
	if (api_audit(req, ctx, row_get(res, 0, "id"), NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		return -1;
	return send_row(req, res, status);
}

int
api_conflict(struct request *req, const char *code, const char *title)
{
	return http_send_problem(req, 409, code, title, NULL, NULL, NULL);
}

const char *
api_body_str(const struct request *req, const char *name)
{
	return json_string_value(json_object_get(req->json, name));
}
