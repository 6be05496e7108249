/*
 * handler.c: the handler helpers of handler.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "crypto.h"
#include "db.h"
#include "conf.h"
#include "handler.h"
#include "plans.h"

const struct row *
api_row(const struct request *req)
{
	const struct spec *sp = req->route_def ? req->route_def->spec : NULL;

	return sp != NULL && sp->nreplies > 0 ? sp->replies[0].row : NULL;
}

int
api_send_row(struct request *req, const PGresult *res, int status)
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
	rc = PQntuples(res) == 1 ? api_send_row(req, res, 200)
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
api_list_of(struct request *req, struct ctx *ctx, struct db_stmt *parent,
    struct db_stmt *st, const char *const *p)
{
	PGresult *res;
	int	  n;

	if ((res = db_exec(ctx->db, parent, p)) == NULL)
		return -1;
	n = PQntuples(res);
	PQclear(res);
	return n == 1 ? api_list(req, ctx, st, p) : router_not_found(req);
}

int
api_page(struct request *req, struct ctx *ctx, struct db_stmt *st,
    const char *const *p, long limit)
{
	const struct row *r = api_row(req);
	PGresult	 *res;
	json_t		 *o, *items;
	char		  next[80];
	int		  n, rc;

	if (r == NULL || (res = db_exec_commit(ctx->db, st, p)) == NULL)
		return -1;
	n = PQntuples(res);
	if ((items = row_json_all(r, res)) == NULL ||
	    (o = json_pack("{s:o,s:n}", "items", items, "next_cursor")) ==
		NULL) {
		PQclear(res);
		return -1;
	}
	if (n == limit && n > 0) {
		snprintf(
		    next, sizeof(next), "%s", row_get(res, n - 1, "cursor"));
		json_object_set_new(o, "next_cursor", json_string(next));
	}
	PQclear(res);
	rc = http_send_json(req, 200, o);
	json_decref(o);
	return rc;
}

int
api_cursor(const struct request *req, char us[20], char id[37])
{
	const char *c = router_arg(req, "cursor"), *sep;

	if (c == NULL || (sep = strchr(c, '_')) == NULL ||
	    (size_t)(sep - c) >= 20 || strlen(sep + 1) != 36)
		return 0;
	memcpy(us, c, (size_t)(sep - c));
	us[sep - c] = '\0';
	memcpy(id, sep + 1, 37);
	return 1;
}

int
api_audit(struct request *req, struct ctx *ctx, const char *id, json_t *names,
    json_t *changes)
{
	const struct spec *sp = req->route_def->spec;
	struct audit_entry e;
	char		   type[64];
	json_t		  *fields = NULL, *v;
	const char	  *k;
	size_t		   i;
	int		   rc;

	memset(&e, 0, sizeof(e));
	if (names != NULL)
		fields = json_incref(names);
	else if (json_is_object(req->json)) {
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
	/* The noun as the audit log names it: "webhook endpoint" as
	 * webhook_endpoint. */
	snprintf(type, sizeof(type), "%s",
	    sp->resource != NULL   ? sp->resource
		: sp->noun != NULL ? sp->noun
				   : "");
	for (i = 0; type[i] != '\0'; i++)
		if (type[i] == ' ')
			type[i] = '_';
	e.action = sp->audit;
	e.resource_type = type;
	e.resource_id = id;
	e.fields = fields;
	e.changes = changes;
	rc = audit_write(ctx, &e);
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
	/* The resource is the path's last id: /chatbots/{id}/documents/{doc}. */
	if (api_audit(req, ctx, req->param[req->nparams - 1], NULL, NULL) ==
		-1 ||
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
	if (api_audit(req, ctx, row_get(res, 0, "id"), NULL, NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		return -1;
	return api_send_row(req, res, status);
}

int
api_problem(
    struct request *req, int status, const char *code, const char *title)
{
	return http_send_problem(req, status, code, title, NULL, NULL, NULL);
}

int
api_send(struct request *req, int status, json_t *o)
{
	int rc = o != NULL ? http_send_json(req, status, o) : -1;

	json_decref(o);
	return rc;
}

int
api_plan_refused(struct request *req, const struct plan_refusal *r)
{
	json_t *x = json_pack("{s:s,s:I,s:s}", "limit", r->limit, "max",
	    (json_int_t)r->max, "plan", r->plan);
	int	rc = http_send_problem(req, 402, "plan_limit",
		"Your plan's limit is reached: upgrade, or remove something first",
		NULL, x, NULL);

	json_decref(x);
	return rc;
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

int
api_cookie_mode(const struct request *req)
{
	const char *v = http_header(req, "X-Parley-Session");

	return v != NULL && strcmp(v, "cookie") == 0;
}

int
api_set_refresh_cookie(struct request *req, struct ctx *ctx, const char *rt)
{
	char cookie[256];
	int  rc;

	snprintf(cookie, sizeof(cookie),
	    "%s=%s; Path=/api/v1/auth; Max-Age=%d; HttpOnly; Secure; "
	    "SameSite=Strict",
	    API_REFRESH_COOKIE, rt, ctx->conf->refresh_ttl);
	rc = http_add_header(req, "Set-Cookie", cookie);
	crypto_wipe(cookie, sizeof(cookie));
	return rc;
}

int
api_send_tokens(
    struct request *req, struct ctx *ctx, int status, json_t *tokens)
{
	const char *rt;

	if (tokens == NULL)
		return -1;
	if (api_cookie_mode(req) &&
	    (rt = json_string_value(
		 json_object_get(tokens, "refresh_token"))) != NULL) {
		if (api_set_refresh_cookie(req, ctx, rt) == -1) {
			json_decref(tokens);
			return -1;
		}
		json_object_del(tokens, "refresh_token");
	}
	return api_send(req, status, tokens);
}

/* Whether 'origin' is public_base_url's scheme://host[:port]. */
static int
origin_is_ours(const struct conf *cfg, const char *origin)
{
	const char *u = cfg->public_base_url, *host;
	size_t	    n;

	if (origin == NULL || (host = strstr(u, "://")) == NULL)
		return 0;
	n = (size_t)(host + 3 - u) + strcspn(host + 3, "/");
	return strlen(origin) == n && strncmp(origin, u, n) == 0;
}

const char *
api_cookie(struct request *req, const char *name, char *buf, size_t len)
{
	const char *c = http_header(req, "Cookie"), *p;
	size_t	    n = strlen(name);

	for (p = c; p != NULL && *p != '\0';) {
		p += strspn(p, " ;");
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			size_t v = strcspn(p + n + 1, ";");

			if (v >= len)
				return NULL;
			memcpy(buf, p + n + 1, v);
			buf[v] = '\0';
			return buf;
		}
		p += strcspn(p, ";");
	}
	return NULL;
}

const char *
api_refresh_cookie(
    struct request *req, struct ctx *ctx, char *buf, size_t len, int *answered)
{
	*answered = 0;
	/* A cross-site request cannot set the header nor fake the Origin. */
	if (!origin_is_ours(ctx->conf, req->origin)) {
		*answered = 1;
		api_problem(req, 403, "origin_not_allowed",
		    "The session cookie is for parley's own pages");
		return NULL;
	}
	return api_cookie(req, API_REFRESH_COOKIE, buf, len);
}

void
api_clear_cookie(struct request *req)
{
	(void)http_add_header(req, "Set-Cookie",
	    API_REFRESH_COOKIE "=; Path=/api/v1/auth; Max-Age=0; HttpOnly; "
			       "Secure; SameSite=Strict");
}

char *
api_uuid_array(const json_t *ids)
{
	const json_t *v;
	size_t	      i;
	char	     *a, *w;

	if ((a = malloc(json_array_size(ids) * 38 + 3)) == NULL)
		return NULL;
	w = a;
	*w++ = '{';
	json_array_foreach(ids, i, v)
	{
		if (i > 0)
			*w++ = ',';
		memcpy(w, json_string_value(v), 36);
		w += 36;
	}
	*w++ = '}';
	*w = '\0';
	return a;
}
