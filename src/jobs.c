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

#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "jobs.h"
#include "keys.h"
#include "log.h"
#include "master.h"
#include "mail.h"

static volatile sig_atomic_t jobs_stop;

/* Housekeeping of the global tables, at most once a minute. */
static struct db_stmt q_rate_purge = { "rate_purge",
	"DELETE FROM rate_events WHERE at < now() - interval '1 day'", 0, 0,
	0 };
static struct db_stmt q_counters_purge = { "counters_purge",
	"DELETE FROM rate_counters WHERE window_start < now() - interval '1 "
	"day'",
	0, 0, 0 };
static struct db_stmt q_jobs_purge = { "jobs_purge",
	"DELETE FROM jobs WHERE done_at < now() - interval '7 days' OR "
	"failed_at < now() - interval '30 days'",
	0, 0, 0 };
static struct db_stmt q_enqueue = { "job_enqueue",
	"INSERT INTO jobs (kind, company_id, payload) VALUES ($1, $2, $3)", 3,
	0, 0 };
static struct db_stmt q_take = { "job_take",
	"SELECT id, kind, company_id, payload::text, attempts, max_attempts "
	"FROM jobs WHERE done_at IS NULL AND failed_at IS NULL AND run_at <= "
	"now() ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
	0, 0, 0 };
/* Done: the payload (which may hold an encrypted secret) is erased. */
static struct db_stmt q_done = { "job_done",
	"UPDATE jobs SET done_at = now(), payload = '{}', attempts = attempts "
	"+ 1 WHERE id = $1",
	1, 0, 0 };
static struct db_stmt q_retry = { "job_retry",
	"UPDATE jobs SET attempts = attempts + 1, last_error = $2, run_at = "
	"now() + make_interval(secs => $3::double precision) WHERE id = $1",
	3, 0, 0 };
static struct db_stmt q_fail = { "job_fail",
	"UPDATE jobs SET attempts = attempts + 1, last_error = $2, failed_at "
	"= now(), payload = '{}' WHERE id = $1",
	2, 0, 0 };

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

/* Outcome of a handler. */
enum job_result { JOB_OK, JOB_RETRY, JOB_FAIL };

/* E-mail with a one-time link: password reset or address verification. */
static enum job_result
job_email(const struct conf *cfg, const char *company_id, json_t *payload,
    const char **err)
{
	const char *to = json_string_value(json_object_get(payload, "to"));
	const char *tpl =
	    json_string_value(json_object_get(payload, "template"));
	const char *sealed =
	    json_string_value(json_object_get(payload, "token_enc"));
	const char   *subject, *path, *intro;
	unsigned char tok[64];
	char	      body[2048];
	int	      n, rc;

	if (to == NULL || tpl == NULL || sealed == NULL || company_id == NULL) {
		*err = "bad_payload";
		return JOB_FAIL;
	}
	if (strcmp(tpl, "password_reset") == 0) {
		subject = "Reset your parley password";
		path = "/reset-password#token=";
		intro = "Someone asked to reset the password of this parley "
			"account. If it was you, open this link within 30 "
			"minutes; it works once:";
	} else if (strcmp(tpl, "invitation") == 0) {
		subject = "You are invited to join a team on parley";
		path = "/accept-invitation#token=";
		intro = "You have been invited to join a team on parley. Open "
			"this link within 7 days to choose your name and "
			"password; it works once:";
	} else if (strcmp(tpl, "email_verify") == 0) {
		subject = "Confirm your e-mail address for parley";
		path = "/verify-email#token=";
		intro = "Please confirm that this address belongs to your "
			"parley account by opening this link:";
	} else {
		*err = "bad_template";
		return JOB_FAIL;
	}
	n = keyring_decrypt(
	    keys_ring(), company_id, sealed, tok, sizeof(tok) - 1);
	if (n <= 0) {
		*err = "undecryptable";
		return JOB_FAIL;
	}
	tok[n] = '\0';
	snprintf(body, sizeof(body),
	    "%s\n\n%s%s%s\n\nIf you did not ask for this, ignore this "
	    "message.\n",
	    intro, cfg->public_base_url, path, (const char *)tok);
	crypto_wipe(tok, sizeof(tok));
	rc = mail_send(cfg, to, subject, body);
	crypto_wipe(body, sizeof(body));
	if (rc == 0)
		return JOB_OK;
	*err = rc == -1 ? "mail_rejected" : "mail_unavailable";
	return rc == -1 ? JOB_FAIL : JOB_RETRY;
}

static const struct {
	const char *kind;
	enum job_result (*fn)(
	    const struct conf *, const char *, json_t *, const char **);
} handlers[] = {
	{ "email", job_email },
};

int
jobs_run_one(const struct conf *cfg, struct db *db)
{
	PGresult       *res = NULL, *r2;
	json_t	       *payload = NULL;
	const char     *err = "unknown_kind", *cid;
	enum job_result out = JOB_FAIL;
	char	       *id = NULL, delay[32];
	size_t		i;
	int		attempts, max, ran = -1;

	if (db_begin_global(db) == -1)
		return -1;
	if ((res = db_exec(db, &q_take, NULL)) == NULL)
		goto out;
	if (PQntuples(res) == 0) {
		ran = 0;
		goto out;
	}
	id = PQgetvalue(res, 0, 0);
	cid = PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2);
	attempts = (int)strtol(PQgetvalue(res, 0, 4), NULL, 10);
	max = (int)strtol(PQgetvalue(res, 0, 5), NULL, 10);
	payload = json_loads(PQgetvalue(res, 0, 3), 0, NULL);
	for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (strcmp(handlers[i].kind, PQgetvalue(res, 0, 1)) == 0) {
			out = payload != NULL
			    ? handlers[i].fn(cfg, cid, payload, &err)
			    : JOB_FAIL;
			break;
		}
	if (out == JOB_RETRY && attempts + 1 >= max)
		out = JOB_FAIL;
	if (out == JOB_OK) {
		const char *p[1] = { id };

		r2 = db_exec(db, &q_done, p);
	} else if (out == JOB_RETRY) {
		double	    d = (double)cfg->job_retry_base;
		const char *p[3] = { id, err, delay };

		for (i = 0; i < (size_t)attempts && d < 86400; i++)
			d *= 2;
		snprintf(delay, sizeof(delay), "%.0f", d);
		r2 = db_exec(db, &q_retry, p);
	} else {
		const char *p[2] = { id, err };

		r2 = db_exec(db, &q_fail, p);
	}
	if (r2 == NULL)
		goto out;
	PQclear(r2);
	log_event(out == JOB_OK ? LOG_INFO : LOG_WARN, "job",
	    LOG_S("code", PQgetvalue(res, 0, 1)),
	    LOG_S("status",
		out == JOB_OK	       ? "done"
		    : out == JOB_RETRY ? "retry"
				       : "failed"),
	    LOG_S("reason", out == JOB_OK ? NULL : err));
	if (db_commit(db) == -1)
		goto out;
	ran = 1;
out:
	json_decref(payload);
	PQclear(res);
	db_rollback(db);
	return ran;
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
	time_t		last_purge = 0;
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
			last_purge = time(NULL);
		}
		r = jobs_run_one(cfg, db);
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
