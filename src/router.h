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
	struct db_stmt *read;
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

/* Returns the value of path parameter 'name', or NULL. Borrowed. */
const char *router_param(const struct request *req, const char *name);

/* Returns 0 if 'ctype' names one of 'accepted' (NULL: application/json). */
int router_ctype_ok(const char *ctype, const char *const *accepted);

#endif
