/*
 * api_exports.c: a company's full data export (admins): started here, made
 * by the jobs process (src/export.c), downloaded here until it expires.
 * Starting and downloading are audited.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "conf.h"
#include "db.h"
#include "export.h"
#include "jobs.h"
#include "util.h"

#define EXP_COLS                                                               \
	"id, status, stage, records, bytes, sha256, error, created_at, "       \
	"finished_at, expires_at, expires_at IS NOT NULL AND expires_at > "    \
	"now()"

/* The company row locked: one export at a time. */
static struct db_stmt q_exp_busy = { "export_busy",
	"SELECT (SELECT count(*) FROM company_exports WHERE company_id = $1 "
	"AND status IN ('queued', 'running')) FROM companies WHERE id = $1 FOR "
	"UPDATE",
	1, 0, 0 };
static struct db_stmt q_exp_new = { "export_new",
	"INSERT INTO company_exports (company_id, requested_by) VALUES ($1, "
	"$2) RETURNING " EXP_COLS,
	2, 0, 0 };
static struct db_stmt q_exp_list = { "export_list",
	"SELECT " EXP_COLS " FROM company_exports WHERE company_id = $1 ORDER "
	"BY created_at DESC LIMIT 20",
	1, 0, 0 };
static struct db_stmt q_exp_get = { "export_get",
	"SELECT " EXP_COLS " FROM company_exports WHERE company_id = $1 AND id "
	"= $2",
	2, 0, 0 };

static json_t *
exp_json(PGresult *res, int i)
{
#define S(c) (PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c))
	json_t *o = json_pack("{s:s,s:s,s:s*,s:I,s:s*,s:s*,s:s,s:s*,s:s*}",
	    "id", S(0), "status", S(1), "stage", S(2), "records",
	    (json_int_t)strtoll(PQgetvalue(res, i, 3), NULL, 10), "sha256",
	    S(5), "error", S(6), "created_at", S(7), "finished_at", S(8),
	    "expires_at", S(9));
	char	url[128];

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "bytes",
	    PQgetisnull(res, i, 4)
		? json_null()
		: json_integer(strtoll(PQgetvalue(res, i, 4), NULL, 10)));
	if (strcmp(PQgetvalue(res, i, 1), "ready") == 0 &&
	    strcmp(PQgetvalue(res, i, 10), "t") == 0) {
		snprintf(url, sizeof(url),
		    "/api/v1/company/exports/%s/download", S(0));
		json_object_set_new(o, "download", json_string(url));
	}
	return o;
#undef S
}

static int
exp_audit(
    struct ctx *ctx, struct request *req, const char *action, const char *id)
{
	struct audit_entry e = { 0 };

	e.action = action;
	e.resource_type = "export";
	e.resource_id = id;
	return audit_write(ctx, req, &e);
}

int
h_export_create(struct request *req, struct ctx *ctx)
{
	const char *p[2] = { ctx->who.company_id, ctx->who.user_id };
	PGresult   *res;
	json_t	   *job = NULL, *o = NULL;
	int	    rc = -1;

	if ((res = db_exec(ctx->db, &q_exp_busy, p)) == NULL ||
	    PQntuples(res) != 1) {
		PQclear(res);
		return -1;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "0") != 0) {
		PQclear(res);
		db_rollback(ctx->db);
		return http_send_problem(req, 409, "export_in_progress",
		    "An export is already being made", NULL, NULL, NULL);
	}
	PQclear(res);
	if ((res = db_exec(ctx->db, &q_exp_new, p)) == NULL)
		return -1;
	job = json_pack("{s:s}", "export", PQgetvalue(res, 0, 0));
	if (job == NULL ||
	    jobs_enqueue(ctx->db, "export", ctx->who.company_id, job) == -1 ||
	    exp_audit(ctx, req, "company.export", PQgetvalue(res, 0, 0)) ==
		-1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	o = exp_json(res, 0);
	rc = o != NULL ? http_send_json(req, 202, o) : -1;
out:
	PQclear(res);
	json_decref(job);
	json_decref(o);
	return rc;
}

int
h_export_list(struct request *req, struct ctx *ctx)
{
	const char *p[1] = { ctx->who.company_id };
	PGresult   *res;
	json_t	   *items;
	int	    i;

	if ((res = db_exec_commit(ctx->db, &q_exp_list, p)) == NULL)
		return -1;
	items = json_array();
	for (i = 0; i < PQntuples(res); i++)
		json_array_append_new(items, exp_json(res, i));
	PQclear(res);
	return http_send_items(req, items);
}

/* Reads export 'id' (404 answered: returns NULL with '*answered'). */
static PGresult *
exp_get(struct request *req, struct ctx *ctx, const char *id, int commit,
    int *answered)
{
	const char *p[2] = { ctx->who.company_id, id };
	PGresult   *res;

	*answered = 0;
	res = commit ? db_exec_commit(ctx->db, &q_exp_get, p)
		     : db_exec(ctx->db, &q_exp_get, p);
	if (res != NULL && PQntuples(res) != 1) {
		PQclear(res);
		*answered = 1;
		router_not_found(req);
		return NULL;
	}
	return res;
}

int
h_export_get(struct request *req, struct ctx *ctx)
{
	PGresult *res;
	json_t	 *o;
	int	  answered, rc;

	if ((res = exp_get(req, ctx, router_param(req, "id"), 1, &answered)) ==
	    NULL)
		return answered ? 0 : -1;
	o = exp_json(res, 0);
	PQclear(res);
	rc = o != NULL ? http_send_json(req, 200, o) : -1;
	json_decref(o);
	return rc;
}

int
h_export_download(struct request *req, struct ctx *ctx)
{
	const char *id = router_param(req, "id");
	char	    path[640], hdr[400], buf[65536];
	PGresult   *res;
	FILE	   *f = NULL;
	size_t	    got;
	int	    answered;

	if ((res = exp_get(req, ctx, id, 0, &answered)) == NULL)
		return answered ? 0 : -1;
	if (strcmp(PQgetvalue(res, 0, 1), "ready") != 0 ||
	    strcmp(PQgetvalue(res, 0, 10), "t") != 0) {
		PQclear(res);
		db_rollback(ctx->db);
		return http_send_problem(req, 409, "export_not_ready",
		    "The export is not ready, or has expired", NULL, NULL,
		    NULL);
	}
	snprintf(hdr, sizeof(hdr),
	    "Content-Disposition: attachment; "
	    "filename=\"parley-export-%.10s.tar.gz\"\r\nContent-Length: %s\r\n",
	    PQgetvalue(res, 0, 8), PQgetvalue(res, 0, 4));
	PQclear(res);
	if (export_path(
		ctx->conf, ctx->who.company_id, id, path, sizeof(path)) == -1 ||
	    (f = fopen(path, "re")) == NULL) {
		db_rollback(ctx->db);
		return http_send_problem(req, 410, "export_gone",
		    "The export's file is gone", NULL, NULL, NULL);
	}
	/* Who took the company's data, on record before the first byte. */
	if (exp_audit(ctx, req, "company.export_download", id) == -1 ||
	    db_commit(ctx->db) == -1) {
		fclose(f);
		return -1;
	}
	http_stream_begin(req, "application/gzip", hdr);
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
		if (http_stream_write(req, buf, got) == -1)
			break;
	fclose(f);
	return 0;
}
