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
#include "audit.h"
#include "bot.h"
#include "conf.h"
#include "conv.h"
#include "db.h"
#include "idem.h"
#include "realtime.h"
#include "util.h"
#include "validate.h"

#define LIST_MAX 100
#define THREAD_MAX 1000 /* messages returned with one conversation */

/* Unanswered: waiting for a human, or the visitor spoke last. */
#define UNANSWERED                                                             \
	"(c.status = 'pending' OR (c.status <> 'resolved' AND c.last_role = "  \
	"'visitor'))"
#define CONV_COLS                                                              \
	"c.id, c.chatbot_id, c.visitor_id, v.name, v.email, v.verified, "      \
	"c.status, c.assignee_id, c.handoff_reason, c.flag_reason, "           \
	"c.message_count, c.last_role, c.tokens, c.created_at, "               \
	"c.last_message_at, " UNANSWERED ", (extract(epoch FROM "              \
	"c.last_message_at) * 1000000)::bigint"
#define CONV_FROM                                                              \
	" FROM conversations c JOIN visitors v ON v.company_id = "             \
	"c.company_id "                                                        \
	"AND v.id = c.visitor_id "

static struct db_stmt q_conv_list = { "conversation_list",
	"SELECT " CONV_COLS CONV_FROM
	"WHERE c.company_id = $1 AND ($2::text IS "
	"NULL OR c.status = $2) AND ($3::boolean IS NULL OR " UNANSWERED
	" = $3) AND ($4::uuid IS NULL OR c.assignee_id = $4) AND (NOT "
	"$5::boolean OR c.assignee_id IS NULL) AND ($6::uuid IS NULL OR "
	"c.chatbot_id = $6) AND ($7::bigint IS NULL OR (c.last_message_at, "
	"c.id) < ('epoch'::timestamptz + $7::bigint * interval '1 "
	"microsecond', $8::uuid)) ORDER BY c.last_message_at DESC, c.id DESC "
	"LIMIT $9::integer",
	9, 0, 0 };
static struct db_stmt q_conv_get = { "conversation_get",
	"SELECT " CONV_COLS CONV_FROM "WHERE c.company_id = $1 AND c.id = $2",
	2, 0, 0 };
static struct db_stmt q_conv_msgs = { "conversation_messages",
	"SELECT " MSG_COLS
	" FROM (SELECT * FROM messages WHERE company_id = $1 "
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
	"SELECT coalesce($1::timestamptz, now() - interval '30 days'), "
	"coalesce($2::timestamptz, now())",
	2, 0, 0 };
static struct db_stmt q_summary = { "analytics_summary",
	"SELECT count(*), coalesce(sum(message_count), 0), count(*) FILTER "
	"(WHERE handed_off_at IS NULL AND first_response_at IS NOT NULL), "
	"count(*) FILTER (WHERE handed_off_at IS NOT NULL), count(*) FILTER "
	"(WHERE status = 'resolved'), percentile_cont(0.5) WITHIN GROUP "
	"(ORDER BY extract(epoch FROM first_response_at - first_visitor_at)), "
	"coalesce(sum(tokens), 0), count(*) FILTER (WHERE flag_reason IS NOT "
	"NULL) FROM (SELECT message_count, handed_off_at, first_response_at, "
	"first_visitor_at, status, tokens, flag_reason FROM conversations x "
	"WHERE company_id = $1 AND created_at >= $2::timestamptz AND "
	"created_at < $3::timestamptz AND NOT EXISTS (SELECT 1 FROM visitors "
	"v WHERE v.company_id = $1 AND v.id = x.visitor_id AND v.restricted) "
	"UNION ALL SELECT message_count, "
	"handed_off_at, first_response_at, first_visitor_at, status, tokens, "
	"flag_reason FROM conversation_stats WHERE company_id = $1 AND "
	"created_at >= $2::timestamptz AND created_at < $3::timestamptz) c",
	3, 0, 0 };

static json_t *
conv_json(PGresult *res, int i)
{
#define S(col) (PQgetisnull(res, i, col) ? NULL : PQgetvalue(res, i, col))
#define V(col) PQgetvalue(res, i, col)
	return json_pack("{s:s,s:s,s:{s:s,s:s*,s:s*,s:b},s:s,s:s*,s:s*,s:s*,"
			 "s:i,s:s*,s:I,s:s,s:s,s:b}",
	    "id", V(0), "chatbot_id", V(1), "visitor", "id", V(2), "name", S(3),
	    "email", S(4), "verified", strcmp(V(5), "t") == 0, "status", V(6),
	    "assignee_id", S(7), "handoff_reason", S(8), "flag_reason", S(9),
	    "message_count", (int)strtol(V(10), NULL, 10), "last_role", S(11),
	    "tokens", (json_int_t)strtoll(V(12), NULL, 10), "created_at", V(13),
	    "last_message_at", V(14), "unanswered", strcmp(V(15), "t") == 0);
#undef S
#undef V
}

/* Answers 400 for a malformed query parameter 'name'. */
static int
bad_query(struct request *req, const char *name)
{
	return http_bad_query(req, name, "A query parameter is malformed");
}

int
h_conversation_list(struct request *req, struct ctx *ctx)
{
	char	    status[16], unans[8], assignee[40], bot[40];
	char	    cur_us[20], cur_id[37];
	char	    limit[8] = "25", *us;
	const char *p[9];
	PGresult   *res;
	json_t	   *items;
	long	    n;
	int	    i, rc, none = 0;

	memset(p, 0, sizeof(p));
	p[0] = ctx->who.company_id;
	if ((rc = http_query_get(req, "status", status, sizeof(status))) ==
		-1 ||
	    (rc == 1 && strcmp(status, "bot") != 0 &&
		strcmp(status, "pending") != 0 && strcmp(status, "open") != 0 &&
		strcmp(status, "resolved") != 0))
		return bad_query(req, "status");
	p[1] = rc == 1 ? status : NULL;
	if ((rc = http_query_get(req, "unanswered", unans, sizeof(unans))) ==
		-1 ||
	    (rc == 1 && strcmp(unans, "true") != 0 &&
		strcmp(unans, "false") != 0))
		return bad_query(req, "unanswered");
	p[2] = rc == 1 ? unans : NULL;
	if ((rc = http_query_get(
		 req, "assignee", assignee, sizeof(assignee))) == -1)
		return bad_query(req, "assignee");
	if (rc == 1) {
		if (strcmp(assignee, "me") == 0)
			p[3] = ctx->who.user_id;
		else if (strcmp(assignee, "none") == 0)
			none = 1;
		else if (db_uuid_valid(assignee))
			p[3] = assignee;
		else
			return bad_query(req, "assignee");
	}
	p[4] = none ? "true" : "false";
	if ((rc = http_query_get(req, "chatbot", bot, sizeof(bot))) == -1 ||
	    (rc == 1 && !db_uuid_valid(bot)))
		return bad_query(req, "chatbot");
	p[5] = rc == 1 ? bot : NULL;
	/* The cursor is "<microseconds>_<id>" of the last row seen. */
	if ((rc = http_cursor_get(req, cur_us, cur_id)) == -1)
		return bad_query(req, "cursor");
	if (rc == 1) {
		p[6] = cur_us;
		p[7] = cur_id;
	}
	if ((rc = http_query_get(req, "limit", limit, sizeof(limit))) == -1 ||
	    (n = strtol(limit, &us, 10)) < 1 || n > LIST_MAX || *us != '\0')
		return bad_query(req, "limit");
	p[8] = limit;
	if ((res = db_exec_commit(ctx->db, &q_conv_list, p)) == NULL)
		return -1;
	items = json_array();
	for (i = 0; i < PQntuples(res); i++)
		json_array_append_new(items, conv_json(res, i));
	rc = http_send_page(req, items, res, (int)n, 16, 0);
	PQclear(res);
	return rc;
}

int
h_conversation_get(struct request *req, struct ctx *ctx)
{
	const char *id = router_param(req, "id"), *p[2];
	PGresult   *res;
	json_t	   *o, *msgs;
	int	    i, rc;

	p[0] = ctx->who.company_id;
	p[1] = id;
	if ((res = db_exec(ctx->db, &q_conv_get, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return router_not_found(req);
	}
	o = conv_json(res, 0);
	PQclear(res);
	if ((res = db_exec_commit(ctx->db, &q_conv_msgs, p)) == NULL) {
		json_decref(o);
		return -1;
	}
	msgs = json_array();
	for (i = 0; i < PQntuples(res); i++)
		json_array_append_new(msgs, conv_msg_json(res, i));
	PQclear(res);
	json_object_set_new(o, "messages", msgs);
	rc = http_send_json(req, 200, o);
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
		snprintf(status, 16, "%s", PQgetvalue(res, 0, 0));
		snprintf(bot, 37, "%s", PQgetvalue(res, 0, 1));
		if (restricted != NULL)
			*restricted = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
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
h_conversation_reply(struct request *req, struct ctx *ctx)
{
	const char     *id = router_param(req, "id"), *p[3];
	struct field	f = FIELD("content", V_TEXT, 1, 0, F_REQUIRED);
	struct verr	err;
	struct conv_msg m;
	struct idem	k;
	struct db_call	kc;
	char		status[16], bot[37];
	json_t	       *msg = NULL;
	PGresult       *res;
	int		found, rc = -1;

	f.max = ctx->conf->widget_message_max;
	if (validate_object(req->json, &f, 1, 0, &err) == -1)
		return validate_problem(req, &err);
	if (idem_read(req, ctx, id,
		json_string_value(json_object_get(req->json, "content")),
		&k) == -1)
		return 0;
	if ((found = lock_conv(ctx, id, status, bot, NULL)) != 1)
		return found == 0 ? router_not_found(req) : -1;
	memset(&m, 0, sizeof(m));
	m.role = "agent";
	m.author_id = ctx->who.user_id;
	m.content = json_string_value(json_object_get(req->json, "content"));
	m.prompt_tokens = m.completion_tokens = -1;
	if ((msg = conv_add(ctx, id, &m)) == NULL)
		goto out;
	if (k.on) {
		idem_call(ctx, id, &k, &kc);
		if ((res = db_exec(ctx->db, kc.st, kc.params)) == NULL) {
			/* A retry: the first reply is the answer. */
			rc = idem_replay(req, ctx, &k, send_agent_message) == 1
			    ? 0
			    : -1;
			goto out;
		}
		PQclear(res);
	}
	if (conv_set_status(ctx, id, "open", "agent", NULL) == -1)
		goto out;
	rt_message(ctx, id, msg);
	/* The first agent to answer takes the conversation. */
	p[0] = ctx->who.company_id;
	p[1] = id;
	p[2] = ctx->who.user_id;
	res = db_exec(ctx->db, &q_conv_assign_if_none, p);
	if (res == NULL)
		goto out;
	if (PQntuples(res) == 1)
		rt_status(ctx, id, "open",
		    PQgetisnull(res, 0, 0) ? NULL : PQgetvalue(res, 0, 0));
	PQclear(res);
	if (db_commit(ctx->db) == -1)
		goto out;
	rc = http_send_json(req, 201, msg);
out:
	json_decref(msg);
	return rc;
}

static const struct field f_patch[] = {
	FIELD("status", V_TOKEN, 3, 8, 0),
	FIELD("assignee_id", V_UUID, 0, 0, F_NULLABLE),
};

int
h_conversation_patch(struct request *req, struct ctx *ctx)
{
	const char *id = router_param(req, "id"), *st, *p[3];
	struct verr err;
	char	    status[16], bot[37];
	json_t	   *a;
	PGresult   *res;
	int	    found;

	/* "me", as in the assignee=me filter: the member asking. */
	a = json_object_get(req->json, "assignee_id");
	if (json_is_string(a) && strcmp(json_string_value(a), "me") == 0) {
		if (ctx->who.kind != AUTH_USER ||
		    !db_uuid_valid(ctx->who.user_id)) {
			err.field = "assignee_id";
			err.code =
			    "format"; /* an API key is nobody to assign */
			return validate_problem(req, &err);
		}
		json_object_set_new(
		    req->json, "assignee_id", json_string(ctx->who.user_id));
	}
	if (validate_object(req->json, f_patch, nitems(f_patch), 0, &err) == -1)
		return validate_problem(req, &err);
	st = json_string_value(json_object_get(req->json, "status"));
	if (st != NULL && strcmp(st, "bot") != 0 &&
	    strcmp(st, "pending") != 0 && strcmp(st, "open") != 0 &&
	    strcmp(st, "resolved") != 0) {
		err.field = "status";
		err.code = "format";
		return validate_problem(req, &err);
	}
	if ((found = lock_conv(ctx, id, status, bot, NULL)) != 1)
		return found == 0 ? router_not_found(req) : -1;
	p[0] = ctx->who.company_id;
	if ((a = json_object_get(req->json, "assignee_id")) != NULL) {
		p[1] = json_string_value(a);
		if (p[1] != NULL) {
			if ((res = db_exec(ctx->db, &q_member, p)) == NULL)
				return -1;
			found = PQntuples(res);
			PQclear(res);
			if (found != 1) {
				err.field = "assignee_id";
				err.code = "unknown";
				return validate_problem(req, &err);
			}
		}
		p[2] = p[1];
		p[1] = id;
		if ((res = db_exec(ctx->db, &q_conv_assign, p)) == NULL)
			return -1;
		PQclear(res);
	}
	if (st != NULL && strcmp(st, status) != 0 &&
	    conv_set_status(ctx, id, st, "agent", NULL) == -1)
		return -1;
	p[1] = id;
	if ((res = db_exec(ctx->db, &q_conv_get, p)) == NULL)
		return -1;
	rt_status(ctx, id, PQgetvalue(res, 0, 6),
	    PQgetisnull(res, 0, 7) ? NULL : PQgetvalue(res, 0, 7));
	if (db_commit(ctx->db) == -1) {
		PQclear(res);
		return -1;
	}
	{
		json_t *o = conv_json(res, 0);
		int	rc = o != NULL ? http_send_json(req, 200, o) : -1;

		json_decref(o);
		PQclear(res);
		return rc;
	}
}

static struct db_stmt q_draft_new = { "draft_new",
	"WITH d AS (INSERT INTO drafts (company_id, conversation_id, "
	"requested_by) VALUES ($1, $2, $3) RETURNING id, conversation_id, "
	"status, created_at), j AS (INSERT INTO reply_jobs (company_id, "
	"conversation_id, kind, draft_id) SELECT $1, $2, 'draft', id FROM d) "
	"SELECT id, conversation_id, status, created_at FROM d",
	3, 0, 0 };
static struct db_stmt q_draft_get = { "draft_get",
	"SELECT id, conversation_id, status, content, citations, source, "
	"created_at, done_at FROM drafts WHERE company_id = $1 AND "
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
		return http_send_problem(req, 409, "processing_restricted",
		    "This visitor restricted the processing of their data: no "
		    "drafts by the language model",
		    NULL, NULL, NULL);
	}
	p[0] = ctx->who.company_id;
	p[1] = id;
	if ((res = db_exec(ctx->db, &q_last_visitor, p)) == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		db_rollback(ctx->db);
		rc = http_send_problem(req, 409, "nothing_to_answer",
		    "The visitor has not written anything yet", NULL, NULL,
		    NULL);
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
	o = json_pack("{s:s,s:s,s:s,s:s}", "id", PQgetvalue(res, 0, 0),
	    "conversation_id", PQgetvalue(res, 0, 1), "status",
	    PQgetvalue(res, 0, 2), "created_at", PQgetvalue(res, 0, 3));
	rc = o != NULL ? http_send_json(req, 202, o) : -1;
out:
	PQclear(res);
	json_decref(o);
	return rc;
}

int
h_conversation_suggestion_get(struct request *req, struct ctx *ctx)
{
	const char *id = router_param(req, "id"),
		   *did = router_param(req, "draft"), *p[3];
	PGresult *res;
	json_t	 *o;
	int	  rc;

	p[0] = ctx->who.company_id;
	p[1] = id;
	p[2] = did;
	if ((res = db_exec_commit(ctx->db, &q_draft_get, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return router_not_found(req);
	}
	o = json_pack("{s:s,s:s,s:s,s:s?,s:o,s:s?,s:s,s:s?}", "id",
	    PQgetvalue(res, 0, 0), "conversation_id", PQgetvalue(res, 0, 1),
	    "status", PQgetvalue(res, 0, 2), "draft",
	    PQgetisnull(res, 0, 3) ? NULL : PQgetvalue(res, 0, 3), "citations",
	    PQgetisnull(res, 0, 4) ? json_array()
				   : json_loads(PQgetvalue(res, 0, 4), 0, NULL),
	    "source", PQgetisnull(res, 0, 5) ? NULL : PQgetvalue(res, 0, 5),
	    "created_at", PQgetvalue(res, 0, 6), "done_at",
	    PQgetisnull(res, 0, 7) ? NULL : PQgetvalue(res, 0, 7));
	PQclear(res);
	rc = o != NULL ? http_send_json(req, 200, o) : -1;
	json_decref(o);
	return rc;
}

int
h_analytics_summary(struct request *req, struct ctx *ctx)
{
	char	    from[40], to[40], range[2][40];
	const char *p[3];
	PGresult   *res;
	json_t	   *o;
	int	    rf, rt, rc;

	if ((rf = http_query_get(req, "from", from, sizeof(from))) == -1)
		return bad_query(req, "from");
	if ((rt = http_query_get(req, "to", to, sizeof(to))) == -1)
		return bad_query(req, "to");
	p[0] = rf == 1 ? from : NULL;
	p[1] = rt == 1 ? to : NULL;
	if ((res = db_exec(ctx->db, &q_range, p)) == NULL) {
		/* An unparsable time aborted the transaction. */
		db_rollback(ctx->db);
		return bad_query(req, rf == 1 ? "from" : "to");
	}
	snprintf(range[0], sizeof(range[0]), "%s", PQgetvalue(res, 0, 0));
	snprintf(range[1], sizeof(range[1]), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	p[0] = ctx->who.company_id;
	p[1] = range[0];
	p[2] = range[1];
	if ((res = db_exec_commit(ctx->db, &q_summary, p)) == NULL)
		return -1;
#define I(col) (json_int_t) strtoll(PQgetvalue(res, 0, col), NULL, 10)
	o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "from", range[0],
	    "to", range[1], "conversations", I(0), "messages", I(1),
	    "bot_resolved", I(2), "handed_off", I(3), "resolved", I(4),
	    "tokens", I(6), "flagged", I(7));
#undef I
	if (o != NULL)
		json_object_set_new(o, "median_first_response_seconds",
		    PQgetisnull(res, 0, 5)
			? json_null()
			: json_real(strtod(PQgetvalue(res, 0, 5), NULL)));
	PQclear(res);
	rc = o != NULL ? http_send_json(req, 200, o) : -1;
	json_decref(o);
	return rc;
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
	const char	  *id = router_param(req, "id"), *p[2];
	struct audit_entry e = { 0 };
	PGresult	  *res;
	long		   n;

	p[0] = ctx->who.company_id;
	p[1] = id;
	if ((res = db_exec(ctx->db, &q_conv_delete, p)) == NULL)
		return -1;
	n = strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	if (n == 0)
		return router_not_found(req);
	e.action = "conversation.delete";
	e.resource_type = "conversation";
	e.resource_id = id;
	if (audit_write(ctx, req, &e) == -1)
		return -1;
	rt_conversation_deleted(ctx, id);
	if (db_commit(ctx->db) == -1)
		return -1;
	return http_send_empty(req, 204);
}
