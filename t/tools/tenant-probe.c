/*
 * tenant-probe: drives src/db.c's tenant transaction helper against a real
 * database for t/30-tenant.t.
 *
 * usage: tenant-probe CONNINFO COMPANY_ID [kill]
 *   Opens a tenant transaction for COMPANY_ID ("-" for none), then prints
 *   the bodies of the rls_probe rows it can see, one per line, then the
 *   companies it can see as "company <id>". Prints "refused" and exits 3
 *   when the helper refuses. Exit 1 on other errors.
 *   With "kill", the transaction's backend is terminated after BEGIN; it
 *   prints "lost" for each statement refused until the rollback, then
 *   "after-rollback N" with the companies visible once reconnected.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "log.h"

static struct db_stmt q_probe = { "probe",
	"SELECT body FROM rls_probe ORDER BY body", 0, 0, 0 };
static struct db_stmt q_companies = { "companies",
	"SELECT id FROM companies ORDER BY id", 0, 0, 0 };
static struct db_stmt q_kill = { "kill",
	"SELECT pg_terminate_backend(pg_backend_pid())", 0, 0, 0 };
static struct db_stmt q_check = { "check",
	"SELECT current_setting('app.company_id', true)", 0, 0, 0 };

int
main(int argc, char *argv[])
{
	struct db  *db;
	PGresult   *res = NULL, *chk = NULL;
	const char *cid;
	int	    i, rc = 1;

	if (argc != 3 && !(argc == 4 && strcmp(argv[3], "kill") == 0)) {
		fprintf(stderr, "usage: tenant-probe CONNINFO COMPANY_ID\n");
		return 2;
	}
	log_init(LOG_WARN, "probe");
	cid = strcmp(argv[2], "-") == 0 ? NULL : argv[2];
	if ((db = db_new(argv[1], 5)) == NULL)
		return 1;
	if (db_tenant_begin(db, cid, &q_check, NULL, &chk) == -1) {
		printf("refused\n");
		rc = 3;
		goto out;
	}
	if (argc == 4) {
		/* Lose the connection mid-transaction: nothing may run. */
		PQclear(db_exec(db, &q_kill, NULL));
		for (i = 0; i < 2; i++)
			if ((res = db_exec(db, &q_probe, NULL)) == NULL)
				printf("lost\n");
		db_rollback(db);
		if ((res = db_exec(db, &q_companies, NULL)) == NULL)
			goto out;
		printf("after-rollback %d\n", PQntuples(res));
		rc = 0;
		goto out;
	}
	/* The check statement ran inside the same transaction. */
	printf("context %s\n", chk != NULL ? PQgetvalue(chk, 0, 0) : "?");
	if ((res = db_exec(db, &q_probe, NULL)) == NULL)
		goto out;
	for (i = 0; i < PQntuples(res); i++)
		printf("%s\n", PQgetvalue(res, i, 0));
	PQclear(res);
	if ((res = db_exec(db, &q_companies, NULL)) == NULL)
		goto out;
	for (i = 0; i < PQntuples(res); i++)
		printf("company %s\n", PQgetvalue(res, i, 0));
	if (db_commit(db) == -1)
		goto out;
	rc = 0;
out:
	PQclear(res);
	PQclear(chk);
	db_rollback(db);
	db_free(db);
	return rc;
}
