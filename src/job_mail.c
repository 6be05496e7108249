/*
 * job_mail.c: the mail jobs (job_mail.h): each template's text, built
 * from the job's payload as it is sent, then handed to mail.c. A
 * payload may carry a link's token encrypted; it is opened here, used
 * once and wiped.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "detect.h"
#include "job_mail.h"
#include "server_keys.h"
#include "log.h"
#include "mail.h"
#include "row.h"
#include "util.h"

/* The mail result as a job result. */
static enum job_result
mail_result(int rc, const char **err)
{
	if (rc == 0)
		return JOB_OK;
	*err = rc == -1 ? "mail_rejected" : "mail_unavailable";
	return rc == -1 ? JOB_FAIL : JOB_RETRY;
}

/* A notice that needs no link: an endpoint turned off. */
static enum job_result
job_notice(const struct conf *cfg, const char *to, json_t *payload,
    const char *key, const char **err)
{
	const char *url = json_string_value(json_object_get(payload, "url"));
	const char *why = json_string_value(json_object_get(payload, "reason"));
	char	    body[4096];
	int	    rc;

	if (url == NULL || why == NULL) {
		*err = "bad_payload";
		return JOB_FAIL;
	}
	snprintf(body, sizeof(body),
	    "parley has turned off a webhook endpoint of your company:\n\n"
	    "  %s\n\nReason: %s.\n\n%s\nSee its deliveries and turn it on "
	    "again under Settings, Webhooks (%s/settings/webhooks), or with "
	    "PATCH /api/v1/webhook-endpoints/{id} {\"enabled\": true}.\n",
	    url,
	    strcmp(why, "retries_exhausted") == 0
		? "its deliveries kept failing for about a day"
		: strcmp(why, "gone") == 0 ? "it answered 410 Gone"
		: strcmp(why, "blocked_address") == 0
		? "its address is not public (loopback, private or link-local)"
		: why,
	    "Events that happened meanwhile were not sent.\n",
	    cfg->public_base_url);
	rc = mail_send(
	    cfg, to, "A parley webhook endpoint was turned off", body, key);
	return mail_result(rc, err);
}

/*
 * A sign-in from a network and browser family the member never used:
 * when, from where (the /24 or /48, the family), and a link that ends
 * that session only. The link's token is made here, from the ids and
 * expiry in the payload, under a server key: the queue holds no secret.
 */
static enum job_result
job_sign_in(const struct conf *cfg, const char *to, const char *cid,
    json_t *payload, const char *key, const char **err)
{
	json_t	   *in = json_object_get(payload, "sign_in");
	const char *sid =
	    json_string_value(json_object_get(payload, "session"));
	const char *net = json_string_value(json_object_get(in, "network"));
	const char *agent = json_string_value(json_object_get(in, "agent"));
	json_int_t  at = json_integer_value(json_object_get(payload, "at"));
	json_int_t  exp =
	    json_integer_value(json_object_get(payload, "expires"));
	char	  token[160], when[40], body[2048];
	time_t	  t = (time_t)at;
	struct tm tm;

	if (cid == NULL || sid == NULL || net == NULL || agent == NULL ||
	    !db_uuid_valid(sid) || at <= 0 || exp <= at) {
		*err = "bad_payload";
		return JOB_FAIL;
	}
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	detect_link_token(cid, sid, (long long)exp, token);
	snprintf(body, sizeof(body),
	    "Your parley account was signed in to from somewhere new:\n\n"
	    "  When:    %s\n  Browser: %s\n  Network: %s\n\n"
	    "If this was you, there is nothing to do.\n\n"
	    "If it was not you, end that session now (this link works once, "
	    "for %lld hours):\n\n  %s/sign-in-check#token=%s\n\n"
	    "then change your password and check your two-factor settings. "
	    "Your company's admins are told when a session is ended this "
	    "way.\n",
	    when, agent, net, (long long)(exp - at) / 3600,
	    cfg->public_base_url, token);
	return mail_result(
	    mail_send(cfg, to, "New sign-in to your parley account", body, key),
	    err);
}

/*
 * Someone registered with an address that has an account: its holder is
 * told, and nothing else happens (the registration answered as for a new
 * address, so it reveals nothing).
 */
static enum job_result
job_signup_existing(
    const struct conf *cfg, const char *to, const char *key, const char **err)
{
	char body[2048];

	snprintf(body, sizeof(body),
	    "Someone tried to sign up for parley with this address, which "
	    "already has an account. Nothing was changed.\n\nIf it was you, "
	    "sign in at %s/login, or set a new password at "
	    "%s/forgot-password.\n\nIf it was not you, you can ignore this "
	    "message.\n",
	    cfg->public_base_url, cfg->public_base_url);
	return mail_result(
	    mail_send(cfg, to, "Someone tried to sign up with your address",
		body, key),
	    err);
}

/* Who invited, to which company: read when the mail goes out. */
static struct db_stmt q_invite_names = { "invite_names",
	"SELECT c.name, u.name, u.email FROM companies c LEFT JOIN users u "
	"ON u.company_id = c.id AND u.id = $2 WHERE c.id = $1",
	2, 0, 0 };

/*
 * The invitation's first lines: the company and, while they are still a
 * member, who invited (their current name and address). Returns 0, or -1
 * if the database could not say (try again later).
 */
static int
invite_intro(struct db *db, const struct job *job, char *out, size_t outlen)
{
	const char *by =
	    json_string_value(json_object_get(job->payload, "invited_by"));
	const char *p[2] = { job->company_id, db_uuid_valid(by) ? by : NULL };
	PGresult   *res = NULL;
	struct db_call c = { &q_invite_names, p, &res };

	if (db_tenant_batch(db, job->company_id, &c, 1) == -1)
		return -1;
	if (PQntuples(res) != 1)
		snprintf(out, outlen,
		    "You have been invited to join a team "
		    "on parley.\n\n");
	else if (PQgetisnull(res, 0, 1))
		snprintf(out, outlen,
		    "You have been invited to join %s on parley.\n\n",
		    PQgetvalue(res, 0, 0));
	else
		snprintf(out, outlen,
		    "%s (%s) invited you to join %s on parley.\n\n",
		    PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
		    PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* The mails that carry a one-time link: template, subject, path, text. */
static const struct {
	const char *tpl, *subject, *path, *intro;
} link_mails[] = {
	{ "password_reset", "Reset your parley password",
	    "/reset-password#token=",
	    "Someone asked to reset the password of this parley account. If "
	    "it was you, open this link within 30 minutes; it works once:" },
	{ "invitation", "You are invited to join a team on parley",
	    "/accept-invitation#token=",
	    "Open this link within 7 days to choose your name and password; "
	    "it works once:" },
	{ "signup_confirm", "Finish signing up for parley",
	    "/confirm-signup#token=",
	    "Someone, hopefully you, asked to create a parley account with "
	    "this address. Open this link within 48 hours to create it; it "
	    "works once:" },
	{ "email_verify", "Confirm your e-mail address for parley",
	    "/verify-email#token=",
	    "Please confirm that this address belongs to your parley account "
	    "by opening this link:" },
};

/*
 * An agent's digest: which conversations want them, by chatbot and kind,
 * and a link to the console; never a message's text (a restricted
 * visitor's least of all). RFC 8058: List-Unsubscribe with a one-click
 * POST.
 */
static enum job_result
job_digest(const struct conf *cfg, const char *to, json_t *payload,
    const char *key, const char **err)
{
	const char *token =
	    json_string_value(json_object_get(payload, "unsubscribe"));
	json_t *items = json_object_get(payload, "items"), *it;
	char	body[8192], headers[600];
	size_t	i, o = 0;
	int n, more = (int)json_integer_value(json_object_get(payload, "more"));
	int alerts = 0;
	const char *subject;

	if (token == NULL || !json_is_array(items) ||
	    strspn(token,
		"0123456789abcdef-.ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"ghijklmnopqrstuvwxyz_") != strlen(token)) {
		*err = "bad_payload";
		return JOB_FAIL;
	}
	json_array_foreach(items, i, it)
	{
		const char *k = json_string_value(json_object_get(it, "kind"));

		alerts += k != NULL && strcmp(k, "security_alert") == 0;
	}
	n = snprintf(body, sizeof(body),
	    alerts > 0 ? "parley needs your attention:\n\n"
		       : "Visitors are waiting for your team in parley:\n\n");
	o = n > 0 ? (size_t)n : 0;
	subject = alerts > 0 ? "Security alert in parley"
			     : "Visitors are waiting in parley";
	alerts = 0;
	json_array_foreach(items, i, it)
	{
		const char *kind =
		    json_string_value(json_object_get(it, "kind"));
		const char *bot =
		    json_string_value(json_object_get(it, "chatbot"));
		const char *cv =
		    json_string_value(json_object_get(it, "conversation_id"));
		const char *alert =
		    json_string_value(json_object_get(it, "alert"));
		const struct detect_rule *rule = detect_rule_find(
		    json_string_value(json_object_get(it, "rule")));
		int cnt = (int)json_integer_value(json_object_get(it, "count"));

		if (kind != NULL && strcmp(kind, "security_alert") == 0 &&
		    alert != NULL && rule != NULL && o < sizeof(body)) {
			/* An alert: what fired, how bad, where to look. */
			n = snprintf(body + o, sizeof(body) - o,
			    "- Security alert (%s): %s\n  "
			    "%s/security?alert=%s\n",
			    rule->severity, rule->title, cfg->public_base_url,
			    alert);
			if (n > 0)
				o += (size_t)n;
			alerts++;
			continue;
		}
		if (kind == NULL || bot == NULL || cv == NULL ||
		    o >= sizeof(body))
			continue;
		n = snprintf(body + o, sizeof(body) - o,
		    "- %s (%s)%s\n  %s/inbox?c=%s\n",
		    strcmp(kind, "handoff") == 0	? "handed to a person"
			: strcmp(kind, "assigned") == 0 ? "assigned to you"
			: cnt > 1 ? "the visitor wrote again"
				  : "the visitor wrote",
		    bot,
		    cnt > 1 && strcmp(kind, "visitor_message") == 0
			? " several times"
			: "",
		    cfg->public_base_url, cv);
		if (n > 0)
			o += (size_t)n;
	}
	if (more > 0 && o < sizeof(body)) {
		n = snprintf(
		    body + o, sizeof(body) - o, "- and %d more\n", more);
		if (n > 0)
			o += (size_t)n;
	}
	if (o < sizeof(body))
		snprintf(body + o, sizeof(body) - o,
		    "\nOpen the inbox: %s/inbox\n\nYou get this because you "
		    "had not seen these in the console. Change how and when "
		    "under Your account, or stop these mails: "
		    "%s/unsubscribe#token=%s\n",
		    cfg->public_base_url, cfg->public_base_url, token);
	snprintf(headers, sizeof(headers),
	    "List-Unsubscribe: <%s/api/v1/notifications/unsubscribe?token=%s>"
	    "\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
	    cfg->public_base_url, token);
	return mail_result(
	    mail_send_headers(cfg, to, subject, body, key, headers), err);
}

/* E-mail: a one-time link (password reset, invitation, address
 * verification) or a notice. */
enum job_result
job_mail(const struct conf *cfg, struct db *db, const struct job *job,
    const char **err)
{
	const char *company_id = job->company_id;
	json_t	   *payload = job->payload;
	const char *to = json_string_value(json_object_get(payload, "to"));
	const char *tpl =
	    json_string_value(json_object_get(payload, "template"));
	const char *sealed =
	    json_string_value(json_object_get(payload, "token_enc"));
	const char   *subject, *path, *intro;
	unsigned char tok[64];
	char	      body[2048], who[700] = "";
	size_t	      k;
	int	      n, rc;

	if (to != NULL && tpl != NULL && strcmp(tpl, "webhook_disabled") == 0)
		return job_notice(cfg, to, payload, job->id, err);
	if (to != NULL && tpl != NULL && strcmp(tpl, "signup_existing") == 0)
		return job_signup_existing(cfg, to, job->id, err);
	if (to != NULL && tpl != NULL && strcmp(tpl, "digest") == 0)
		return job_digest(cfg, to, payload, job->id, err);
	if (to != NULL && tpl != NULL && strcmp(tpl, "new_sign_in") == 0)
		return job_sign_in(
		    cfg, to, job->company_id, payload, job->id, err);
	/* A signup's link is sealed under the company it will create. */
	if (company_id == NULL)
		company_id =
		    json_string_value(json_object_get(payload, "seal_id"));
	if (to == NULL || tpl == NULL || sealed == NULL || company_id == NULL) {
		*err = "bad_payload";
		return JOB_FAIL;
	}
	for (k = 0; k < nitems(link_mails); k++)
		if (strcmp(tpl, link_mails[k].tpl) == 0)
			break;
	if (k == nitems(link_mails)) {
		*err = "bad_template";
		return JOB_FAIL;
	}
	subject = link_mails[k].subject;
	path = link_mails[k].path;
	intro = link_mails[k].intro;
	if (strcmp(tpl, "invitation") == 0 &&
	    invite_intro(db, job, who, sizeof(who)) == -1) {
		*err = "database";
		return JOB_RETRY;
	}

	n = keyring_decrypt(
	    keys_ring(), company_id, sealed, tok, sizeof(tok) - 1);
	if (n <= 0) {
		*err = "undecryptable";
		return JOB_FAIL;
	}
	tok[n] = '\0';
	snprintf(body, sizeof(body),
	    "%s%s\n\n%s%s%s\n\nIf you did not ask for this, ignore this "
	    "message.\n",
	    who, intro, cfg->public_base_url, path, (const char *)tok);
	crypto_wipe(tok, sizeof(tok));
	rc = mail_send(cfg, to, subject, body, job->id);
	crypto_wipe(body, sizeof(body));
	return mail_result(rc, err);
}
