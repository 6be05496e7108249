/* metrics.c: see metrics.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"

#define MET_SLOTS 768 /* labelled counters, all families */
#define MET_LABEL 64
#define MET_WORKERS 512 /* request worker processes at once */

const struct met_family_def met_families[MET__MAX] = {
	[MET_EVENTS] = { "parley_security_events_total", "kind",
	    "Security events recorded, by kind." },
	[MET_ALERTS] = { "parley_security_alerts_opened_total", "rule",
	    "Security alerts opened (one per incident), by rule." },
	[MET_JOBS] = { "parley_jobs_total", "kind,outcome",
	    "Background job tries finished, by kind and outcome (done, "
	    "retry, failed)." },
	[MET_WEBHOOKS] = { "parley_webhook_deliveries_total", "outcome",
	    "Webhook delivery attempts, by outcome (delivered, failed)." },
	[MET_LLM_CALLS] = { "parley_llm_calls_total", "outcome",
	    "LLM provider calls, by outcome (ok, error)." },
	[MET_LLM_ERRORS] = { "parley_llm_errors_total", "code",
	    "LLM provider errors, by parley's code for them." },
	[MET_LLM_TOKENS] = { "parley_llm_tokens_total", "type",
	    "Tokens the provider counted, by type (prompt, completion)." },
	[MET_RATE_LIMITED] = { "parley_rate_limited_total", "class",
	    "Requests refused 429 by parleyd's own limits, by class." },
	[MET_RETENTION] = { "parley_retention_rows_total", "action",
	    "Rows the retention sweep deleted or anonymised, by action." },
	[MET_DB] = { "parley_db_total", "what",
	    "Database round trips, errors and reconnects." },
	[MET_SHED] = { "parley_requests_shed_total", "class",
	    "Requests answered 503 overloaded because they waited too long "
	    "for a worker, by class (widget, auth, api)." },
	[MET_DETECT_FAILED] = { "parley_detect_failures_total", "kind",
	    "Detection that failed and was undone (the event it judged was "
	    "kept), by event kind or audit action." },
};

/* Seconds; the last is +Inf. */
const double met_bounds[MET_BUCKETS] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
	0.5, 1, 2.5, 5, 10, 0 };

/* A labelled counter. 'state' goes 0 (free) -> 1 (being written) -> 2
 * (ready) and never back; readers use ready slots only. */
struct slot {
	int	 state;
	int	 family;
	char	 label[MET_LABEL];
	uint64_t value;
};

struct route_stats {
	uint64_t	     by[4][6];
	struct met_histogram h;
};

struct shared {
	long long	     started, swept;
	struct slot	     slots[MET_SLOTS];
	struct met_histogram hist[MH__MAX];
	struct {
		pid_t pid;
		int   busy;
	} workers[MET_WORKERS];
	size_t		   nroutes;
	struct route_stats routes[]; /* nroutes + 1 (none matched) */
};

static struct shared *shm;
static int	      my_slot = -1;

int
metrics_init(size_t nroutes)
{
	size_t len =
	    sizeof(struct shared) + (nroutes + 1) * sizeof(struct route_stats);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	/* Anonymous mappings are zero-filled. */
	shm = p;
	shm->nroutes = nroutes;
	shm->started = (long long)time(NULL);
	return 0;
}

int
metrics_on(void)
{
	return shm != NULL;
}

static uint64_t
load(const uint64_t *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

static void
add(uint64_t *v, uint64_t n)
{
	__atomic_fetch_add(v, n, __ATOMIC_RELAXED);
}

void
metrics_worker_start(void)
{
	pid_t me = getpid();
	int   i;

	if (shm == NULL)
		return;
	for (i = 0; i < MET_WORKERS; i++) {
		pid_t free_pid = 0;

		if (__atomic_compare_exchange_n(&shm->workers[i].pid, &free_pid,
			me, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			__atomic_store_n(
			    &shm->workers[i].busy, 0, __ATOMIC_RELAXED);
			my_slot = i;
			return;
		}
	}
}

void
metrics_worker_busy(int busy)
{
	if (shm != NULL && my_slot >= 0)
		__atomic_store_n(
		    &shm->workers[my_slot].busy, busy, __ATOMIC_RELAXED);
}

void
metrics_forget(pid_t pid)
{
	int i;

	if (shm == NULL || pid <= 0)
		return;
	for (i = 0; i < MET_WORKERS; i++)
		if (__atomic_load_n(&shm->workers[i].pid, __ATOMIC_ACQUIRE) ==
		    pid) {
			__atomic_store_n(
			    &shm->workers[i].busy, 0, __ATOMIC_RELAXED);
			__atomic_store_n(
			    &shm->workers[i].pid, 0, __ATOMIC_RELEASE);
		}
}

void
metrics_workers(int *alive, int *busy)
{
	int i;

	*alive = *busy = 0;
	for (i = 0; shm != NULL && i < MET_WORKERS; i++)
		if (__atomic_load_n(&shm->workers[i].pid, __ATOMIC_ACQUIRE) !=
		    0) {
			(*alive)++;
			*busy += __atomic_load_n(&shm->workers[i].busy,
				     __ATOMIC_RELAXED) != 0;
		}
}

static void
observe(struct met_histogram *h, long us)
{
	double s = us / 1e6;
	int    i;

	if (us < 0)
		return;
	for (i = 0; i < MET_BUCKETS - 1 && s > met_bounds[i]; i++)
		;
	add(&h->bucket[i], 1);
	add(&h->sum_us, (uint64_t)us);
	add(&h->count, 1);
}

void
metrics_request(size_t route, int auth, int status, long dur_us, long queue_us)
{
	struct route_stats *r;
	int		    cls = status / 100;

	if (shm == NULL)
		return;
	if (route > shm->nroutes)
		route = shm->nroutes;
	if (auth < 0 || auth > 3)
		auth = 0;
	if (cls < 1 || cls > 5)
		cls = 0;
	r = &shm->routes[route];
	add(&r->by[auth][cls], 1);
	observe(&r->h, dur_us);
	if (queue_us >= 0)
		observe(&shm->hist[MH_QUEUE_WAIT], queue_us);
}

static int
is(const struct slot *sl, int f, const char *label)
{
	return sl->family == f && strcmp(sl->label, label) == 0;
}

/*
 * Lock-free: a process killed anywhere here holds nothing. A label is
 * found among the ready slots or takes the first free one; two processes
 * adding a new label at once may each take one, and metrics_each() sums
 * such twins.
 */
void
metrics_count(enum met_family f, const char *label, uint64_t n)
{
	struct slot *sl;
	int	     i, st, free_state;

	if (shm == NULL || label == NULL || strlen(label) >= MET_LABEL ||
	    f >= MET__MAX)
		return;
	for (i = 0; i < MET_SLOTS; i++) {
		sl = &shm->slots[i];
		st = __atomic_load_n(&sl->state, __ATOMIC_ACQUIRE);
		if (st == 1)
			continue; /* being written, or its writer died */
		if (st == 2) {
			if (is(sl, (int)f, label)) {
				add(&sl->value, n);
				return;
			}
			continue;
		}
		free_state = 0;
		if (!__atomic_compare_exchange_n(&sl->state, &free_state, 1, 0,
			__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			i--; /* taken meanwhile: look at it again */
			continue;
		}
		sl->family = (int)f;
		snprintf(sl->label, MET_LABEL, "%s", label);
		add(&sl->value, n);
		__atomic_store_n(&sl->state, 2, __ATOMIC_RELEASE);
		return;
	}
	/* Full: dropped (768 labels; parley has about a hundred). */
}

void
metrics_observe(enum met_hist h, long us)
{
	if (shm != NULL && h < MH__MAX)
		observe(&shm->hist[h], us);
}

void
metrics_sweep_done(void)
{
	if (shm != NULL)
		__atomic_store_n(
		    &shm->swept, (long long)time(NULL), __ATOMIC_RELAXED);
}

void
metrics_each(enum met_family f,
    void (*fn)(void *arg, const char *label, uint64_t value), void *arg)
{
	const struct slot *a, *b;
	uint64_t	   sum;
	int		   i, j, twin;

	if (shm == NULL)
		return;
	for (i = 0; i < MET_SLOTS; i++) {
		a = &shm->slots[i];
		if (__atomic_load_n(&a->state, __ATOMIC_ACQUIRE) != 2 ||
		    a->family != (int)f)
			continue;
		/* Its twins: summed once, at the first of them. */
		for (j = 0, twin = 0; j < i && !twin; j++) {
			b = &shm->slots[j];
			twin =
			    __atomic_load_n(&b->state, __ATOMIC_ACQUIRE) == 2 &&
			    is(b, a->family, a->label);
		}
		if (twin)
			continue;
		for (j = i, sum = 0; j < MET_SLOTS; j++) {
			b = &shm->slots[j];
			if (__atomic_load_n(&b->state, __ATOMIC_ACQUIRE) == 2 &&
			    is(b, a->family, a->label))
				sum += load(&b->value);
		}
		fn(arg, a->label, sum);
	}
}

static void
copy_hist(const struct met_histogram *from, struct met_histogram *to)
{
	int i;

	for (i = 0; i < MET_BUCKETS; i++)
		to->bucket[i] = load(&from->bucket[i]);
	to->sum_us = load(&from->sum_us);
	to->count = load(&from->count);
}

int
metrics_route(size_t i, uint64_t by[4][6], struct met_histogram *h)
{
	const struct route_stats *r;
	uint64_t		  sum = 0;
	int			  a, c;

	if (shm == NULL || i > shm->nroutes)
		return -1;
	r = &shm->routes[i];
	for (a = 0; a < 4; a++)
		for (c = 0; c < 6; c++)
			sum += (by[a][c] = load(&r->by[a][c]));
	if (sum == 0)
		return -1;
	copy_hist(&r->h, h);
	return 0;
}

void
metrics_hist(enum met_hist h, struct met_histogram *out)
{
	memset(out, 0, sizeof(*out));
	if (shm != NULL && h < MH__MAX)
		copy_hist(&shm->hist[h], out);
}

long long
metrics_started(void)
{
	return shm != NULL ? shm->started : 0;
}

long long
metrics_swept(void)
{
	return shm != NULL ? __atomic_load_n(&shm->swept, __ATOMIC_RELAXED) : 0;
}
