/*
 * router.c: path matching and the dispatcher that applies the route
 * table's rules in one place.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth.h"
#include "conf.h"
#include "ctx.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "router.h"
#include "detect.h"
#include "security_events.h"

int
router_match(const char *pattern, const char *path, struct request *req)
{
	const char *p = pattern, *s = path;
	char	   *buf = req->segbuf;
	size_t	    n = 0;

	while (*p != '\0' && *s != '\0') {
		if (*p != '/' || *s != '/')
			return 0;
		p++;
		s++;
		if (*p == ':') {
			const char *pe = strchr(p, '/');
			const char *se = strchr(s, '/');
			size_t	    plen = pe ? (size_t)(pe - p) : strlen(p);
			size_t	    slen = se ? (size_t)(se - s) : strlen(s);

			if (slen == 0 || n == PRL_MAX_PARAMS)
				return 0;
			req->param_name[n] = p + 1;
			memcpy(buf, s, slen);
			buf[slen] = '\0';
			req->param[n++] = buf;
			buf += slen + 1;
			p += plen;
			s += slen;
			continue;
		}
		while (*p != '\0' && *p != '/' && *p == *s) {
			p++;
			s++;
		}
		if ((*p != '\0' && *p != '/') || (*s != '\0' && *s != '/'))
			return 0;
	}
	if (*p != '\0' || *s != '\0')
		return 0;
	req->nparams = n;
	return 1;
}

const struct route *
router_current(const struct request *req)
{
	return req->route_def;
}

const char *
router_param(const struct request *req, const char *name)
{
	size_t i, len = strlen(name);

	for (i = 0; i < req->nparams; i++)
		if (strncmp(req->param_name[i], name, len) == 0 &&
		    (req->param_name[i][len] == '\0' ||
			req->param_name[i][len] == '/'))
			return req->param[i];
	return NULL;
}

const char *
router_arg(const struct request *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->nargs; i++)
		if (strcmp(req->arg_name[i], name) == 0)
			return req->arg[i];
	return NULL;
}

long long
router_arg_int(const struct request *req, const char *name, long long dflt)
{
	const char *v = router_arg(req, name);

	return v != NULL ? strtoll(v, NULL, 10) : dflt;
}

int
router_not_found(struct request *req)
{
	const struct route *r = req->route_def;
	char		    title[64];

	snprintf(title, sizeof(title), "No such %s",
	    r != NULL && r->spec != NULL && r->spec->noun != NULL
		? r->spec->noun
		: "resource");
	return http_not_found(req, title);
}

/* For a route nginx asks (auth_request): 403 'refuse'. Returns 1 if so. */
static int
refused(struct request *req, const struct spec *sp)
{
	if (sp == NULL || sp->refuse == NULL)
		return 0;
	http_send_problem(req, 403, sp->refuse, "Forbidden", NULL, NULL, NULL);
	return 1;
}

/*
 * Checks what the route's spec declares of the path and the query:
 * every path parameter a UUID (404 otherwise, as for an unknown id),
 * each declared query parameter as declared (400 bad_query). Returns 0,
 * or -1 after answering.
 */
static int
check_params(struct request *req, const struct route *r)
{
	const struct spec *sp = r->spec;
	size_t		   i, used = 0;

	for (i = 0; i < req->nparams; i++)
		if (!db_uuid_valid(req->param[i]))
			return refused(req, sp) ? -1
						: (router_not_found(req), -1);
	req->nargs = 0;
	for (i = 0; sp != NULL && i < sp->nquery; i++) {
		const struct field *f = &sp->query[i];
		char		   *buf = req->argbuf + used;
		struct verr	    err;
		char		    title[96];
		int		    rc;

		rc = http_query_get(
		    req, f->name, buf, sizeof(req->argbuf) - used);
		if (rc == 0 && !(f->flags & F_REQUIRED))
			continue;
		if (rc == 0) {
			if (refused(req, sp))
				return -1;
			snprintf(
			    title, sizeof(title), "%s is required", f->name);
			return http_bad_query(req, f->name, title), -1;
		}
		if (rc == -1 || validate_text(buf, f, &err) == -1) {
			if (refused(req, sp))
				return -1;
			snprintf(title, sizeof(title), "%s is malformed%s",
			    f->name,
			    rc != -1 && strcmp(err.code, "range") == 0
				? " or out of range"
				: "");
			return http_bad_query(req, f->name, title), -1;
		}
		req->arg_name[req->nargs] = f->name;
		req->arg[req->nargs++] = buf;
		used += strlen(buf) + 1;
	}
	for (i = 0; sp != NULL && i < sp->nheaders; i++) {
		const struct field *f = &sp->headers[i];
		const char	   *v = http_header(req, f->name);
		struct verr	    err;
		char		    title[96];

		if (v == NULL || (f->flags & F_ADVISORY) ||
		    validate_text(v, f, &err) == 0)
			continue;
		snprintf(title, sizeof(title), "%s is malformed", f->name);
		return http_send_problem(
			   req, 400, "bad_header", title, NULL, NULL, NULL),
		       -1;
	}
	return 0;
}

int
router_ctype_ok(const char *ctype, const char *const *accepted)
{
	static const char *const json_only[] = { "application/json", NULL };
	const char		*semi, *cs;
	size_t			 len, i;

	if (ctype == NULL)
		return -1;
	if (accepted == NULL)
		accepted = json_only;
	semi = strchr(ctype, ';');
	len = semi ? (size_t)(semi - ctype) : strlen(ctype);
	while (len > 0 && ctype[len - 1] == ' ')
		len--;
	for (i = 0; accepted[i] != NULL; i++)
		if (strlen(accepted[i]) == len &&
		    strncasecmp(ctype, accepted[i], len) == 0)
			break;
	if (accepted[i] == NULL)
		return -1;
	/* Any charset parameter must be UTF-8. */
	if (semi != NULL && (cs = strcasestr(semi, "charset=")) != NULL) {
		cs += 8;
		if (*cs == '"')
			cs++;
		if (strncasecmp(cs, "utf-8", 5) != 0)
			return -1;
	}
	return 0;
}

/* Answers 404 or 405 (with Allow) when no route takes method and path. */
static const struct route *
lookup(struct request *req)
{
	char		 allow[128] = "";
	size_t		 i;
	int		 path_found = 0;
	enum http_method m = req->method == M_HEAD ? M_GET : req->method;

	for (i = 0; i < nroutes; i++) {
		if (!router_match(routes[i].pattern, req->path, req))
			continue;
		if (routes[i].method == m) {
			req->route = routes[i].pattern;
			req->route_def = &routes[i];
			return &routes[i];
		}
		path_found = 1;
		if (strlen(allow) + 16 < sizeof(allow)) {
			if (allow[0] != '\0')
				strncat(allow, ", ",
				    sizeof(allow) - strlen(allow) - 1);
			strncat(allow, http_method_name(routes[i].method),
			    sizeof(allow) - strlen(allow) - 1);
			if (routes[i].method == M_GET)
				strncat(allow, ", HEAD",
				    sizeof(allow) - strlen(allow) - 1);
		}
	}
	if (path_found) {
		char hdr[160];

		snprintf(hdr, sizeof(hdr), "Allow: %s\r\n", allow);
		http_send_problem(req, 405, "method_not_allowed",
		    "Method not allowed for this resource", NULL, NULL, hdr);
	} else
		http_send_problem(req, 404, "not_found", "No such resource",
		    NULL, NULL, NULL);
	return NULL;
}

/* Whether 's' is only white space, or "{}" or "null" in white space. */
static int
empty_body(const char *s)
{
	s += strspn(s, " \t\r\n");
	if (strncmp(s, "{", 1) == 0) {
		s += 1 + strspn(s + 1, " \t\r\n");
		if (*s++ != '}')
			return 0;
	} else if (strncmp(s, "null", 4) == 0)
		s += 4;
	return s[strspn(s, " \t\r\n")] == '\0';
}

/*
 * A visitor token made from an e-mailed link opens one conversation: the
 * routes under /conversations/:id of that one; another id is 404, like an
 * unknown one, any other route 403. Returns 0, or -1 after answering.
 */
static int
link_scope(struct request *req, struct ctx *ctx)
{
	const char *id;

	if (ctx->who.kind != AUTH_VISITOR ||
	    ctx->who.conversation_id[0] == '\0')
		return 0;
	if (strncmp(req->route, "/api/v1/widget/conversations/:id/", 33) != 0) {
		http_send_problem(req, 403, "link_scope",
		    "This chat link opens one conversation only", NULL, NULL,
		    NULL);
		return -1;
	}
	id = router_param(req, "id");
	if (id == NULL || strcmp(id, ctx->who.conversation_id) != 0)
		return router_not_found(req), -1;
	return 0;
}

/*
 * The request's API key came from a network its check did not know: noted
 * in a transaction of its own, whatever the request's outcome.
 */
static void
key_network(struct ctx *ctx)
{
	json_t *d = NULL;
	int	n;

	ctx->key_network_new = 0;
	if (db_tenant_begin(ctx->db, ctx->who.company_id, NULL, NULL, NULL) ==
	    -1)
		return;
	n = detect_key_network(ctx, &d);
	if (n == 1)
		n = event_record(ctx, ctx->who.company_id,
		    ctx->who.user_id[0] != '\0' ? ctx->who.user_id : NULL,
		    "api_key_new_network", d);
	if (n != -1)
		(void)db_commit(ctx->db);
	db_rollback(ctx->db);
	json_decref(d);
}

/*
 * Load shedding: a request that waited for a worker longer than it may
 * (the workers are behind: more arrives than they can serve) is answered
 * 503 overloaded with Retry-After at once, without touching the database,
 * so the queue drains at microseconds a request, instead of every request
 * waiting seconds until the socket's backlog is full and nginx answers
 * 502. How long it may wait adapts, as CoDel does for packets (Nichols
 * and Jacobson, 2012; server queues use it the same way): the queue
 * stands when, in the interval (queue_interval_ms) just before this one,
 * this worker took at least SHED_MIN_SEEN requests and none had waited
 * less than queue_target_ms; then only queue_target_ms is allowed, so the
 * queue empties and what is served is fresh; otherwise queue_timeout_ms,
 * so a burst waits and is served. An interval further back says nothing
 * (an overload long over does not shed a new burst), nor does one with a
 * request or two (a slow one ahead of them).
 *
 * Not shed: what is outside the API (/api/: the health checks, so a
 * balancer does not take every busy host out at once), nginx's
 * authorisation subrequests (nginx would turn a 503 into a 500), CORS
 * preflights (a browser reads a refused one as the network failing), and
 * the one-click unsubscribe (mail providers do not retry it). A shed
 * answer carries CORS headers so that the widget on a shop's page can
 * read it and its Retry-After. The first shed of an interval is logged;
 * all are counted (parley_requests_shed_total). Returns 1 when it
 * answered.
 */
#define SHED_MIN_SEEN 4

static int
shed(struct request *req, struct ctx *ctx, const struct route *r)
{
	static struct timespec since; /* this interval's start */
	static long	       least = -1; /* its least wait, µs; -1 none */
	static int	       seen, logged; /* its requests, sheds logged */
	static int	       standing; /* the verdict for this interval */
	const struct conf     *cfg = ctx->conf;
	const char	      *doc = http_param(req, "DOCUMENT_URI");
	long long	       limit = cfg->queue_timeout_ms * 1000LL;
	long long	       target = cfg->queue_target_ms * 1000LL;
	long long	       span = cfg->queue_interval_ms * 1000LL, gone;
	long		       waited = req->queued_us;
	struct timespec	       now;

	if (limit == 0 || waited < 0 || strncmp(r->pattern, "/api/", 5) != 0 ||
	    r->method == M_OPTIONS ||
	    strcmp(r->pattern, "/api/v1/notifications/unsubscribe") == 0 ||
	    (doc != NULL && strcmp(doc, "/_parley/auth") == 0))
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	gone = (now.tv_sec - since.tv_sec) * 1000000LL +
	    (now.tv_nsec - since.tv_nsec) / 1000;
	if (gone >= span) {
		/* The interval that ends is the one just before only if it
		 * ended less than an interval ago. */
		standing = target > 0 && gone < 2 * span &&
		    seen >= SHED_MIN_SEEN && least > target;
		least = -1;
		seen = logged = 0;
		since = now;
	}
	seen++;
	if (least < 0 || waited < least)
		least = waited;
	if (waited <= (standing && target < limit ? target : limit))
		return 0;
	if (!logged++)
		log_event(LOG_WARN, "request_shed", LOG_S("route", r->pattern),
		    LOG_I("wait_ms", waited / 1000));
	metrics_count(MET_SHED,
	    strncmp(r->pattern, "/api/v1/widget/", 15) == 0	? "widget"
		: strncmp(r->pattern, "/api/v1/auth/", 13) == 0 ? "auth"
								: "api",
	    1);
	(void)http_add_header(req, "Retry-After", "1");
	(void)http_add_header(req, "Access-Control-Allow-Origin", "*");
	(void)http_add_header(
	    req, "Access-Control-Expose-Headers", "Retry-After, X-Request-Id");
	http_send_problem(req, 503, "overloaded",
	    "parley is overloaded: try again shortly", NULL, NULL, NULL);
	return 1;
}

void
router_dispatch(struct request *req, struct ctx *ctx)
{
	const struct route *r;

	db_set_actor(ctx->db, NULL); /* until a user is authenticated */
	ctx->from.addr = req->remote_addr;
	ctx->from.user_agent = req->user_agent;
	ctx->from.request_id = req->request_id;
	if ((r = lookup(req)) == NULL)
		return;
	if (shed(req, ctx, r))
		return;
	/* Who is asking comes first: no body of an anonymous caller is read. */
	if (auth_authenticate(req, ctx, r) == -1)
		goto out;
	if (check_params(req, r) == -1)
		goto denied;
	if (link_scope(req, ctx) == -1)
		goto denied;
	if (r->body == BODY_NONE) {
		/*
		 * No body, or one that says nothing: "{}" or null (what most
		 * HTTP clients send with a POST). Anything else is refused.
		 */
		if (req->content_length > 0 &&
		    (req->content_length > PRL_BODY_EMPTY ||
			http_read_body(req, PRL_BODY_EMPTY) == -1 ||
			!empty_body(req->body))) {
			if (req->status == 0)
				http_send_problem(req, 422, "body_not_allowed",
				    "This request takes no body", NULL, NULL,
				    NULL);
			goto out;
		}
	} else {
		if (router_ctype_ok(req->content_type, r->ctypes) == -1) {
			http_send_problem(req, 415, "unsupported_media_type",
			    "Unsupported Content-Type", NULL, NULL, NULL);
			goto out;
		}
		if (http_read_body(req, r->max_body) == -1 ||
		    (r->body == BODY_FORM	   ? http_parse_form(req)
			    : r->body == BODY_JSON ? http_parse_json(req)
						   : 0) == -1)
			goto out;
		if (r->spec != NULL && r->spec->body != NULL) {
			struct verr err;

			/* A form is a third party's (a provider's return):
			 * members it adds are not ours to refuse. */
			if (validate_object(req->json, r->spec->body,
				r->spec->nbody,
				r->body == BODY_FORM ? VO_ALLOW_UNKNOWN : 0,
				&err) == -1) {
				validate_problem(req, &err);
				goto out;
			}
		}
	}
	if (r->fn(req, ctx) == -1 && req->status == 0) {
		/* The database went away mid-request (a failover): nothing
		 * was committed, and trying again will work. */
		if (db_unavailable(ctx->db))
			http_send_problem(req, 503, "database_unavailable",
			    "Service temporarily unavailable", NULL, NULL,
			    "Retry-After: 1\r\n");
		/* A statement ran past db_statement_timeout (a lock held, a
		 * database overloaded): rolled back, and worth a retry. */
		else if (db_busy(ctx->db))
			http_send_problem(req, 503, "database_busy",
			    "The database is busy: try again shortly", NULL,
			    NULL, "Retry-After: 1\r\n");
		else
			http_send_problem(req, 500, "internal_error",
			    "Internal error", NULL, NULL, NULL);
	}
denied:
	/* An id the caller may not see (another company's, or none). */
	if (req->status == 404 && req->nparams > 0 &&
	    ctx->who.kind != AUTH_PUBLIC)
		auth_record_denial(req, ctx, r, "unknown_id");
out:
	PQclear(ctx->read);
	ctx->read = NULL;
	if (db_in_tx(ctx->db)) {
		/* A handler must commit what it means to keep. */
		db_rollback(ctx->db);
	}
	/* Nothing committed since the count: count the request again. */
	if (ctx->rate_sent > 0 && db_commits(ctx->db) == ctx->rate_commits)
		(void)ratelimit_recount(ctx->db, ctx->rate_bucket,
		    ctx->rate_sent, ctx->rate_window);
	ctx->rate_sent = 0;
	if (ctx->key_network_new)
		key_network(ctx);
}
