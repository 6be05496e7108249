/*
 * conv.h: conversations and messages, shared by the widget (visitors) and
 * the agent inbox. Every function works in the caller's open tenant
 * transaction of ctx->who.company_id.
 */
#ifndef PARLEY_CONV_H
#define PARLEY_CONV_H
#include <jansson.h>
#include <libpq-fe.h>
struct ctx;
struct bot_reply;

/* A new message as stored. */
struct conv_msg {
	const char *role; /* "visitor", "bot", "agent" */
	const char *author_id; /* the agent, or NULL */
	const char *content;
	json_t	   *citations; /* borrowed; may be NULL */
	long	    prompt_tokens, completion_tokens; /* -1: none */
	const char *model; /* may be NULL */
	const char *visitor_id; /* when set: only a conversation of theirs */
	const char *only_status; /* when set: only while in this status */
	const char *reply_to; /* a bot message: the visitor message answered */
};

#include "db.h"
/* A message insert prepared for a batch: parameters and result. */
struct conv_q {
	char	    pt[24], ct[24];
	char	   *cj;
	const char *p[12];
	PGresult   *res;
};
/*
 * Prepares in 'q' and 'call' the insert of 'm' into 'conv', for
 * db_exec_many() or db_tenant_batch(); 'm' must outlive the call.
 */
void conv_add_call(struct ctx *ctx, const char *conv, const struct conv_msg *m,
    struct conv_q *q, struct db_call *call);
/*
 * The stored message as a new JSON object and, in 'status' (may be NULL),
 * the conversation's status after it; NULL when no row was written (not
 * the visitor's, or no longer in 'only_status'). Frees what 'q' holds.
 */
json_t *conv_add_result(struct conv_q *q, char status[16]);
void	conv_q_free(struct conv_q *q);
/* Prepares a status change (see conv_set_status()) for a batch; 'p' has
 * room for 6 parameters; 'only_status' as in struct conv_msg. */
void conv_status_call(struct ctx *ctx, const char *conv, const char *status,
    const char *reason, const char *flag, const char *only_status,
    const char **p, struct db_call *call);
/* Prepares the usage count for a batch; returns 0 when there is none. */
struct conv_usage_q {
	char	    n[24], shard[8];
	const char *p[4];
};
int conv_usage_call(struct ctx *ctx, const char *chatbot, long prompt,
    long completion, struct conv_usage_q *q, struct db_call *call);

/*
 * Appends 'm' to conversation 'conv' (numbering it, counting it, setting
 * first-response times). Returns the stored message as a new JSON object
 * (caller json_decref()s), or NULL on failure.
 */
json_t *conv_add(struct ctx *ctx, const char *conv, const struct conv_msg *m);

/*
 * Sets the status of 'conv' to 'status' ("bot", "pending", "open",
 * "resolved"), with the handoff reason and output-check flag when given
 * (may be NULL). When 'assignee' is not NULL, writes the conversation's
 * assignee into it ("" when none), for the status event (rt_status),
 * which always says who holds the conversation. Returns 0 or -1.
 */
int conv_set_status(struct ctx *ctx, const char *conv, const char *status,
    const char *reason, const char *flag, char assignee[37]);
/* The assignee a status change (conv_status_call) returned, "" if none. */
void conv_status_assignee(PGresult *res, char assignee[37]);

/*
 * Row 'i' of a messages query as JSON (row Message of resources.c, which
 * statements select as {{Message}} from messages m). New object.
 */
json_t *conv_msg_json(PGresult *res, int i);

/* The JSON of an answer's stored message plus the conversation status. */
#endif
