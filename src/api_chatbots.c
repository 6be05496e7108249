/*
 * api_chatbots.c: chatbots (admin+ write, members read). A chatbot has a
 * public widget key (rotatable) and an identity secret for verified
 * visitors (rotatable, stored as keyring ciphertext, shown only when made).
 * Every change is audited by field name; settings that are not personal
 * data (language, model, temperature, ...) also with old and new values.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "handler.h"
#include "resources.h"
#include "audit.h"
#include "crypto.h"
#include "db.h"
#include "server_keys.h"
#include "plans.h"
#include "util.h"
#include "validate.h"

/*
 * $2 is the flat, validated settings object; an absent member keeps the
 * current value (or the default, on create).
 */
#define BOT_SET(col, expr)                                                     \
	"CASE WHEN $2::jsonb ? '" col "' THEN " expr " ELSE " col " END"
#define BOT_ARR(col)                                                           \
	BOT_SET(col,                                                           \
	    "ARRAY(SELECT jsonb_array_elements_text($2::jsonb->'" col "'))")

static struct db_stmt q_bot_new = { "chatbot_new",
	"INSERT INTO chatbots (id, company_id, name, public_key, "
	"identity_secret_enc) VALUES ($3, $1, $2::jsonb->>'name', $4, $5) "
	"RETURNING id",
	5, 0, 0 };
/* clang-format off */
static struct db_stmt q_bot_set = { "chatbot_set",
	"UPDATE chatbots SET "
	"name = " BOT_SET("name", "$2::jsonb->>'name'") ", "
	"prompt_template = "
	    BOT_SET("prompt_template", "$2::jsonb->>'prompt_template'") ", "
	"welcome_message = "
	    BOT_SET("welcome_message", "$2::jsonb->>'welcome_message'") ", "
	"allowed_origins = " BOT_ARR("allowed_origins") ", "
	"link_domains = " BOT_ARR("link_domains") ", "
	"language = " BOT_SET("language", "$2::jsonb->>'language'") ", "
	"model = " BOT_SET("model", "$2::jsonb->>'model'") ", "
	"temperature = "
	    BOT_SET("temperature", "($2::jsonb->>'temperature')::real") ", "
	"max_tokens = "
	    BOT_SET("max_tokens", "($2::jsonb->>'max_tokens')::integer") ", "
	"handoff_keywords = " BOT_ARR("handoff_keywords") ", "
	"handoff_on_no_answer = " BOT_SET("handoff_on_no_answer",
	    "($2::jsonb->>'handoff_on_no_answer')::boolean") ", "
	"require_verified = " BOT_SET("require_verified",
	    "($2::jsonb->>'require_verified')::boolean") ", "
	"team_id = " BOT_SET("team_id", "($2::jsonb->>'team_id')::uuid") ", "
	"routing = " BOT_SET("routing", "$2::jsonb->>'routing'") ", "
	"reassign_offline = " BOT_SET("reassign_offline",
	    "($2::jsonb->>'reassign_offline')::boolean") ", "
	"accent_color = "
	    BOT_SET("accent_color", "lower($2::jsonb->>'accent_color')") ", "
	"accent_text_color = " BOT_SET("accent_text_color",
	    "lower($2::jsonb->>'accent_text_color')") ", "
	"launcher_position = "
	    BOT_SET("launcher_position", "$2::jsonb->>'launcher_position'") ", "
	"display_name = "
	    BOT_SET("display_name", "$2::jsonb->>'display_name'") ", "
	"locales = " BOT_ARR("locales") ", "
	"welcome_messages = "
	    BOT_SET("welcome_messages", "$2::jsonb->'welcome_messages'") ", "
	"updated_at = now() WHERE company_id = $1 AND id = $3 "
	"RETURNING {{Chatbot}}",
	3, 0, 0 };
/* clang-format on */
/* Documents that name no language are indexed in the chatbot's. */
static struct db_stmt q_bot_reindex = { "chatbot_reindex",
	"UPDATE kb_chunks k SET language = $3::regconfig FROM kb_documents d "
	"WHERE k.company_id = $1 AND k.chatbot_id = $2 AND k.language <> "
	"$3::regconfig AND d.company_id = k.company_id AND d.id = "
	"k.document_id AND d.language IS NULL",
	3, 0, 0 };
static struct db_stmt q_bot_lock = { "chatbot_lock",
	"SELECT {{Chatbot}} FROM chatbots WHERE company_id = $1 AND id = $2 "
	"FOR UPDATE",
	2, 0, 0 };
static struct db_stmt q_bot_get = { "chatbot_get",
	"SELECT {{Chatbot}} FROM chatbots WHERE company_id = $1 AND id = $2", 2,
	0, 0 };
static struct db_stmt q_bot_list = { "chatbot_list",
	"SELECT {{Chatbot}} FROM chatbots WHERE company_id = $1 ORDER BY "
	"created_at, id LIMIT 500",
	1, 0, 0 };
/* The chatbot (its documents, conversations, visitors cascade) and the
 * copies of its conversations in webhook deliveries. */
static struct db_stmt q_bot_delete = { "chatbot_delete",
	"WITH c AS (SELECT id::text FROM conversations WHERE company_id = $1 "
	"AND chatbot_id = $2::text::uuid), w AS (DELETE FROM "
	"webhook_deliveries d WHERE d.company_id = $1 AND "
	"(d.payload->'data'->>'chatbot_id' = $2::text OR "
	"d.payload->'data'->>'conversation_id' IN (SELECT id FROM c))) DELETE "
	"FROM chatbots WHERE company_id = $1 AND id = $2::text::uuid",
	2, 0, 0 };
static struct db_stmt q_bot_key = { "chatbot_key",
	"UPDATE chatbots SET public_key = $3, updated_at = now() WHERE "
	"company_id = $1 AND id = $2 RETURNING {{Chatbot}}",
	3, 0, 0 };
static struct db_stmt q_bot_secret = { "chatbot_secret",
	"UPDATE chatbots SET identity_secret_enc = $3, updated_at = now() "
	"WHERE company_id = $1 AND id = $2 RETURNING {{Chatbot}}",
	3, 0, 0 };

/* Settings whose values the audit log may hold (not personal data). */
static const char *const audited_values[] = { "language", "model",
	"temperature", "max_tokens", "handoff_on_no_answer", "require_verified",
	"allowed_origins", "link_domains", "accent_color", "accent_text_color",
	"launcher_position", "locales" };

/* The locales of welcome_messages: those the widget offers. */
static const char *const welcome_locales[] = { "en", "de", "fr", "es", "da",
	"sv", "et", "fi", "nl", "it", "pt", "nb", "ar", "he" };
#define WELCOME_MAX 1000 /* bytes of one welcome */

json_t *
chatbot_json(PGresult *res, int row)
{
	return row_json(&row_chatbot, res, row);
}

/* Re-indexes the chatbot's chunks in its language ('p': company, id, language). */
static int
reindex(struct ctx *ctx, const char **p)
{
	PGresult *res = db_exec(ctx->db, &q_bot_reindex, p);

	PQclear(res);
	return res != NULL ? 0 : -1;
}

/* A new widget key "pk_" + 32 hex digits. */
static int
new_public_key(char out[36])
{
	unsigned char r[16];

	if (crypto_random(r, sizeof(r)) == -1)
		return -1;
	memcpy(out, "pk_", 3);
	crypto_hex(r, sizeof(r), out + 3);
	return 0;
}

/*
 * A new identity secret in 'secret' and its keyring ciphertext (a new
 * string; caller frees with free()) for company 'cid'.
 */
static char *
new_identity_secret(const char *cid, char secret[CRYPTO_TOKEN_LEN + 1])
{
	unsigned char h[32];

	if (crypto_token(secret, h) == -1)
		return NULL;
	return keyring_encrypt(keys_ring(), cid, secret, CRYPTO_TOKEN_LEN);
}

/*
 * welcome_messages: an object of known locales to welcomes as V_TEXT
 * checks them (UTF-8, no control characters but line breaks and tabs),
 * at most WELCOME_MAX bytes. Returns 0, or answers 422 and returns 1 (-1
 * when answering failed).
 */
static int
welcome_refused(struct request *req)
{
	static const struct field f_welcome =
	    FIELD("welcome_messages", V_TEXT, 0, WELCOME_MAX, 0);
	json_t	   *w = json_object_get(req->json, "welcome_messages"), *v;
	const char *k;
	struct verr err;
	size_t	    i;

	json_object_foreach(w, k, v)
	{
		int known = 0;

		for (i = 0; i < nitems(welcome_locales); i++)
			known |= strcmp(k, welcome_locales[i]) == 0;
		memset(&err, 0, sizeof(err));
		if (!known) {
			err.field = "welcome_messages";
			err.code = "unknown";
		} else if (validate_value(v, &f_welcome, &err) == 0)
			continue;
		return validate_problem(req, &err) == -1 ? -1 : 1;
	}
	return 0;
}

/*
 * What no declaration can check alone: text on the accent colour must be
 * readable (WCAG AA, 4.5:1), whichever of the two colours the request
 * changes; the other is the stored one ('old', NULL on create: the
 * defaults). Returns 0 when the pair passes, or answers 422 and returns 1
 * (-1 when answering failed). The table's CHECK is the backstop.
 */
static int
bot_refused(struct request *req, PGresult *old)
{
	const char *a = api_body_str(req, "accent_color");
	const char *t = api_body_str(req, "accent_text_color");
	char	    la[8], lt[8], detail[160];
	double	    ratio;
	json_t	   *x;
	size_t	    i;
	int	    rc;

	if ((rc = welcome_refused(req)) != 0)
		return rc;
	if (a == NULL && t == NULL)
		return 0;
	snprintf(la, sizeof(la), "%s",
	    a != NULL
		? a
		: (old != NULL ? row_get(old, 0, "accent_color") : "#1f2937"));
	snprintf(lt, sizeof(lt), "%s",
	    t != NULL ? t
		      : (old != NULL ? row_get(old, 0, "accent_text_color")
				     : "#ffffff"));
	for (i = 0; la[i] != '\0'; i++)
		la[i] = (char)tolower((unsigned char)la[i]);
	for (i = 0; lt[i] != '\0'; i++)
		lt[i] = (char)tolower((unsigned char)lt[i]);
	if ((ratio = validate_contrast(la, lt)) >= CONTRAST_AA)
		return 0;
	snprintf(detail, sizeof(detail),
	    "Text in accent_text_color on accent_color has a contrast of "
	    "%.2f:1; WCAG AA needs at least 4.5:1",
	    ratio);
	x = json_pack("{s:[{s:s,s:s}],s:f}", "errors", "field",
	    a != NULL ? "accent_color" : "accent_text_color", "code",
	    "contrast", "contrast", (double)(int)(ratio * 100) / 100);
	rc = http_send_problem(
	    req, 422, "validation_failed", "Invalid input", detail, x, NULL);
	json_decref(x);
	return rc == -1 ? -1 : 1;
}

/* Writes the audit entry 'action' for chatbot 'id'. */
static int
bot_audit(struct ctx *ctx, struct request *req, const char *action,
    const char *id, json_t *fields, json_t *changes)
{
	struct audit_entry e = { 0 };

	memset(&e, 0, sizeof(e));
	e.action = action;
	e.resource_type = "chatbot";
	e.resource_id = id;
	e.fields = fields;
	e.changes = changes;
	return audit_write(ctx, &e);
}

/*
 * The audit record of a change from row 'old' (NULL on create) to row
 * 'now': names of the members sent, values of those in audited_values.
 */
static void
bot_diff(json_t *body, PGresult *old, PGresult *now, json_t **fields,
    json_t **changes)
{
	json_t	   *before = old != NULL ? chatbot_json(old, 0) : NULL;
	json_t	   *after = chatbot_json(now, 0), *v;
	const char *k;
	size_t	    i;

	*fields = json_array();
	*changes = json_object();
	json_object_foreach(body, k, v)
	{
		json_array_append_new(*fields, json_string(k));
		for (i = 0; i < nitems(audited_values); i++)
			if (strcmp(k, audited_values[i]) == 0)
				json_object_set_new(*changes, k,
				    json_pack("{s:O*,s:O*}", "old",
					before != NULL
					    ? json_object_get(before, k)
					    : NULL,
					"new", json_object_get(after, k)));
	}
	json_decref(before);
	json_decref(after);
}

int
h_chatbot_create(struct request *req, struct ctx *ctx)
{
	struct plan_refusal refusal;
	char		    id[37], key[36], secret[CRYPTO_TOKEN_LEN + 1];
	char		   *sealed = NULL, *body = NULL;
	const char	   *p[5];
	json_t		   *o = NULL, *fields = NULL, *changes = NULL;
	PGresult	   *res = NULL;
	int		    rc = -1;

	if ((rc = plan_check(ctx, PLAN_CHATBOTS, &refusal)) != 0)
		return rc == 1 ? api_plan_refused(req, &refusal) : -1;
	if ((rc = bot_refused(req, NULL)) != 0)
		return rc == 1 ? 0 : -1;
	rc = -1;
	if (crypto_uuid(id) == -1 || new_public_key(key) == -1 ||
	    (sealed = new_identity_secret(ctx->who.company_id, secret)) ==
		NULL ||
	    (body = json_dumps(req->json, JSON_COMPACT)) == NULL)
		goto out;
	p[0] = ctx->who.company_id;
	p[1] = body;
	p[2] = id;
	p[3] = key;
	p[4] = sealed;
	if ((res = db_exec(ctx->db, &q_bot_new, p)) == NULL)
		goto out;
	PQclear(res);
	if ((res = db_exec(ctx->db, &q_bot_set, p)) == NULL ||
	    PQntuples(res) != 1) {
		/* A team of another company, or of nobody. */
		if (res == NULL &&
		    strcmp(db_last_sqlstate(ctx->db), "23503") == 0) {
			struct verr err = { "team_id", "unknown", "" };

			db_rollback(ctx->db);
			rc = validate_problem(req, &err);
		}
		goto out;
	}
	p[1] = id;
	p[2] = row_get(res, 0, "language");
	if (reindex(ctx, p) == -1)
		goto out;
	bot_diff(req->json, NULL, res, &fields, &changes);
	if (bot_audit(ctx, req, "chatbot.create", id, fields, changes) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	o = chatbot_json(res, 0);
	json_object_set_new(o, "identity_secret", json_string(secret));
	rc = http_send_json(req, 201, o);
out:
	crypto_wipe(secret, sizeof(secret));
	PQclear(res);
	free(sealed);
	free(body);
	json_decref(fields);
	json_decref(changes);
	json_decref(o);
	return rc;
}

int
h_chatbot_list(struct request *req, struct ctx *ctx)
{
	const char *p[1] = { ctx->who.company_id };

	return api_list(req, ctx, &q_bot_list, p);
}

int
h_chatbot_get(struct request *req, struct ctx *ctx)
{
	const char *p[2] = { ctx->who.company_id, router_param(req, "id") };

	return api_get_one(req, ctx, &q_bot_get, p);
}

int
h_chatbot_patch(struct request *req, struct ctx *ctx)
{
	const char *id = router_param(req, "id"), *p[3];
	PGresult   *old = NULL, *res = NULL;
	json_t	   *o = NULL, *fields = NULL, *changes = NULL;
	char	   *body = NULL;
	int	    rc = -1;

	p[0] = ctx->who.company_id;
	p[1] = id;
	if ((old = db_exec(ctx->db, &q_bot_lock, p)) == NULL)
		goto out;
	if (PQntuples(old) != 1) {
		rc = router_not_found(req);
		goto out;
	}
	if ((rc = bot_refused(req, old)) != 0) {
		rc = rc == 1 ? 0 : -1;
		goto out;
	}
	rc = -1;
	if ((body = json_dumps(req->json, JSON_COMPACT)) == NULL)
		goto out;
	p[1] = body;
	p[2] = id;
	if ((res = db_exec(ctx->db, &q_bot_set, p)) == NULL ||
	    PQntuples(res) != 1) {
		/* A team of another company, or of nobody. */
		if (res == NULL &&
		    strcmp(db_last_sqlstate(ctx->db), "23503") == 0) {
			struct verr err = { "team_id", "unknown", "" };

			db_rollback(ctx->db);
			rc = validate_problem(req, &err);
		}
		goto out;
	}
	p[1] = id;
	p[2] = row_get(res, 0, "language");
	if (reindex(ctx, p) == -1)
		goto out;
	bot_diff(req->json, old, res, &fields, &changes);
	if (json_array_size(fields) > 0 &&
	    bot_audit(ctx, req, "chatbot.update", id, fields, changes) == -1)
		goto out;
	if (db_commit(ctx->db) == -1)
		goto out;
	o = chatbot_json(res, 0);
	rc = http_send_json(req, 200, o);
out:
	PQclear(old);
	PQclear(res);
	free(body);
	json_decref(fields);
	json_decref(changes);
	json_decref(o);
	return rc;
}

int
h_chatbot_delete(struct request *req, struct ctx *ctx)
{
	const char *p[2] = { ctx->who.company_id, router_param(req, "id") };

	return api_delete(req, ctx, &q_bot_delete, p);
}

/* Rotates the widget key ('secret' 0) or the identity secret ('secret' 1). */
static int
rotate(struct request *req, struct ctx *ctx, int secret)
{
	const char *id = router_param(req, "id"), *p[3];
	char	    key[36], plain[CRYPTO_TOKEN_LEN + 1] = "";
	char	   *sealed = NULL;
	PGresult   *res = NULL;
	json_t	   *o = NULL, *fields = NULL;
	int	    rc = -1;

	p[0] = ctx->who.company_id;
	p[1] = id;
	if (secret) {
		if ((sealed = new_identity_secret(
			 ctx->who.company_id, plain)) == NULL)
			goto out;
		p[2] = sealed;
	} else {
		if (new_public_key(key) == -1)
			goto out;
		p[2] = key;
	}
	if ((res = db_exec(ctx->db, secret ? &q_bot_secret : &q_bot_key, p)) ==
	    NULL)
		goto out;
	if (PQntuples(res) != 1) {
		rc = router_not_found(req);
		goto out;
	}
	fields = json_pack("[s]", secret ? "identity_secret" : "public_key");
	if (bot_audit(ctx, req,
		secret ? "chatbot.rotate_identity_secret"
		       : "chatbot.rotate_key",
		id, fields, NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	o = chatbot_json(res, 0);
	if (secret)
		json_object_set_new(o, "identity_secret", json_string(plain));
	rc = http_send_json(req, 200, o);
out:
	crypto_wipe(plain, sizeof(plain));
	PQclear(res);
	free(sealed);
	json_decref(fields);
	json_decref(o);
	return rc;
}

int
h_chatbot_rotate_key(struct request *req, struct ctx *ctx)
{
	return rotate(req, ctx, 0);
}

int
h_chatbot_rotate_secret(struct request *req, struct ctx *ctx)
{
	return rotate(req, ctx, 1);
}
