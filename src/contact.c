/* contact.c: see contact.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf.h"
#include "contact.h"
#include "crypto.h"
#include "db.h"
#include "job_queue.h"
#include "log.h"
#include "mail.h"
#include "notify.h"
#include "row.h"
#include "server_keys.h"

#define CONTACT_BATCH 50 /* conversations per sweep pass */
#define MAIL_BODY_MAX 65536 /* bytes of one mail's text */
#define MAIL_MESSAGES_MAX 500 /* messages in one transcript */

static const char *const purposes[LINK__MAX] = {
	[LINK_RESUME] = "parley contact resume v1",
	[LINK_CONFIRM] = "parley contact confirm v1",
};

/* What a link's MAC is of: (cid, conv, exp, bind). */
static void
link_msg(const char *cid, const char *conv, long long exp, const char *bind,
    char msg[400])
{
	snprintf(msg, 400, "%s:%s:%lld:%s", cid, conv, exp, bind);
}

void
contact_link_make(enum contact_link kind, const char *cid, const char *conv,
    time_t exp, const char *bind, char out[CONTACT_LINK_MAX])
{
	char msg[400], m[44];

	link_msg(cid, conv, (long long)exp, bind, msg);
	keys_derived_mac(purposes[kind], msg, m);
	crypto_wipe(msg, sizeof(msg));
	snprintf(out, CONTACT_LINK_MAX, "%s.%s.%lld.%s", cid, conv,
	    (long long)exp, m);
}

int
contact_link_parse(const char *token, char cid[37], char conv[37], time_t *exp)
{
	const char *e, *dot;
	size_t	    n;

	if (token == NULL || strlen(token) >= CONTACT_LINK_MAX ||
	    strlen(token) < 36 + 1 + 36 + 1 + 1 + 1 + 43 || token[36] != '.' ||
	    token[73] != '.')
		return -1;
	memcpy(cid, token, 36);
	cid[36] = '\0';
	memcpy(conv, token + 37, 36);
	conv[36] = '\0';
	e = token + 74;
	if ((dot = strchr(e, '.')) == NULL)
		return -1;
	n = (size_t)(dot - e);
	if (n < 1 || n > 10 || strspn(e, "0123456789") != n ||
	    strlen(dot + 1) != 43 || !db_uuid_valid(cid) ||
	    !db_uuid_valid(conv))
		return -1;
	if (exp != NULL)
		*exp = (time_t)strtoll(e, NULL, 10);
	return 0;
}

int
contact_link_check(
    enum contact_link kind, const char *token, const char *bind, time_t now)
{
	char   cid[37], conv[37], msg[400];
	time_t exp;
	int    ok;

	if ((unsigned)kind >= LINK__MAX ||
	    contact_link_parse(token, cid, conv, &exp) == -1)
		return -1;
	link_msg(cid, conv, (long long)exp, bind, msg);
	ok = keys_derived_check(purposes[kind], msg, strrchr(token, '.') + 1);
	crypto_wipe(msg, sizeof(msg));
	if (!ok)
		return -1;
	return exp < now ? 1 : 0;
}

/* --- the sweep --- */

static struct db_stmt q_due = { "contact_due",
	"SELECT company_id, conversation_id FROM "
	"parley_lookup_contact_due($1::int, $2::int)",
	2, 0, 0 };
/* The replies to mail: after what the visitor saw or was mailed. */
static struct db_stmt q_take = { "contact_take",
	"WITH c AS (SELECT c.id, greatest(c.visitor_seen_seq, "
	"c.contact_mailed_seq) AS after FROM conversations c JOIN visitors v "
	"ON v.company_id = c.company_id AND v.id = c.visitor_id WHERE "
	"c.company_id = $1 AND c.id = $2 AND c.contact_due_at IS NOT NULL AND "
	"v.contact_confirmed_at IS NOT NULL FOR UPDATE OF c), t AS (SELECT "
	"c.after, (SELECT max(m.seq) FROM messages m WHERE m.company_id = $1 "
	"AND m.conversation_id = c.id AND m.role = 'agent' AND m.seq > "
	"c.after) AS upto FROM c), u AS (UPDATE conversations x SET "
	"contact_due_at = NULL, contact_mailed_seq = coalesce(t.upto, "
	"x.contact_mailed_seq) FROM t WHERE x.company_id = $1 AND x.id = $2 "
	"RETURNING t.after, t.upto) SELECT after, upto FROM u",
	2, 0, 0 };
/* Conversations that are due but whose visitor has no confirmed address
 * any more (erased, rectified): nothing to mail. */
static struct db_stmt q_clear = { "contact_clear",
	"UPDATE conversations SET contact_due_at = NULL WHERE company_id = $1 "
	"AND id = $2",
	2, 0, 0 };

/* One conversation's due replies: 1 mail queued, 0 none. */
static int
take(const struct conf *cfg, struct db *db, const char *cid, const char *conv)
{
	const char *p[2] = { cid, conv };
	PGresult   *res;
	json_t	   *job = NULL;
	int	    n, rc = -1;

	(void)cfg;
	if (db_tenant_begin(db, cid, NULL, NULL, NULL) == -1)
		return -1;
	if ((res = db_exec(db, &q_take, p)) == NULL)
		goto out;
	n = PQntuples(res);
	if (n == 1 && !PQgetisnull(res, 0, 1))
		job = json_pack("{s:s,s:s,s:I,s:I}", "kind", "reply",
		    "conversation_id", conv, "after",
		    (json_int_t)row_int(res, 0, "after"), "upto",
		    (json_int_t)row_int(res, 0, "upto"));
	PQclear(res);
	if (n == 0 && (res = db_exec(db, &q_clear, p)) != NULL)
		PQclear(res);
	if (job != NULL && jobs_enqueue(db, "visitor_mail", cid, job) == -1)
		goto out;
	if (db_commit(db) == -1)
		goto out;
	rc = job != NULL;
out:
	json_decref(job);
	if (rc == -1)
		db_rollback(db);
	return rc;
}

int
contact_sweep(const struct conf *cfg, struct db *db)
{
	char delay[12];
	int  sent;

	snprintf(delay, sizeof(delay), "%d", cfg->contact_reply_delay);
	sent = notify_each(cfg, db, &q_due, delay, take);
	if (sent > 0)
		log_event(LOG_INFO, "contact_mails", LOG_I("queued", sent));
	return sent;
}

/* --- the mails --- */

static struct db_stmt q_about = { "contact_about",
	"SELECT v.contact_email AS email, v.contact_confirmed_at IS NOT NULL "
	"AS confirmed, b.name AS chatbot, b.public_key, co.name AS company "
	"FROM conversations c JOIN visitors v ON v.company_id = c.company_id "
	"AND v.id = c.visitor_id JOIN chatbots b ON b.company_id = "
	"c.company_id AND b.id = c.chatbot_id JOIN companies co ON co.id = "
	"c.company_id WHERE c.company_id = $1 AND c.id = $2",
	2, 0, 0 };
/* The messages a mail quotes: agents' replies in (after, upto], or the
 * whole conversation for a transcript. */
static struct db_stmt q_lines = { "contact_lines",
	"SELECT m.role, m.content, to_char(m.created_at AT TIME ZONE 'UTC', "
	"'YYYY-MM-DD HH24:MI') AS at FROM messages m WHERE m.company_id = $1 "
	"AND m.conversation_id = $2 AND m.seq > $3::integer AND m.seq <= "
	"$4::integer AND ($5::boolean OR m.role = 'agent') ORDER BY m.seq "
	"LIMIT 500",
	5, 0, 0 };

struct text {
	char  *buf;
	size_t len;
	int    full; /* something did not fit */
};

/* Appends to 't', up to MAIL_BODY_MAX bytes; what does not fit is cut
 * at a line (a mail is never cut inside a character). */
static void
say(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int	n;

	if (t->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, MAIL_BODY_MAX - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= MAIL_BODY_MAX - t->len) {
		t->full = 1;
		while (t->len > 0 && t->buf[t->len - 1] != '\n')
			t->len--;
		t->buf[t->len] = '\0';
		return;
	}
	t->len += (size_t)n;
}

/* Quotes 'content' indented, line by line. */
static void
quote(struct text *t, const char *content)
{
	const char *s = content, *nl;

	while (*s != '\0') {
		nl = strchr(s, '\n');
		if (nl == NULL)
			nl = s + strlen(s);
		say(t, "  %.*s\n", (int)(nl - s), s);
		s = *nl == '\n' ? nl + 1 : nl;
	}
}

static const char *
who(const char *role, const char *company)
{
	return strcmp(role, "visitor") == 0 ? "You"
	    : strcmp(role, "agent") == 0    ? company
					    : "Assistant";
}

enum job_result
job_visitor_mail(const struct conf *cfg, struct db *db, const struct job *job,
    const char **err)
{
	const char *kind =
	    json_string_value(json_object_get(job->payload, "kind"));
	const char *conv =
	    json_string_value(json_object_get(job->payload, "conversation_id"));
	const char *p[5], *subject;
	char email[255], bot[101], key[36], company[201], tok[CONTACT_LINK_MAX];
	char after[16], upto[16];
	struct text	t = { NULL, 0, 0 };
	PGresult       *res = NULL;
	enum job_result out = JOB_RETRY;
	int		confirmed, transcript, confirm, i, n, rc;
	time_t		exp = time(NULL) + cfg->contact_link_ttl;

	*err = "database";
	if (kind == NULL || conv == NULL || job->company_id == NULL ||
	    !db_uuid_valid(conv)) {
		*err = "bad_payload";
		return JOB_FAIL;
	}
	confirm = strcmp(kind, "confirm") == 0;
	transcript = strcmp(kind, "transcript") == 0;
	if (!confirm && !transcript && strcmp(kind, "reply") != 0) {
		*err = "bad_payload";
		return JOB_FAIL;
	}
	p[0] = job->company_id;
	p[1] = conv;
	if (db_tenant_begin(db, job->company_id, &q_about, p, &res) == -1)
		return JOB_RETRY;
	if (res == NULL || PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		/* Erased, deleted, or the address is gone: nothing to send. */
		PQclear(res);
		db_rollback(db);
		log_event(LOG_INFO, "visitor_mail_dropped",
		    LOG_S("reason", "no_address"));
		return JOB_OK;
	}
	confirmed = row_bool(res, 0, "confirmed");
	snprintf(email, sizeof(email), "%s", row_get(res, 0, "email"));
	snprintf(bot, sizeof(bot), "%s", row_get(res, 0, "chatbot"));
	snprintf(key, sizeof(key), "%s", row_get(res, 0, "public_key"));
	snprintf(company, sizeof(company), "%s", row_get(res, 0, "company"));
	PQclear(res);
	res = NULL;
	/* A confirmation only while unconfirmed; anything else only once
	 * confirmed: the widget cannot be used to mail strangers. */
	if (confirm == confirmed) {
		db_rollback(db);
		log_event(LOG_INFO, "visitor_mail_dropped",
		    LOG_S("reason", confirm ? "confirmed" : "unconfirmed"));
		return JOB_OK;
	}
	if ((t.buf = malloc(MAIL_BODY_MAX)) == NULL)
		goto out;
	t.buf[0] = '\0';
	contact_link_make(confirm ? LINK_CONFIRM : LINK_RESUME, job->company_id,
	    conv, exp, confirm ? email : "", tok);
	if (confirm) {
		subject = "Confirm your address for replies";
		say(&t,
		    "You left this address in the chat with %s (%s) so that "
		    "its team can answer you by e-mail.\n\nConfirm it here "
		    "(the link opens your conversation):\n\n%s/widget/"
		    "frame?bot=%s#confirm=%s\n\nIf it was not you, ignore this "
		    "message: nothing more will be sent to you.\n",
		    bot, company, cfg->public_base_url, key, tok);
	} else {
		snprintf(after, sizeof(after), "%lld",
		    (long long)json_integer_value(
			json_object_get(job->payload, "after")));
		snprintf(upto, sizeof(upto), "%lld",
		    transcript ? 2147483647LL
			       : (long long)json_integer_value(
				     json_object_get(job->payload, "upto")));
		p[2] = transcript ? "0" : after;
		p[3] = upto;
		p[4] = transcript ? "true" : "false";
		if ((res = db_exec(db, &q_lines, p)) == NULL)
			goto out;
		n = PQntuples(res);
		subject = transcript ? "Your chat transcript"
				     : "A reply to your chat";
		say(&t,
		    transcript ? "Your conversation with %s (%s):\n\n"
			       : "%s (%s) replied to you:\n\n",
		    bot, company);
		for (i = 0; i < n; i++) {
			say(&t, "%s, %s UTC:\n",
			    who(row_get(res, i, "role"), company),
			    row_get(res, i, "at"));
			quote(&t, row_get(res, i, "content"));
			say(&t, "\n");
		}
		if (t.full || n == MAIL_MESSAGES_MAX) {
			t.full = 0;
			say(&t, "(Shortened: the conversation has more.)\n\n");
		}
		say(&t,
		    "Open the conversation to answer:\n\n%s/widget/"
		    "frame?bot=%s#resume=%s\n\nThe link opens this "
		    "conversation only and works for %d days. You get this "
		    "because you left this address in the chat.\n",
		    cfg->public_base_url, key, tok,
		    cfg->contact_link_ttl / 86400 > 0
			? cfg->contact_link_ttl / 86400
			: 1);
		PQclear(res);
		res = NULL;
		if (n == 0 && !transcript) {
			db_rollback(db); /* erased meanwhile */
			out = JOB_OK;
			goto out;
		}
	}
	db_rollback(db); /* read only: nothing is held while mailing */
	rc = mail_send(cfg, email, subject, t.buf, job->id);
	*err = rc == -1 ? "mail_rejected" : "mail_unavailable";
	out = rc == 0 ? JOB_OK : rc == -1 ? JOB_FAIL : JOB_RETRY;
out:
	PQclear(res);
	if (db_in_tx(db))
		db_rollback(db);
	crypto_wipe(tok, sizeof(tok));
	if (t.buf != NULL) {
		crypto_wipe(t.buf, MAIL_BODY_MAX);
		free(t.buf);
	}
	return out;
}
