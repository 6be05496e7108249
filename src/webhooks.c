/*
 * webhooks.c: emitting and delivering outgoing webhooks (see webhooks.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "audit.h"
#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "server_keys.h"
#include "log.h"
#include "metrics.h"
#include "netguard.h"
#include "ctx.h"
#include "util.h"
#include "webhooks.h"
#include "whsig.h"

#define ANSWER_MAX 1024 /* bytes of a receiver's answer kept */

static const char *const event_types[] = {
	"conversation.created",
	"conversation.status_changed",
	"message.created",
	"member.joined",
	"member.updated",
	"member.removed",
	"security.alert",
};

int
webhook_event_valid(const char *name)
{
	size_t i, n;

	if (name == NULL)
		return 0;
	if (strcmp(name, "*") == 0)
		return 1;
	for (i = 0; i < nitems(event_types); i++) {
		if (strcmp(name, event_types[i]) == 0)
			return 1;
		/* "member.*": a family that exists. */
		n = strcspn(event_types[i], ".");
		if (strncmp(name, event_types[i], n + 1) == 0 &&
		    strcmp(name + n + 1, "*") == 0)
			return 1;
	}
	return 0;
}

/* What a delivery needs, locked for the try. */
static struct db_stmt q_load = { "webhook_load",
	"SELECT e.url, e.secret_enc, e.enabled, d.payload::text, d.event_id, "
	"d.endpoint_id, CASE WHEN e.secret_prev_until > now() THEN "
	"e.secret_prev_enc END FROM webhook_deliveries d JOIN "
	"webhook_endpoints e ON "
	"e.company_id = d.company_id AND e.id = d.endpoint_id WHERE "
	"d.company_id = $1 AND d.id = $2 AND d.delivered_at IS NULL AND "
	"d.failed_at IS NULL FOR UPDATE OF d",
	2, 0, 0 };
/* The try's record, committed before the request goes out. */
static struct db_stmt q_try = { "webhook_try",
	"WITH d AS (UPDATE webhook_deliveries SET attempts = attempts + 1 "
	"WHERE company_id = $1 AND id = $2 RETURNING attempts) INSERT INTO "
	"webhook_attempts (company_id, delivery_id, n) SELECT $1, $2, "
	"attempts FROM d RETURNING n",
	2, 0, 0 };
/* $3 try, $4 status, $5 error, $6 answer, $7 'ok' | 'failed' | 'retry'. */
static struct db_stmt q_outcome = { "webhook_outcome",
	"WITH a AS (UPDATE webhook_attempts SET finished_at = "
	"clock_timestamp(), status = $4::integer, error = $5, response = $6 "
	"WHERE company_id = $1 AND delivery_id = $2 AND n = $3::integer) "
	"UPDATE webhook_deliveries SET delivered_at = CASE WHEN $7 = 'ok' THEN "
	"now() END, failed_at = CASE WHEN $7 = 'failed' THEN now() END WHERE "
	"company_id = $1 AND id = $2 AND delivered_at IS NULL AND failed_at "
	"IS NULL RETURNING id",
	7, 0, 0 };
/* A delivery given up; returns its endpoint if it was still open. */
static struct db_stmt q_giveup = { "webhook_giveup",
	"UPDATE webhook_deliveries SET failed_at = now() WHERE company_id = "
	"$1 AND id = $2 AND delivered_at IS NULL AND failed_at IS NULL "
	"RETURNING endpoint_id",
	2, 0, 0 };
/* An endpoint turned off by the system; returns its URL if it was on. */
static struct db_stmt q_disable = { "webhook_disable",
	"UPDATE webhook_endpoints SET enabled = false, disabled_reason = $3, "
	"updated_at = now() WHERE company_id = $1 AND id = $2 AND enabled "
	"RETURNING url",
	3, 0, 0 };
/* Every owner and admin hears of it, by e-mail (a job each). */
static struct db_stmt q_tell_admins = { "webhook_tell_admins",
	"INSERT INTO jobs (kind, company_id, payload) SELECT 'email', $1, "
	"json_build_object('to', email, 'template', 'webhook_disabled', "
	"'url', $2::text, 'reason', $3::text) FROM users WHERE company_id = "
	"$1 AND role IN ('owner', 'admin')",
	3, 0, 0 };

/* The answer's first bytes, kept (as printable text) for the listing. */
struct answer {
	char   text[ANSWER_MAX + 1];
	size_t len;
};

static size_t
keep(char *ptr, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t	       i, take = size * n;

	if (take > ANSWER_MAX - a->len)
		take = ANSWER_MAX - a->len;
	for (i = 0; i < take; i++) {
		unsigned char c = (unsigned char)ptr[i];

		a->text[a->len++] =
		    (c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t' ? (char)c
								      : '?';
	}
	a->text[a->len] = '\0';
	return size * n;
}

/* One request: fills 'a', returns the HTTP status (0: none) and '*err'. */
static long
send_one(const struct conf *cfg, const char *url, const char *const *secrets,
    const char *msgid, const char *body, struct answer *a, const char **err)
{
	char		   sig[2][WHSIG_LEN], hdr[3][160];
	long long	   ts = (long long)time(NULL);
	struct curl_slist *h = NULL, *x;
	CURL		  *c;
	CURLcode	   cc;
	long		   code = 0;
	curl_off_t	   pre = 0;
	struct netguard	   guard = { 0, 0 };

	/* Signed now: receivers refuse timestamps older than minutes. With
	 * a rotation under way, by the old secret too (space-separated). */
	if (whsig_sign(secrets[0], msgid, ts, body, strlen(body), sig[0]) ==
		-1 ||
	    (secrets[1] != NULL &&
		whsig_sign(secrets[1], msgid, ts, body, strlen(body), sig[1]) ==
		    -1)) {
		*err = "bad_secret";
		return 0;
	}
	snprintf(hdr[0], sizeof(hdr[0]), "webhook-id: %s", msgid);
	snprintf(hdr[1], sizeof(hdr[1]), "webhook-timestamp: %lld", ts);
	snprintf(hdr[2], sizeof(hdr[2]), "webhook-signature: %s%s%s", sig[0],
	    secrets[1] != NULL ? " " : "", secrets[1] != NULL ? sig[1] : "");
	if ((c = curl_easy_init()) == NULL) {
		*err = "internal";
		return 0;
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	h = (x = curl_slist_append(h, hdr[0])) != NULL ? x : h;
	h = (x = curl_slist_append(h, hdr[1])) != NULL ? x : h;
	h = (x = curl_slist_append(h, hdr[2])) != NULL ? x : h;
	/* "Expect: 100-continue" would cost a round trip per delivery. */
	h = (x = curl_slist_append(h, "Expect:")) != NULL ? x : h;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR,
	    cfg->webhook_allow_http ? "http,https" : "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, cfg->webhook_timeout * 1000L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    (cfg->webhook_timeout < 5 ? cfg->webhook_timeout : 5) * 1000L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "parley-webhooks/1");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
	guard.allow_loopback = cfg->webhook_allow_loopback;
	netguard_apply(c, &guard);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(c, CURLINFO_PRETRANSFER_TIME_T, &pre);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (cc == CURLE_OK)
		*err = code >= 200 && code < 300 ? NULL
		    : code == 410		 ? "gone"
						 : "http_status";
	else if (guard.refused)
		*err = "blocked_address";
	else if (cc == CURLE_OPERATION_TIMEDOUT)
		*err = pre > 0 ? "timeout" : "connect";
	else if (cc == CURLE_UNSUPPORTED_PROTOCOL)
		*err = "https_required";
	else if (code > 0)
		*err = "bad_answer";
	else
		*err = "connect";
	return code;
}

/*
 * Turns endpoint 'eid' off for 'reason', audited as the system, and tells
 * the company's owners and admins, in the open tenant transaction.
 */
static int
endpoint_disable(struct db *db, const struct conf *cfg, const char *cid,
    const char *eid, const char *reason)
{
	const char	  *p[3] = { cid, eid, reason };
	struct ctx	   ctx;
	struct audit_entry e = { 0 };
	PGresult	  *res, *r2;
	json_t		  *changes;
	int		   rc;

	if ((res = db_exec(db, &q_disable, p)) == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res); /* already off */
		return 0;
	}
	p[1] = PQgetvalue(res, 0, 0);
	r2 = db_exec(db, &q_tell_admins, p);
	PQclear(res);
	if (r2 == NULL)
		return -1;
	PQclear(r2);
	/* The jobs process acts for no request: the system, from nowhere. */
	memset(&ctx, 0, sizeof(ctx));
	ctx.from.addr = "";
	ctx.from.request_id = "";
	ctx.conf = cfg;
	ctx.db = db;
	snprintf(ctx.who.company_id, sizeof(ctx.who.company_id), "%s", cid);
	changes = json_pack("{s:{s:b,s:b},s:{s:n,s:s}}", "enabled", "old", 1,
	    "new", 0, "disabled_reason", "old", "new", reason);
	e.action = "webhook_endpoint.disable";
	e.resource_type = "webhook_endpoint";
	e.resource_id = eid;
	e.changes = changes;
	e.actor_type = "system";
	rc = audit_write(&ctx, &e);
	json_decref(changes);
	return rc;
}

enum job_result
webhook_deliver(const struct conf *cfg, struct db *db, const struct job *job,
    const char **err)
{
	const char *did =
	    json_string_value(json_object_get(job->payload, "delivery"));
	const char     *cid = job->company_id, *p[7], *outcome;
	char		secret[2][128], url[2048], eid[37], msgid[40], n[16];
	const char     *secrets[2] = { NULL, NULL };
	char		status[16], *body = NULL;
	struct answer	a;
	PGresult       *res = NULL;
	enum job_result out = JOB_RETRY;
	long		code;
	int		len, permanent, closed;

	*err = "bad_payload";
	if (cid == NULL || !db_uuid_valid(did))
		return JOB_FAIL;
	p[0] = cid;
	p[1] = did;
	*err = "database";
	if (db_tenant_begin(db, cid, &q_load, p, &res) == -1)
		return JOB_RETRY;
	if (PQntuples(res) != 1) {
		/* Delivered or given up already (a repeat after a crash), or
		 * its endpoint was deleted: nothing to send. */
		PQclear(res);
		db_rollback(db);
		*err = NULL;
		return JOB_OK;
	}
	if (strcmp(PQgetvalue(res, 0, 2), "t") != 0) {
		PQclear(res);
		p[2] = "0";
		p[3] = "0";
		p[4] = "endpoint_disabled";
		p[5] = NULL;
		p[6] = "failed";
		res = db_exec(db, &q_outcome, p);
		*err = "endpoint_disabled";
		out = res != NULL && db_commit(db) == 0 ? JOB_FAIL : JOB_RETRY;
		PQclear(res);
		db_rollback(db);
		return out;
	}
	snprintf(url, sizeof(url), "%s", PQgetvalue(res, 0, 0));
	snprintf(msgid, sizeof(msgid), "%s", PQgetvalue(res, 0, 4));
	snprintf(eid, sizeof(eid), "%s", PQgetvalue(res, 0, 5));
	memset(secret, 0, sizeof(secret));
	len = keyring_decrypt(keys_ring(), cid, PQgetvalue(res, 0, 1),
	    (unsigned char *)secret[0], sizeof(secret[0]) - 1);
	secrets[0] = secret[0];
	if (!PQgetisnull(res, 0, 6) &&
	    keyring_decrypt(keys_ring(), cid, PQgetvalue(res, 0, 6),
		(unsigned char *)secret[1], sizeof(secret[1]) - 1) > 0)
		secrets[1] = secret[1];
	body = strdup(PQgetvalue(res, 0, 3));
	PQclear(res);
	if (body == NULL) {
		db_rollback(db);
		crypto_wipe(secret, sizeof(secret));
		*err = "internal";
		return JOB_RETRY;
	}
	if (len <= 0) {
		/* A key gone from the keyring: nothing can be signed. */
		const char *gp[2] = { cid, did };

		free(body);
		*err = "undecryptable";
		if ((res = db_exec(db, &q_giveup, gp)) == NULL ||
		    endpoint_disable(db, cfg, cid, eid, *err) == -1 ||
		    db_commit(db) == -1) {
			PQclear(res);
			db_rollback(db);
			return JOB_RETRY;
		}
		PQclear(res);
		return JOB_FAIL;
	}
	/* The try is on record before anything is sent. */
	if ((res = db_exec_commit(db, &q_try, p)) == NULL ||
	    PQntuples(res) != 1) {
		PQclear(res);
		db_rollback(db);
		goto out;
	}
	snprintf(n, sizeof(n), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);

	memset(&a, 0, sizeof(a));
	code = send_one(cfg, url, secrets, msgid, body, &a, err);
	crypto_wipe(secret, sizeof(secret));
	/* A 410, an address refused, a bad URL or secret: trying again
	 * would not help. */
	permanent = *err != NULL &&
	    (strcmp(*err, "gone") == 0 ||
		strcmp(*err, "blocked_address") == 0 ||
		strcmp(*err, "https_required") == 0 ||
		strcmp(*err, "bad_secret") == 0);
	if (*err == NULL)
		out = JOB_OK;
	else
		out = permanent || job->last ? JOB_FAIL : JOB_RETRY;
	outcome = out == JOB_OK ? "ok" : out == JOB_FAIL ? "failed" : "retry";
	metrics_count(MET_WEBHOOKS, out == JOB_OK ? "delivered" : "failed", 1);
	snprintf(status, sizeof(status), "%ld", code);
	p[2] = n;
	p[3] = status;
	p[4] = *err;
	p[5] = a.len > 0 ? a.text : NULL;
	p[6] = outcome;
	if (db_tenant_begin(db, cid, &q_outcome, p, &res) == -1)
		goto again; /* the try stays unfinished; the job runs again */
	/* Closed meanwhile by a later try (this one's lease ran out): the
	 * endpoint is not this try's to turn off. */
	closed = PQntuples(res) == 0;
	PQclear(res);
	if (out == JOB_FAIL && !closed &&
	    endpoint_disable(db, cfg, cid, eid,
		permanent ? *err : "retries_exhausted") == -1) {
		db_rollback(db);
		goto again;
	}
	if (db_commit(db) == -1)
		goto again;
	log_event(out == JOB_OK ? LOG_INFO : LOG_WARN, "webhook_delivery",
	    LOG_S("endpoint", eid), LOG_I("status", code),
	    LOG_S("reason", *err));
	goto out;
again:
	*err = "database";
	out = JOB_RETRY;
out:
	crypto_wipe(secret, sizeof(secret));
	free(body);
	return out;
}

void
webhook_give_up(const struct conf *cfg, struct db *db, const struct job *job)
{
	const char *did =
	    json_string_value(json_object_get(job->payload, "delivery"));
	const char *p[2] = { job->company_id, did };
	char	    eid[37];
	PGresult   *res = NULL;

	if (job->company_id == NULL || !db_uuid_valid(did) ||
	    db_tenant_begin(db, job->company_id, &q_giveup, p, &res) == -1)
		return;
	if (PQntuples(res) == 1) {
		snprintf(eid, sizeof(eid), "%s", PQgetvalue(res, 0, 0));
		if (endpoint_disable(db, cfg, job->company_id, eid,
			"retries_exhausted") == -1) {
			PQclear(res);
			db_rollback(db);
			return;
		}
	}
	PQclear(res);
	(void)db_commit(db);
}
