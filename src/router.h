/*
 * router.h: routing is data. One table (routes.c) says, per route, the
 * method, path pattern, who may call it, its rate-limit class and its body
 * rules; router_dispatch() checks all of that before a handler runs.
 */
#ifndef PARLEY_ROUTER_H
#define PARLEY_ROUTER_H

#include <stddef.h>

#include "db.h"
#include "http.h"
#include "row.h"
#include "validate.h"

struct conf;
struct db;

enum auth_kind {
	AUTH_PUBLIC, /* anyone */
	AUTH_USER, /* Bearer access token of a user */
	AUTH_KEY, /* user token or API key with the route's scope */
	AUTH_VISITOR, /* widget visitor token */
	AUTH__MAX
};

enum role { ROLE_NONE, ROLE_MEMBER, ROLE_ADMIN, ROLE_OWNER, ROLE__MAX };

/*
 * The budget the dispatcher counts an authenticated request against
 * (src/auth.c, rate_params): the general API budget, or the LLM one.
 * Public routes count their own budgets in their handlers (login,
 * registration and reset: per client address and per account), and
 * nginx's per-address limit_req is in front of every /api/ route.
 */
enum rl_class { RL_NONE, RL_LLM, RL__MAX };

enum body_kind { BODY_NONE, BODY_JSON };

/* The caller, as established by authentication. */
struct principal {
	enum auth_kind kind; /* AUTH_PUBLIC when anonymous */
	char	       company_id[37];
	char	       user_id[37];
	char	       session_id[37];
	char	       key_id[37]; /* the API key, when kind is AUTH_KEY */
	char	       visitor_id[37]; /* AUTH_VISITOR: the visitor */
	char	       chatbot_id[37]; /* AUTH_VISITOR: the visitor's chatbot */
	int	       restricted; /* AUTH_VISITOR: no bot, no LLM for them */
	enum role      role; /* read from the database, not the token */
	unsigned       scopes;
};

/* What a handler gets besides the request. All members borrowed. */
struct ctx {
	const struct conf *conf;
	struct db	  *db;
	struct principal   who;
	PGresult *read; /* the route's read statement's rows, or NULL */
	/*
	 * Requests counted for the caller's budget inside the request's
	 * transaction; if it does not commit, the dispatcher counts them
	 * again on their own, so refused requests are counted too.
	 */
	char	      rate_bucket[65];
	int	      rate_sent, rate_window;
	unsigned long rate_commits;
};

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
	const char	   *audit; /* the audit action ("template.create") */
	const char	   *resource; /* its resource type, when not the noun */
	const char	   *doc; /* more than the summary says, or NULL */
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
	size_t		   max_body; /* bytes, BODY_JSON only */
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

/*
 * Matches 'pattern' against 'path'; on a match fills req->param* and
 * returns 1. Segments ":name" match one non-empty segment.
 */
int router_match(const char *pattern, const char *path, struct request *req);

/* Routes, checks and runs the handler; always answers 'req'. */
void router_dispatch(struct request *req, struct ctx *ctx);

/* The route 'req' was dispatched to, or NULL. */
const struct route *router_current(const struct request *req);

/*
 * Returns the value of path parameter 'name' (a checked UUID), or NULL.
 * Borrowed.
 */
const char *router_param(const struct request *req, const char *name);

/*
 * Returns the decoded value of declared query parameter 'name' once the
 * dispatcher checked it, or NULL when absent. Borrowed.
 */
const char *router_arg(const struct request *req, const char *name);
/* router_arg() as an integer, or 'dflt' when absent. */
long long router_arg_int(
    const struct request *req, const char *name, long long dflt);
/* router_arg() as a boolean ("true"), or 'dflt' when absent. */
int router_arg_bool(const struct request *req, const char *name, int dflt);

/* Answers 404 "No such <noun>" for the current route's noun. */
int router_not_found(struct request *req);

/* Returns 0 if 'ctype' names one of 'accepted' (NULL: application/json). */
int router_ctype_ok(const char *ctype, const char *const *accepted);

#endif
