/* detect.c: see detect.h. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "crypto.h"
#include "ctx.h"
#include "db.h"
#include "detect.h"
#include "job_queue.h"
#include "log.h"
#include "metrics.h"
#include "row.h"
#include "server_keys.h"
#include "util.h"

const struct detect_rule detect_rules[] = {
	{ "login_failures", "medium", "Many failed logins for one account" },
	{ "credential_stuffing", "high",
	    "One address failing to log in to many accounts" },
	{ "sign_in_revoked", "high",
	    "A member said a sign-in was not theirs and ended it" },
	{ "refresh_reuse", "high",
	    "A refresh token came back after use: its session was ended" },
	{ "mfa_disabled", "medium", "Two-factor authentication turned off" },
	{ "recovery_code_used", "medium", "A recovery code used to log in" },
	{ "role_granted", "medium", "An owner or admin role granted" },
	{ "id_walking", "medium",
	    "Many unknown ids or denials for one session or API key" },
	{ "unusual_export", "medium",
	    "Exports or erasures beyond the company's usual pattern" },
	{ "api_key_new_network", "medium",
	    "An API key used from a network it never used" },
	{ "webhook_disabled", "low", "A webhook endpoint turned off" },
	{ "csp_spike", "low",
	    "A spike in CSP reports from a chatbot's widget" },
};
const size_t detect_nrules = nitems(detect_rules);

int
detect_guard_begin(struct ctx *ctx)
{
	return db_savepoint(ctx->db);
}

int
detect_guard_end(struct ctx *ctx, int rc, const char *what)
{
	if (db_savepoint_end(ctx->db, rc != -1) == -1)
		return -1;
	if (rc == -1) {
		log_event(LOG_ERROR, "detect_failed", LOG_S("code", what));
		metrics_count(MET_DETECT_FAILED, what, 1);
	}
	return 0;
}

const struct detect_rule *
detect_rule_find(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < detect_nrules; i++)
		if (strcmp(detect_rules[i].name, name) == 0)
			return &detect_rules[i];
	return NULL;
}

static struct db_stmt q_raise = { "alert_raise",
	"SELECT alert_id, opened, n FROM parley_alert_raise($1, $2, $3, $4, "
	"$5, $6::jsonb)",
	6, 0, 0 };

int
alert_raise(struct ctx *ctx, const char *cid, const char *rule,
    const char *subject, const char *uid, json_t *detail)
{
	const struct detect_rule *r = detect_rule_find(rule);
	const char		 *p[6];
	char			 *d = NULL;
	PGresult		 *res;

	if (r == NULL)
		return -1;
	if (detail != NULL)
		d = json_dumps(detail, JSON_COMPACT);
	p[0] = cid;
	p[1] = rule;
	p[2] = r->severity;
	p[3] = subject;
	p[4] = uid != NULL && uid[0] != '\0' ? uid : NULL;
	p[5] = d;
	res = db_exec(ctx->db, &q_raise, p);
	free(d);
	if (res == NULL)
		return -1;
	if (row_bool(res, 0, "opened")) {
		log_event(LOG_WARN, "security_alert", LOG_S("rule", rule),
		    LOG_S("severity", r->severity), LOG_S("company", cid),
		    LOG_S("alert", row_get(res, 0, "alert_id")));
		/* Credential stuffing is one incident however many
		 * companies it touched: counted once, with the operator's
		 * line. */
		if (strcmp(rule, "credential_stuffing") != 0)
			metrics_count(MET_ALERTS, rule, 1);
	}
	PQclear(res);
	return 0;
}

#define DETECT_CAP 3 /* a baseline lifts a threshold at most 3 x its minimum */

static struct db_stmt q_count = { "detect_count",
	"SELECT n, baseline FROM parley_detect_count($1, $2, $3, "
	"$4::double precision)",
	4, 0, 0 };

/*
 * Counts one event of 'rule' about 'subject' and raises the alert when
 * the hour's count reaches max('min', detect_factor x baseline).
 */
static int
counted(struct ctx *ctx, const char *cid, const char *rule, const char *subject,
    const char *uid, int min)
{
	const char *p[4] = { cid, rule, subject };
	char	    alpha[16];
	PGresult   *res;
	long long   n;
	double	    base, limit;
	json_t	   *d;
	int	    rc;

	snprintf(alpha, sizeof(alpha), "%.4f",
	    ctx->conf->detect_baseline_weight / 100.0);
	p[3] = alpha;
	if ((res = db_exec(ctx->db, &q_count, p)) == NULL)
		return -1;
	n = row_int(res, 0, "n");
	base = strtod(row_get(res, 0, "baseline"), NULL);
	PQclear(res);
	/* The subject's own baseline raises its threshold, at most to
	 * DETECT_CAP times the minimum: nobody trains a rule away by
	 * running just under it for a day. */
	limit = ceil(ctx->conf->detect_factor * base);
	if (limit > (double)DETECT_CAP * min)
		limit = (double)DETECT_CAP * min;
	if (limit < min)
		limit = min;
	if ((double)n < limit)
		return 0;
	d = json_pack("{s:I,s:f,s:I}", "hour_count", (json_int_t)n, "baseline",
	    floor(base * 100.0 + 0.5) / 100.0, "threshold", (json_int_t)limit);
	rc = alert_raise(ctx, cid, rule, subject, uid, d);
	json_decref(d);
	return rc;
}

/* "kind:id" into 'out'. */
static const char *
subj(char *out, size_t len, const char *kind, const char *id)
{
	snprintf(out, len, "%s:%s", kind, id);
	return out;
}

int
detect_event(struct ctx *ctx, const char *cid, const char *uid,
    const char *kind, json_t *detail)
{
	char	    s[128];
	const char *v;

	if ((strcmp(kind, "login_failure") == 0 ||
		strcmp(kind, "login_locked") == 0) &&
	    uid != NULL)
		return counted(ctx, cid, "login_failures",
		    subj(s, sizeof(s), "user", uid), uid,
		    ctx->conf->detect_login_failures);
	if ((strcmp(kind, "refresh_reuse") == 0 ||
		strcmp(kind, "mfa_disabled") == 0) &&
	    uid != NULL)
		return alert_raise(
		    ctx, cid, kind, subj(s, sizeof(s), "user", uid), uid, NULL);
	if (strcmp(kind, "login_success") == 0 && uid != NULL &&
	    json_is_true(json_object_get(detail, "recovery_code")))
		return alert_raise(ctx, cid, "recovery_code_used",
		    subj(s, sizeof(s), "user", uid), uid, NULL);
	if (strcmp(kind, "unknown_id") == 0 ||
	    strcmp(kind, "access_denied") == 0) {
		if (ctx->who.kind == AUTH_KEY && ctx->who.key_id[0] != '\0')
			subj(s, sizeof(s), "key", ctx->who.key_id);
		else if (ctx->who.session_id[0] != '\0')
			subj(s, sizeof(s), "session", ctx->who.session_id);
		else
			return 0;
		return counted(
		    ctx, cid, "id_walking", s, uid, ctx->conf->detect_denials);
	}
	/* Joining as admin or owner (an invitation, single sign-on's
	 * just-in-time members) is a grant like a role change. */
	if ((strcmp(kind, "invitation_accepted") == 0 ||
		strcmp(kind, "sso_jit_member") == 0) &&
	    uid != NULL &&
	    (v = json_string_value(json_object_get(detail, "role"))) != NULL &&
	    (strcmp(v, "admin") == 0 || strcmp(v, "owner") == 0)) {
		json_t *d = json_pack("{s:s,s:s}", "role", v, "via",
		    strcmp(kind, "invitation_accepted") == 0 ? "invitation"
							     : "sso");
		int	rc = alert_raise(ctx, cid, "role_granted",
			subj(s, sizeof(s), "user", uid), uid, d);

		json_decref(d);
		return rc;
	}
	if (strcmp(kind, "sign_in_revoked") == 0 &&
	    (v = json_string_value(json_object_get(detail, "session"))) != NULL)
		return alert_raise(ctx, cid, "sign_in_revoked",
		    subj(s, sizeof(s), "session", v), uid, detail);
	if (strcmp(kind, "api_key_new_network") == 0 &&
	    (v = json_string_value(json_object_get(detail, "api_key"))) != NULL)
		return alert_raise(ctx, cid, "api_key_new_network",
		    subj(s, sizeof(s), "key", v), uid, detail);
	return 0;
}

int
detect_csp_report(struct ctx *ctx, const char *cid, const char *chatbot)
{
	char s[128];

	return counted(ctx, cid, "csp_spike",
	    subj(s, sizeof(s), "chatbot", chatbot), NULL,
	    ctx->conf->detect_csp_reports);
}

/* The exports and erasures whose bursts are judged, by audit action. */
static const char *const export_actions[] = {
	"company.export",
	"privacy.subject_export",
	"privacy.subject_erasure",
	"audit_log.export",
};

int
detect_audit(struct ctx *ctx, const char *action, const char *resource_id,
    json_t *changes)
{
	const char *cid = ctx->who.company_id;
	const char *uid = ctx->who.user_id[0] != '\0' ? ctx->who.user_id : NULL;
	char	    s[128];
	size_t	    i;

	for (i = 0; i < nitems(export_actions); i++)
		if (strcmp(action, export_actions[i]) == 0)
			return counted(ctx, cid, "unusual_export",
			    subj(s, sizeof(s), "company", action), uid,
			    ctx->conf->detect_exports);
	if (strcmp(action, "member.role_change") == 0 && resource_id != NULL) {
		const char *role = json_string_value(
		    json_object_get(json_object_get(changes, "role"), "new"));
		json_t *d;
		int	rc;

		if (role == NULL ||
		    (strcmp(role, "admin") != 0 && strcmp(role, "owner") != 0))
			return 0;
		d = json_pack("{s:s,s:s*}", "role", role, "granted_by", uid);
		rc = alert_raise(ctx, cid, "role_granted",
		    subj(s, sizeof(s), "user", resource_id), resource_id, d);
		json_decref(d);
		return rc;
	}
	if (strcmp(action, "webhook_endpoint.disable") == 0 &&
	    resource_id != NULL)
		return alert_raise(ctx, cid, "webhook_disabled",
		    subj(s, sizeof(s), "endpoint", resource_id), NULL, changes);
	return 0;
}

/* --- browsers and networks --- */

static int
has(const char *ua, const char *s)
{
	return strstr(ua, s) != NULL;
}

void
detect_agent_family(const char *ua, char out[48])
{
	const char *b, *os = NULL;
	char	    tool[17];
	size_t	    n;

	if (ua == NULL || ua[0] == '\0') {
		snprintf(out, 48, "unknown");
		return;
	}
	if (has(ua, "Edg/") || has(ua, "EdgA/") || has(ua, "EdgiOS/"))
		b = "Edge";
	else if (has(ua, "OPR/"))
		b = "Opera";
	else if (has(ua, "Firefox/") || has(ua, "FxiOS/"))
		b = "Firefox";
	else if (has(ua, "Chrome/") || has(ua, "CriOS/") ||
	    has(ua, "Chromium/"))
		b = "Chrome";
	else if (has(ua, "Safari/") && has(ua, "Mozilla/"))
		b = "Safari";
	else {
		/* A tool: its product token ("curl/8.1" -> "curl"). */
		n = strspn(ua,
		    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789._-");
		if (n == 0) {
			snprintf(out, 48, "other");
			return;
		}
		if (n > 16)
			n = 16;
		memcpy(tool, ua, n);
		tool[n] = '\0';
		snprintf(out, 48, "%s", tool);
		return;
	}
	if (has(ua, "Windows"))
		os = "Windows";
	else if (has(ua, "Android"))
		os = "Android";
	else if (has(ua, "iPhone") || has(ua, "iPad"))
		os = "iOS";
	else if (has(ua, "CrOS"))
		os = "ChromeOS";
	else if (has(ua, "Mac OS X") || has(ua, "Macintosh"))
		os = "macOS";
	else if (has(ua, "Linux"))
		os = "Linux";
	if (os != NULL)
		snprintf(out, 48, "%s on %s", b, os);
	else
		snprintf(out, 48, "%s", b);
}

static struct db_stmt q_seen = { "network_seen",
	"SELECT parley_network_seen($1, $2, $3, $4) AS seen, "
	"parley_network($3)::text AS network",
	4, 0, 0 };

/* 'first', 'known' or 'new' (see parley_network_seen), or NULL. */
static PGresult *
seen(struct ctx *ctx, const char *cid, const char *subject, const char *agent)
{
	const char *p[4] = { cid, subject, ctx->from.addr, agent };

	return db_exec(ctx->db, &q_seen, p);
}

static struct db_stmt q_email = { "detect_user_email",
	"SELECT email FROM users WHERE company_id = $1 AND id = $2", 2, 0, 0 };

int
detect_sign_in(struct ctx *ctx, const char *cid, const char *uid,
    const char *sid, json_t **detail)
{
	const char *p[2] = { cid, uid };
	char	    agent[48], s[128], email[321] = "";
	PGresult   *res;
	json_t	   *job = NULL, *d = NULL;
	int	    rc = -1, fresh;

	*detail = NULL;
	if (ctx->from.addr == NULL || ctx->from.addr[0] == '\0')
		return 0; /* not from the network: nothing to judge */
	detect_agent_family(ctx->from.user_agent, agent);
	if ((res = seen(ctx, cid, subj(s, sizeof(s), "user", uid), agent)) ==
	    NULL)
		return -1;
	fresh = strcmp(row_get(res, 0, "seen"), "new") == 0;
	if (fresh)
		d = json_pack("{s:s,s:s,s:s}", "session", sid, "network",
		    row_get(res, 0, "network"), "agent", agent);
	PQclear(res);
	if (!fresh)
		return 0;
	if (d == NULL || (res = db_exec(ctx->db, &q_email, p)) == NULL)
		goto out;
	if (PQntuples(res) == 1)
		snprintf(email, sizeof(email), "%s", row_get(res, 0, "email"));
	PQclear(res);
	if (email[0] != '\0') {
		job = json_pack("{s:s,s:s,s:s,s:O,s:I,s:I}", "to", email,
		    "template", "new_sign_in", "session", sid, "sign_in", d,
		    "at", (json_int_t)time(NULL), "expires",
		    (json_int_t)(time(NULL) + ctx->conf->sign_in_link_ttl));
		if (job == NULL ||
		    jobs_enqueue(ctx->db, "email", cid, job) == -1)
			goto out;
	}
	*detail = d;
	d = NULL;
	rc = 1;
out:
	json_decref(job);
	json_decref(d);
	return rc;
}

int
detect_key_network(struct ctx *ctx, json_t **detail)
{
	char	  s[128];
	PGresult *res;
	int	  fresh;

	*detail = NULL;
	if ((res = seen(ctx, ctx->who.company_id,
		 subj(s, sizeof(s), "key", ctx->who.key_id), "")) == NULL)
		return -1;
	fresh = strcmp(row_get(res, 0, "seen"), "new") == 0;
	if (fresh)
		*detail = json_pack("{s:s,s:s}", "api_key", ctx->who.key_id,
		    "network", row_get(res, 0, "network"));
	PQclear(res);
	return fresh && *detail == NULL ? -1 : fresh;
}

/* --- credential stuffing (before any company is known) --- */

static struct db_stmt q_stuffing = { "stuffing_note",
	"SELECT accounts, companies::text[] AS companies FROM "
	"parley_stuffing_note($1, decode($2, 'hex'), $3, $4::integer)",
	4, 0, 0 };
static struct db_stmt q_stuff_list = { "stuffing_companies",
	"SELECT unnest($1::uuid[])::text AS id", 1, 0, 0 };

void
detect_login_failure(
    struct ctx *ctx, const char *cid, const char *uid, const char *email)
{
	const struct conf *cfg = ctx->conf;
	const char	  *p[4];
	char	      key[400], hex[65], win[16], addr[65], (*ids)[37] = NULL;
	char	      mac[44];
	char	      s[128];
	unsigned char h[32];
	PGresult     *res;
	long long     accounts;
	json_t	     *d;
	char	     *list;
	int	      i, n;

	if (ctx->from.addr == NULL || ctx->from.addr[0] == '\0')
		return;
	/* The account tried, keyed (no dictionary of addresses reverses
	 * it): HMAC under a server key, then 32 bytes of it. */
	snprintf(key, sizeof(key), "%s:%s", uid != NULL ? "user" : "email",
	    uid != NULL ? uid : (email != NULL ? email : ""));
	keys_name_mac("parley stuffing v1", key, mac);
	crypto_sha256(mac, strlen(mac), h);
	crypto_hex(h, sizeof(h), hex);
	snprintf(win, sizeof(win), "%d", cfg->detect_stuffing_window);
	p[0] = ctx->from.addr;
	p[1] = hex;
	p[2] = cid;
	p[3] = win;
	if ((res = db_exec(ctx->db, &q_stuffing, p)) == NULL)
		return;
	accounts = row_int(res, 0, "accounts");
	if (accounts < cfg->detect_stuffing_accounts) {
		PQclear(res);
		return;
	}
	snprintf(addr, sizeof(addr), "%s", ctx->from.addr);
	if (accounts == cfg->detect_stuffing_accounts) {
		/* The operator's alert: once, as the threshold is crossed. */
		log_event(LOG_WARN, "security_alert",
		    LOG_S("rule", "credential_stuffing"),
		    LOG_S("severity", "high"), LOG_S("addr", addr),
		    LOG_I("count", accounts));
		metrics_count(MET_ALERTS, "credential_stuffing", 1);
	}
	if ((list = strdup(row_get(res, 0, "companies"))) == NULL) {
		PQclear(res);
		return;
	}
	PQclear(res);
	p[0] = list;
	/* The companies whose accounts it tried: an alert each. */
	{
		PGresult *l = db_exec(ctx->db, &q_stuff_list, p);

		free(list);
		if (l == NULL)
			return;
		n = PQntuples(l);
		if (n > 0 && (ids = calloc((size_t)n, sizeof(*ids))) == NULL) {
			PQclear(l);
			return;
		}
		for (i = 0; i < n; i++)
			snprintf(ids[i], 37, "%s", PQgetvalue(l, i, 0));
		PQclear(l);
	}
	/* Not how many accounts it tried in all: other companies' count is
	 * not this one's to see. */
	d = json_pack("{s:s,s:i}", "address", addr, "threshold",
	    cfg->detect_stuffing_accounts);
	for (i = 0; d != NULL && i < n; i++) {
		if (db_tenant_begin(ctx->db, ids[i], NULL, NULL, NULL) == 0 &&
		    alert_raise(ctx, ids[i], "credential_stuffing",
			subj(s, sizeof(s), "address", addr), NULL, d) == 0)
			(void)db_commit(ctx->db);
		db_rollback(ctx->db);
	}
	json_decref(d);
	free(ids);
}

/* --- the "this was not me" link --- */

#define NOTICE "parley sign-in notice v1"

void
detect_link_token(
    const char *cid, const char *sid, long long expires, char out[160])
{
	char msg[120], m[44];

	snprintf(msg, sizeof(msg), "%s:%s:%lld", cid, sid, expires);
	keys_derived_mac(NOTICE, msg, m);
	snprintf(out, 160, "%s.%s.%lld.%s", cid, sid, expires, m);
}

int
detect_link_check(const char *token, char cid[37], char sid[37])
{
	char	    msg[120], *end;
	const char *e, *dot;
	long long   expires;

	if (token == NULL || strlen(token) > 160 || strlen(token) < 75 + 44 ||
	    token[36] != '.' || token[73] != '.')
		return -1;
	memcpy(cid, token, 36);
	cid[36] = '\0';
	memcpy(sid, token + 37, 36);
	sid[36] = '\0';
	e = token + 74;
	if ((dot = strchr(e, '.')) == NULL || dot == e || dot - e > 12 ||
	    strspn(e, "0123456789") != (size_t)(dot - e) ||
	    strlen(dot + 1) != 43 || !db_uuid_valid(cid) || !db_uuid_valid(sid))
		return -1;
	expires = strtoll(e, &end, 10);
	if (end != dot)
		return -1;
	snprintf(msg, sizeof(msg), "%s:%s:%lld", cid, sid, expires);
	if (!keys_derived_check(NOTICE, msg, dot + 1))
		return -1;
	return expires >= (long long)time(NULL) ? 0 : -1;
}
