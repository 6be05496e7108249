/*
 * metrics_expo.c: the Prometheus text exposition (format 0.0.4) of this
 * host's metrics, answered only to nginx's metrics listener (see
 * metrics_expo.h). Counters come from the shared region (src/metrics.c);
 * gauges that live in PostgreSQL (the jobs queue, open alerts, disabled
 * endpoints, the last backup) are read at scrape time, as are nginx's
 * stub_status and nchan's nchan_stub_status, fetched over the publisher's
 * unix socket.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "conf.h"
#include "ctx.h"
#include "db.h"
#include "http.h"
#include "metrics.h"
#include "metrics_expo.h"
#include "route.h"
#include "row.h"
#include "util.h"

#define STATUS_MAX 4096 /* bytes of one nginx status page read */

static const char *const auth_names[4] = { "public", "user", "api_key",
	"visitor" };
static const char *const class_names[6] = { "other", "1xx", "2xx", "3xx", "4xx",
	"5xx" };

/* Writes 'v' as a label value (escaping \, " and newline). */
static void
label_value(FILE *f, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*v, f);
	}
}

static void
head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The histogram 'h' as series of 'name', with 'labels' ("" or a="b",). */
static void
histogram(FILE *f, const char *name, const char *labels,
    const struct met_histogram *h)
{
	uint64_t cum = 0;
	int	 i;

	for (i = 0; i < MET_BUCKETS; i++) {
		cum += h->bucket[i];
		if (i == MET_BUCKETS - 1)
			fprintf(f, "%s_bucket{%sle=\"+Inf\"} %llu\n", name,
			    labels, (unsigned long long)cum);
		else
			fprintf(f, "%s_bucket{%sle=\"%g\"} %llu\n", name,
			    labels, met_bounds[i], (unsigned long long)cum);
	}
	/* _count is the +Inf bucket's own sum, so the two always agree
	 * within a scrape (the counters are read one by one). */
	if (labels[0] == '\0') {
		fprintf(f, "%s_sum %.6f\n%s_count %llu\n", name,
		    h->sum_us / 1e6, name, (unsigned long long)cum);
		return;
	}
	/* The labels without their trailing comma. */
	fprintf(f, "%s_sum{%.*s} %.6f\n", name, (int)strlen(labels) - 1, labels,
	    h->sum_us / 1e6);
	fprintf(f, "%s_count{%.*s} %llu\n", name, (int)strlen(labels) - 1,
	    labels, (unsigned long long)cum);
}

static void
requests(FILE *f)
{
	uint64_t	     by[4][6];
	struct met_histogram h;
	char		     labels[400];
	size_t		     i;
	int		     a, c;

	head(f, "parley_http_requests_total", "counter",
	    "Requests answered by parleyd, by method, route template, status "
	    "class and auth kind.");
	for (i = 0; i <= nroutes; i++) {
		if (metrics_route(i, by, &h) == -1)
			continue;
		for (a = 0; a < 4; a++)
			for (c = 0; c < 6; c++) {
				if (by[a][c] == 0)
					continue;
				fprintf(f,
				    "parley_http_requests_total{method=\"%s\","
				    "route=\"",
				    i < nroutes
					? http_method_name(routes[i].method)
					: "any");
				label_value(f,
				    i < nroutes ? routes[i].pattern
						: "unmatched");
				fprintf(f,
				    "\",status=\"%s\",auth=\"%s\"} %llu\n",
				    class_names[c], auth_names[a],
				    (unsigned long long)by[a][c]);
			}
	}
	head(f, "parley_http_request_duration_seconds", "histogram",
	    "Time a worker spent on a request, by method and route template.");
	for (i = 0; i <= nroutes; i++) {
		if (metrics_route(i, by, &h) == -1)
			continue;
		snprintf(labels, sizeof(labels), "method=\"%s\",route=\"%s\",",
		    i < nroutes ? http_method_name(routes[i].method) : "any",
		    i < nroutes ? routes[i].pattern : "unmatched");
		histogram(
		    f, "parley_http_request_duration_seconds", labels, &h);
	}
}

struct fam_arg {
	FILE			    *f;
	const struct met_family_def *d;
};

static void
one_counter(void *arg, const char *label, uint64_t v)
{
	struct fam_arg *a = arg;
	const char     *names = a->d->labels, *lv = label;
	int		first = 1;

	fprintf(a->f, "%s{", a->d->name);
	/* Label names and values, both comma-separated, in order. */
	while (*names != '\0') {
		size_t nn = strcspn(names, ","), vn = strcspn(lv, ",");

		fprintf(a->f, "%s%.*s=\"", first ? "" : ",", (int)nn, names);
		{
			char v1[64];

			snprintf(v1, sizeof(v1), "%.*s", (int)vn, lv);
			label_value(a->f, v1);
		}
		fputc('"', a->f);
		first = 0;
		names += nn + (names[nn] == ',');
		lv += vn + (lv[vn] == ',');
	}
	fprintf(a->f, "} %llu\n", (unsigned long long)v);
}

static void
counters(FILE *f)
{
	struct fam_arg a = { f, NULL };
	int	       i;

	for (i = 0; i < MET__MAX; i++) {
		a.d = &met_families[i];
		head(f, a.d->name, "counter", a.d->help);
		metrics_each((enum met_family)i, one_counter, &a);
	}
}

static void
processes(FILE *f, const struct conf *cfg)
{
	struct met_histogram h;
	int		     alive, busy;

	metrics_workers(&alive, &busy);
	head(f, "parley_workers", "gauge",
	    "Request worker processes, by state (busy: serving a request).");
	fprintf(f, "parley_workers{state=\"busy\"} %d\n", busy);
	fprintf(f, "parley_workers{state=\"idle\"} %d\n", alive - busy);
	head(f, "parley_workers_configured", "gauge",
	    "Processes parleyd is configured to keep, by role.");
	fprintf(
	    f, "parley_workers_configured{role=\"worker\"} %d\n", cfg->workers);
	fprintf(f, "parley_workers_configured{role=\"jobs\"} %d\n",
	    cfg->jobs_workers);
	fprintf(f, "parley_workers_configured{role=\"answerer\"} %d\n",
	    cfg->answer_workers);
	metrics_hist(MH_QUEUE_WAIT, &h);
	head(f, "parley_worker_queue_wait_seconds", "histogram",
	    "Time from nginx accepting a request to a worker starting it.");
	histogram(f, "parley_worker_queue_wait_seconds", "", &h);
	metrics_hist(MH_LLM, &h);
	head(f, "parley_llm_call_duration_seconds", "histogram",
	    "LLM provider calls, from the request to the last byte.");
	histogram(f, "parley_llm_call_duration_seconds", "", &h);
	head(f, "parley_start_time_seconds", "gauge",
	    "When this parleyd's master started, seconds since the epoch.");
	fprintf(f, "parley_start_time_seconds %lld\n", metrics_started());
	head(f, "parley_retention_last_sweep_seconds", "gauge",
	    "When a retention sweep last finished a pass here (0: never).");
	fprintf(
	    f, "parley_retention_last_sweep_seconds %lld\n", metrics_swept());
}

static struct db_stmt q_jobs = { "metrics_jobs",
	"SELECT kind, count(*) AS queued, count(*) FILTER (WHERE run_at <= "
	"now()) AS due, coalesce(extract(epoch FROM now() - min(run_at) "
	"FILTER (WHERE run_at <= now())), 0)::float8 AS oldest FROM jobs "
	"WHERE done_at IS NULL AND failed_at IS NULL GROUP BY kind UNION ALL "
	"SELECT 'reply', count(*), count(*) FILTER (WHERE state = 'queued'), "
	"coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE "
	"state = 'queued')), 0)::float8 FROM reply_jobs ORDER BY 1",
	0, DB_RETRY_SAFE, 0 };
static struct db_stmt q_tenant = { "metrics_tenant",
	"SELECT metric, rule, severity, value FROM parley_lookup_metrics() "
	"ORDER BY 1, 2, 3",
	0, DB_RETRY_SAFE, 0 };
static struct db_stmt q_marks = { "metrics_marks",
	"SELECT name, extract(epoch FROM at)::bigint AS at FROM ops_marks "
	"ORDER BY name",
	0, DB_RETRY_SAFE, 0 };

/* The jobs queue's gauges: metric, q_jobs column, help. */
static const struct {
	const char *name, *col, *help;
} job_gauges[] = {
	{ "parley_jobs_queued", "queued",
	    "Jobs not finished, by kind (reply: owed bot replies)." },
	{ "parley_jobs_due", "due", "Jobs due now and not running, by kind." },
	{ "parley_jobs_oldest_due_seconds", "oldest",
	    "How long the oldest due job has waited past its time, by kind." },
};

static void
database(FILE *f, struct db *db)
{
	PGresult *j = NULL, *t = NULL, *m = NULL;
	size_t	  k;
	int	  i, up, webhooks = 0;

	up = (j = db_exec(db, &q_jobs, NULL)) != NULL &&
	    (t = db_exec(db, &q_tenant, NULL)) != NULL &&
	    (m = db_exec(db, &q_marks, NULL)) != NULL;
	head(f, "parley_db_up", "gauge",
	    "1 if this scrape's worker could read PostgreSQL.");
	fprintf(f, "parley_db_up %d\n", up);
	if (!up)
		goto out;
	for (k = 0; k < nitems(job_gauges); k++) {
		head(f, job_gauges[k].name, "gauge", job_gauges[k].help);
		for (i = 0; i < PQntuples(j); i++)
			fprintf(f, "%s{kind=\"%s\"} %s\n", job_gauges[k].name,
			    row_get(j, i, "kind"),
			    row_get(j, i, job_gauges[k].col));
	}
	head(f, "parley_security_alerts_open", "gauge",
	    "Alerts not resolved, all companies, by rule and severity.");
	for (i = 0; i < PQntuples(t); i++) {
		if (strcmp(row_get(t, i, "metric"), "webhooks_disabled") == 0) {
			webhooks = (int)row_int(t, i, "value");
			continue;
		}
		fprintf(f,
		    "parley_security_alerts_open{rule=\"%s\",severity=\"%s\"} "
		    "%s\n",
		    row_get(t, i, "rule"), row_get(t, i, "severity"),
		    row_get(t, i, "value"));
	}
	head(f, "parley_webhook_endpoints_disabled", "gauge",
	    "Webhook endpoints turned off, all companies.");
	fprintf(f, "parley_webhook_endpoints_disabled %d\n", webhooks);
	head(f, "parley_backup_last_success_seconds", "gauge",
	    "When parleyctl backup last wrote a whole backup (absent: never).");
	for (i = 0; i < PQntuples(m); i++)
		if (strcmp(row_get(m, i, "name"), "backup") == 0)
			fprintf(f, "parley_backup_last_success_seconds %s\n",
			    row_get(m, i, "at"));
out:
	PQclear(j);
	PQclear(t);
	PQclear(m);
}

struct grow {
	char   buf[STATUS_MAX];
	size_t len;
};

static size_t
keep(char *p, size_t size, size_t n, void *arg)
{
	struct grow *g = arg;
	size_t	     len = size * n;

	if (g->len + len >= sizeof(g->buf))
		return 0; /* too long: not a status page */
	memcpy(g->buf + g->len, p, len);
	g->len += len;
	g->buf[g->len] = '\0';
	return len;
}

/* GETs 'path' from nginx's publisher socket into 'g'. 0 or -1. */
static int
fetch_status(const struct conf *cfg, const char *path, struct grow *g)
{
	CURL *c;
	char  url[128];
	long  code = 0;
	int   rc = -1;

	g->len = 0;
	g->buf[0] = '\0';
	if (cfg->realtime_socket[0] == '\0' || (c = curl_easy_init()) == NULL)
		return -1;
	snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, cfg->realtime_socket);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, g);
	if (curl_easy_perform(c) == CURLE_OK &&
	    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK &&
	    code == 200)
		rc = 0;
	curl_easy_cleanup(c);
	return rc;
}

/* The number after 'key' in 's', or -1. */
static long long
after(const char *s, const char *key)
{
	const char *p = strstr(s, key);

	if (p == NULL)
		return -1;
	p += strlen(key);
	p += strspn(p, " :");
	return strspn(p, "0123456789") > 0 ? strtoll(p, NULL, 10) : -1;
}

static void
nginx_status(FILE *f, const struct conf *cfg)
{
	struct grow g;
	long long   a, h, r, v;
	const char *p;
	static const struct {
		const char *key, *name, *type, *help;
	} nchan[] = {
		{ "subscribers", "parley_nchan_subscribers", "gauge",
		    "Realtime subscribers nginx holds (nchan)." },
		{ "channels", "parley_nchan_channels", "gauge",
		    "Realtime channels (nchan)." },
		{ "stored messages", "parley_nchan_stored_messages", "gauge",
		    "Realtime messages buffered (nchan)." },
		{ "total published messages",
		    "parley_nchan_published_messages_total", "counter",
		    "Realtime messages published since nginx started "
		    "(nchan)." },
	};
	static const char *const states[][2] = {
		{ "Active connections", "active" }, { "Reading", "reading" },
		{ "Writing", "writing" }, { "Waiting", "waiting" }
	};
	size_t i;

	head(f, "parley_nginx_up", "gauge",
	    "1 if nginx's stub_status answered on the publisher socket.");
	if (fetch_status(cfg, "/_status/nginx", &g) == -1) {
		fprintf(f, "parley_nginx_up 0\n");
	} else {
		fprintf(f, "parley_nginx_up 1\n");
		head(f, "parley_nginx_connections", "gauge",
		    "nginx's client connections, by state (stub_status).");
		for (i = 0; i < nitems(states); i++)
			if ((v = after(g.buf, states[i][0])) >= 0)
				fprintf(f,
				    "parley_nginx_connections{state=\"%s\"} "
				    "%lld\n",
				    states[i][1], v);
		/* "server accepts handled requests\n A H R" */
		if ((p = strstr(g.buf, "requests\n")) != NULL &&
		    sscanf(p + 9, " %lld %lld %lld", &a, &h, &r) == 3) {
			head(f, "parley_nginx_connections_accepted_total",
			    "counter", "Connections nginx accepted.");
			fprintf(f,
			    "parley_nginx_connections_accepted_total "
			    "%lld\n",
			    a);
			head(f, "parley_nginx_connections_handled_total",
			    "counter", "Connections nginx handled.");
			fprintf(f,
			    "parley_nginx_connections_handled_total "
			    "%lld\n",
			    h);
			head(f, "parley_nginx_requests_total", "counter",
			    "Requests nginx served, all servers.");
			fprintf(f, "parley_nginx_requests_total %lld\n", r);
		}
	}
	if (fetch_status(cfg, "/_status/nchan", &g) == -1)
		return;
	for (i = 0; i < nitems(nchan); i++) {
		char key[64];

		snprintf(key, sizeof(key), "\n%s:", nchan[i].key);
		/* The first line has no newline before it. */
		v = strncmp(g.buf, key + 1, strlen(key + 1)) == 0
		    ? after(g.buf, key + 1)
		    : after(g.buf, key);
		if (v < 0)
			continue;
		head(f, nchan[i].name, nchan[i].type, nchan[i].help);
		fprintf(f, "%s %lld\n", nchan[i].name, v);
	}
}

static int
metrics_serve(struct request *req, struct ctx *ctx)
{
	char  *text = NULL;
	size_t len = 0;
	FILE  *f;
	int    rc;

	if ((f = open_memstream(&text, &len)) == NULL)
		return -1;
	requests(f);
	counters(f);
	processes(f, ctx->conf);
	database(f, ctx->db);
	nginx_status(f, ctx->conf);
	if (fclose(f) != 0) {
		free(text);
		return -1;
	}
	rc = http_send_body(
	    req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
	return rc;
}

int
metrics_listener(const struct request *req)
{
	const char *v = http_param(req, "PARLEY_METRICS");

	return v != NULL && strcmp(v, "1") == 0;
}

void
metrics_answer(struct request *req, struct ctx *ctx)
{
	req->route = "/metrics";
	if ((req->method != M_GET && req->method != M_HEAD) ||
	    strcmp(req->path, "/metrics") != 0)
		(void)http_send_problem(req, 404, "not_found",
		    "No such resource", NULL, NULL, NULL);
	else if (metrics_serve(req, ctx) == -1 && req->status == 0)
		(void)http_send_problem(req, 500, "internal_error",
		    "Internal error", NULL, NULL, NULL);
}
