/*
 * api_widget.c: the visitor side, called by the chat widget.
 *
 * POST /api/v1/widget/sessions is the only widget call made from the host
 * page (by the loader): it answers, with CORS headers, only when the
 * request's Origin is one of the chatbot's allowed origins, and returns a
 * visitor token bound to that chatbot. Every other widget call carries
 * that token (AUTH_VISITOR) and reaches only the visitor's own
 * conversations. A visitor may be verified: an HMAC-SHA256 of the
 * customer's user id under the chatbot's identity secret, computed by the
 * customer's backend.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "answer.h"
#include "api.h"
#include "handler.h"
#include "resources.h"
#include "bot.h"
#include "bot_text.h"
#include "conf.h"
#include "conv.h"
#include "crypto.h"
#include "db.h"
#include "idem.h"
#include "server_keys.h"
#include "log.h"
#include "ratelimit.h"
#include "plans.h"
#include "realtime.h"
#include "token.h"
#include "util.h"
#include "validate.h"

static struct db_stmt q_bot_lookup = { "widget_bot_lookup",
	"SELECT company_id, chatbot_id FROM parley_lookup_bot($1)", 1,
	DB_RETRY_SAFE, 0 };
static struct db_stmt q_origin_lookup = { "widget_origin_lookup",
	"SELECT parley_lookup_origin($1) AS allowed", 1, DB_RETRY_SAFE, 0 };
static struct db_stmt q_bot_widget = { "widget_bot",
	"SELECT $3 = ANY (b.allowed_origins) AS allowed, b.require_verified, "
	"b.identity_secret_enc, {{WidgetChatbot b}} FROM chatbots b WHERE "
	"b.company_id = $1 AND b.id = $2",
	3, 0, 0 };
static struct db_stmt q_visitor_new = { "visitor_new",
	"INSERT INTO visitors (company_id, chatbot_id) VALUES ($1, $2) "
	"RETURNING id",
	2, 0, 0 };
static struct db_stmt q_visitor_known = { "visitor_known",
	"INSERT INTO visitors (company_id, chatbot_id, external_id, email, "
	"name, verified) VALUES ($1, $2, $3, $4, $5, true) ON CONFLICT "
	"(company_id, chatbot_id, external_id) WHERE external_id IS NOT NULL "
	"DO UPDATE SET email = coalesce(EXCLUDED.email, visitors.email), name "
	"= coalesce(EXCLUDED.name, visitors.name), last_seen_at = now() "
	"RETURNING id",
	5, 0, 0 };
/* In the visitor's locale ($4) when the chatbot offers it, else its own. */
static struct db_stmt q_wconv_new = { "widget_conversation_new",
	"INSERT INTO conversations (company_id, chatbot_id, visitor_id, "
	"locale) SELECT $1, $2, $3, CASE WHEN $4::text = ANY (b.locales) THEN "
	"$4 ELSE b.locales[1] END FROM chatbots b WHERE b.company_id = $1 AND "
	"b.id = $2 RETURNING {{WidgetConversation}}",
	4, 0, 0 };
static struct db_stmt q_wconv_list = { "widget_conversation_list",
	"SELECT {{WidgetConversation}} FROM conversations WHERE company_id = "
	"$1 AND "
	"visitor_id = $2 ORDER BY created_at DESC LIMIT 20",
	2, 0, 0 };
static struct db_stmt q_wconv_lock = { "widget_conversation_lock",
	"SELECT status, coalesce(locale, '') AS locale FROM conversations "
	"WHERE company_id = $1 AND id = $2 AND visitor_id = $3 FOR UPDATE",
	3, 0, 0 };
/* Whether a person can answer the conversation's visitor now, and the
 * address the visitor left for replies. */
static struct db_stmt q_available = { "widget_agents_available",
	"SELECT {{Availability b}}, v.contact_email, v.contact_confirmed_at "
	"IS NOT NULL AS contact_confirmed FROM conversations c JOIN chatbots "
	"b ON b.company_id = c.company_id AND b.id = c.chatbot_id JOIN "
	"visitors v ON v.company_id = c.company_id AND v.id = c.visitor_id "
	"WHERE c.company_id = $1 AND c.id = $2",
	2, 0, 0 };
static struct db_stmt q_wconv_lock_rating = { "widget_conversation_rating",
	"SELECT status, rated_at FROM conversations WHERE company_id = $1 AND "
	"id = $2 AND visitor_id = $3 FOR UPDATE",
	3, 0, 0 };
static struct db_stmt q_wmsgs = { "widget_messages",
	"SELECT {{WidgetMessage}} FROM messages m JOIN conversations c ON "
	"c.company_id = m.company_id AND c.id = m.conversation_id WHERE "
	"m.company_id = $1 AND m.conversation_id = $2 AND c.visitor_id = $3 "
	"AND m.seq > $4::integer ORDER BY m.seq LIMIT 200",
	4, 0, 0 };
static struct db_stmt q_wconv_owned = { "widget_conversation_owned",
	"SELECT status FROM conversations WHERE company_id = $1 AND id = $2 "
	"AND visitor_id = $3",
	3, 0, 0 };

/* Answers the CORS headers for 'origin' (already checked). */
static void
cors(struct request *req, const char *origin)
{
	(void)http_add_header(req, "Access-Control-Allow-Origin", origin);
	(void)http_add_header(req, "Vary", "Origin");
}

int
h_widget_preflight(struct request *req, struct ctx *ctx)
{
	const char *p[1] = { req->origin };
	PGresult   *res;
	int	    ok;

	(void)http_add_header(req, "Vary", "Origin");
	if (req->origin == NULL || !validate_origin(req->origin))
		return api_problem(req, 403, "origin_not_allowed",
		    "This site may not open a chat session");
	if ((res = db_exec(ctx->db, &q_origin_lookup, p)) == NULL)
		return api_unavailable(req);
	ok = PQntuples(res) == 1 && row_bool(res, 0, "allowed");
	PQclear(res);
	if (!ok)
		return api_problem(req, 403, "origin_not_allowed",
		    "This site may not open a chat session");
	(void)http_add_header(req, "Access-Control-Allow-Origin", req->origin);
	(void)http_add_header(req, "Access-Control-Allow-Methods", "POST");
	(void)http_add_header(
	    req, "Access-Control-Allow-Headers", "Content-Type");
	(void)http_add_header(req, "Access-Control-Max-Age", "600");
	return http_send_empty(req, 204);
}

/*
 * Checks 'mac' (64 hex digits) against HMAC-SHA256('user_id') under the
 * identity secret sealed in 'enc', in constant time. Returns 1 if it
 * matches, 0 if not, -1 on error.
 */
static int
identity_ok(
    const char *cid, const char *enc, const char *user_id, const char *mac)
{
	unsigned char secret[128], want[32], got[32];
	unsigned int  wl = sizeof(want);
	size_t	      i;
	int	      n, ok;

	for (i = 0; i < 32; i++) {
		unsigned int b;

		if (sscanf(mac + 2 * i, "%2x", &b) != 1)
			return 0;
		got[i] = (unsigned char)b;
	}
	n = keyring_decrypt(keys_ring(), cid, enc, secret, sizeof(secret));
	if (n <= 0)
		return -1;
	ok = HMAC(EVP_sha256(), secret, n, (const unsigned char *)user_id,
		 strlen(user_id), want, &wl) != NULL &&
	    wl == sizeof(want) && crypto_equal(want, got, sizeof(want));
	crypto_wipe(secret, sizeof(secret));
	crypto_wipe(want, sizeof(want));
	return ok;
}

/* The HMAC must be 64 lower-case hexadecimal digits. */
static int
hex_bad(json_t *id, struct verr *err)
{
	const char *h = json_string_value(json_object_get(id, "hmac"));

	if (strspn(h, "0123456789abcdef") == 64)
		return 0;
	err->field = "hmac";
	err->code = "format";
	return 1;
}

static int
origin_refused(struct request *req)
{
	return api_problem(req, 403, "origin_not_allowed",
	    "This site may not open a chat session");
}

char *
widget_token_issue(const struct ctx *ctx, struct jwt_claims *c)
{
	size_t		     keylen;
	const unsigned char *key = keys_jwt(&keylen);

	return ptok_issue(key, keylen, ctx->conf->jwt_issuer, "parley-widget",
	    "visitor", time(NULL), ctx->conf->visitor_token_ttl, c);
}

int
h_widget_session(struct request *req, struct ctx *ctx)
{
	struct verr	  err;
	struct jwt_claims c;
	json_t		 *id, *o = NULL, *chatbot = NULL;
	const char	 *p[5], *bot_key, *uid = NULL;
	char		  cid[37], bot[37];
	char		 *tok = NULL;
	PGresult	 *res = NULL;
	int		  verified = 0, required, rc = -1, wait;
	char		  bucket[96], addr[64];

	id = json_object_get(req->json, "identity");
	if (json_is_object(id) && hex_bad(id, &err)) {
		char full[48];

		snprintf(full, sizeof(full), "identity.%s", err.field);
		err.field = full;
		return validate_problem(req, &err);
	}
	if (req->origin == NULL || !validate_origin(req->origin))
		return origin_refused(req);
	ratelimit_addr(req->remote_addr, addr, sizeof(addr));
	snprintf(bucket, sizeof(bucket), "widget:session:%s", addr);
	wait = ratelimit_hit(ctx->db, bucket, ctx->conf->widget_session_rate,
	    ctx->conf->widget_session_window, 1);
	if (wait != 0) {
		char hdr[48];

		if (wait < 0)
			return api_unavailable(req);
		snprintf(hdr, sizeof(hdr), "Retry-After: %d\r\n", wait);
		return http_send_problem(req, 429, "rate_limited",
		    "Too many chat sessions from this address: try again "
		    "later",
		    NULL, NULL, hdr);
	}
	bot_key = api_body_str(req, "bot_key");
	p[0] = bot_key;
	if ((res = db_exec(ctx->db, &q_bot_lookup, p)) == NULL)
		return api_unavailable(req);
	if (PQntuples(res) != 1) {
		PQclear(res);
		/* An unknown key says no more than a wrong origin. */
		return origin_refused(req);
	}
	snprintf(cid, sizeof(cid), "%s", row_get(res, 0, "company_id"));
	snprintf(bot, sizeof(bot), "%s", row_get(res, 0, "chatbot_id"));
	PQclear(res);
	p[0] = cid;
	p[1] = bot;
	p[2] = req->origin;
	if (db_tenant_begin(ctx->db, cid, &q_bot_widget, p, &res) == -1)
		return api_unavailable(req);
	if (res == NULL || PQntuples(res) != 1 ||
	    !row_bool(res, 0, "allowed")) {
		rc = origin_refused(req);
		goto out;
	}
	/* From here on the browser may read the answer. */
	cors(req, req->origin);
	required = row_bool(res, 0, "require_verified");
	if ((chatbot = row_json(&row_widget_chatbot, res, 0)) == NULL)
		goto out;
	if (json_is_object(id)) {
		int ok;

		uid = json_string_value(json_object_get(id, "user_id"));
		ok = identity_ok(cid, row_get(res, 0, "identity_secret_enc"),
		    uid, json_string_value(json_object_get(id, "hmac")));
		if (ok == -1)
			goto out;
		if (ok == 0) {
			log_event(LOG_INFO, "visitor_identity_refused",
			    LOG_S("reason", "hmac"));
			rc = api_problem(req, 403, "identity_invalid",
			    "The visitor's identity could not be verified");
			goto out;
		}
		verified = 1;
	}
	if (required && !verified) {
		rc = api_problem(req, 403, "verification_required",
		    "This chat is for signed-in customers only");
		goto out;
	}
	PQclear(res);
	p[0] = cid;
	p[1] = bot;
	if (verified) {
		p[2] = uid;
		p[3] = json_string_value(json_object_get(id, "email"));
		p[4] = json_string_value(json_object_get(id, "name"));
		res = db_exec(ctx->db, &q_visitor_known, p);
	} else
		res = db_exec(ctx->db, &q_visitor_new, p);
	if (res == NULL || PQntuples(res) != 1)
		goto out;
	memset(&c, 0, sizeof(c));
	snprintf(c.sub, sizeof(c.sub), "%s", row_get(res, 0, "id"));
	snprintf(c.cid, sizeof(c.cid), "%s", cid);
	snprintf(c.sid, sizeof(c.sid), "%s", bot);
	snprintf(c.role, sizeof(c.role), "visitor");
	if ((tok = widget_token_issue(ctx, &c)) == NULL ||
	    db_commit(ctx->db) == -1)
		goto out;
	o = json_pack("{s:s,s:s,s:i,s:{s:s,s:b},s:O}", "token", tok,
	    "token_type", "Bearer", "expires_in", ctx->conf->visitor_token_ttl,
	    "visitor", "id", c.sub, "verified", verified, "chatbot", chatbot);
	rc = o != NULL ? http_send_json(req, 201, o) : -1;
out:
	PQclear(res);
	if (tok != NULL) {
		crypto_wipe(tok, strlen(tok));
		free(tok);
	}
	json_decref(chatbot);
	json_decref(o);
	return rc;
}

int
h_widget_conversation_create(struct request *req, struct ctx *ctx)
{
	const char *p[4] = { ctx->who.company_id, ctx->who.chatbot_id,
		ctx->who.visitor_id, router_arg(req, "locale") };
	PGresult   *res;
	json_t	   *o;

	if ((res = db_exec_commit(ctx->db, &q_wconv_new, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return -1;
	}
	o = row_json(&row_widget_conversation, res, 0);
	PQclear(res);
	return api_send(req, 201, o);
}

int
h_widget_conversation_list(struct request *req, struct ctx *ctx)
{
	const char *p[2] = { ctx->who.company_id, ctx->who.visitor_id };

	return api_list(req, ctx, &q_wconv_list, p);
}

int
h_widget_messages(struct request *req, struct ctx *ctx)
{
	const char *conv = router_param(req, "id"), *p[4];
	const char *after = router_arg(req, "after");
	PGresult   *res;

	p[0] = ctx->who.company_id;
	p[1] = conv;
	p[2] = ctx->who.visitor_id;
	if ((res = db_exec(ctx->db, &q_wconv_owned, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return router_not_found(req);
	}
	PQclear(res);
	/* Which agent wrote is the company's business: not in the row. */
	p[3] = after != NULL ? after : "0";
	return api_list(req, ctx, &q_wmsgs, p);
}

/*
 * Admission (sql/022-answerer.sql): refuses the message, before anything
 * is stored, when the reply queue is too deep or the company's too old.
 */
static struct db_stmt q_admit = { "reply_admit",
	"SELECT parley_reply_admit($1, $2, $3::integer, $4::integer, "
	"$5::integer)",
	5, 0, 0 };
/* The reply job of the message just stored, if the bot is to answer. */
static struct db_stmt q_reply_job = { "reply_job_add",
	"INSERT INTO reply_jobs (company_id, conversation_id, kind, "
	"message_id) SELECT $1, $2, 'reply', m.id FROM messages m JOIN "
	"conversations c ON c.company_id = m.company_id AND c.id = "
	"m.conversation_id WHERE m.company_id = $1 AND m.conversation_id = $2 "
	"AND m.seq = c.message_count AND m.role = 'visitor' AND c.status = "
	"'bot' AND c.visitor_id = $3",
	3, 0, 0 };

/*
 * The answer of a visitor's message: the stored message, the reply when
 * one is stored already (a replay), the conversation's status and what
 * happens next ("queued": the bot's reply follows on the conversation's
 * events; "sent": it is here; "none": a person has the conversation).
 */
static int
send_accepted(
    struct request *req, json_t *msg, json_t *reply, const char *status)
{
	json_t *o;
	int	rc;

	o = json_pack("{s:O,s:O?,s:s,s:s}", "message", msg, "reply", reply,
	    "status", status, "reply_status",
	    reply != NULL		     ? "sent"
		: strcmp(status, "bot") == 0 ? "queued"
					     : "none");
	if (o == NULL)
		return -1;
	rc = http_send_json(req, 201, o);
	json_decref(o);
	return rc;
}

/* 503 with Retry-After: the answerers are behind; nothing was stored. */
static int
overloaded(struct request *req, struct ctx *ctx)
{
	char hdr[48];

	db_rollback(ctx->db);
	log_event(LOG_WARN, "reply_queue_full", LOG_S("reason", "admission"));
	snprintf(hdr, sizeof(hdr), "Retry-After: %d\r\n",
	    ctx->conf->answer_retry_after);
	return http_send_problem(req, 503, "answers_overloaded",
	    "Too many messages are waiting for an answer: try again shortly",
	    NULL, NULL, hdr);
}

int
h_widget_message_post(struct request *req, struct ctx *ctx)
{
	const char	   *conv = router_param(req, "id"), *content;
	struct verr	    err = { .field = "content", .code = "length" };
	struct plan_refusal refusal;
	struct conv_q	    q;
	struct conv_msg	    m;
	struct idem	    k;
	struct db_call	    calls[4];
	char		    status[16] = "", qmax[12], cmax[12], age[12];
	const char	   *ap[5], *jp[3];
	json_t		   *msg = NULL;
	int		    rc = -1, n = 0;

	content = api_body_str(req, "content");
	/* The spec's bound is the largest; the configuration may say less. */
	if (strlen(content) > (size_t)ctx->conf->widget_message_max)
		return validate_problem(req, &err);
	if (content[strspn(content, " \t\r\n")] == '\0') {
		err.field = "content";
		err.code = "empty";
		return validate_problem(req, &err);
	}
	if (idem_read(req, ctx, conv, content, &k) == HTTP_ANSWERED)
		return 0;
	/*
	 * One round trip, one short transaction: admission, the visitor's
	 * message (only into a conversation of theirs; a resolved one
	 * becomes the bot's again), its reply job when the bot has the
	 * conversation, the idempotency key, COMMIT. An answerer writes the
	 * reply; no worker waits for a provider.
	 */
	snprintf(qmax, sizeof(qmax), "%d", ctx->conf->answer_queue_max);
	snprintf(cmax, sizeof(cmax), "%d", ctx->conf->answer_company_queue_max);
	snprintf(age, sizeof(age), "%d", ctx->conf->answer_queue_age);
	ap[0] = ctx->who.company_id;
	ap[1] = conv;
	ap[2] = qmax;
	ap[3] = cmax;
	ap[4] = age;
	calls[n].st = &q_admit;
	calls[n].params = ap;
	calls[n++].out = NULL;
	memset(&m, 0, sizeof(m));
	m.role = "visitor";
	m.content = content;
	m.prompt_tokens = m.completion_tokens = -1;
	m.visitor_id = ctx->who.visitor_id;
	conv_add_call(ctx, conv, &m, &q, &calls[n++]);
	jp[0] = ctx->who.company_id;
	jp[1] = conv;
	jp[2] = ctx->who.visitor_id;
	calls[n].st = &q_reply_job;
	calls[n].params = jp;
	calls[n++].out = NULL;
	if (k.on)
		idem_call(ctx, conv, &k, &calls[n++]);
	/* The answerers are woken in the same round trip, after the commit. */
	if (db_exec_many_then(ctx->db, calls, n, &answer_wake_stmt) == -1) {
		conv_q_free(&q);
		if (strcmp(db_last_sqlstate(ctx->db), "PL503") == 0)
			return overloaded(req, ctx);
		if ((rc = idem_replay(req, ctx, &k, send_accepted)) != 0)
			return rc == HTTP_ANSWERED ? 0 : -1;
		/* The month's allowance used up: 402, nothing stored. */
		return plan_messages_refused(ctx, &refusal) == 1
		    ? api_plan_refused(req, &refusal)
		    : -1;
	}
	if ((msg = conv_add_result(&q, status)) == NULL)
		return router_not_found(req);
	/* Committed already: published at once. */
	rt_message(ctx, conv, msg);
	rc = send_accepted(req, msg, NULL, status);
	json_decref(msg);
	return rc;
}

static struct db_stmt q_wconv_rate = { "widget_conversation_rate",
	"UPDATE conversations SET rating = $4::smallint, rating_comment = "
	"nullif($5, ''), rated_at = now() WHERE company_id = $1 AND id = $2 "
	"AND visitor_id = $3 RETURNING id",
	5, 0, 0 };

/* The visitor rates a resolved conversation, once. */
int
h_widget_rating(struct request *req, struct ctx *ctx)
{
	const char *conv = router_param(req, "id"), *p[5];
	char	    score[4];
	PGresult   *res;
	int	    rated;

	p[0] = ctx->who.company_id;
	p[1] = conv;
	p[2] = ctx->who.visitor_id;
	if ((res = db_exec(ctx->db, &q_wconv_lock_rating, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return router_not_found(req);
	}
	rated = row_opt(res, 0, "rated_at") != NULL;
	if (strcmp(row_get(res, 0, "status"), "resolved") != 0 || rated) {
		PQclear(res);
		db_rollback(ctx->db);
		return rated ? api_problem(req, 409, "already_rated",
				   "This conversation is rated already")
			     : api_problem(req, 409, "not_resolved",
				   "A conversation is rated once it is "
				   "resolved");
	}
	PQclear(res);
	snprintf(score, sizeof(score), "%lld",
	    (long long)json_integer_value(json_object_get(req->json, "score")));
	p[3] = score;
	p[4] = api_body_str(req, "comment");
	if ((res = db_exec(ctx->db, &q_wconv_rate, p)) == NULL)
		return -1;
	PQclear(res);
	if (db_commit(ctx->db) == -1)
		return -1;
	return api_send(req, 201,
	    json_pack("{s:I,s:s?}", "score",
		json_integer_value(json_object_get(req->json, "score")),
		"comment", p[4]));
}

int
h_widget_handoff(struct request *req, struct ctx *ctx)
{
	const char     *conv = router_param(req, "id"), *p[3];
	struct conv_msg m;
	PGresult       *res;
	json_t	       *reply = NULL, *o = NULL, *avail = NULL;
	char		status[16], assignee[37], locale[8];
	int		rc = -1;

	p[0] = ctx->who.company_id;
	p[1] = conv;
	p[2] = ctx->who.visitor_id;
	if ((res = db_exec(ctx->db, &q_wconv_lock, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return router_not_found(req);
	}
	snprintf(status, sizeof(status), "%s", row_get(res, 0, "status"));
	snprintf(locale, sizeof(locale), "%s", row_get(res, 0, "locale"));
	PQclear(res);
	if (strcmp(status, "bot") == 0 || strcmp(status, "resolved") == 0) {
		memset(&m, 0, sizeof(m));
		m.role = "bot";
		m.content = bot_handoff_text("visitor_request", locale);
		m.prompt_tokens = m.completion_tokens = -1;
		if ((reply = conv_add(ctx, conv, &m)) == NULL ||
		    conv_set_status(ctx, conv, "pending", "visitor_request",
			NULL, assignee) == -1)
			goto out;
		rt_message(ctx, conv, reply);
		rt_status(ctx, conv, "pending", assignee);
		snprintf(status, sizeof(status), "pending");
	}
	if ((res = db_exec(ctx->db, &q_available, p)) == NULL)
		goto out;
	avail =
	    PQntuples(res) == 1 ? row_json(&row_availability, res, 0) : NULL;
	o = json_pack("{s:s,s:O?}", "status", status, "reply", reply);
	if (avail != NULL && o != NULL && json_object_update(o, avail) == 0)
		json_object_set_new(o, "contact",
		    row_opt(res, 0, "contact_email") == NULL
			? json_null()
			: json_pack("{s:s,s:b}", "email",
			      row_get(res, 0, "contact_email"), "confirmed",
			      row_bool(res, 0, "contact_confirmed")));
	PQclear(res);
	if (avail == NULL || o == NULL || db_commit(ctx->db) == -1)
		goto out;
	rc = http_send_json(req, 200, o);
out:
	json_decref(avail);
	json_decref(o);
	json_decref(reply);
	return rc;
}

static struct db_stmt q_frame_origins = { "widget_frame_origins",
	"SELECT array_to_string(allowed_origins, ' ') AS origins FROM "
	"chatbots WHERE "
	"company_id = $1 AND id = $2",
	2, 0, 0 };

/*
 * GET /widget/frame?bot=KEY, asked by nginx (auth_request) before it
 * serves the static frame page: answers 204 with X-Parley-CSP, the frame's
 * Content-Security-Policy, whose frame-ancestors are exactly the chatbot's
 * allowed origins; 403 for an unknown key (nginx then serves nothing).
 */
int
h_widget_frame(struct request *req, struct ctx *ctx)
{
	char	    cid[37], bot[37], csp[4096];
	const char *p[2], *key = router_arg(req, "bot");
	PGresult   *res = NULL;
	int	    n;

	if (key == NULL || strlen(key) != 35 || strncmp(key, "pk_", 3) != 0 ||
	    strspn(key + 3, "0123456789abcdef") != 32)
		return api_problem(
		    req, 403, "unknown_chatbot", "No such chatbot");
	p[0] = key;
	if ((res = db_exec(ctx->db, &q_bot_lookup, p)) == NULL)
		return api_unavailable(req);
	if (PQntuples(res) != 1) {
		PQclear(res);
		return api_problem(
		    req, 403, "unknown_chatbot", "No such chatbot");
	}
	snprintf(cid, sizeof(cid), "%s", row_get(res, 0, "company_id"));
	snprintf(bot, sizeof(bot), "%s", row_get(res, 0, "chatbot_id"));
	PQclear(res);
	p[0] = cid;
	p[1] = bot;
	if (db_tenant_begin(ctx->db, cid, NULL, NULL, NULL) == -1)
		return api_unavailable(req);
	if ((res = db_exec_commit(ctx->db, &q_frame_origins, p)) == NULL)
		return -1;
	/*
	 * The origins were validated as scheme://host[:port] (lower-case
	 * letters, digits, dots, hyphens), so they are safe in a header.
	 */
	n = snprintf(csp, sizeof(csp),
	    "default-src 'none'; script-src 'self'; style-src 'self'; "
	    "connect-src 'self'; img-src 'self' data: blob:; base-uri 'none'; "
	    "form-action 'none'; frame-ancestors %s; report-uri "
	    "/api/v1/csp-report",
	    PQntuples(res) == 1 && *row_get(res, 0, "origins") != '\0'
		? row_get(res, 0, "origins")
		: "'none'");
	PQclear(res);
	if (n < 0 || (size_t)n >= sizeof(csp) ||
	    http_add_header(req, "X-Parley-CSP", csp) == -1)
		return -1;
	return http_send_empty(req, 204);
}

/*
 * The authorisation nginx asks for (auth_request) before nchan subscribes
 * a visitor to the events of conversation :id; the answer names the
 * channel (X-Parley-Conversation).
 */
int
h_widget_events_auth(struct request *req, struct ctx *ctx)
{
	const char *conv = router_param(req, "id"), *p[3];
	PGresult   *res;
	int	    n;

	p[0] = ctx->who.company_id;
	p[1] = conv;
	p[2] = ctx->who.visitor_id;
	if ((res = db_exec_commit(ctx->db, &q_wconv_owned, p)) == NULL)
		return -1;
	n = PQntuples(res);
	PQclear(res);
	if (n != 1)
		return api_problem(
		    req, 403, "forbidden", "Not your conversation");
	if (http_add_header(req, "X-Parley-Conversation", conv) == -1)
		return -1;
	return http_send_empty(req, 204);
}

/*
 * The consent, with the company's policy version in force (never the
 * widget's word for it); none when $5, the version the visitor was shown,
 * is given and is no longer the company's.
 */
static struct db_stmt q_consent_new = { "consent_new",
	"INSERT INTO consents (company_id, chatbot_id, visitor_id, "
	"categories, policy_version) SELECT $1, $2, $3, ARRAY(SELECT "
	"DISTINCT json_array_elements_text($4::json) ORDER BY 1), "
	"c.privacy_policy_version FROM companies c WHERE c.id = $1 AND "
	"($5::text "
	"IS NULL OR $5 = c.privacy_policy_version) RETURNING {{Consent}}",
	5, 0, 0 };
static struct db_stmt q_policy_version = { "consent_policy_version",
	"SELECT privacy_policy_version FROM companies WHERE id = $1", 1, 0, 0 };
static struct db_stmt q_consent_list = { "consent_list",
	"SELECT {{Consent}} FROM consents WHERE company_id = $1 AND "
	"($2::uuid IS NULL OR visitor_id = $2) ORDER BY created_at DESC, id "
	"LIMIT 500",
	2, 0, 0 };

int
h_widget_consent(struct request *req, struct ctx *ctx)
{
	struct verr err;
	json_t	   *cats, *v, *o = NULL;
	const char *p[5];
	char	   *cj = NULL;
	PGresult   *res = NULL;
	size_t	    i;
	int	    essential = 0, rc = -1;

	cats = json_object_get(req->json, "categories");
	json_array_foreach(cats, i, v)
	{
		const char *c = json_string_value(v);

		if (c == NULL ||
		    (strcmp(c, "essential") != 0 &&
			strcmp(c, "analytics") != 0 &&
			strcmp(c, "marketing") != 0)) {
			err.field = "categories";
			err.code = "format";
			return validate_problem(req, &err);
		}
		essential |= strcmp(c, "essential") == 0;
	}
	if (!essential) {
		/* Essential cookies are not optional: the chat needs them. */
		err.field = "categories";
		err.code = "format";
		return validate_problem(req, &err);
	}
	if ((cj = json_dumps(cats, JSON_COMPACT)) == NULL)
		return -1;
	p[0] = ctx->who.company_id;
	p[1] = ctx->who.chatbot_id;
	p[2] = ctx->who.visitor_id;
	p[3] = cj;
	p[4] = api_body_str(req, "policy_version");
	if ((res = db_exec(ctx->db, &q_consent_new, p)) == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		/* The policy changed since the widget showed it: ask again. */
		json_t *x;

		PQclear(res);
		if ((res = db_exec(ctx->db, &q_policy_version, p)) == NULL ||
		    PQntuples(res) != 1)
			goto out;
		db_rollback(ctx->db);
		x = json_pack("{s:s}", "policy_version",
		    row_get(res, 0, "privacy_policy_version"));
		rc = http_send_problem(req, 409, "policy_changed",
		    "The privacy policy changed: show the visitor the new one",
		    NULL, x, NULL);
		json_decref(x);
		goto out;
	}
	if (db_commit(ctx->db) == -1)
		goto out;
	o = row_json(&row_consent, res, 0);
	rc = o != NULL ? http_send_json(req, 201, o) : -1;
out:
	PQclear(res);
	free(cj);
	json_decref(o);
	return rc;
}

int
h_consent_list(struct request *req, struct ctx *ctx)
{
	const char *p[2] = { ctx->who.company_id,
		router_arg(req, "visitor_id") };

	return api_list(req, ctx, &q_consent_list, p);
}

/*
 * The authorisation nginx asks for (auth_request) before nchan subscribes
 * an agent to GET /api/v1/events. The channels come from this answer, never
 * from the client: the caller's company, session and user
 * (X-Parley-Company, -Session, -User), which nginx multiplexes.
 */
int
h_events_auth(struct request *req, struct ctx *ctx)
{
	db_rollback(ctx->db);
	if (http_add_header(req, "X-Parley-Company", ctx->who.company_id) ==
		-1 ||
	    http_add_header(req, "X-Parley-Session", ctx->who.session_id) ==
		-1 ||
	    http_add_header(req, "X-Parley-User", ctx->who.user_id) == -1)
		return -1;
	return http_send_empty(req, 204);
}
