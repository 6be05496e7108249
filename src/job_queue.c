/*
 * job_queue.c: the jobs queue (job_queue.h): queuing a job in the
 * caller's transaction, renewing a lease. The jobs process that takes
 * and runs them is jobs.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "db.h"
#include "job_queue.h"

static struct db_stmt q_enqueue = { "job_enqueue",
	"INSERT INTO jobs (kind, company_id, payload) VALUES ($1, $2, $3)", 3,
	0, 0 };
static struct db_stmt q_extend = { "job_extend",
	"UPDATE jobs SET run_at = now() + make_interval(secs => "
	"$3::double precision) WHERE id = $1 AND attempts = $2 AND done_at IS "
	"NULL AND failed_at IS NULL",
	3, 0, 0 };

int
jobs_enqueue(
    struct db *db, const char *kind, const char *company_id, json_t *payload)
{
	char	   *s = json_dumps(payload, JSON_COMPACT);
	const char *p[3] = { kind, company_id, s };
	PGresult   *res;

	if (s == NULL)
		return -1;
	res = db_exec(db, &q_enqueue, p);
	free(s);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

int
jobs_extend(const struct conf *cfg, struct db *db, const struct job *job)
{
	char	    n[16], lease[16];
	const char *p[3] = { job->id, n, lease };
	PGresult   *res;
	int	    rc;

	snprintf(n, sizeof(n), "%d", job->attempt);
	snprintf(lease, sizeof(lease), "%d", cfg->job_lease);
	if ((res = db_exec(db, &q_extend, p)) == NULL)
		return -1;
	rc = strcmp(PQcmdTuples(res), "1") == 0 ? 1 : 0;
	PQclear(res);
	return rc;
}
