/* Unit tests: route matching and the route table's own invariants. */
#include "config.h"

#include <string.h>

#include "router.h"
#include "tap.h"
#include "util.h"

static const struct {
	const char *pattern, *path;
	int	    match;
	const char *param; /* value of the first parameter */
} cases[] = {
	{ "/healthz", "/healthz", 1, NULL },
	{ "/healthz", "/healthz/", 0, NULL },
	{ "/healthz", "/health", 0, NULL },
	{ "/healthz", "/healthzz", 0, NULL },
	{ "/api/v1/things/:id", "/api/v1/things/abc", 1, "abc" },
	{ "/api/v1/things/:id", "/api/v1/things/", 0, NULL },
	{ "/api/v1/things/:id", "/api/v1/things", 0, NULL },
	{ "/api/v1/things/:id", "/api/v1/things/a/b", 0, NULL },
	{ "/api/v1/things/:id/parts", "/api/v1/things/x1/parts", 1, "x1" },
	{ "/api/v1/things/:id/parts", "/api/v1/things/x1/partz", 0, NULL },
	{ "/", "/", 1, NULL },
};

static const struct {
	const char *ctype;
	int	    ok;
} ctypes[] = {
	{ "application/json", 0 },
	{ "application/JSON", 0 },
	{ "application/json; charset=utf-8", 0 },
	{ "application/json;charset=\"UTF-8\"", 0 },
	{ "application/json; charset=latin1", -1 },
	{ "application/jsonx", -1 },
	{ "text/plain", -1 },
	{ NULL, -1 },
};

int
main(void)
{
	struct request req;
	size_t	       i, j;

	for (i = 0; i < nitems(cases); i++) {
		int m;

		memset(&req, 0, sizeof(req));
		m = router_match(cases[i].pattern, cases[i].path, &req);
		tap_is_int(m, cases[i].match, "%s ~ %s", cases[i].pattern,
		    cases[i].path);
		if (m && cases[i].param != NULL)
			tap_is_str(router_param(&req, "id"), cases[i].param,
			    "param id of %s", cases[i].path);
	}
	for (i = 0; i < nitems(ctypes); i++)
		tap_is_int(router_ctype_ok(ctypes[i].ctype, NULL), ctypes[i].ok,
		    "content type '%s'",
		    ctypes[i].ctype ? ctypes[i].ctype : "(none)");

	/* The table: unique method+pattern, bodies bounded, summaries set. */
	for (i = 0; i < nroutes; i++) {
		int dup = 0;

		for (j = 0; j < i; j++)
			if (routes[i].method == routes[j].method &&
			    strcmp(routes[i].pattern, routes[j].pattern) == 0)
				dup = 1;
		tap_ok(!dup, "route %s %s is unique",
		    http_method_name(routes[i].method), routes[i].pattern);
		tap_ok(routes[i].body == BODY_NONE ||
			(routes[i].max_body > 0 &&
			    routes[i].max_body <= (routes[i].body == BODY_BYTES
							  ? PRL_FILE_BODY
							  : PRL_MAX_BODY)),
		    "route %s has a bounded body", routes[i].pattern);
		tap_ok(routes[i].summary != NULL && routes[i].fn != NULL,
		    "route %s has a handler and summary", routes[i].pattern);
		tap_ok(routes[i].auth != AUTH_PUBLIC ||
			routes[i].min_role == ROLE_NONE,
		    "public route %s asks for no role", routes[i].pattern);
	}
	return tap_done();
}
