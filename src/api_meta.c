/*
 * api_meta.c: liveness, readiness and service metadata.
 */
#include "config.h"

#include <stdlib.h>

#include "api.h"
#include "conf.h"
#include "db.h"
#include "row.h"
#include "schema.h"

/* The schema's version, and the oldest code that works on it (before
 * sql/040 there was no such floor: only the same version). */
static struct db_stmt q_schema_version = { "schema_version",
	"SELECT coalesce(max(version), 0) AS version, coalesce((SELECT "
	"min_code_version FROM parley_schema_compat), max(version), 0) AS "
	"compat FROM parley_schema_migrations",
	0, DB_RETRY_SAFE, 0 };

int
h_healthz(struct request *req, struct ctx *ctx)
{
	json_t *o = json_pack("{s:s}", "status", "ok");
	int	rc = o != NULL ? http_send_json(req, 200, o) : -1;

	json_decref(o);
	return rc;
}

int
h_readyz(struct request *req, struct ctx *ctx)
{
	PGresult *res;
	json_t	 *o = NULL;
	long	  v, compat;
	int	  rc = -1;

	if ((res = db_exec(ctx->db, &q_schema_version, NULL)) == NULL) {
		return http_send_problem(req, 503, "database_unavailable",
		    "Database unavailable", NULL, NULL, "Retry-After: 1\r\n");
	}
	v = (long)row_int(res, 0, "version");
	compat = (long)row_int(res, 0, "compat");
	PQclear(res);
	/* A newer schema that still serves this code (an expand step of a
	 * rolling upgrade) is ready; anything else is not. */
	if (v < PARLEY_SCHEMA_VERSION ||
	    (v > PARLEY_SCHEMA_VERSION && compat > PARLEY_SCHEMA_VERSION)) {
		o = json_pack("{s:i,s:i}", "schema_version", (int)v,
		    "expected_schema_version", PARLEY_SCHEMA_VERSION);
		rc = http_send_problem(req, 503,
		    v < PARLEY_SCHEMA_VERSION ? "migrations_pending"
					      : "schema_newer_than_code",
		    "Database schema does not match this version", NULL, o,
		    NULL);
		goto out;
	}
	if ((o = json_pack("{s:s,s:i}", "status", "ready", "schema_version",
		 (int)v)) == NULL)
		goto out;
	rc = http_send_json(req, 200, o);
out:
	json_decref(o);
	return rc;
}

int
h_meta(struct request *req, struct ctx *ctx)
{
	json_t *o;
	int	rc = -1;

	o = json_pack("{s:s,s:s,s:s,s:s,s:i}", "name", PACKAGE_NAME, "instance",
	    ctx->conf->instance_name, "version", PACKAGE_VERSION, "api_version",
	    "v1", "schema_version", PARLEY_SCHEMA_VERSION);
	if (o != NULL)
		rc = http_send_json(req, 200, o);
	json_decref(o);
	return rc;
}
