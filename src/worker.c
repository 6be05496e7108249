/*
 * worker.c: the accept loop. A worker holds one database connection for
 * its whole life and serves requests strictly one after another.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "conf.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "metrics_expo.h"
#include "proc.h"
#include "route.h"
#include "router.h"
#include "worker.h"

static volatile sig_atomic_t stop_requested;

static void
on_term(int sig)
{
	stop_requested = 1;
}

static long
us_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)((now.tv_sec - t0->tv_sec) * 1000000L +
	    (now.tv_nsec - t0->tv_nsec) / 1000);
}

/*
 * Microseconds from when nginx read the request (PARLEY_REQUEST_START,
 * nginx's $msec) to 'now', or -1 when unknown.
 */
static long
queue_wait(const struct request *req, const struct timespec *now)
{
	const char *v = http_param(req, "PARLEY_REQUEST_START");
	char	   *end;
	double	    t, d;

	if (v == NULL || (t = strtod(v, &end)) <= 0 || *end != '\0')
		return -1;
	d = (double)now->tv_sec + now->tv_nsec / 1e9 - t;
	/* Past 10 minutes nginx gave up long ago (fastcgi_read_timeout);
	 * the bound also keeps the microseconds within a 32-bit long. */
	return d < 0 ? 0 : d > 600 ? -1 : (long)(d * 1e6);
}

static void
handle(FCGX_Request *fcgi, struct ctx *ctx)
{
	struct request	req;
	struct timespec began;
	long		dur, waited = -1;
	int		internal = 0;
	static int	told; /* queue_wait_unknown logged */

	clock_gettime(CLOCK_REALTIME, &began);
	metrics_worker_busy(1);
	memset(&ctx->who, 0, sizeof(ctx->who)); /* AUTH_PUBLIC */
	if (http_request_init(&req, fcgi) == 0) {
		if ((internal = metrics_listener(&req)))
			metrics_answer(&req, ctx);
		else {
			req.queued_us = waited = queue_wait(&req, &began);
			/* An nginx configuration of one's own without it: no
			 * queue wait measured, nothing shed. Said once. */
			if (waited < 0 && !told++)
				log_event(LOG_WARN, "queue_wait_unknown",
				    LOG_S("reason",
					"no usable PARLEY_REQUEST_START from "
					"nginx"));
			router_dispatch(&req, ctx);
		}
	}
	if (req.status == 0)
		http_send_problem(&req, 500, "internal_error", "Internal error",
		    NULL, NULL, NULL);
	dur = us_since(&req.start);
	if (!internal)
		metrics_request(req.route_def != NULL
			? (size_t)(req.route_def - routes)
			: nroutes,
		    (int)ctx->who.kind, req.status, dur, waited);
	if (req.status == 429)
		metrics_count(MET_RATE_LIMITED,
		    req.route_def != NULL && req.route_def->rl == RL_LLM ? "llm"
			: (req.route_def != NULL &&
			      strncmp(req.route_def->pattern, "/api/v1/auth/",
				  13) == 0)
			? "auth"
			: "api",
		    1);
	metrics_worker_busy(0);
	/* dur_us is the whole request: no worker waits for a provider. */
	log_event(req.status >= 500 ? LOG_WARN : LOG_INFO, "request",
	    LOG_S("method", http_method_name(req.method)),
	    LOG_S("route", req.route), LOG_I("status", req.status),
	    LOG_I("dur_ms", dur / 1000), LOG_I("dur_us", dur));
	http_request_end(&req);
}

int
worker_run(const struct conf *cfg, int listen_fd, int worker_no)
{
	FCGX_Request fcgi;
	struct ctx   ctx;
	sigset_t     stopsigs;
	long	     served = 0;
	int	     rc;

	/* No SA_RESTART: SIGTERM must interrupt a blocking call. */
	child_signals(on_term);
	sigemptyset(&stopsigs);
	sigaddset(&stopsigs, SIGTERM);
	sigaddset(&stopsigs, SIGINT);

	memset(&ctx, 0, sizeof(ctx));
	ctx.conf = cfg;
	if ((ctx.db = db_new(cfg->database_url, cfg->db_connect_timeout)) ==
	    NULL)
		return 1;
	db_set_statement_timeout(ctx.db, cfg->db_statement_timeout * 1000);
	/* Connect now so the first request is fast; failure is not fatal. */
	(void)db_ensure(ctx.db);

	if (FCGX_Init() != 0 ||
	    FCGX_InitRequest(&fcgi, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_msg(LOG_ERROR, "fcgi_init_failed");
		db_free(ctx.db);
		return 1;
	}
	metrics_worker_start();
	log_event(LOG_INFO, "worker_started", LOG_I("worker", worker_no));
	while (!stop_requested) {
		rc = FCGX_Accept_r(&fcgi);
		if (rc < 0) {
			if (rc == -EINTR || stop_requested)
				continue;
			log_event(
			    LOG_ERROR, "accept_failed", LOG_I("code", -rc));
			break;
		}
		/*
		 * A request in hand runs to its end: stop signals wait until
		 * it is answered (the master kills us after shutdown_timeout).
		 */
		sigprocmask(SIG_BLOCK, &stopsigs, NULL);
		handle(&fcgi, &ctx);
		FCGX_Finish_r(&fcgi);
		sigprocmask(SIG_UNBLOCK, &stopsigs, NULL);
		if (cfg->max_requests > 0 && ++served >= cfg->max_requests) {
			log_event(LOG_INFO, "worker_recycled",
			    LOG_I("count", served));
			break;
		}
	}
	FCGX_Free(&fcgi, 0);
	db_free(ctx.db);
	log_event(LOG_INFO, "worker_stopped", LOG_I("worker", worker_no));
	return 0;
}
