/*
 * routes.c: the route table. Every endpoint parley serves is one line
 * here; t/11-routes.t walks it against docs/openapi.yaml.
 */
#include "config.h"

#include "api.h"
#include "router.h"

const struct route routes[] = {
	{ M_GET, "/healthz", AUTH_PUBLIC, ROLE_NONE, 0, RL_NONE, BODY_NONE, 0,
	    NULL, h_healthz, "liveness: the process answers" },
	{ M_GET, "/readyz", AUTH_PUBLIC, ROLE_NONE, 0, RL_NONE, BODY_NONE, 0,
	    NULL, h_readyz, "readiness: database reachable, schema current" },
	{ M_GET, "/api/v1/meta", AUTH_PUBLIC, ROLE_NONE, 0, RL_NONE, BODY_NONE,
	    0, NULL, h_meta, "service name and versions" },
	{ M_POST, "/api/v1/csp-report", AUTH_PUBLIC, ROLE_NONE, 0, RL_NONE,
	    BODY_JSON, PRL_BODY_SMALL, csp_report_ctypes, h_csp_report,
	    "Content-Security-Policy violation reports" },
};
const size_t nroutes = sizeof(routes) / sizeof(routes[0]);
