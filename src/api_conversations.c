/*
 * api_conversations.c: the agent side. The inbox (filters, cursor
 * pagination), one conversation with its messages, agent replies (the
 * conversation becomes human-handled and the bot goes quiet), status and
 * assignee changes, LLM drafts for agents, and the analytics summary.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "api.h"
#include "handler.h"
#include "resources.h"
#include "audit.h"
#include "bot.h"
#include "conf.h"
#include "conv.h"
#include "db.h"
#include "idem.h"
#include "realtime.h"
#include "util.h"
#include "validate.h"

#define CONV_FROM                                                              \
	" FROM conversations c JOIN visitors v ON v.company_id = "             \
	"c.company_id AND v.id = c.visitor_id "
#define UNANSWERED                                                             \
	"(c.status = 'pending' OR (c.status <> 'resolved' AND c.last_role = "  \
	"'visitor'))"

static struct db_stmt q_conv_list = { "conversation_list",
	"SELECT {{Conversation}}" CONV_FROM
	"WHERE c.company_id = $1 AND ($2::text IS "
	"NULL OR c.status = $2) AND ($3::boolean IS NULL OR " UNANSWERED
	" = $3) AND ($4::uuid IS NULL OR c.assignee_id = $4) AND (NOT "
	"$5::boolean OR c.assignee_id IS NULL) AND ($6::uuid IS NULL OR "
	"c.chatbot_id = $6) AND ($7::bigint IS NULL OR (c.last_message_at, "
	"c.id) < ('epoch'::timestamptz + $7::bigint * interval '1 "
	"microsecond', $8::uuid)) AND ($10::uuid IS NULL OR EXISTS (SELECT 1 "
	"FROM conversation_labels l WHERE l.company_id = c.company_id AND "
	"l.conversation_id = c.id AND l.label_id = $10)) ORDER BY "
	"c.last_message_at DESC, c.id DESC LIMIT $9::integer",
	10, 0, 0 };
static struct db_stmt q_conv_get = { "conversation_get",
	"SELECT {{Conversation}}" CONV_FROM
	"WHERE c.company_id = $1 AND c.id = $2",
	2, 0, 0 };
static struct db_stmt q_conv_msgs = { "conversation_messages",
	"SELECT {{Message}} FROM (SELECT * FROM messages WHERE company_id = $1 "
	"AND conversation_id = $2 ORDER BY seq DESC LIMIT 1000) m ORDER BY "
	"m.seq",
	2, 0, 0 };
static struct db_stmt q_conv_lock = { "conversation_lock",
	"SELECT c.status, c.chatbot_id, v.restricted FROM conversations c "
	"JOIN visitors v ON v.company_id = c.company_id AND v.id = "
	"c.visitor_id WHERE c.company_id = $1 AND c.id = $2 FOR UPDATE OF c",
	2, 0, 0 };
static struct db_stmt q_conv_assign = { "conversation_assign",
	"UPDATE conversations SET assignee_id = $3, updated_at = now() WHERE "
	"company_id = $1 AND id = $2",
	3, 0, 0 };
static struct db_stmt q_conv_assign_if_none = { "conversation_take",
	"UPDATE conversations SET assignee_id = coalesce(assignee_id, $3) "
	"WHERE company_id = $1 AND id = $2 RETURNING assignee_id",
	3, 0, 0 };
static struct db_stmt q_member = { "conversation_member",
	"SELECT 1 FROM users WHERE company_id = $1 AND id = $2", 2, 0, 0 };
static struct db_stmt q_last_visitor = { "conversation_last_visitor",
	"SELECT content FROM messages WHERE company_id = $1 AND "
	"conversation_id = $2 AND role = 'visitor' ORDER BY seq DESC LIMIT 1",
	2, 0, 0 };
static struct db_stmt q_range = { "analytics_range",
	"SELECT coalesce($1::timestamptz, now() - interval '30 days') AS f, "
	"coalesce($2::timestamptz, now()) AS t",
	2, 0, 0 };
static struct db_stmt q_summary = { "analytics_summary",
	"SELECT {{AnalyticsSummary}} FROM (SELECT message_count, "
	"handed_off_at, first_response_at, first_visitor_at, status, tokens, "
	"flag_reason, rating FROM conversations x "
	"WHERE company_id = $1 AND created_at >= $2::timestamptz AND "
	"created_at < $3::timestamptz AND NOT EXISTS (SELECT 1 FROM visitors "
	"v WHERE v.company_id = $1 AND v.id = x.visitor_id AND v.restricted) "
	"UNION ALL SELECT message_count, "
	"handed_off_at, first_response_at, first_visitor_at, status, tokens, "
	"flag_reason, rating FROM conversation_stats WHERE company_id = $1 AND "
	"created_at >= $2::timestamptz AND created_at < $3::timestamptz) c",
	3, 0, 0 };

/* Ratings by chatbot and by agent, the deleted conversations' kept. */
static struct db_stmt q_csat = { "analytics_csat",
	"WITH r AS (SELECT chatbot_id, assignee_id, rating FROM conversations "
	"x WHERE company_id = $1 AND rating IS NOT NULL AND created_at >= "
	"$2::timestamptz AND created_at < $3::timestamptz AND NOT EXISTS "
	"(SELECT 1 FROM visitors v WHERE v.company_id = $1 AND v.id = "
	"x.visitor_id AND v.restricted) UNION ALL SELECT chatbot_id, "
	"assignee_id, rating FROM conversation_stats WHERE company_id = $1 "
	"AND rating IS NOT NULL AND created_at >= $2::timestamptz AND "
	"created_at < $3::timestamptz) SELECT {{Csat}}",
	3, 0, 0 };

/* The [from, to) of the query, 30 days by default, into 'range'; 0, or
 * -1 after answering 400. */
static int
analytics_range(struct request *req, struct ctx *ctx, char range[2][64])
{
	const char *p[2] = { router_arg(req, "from"), router_arg(req, "to") };
	PGresult   *res;

	if ((res = db_exec(ctx->db, &q_range, p)) == NULL) {
		/* A date PostgreSQL has not (February 31st). */
		db_rollback(ctx->db);
		http_bad_query(req, p[0] != NULL ? "from" : "to",
		    "A time is out of range");
		return -1;
	}
	snprintf(range[0], 64, "%s", row_get(res, 0, "f"));
	snprintf(range[1], 64, "%s", row_get(res, 0, "t"));
	PQclear(res);
	return 0;
}

int
h_analytics_csat(struct request *req, struct ctx *ctx)
{
	char	    range[2][64];
	const char *p[3] = { ctx->who.company_id, range[0], range[1] };

	if (analytics_range(req, ctx, range) == -1)
		return 0;
	return api_get_one(req, ctx, &q_csat, p);
}

int
h_conversation_list(struct request *req, struct ctx *ctx)
{
	const char *a = router_arg(req, "assignee"), *p[10];
	char	    us[20], cid[37], limit[8];

	memset(p, 0, sizeof(p));
	p[0] = ctx->who.company_id;
	p[1] = router_arg(req, "status");
	p[2] = router_arg(req, "unanswered");
	/* "me": the member asking, or the API key's creator; "none": no one. */
	if (a != NULL && strcmp(a, "me") == 0)
		p[3] = ctx->who.user_id;
	else if (a != NULL && strcmp(a, "none") != 0)
		p[3] = a;
	p[4] = a != NULL && strcmp(a, "none") == 0 ? "true" : "false";
	p[5] = router_arg(req, "chatbot");
	if (api_cursor(req, us, cid)) {
		p[6] = us;
		p[7] = cid;
	}
	snprintf(
	    limit, sizeof(limit), "%lld", router_arg_int(req, "limit", 25));
	p[8] = limit;
	p[9] = router_arg(req, "label");
	return api_page(req, ctx, &q_conv_list, p, strtol(limit, NULL, 10));
}

int
h_conversation_get(struct request *req, struct ctx *ctx)
{
	const char *p[2] = { ctx->who.company_id, router_param(req, "id") };
	PGresult   *res, *msgs = NULL;
	json_t	   *o;
	int	    rc = -1;

	if ((res = db_exec(ctx->db, &q_conv_get, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return router_not_found(req);
	}
	if ((o = row_json(&row_conversation, res, 0)) != NULL &&
	    (msgs = db_exec_commit(ctx->db, &q_conv_msgs, p)) != NULL &&
	    json_object_set_new(
		o, "messages", row_json_all(&row_message, msgs)) == 0)
		rc = http_send_json(req, 200, o);
	PQclear(res);
	PQclear(msgs);
	json_decref(o);
	return rc;
}

/*
 * Locks conversation 'id'; fills 'status', 'bot' and, if not NULL,
 * 'restricted' (its visitor's processing is restricted). 1 found, 0 not,
 * -1.
 */
static int
lock_conv(struct ctx *ctx, const char *id, char status[16], char bot[37],
    int *restricted)
{
	const char *p[2] = { ctx->who.company_id, id };
	PGresult   *res = db_exec(ctx->db, &q_conv_lock, p);
	int	    found;

	if (res == NULL)
		return -1;
	found = PQntuples(res) == 1;
	if (found) {
		snprintf(status, 16, "%s", row_get(res, 0, "status"));
		snprintf(bot, 37, "%s", row_get(res, 0, "chatbot_id"));
		if (restricted != NULL)
			*restricted = row_bool(res, 0, "restricted");
	}
	PQclear(res);
	return found;
}

/* An agent's replayed reply: the message first stored. */
static int
send_agent_message(
    struct request *req, json_t *msg, json_t *reply, const char *status)
{
	(void)reply;
	(void)status;
	return http_send_json(req, 201, msg);
}

int
api_agent_answered(struct ctx *ctx, const char *id)
{
	const char *p[3] = { ctx->who.company_id, id, ctx->who.user_id };
	char	    assignee[37];
	PGresult   *res;

	if (conv_set_status(ctx, id, "open", "agent", NULL, assignee) == -1)
		return -1;
	/* The first agent to answer takes the conversation. Every list
	 * learns it is open now, and whose. */
	if ((res = db_exec(ctx->db, &q_conv_assign_if_none, p)) == NULL)
		return -1;
	rt_status(ctx, id, "open",
	    PQntuples(res) == 1 ? row_get(res, 0, "assignee_id") : assignee);
	PQclear(res);
	return 0;
}

int
h_conversation_reply(struct request *req, struct ctx *ctx)
{
	const char     *id = router_param(req, "id");
	const char     *content = api_body_str(req, "content");
	struct verr	err = { .field = "content", .code = "length" };
	struct conv_msg m;
	struct idem	k;
	struct db_call	kc;
	char		status[16], bot[37];
	json_t	       *msg = NULL;
	PGresult       *res;
	int		found, rc = -1;

	/* The spec's bound is the largest; the configuration may say less. */
	if (strlen(content) > (size_t)ctx->conf->widget_message_max)
		return validate_problem(req, &err);
	if (idem_read(req, ctx, id, content, &k) == HTTP_ANSWERED)
		return 0;
	if ((found = lock_conv(ctx, id, status, bot, NULL)) != 1)
		return found == 0 ? router_not_found(req) : -1;
	memset(&m, 0, sizeof(m));
	m.role = "agent";
	m.author_id = ctx->who.user_id;
	m.content = content;
	m.prompt_tokens = m.completion_tokens = -1;
	if ((msg = conv_add(ctx, id, &m)) == NULL)
		goto out;
	if (k.on) {
		idem_call(ctx, id, &k, &kc);
		if ((res = db_exec(ctx->db, kc.st, kc.params)) == NULL) {
			/* A retry: the first reply is the answer. */
			rc = idem_replay(req, ctx, &k, send_agent_message) ==
				HTTP_ANSWERED
			    ? 0
			    : -1;
			goto out;
		}
		PQclear(res);
	}
	if (api_agent_answered(ctx, id) == -1)
		goto out;
	rt_message(ctx, id, msg);
	if (db_commit(ctx->db) == -1)
		goto out;
	rc = http_send_json(req, 201, msg);
out:
	json_decref(msg);
	return rc;
}

int
h_conversation_patch(struct request *req, struct ctx *ctx)
{
	const char *id = router_param(req, "id"), *p[3];
	const char *st = api_body_str(req, "status");
	struct verr err = { .field = "assignee_id", .code = "unknown" };
	char	    status[16], bot[37];
	json_t	   *a = json_object_get(req->json, "assignee_id"), *o;
	PGresult   *res;
	int	    found, rc;

	if ((found = lock_conv(ctx, id, status, bot, NULL)) != 1)
		return found == 0 ? router_not_found(req) : -1;
	p[0] = ctx->who.company_id;
	if (a != NULL) {
		p[1] = json_string_value(a);
		/* "me", as in the assignee=me filter: the member asking. */
		if (p[1] != NULL && strcmp(p[1], "me") == 0) {
			if (ctx->who.kind != AUTH_USER) {
				err.code = "format"; /* a key is nobody */
				return validate_problem(req, &err);
			}
			p[1] = ctx->who.user_id;
		}
		if (p[1] != NULL) {
			if ((res = db_exec(ctx->db, &q_member, p)) == NULL)
				return -1;
			found = PQntuples(res);
			PQclear(res);
			if (found != 1)
				return validate_problem(req, &err);
		}
		p[2] = p[1];
		p[1] = id;
		if ((res = db_exec(ctx->db, &q_conv_assign, p)) == NULL)
			return -1;
		PQclear(res);
	}
	if (st != NULL && strcmp(st, status) != 0 &&
	    conv_set_status(ctx, id, st, "agent", NULL, NULL) == -1)
		return -1;
	p[1] = id;
	if ((res = db_exec(ctx->db, &q_conv_get, p)) == NULL)
		return -1;
	rt_status(
	    ctx, id, row_get(res, 0, "status"), row_opt(res, 0, "assignee_id"));
	o = db_commit(ctx->db) == 0 ? row_json(&row_conversation, res, 0)
				    : NULL;
	rc = o != NULL ? http_send_json(req, 200, o) : -1;
	json_decref(o);
	PQclear(res);
	return rc;
}

static struct db_stmt q_draft_new = { "draft_new",
	"WITH d AS (INSERT INTO drafts (company_id, conversation_id, "
	"requested_by) VALUES ($1, $2, $3) RETURNING id, conversation_id, "
	"status, created_at), j AS (INSERT INTO reply_jobs (company_id, "
	"conversation_id, kind, draft_id) SELECT $1, $2, 'draft', id FROM d) "
	"SELECT id, conversation_id, status, NULL::text AS draft, "
	"'[]'::jsonb AS citations, NULL::text AS source, created_at, "
	"NULL::timestamptz AS done_at FROM d",
	3, 0, 0 };
static struct db_stmt q_draft_get = { "draft_get",
	"SELECT {{Draft}} FROM drafts WHERE company_id = $1 AND "
	"conversation_id = $2 AND id = $3",
	3, 0, 0 };

/*
 * POST /suggest queues a draft for the answerer and answers 202 at once;
 * the draft arrives on the agent's event stream ("draft.delta", then
 * "draft") and stays readable at GET .../suggestions/{id} for a day.
 */
int
h_conversation_suggest(struct request *req, struct ctx *ctx)
{
	const char    *id = router_param(req, "id"), *p[3];
	char	       status[16], bot[37];
	struct db_call dc;
	PGresult      *res = NULL;
	json_t	      *o = NULL;
	int	       found, restricted = 0, rc = -1;

	if ((found = lock_conv(ctx, id, status, bot, &restricted)) != 1)
		return found == 0 ? router_not_found(req) : -1;
	if (restricted) {
		db_rollback(ctx->db);
		return api_problem(req, 409, "processing_restricted",
		    "This visitor restricted the processing of their data: no "
		    "drafts by the language model");
	}
	p[0] = ctx->who.company_id;
	p[1] = id;
	if ((res = db_exec(ctx->db, &q_last_visitor, p)) == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		db_rollback(ctx->db);
		rc = api_problem(req, 409, "nothing_to_answer",
		    "The visitor has not written anything yet");
		goto out;
	}
	PQclear(res);
	p[2] = ctx->who.user_id[0] != '\0' ? ctx->who.user_id : NULL;
	dc.st = &q_draft_new;
	dc.params = p;
	dc.out = &res;
	/* The answerers are woken in the same round trip, after COMMIT. */
	if (db_exec_many_then(ctx->db, &dc, 1, &answer_wake_stmt) == -1)
		goto out;
	o = row_json(&row_draft, res, 0);
	rc = o != NULL ? http_send_json(req, 202, o) : -1;
out:
	PQclear(res);
	json_decref(o);
	return rc;
}

int
h_conversation_suggestion_get(struct request *req, struct ctx *ctx)
{
	const char *p[3] = { ctx->who.company_id, router_param(req, "id"),
		router_param(req, "draft") };

	return api_get_one(req, ctx, &q_draft_get, p);
}

int
h_analytics_summary(struct request *req, struct ctx *ctx)
{
	char	    range[2][64];
	const char *p[3] = { ctx->who.company_id, range[0], range[1] };

	if (analytics_range(req, ctx, range) == -1)
		return 0;
	return api_get_one(req, ctx, &q_summary, p);
}

/* The conversation, and the copies of it in webhook deliveries. */
static struct db_stmt q_conv_delete = { "conversation_delete",
	"WITH w AS (DELETE FROM webhook_deliveries d WHERE d.company_id = $1 "
	"AND (d.payload->'data'->>'conversation_id' = $2::text OR "
	"(d.event_type LIKE 'conversation.%' AND d.payload->'data'->>'id' = "
	"$2::text))) DELETE FROM conversations WHERE company_id = $1 AND id = "
	"$2::text::uuid",
	2, 0, 0 };

int
h_conversation_delete(struct request *req, struct ctx *ctx)
{
	const char *id = router_param(req, "id"),
		   *p[2] = { ctx->who.company_id, id };
	PGresult *res;

	if ((res = db_exec(ctx->db, &q_conv_delete, p)) == NULL)
		return -1;
	if (strtol(PQcmdTuples(res), NULL, 10) == 0) {
		PQclear(res);
		return router_not_found(req);
	}
	PQclear(res);
	if (api_audit(req, ctx, id, NULL, NULL) == -1)
		return -1;
	rt_conversation_deleted(ctx, id);
	if (db_commit(ctx->db) == -1)
		return -1;
	return http_send_empty(req, 204);
}
