/*
 * conv.c: conversation and message writes shared by the widget and the
 * agent inbox (see conv.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conv.h"
#include "resources.h"
#include "db.h"
#include "ctx.h"

/*
 * One statement numbers and stores a message: the conversation row is
 * updated (and so locked) first, its message_count is the new seq. A
 * visitor's message is counted against the plan's monthly_messages by
 * parley_count_message() (sql/013-usage.sql), which refuses it with
 * SQLSTATE PL402 when the month's allowance is used up.
 */
static struct db_stmt q_msg_add = { "message_add",
	"WITH c AS (UPDATE conversations SET message_count = message_count + "
	"1, last_role = $3, last_message_at = now(), updated_at = now(), "
	"status = CASE WHEN $3 = 'visitor' AND status = 'resolved' THEN 'bot' "
	"ELSE status END, "
	"first_visitor_at = CASE WHEN $3 = 'visitor' THEN "
	"coalesce(first_visitor_at, now()) ELSE first_visitor_at END, "
	"first_response_at = CASE WHEN $3 <> 'visitor' AND first_visitor_at "
	"IS NOT NULL THEN coalesce(first_response_at, now()) ELSE "
	"first_response_at END, tokens = tokens + coalesce($6::integer, 0) + "
	"coalesce($7::integer, 0) WHERE company_id = $1 AND id = $2 AND "
	"($10::uuid IS NULL OR visitor_id = $10) AND ($11::text IS NULL OR "
	"status = $11) RETURNING message_count, status) INSERT INTO messages "
	"AS m (company_id, conversation_id, seq, role, author_id, content, "
	"citations, prompt_tokens, completion_tokens, model, reply_to, "
	"reply_owed) SELECT $1, $2, c.message_count, $3, $4, $5, $8::jsonb, "
	"$6, $7, $9, $12, $3 = 'visitor' AND c.status = 'bot' FROM c WHERE $3 "
	"<> 'visitor' OR parley_count_message($1) "
	"RETURNING {{Message}}, (SELECT status FROM c) AS conv_status",
	12, 0, 0 };
/*
 * A conversation is handed off when it first goes to a human: pending
 * (the bot asked for one) or open (an agent took it).
 */
static struct db_stmt q_conv_status = { "conversation_status",
	"UPDATE conversations SET status = $3, handoff_reason = CASE WHEN $3 "
	"= 'pending' THEN coalesce($4, handoff_reason) WHEN $3 = 'open' THEN "
	"coalesce(handoff_reason, $4) ELSE handoff_reason END, handed_off_at "
	"= CASE WHEN $3 IN ('pending', 'open') THEN coalesce(handed_off_at, "
	"now()) ELSE handed_off_at END, flag_reason = coalesce($5, "
	"flag_reason), resolved_at = CASE WHEN $3 = 'resolved' THEN now() END, "
	"updated_at = now() WHERE company_id = $1 AND id = $2 AND ($6::text "
	"IS NULL OR status = $6) RETURNING coalesce(assignee_id::text, '') AS "
	"assignee_id",
	6, 0, 0 };
static struct db_stmt q_usage_add = { "llm_usage_add",
	"INSERT INTO llm_usage (company_id, chatbot_id, month, shard, tokens, "
	"requests) VALUES ($1, $2, date_trunc('month', now() AT TIME ZONE "
	"'UTC')::date, $4::smallint, $3, 1) ON CONFLICT (company_id, month, "
	"chatbot_id, shard) DO UPDATE SET tokens = llm_usage.tokens + "
	"EXCLUDED.tokens, requests = llm_usage.requests + 1",
	4, 0, 0 };

json_t *
conv_msg_json(PGresult *res, int i)
{
	return row_json(&row_message, res, i);
}

void
conv_add_call(struct ctx *ctx, const char *conv, const struct conv_msg *m,
    struct conv_q *q, struct db_call *call)
{
	memset(q, 0, sizeof(*q));
	snprintf(q->pt, sizeof(q->pt), "%ld", m->prompt_tokens);
	snprintf(q->ct, sizeof(q->ct), "%ld", m->completion_tokens);
	if (m->citations != NULL)
		q->cj = json_dumps(m->citations, JSON_COMPACT);
	q->p[0] = ctx->who.company_id;
	q->p[1] = conv;
	q->p[2] = m->role;
	q->p[3] = m->author_id;
	q->p[4] = m->content;
	q->p[5] = m->prompt_tokens >= 0 ? q->pt : NULL;
	q->p[6] = m->completion_tokens >= 0 ? q->ct : NULL;
	q->p[7] = q->cj;
	q->p[8] = m->model != NULL && *m->model != '\0' ? m->model : NULL;
	q->p[9] = m->visitor_id;
	q->p[10] = m->only_status;
	q->p[11] = m->reply_to;
	call->st = &q_msg_add;
	call->params = q->p;
	call->out = &q->res;
}

json_t *
conv_add_result(struct conv_q *q, char status[16])
{
	json_t *o = NULL;

	if (q->res != NULL && PQntuples(q->res) == 1) {
		o = conv_msg_json(q->res, 0);
		if (status != NULL)
			snprintf(status, 16, "%s",
			    row_get(q->res, 0, "conv_status"));
	}
	conv_q_free(q);
	return o;
}

void
conv_q_free(struct conv_q *q)
{
	PQclear(q->res);
	free(q->cj);
	memset(q, 0, sizeof(*q));
}

json_t *
conv_add(struct ctx *ctx, const char *conv, const struct conv_msg *m)
{
	struct conv_q  q;
	struct db_call c;

	conv_add_call(ctx, conv, m, &q, &c);
	if ((m->citations != NULL && q.cj == NULL) ||
	    (q.res = db_exec(ctx->db, c.st, c.params)) == NULL) {
		conv_q_free(&q);
		return NULL;
	}
	return conv_add_result(&q, NULL);
}

void
conv_status_call(struct ctx *ctx, const char *conv, const char *status,
    const char *reason, const char *flag, const char *only_status,
    const char **p, struct db_call *call)
{
	p[0] = ctx->who.company_id;
	p[1] = conv;
	p[2] = status;
	p[3] = reason;
	p[4] = flag;
	p[5] = only_status;
	call->st = &q_conv_status;
	call->params = p;
	call->out = NULL;
}

void
conv_status_assignee(PGresult *res, char assignee[37])
{
	assignee[0] = '\0';
	if (res != NULL && PQntuples(res) == 1)
		snprintf(assignee, 37, "%s", row_get(res, 0, "assignee_id"));
}

int
conv_set_status(struct ctx *ctx, const char *conv, const char *status,
    const char *reason, const char *flag, char assignee[37])
{
	const char    *p[6];
	struct db_call c;
	PGresult      *res;

	conv_status_call(ctx, conv, status, reason, flag, NULL, p, &c);
	res = db_exec(ctx->db, c.st, c.params);
	if (assignee != NULL)
		conv_status_assignee(res, assignee);
	PQclear(res);
	return res != NULL ? 0 : -1;
}

int
conv_usage_call(struct ctx *ctx, const char *chatbot, long prompt,
    long completion, struct conv_usage_q *q, struct db_call *call)
{
	if (prompt < 0 && completion < 0)
		return 0;
	snprintf(q->n, sizeof(q->n), "%ld",
	    (prompt > 0 ? prompt : 0) + (completion > 0 ? completion : 0));
	snprintf(q->shard, sizeof(q->shard), "%d", (int)(getpid() % 16));
	q->p[0] = ctx->who.company_id;
	q->p[1] = chatbot;
	q->p[2] = q->n;
	q->p[3] = q->shard;
	call->st = &q_usage_add;
	call->params = q->p;
	call->out = NULL;
	return 1;
}
