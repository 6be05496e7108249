/*
 * api_csp.c: Content-Security-Policy violation reports, in both the
 * report-uri format (application/csp-report) and the Reporting API format
 * (application/reports+json). Each valid report becomes one warning log
 * line carrying the directive, the blocked origin and the document's
 * origin and path: never a query string, fragment or script sample.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "row.h"
#include "detect.h"
#include "log.h"
#include "util.h"
#include "validate.h"

#define CSP_MAX_REPORTS 16

const char *const csp_report_ctypes[] = {
	"application/csp-report",
	"application/reports+json",
	"application/json",
	NULL,
};

static const struct field f_legacy[] = {
	FIELD("document-uri", V_URI, 1, 2048, F_REQUIRED),
	FIELD("violated-directive", V_STRING, 1, 256, 0),
	FIELD("effective-directive", V_TOKEN, 1, 64, 0),
	FIELD("blocked-uri", V_URI, 0, 2048, 0),
};

static const struct field f_modern[] = {
	FIELD("documentURL", V_URI, 1, 2048, F_REQUIRED),
	FIELD("effectiveDirective", V_TOKEN, 1, 64, F_REQUIRED),
	FIELD("blockedURL", V_URI, 0, 2048, 0),
};

static const struct field f_envelope[] = {
	FIELD("type", V_TOKEN, 1, 64, F_REQUIRED),
	FIELD("body", V_OBJECT, 0, 0, F_REQUIRED),
};

/* Copies the scheme://host[:port] of 'uri', or a keyword such as "inline". */
static void
origin_of(const char *uri, char *out, size_t outlen, int with_path)
{
	const char *p, *end;
	size_t	    len;

	if (uri == NULL || *uri == '\0') {
		snprintf(out, outlen, "-");
		return;
	}
	if ((p = strstr(uri, "://")) == NULL) {
		/* "inline", "eval", "data", "blob": a scheme or keyword. */
		len = strcspn(uri, ":?#/");
		snprintf(out, outlen, "%.*s", (int)(len > 32 ? 32 : len), uri);
		return;
	}
	p += 3;
	end = p + strcspn(p, with_path ? "?#" : "/?#");
	len = (size_t)(end - uri);
	if (len > 200)
		len = 200;
	snprintf(out, outlen, "%.*s", (int)len, uri);
}

static void
log_violation(const char *directive, const char *blocked, const char *doc)
{
	char b[256], d[256], dir[65];

	snprintf(
	    dir, sizeof(dir), "%.*s", (int)strcspn(directive, " "), directive);
	origin_of(blocked, b, sizeof(b), 0);
	origin_of(doc, d, sizeof(d), 1);
	log_event(LOG_WARN, "csp_violation", LOG_S("directive", dir),
	    LOG_S("blocked", b), LOG_S("document", d));
}

static struct db_stmt q_csp_bot = { "csp_bot_lookup",
	"SELECT company_id, chatbot_id FROM parley_lookup_bot($1)", 1,
	DB_RETRY_SAFE, 0 };

/*
 * A report from a chatbot's widget frame (its document is
 * /widget/frame?bot=pk_...) counts against that chatbot's baseline, so a
 * spike opens csp_spike for its company (src/detect.c). Only counted:
 * anyone can post a report naming a public key, so none becomes a stored
 * event. Anything else (the console, a key nobody has) is only logged.
 */
static void
record_for_bot(struct ctx *ctx, const char *doc)
{
	const char *b;
	char	    key[36], cid[37], bid[37];
	PGresult   *res;
	const char *p[1] = { key };

	if (doc == NULL || strstr(doc, "/widget/frame?") == NULL ||
	    (b = strstr(doc, "bot=pk_")) == NULL ||
	    strspn(b + 7, "0123456789abcdef") != 32)
		return;
	snprintf(key, sizeof(key), "%.35s", b + 4);
	if ((res = db_exec(ctx->db, &q_csp_bot, p)) == NULL)
		return;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return;
	}
	snprintf(cid, sizeof(cid), "%s", row_get(res, 0, "company_id"));
	snprintf(bid, sizeof(bid), "%s", row_get(res, 0, "chatbot_id"));
	PQclear(res);
	if (db_tenant_begin(ctx->db, cid, NULL, NULL, NULL) == 0 &&
	    detect_guard_begin(ctx) == 0 &&
	    detect_guard_end(
		ctx, detect_csp_report(ctx, cid, bid), "csp_report") == 0)
		(void)db_commit(ctx->db);
	db_rollback(ctx->db);
}

static const char *
str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

int
h_csp_report(struct request *req, struct ctx *ctx)
{
	struct verr err;
	json_t	   *r, *body;
	size_t	    i;
	int	    recorded = 0;

	if (json_is_object(req->json)) {
		r = json_object_get(req->json, "csp-report");
		if (r == NULL) {
			err.field = "csp-report";
			err.code = "required";
			return validate_problem(req, &err);
		}
		if (validate_object(r, f_legacy, nitems(f_legacy),
			VO_ALLOW_UNKNOWN, &err) == -1)
			return validate_problem(req, &err);
		log_violation(str(r, "effective-directive") != NULL
			? str(r, "effective-directive")
			: (str(r, "violated-directive")
				  ? str(r, "violated-directive")
				  : "-"),
		    str(r, "blocked-uri"), str(r, "document-uri"));
		record_for_bot(ctx, str(r, "document-uri"));
		return http_send_empty(req, 204);
	}
	if (!json_is_array(req->json) || json_array_size(req->json) == 0 ||
	    json_array_size(req->json) > CSP_MAX_REPORTS) {
		err.field = "";
		err.code = "type";
		return validate_problem(req, &err);
	}
	/* Validate every report before logging any. */
	json_array_foreach(req->json, i, r)
	{
		if (validate_object(r, f_envelope, nitems(f_envelope),
			VO_ALLOW_UNKNOWN, &err) == -1)
			return validate_problem(req, &err);
		if (strcmp(str(r, "type"), "csp-violation") != 0)
			continue;
		if (validate_object(json_object_get(r, "body"), f_modern,
			nitems(f_modern), VO_ALLOW_UNKNOWN, &err) == -1)
			return validate_problem(req, &err);
	}
	json_array_foreach(req->json, i, r)
	{
		if (strcmp(str(r, "type"), "csp-violation") != 0)
			continue;
		body = json_object_get(r, "body");
		log_violation(str(body, "effectiveDirective"),
		    str(body, "blockedURL"), str(body, "documentURL"));
		if (!recorded) {
			record_for_bot(ctx, str(body, "documentURL"));
			recorded = 1;
		}
	}
	return http_send_empty(req, 204);
}
