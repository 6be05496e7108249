/*
 * route.h: what a route is: the method, path pattern, who may call it,
 * its rate-limit class, its body rules and its spec (what it takes and
 * gives). The table is routes.c; router.c dispatches by it.
 */
#ifndef PARLEY_ROUTE_H
#define PARLEY_ROUTE_H

#include <stddef.h>

#include "ctx.h"
#include "db.h"
#include "http.h"
#include "row.h"
#include "validate.h"

/*
 * The budget the dispatcher counts an authenticated request against
 * (src/auth.c, rate_params): the general API budget, or the LLM one.
 * Public routes count their own budgets in their handlers (login,
 * registration and reset: per client address and per account), and
 * nginx's per-address limit_req is in front of every /api/ route.
 */
enum rl_class { RL_NONE, RL_LLM, RL__MAX };

/* A body: none, JSON, a form (application/x-www-form-urlencoded, read
 * into an object of strings that the spec's fields validate alike), or
 * bytes (a file: of one of 'ctypes', in req->body and req->body_len, never
 * parsed by the dispatcher). */
enum body_kind { BODY_NONE, BODY_JSON, BODY_FORM, BODY_BYTES };

/* How a documented answer's body is made. */
enum reply_shape {
	R_ONE, /* one 'row' object */
	R_ITEMS, /* {items: ['row'…]} */
	R_PAGE, /* {items: ['row'…], next_cursor} */
	R_EMPTY, /* no body */
	R_PROBLEM, /* problem+json with one of 'codes' */
	R_OTHER, /* a body of media type 'ctype', described in prose */
};

/* An answer a route gives: its status, body and meaning. */
struct resp {
	int		  status;
	enum reply_shape  shape;
	const struct row *row; /* R_ONE, R_ITEMS, R_PAGE */
	const char	 *desc;
	const char	 *codes; /* R_PROBLEM: its codes, space-separated */
	const char	 *ctype; /* R_OTHER */
};

#define REPLY(status, shape, row, desc)                                        \
	{                                                                      \
		status, shape, row, desc, NULL, NULL                           \
	}
#define PROBLEM(status, codes, desc)                                           \
	{                                                                      \
		status, R_PROBLEM, NULL, desc, codes, NULL                     \
	}

/*
 * What a route takes and gives, declared once: the dispatcher checks the
 * input against it before the handler runs, parleyctl openapi documents
 * it. Path parameters are all UUIDs: a malformed one is 404, like an
 * unknown one.
 */
struct spec {
	const char	   *noun; /* "template": 404 says "No such template" */
	const struct field *body; /* the JSON body's members, or NULL */
	size_t		    nbody;
	const struct field *query; /* query parameters, or NULL */
	size_t		    nquery;
	const struct field *headers; /* request headers that matter */
	size_t		    nheaders;
	const struct resp  *replies; /* success first */
	size_t		    nreplies;
	/*
	 * nginx's auth_request takes only 2xx, 401 and 403: a route it asks
	 * answers malformed input 403 with this code, not 400 or 404.
	 */
	const char *refuse;
	const char *audit; /* the audit action ("template.create") */
	const char *resource; /* its resource type, when not the noun */
	const char *doc; /* more than the summary says, or NULL */
};

/*
 * A handler answers 'req' and returns 0, or returns -1 without answering
 * (the dispatcher then answers 500 and rolls back an open transaction).
 */
typedef int (*handler_fn)(struct request *req, struct ctx *ctx);

struct route {
	enum http_method   method;
	const char	  *pattern; /* "/api/v1/things/:id" */
	enum auth_kind	   auth;
	enum role	   min_role;
	unsigned	   scope; /* API-key scope bit; 0 none */
	enum rl_class	   rl;
	enum body_kind	   body;
	size_t		   max_body; /* bytes of any body */
	const char *const *ctypes; /* accepted media types; NULL: JSON */
	handler_fn	   fn;
	const char	  *summary; /* one line, for docs */
	/*
	 * Read-only user routes may name one statement (parameters: $1 the
	 * user id, $2 the company id) that runs in the authentication round
	 * trip, with the session check and COMMIT: the handler then finds
	 * the rows in ctx->read and has no transaction open.
	 */
	struct db_stmt	  *read;
	const struct spec *spec; /* input checked, answers documented */
};

/* The route table (routes.c). */
extern const struct route routes[];
extern const size_t	  nroutes;

#endif
