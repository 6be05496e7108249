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
#include "metrics.h"
#include "row.h"

/* One round trip to the server, for the metrics. */
static void
trip(void)
{
	metrics_count(MET_DB, "round_trips", 1);
}

/* Room for the SELECT lists a statement names with {{Row}}. */
#define DB_ROW_LIST_MAX 4096

struct db {
	PGconn	     *conn;
	char	     *conninfo; /* owned; a secret: never logged */
	int	      connect_timeout;
	unsigned      gen; /* bumped on every new connection */
	int	      in_tx;
	unsigned long commits;
	struct {
		void (*fn)(void *);
		void *arg;
	} hooks[DB_HOOKS_MAX];
	int	      nhooks;
	unsigned long txn; /* transactions begun */
	char	      sqlstate[6];
	char	      actor[37]; /* the user the request is of, or "" */
	int	      statement_ms; /* statement_timeout of each connection */
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

void
db_set_statement_timeout(struct db *db, int ms)
{
	db->statement_ms = ms;
}

int
db_busy(const struct db *db)
{
	/* statement_timeout (57014: canceled) or lock_timeout (55P03). */
	return strcmp(db->sqlstate, "57014") == 0 ||
	    strcmp(db->sqlstate, "55P03") == 0;
}

int
db_unavailable(const struct db *db)
{
	/* No connection, a broken one, the server shutting down (57P0x),
	 * or a standby where a primary was (25006: read-only transaction,
	 * during a failover). */
	return db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK ||
	    strncmp(db->sqlstate, "08", 2) == 0 ||
	    strncmp(db->sqlstate, "57P0", 4) == 0 ||
	    strcmp(db->sqlstate, "25006") == 0;
}

unsigned long
db_txn(const struct db *db)
{
	return db->txn;
}

unsigned long
db_commits(const struct db *db)
{
	return db->commits;
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

static void committed(struct db *db, int ok);

static void
db_disconnect(struct db *db)
{
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
}

static void
quiet_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

int
db_ensure(struct db *db)
{
	const char *keys[] = { "dbname", "connect_timeout", "application_name",
		NULL };
	const char *vals[4];
	char	    timeout[16];
	int	    ok;

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
	/* Notices may quote data (a search phrase): they never reach stderr. */
	PQsetNoticeProcessor(db->conn, quiet_notice, NULL);
	/*
	 * Times are read as ISO text (src/row.c converts them to RFC 3339),
	 * whatever DateStyle the cluster or the role has; and a statement
	 * runs at most statement_ms (0: the role's setting).
	 */
	{
		char	    ms[16];
		const char *p[1] = { ms };
		PGresult   *res;

		/* 0 ms: statement_timeout's own meaning, no bound. */
		snprintf(ms, sizeof(ms), "%d", db->statement_ms);
		res = (trip(),
		    PQexecParams(db->conn,
			"SELECT set_config('DateStyle', 'ISO, MDY', "
			"false), CASE WHEN $1::int > 0 THEN "
			"set_config('statement_timeout', $1::int::text, false) "
			"END",
			1, NULL, p, NULL, NULL, 0));
		ok = PQresultStatus(res) == PGRES_TUPLES_OK;
		PQclear(res);
		if (!ok) {
			log_msg(LOG_ERROR, "db_datestyle_failed");
			db_disconnect(db);
			return -1;
		}
	}
	db->gen++;
	if (db->gen == 0)
		db->gen = 1;
	metrics_count(MET_DB, db->gen > 1 ? "reconnects" : "connects", 1);
	log_event(LOG_INFO, "db_connected", LOG_I("count", db->gen));
	return 0;
}

/* Records SQLSTATE and constraint of a failed result, and logs them. */
static void
note_failure(struct db *db, const PGresult *res, const char *what)
{
	metrics_count(MET_DB, "errors", 1);
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
	if (strstr(st->sql, "{{") != NULL) {
		/* A row's SELECT list, declared once (row.h). */
		size_t len = strlen(st->sql) + DB_ROW_LIST_MAX;
		char  *sql = malloc(len);

		if (sql == NULL || row_expand(st->sql, sql, len) == -1) {
			free(sql);
			log_event(LOG_ERROR, "db_row_unknown",
			    LOG_S("statement", st->name));
			return -1;
		}
		trip();
		res = PQprepare(db->conn, st->name, sql, st->nparams, NULL);
		free(sql);
	} else
		res = (trip(),
		    PQprepare(db->conn, st->name, st->sql, st->nparams, NULL));
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
	trip();
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

/* One statement of a pipeline: literal 'sql' or prepared statement 'st'. */
struct pstep {
	const char	  *sql;
	struct db_stmt	  *st;
	int		   nparams;
	const char *const *params;
	PGresult	 **out; /* keeps the result when not NULL */
	const char	  *tag; /* required command tag, or NULL */
};

/*
 * Sends 'n' steps and one sync in a single round trip (libpq pipeline
 * mode) and reads every result. Returns 0 when all succeeded; -1 otherwise,
 * with kept results cleared and a broken connection dropped. After an
 * error the server skips the remaining steps up to the sync.
 */
static int
pipeline(struct db *db, struct pstep *s, int n, const char *what)
{
	PGresult *res;
	int	  ok = 1, committed_ok = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i].out != NULL)
			*s[i].out = NULL;
		if (s[i].st != NULL && prepare(db, s[i].st) == -1) {
			if (PQstatus(db->conn) != CONNECTION_OK)
				db_disconnect(db);
			return -1;
		}
	}
	if (PQenterPipelineMode(db->conn) != 1)
		return -1;
	for (i = 0; i < n && ok; i++)
		ok = (s[i].st != NULL
			     ? PQsendQueryPrepared(db->conn, s[i].st->name,
				   s[i].st->nparams, s[i].params, NULL, NULL, 0)
			     : PQsendQueryParams(db->conn, s[i].sql,
				   s[i].nparams, NULL, s[i].params, NULL, NULL,
				   0)) == 1;
	trip();
	if (!ok || PQpipelineSync(db->conn) != 1) {
		note_failure(db, NULL, what);
		PQexitPipelineMode(db->conn);
		db_disconnect(db);
		return -1;
	}
	for (i = 0; i < n; i++) {
		ExecStatusType st;
		int	       bad;

		if ((res = PQgetResult(db->conn)) == NULL) {
			ok = 0;
			break;
		}
		st = PQresultStatus(res);
		bad = (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) ||
		    (s[i].tag != NULL &&
			strcmp(PQcmdStatus(res), s[i].tag) != 0);
		if (bad) {
			if (ok)
				note_failure(db, res, what);
			ok = 0;
			PQclear(res);
		} else {
			if (ok && s[i].tag != NULL &&
			    strcmp(s[i].tag, "COMMIT") == 0)
				committed_ok = 1;
			if (s[i].out != NULL)
				*s[i].out = res;
			else
				PQclear(res);
		}
		/* Each step's results end with a NULL. */
		while ((res = PQgetResult(db->conn)) != NULL)
			PQclear(res);
	}
	/* Then the sync. */
	while ((res = PQgetResult(db->conn)) != NULL) {
		ExecStatusType st = PQresultStatus(res);

		PQclear(res);
		if (st == PGRES_PIPELINE_SYNC)
			break;
	}
	if (PQexitPipelineMode(db->conn) != 1 ||
	    PQstatus(db->conn) != CONNECTION_OK) {
		if (ok)
			note_failure(db, NULL, what);
		ok = 0;
	}
	/* A connection not back out of pipeline mode is of no further use. */
	if (!ok && db->conn != NULL &&
	    (PQstatus(db->conn) != CONNECTION_OK ||
		PQpipelineStatus(db->conn) != PQ_PIPELINE_OFF))
		db_disconnect(db);
	/*
	 * What the server committed stands, whatever failed after it (a step
	 * after the COMMIT, the connection lost while reading the sync): the
	 * caller must not answer "failed" for a change that was made.
	 */
	if (committed_ok)
		return 0;
	if (!ok)
		for (i = 0; i < n; i++)
			if (s[i].out != NULL && *s[i].out != NULL) {
				PQclear(*s[i].out);
				*s[i].out = NULL;
			}
	return ok ? 0 : -1;
}

/*
 * Sends BEGIN, set_config and the optional check in one pipeline. Returns
 * 0, or -1 with the connection left outside a transaction (rolled back or
 * dropped).
 */
static struct db_stmt q_tx_begin = { "tx_begin", "BEGIN", 0, 0, 0 };
static struct db_stmt q_tx_tenant = { "tx_tenant",
	"SELECT set_config('app.company_id', $1, true), "
	"set_config('app.actor_id', $2, true)",
	2, 0, 0 };

static int
tenant_pipeline(struct db *db, const char *company_id, struct db_stmt *check,
    const char *const *check_params, PGresult **check_res)
{
	const char  *cid[2] = { company_id, db->actor };
	struct pstep s[3] = {
		{ NULL, &q_tx_begin, 0, NULL, NULL, NULL },
		{ NULL, &q_tx_tenant, 0, cid, NULL, NULL },
		{ NULL, check, 0, check_params, check_res, NULL },
	};
	PGresult *res;

	if (db_ensure(db) == -1)
		return -1;
	if (pipeline(db, s, check != NULL ? 3 : 2, "tenant_begin") == -1) {
		if (db->conn != NULL) {
			trip();
			res = PQexec(db->conn, "ROLLBACK");
			PQclear(res);
		}
		return -1;
	}
	db->in_tx = 1;
	db->txn++;
	return 0;
}

static int
tenant_read_pipeline(struct db *db, const char *company_id,
    struct db_stmt *check, const char *const *check_params,
    PGresult **check_res, struct db_stmt *read, const char *const *read_params,
    PGresult **read_res)
{
	const char  *cid[2] = { company_id, db->actor };
	struct pstep s[5] = {
		{ NULL, &q_tx_begin, 0, NULL, NULL, NULL },
		{ NULL, &q_tx_tenant, 0, cid, NULL, NULL },
		{ NULL, check, 0, check_params, check_res, NULL },
		{ NULL, read, 0, read_params, read_res, NULL },
		{ "COMMIT", NULL, 0, NULL, NULL, "COMMIT" },
	};
	PGresult *res;

	if (db_ensure(db) == -1)
		return -1;
	if (pipeline(db, s, 5, "tenant_read") == -1) {
		/* An error left the transaction open (aborted). */
		if (db->conn != NULL) {
			trip();
			res = PQexec(db->conn, "ROLLBACK");
			PQclear(res);
		}
		return -1;
	}
	return 0;
}

int
db_tenant_read(struct db *db, const char *company_id, struct db_stmt *check,
    const char *const *check_params, PGresult **check_res, struct db_stmt *read,
    const char *const *read_params, PGresult **read_res)
{
	*check_res = NULL;
	*read_res = NULL;
	if (db->in_tx || !db_uuid_valid(company_id)) {
		log_msg(LOG_ERROR, "tenant_context_missing");
		return -1;
	}
	if (tenant_read_pipeline(db, company_id, check, check_params, check_res,
		read, read_params, read_res) == 0 ||
	    (db->conn == NULL && /* broken before anything ran: once more */
		tenant_read_pipeline(db, company_id, check, check_params,
		    check_res, read, read_params, read_res) == 0)) {
		db->commits++;
		return 0;
	}
	return -1;
}

/* Fills steps from 'calls'; returns the number of steps. */
static int
batch_steps(struct pstep *s, const struct db_call *calls, int n, int commit)
{
	int i;

	for (i = 0; i < n; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].st = calls[i].st;
		s[i].params = calls[i].params;
		s[i].out = calls[i].out;
	}
	if (commit) {
		memset(&s[n], 0, sizeof(s[n]));
		s[n].sql = "COMMIT";
		s[n].tag = "COMMIT";
		n++;
	}
	return n;
}

int
db_exec_many(struct db *db, const struct db_call *calls, int n, int commit)
{
	struct pstep s[DB_BATCH_MAX + 1];

	if (n < 1 || n > DB_BATCH_MAX || !db->in_tx || db->conn == NULL ||
	    PQstatus(db->conn) != CONNECTION_OK)
		return -1;
	if (pipeline(db, s, batch_steps(s, calls, n, commit),
		calls[0].st->name) == -1)
		return -1;
	if (commit) {
		db->in_tx = 0;
		committed(db, 1);
	}
	return 0;
}

int
db_exec_many_then(
    struct db *db, const struct db_call *calls, int n, struct db_stmt *after)
{
	struct pstep s[DB_BATCH_MAX + 2];
	int	     k;

	if (n < 1 || n > DB_BATCH_MAX || !db->in_tx || db->conn == NULL ||
	    PQstatus(db->conn) != CONNECTION_OK)
		return -1;
	k = batch_steps(s, calls, n, 1);
	memset(&s[k], 0, sizeof(s[k]));
	s[k++].st = after;
	if (pipeline(db, s, k, calls[0].st->name) == -1)
		return -1;
	db->in_tx = 0;
	committed(db, 1);
	return 0;
}

int
db_tenant_batch(
    struct db *db, const char *company_id, const struct db_call *calls, int n)
{
	const char  *cid[2] = { company_id, db->actor };
	struct pstep s[DB_BATCH_MAX + 3];
	PGresult    *res;

	db->sqlstate[0] = '\0'; /* a failure says its own, or none */
	if (db->in_tx || !db_uuid_valid(company_id) || n < 1 ||
	    n > DB_BATCH_MAX) {
		log_msg(LOG_ERROR, "tenant_context_missing");
		return -1;
	}
	if (db_ensure(db) == -1)
		return -1;
	db->txn++;
	memset(s, 0, 2 * sizeof(s[0]));
	s[0].st = &q_tx_begin;
	s[1].st = &q_tx_tenant;
	s[1].params = cid;
	if (pipeline(db, s, 2 + batch_steps(s + 2, calls, n, 1),
		"tenant_batch") == -1) {
		committed(db, 0);
		if (db->conn != NULL) {
			trip();
			res = PQexec(db->conn, "ROLLBACK");
			PQclear(res);
		}
		return -1;
	}
	committed(db, 1);
	return 0;
}

PGresult *
db_exec_commit(struct db *db, struct db_stmt *st, const char *const *params)
{
	PGresult    *res = NULL;
	struct pstep s[2] = {
		{ NULL, st, 0, params, &res, NULL },
		{ "COMMIT", NULL, 0, NULL, NULL, "COMMIT" },
	};

	if (!db->in_tx || db->conn == NULL ||
	    PQstatus(db->conn) != CONNECTION_OK)
		return NULL;
	/* On failure the transaction stays open (aborted): db_rollback(). */
	if (pipeline(db, s, 2, st->name) == -1)
		return NULL;
	db->in_tx = 0;
	committed(db, 1);
	return res;
}

void
db_set_actor(struct db *db, const char *user_id)
{
	snprintf(db->actor, sizeof(db->actor), "%s",
	    user_id != NULL && db_uuid_valid(user_id) ? user_id : "");
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

int
db_on_commit(struct db *db, void (*fn)(void *), void *arg)
{
	int i;

	for (i = 0; i < db->nhooks; i++)
		if (db->hooks[i].fn == fn && db->hooks[i].arg == arg)
			return 0;
	if (db->nhooks == DB_HOOKS_MAX)
		return -1;
	db->hooks[db->nhooks].fn = fn;
	db->hooks[db->nhooks++].arg = arg;
	return 0;
}

/* Runs (on success) and clears the commit hooks, in the order set. */
static void
committed(struct db *db, int ok)
{
	int i, n = db->nhooks;

	db->nhooks = 0;
	if (ok)
		db->commits++;
	for (i = 0; ok && i < n; i++)
		db->hooks[i].fn(db->hooks[i].arg);
}

/* The savepoint commands: literals only. */
enum sp_cmd { SP_BEGIN, SP_UNDO, SP_RELEASE };

static int
tx_command(struct db *db, enum sp_cmd c)
{
	PGresult *res;
	int	  ok;

	if (!db->in_tx || db->conn == NULL)
		return -1;
	trip();
	res = c == SP_BEGIN ? PQexec(db->conn, "SAVEPOINT parley_sp")
	    : c == SP_UNDO ? PQexec(db->conn, "ROLLBACK TO SAVEPOINT parley_sp")
			   : PQexec(db->conn, "RELEASE SAVEPOINT parley_sp");
	ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		note_failure(db, res, "savepoint");
	PQclear(res);
	return ok ? 0 : -1;
}

int
db_savepoint(struct db *db)
{
	return tx_command(db, SP_BEGIN);
}

int
db_savepoint_end(struct db *db, int keep)
{
	if (!keep && tx_command(db, SP_UNDO) == -1)
		return -1;
	if (tx_command(db, SP_RELEASE) == -1)
		return -1;
	db->sqlstate[0] = '\0';
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
		committed(db, 0);
		return -1;
	}
	trip();
	res = PQexec(db->conn, "COMMIT");
	/* COMMIT of an aborted transaction "succeeds" as ROLLBACK. */
	ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK &&
	    strcmp(PQcmdStatus(res), "COMMIT") == 0;
	if (!ok)
		note_failure(db, res, "commit");
	PQclear(res);
	db->in_tx = 0;
	committed(db, ok);
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
	committed(db, 0);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		db_disconnect(db);
		return;
	}
	trip();
	res = PQexec(db->conn, "ROLLBACK");
	PQclear(res);
}
