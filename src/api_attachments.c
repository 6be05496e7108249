/*
 * api_attachments.c: files in a conversation (docs/architecture.md,
 * "Attachments"). An upload is a message of its own, whose content is the
 * file's name: by an agent (a reply: the conversation is theirs), or by
 * its visitor (in a conversation the bot has, a handoff: the bot cannot
 * read files). A download is authorised here and served by nginx
 * (X-Accel-Redirect to an internal location over attachments_dir).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "attach.h"
#include "bot.h"
#include "bot_text.h"
#include "conf.h"
#include "conv.h"
#include "handler.h"
#include "http.h"
#include "plans.h"
#include "realtime.h"
#include "resources.h"
#include "router.h"
#include "row.h"

/*
 * One upload at a time per company (the storage quota is the company's),
 * then the conversation (locked; the visitor's own when $3 is given) with
 * what the plan allows and what is used.
 */
/* Before anything is decoded: the conversation is the caller's, and
 * what the plan allows one file. */
static struct db_stmt q_att_plan = { "attachment_plan",
	"SELECT p.id AS plan, p.attachment_max_bytes AS max_bytes FROM "
	"conversations c JOIN companies co ON co.id = c.company_id JOIN plans "
	"p ON p.id = co.plan WHERE c.company_id = $1 AND c.id = $2 AND "
	"($3::uuid "
	"IS NULL OR c.visitor_id = $3::uuid)",
	3, 0, 0 };
static struct db_stmt q_att_serialise = { "attachment_serialise",
	"SELECT pg_advisory_xact_lock(hashtext('parley-attachments'), "
	"hashtext($1))",
	1, 0, 0 };
static struct db_stmt q_att_conv = { "attachment_conversation",
	"SELECT c.status, coalesce(c.locale, '') AS locale, p.id AS plan, "
	"p.attachment_storage_bytes AS storage, p.attachments_per_conversation "
	"AS per_conversation, (SELECT count(*) FROM attachments a WHERE "
	"a.company_id = $1 AND a.conversation_id = c.id) AS in_conversation, "
	"(SELECT coalesce(sum(bytes), 0) FROM attachments a WHERE a.company_id "
	"= $1) AS used FROM conversations c JOIN companies co ON co.id = "
	"c.company_id JOIN plans p ON p.id = co.plan WHERE c.company_id = $1 "
	"AND c.id = $2 AND ($3::uuid IS NULL OR c.visitor_id = $3::uuid) FOR "
	"UPDATE OF c",
	3, 0, 0 };
static struct db_stmt q_att_add = { "attachment_add",
	"INSERT INTO attachments AS a (company_id, conversation_id, "
	"message_id, media_type, filename, bytes, width, height, sha256, "
	"storage_key) VALUES ($1, $2, $3, $4, $5, $6::integer, "
	"nullif($7, '0')::integer, nullif($8, '0')::integer, $9, $10) "
	"RETURNING {{Attachment a}}",
	10, 0, 0 };
/* An attachment the caller may see: the company's, or ($3) the visitor's. */
static struct db_stmt q_att_get = { "attachment_get",
	"SELECT {{Attachment a}}, a.storage_key FROM attachments a JOIN "
	"conversations c ON c.company_id = a.company_id AND c.id = "
	"a.conversation_id WHERE a.company_id = $1 AND a.id = $2 AND ($3::uuid "
	"IS NULL OR c.visitor_id = $3::uuid)",
	3, 0, 0 };

/* A refused file: what attach_check() said, as the client reads it. */
static int
refused(struct request *req, struct ctx *ctx, int why, const char *said)
{
	json_t *x;
	int	rc;

	db_rollback(ctx->db);
	switch (why) {
	case ATT_TYPE:
	case ATT_NAME:
		x = json_pack("{s:s}", "detected", said);
		rc = http_send_problem(req, 415,
		    why == ATT_TYPE ? "unsupported_attachment_type"
				    : "attachment_name_mismatch",
		    why == ATT_TYPE ? "Only PNG, JPEG, GIF and WebP images and "
				      "PDF files can be sent"
				    : "The file's name says another kind of "
				      "file than its contents",
		    NULL, x, NULL);
		json_decref(x);
		return rc;
	case ATT_PIXELS:
		return api_problem(req, 413, "image_too_large",
		    "The image has too many pixels");
	default:
		return api_problem(req, 422, "unreadable_attachment",
		    "The image cannot be read");
	}
}

/* 413 attachment_too_large naming the bound. */
static int
too_large(struct request *req, struct ctx *ctx, long long max)
{
	json_t *x = json_pack("{s:I}", "max_bytes", (json_int_t)max);
	int	rc;

	db_rollback(ctx->db);
	rc = http_send_problem(req, 413, "attachment_too_large",
	    "The file is larger than the plan allows", NULL, x, NULL);
	json_decref(x);
	return rc;
}

/*
 * The plan's count and storage limits for one more file of 'len' bytes
 * (as kept) in the locked conversation 'res'. Returns 0 (within them),
 * or answers and returns 1 (-1 when that failed).
 */
static int
within_plan(struct request *req, struct ctx *ctx, PGresult *res, size_t len)
{
	struct plan_refusal r;

	memset(&r, 0, sizeof(r));
	snprintf(r.plan, sizeof(r.plan), "%s", row_get(res, 0, "plan"));
	if (row_opt(res, 0, "per_conversation") != NULL &&
	    row_int(res, 0, "in_conversation") >=
		row_int(res, 0, "per_conversation")) {
		r.limit = "attachments_per_conversation";
		r.max = row_int(res, 0, "per_conversation");
	} else if (row_opt(res, 0, "storage") != NULL &&
	    row_int(res, 0, "used") + (long long)len >
		row_int(res, 0, "storage")) {
		r.limit = "attachment_storage_bytes";
		r.max = row_int(res, 0, "storage");
	} else
		return 0;
	db_rollback(ctx->db);
	return api_plan_refused(req, &r) == -1 ? -1 : 1;
}

/*
 * The visitor's file in a conversation the bot has (or had: resolved)
 * goes to a person: the bot's handoff message and the status change.
 * 'reply' receives the bot's message. 0 or -1.
 */
static int
visitor_handoff(
    struct ctx *ctx, const char *conv, const char *locale, json_t **reply)
{
	struct conv_msg m;
	char		assignee[37];

	memset(&m, 0, sizeof(m));
	m.role = "bot";
	m.content = bot_handoff_text("attachment", locale);
	m.prompt_tokens = m.completion_tokens = -1;
	if ((*reply = conv_add(ctx, conv, &m)) == NULL ||
	    conv_set_status(
		ctx, conv, "pending", "attachment", NULL, assignee) == -1)
		return -1;
	rt_status(ctx, conv, "pending", assignee);
	return 0;
}

/*
 * The upload to conversation 'conv' by an agent (visitor NULL) or by
 * visitor 'visitor': checked, stored, recorded, answered.
 */
static int
upload(
    struct request *req, struct ctx *ctx, const char *conv, const char *visitor)
{
	const char	  *p[10];
	char		   name[256], bytes[24], w[12], h[12], status[16];
	char		   locale[8];
	struct attach_file f;
	struct conv_msg	   m;
	PGresult	  *res = NULL;
	json_t		  *msg = NULL, *reply = NULL, *att = NULL, *o;
	int		   r, rc = -1, stored = 0;

	memset(&f, 0, sizeof(f));
	attach_name(router_arg(req, "filename"), name, sizeof(name));
	if (req->body_len == 0)
		return api_problem(
		    req, 422, "empty_attachment", "The file is empty");
	if (req->body_len > (size_t)ctx->conf->attachment_max_bytes)
		return too_large(req, ctx, ctx->conf->attachment_max_bytes);
	/* What is sent, against the plan, before it is decoded. */
	p[0] = ctx->who.company_id;
	p[1] = conv;
	p[2] = visitor;
	if ((res = db_exec(ctx->db, &q_att_plan, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return router_not_found(req);
	}
	if (row_opt(res, 0, "max_bytes") != NULL &&
	    (long long)req->body_len > row_int(res, 0, "max_bytes")) {
		rc = too_large(req, ctx, row_int(res, 0, "max_bytes"));
		PQclear(res);
		return rc;
	}
	PQclear(res);
	res = NULL;
	/*
	 * Decoded outside any transaction (the request's, with its rate
	 * count, commits first): nothing is locked while libvips works.
	 */
	if (db_in_tx(ctx->db) && db_commit(ctx->db) == -1)
		return -1;
	if ((r = attach_check(ctx->conf, (const unsigned char *)req->body,
		 req->body_len, name, &f)) != ATT_OK)
		return r == -1 ? -1 : refused(req, ctx, r, f.sent_type);
	if (db_tenant_begin(ctx->db, ctx->who.company_id, NULL, NULL, NULL) ==
	    -1)
		goto out;
	if ((res = db_exec(ctx->db, &q_att_serialise, p)) == NULL)
		goto out;
	PQclear(res);
	if ((res = db_exec(ctx->db, &q_att_conv, p)) == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		rc = router_not_found(req);
		goto out;
	}
	if ((r = within_plan(req, ctx, res, f.len)) != 0) {
		rc = r == 1 ? 0 : -1;
		goto out;
	}
	snprintf(status, sizeof(status), "%s", row_get(res, 0, "status"));
	snprintf(locale, sizeof(locale), "%s", row_get(res, 0, "locale"));
	PQclear(res);
	res = NULL;
	if (attach_store(ctx->conf, ctx->who.company_id, &f) == -1)
		goto out;
	stored = 1;
	memset(&m, 0, sizeof(m));
	m.role = visitor != NULL ? "visitor" : "agent";
	m.author_id = visitor != NULL ? NULL : ctx->who.user_id;
	m.content = f.name;
	m.prompt_tokens = m.completion_tokens = -1;
	m.visitor_id = visitor;
	if ((msg = conv_add(ctx, conv, &m)) == NULL) {
		struct plan_refusal refusal;

		/* The month's allowance used up: 402, nothing kept. */
		if (visitor != NULL &&
		    plan_messages_refused(ctx, &refusal) == 1)
			rc = api_plan_refused(req, &refusal);
		goto out;
	}
	snprintf(bytes, sizeof(bytes), "%zu", f.len);
	snprintf(w, sizeof(w), "%d", f.width);
	snprintf(h, sizeof(h), "%d", f.height);
	p[2] = json_string_value(json_object_get(msg, "id"));
	p[3] = f.media_type;
	p[4] = f.name;
	p[5] = bytes;
	p[6] = w;
	p[7] = h;
	p[8] = f.sha256;
	p[9] = f.key;
	if ((res = db_exec(ctx->db, &q_att_add, p)) == NULL ||
	    (att = row_json(&row_attachment, res, 0)) == NULL ||
	    json_object_set(msg, "attachment", att) == -1)
		goto out;
	if (visitor == NULL)
		r = api_agent_answered(ctx, conv);
	else if (strcmp(status, "bot") == 0 || strcmp(status, "resolved") == 0)
		r = visitor_handoff(ctx, conv, locale, &reply);
	else
		r = 0;
	if (r == -1)
		goto out;
	/*
	 * From here the file stays whatever the commit's fate: a commit
	 * whose answer was lost may have happened, and a file no row names
	 * is the files sweep's.
	 */
	stored = 0;
	if (db_commit(ctx->db) == -1)
		goto out;
	rt_message(ctx, conv, msg);
	if (reply != NULL)
		rt_message(ctx, conv, reply);
	if (visitor == NULL)
		rc = http_send_json(req, 201, msg);
	else {
		o = json_pack("{s:O,s:O?,s:s,s:s}", "message", msg, "reply",
		    reply, "status", reply != NULL ? "pending" : status,
		    "reply_status", "none");
		rc = api_send(req, 201, o);
	}
out:
	if (stored) {
		db_rollback(ctx->db);
		attach_unlink(ctx->conf, ctx->who.company_id, f.key);
	}
	PQclear(res);
	json_decref(att);
	json_decref(msg);
	json_decref(reply);
	attach_free(&f);
	return rc;
}

int
h_attachment_upload(struct request *req, struct ctx *ctx)
{
	return upload(req, ctx, router_param(req, "id"), NULL);
}

int
h_widget_attachment_upload(struct request *req, struct ctx *ctx)
{
	return upload(req, ctx, router_param(req, "id"), ctx->who.visitor_id);
}

/*
 * Content-Disposition for 'name': an ASCII fallback (others as '_') and
 * the UTF-8 name percent-encoded (RFC 6266, RFC 8187).
 */
static void
disposition(const char *how, const char *name, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	char		  ascii[256], enc[800];
	size_t		  i, a = 0, e = 0;

	for (i = 0; name[i] != '\0' && a + 1 < sizeof(ascii); i++) {
		unsigned char c = (unsigned char)name[i];

		ascii[a++] = (char)(c < 0x20 || c >= 0x7f || c == '"' ||
			    c == '\\' || c == '%' || c == ';'
			? '_'
			: c);
	}
	ascii[a] = '\0';
	for (i = 0; name[i] != '\0' && e + 4 < sizeof(enc); i++) {
		unsigned char c = (unsigned char)name[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || strchr("!#$&+-.^_`|~", c) != NULL)
			enc[e++] = (char)c;
		else {
			enc[e++] = '%';
			enc[e++] = hex[c >> 4];
			enc[e++] = hex[c & 15];
		}
	}
	enc[e] = '\0';
	snprintf(out, len, "%s; filename=\"%s\"; filename*=UTF-8''%s", how,
	    ascii, enc);
}

/* The download of attachment 'id' seen by the company or by 'visitor'. */
static int
download(struct request *req, struct ctx *ctx, const char *visitor)
{
	const char *p[3] = { ctx->who.company_id, router_param(req, "id"),
		visitor };
	const char *type;
	char	    where[200], how[1200];
	PGresult   *res;
	int	    rc;

	if ((res = db_exec(ctx->db, &q_att_get, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return router_not_found(req);
	}
	type = row_get(res, 0, "media_type");
	/* (Cache-Control: no-store, as every answer of parleyd.) Images
	 * are shown where they are (their type is checked, their
	 * bytes written anew); anything else is saved, never opened. */
	disposition(strncmp(type, "image/", 6) == 0 ? "inline" : "attachment",
	    row_get(res, 0, "filename"), how, sizeof(how));
	snprintf(where, sizeof(where), "/_parley/attachments/%s/%s",
	    ctx->who.company_id, row_get(res, 0, "storage_key"));
	if (db_commit(ctx->db) == -1 ||
	    http_add_header(req, "Content-Disposition", how) == -1 ||
	    http_add_header(req, "X-Accel-Redirect", where) == -1) {
		PQclear(res);
		return -1;
	}
	rc = http_send_body(req, 200, type, "", 0);
	PQclear(res);
	return rc;
}

int
h_attachment_get(struct request *req, struct ctx *ctx)
{
	return download(req, ctx, NULL);
}

int
h_widget_attachment_get(struct request *req, struct ctx *ctx)
{
	return download(req, ctx, ctx->who.visitor_id);
}
