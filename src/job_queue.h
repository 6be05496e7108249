/*
 * job_queue.h: background work in PostgreSQL's jobs table. A job is
 * queued in the caller's transaction, so it exists if and only if the
 * caller commits; the jobs processes (jobs.h) take it with FOR UPDATE
 * SKIP LOCKED, which leases it (one autocommitted statement); the
 * handler runs with no transaction open, and its outcome is recorded
 * afterwards, fenced on the try's number. A crash leaves the job to be
 * taken again when the lease ends: handlers must be idempotent (at least
 * once). Failures retry with exponential backoff up to max_attempts.
 */
#ifndef PARLEY_JOB_QUEUE_H
#define PARLEY_JOB_QUEUE_H

#include <jansson.h>

struct conf;
struct db;

/* Outcome of a handler. */
enum job_result { JOB_OK, JOB_RETRY, JOB_FAIL };

/* One try of a job, as its handler sees it (all borrowed). */
struct job {
	const char *id, *kind;
	const char *company_id; /* may be NULL */
	json_t	   *payload;
	int	    attempt; /* this try, from 1 */
	int	    last; /* 1: no retry follows, whatever the outcome */
};

/*
 * Queues job 'kind' with 'payload' (borrowed) for 'company_id' (may be
 * NULL), in the caller's open transaction, so the job exists if and only
 * if the caller commits. Returns 0 or -1.
 */
int jobs_enqueue(
    struct db *db, const char *kind, const char *company_id, json_t *payload);

/*
 * Renews the lease of try 'job' (a long handler calls this as it goes,
 * with no transaction open). Returns 1 if the job is still this try's, 0
 * if a later try took it (stop), -1 on a database error.
 */
int jobs_extend(const struct conf *cfg, struct db *db, const struct job *job);

#endif
