/*
 * api_contact.c: when nobody can answer now (issue 18, items 3 and 4). A
 * chatbot's business hours (admins); a visitor's address for replies,
 * confirmed by a mailed link before anything else is sent to it; what
 * the visitor has seen (so replies they saw are not mailed); transcripts;
 * and the e-mailed links that open one conversation on parley's chat page
 * (src/contact.c makes and checks them and sends the mails).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api.h"
#include "conf.h"
#include "contact.h"
#include "crypto.h"
#include "ctx.h"
#include "db.h"
#include "handler.h"
#include "http.h"
#include "job_queue.h"
#include "log.h"
#include "resources.h"
#include "router.h"
#include "server_keys.h"
#include "token.h"
#include "validate.h"

/* --- business hours --- */

static struct db_stmt q_hours = { "hours_get",
	"SELECT {{BusinessHours b}} FROM chatbots b WHERE b.company_id = $1 "
	"AND b.id = $2",
	3, 0, 0 };
static struct db_stmt q_tz = { "hours_timezone",
	"SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1) AS "
	"known",
	1, DB_RETRY_SAFE, 0 };
static struct db_stmt q_hours_set = { "hours_set",
	"UPDATE chatbots SET hours_enabled = $3::boolean, timezone = $4, "
	"offline_message = $5, ask_email = $6::boolean, updated_at = now() "
	"WHERE company_id = $1 AND id = $2 RETURNING id",
	6, 0, 0 };
static struct db_stmt q_hours_clear = { "hours_clear",
	"WITH w AS (DELETE FROM chatbot_hours WHERE company_id = $1 AND "
	"chatbot_id = $2) DELETE FROM chatbot_holidays WHERE company_id = $1 "
	"AND chatbot_id = $2",
	2, 0, 0 };
static struct db_stmt q_hours_add = { "hours_add",
	"WITH w AS (INSERT INTO chatbot_hours (company_id, chatbot_id, dow, "
	"opens, closes) SELECT $1, $2, array_position(ARRAY['mon', 'tue', "
	"'wed', 'thu', 'fri', 'sat', 'sun'], e->>'day'), (e->>'opens')::time, "
	"(e->>'closes')::time FROM jsonb_array_elements($3::jsonb) e) INSERT "
	"INTO chatbot_holidays (company_id, chatbot_id, day, name) SELECT $1, "
	"$2, (e->>'date')::date, e->>'name' FROM "
	"jsonb_array_elements($4::jsonb) e",
	4, 0, 0 };

int
h_hours_get(struct request *req, struct ctx *ctx)
{
	const char *p[3] = { ctx->who.company_id, router_param(req, "id"),
		router_arg(req, "at") };

	return api_get_one(req, ctx, &q_hours, p);
}

/* A 422 for member 'name' of element 'i' of array 'field'. */
static int
element_problem(struct request *req, const char *field, size_t i,
    const char *name, const char *code)
{
	char	    path[64];
	struct verr err;

	snprintf(path, sizeof(path), "%s[%zu].%s", field, i, name);
	err.field = path;
	err.code = code;
	return validate_problem(req, &err);
}

/*
 * The schedule must make sense: each range closes after it opens, no day
 * has two ranges opening at once, no date is a holiday twice. Returns 0,
 * or answers 422 and returns HTTP_ANSWERED.
 */
static int
schedule_bad(struct request *req, json_t *weekly, json_t *holidays)
{
	size_t	i, j;
	json_t *a, *b;

	json_array_foreach(weekly, i, a)
	{
		const char *d = json_string_value(json_object_get(a, "day"));
		const char *o = json_string_value(json_object_get(a, "opens"));
		const char *c = json_string_value(json_object_get(a, "closes"));

		if (strcmp(c, o) <= 0)
			return element_problem(
				   req, "weekly", i, "closes", "range"),
			       HTTP_ANSWERED;
		for (j = 0; j < i; j++) {
			b = json_array_get(weekly, j);
			if (strcmp(d,
				json_string_value(json_object_get(b, "day"))) ==
				0 &&
			    strcmp(o,
				json_string_value(
				    json_object_get(b, "opens"))) == 0)
				return element_problem(req, "weekly", i,
					   "opens", "duplicate"),
				       HTTP_ANSWERED;
		}
	}
	json_array_foreach(holidays, i, a)
	{
		const char *d = json_string_value(json_object_get(a, "date"));

		for (j = 0; j < i; j++)
			if (strcmp(d,
				json_string_value(json_object_get(
				    json_array_get(holidays, j), "date"))) == 0)
				return element_problem(req, "holidays", i,
					   "date", "duplicate"),
				       HTTP_ANSWERED;
	}
	return 0;
}

int
h_hours_put(struct request *req, struct ctx *ctx)
{
	json_t	   *weekly = json_object_get(req->json, "weekly");
	json_t	   *holidays = json_object_get(req->json, "holidays");
	json_t	   *ask = json_object_get(req->json, "ask_email");
	const char *id = router_param(req, "id"), *p[6];
	char	   *w = NULL, *h = NULL;
	PGresult   *res;
	int	    found, rc = -1;

	if (holidays == NULL)
		holidays = json_array();
	else
		json_incref(holidays);
	if (schedule_bad(req, weekly, holidays) != 0) {
		json_decref(holidays);
		return 0;
	}
	p[0] = api_body_str(req, "timezone");
	if ((res = db_exec(ctx->db, &q_tz, p)) == NULL)
		goto out;
	found = row_bool(res, 0, "known");
	PQclear(res);
	if (!found) {
		struct verr err = { "timezone", "unknown", "" };

		rc = validate_problem(req, &err);
		goto out;
	}
	p[0] = ctx->who.company_id;
	p[1] = id;
	p[2] = json_is_true(json_object_get(req->json, "enabled")) ? "true"
								   : "false";
	p[3] = api_body_str(req, "timezone");
	p[4] = api_body_str(req, "offline_message");
	p[5] = ask == NULL || json_is_true(ask) ? "true" : "false";
	if ((res = db_exec(ctx->db, &q_hours_set, p)) == NULL)
		goto out;
	found = PQntuples(res) == 1;
	PQclear(res);
	if (!found) {
		rc = router_not_found(req);
		goto out;
	}
	w = json_dumps(weekly, JSON_COMPACT);
	h = json_dumps(holidays, JSON_COMPACT);
	p[2] = w;
	p[3] = h;
	if (w == NULL || h == NULL ||
	    (res = db_exec(ctx->db, &q_hours_clear, p)) == NULL)
		goto out;
	PQclear(res);
	if ((res = db_exec(ctx->db, &q_hours_add, p)) == NULL)
		goto out;
	PQclear(res);
	if (api_audit(req, ctx, id, NULL, NULL) == -1)
		goto out;
	p[2] = NULL;
	rc = api_get_one(req, ctx, &q_hours, p);
out:
	free(w);
	free(h);
	json_decref(holidays);
	return rc;
}

/* --- the visitor's address --- */

/* The conversation (the visitor's own), its chatbot's offer, the
 * visitor's address; locked. */
static struct db_stmt q_contact_lock = { "contact_lock",
	"SELECT b.ask_email, v.contact_email, v.contact_confirmed_at IS NOT "
	"NULL AS confirmed FROM conversations c JOIN chatbots b ON "
	"b.company_id = c.company_id AND b.id = c.chatbot_id JOIN visitors v "
	"ON v.company_id = c.company_id AND v.id = c.visitor_id WHERE "
	"c.company_id = $1 AND c.id = $2 AND c.visitor_id = $3 FOR UPDATE OF "
	"c, v",
	3, 0, 0 };

/*
 * The visitor's conversation 'conv', locked, with its contact, in '*res'
 * (caller PQclear()s): 1; 0 having answered 404; -1 on failure.
 */
static int
contact_locked(
    struct request *req, struct ctx *ctx, const char *conv, PGresult **res)
{
	const char *p[3] = { ctx->who.company_id, conv, ctx->who.visitor_id };

	if ((*res = db_exec(ctx->db, &q_contact_lock, p)) == NULL)
		return -1;
	if (PQntuples(*res) == 1)
		return 1;
	PQclear(*res);
	*res = NULL;
	return router_not_found(req) == -1 ? -1 : 0;
}
static struct db_stmt q_contact_set = { "contact_set",
	"UPDATE visitors SET contact_email = $3, contact_confirmed_at = NULL "
	"WHERE company_id = $1 AND id = $2",
	3, 0, 0 };

/* Answers the visitor's address 'email' and whether it is 'confirmed'. */
static int
send_contact(struct request *req, int status, const char *email, int confirmed)
{
	return api_send(req, status,
	    json_pack("{s:s,s:b}", "email", email, "confirmed", confirmed));
}

/* Queues mail 'kind' about conversation 'conv' in the open transaction. */
static int
queue_mail(struct ctx *ctx, const char *kind, const char *conv)
{
	json_t *job =
	    json_pack("{s:s,s:s}", "kind", kind, "conversation_id", conv);
	int rc;

	rc = job != NULL
	    ? jobs_enqueue(ctx->db, "visitor_mail", ctx->who.company_id, job)
	    : -1;
	json_decref(job);
	return rc;
}

int
h_widget_contact(struct request *req, struct ctx *ctx)
{
	const char *conv = router_param(req, "id"), *p[3];
	const char *email = api_body_str(req, "email");
	char	    lower[255];
	PGresult   *res;
	size_t	    i;
	int	    offered, same, found;

	if ((found = contact_locked(req, ctx, conv, &res)) != 1)
		return found == 0 ? 0 : -1;
	offered = row_bool(res, 0, "ask_email");
	same = row_opt(res, 0, "contact_email") != NULL &&
	    strcasecmp(row_get(res, 0, "contact_email"), email) == 0 &&
	    row_bool(res, 0, "confirmed");
	PQclear(res);
	if (!offered)
		return api_problem(req, 403, "contact_not_offered",
		    "This chat does not answer by e-mail");
	if (same) {
		if (db_commit(ctx->db) == -1)
			return -1;
		return send_contact(req, 200, email, 1);
	}
	/* Each address left sends a mail: a few per visitor, and a few to
	 * one address whoever leaves it. */
	for (i = 0; i < sizeof(lower) - 1 && email[i] != '\0'; i++)
		lower[i] = (char)(email[i] >= 'A' && email[i] <= 'Z'
			? email[i] - 'A' + 'a'
			: email[i]);
	lower[i] = '\0';
	if (api_limit(req, ctx, "contact:visitor", ctx->who.visitor_id,
		ctx->conf->contact_rate,
		ctx->conf->contact_window) == HTTP_ANSWERED ||
	    api_limit(req, ctx, "contact:address", lower,
		2 * ctx->conf->contact_rate,
		ctx->conf->contact_window) == HTTP_ANSWERED)
		return 0;
	p[0] = ctx->who.company_id;
	p[1] = ctx->who.visitor_id;
	p[2] = email;
	if ((res = db_exec(ctx->db, &q_contact_set, p)) == NULL)
		return -1;
	PQclear(res);
	if (queue_mail(ctx, "confirm", conv) == -1 || db_commit(ctx->db) == -1)
		return -1;
	return send_contact(req, 202, email, 0);
}

static struct db_stmt q_seen = { "contact_seen",
	"UPDATE conversations c SET visitor_seen_seq = s.v, contact_due_at = "
	"CASE WHEN EXISTS (SELECT 1 FROM messages m WHERE m.company_id = $1 "
	"AND m.conversation_id = $2 AND m.role = 'agent' AND m.seq > s.v) "
	"THEN c.contact_due_at END FROM (SELECT greatest(visitor_seen_seq, "
	"least($4::integer, message_count)) AS v FROM conversations WHERE "
	"company_id = $1 AND id = $2 AND visitor_id = $3) s WHERE "
	"c.company_id = $1 AND c.id = $2 AND c.visitor_id = $3 RETURNING "
	"c.visitor_seen_seq AS seen_seq",
	4, 0, 0 };

int
h_widget_seen(struct request *req, struct ctx *ctx)
{
	char	    seq[16];
	const char *p[4] = { ctx->who.company_id, router_param(req, "id"),
		ctx->who.visitor_id, seq };
	PGresult   *res;
	json_t	   *o;

	snprintf(seq, sizeof(seq), "%lld",
	    (long long)json_integer_value(json_object_get(req->json, "seq")));
	if ((res = db_exec(ctx->db, &q_seen, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return router_not_found(req);
	}
	o = json_pack(
	    "{s:I}", "seen_seq", (json_int_t)row_int(res, 0, "seen_seq"));
	PQclear(res);
	if (db_commit(ctx->db) == -1) {
		json_decref(o);
		return -1;
	}
	return api_send(req, 200, o);
}

int
h_widget_transcript(struct request *req, struct ctx *ctx)
{
	const char *conv = router_param(req, "id");
	PGresult   *res;
	char	    email[255] = "";
	int	    confirmed, found;

	if ((found = contact_locked(req, ctx, conv, &res)) != 1)
		return found == 0 ? 0 : -1;
	confirmed = row_bool(res, 0, "confirmed");
	if (confirmed)
		snprintf(email, sizeof(email), "%s",
		    row_get(res, 0, "contact_email"));
	PQclear(res);
	if (!confirmed)
		return api_problem(req, 409, "contact_unconfirmed",
		    "Leave and confirm an e-mail address first");
	if (api_limit(req, ctx, "transcript", conv, ctx->conf->transcript_rate,
		ctx->conf->transcript_window) == HTTP_ANSWERED)
		return 0;
	if (queue_mail(ctx, "transcript", conv) == -1 ||
	    db_commit(ctx->db) == -1)
		return -1;
	return send_contact(req, 202, email, 1);
}

/* --- the links --- */

/* The conversation a link names, its visitor, chatbot and address. */
static struct db_stmt q_link = { "contact_link",
	"SELECT c.visitor_id, c.chatbot_id, v.verified, v.contact_email, "
	"v.contact_confirmed_at IS NOT NULL AS confirmed, {{WidgetChatbot b}} "
	"FROM conversations c JOIN visitors v ON v.company_id = c.company_id "
	"AND v.id = c.visitor_id JOIN chatbots b ON b.company_id = "
	"c.company_id AND b.id = c.chatbot_id WHERE c.company_id = $1 AND "
	"c.id = $2",
	2, 0, 0 };
/* Confirmed: replies already waiting are mailed after the delay. */
static struct db_stmt q_confirm = { "contact_confirm",
	"WITH v AS (UPDATE visitors SET contact_confirmed_at = "
	"coalesce(contact_confirmed_at, now()) WHERE company_id = $1 AND id = "
	"$3 RETURNING 1) UPDATE conversations c SET contact_due_at = now() "
	"WHERE c.company_id = $1 AND c.id = $2 AND c.contact_due_at IS NULL "
	"AND EXISTS (SELECT 1 FROM messages m WHERE m.company_id = $1 AND "
	"m.conversation_id = $2 AND m.role = 'agent' AND m.seq > "
	"greatest(c.visitor_seen_seq, c.contact_mailed_seq))",
	3, 0, 0 };

static int
link_refused(struct request *req, int expired)
{
	return api_problem(req, 403, expired ? "link_expired" : "link_invalid",
	    expired ? "This link has expired" : "This link is not valid");
}

/*
 * POST /api/v1/widget/links/resume and /confirm: the token of an e-mailed
 * link for a visitor token that opens that one conversation (a confirm
 * link first confirms the address it was sent to).
 */
static int
redeem(struct request *req, struct ctx *ctx, enum contact_link kind)
{
	const char	 *token = api_body_str(req, "token"), *p[3];
	struct jwt_claims c;
	char		  cid[37], conv[37], *tok = NULL;
	PGresult	 *res = NULL;
	json_t		 *chatbot = NULL, *contact = NULL, *o = NULL;
	int		  v, rc = -1, confirmed;

	if (api_addr_limit(req, ctx, "widget_link",
		ctx->conf->widget_session_rate,
		ctx->conf->widget_session_window) == HTTP_ANSWERED)
		return 0;
	if (contact_link_parse(token, cid, conv, NULL) == -1)
		return link_refused(req, 0);
	p[0] = cid;
	p[1] = conv;
	if (db_tenant_begin(ctx->db, cid, &q_link, p, &res) == -1)
		return api_unavailable(req);
	if (res == NULL || PQntuples(res) != 1 ||
	    (kind == LINK_CONFIRM &&
		row_opt(res, 0, "contact_email") == NULL)) {
		rc = link_refused(req, 0);
		goto out;
	}
	v = contact_link_check(kind, token,
	    kind == LINK_CONFIRM ? row_get(res, 0, "contact_email") : "",
	    time(NULL));
	if (v != 0) {
		log_event(LOG_INFO, "contact_link_refused",
		    LOG_S("reason", v == 1 ? "expired" : "invalid"));
		rc = link_refused(req, v == 1);
		goto out;
	}
	memset(&c, 0, sizeof(c));
	snprintf(c.sub, sizeof(c.sub), "%s", row_get(res, 0, "visitor_id"));
	snprintf(c.cid, sizeof(c.cid), "%s", cid);
	snprintf(c.sid, sizeof(c.sid), "%s", row_get(res, 0, "chatbot_id"));
	snprintf(c.role, sizeof(c.role), "visitor");
	snprintf(c.cnv, sizeof(c.cnv), "%s", conv);
	confirmed = row_bool(res, 0, "confirmed") || kind == LINK_CONFIRM;
	chatbot = row_json(&row_widget_chatbot, res, 0);
	contact = row_opt(res, 0, "contact_email") == NULL
	    ? json_null()
	    : json_pack("{s:s,s:b}", "email", row_get(res, 0, "contact_email"),
		  "confirmed", confirmed);
	o = json_pack("{s:s,s:s,s:i,s:s,s:{s:s,s:b},s:O,s:O}", "token_type",
	    "Bearer", "token", "", "expires_in", ctx->conf->visitor_token_ttl,
	    "conversation_id", conv, "visitor", "id", c.sub, "verified",
	    row_bool(res, 0, "verified"), "chatbot", chatbot, "contact",
	    contact);
	PQclear(res);
	res = NULL;
	if (o == NULL)
		goto out;
	if (kind == LINK_CONFIRM) {
		p[2] = c.sub;
		if ((res = db_exec(ctx->db, &q_confirm, p)) == NULL)
			goto out;
		PQclear(res);
		res = NULL;
	}
	if ((tok = widget_token_issue(ctx, &c)) == NULL ||
	    json_object_set_new(o, "token", json_string(tok)) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	rc = http_send_json(req, 201, o);
out:
	PQclear(res);
	if (tok != NULL) {
		crypto_wipe(tok, strlen(tok));
		free(tok);
	}
	json_decref(chatbot);
	json_decref(contact);
	json_decref(o);
	return rc;
}

int
h_widget_link_resume(struct request *req, struct ctx *ctx)
{
	return redeem(req, ctx, LINK_RESUME);
}

int
h_widget_link_confirm(struct request *req, struct ctx *ctx)
{
	return redeem(req, ctx, LINK_CONFIRM);
}
