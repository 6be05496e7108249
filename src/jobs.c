/*
 * jobs.c: the queue and its process.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "answer.h"
#include "conf.h"
#include "contact.h"
#include "crypto.h"
#include "db.h"
#include "job_mail.h"
#include "job_queue.h"
#include "jobs.h"
#include "kb_fetch.h"
#include "server_keys.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "proc.h"
#include "export.h"
#include "mail.h"
#include "retention.h"
#include "util.h"
#include "webhooks.h"

static volatile sig_atomic_t jobs_stop;

/* Housekeeping of the global tables, at most once a minute. */
static struct db_stmt q_rate_purge = { "rate_purge",
	"DELETE FROM rate_events WHERE at < now() - interval '1 day'", 0, 0,
	0 };
static struct db_stmt q_counters_purge = { "counters_purge",
	"DELETE FROM rate_counters WHERE window_start < now() - interval '1 "
	"day'",
	0, 0, 0 };
static struct db_stmt q_keys_purge = { "answer_purge",
	"SELECT parley_answer_purge($1::integer, 86400)", 1, 0, 0 };
static struct db_stmt q_signups_purge = { "signups_purge",
	"DELETE FROM signups WHERE expires_at < now()", 0, 0, 0 };
static struct db_stmt q_oidc_purge = { "oidc_flows_purge",
	"DELETE FROM oidc_flows WHERE expires_at < now() - interval '1 hour'",
	0, 0, 0 };
/* Detection's memory: idle baselines, failed-login sources past a day. */
static struct db_stmt q_detect_purge = { "detect_purge",
	"SELECT parley_detect_purge()", 0, 0, 0 };
static struct db_stmt q_stuffing_purge = { "stuffing_purge",
	"DELETE FROM login_failure_sources WHERE at < now() - interval '1 "
	"day'",
	0, 0, 0 };
static struct db_stmt q_jobs_purge = { "jobs_purge",
	"DELETE FROM jobs WHERE done_at < now() - interval '7 days' OR "
	"failed_at < now() - interval '30 days'",
	0, 0, 0 };
/* One jobs process sweeps at a time (a session advisory lock). */
static struct db_stmt q_sweep_lock = { "retention_lock",
	"SELECT pg_try_advisory_lock(72657465)", 0, 0, 0 };
static struct db_stmt q_sweep_unlock = { "retention_unlock",
	"SELECT pg_advisory_unlock(72657465)", 0, 0, 0 };
/*
 * Taking a job leases it: the try is counted and the job is not due again
 * until the lease ends, in one autocommitted statement. The handler then
 * runs with no transaction open (it may take seconds: a webhook, SMTP);
 * if the process dies, the job runs again when the lease ends. Finishing
 * is fenced on the try's number, so a try whose lease ran out and was
 * taken again cannot overwrite the later one's outcome.
 */
static struct db_stmt q_take = { "job_take",
	"UPDATE jobs SET attempts = attempts + 1, run_at = now() + "
	"make_interval(secs => $1::double precision) WHERE id = (SELECT id "
	"FROM jobs WHERE done_at IS NULL AND failed_at IS NULL AND run_at <= "
	"now() AND ($2::boolean OR kind NOT IN ('export', 'kb_source')) ORDER "
	"BY run_at, id "
	"LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, kind, company_id, "
	"payload::text, attempts, max_attempts",
	2, 0, 0 };
/* Done: the payload (which may hold an encrypted secret) is erased. */
static struct db_stmt q_done = { "job_done",
	"UPDATE jobs SET done_at = now(), payload = '{}', last_error = NULL "
	"WHERE id = $1 AND attempts = $2",
	2, 0, 0 };
static struct db_stmt q_retry = { "job_retry",
	"UPDATE jobs SET last_error = $3, run_at = now() + make_interval(secs "
	"=> $4::double precision) WHERE id = $1 AND attempts = $2",
	4, 0, 0 };
static struct db_stmt q_fail = { "job_fail",
	"UPDATE jobs SET last_error = $3, failed_at = now(), payload = '{}' "
	"WHERE id = $1 AND attempts = $2",
	3, 0, 0 };

/*
 * Each kind's handler, and what to do when a job of the kind is given up
 * without its handler having said so (it kept dying, or could not record
 * its last outcome); NULL: nothing.
 */
static const struct {
	const char *kind;
	enum job_result (*fn)(const struct conf *, struct db *,
	    const struct job *, const char **);
	void (*give_up)(const struct conf *, struct db *, const struct job *);
} handlers[] = {
	{ "email", job_mail, NULL },
	{ "webhook", webhook_deliver, webhook_give_up },
	{ "export", export_run, NULL },
	{ "visitor_mail", job_visitor_mail, NULL },
	{ "kb_source", kb_fetch_run, kb_fetch_give_up },
};

/* Records the outcome 'out' of try 'job'; returns 0 or -1. */
static int
job_finish(const struct conf *cfg, struct db *db, const struct job *job,
    enum job_result out, const char *err)
{
	char	    n[16], delay[32];
	const char *p[4] = { job->id, n, err, delay };
	double	    d = (double)cfg->job_retry_base;
	PGresult   *res;
	int	    i;

	snprintf(n, sizeof(n), "%d", job->attempt);
	for (i = 1; i < job->attempt && d < cfg->job_retry_max; i++)
		d *= 2;
	if (d > cfg->job_retry_max)
		d = cfg->job_retry_max;
	snprintf(delay, sizeof(delay), "%.0f", d);
	res = db_exec(db,
	    out == JOB_OK	   ? &q_done
		: out == JOB_RETRY ? &q_retry
				   : &q_fail,
	    p);
	if (res == NULL)
		return -1;
	PQclear(res);
	{
		char label[64];

		snprintf(label, sizeof(label), "%s,%s", job->kind,
		    out == JOB_OK	   ? "done"
			: out == JOB_RETRY ? "retry"
					   : "failed");
		metrics_count(MET_JOBS, label, 1);
	}
	log_event(out == JOB_OK ? LOG_INFO : LOG_WARN, "job",
	    LOG_S("code", job->kind), LOG_I("attempt", job->attempt),
	    LOG_S("status",
		out == JOB_OK	       ? "done"
		    : out == JOB_RETRY ? "retry"
				       : "failed"),
	    LOG_S("reason", out == JOB_OK ? NULL : err));
	return 0;
}

int
jobs_run_one(const struct conf *cfg, struct db *db, int long_ones)
{
	PGresult       *res;
	struct job	job;
	enum job_result out = JOB_FAIL;
	const char     *err = "unknown_kind";
	char		lease[16];
	const char     *p[2] = { lease, NULL };
	size_t		i;
	int		max, rc, known;

	snprintf(lease, sizeof(lease), "%d", cfg->job_lease);
	p[1] = long_ones ? "true" : "false";
	if ((res = db_exec(db, &q_take, p)) == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 0;
	}
	memset(&job, 0, sizeof(job));
	job.id = PQgetvalue(res, 0, 0);
	job.kind = PQgetvalue(res, 0, 1);
	job.company_id = PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2);
	job.payload = json_loads(PQgetvalue(res, 0, 3), 0, NULL);
	job.attempt = (int)strtol(PQgetvalue(res, 0, 4), NULL, 10);
	max = (int)strtol(PQgetvalue(res, 0, 5), NULL, 10);
	job.last = job.attempt >= max;
	for (i = 0; i < nitems(handlers); i++)
		if (strcmp(handlers[i].kind, job.kind) == 0)
			break;
	known = i < nitems(handlers);
	if (known && job.attempt > max)
		err = "lease_expired"; /* the last try's process died */
	else if (known && job.payload == NULL)
		err = "bad_payload";
	else if (known)
		out = handlers[i].fn(cfg, db, &job, &err);
	/* A handler may have left a transaction open by mistake. */
	db_rollback(db);
	if (out == JOB_RETRY && job.last)
		out = JOB_FAIL;
	/* Given up here rather than by the handler: let its kind know. */
	if (out == JOB_FAIL && known && handlers[i].give_up != NULL &&
	    (job.attempt > max ||
		(err != NULL && strcmp(err, "database") == 0))) {
		handlers[i].give_up(cfg, db, &job);
		db_rollback(db);
	}
	rc = job_finish(cfg, db, &job, out, err) == 0 ? 1 : -1;
	json_decref(job.payload);
	PQclear(res);
	return rc;
}

/*
 * A slice of the retention sweep (at most 20 s, so jobs keep flowing),
 * if no other jobs process is sweeping. Returns the time the sweep
 * finished, or 'last' while it has more to do.
 */
static time_t
sweep(const struct conf *cfg, struct db *db, time_t last)
{
	struct retention_counts c;
	PGresult	       *res;
	int			got, rc;

	if ((res = db_exec(db, &q_sweep_lock, NULL)) == NULL)
		return last;
	got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!got)
		return time(NULL); /* another process is on it */
	memset(&c, 0, sizeof(c));
	rc = retention_run(cfg, db, 0, time(NULL) + 20, &c);
	PQclear(db_exec(db, &q_sweep_unlock, NULL));
	log_event(rc == -1 ? LOG_WARN : LOG_INFO, "retention_sweep",
	    LOG_S("status",
		rc == 0	      ? "done"
		    : rc == 1 ? "more"
			      : "failed"),
	    LOG_I("conversations_deleted", c.conversations_deleted),
	    LOG_I("messages_deleted", c.messages_deleted),
	    LOG_I("visitors_deleted", c.visitors_deleted),
	    LOG_I("conversations_anonymised", c.conversations_anonymised),
	    LOG_I("visitors_anonymised", c.visitors_anonymised),
	    LOG_I("deliveries_deleted", c.deliveries_deleted));
	metrics_count(MET_RETENTION, "conversations_deleted",
	    (uint64_t)c.conversations_deleted);
	metrics_count(
	    MET_RETENTION, "messages_deleted", (uint64_t)c.messages_deleted);
	metrics_count(
	    MET_RETENTION, "visitors_deleted", (uint64_t)c.visitors_deleted);
	metrics_count(MET_RETENTION, "conversations_anonymised",
	    (uint64_t)c.conversations_anonymised);
	metrics_count(MET_RETENTION, "visitors_anonymised",
	    (uint64_t)c.visitors_anonymised);
	metrics_count(MET_RETENTION, "deliveries_deleted",
	    (uint64_t)c.deliveries_deleted);
	if (rc == 0)
		metrics_sweep_done();
	return rc == 1 ? last : time(NULL); /* failed: after the interval */
}

static void
on_term(int sig)
{
	jobs_stop = 1;
}

int
jobs_run(const struct conf *cfg, int no)
{
	struct db      *db;
	struct timespec ts;
	time_t		last_purge = 0, last_sweep = 0, last_answer_sweep = 0;
	time_t		last_notify = 0;
	int		r;

	/* No SA_RESTART: SIGTERM must interrupt a blocking call. */
	child_signals(on_term);
	if ((db = db_new(cfg->database_url, cfg->db_connect_timeout)) == NULL)
		return 1;
	log_event(LOG_INFO, "jobs_started", LOG_I("worker", no));
	while (!jobs_stop) {
		if (time(NULL) - last_purge >= 60) {
			/* Rate windows are at most a day; done jobs are kept
			 * a week for inspection. */
			PQclear(db_exec(db, &q_rate_purge, NULL));
			PQclear(db_exec(db, &q_counters_purge, NULL));
			PQclear(db_exec(db, &q_jobs_purge, NULL));
			PQclear(db_exec(db, &q_signups_purge, NULL));
			PQclear(db_exec(db, &q_oidc_purge, NULL));
			PQclear(db_exec(db, &q_detect_purge, NULL));
			PQclear(db_exec(db, &q_stuffing_purge, NULL));
			{
				char	    ttl[12];
				const char *p[1] = { ttl };

				snprintf(ttl, sizeof(ttl), "%d",
				    cfg->idempotency_ttl);
				PQclear(db_exec(db, &q_keys_purge, p));
			}
			last_purge = time(NULL);
		}
		/* Agents' digests, lapsed presence, visitors' reply mails. */
		if (no == 0 &&
		    time(NULL) - last_notify >= cfg->notify_sweep_interval) {
			(void)notify_sweep(cfg, db);
			(void)presence_sweep(cfg, db);
			(void)contact_sweep(cfg, db);
			(void)kb_resync_sweep(cfg, db);
			last_notify = time(NULL);
		}
		/* Every visitor message ends in a reply or a handoff. */
		if (no == 0 &&
		    time(NULL) - last_answer_sweep >=
			cfg->answer_sweep_interval) {
			(void)answer_sweep(cfg, db);
			last_answer_sweep = time(NULL);
		}
		if (cfg->retention_interval > 0 &&
		    time(NULL) - last_sweep >= cfg->retention_interval)
			last_sweep = sweep(cfg, db, last_sweep);
		/* With two jobs processes or more, the first takes no long
		 * jobs (exports): e-mail and webhooks never wait behind one. */
		r = jobs_run_one(cfg, db, no != 0 || cfg->jobs_workers < 2);
		if (r == 1)
			continue;
		/* Nothing due, or the database is away: wait, then look again. */
		ts.tv_sec = cfg->jobs_poll_ms / 1000;
		ts.tv_nsec = (long)(cfg->jobs_poll_ms % 1000) * 1000000L;
		nanosleep(&ts, NULL);
	}
	db_free(db);
	log_event(LOG_INFO, "jobs_stopped", LOG_I("worker", no));
	return 0;
}
