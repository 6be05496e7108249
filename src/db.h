/*
 * db.h: the process's one PostgreSQL connection, prepared statements and
 * the tenant transaction helper.
 *
 * Every statement is a struct db_stmt declared by the module that owns the
 * SQL; it is prepared on first use on each connection. After PostgreSQL
 * restarts, the next use reconnects and prepares again; the process lives on.
 */
#ifndef PARLEY_DB_H
#define PARLEY_DB_H

#include <libpq-fe.h>

struct db;

#define DB_RETRY_SAFE 0x01 /* read-only: may be re-sent after reconnecting */

struct db_stmt {
	const char *name; /* unique, used as the prepared name */
	const char *sql;
	int	    nparams;
	unsigned    flags;
	unsigned    prepared_gen; /* connection generation it was prepared on */
};

/*
 * Returns a new handle for 'conninfo' (copied). Does not connect: the first
 * use does. Caller frees with db_free(). NULL only when out of memory.
 */
struct db *db_new(const char *conninfo, int connect_timeout);
/* Each connection from now on: a statement runs at most 'ms' (0: the
 * role's setting). Takes effect at the next (re)connection. */
void db_set_statement_timeout(struct db *db, int ms);
void db_free(struct db *);

/*
 * Returns 1 if 'conninfo' parses as a libpq connection string. Never
 * says why: libpq's message may quote the string, password included.
 */
int db_conninfo_valid(const char *conninfo);

/*
 * Connects or reconnects if needed. Returns 0 or -1 (logged). Inside a
 * transaction a lost connection is not replaced (-1 until db_rollback()).
 */
int db_ensure(struct db *);

/*
 * Runs prepared statement 'st' with 'params' (text format, NULL for SQL
 * NULL). Returns the result on PGRES_TUPLES_OK or PGRES_COMMAND_OK; the
 * caller frees it with PQclear(). Returns NULL on any failure, having
 * logged SQLSTATE and constraint (never the message, which may quote data).
 * A DB_RETRY_SAFE statement outside a transaction is sent once more after
 * a reconnect if the connection had broken.
 */
PGresult *db_exec(struct db *, struct db_stmt *st, const char *const *params);

/* The SQLSTATE of the last failed db_exec(), or "" ("08006" style). */
const char *db_last_sqlstate(const struct db *);
/* Whether the last failure was the database being out of reach (no or a
 * broken connection, a shutdown, a standby): 503, not 500. */
int db_unavailable(const struct db *);
/* Whether the last failure was a statement that ran out of time
 * (statement_timeout, lock_timeout): the database is busy, 503. */
int db_busy(const struct db *);

/*
 * Opens a tenant transaction: BEGIN, then set_config('app.company_id',
 * 'company_id', true) — and, when 'check' is not NULL, that statement with
 * 'check_params' — sent together in libpq pipeline mode, one round trip.
 * 'company_id' must be a canonical UUID; NULL or anything else is refused
 * before anything is sent. On success returns 0 and, if 'check' was given
 * and 'check_res' is not NULL, stores its result there (caller PQclear()s).
 * Returns -1 on failure, with no transaction open.
 */
/*
 * The user a request is of (NULL: none), set for its tenant transactions
 * as app.actor_id: the database's notifications do not tell agents of
 * their own changes (sql/028-notifications.sql).
 */
void db_set_actor(struct db *, const char *user_id);
int  db_tenant_begin(struct db *, const char *company_id, struct db_stmt *check,
     const char *const *check_params, PGresult **check_res);
/*
 * A whole read-only tenant transaction in one round trip: BEGIN, the
 * tenant context, 'check' with 'check_params', 'read' with 'read_params',
 * COMMIT. Returns 0 with both results (caller PQclear()s), or -1 with no
 * transaction left open. Refuses a malformed company id like
 * db_tenant_begin().
 */
int db_tenant_read(struct db *, const char *company_id, struct db_stmt *check,
    const char *const *check_params, PGresult **check_res, struct db_stmt *read,
    const char *const *read_params, PGresult **read_res);

/*
 * Runs 'st' and COMMIT in one round trip, as the last statement of a
 * transaction. Returns the result of 'st' (caller PQclear()s) once both
 * succeeded; NULL otherwise, with the transaction left for db_rollback().
 */
PGresult *db_exec_commit(
    struct db *, struct db_stmt *st, const char *const *params);
/* One statement of a batch; 'out' (may be NULL) receives its result. */
struct db_call {
	struct db_stmt	  *st;
	const char *const *params;
	PGresult	 **out;
};
#define DB_BATCH_MAX 8
/*
 * Runs the 'n' calls (at most DB_BATCH_MAX) in the open transaction in one
 * round trip, then COMMIT when 'commit'. Returns 0 with each 'out' filled
 * (caller PQclear()s); -1 on any failure, with no result kept and the
 * transaction left for db_rollback(). The statements run in order, so a
 * later one sees what an earlier one wrote.
 */
int db_exec_many(struct db *, const struct db_call *calls, int n, int commit);
/*
 * db_exec_many() with COMMIT, then 'after' (no parameters) in the same
 * round trip, in a transaction of its own (a notification that must not
 * hold a lock through the commit). Once the COMMIT succeeded this returns
 * 0 whatever happens to 'after' (a failure is logged): as everywhere, a
 * committed change is never reported as failed.
 */
int db_exec_many_then(
    struct db *, const struct db_call *calls, int n, struct db_stmt *after);
/*
 * A whole tenant transaction in one round trip: BEGIN, the tenant context
 * of 'company_id', the 'n' calls, COMMIT. Returns 0 with results filled,
 * or -1 with nothing kept and no transaction left open.
 */
int db_tenant_batch(
    struct db *, const char *company_id, const struct db_call *calls, int n);
/*
 * Calls 'fn'('arg') once the open transaction commits (not if it rolls
 * back). Up to DB_HOOKS_MAX hooks per transaction, run in the order set; a
 * hook set twice runs once. Returns 0, or -1 when there is no room.
 */
#define DB_HOOKS_MAX 4
int db_on_commit(struct db *, void (*fn)(void *), void *arg);
/*
 * Numbers the transactions begun on this handle: work queued in one (see
 * src/realtime.c) can tell it from a later one after a rollback.
 */
unsigned long db_txn(const struct db *);
/* How many transactions this connection handle has committed so far. */
unsigned long db_commits(const struct db *);
/* Commits; returns 0 or -1 (then rolled back). */
int db_commit(struct db *);
/*
 * A savepoint in the open transaction, and its end: kept ('keep'), or
 * what was done since undone while the transaction goes on. For work that
 * must not take its caller down with it (detection, src/detect.c). Each
 * returns 0 or -1; savepoints nest.
 */
int db_savepoint(struct db *);
int db_savepoint_end(struct db *, int keep);
/* Rolls back if a transaction is open. Always safe to call. */
void db_rollback(struct db *);
/* Returns 1 inside a transaction opened by db_tenant_begin(). */
int db_in_tx(const struct db *);

/* Returns 1 if 's' is a canonical (lowercase or uppercase) UUID string. */
int db_uuid_valid(const char *s);

#endif
