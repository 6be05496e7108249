/*
 * metrics.h: counters and histograms shared by every process of one
 * parleyd (issue 20, item 3). The master maps one anonymous shared
 * region before it forks anything; workers, jobs processes and answerers
 * inherit it and add to it with atomic operations. So a counter is the
 * host's total across all workers, and it outlives worker recycling and
 * reloads (SIGHUP forks a new generation from the same master); only a
 * restart of the master starts from zero, which Prometheus's rate()
 * treats as a counter reset. Without metrics_init() (parleyctl, unit
 * tests) every call here does nothing.
 *
 * Labelled counters are found by (family, label) in a table of fixed
 * size; a label never seen before claims a free slot by compare-and-swap.
 * Nothing takes a lock, so a process killed at any point (a retiring
 * worker past shutdown_timeout, the OOM killer) blocks no other. Labels are
 * route templates, kinds and codes from parley's own tables: never an
 * id, an address or anything a client sent.
 */
#ifndef PARLEY_METRICS_H
#define PARLEY_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Labelled counter families; names and help in metrics.c. */
enum met_family {
	MET_EVENTS, /* security events, by kind */
	MET_ALERTS, /* alerts opened, by rule */
	MET_JOBS, /* jobs finished, by "kind,outcome" */
	MET_WEBHOOKS, /* webhook delivery attempts, by outcome */
	MET_LLM_CALLS, /* provider calls, by outcome */
	MET_LLM_ERRORS, /* provider errors, by code */
	MET_LLM_TOKENS, /* tokens, by "prompt" or "completion" */
	MET_RATE_LIMITED, /* 429s, by class */
	MET_RETENTION, /* rows the retention sweep changed, by action */
	MET_DB, /* "round_trips", "errors", "reconnects" */
	MET_DETECT_FAILED, /* detection that failed (and was undone), by kind */
	MET_SHED, /* requests shed (503 overloaded), by class */
	MET__MAX
};

/* Fixed histograms (seconds). */
enum met_hist {
	MH_QUEUE_WAIT, /* nginx accepted -> a worker began */
	MH_LLM, /* one provider call, start to last byte */
	MH__MAX
};

#define MET_BUCKETS 12 /* upper bounds in metrics.c, the last +Inf */

struct met_histogram {
	uint64_t bucket[MET_BUCKETS]; /* not cumulative: one per bound */
	uint64_t sum_us;
	uint64_t count;
};

/* Maps the shared region for 'nroutes' routes. 0, or -1 (no metrics). */
int metrics_init(size_t nroutes);

/* Whether metrics_init() succeeded (in this process or its master). */
int metrics_on(void);

/* This process is a request worker: take a slot (pool size, busy). */
void metrics_worker_start(void);
void metrics_worker_busy(int busy);
/* The master reaped 'pid': free its slot. */
void metrics_forget(pid_t pid);
/* How many worker slots are taken, and how many of them busy. */
void metrics_workers(int *alive, int *busy);

/*
 * One answered request: route index 'route' (nroutes for none matched),
 * auth kind 'auth' (0..3), HTTP 'status', 'dur_us' in the worker and
 * 'queue_us' before it (negative: unknown).
 */
void metrics_request(
    size_t route, int auth, int status, long dur_us, long queue_us);

/* Adds 'n' to the counter of 'label' (borrowed; at most 63 bytes). */
void metrics_count(enum met_family f, const char *label, uint64_t n);

/* Observes 'us' microseconds in histogram 'h'. */
void metrics_observe(enum met_hist h, long us);

/* Records when the retention sweep last finished a pass (now). */
void metrics_sweep_done(void);

/* --- reading, for the exposition (src/metrics_expo.c) --- */

struct met_family_def {
	const char *name; /* "parley_security_events_total" */
	const char *labels; /* "kind", or "kind,outcome", or "" */
	const char *help;
};
extern const struct met_family_def met_families[MET__MAX];
extern const double		   met_bounds[MET_BUCKETS];

/* Calls 'fn' for each labelled counter of family 'f'. */
void metrics_each(enum met_family f,
    void (*fn)(void *arg, const char *label, uint64_t value), void *arg);

/* Copies route 'i's counters: 'by' [auth][status class 1..5, 0 other],
 * and its latency histogram. 0, or -1 when none were counted. */
int metrics_route(size_t i, uint64_t by[4][6], struct met_histogram *h);

/* Copies histogram 'h'. */
void metrics_hist(enum met_hist h, struct met_histogram *out);

/* The master's start time and the last sweep's, seconds since the
 * epoch (0: never). */
long long metrics_started(void);
long long metrics_swept(void);

#endif
