/*
 * ctx.h: who is asking and with what, as domain code needs it: the
 * configuration, the database handle, the caller (company, user, key or
 * visitor, role, scopes) and where the request came from. No HTTP type:
 * audit, conv, plans, session, events and the jobs process take this.
 */
#ifndef PARLEY_CTX_H
#define PARLEY_CTX_H

#include <libpq-fe.h>

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

/* Where a request came from, for the audit log and security events. */
struct origin {
	const char *addr; /* the client's address, or "" */
	const char *user_agent; /* may be NULL */
	const char *request_id; /* 32 hex digits, or "" */
};

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
	/* AUTH_VISITOR through an e-mailed link: the only conversation the
	 * token opens (routes without it refused), else "". */
	char	  conversation_id[37];
	enum role role; /* read from the database, not the token */
	unsigned  scopes;
};

/* What a handler gets besides the request. All members borrowed. */
struct ctx {
	const struct conf *conf;
	struct db	  *db;
	struct principal   who;
	struct origin	   from; /* borrowed from the request; "" in jobs */
	PGresult *read; /* the route's read statement's rows, or NULL */
	/*
	 * Requests counted for the caller's budget inside the request's
	 * transaction; if it does not commit, the dispatcher counts them
	 * again on their own, so refused requests are counted too.
	 */
	/* The API key's check did not know the request's network: judged
	 * when the request is over (src/detect.c). */
	int	      key_network_new;
	char	      rate_bucket[65];
	int	      rate_sent, rate_window;
	unsigned long rate_commits;
};

#endif
