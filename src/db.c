/*
 * db.c: libpq connection, lazily prepared statements, tenant transactions
 * opened in one round trip with pipeline mode.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"
#include "log.h"

struct db {
	PGconn	*conn;
	char	*conninfo; /* owned; a secret: never logged */
	int	 connect_timeout;
	unsigned gen; /* bumped on every new connection */
	int	 in_tx;
	char	 sqlstate[6];
};

struct db *
db_new(const char *conninfo, int connect_timeout)
{
	struct db *db;

	if ((db = calloc(1, sizeof(*db))) == NULL)
		return NULL;
	if ((db->conninfo = strdup(conninfo)) == NULL) {
		free(db);
		return NULL;
	}
	db->connect_timeout = connect_timeout;
	return db;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	if (db->conn != NULL)
		PQfinish(db->conn);
	if (db->conninfo != NULL) {
		/* The conninfo may hold a password. */
		memset(db->conninfo, 0, strlen(db->conninfo));
		free(db->conninfo);
	}
	free(db);
}

const char *
db_last_sqlstate(const struct db *db)
{
	return db->sqlstate;
}

int
db_in_tx(const struct db *db)
{
	return db->in_tx;
}

int
db_uuid_valid(const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; i < 36; i++) {
		char c = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return 0;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			       (c >= 'A' && c <= 'F')))
			return 0;
	}
	return s[36] == '\0';
}

int
db_conninfo_valid(const char *conninfo)
{
	PQconninfoOption *o;
	char		 *err = NULL;

	o = PQconninfoParse(conninfo, &err);
	if (err != NULL)
		PQfreemem(err);
	if (o == NULL)
		return 0;
	PQconninfoFree(o);
	return 1;
}

static void
db_disconnect(struct db *db)
{
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
}

int
db_ensure(struct db *db)
{
	const char *keys[] = { "dbname", "connect_timeout", "application_name",
		NULL };
	const char *vals[4];
	char	    timeout[16];

	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		return 0;
	/*
	 * Inside a transaction a lost connection is never replaced: the
	 * statement would run without the transaction (and its tenant
	 * context). Everything fails until db_rollback().
	 */
	if (db->in_tx)
		return -1;
	db_disconnect(db);
	snprintf(timeout, sizeof(timeout), "%d", db->connect_timeout);
	/* dbname is expanded as a conninfo string (expand_dbname = 1). */
	vals[0] = db->conninfo;
	vals[1] = timeout;
	vals[2] = "parleyd";
	vals[3] = NULL;
	db->conn = PQconnectdbParams(keys, vals, 1);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		/* libpq's connection message names host and user, not secrets. */
		log_event(LOG_ERROR, "db_connect_failed",
		    LOG_S("error",
			db->conn != NULL ? PQerrorMessage(db->conn)
					 : "no memory"));
		db_disconnect(db);
		return -1;
	}
	db->gen++;
	if (db->gen == 0)
		db->gen = 1;
	log_event(LOG_INFO, "db_connected", LOG_I("count", db->gen));
	return 0;
}

/* Records SQLSTATE and constraint of a failed result, and logs them. */
static void
note_failure(struct db *db, const PGresult *res, const char *what)
{
	const char *state = NULL, *cons = NULL;

	if (res != NULL) {
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		cons = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
	}
	if (state == NULL)
		state = PQstatus(db->conn) == CONNECTION_OK ? "XX000" : "08006";
	snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", state);
	log_event(LOG_ERROR, "db_error", LOG_S("route", what),
	    LOG_S("sqlstate", db->sqlstate), LOG_S("constraint", cons));
}

static int
prepare(struct db *db, struct db_stmt *st)
{
	PGresult *res;
	int	  ok;

	if (st->prepared_gen == db->gen)
		return 0;
	res = PQprepare(db->conn, st->name, st->sql, st->nparams, NULL);
	ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		note_failure(db, res, st->name);
	PQclear(res);
	if (!ok)
		return -1;
	st->prepared_gen = db->gen;
	return 0;
}

static PGresult *
exec_once(struct db *db, struct db_stmt *st, const char *const *params)
{
	PGresult      *res;
	ExecStatusType s;

	if (db_ensure(db) == -1) {
		snprintf(db->sqlstate, sizeof(db->sqlstate), "08006");
		return NULL;
	}
	if (prepare(db, st) == -1)
		return NULL;
	res = PQexecPrepared(
	    db->conn, st->name, st->nparams, params, NULL, NULL, 0);
	s = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK) {
		db->sqlstate[0] = '\0';
		return res;
	}
	note_failure(db, res, st->name);
	PQclear(res);
	return NULL;
}

PGresult *
db_exec(struct db *db, struct db_stmt *st, const char *const *params)
{
	PGresult *res;

	if ((res = exec_once(db, st, params)) != NULL)
		return res;
	if ((st->flags & DB_RETRY_SAFE) && !db->in_tx && db->conn != NULL &&
	    PQstatus(db->conn) != CONNECTION_OK) {
		db_disconnect(db);
		res = exec_once(db, st, params);
	}
	return res;
}

/*
 * Sends BEGIN, set_config and the optional check in one pipeline and reads
 * the results. Returns 0, or -1 with the connection left outside a
 * transaction (rolled back or dead).
 */
static int
tenant_pipeline(struct db *db, const char *company_id, struct db_stmt *check,
    const char *const *check_params, PGresult **check_res)
{
	const char *cid[1] = { company_id };
	PGresult   *res;
	int	    ok = 1, nq, i;

	if (db_ensure(db) == -1)
		return -1;
	if (check != NULL && prepare(db, check) == -1) {
		if (PQstatus(db->conn) != CONNECTION_OK)
			db_disconnect(db);
		return -1;
	}
	if (PQenterPipelineMode(db->conn) != 1)
		return -1;
	nq = check != NULL ? 3 : 2;
	if (PQsendQueryParams(
		db->conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) != 1 ||
	    PQsendQueryParams(db->conn,
		"SELECT set_config('app.company_id', $1, true)", 1, NULL, cid,
		NULL, NULL, 0) != 1 ||
	    (check != NULL &&
		PQsendQueryPrepared(db->conn, check->name, check->nparams,
		    check_params, NULL, NULL, 0) != 1) ||
	    PQpipelineSync(db->conn) != 1) {
		note_failure(db, NULL, "tenant_begin");
		PQexitPipelineMode(db->conn);
		db_disconnect(db);
		return -1;
	}
	for (i = 0; i < nq; i++) {
		ExecStatusType s;

		if ((res = PQgetResult(db->conn)) == NULL) {
			ok = 0;
			break;
		}
		s = PQresultStatus(res);
		if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
			if (ok)
				note_failure(db, res, "tenant_begin");
			ok = 0;
			PQclear(res);
		} else if (i == 2 && check_res != NULL)
			*check_res = res;
		else
			PQclear(res);
		/* Each query's results end with a NULL. */
		while ((res = PQgetResult(db->conn)) != NULL)
			PQclear(res);
	}
	/* Then the sync. */
	while ((res = PQgetResult(db->conn)) != NULL) {
		ExecStatusType s = PQresultStatus(res);

		PQclear(res);
		if (s == PGRES_PIPELINE_SYNC)
			break;
	}
	if (PQexitPipelineMode(db->conn) != 1 ||
	    PQstatus(db->conn) != CONNECTION_OK) {
		if (ok)
			note_failure(db, NULL, "tenant_begin");
		ok = 0;
	}
	if (!ok) {
		if (check_res != NULL && *check_res != NULL) {
			PQclear(*check_res);
			*check_res = NULL;
		}
		if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK) {
			res = PQexec(db->conn, "ROLLBACK");
			PQclear(res);
		} else
			db_disconnect(db);
		return -1;
	}
	db->in_tx = 1;
	return 0;
}

int
db_tenant_begin(struct db *db, const char *company_id, struct db_stmt *check,
    const char *const *check_params, PGresult **check_res)
{
	if (check_res != NULL)
		*check_res = NULL;
	if (db->in_tx) {
		log_msg(LOG_ERROR, "tenant_tx_nested");
		return -1;
	}
	if (!db_uuid_valid(company_id)) {
		/* Fail closed: no tenant context, no transaction. */
		log_msg(LOG_ERROR, "tenant_context_missing");
		return -1;
	}
	if (tenant_pipeline(db, company_id, check, check_params, check_res) ==
	    0)
		return 0;
	/* A connection that broke before BEGIN committed anything: retry once. */
	if (db->conn == NULL)
		return tenant_pipeline(
		    db, company_id, check, check_params, check_res);
	return -1;
}

static struct db_stmt q_begin = { "begin", "BEGIN", 0, DB_RETRY_SAFE, 0 };

int
db_begin_global(struct db *db)
{
	PGresult *res;

	if (db->in_tx)
		return -1;
	if ((res = db_exec(db, &q_begin, NULL)) == NULL)
		return -1;
	PQclear(res);
	db->in_tx = 1;
	return 0;
}

int
db_commit(struct db *db)
{
	PGresult *res;
	int	  ok;

	if (!db->in_tx)
		return -1;
	if (db->conn == NULL) {
		db->in_tx = 0;
		return -1;
	}
	res = PQexec(db->conn, "COMMIT");
	/* COMMIT of an aborted transaction "succeeds" as ROLLBACK. */
	ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK &&
	    strcmp(PQcmdStatus(res), "COMMIT") == 0;
	if (!ok)
		note_failure(db, res, "commit");
	PQclear(res);
	db->in_tx = 0;
	if (PQstatus(db->conn) != CONNECTION_OK)
		db_disconnect(db);
	return ok ? 0 : -1;
}

void
db_rollback(struct db *db)
{
	PGresult *res;

	if (!db->in_tx)
		return;
	db->in_tx = 0;
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		db_disconnect(db);
		return;
	}
	res = PQexec(db->conn, "ROLLBACK");
	PQclear(res);
}
