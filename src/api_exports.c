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
#include "handler.h"
#include "resources.h"
#include "conf.h"
#include "db.h"
#include "export.h"
#include "job_queue.h"
#include "util.h"

/* The company row locked: one export at a time. */
static struct db_stmt q_exp_busy = { "export_busy",
	"SELECT (SELECT count(*) FROM company_exports WHERE company_id = $1 "
	"AND status IN ('queued', 'running')) AS busy FROM companies WHERE id "
	"= $1 FOR UPDATE",
	1, 0, 0 };
static struct db_stmt q_exp_new = { "export_new",
	"INSERT INTO company_exports (company_id, requested_by) VALUES ($1, "
	"$2) RETURNING {{Export}}",
	2, 0, 0 };
static struct db_stmt q_exp_list = { "export_list",
	"SELECT {{Export}} FROM company_exports WHERE company_id = $1 ORDER "
	"BY created_at DESC LIMIT 20",
	1, 0, 0 };
static struct db_stmt q_exp_get = { "export_get",
	"SELECT {{Export}} FROM company_exports WHERE company_id = $1 AND id "
	"= $2",
	2, 0, 0 };

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
	if (row_int(res, 0, "busy") != 0) {
		PQclear(res);
		db_rollback(ctx->db);
		return api_problem(req, 409, "export_in_progress",
		    "An export is already being made");
	}
	PQclear(res);
	if ((res = db_exec(ctx->db, &q_exp_new, p)) == NULL)
		return -1;
	job = json_pack("{s:s}", "export", row_get(res, 0, "id"));
	if (job == NULL ||
	    jobs_enqueue(ctx->db, "export", ctx->who.company_id, job) == -1 ||
	    api_audit(req, ctx, row_get(res, 0, "id"), NULL, NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	o = row_json(&row_export, res, 0);
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

	return api_list(req, ctx, &q_exp_list, p);
}

int
h_export_get(struct request *req, struct ctx *ctx)
{
	const char *p[2] = { ctx->who.company_id, router_param(req, "id") };

	return api_get_one(req, ctx, &q_exp_get, p);
}

int
h_export_download(struct request *req, struct ctx *ctx)
{
	const char *id = router_param(req, "id");
	char	    path[640], hdr[400], buf[65536];
	PGresult   *res;
	FILE	   *f = NULL;
	size_t	    got;

	const char *p[2] = { ctx->who.company_id, id };

	if ((res = db_exec(ctx->db, &q_exp_get, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return router_not_found(req);
	}
	if (row_opt(res, 0, "download") == NULL) {
		PQclear(res);
		db_rollback(ctx->db);
		return api_problem(req, 409, "export_not_ready",
		    "The export is not ready, or has expired");
	}
	snprintf(hdr, sizeof(hdr),
	    "Content-Disposition: attachment; "
	    "filename=\"parley-export-%.10s.tar.gz\"\r\nContent-Length: %s\r\n",
	    row_get(res, 0, "finished_at"), row_get(res, 0, "bytes"));
	PQclear(res);
	if (export_path(
		ctx->conf, ctx->who.company_id, id, path, sizeof(path)) == -1 ||
	    (f = fopen(path, "re")) == NULL) {
		db_rollback(ctx->db);
		return api_problem(
		    req, 410, "export_gone", "The export's file is gone");
	}
	/* Who took the company's data, on record before the first byte. */
	if (api_audit(req, ctx, id, NULL, NULL) == -1 ||
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
