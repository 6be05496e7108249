/*
 * jobs.h: the jobs process parleyd runs beside its workers: it takes due
 * jobs from the queue (job_queue.h) and runs each kind's handler (mail,
 * webhook deliveries, exports), and sweeps (retention, housekeeping).
 */
#ifndef PARLEY_JOBS_H
#define PARLEY_JOBS_H

struct conf;
struct db;

/* The jobs process: runs until SIGTERM. Returns the exit status. */
int jobs_run(const struct conf *cfg, int no);

/*
 * Takes and runs at most one due job (with 'long_ones' 0, not an export).
 * Returns 1 if one ran, 0 if none was due, -1 on a database error.
 */
int jobs_run_one(const struct conf *cfg, struct db *db, int long_ones);

#endif
