/*
 * worker.c: the accept loop. A worker holds one database connection for
 * its whole life and serves requests strictly one after another.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "conf.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "proc.h"
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

static void
handle(FCGX_Request *fcgi, struct ctx *ctx)
{
	struct request req;
	long	       dur;

	if (http_request_init(&req, fcgi) == 0)
		router_dispatch(&req, ctx);
	if (req.status == 0)
		http_send_problem(&req, 500, "internal_error", "Internal error",
		    NULL, NULL, NULL);
	dur = us_since(&req.start);
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
	/* Connect now so the first request is fast; failure is not fatal. */
	(void)db_ensure(ctx.db);

	if (FCGX_Init() != 0 ||
	    FCGX_InitRequest(&fcgi, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_msg(LOG_ERROR, "fcgi_init_failed");
		db_free(ctx.db);
		return 1;
	}
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
