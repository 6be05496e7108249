/*
 * api_company.c: the tenant itself. GET for every member; PATCH (admin+)
 * for its name and settings, audited: field names always, old and new
 * values of settings (never personal data).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "api.h"
#include "handler.h"
#include "resources.h"
#include "attach.h"
#include "audit.h"
#include "crypto.h"
#include "conf.h"
#include "db.h"
#include "export.h"
#include "log.h"
#include "realtime.h"
#include "stripe.h"
#include "util.h"
#include "validate.h"

struct db_stmt	      q_company = { "company_get",
	       "SELECT {{Company c}} FROM companies c JOIN users u ON "
		      "u.company_id = c.id WHERE u.id = $1 AND c.id = $2",
	       2, 0, 0 };
static struct db_stmt q_company_lock = { "company_lock",
	"SELECT name, mfa_required, retention_period, retention_action, "
	"privacy_policy_url, privacy_policy_version FROM companies WHERE id = "
	"$1 FOR UPDATE",
	1, 0, 0 };
static struct db_stmt q_company_set = { "company_set",
	"UPDATE companies c SET name = $2, mfa_required = $3, retention_period "
	"= $4, retention_action = $5, privacy_policy_url = $6, "
	"privacy_policy_version = $7, updated_at = now() WHERE id = $1 "
	"RETURNING {{Company c}}",
	7, 0, 0 };

/* The choices of the retention settings. */
static const char *const periods[] = { "30_days", "60_days", "90_days",
	"6_months", "1_year", "indefinitely" };
static const char *const actions[] = { "delete", "anonymise" };

int
h_company_get(struct request *req, struct ctx *ctx)
{
	json_t *o;

	if (ctx->read == NULL || PQntuples(ctx->read) != 1)
		return -1;
	o = row_json(&row_company, ctx->read, 0);
	return api_send(req, 200, o);
}

/* Returns 1 if 's' is one of the 'n' 'choices'. */
static int
one_of(const char *s, const char *const *choices, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, choices[i]) == 0)
			return 1;
	return 0;
}

/*
 * Applies setting 'key' of 'settings' (a string among 'choices') to
 * 'cur' (size 'len'), recording the change. Returns 0, or -1 with 'err'
 * filled when the value is not a choice.
 */
static int
choice(json_t *settings, const char *key, const char *const *choices, size_t n,
    char *cur, size_t len, json_t *fields, json_t *changes, struct verr *err)
{
	json_t *v = json_object_get(settings, key);
	char	name[64];

	if (v == NULL || strcmp(json_string_value(v), cur) == 0)
		return 0;
	if (!one_of(json_string_value(v), choices, n)) {
		err->field = key;
		err->code = "not_allowed";
		return -1;
	}
	snprintf(name, sizeof(name), "settings.%s", key);
	json_array_append_new(fields, json_string(name));
	json_object_set_new(changes, name,
	    json_pack("{s:s,s:s}", "old", cur, "new", json_string_value(v)));
	snprintf(cur, len, "%s", json_string_value(v));
	return 0;
}

/*
 * The privacy policy settings of 'settings' over the current '*url'
 * (malloc'd or NULL; replaced) and 'version', their changes recorded
 * with old and new values (a policy's address and version are no one's
 * personal data). Returns 0, or answers 422 and returns 1 (-1 when that
 * failed).
 */
static int
policy_settings(struct request *req, struct ctx *ctx, json_t *settings,
    char **url, char *version, size_t vlen, json_t *fields, json_t *changes)
{
	json_t	   *v;
	const char *s;

	if ((v = json_object_get(settings, "privacy_policy_url")) != NULL) {
		s = json_string_value(v); /* NULL: json null, none */
		if (s != NULL && strncmp(s, "https://", 8) != 0 &&
		    strncmp(s, "http://", 7) != 0) {
			struct verr err = { "settings.privacy_policy_url",
				"format", "" };

			db_rollback(ctx->db);
			return validate_problem(req, &err) == -1 ? -1 : 1;
		}
		if ((s == NULL) != (*url == NULL) ||
		    (s != NULL && strcmp(s, *url) != 0)) {
			json_array_append_new(
			    fields, json_string("settings.privacy_policy_url"));
			json_object_set_new(changes,
			    "settings.privacy_policy_url",
			    json_pack("{s:s?,s:s?}", "old", *url, "new", s));
			free(*url);
			*url = NULL;
			if (s != NULL && (*url = strdup(s)) == NULL)
				return -1;
		}
	}
	if ((v = json_object_get(settings, "privacy_policy_version")) != NULL &&
	    strcmp(json_string_value(v), version) != 0) {
		json_array_append_new(
		    fields, json_string("settings.privacy_policy_version"));
		json_object_set_new(changes, "settings.privacy_policy_version",
		    json_pack("{s:s,s:s}", "old", version, "new",
			json_string_value(v)));
		snprintf(version, vlen, "%s", json_string_value(v));
	}
	return 0;
}

int
h_company_patch(struct request *req, struct ctx *ctx)
{
	struct verr err;
	json_t	   *settings, *v, *fields = NULL, *changes = NULL, *o;
	const char *p[7];
	char	    name[201], period[16], action[16], version[33];
	char	   *url = NULL;
	PGresult   *res;
	int	    mfa, new_mfa, rc = -1;

	settings = json_object_get(req->json, "settings");
	p[0] = ctx->who.company_id;
	if ((res = db_exec(ctx->db, &q_company_lock, p)) == NULL ||
	    PQntuples(res) != 1) {
		PQclear(res);
		return -1;
	}
	snprintf(name, sizeof(name), "%s", row_get(res, 0, "name"));
	mfa = row_bool(res, 0, "mfa_required");
	snprintf(
	    period, sizeof(period), "%s", row_get(res, 0, "retention_period"));
	snprintf(
	    action, sizeof(action), "%s", row_get(res, 0, "retention_action"));
	snprintf(version, sizeof(version), "%s",
	    row_get(res, 0, "privacy_policy_version"));
	if (row_opt(res, 0, "privacy_policy_url") != NULL &&
	    (url = strdup(row_get(res, 0, "privacy_policy_url"))) == NULL) {
		PQclear(res);
		return -1;
	}
	PQclear(res);
	new_mfa = mfa;
	fields = json_array();
	changes = json_object();
	if ((v = json_object_get(req->json, "name")) != NULL &&
	    strcmp(json_string_value(v), name) != 0) {
		/* A name is not a setting: its values stay out of the log. */
		json_array_append_new(fields, json_string("name"));
		snprintf(name, sizeof(name), "%s", json_string_value(v));
	}
	if (settings != NULL &&
	    (v = json_object_get(settings, "mfa_required")) != NULL &&
	    json_is_true(v) != mfa) {
		new_mfa = json_is_true(v);
		json_array_append_new(
		    fields, json_string("settings.mfa_required"));
		json_object_set_new(changes, "settings.mfa_required",
		    json_pack("{s:b,s:b}", "old", mfa, "new", new_mfa));
	}
	if (settings != NULL &&
	    (choice(settings, "retention_period", periods, nitems(periods),
		 period, sizeof(period), fields, changes, &err) == -1 ||
		choice(settings, "retention_action", actions, nitems(actions),
		    action, sizeof(action), fields, changes, &err) == -1)) {
		char full[80];

		db_rollback(ctx->db);
		snprintf(full, sizeof(full), "settings.%s", err.field);
		err.field = full;
		rc = validate_problem(req, &err);
		goto out;
	}
	if (settings != NULL &&
	    (rc = policy_settings(req, ctx, settings, &url, version,
		 sizeof(version), fields, changes)) != 0) {
		rc = rc == 1 ? 0 : -1;
		goto out;
	}
	rc = -1;
	p[1] = name;
	p[2] = new_mfa ? "true" : "false";
	p[3] = period;
	p[4] = action;
	p[5] = url;
	p[6] = version;
	if ((res = db_exec(ctx->db, &q_company_set, p)) == NULL)
		goto out;
	if (json_array_size(fields) > 0) {
		if (api_audit(req, ctx, ctx->who.company_id, fields,
			json_object_size(changes) > 0 ? changes : NULL) == -1) {
			PQclear(res);
			goto out;
		}
	}
	if (db_commit(ctx->db) == -1) {
		PQclear(res);
		goto out;
	}
	o = row_json(&row_company, res, 0);
	PQclear(res);
	rc = o != NULL ? http_send_json(req, 200, o) : -1;
	json_decref(o);
out:
	free(url);
	json_decref(fields);
	json_decref(changes);
	return rc;
}

static struct db_stmt q_company_doomed = { "company_doomed",
	"SELECT name, coalesce(stripe_subscription_id, '') AS sub, "
	"coalesce(subscription_status, '') AS status FROM companies WHERE id = "
	"$1 FOR UPDATE",
	1, 0, 0 };
static struct db_stmt q_company_users = { "company_users",
	"SELECT id FROM users WHERE company_id = $1", 1, 0, 0 };
static struct db_stmt q_company_exports = { "company_exports_files",
	"SELECT id FROM company_exports WHERE company_id = $1", 1, 0, 0 };
static struct db_stmt q_company_gone = { "company_gone",
	"SELECT parley_company_delete($1)", 1, 0, 0 };

/* Appends "ID\n" to file 'path' (created 0600). Returns 0 or -1. */
static int
tombstone_append(const char *path, const char *id)
{
	char line[40];
	int  fd, n, rc;

	n = snprintf(line, sizeof(line), "%s\n", id);
	if ((fd = open(
		 path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return -1;
	rc = write(fd, line, (size_t)n) == n && fsync(fd) == 0 ? 0 : -1;
	if (close(fd) == -1)
		rc = -1;
	return rc;
}

/*
 * Cancels subscription 'sub' at Stripe, with no transaction open. Returns
 * 0 (cancelled, or Stripe knows it no more), or HTTP_ANSWERED after
 * answering.
 */
static int
cancel_subscription(
    struct request *req, struct ctx *ctx, const char *sub, const char *sealed)
{
	char	    path[160];
	const char *err;
	json_t	   *o;

	if (sealed[0] == '\0') {
		api_problem(req, 409, "subscription_active",
		    "The company has a subscription: cancel it in the "
		    "billing portal first");
		return HTTP_ANSWERED;
	}
	snprintf(path, sizeof(path), "/v1/subscriptions/%s", sub);
	o = stripe_call(ctx->conf, sealed, "DELETE", path, NULL, &err);
	json_decref(o);
	/* A 404: no such subscription there (any more); nothing to stop.
	 * Anything else (a revoked key too) keeps the company. */
	if (o != NULL || strcmp(err, "not_found") == 0)
		return 0;
	api_problem(req, 502, "payment_provider_error",
	    "The subscription could not be cancelled; nothing was deleted. "
	    "Try again shortly");
	return HTTP_ANSWERED;
}

int
h_company_delete(struct request *req, struct ctx *ctx)
{
	const char *p[1] = { ctx->who.company_id }, *confirm;
	char	    sub[112], status[32], sealed[1024] = "", res_id[48];
	char	    path_dir[600];
	struct verr err;
	PGresult   *res, *files, *users;
	int	    i, rc;

	if ((rc = api_reauth(req, ctx, api_body_str(req, "password"),
		 api_body_str(req, "code"))) != 1)
		return rc == HTTP_ANSWERED ? 0 : -1;
	if ((res = db_exec(ctx->db, &q_company_doomed, p)) == NULL ||
	    PQntuples(res) != 1) {
		PQclear(res);
		return -1;
	}
	confirm = api_body_str(req, "confirm_name");
	if (strcmp(confirm, row_get(res, 0, "name")) != 0) {
		PQclear(res);
		db_rollback(ctx->db);
		err.field = "confirm_name";
		err.code = "mismatch";
		return validate_problem(req, &err);
	}
	snprintf(sub, sizeof(sub), "%s", row_get(res, 0, "sub"));
	snprintf(status, sizeof(status), "%s", row_get(res, 0, "status"));
	PQclear(res);
	/* A live subscription is cancelled first: no bills after deletion. */
	if (sub[0] != '\0' && strcmp(status, "canceled") != 0 &&
	    strcmp(status, "incomplete_expired") != 0) {
		if (stripe_key_sealed(ctx->db, sealed, sizeof(sealed)) == -1)
			return -1;
		db_rollback(ctx->db); /* no lock while Stripe answers */
		rc = cancel_subscription(req, ctx, sub, sealed);
		crypto_wipe(sealed, sizeof(sealed));
		if (rc == HTTP_ANSWERED)
			return 0;
		if (db_tenant_begin(
			ctx->db, ctx->who.company_id, NULL, NULL, NULL) == -1)
			return -1;
	}
	if ((users = db_exec(ctx->db, &q_company_users, p)) == NULL)
		return -1;
	if ((files = db_exec(ctx->db, &q_company_exports, p)) == NULL) {
		PQclear(users);
		return -1;
	}
	if ((res = db_exec(ctx->db, &q_company_gone, p)) == NULL ||
	    db_commit(ctx->db) == -1) {
		PQclear(res);
		PQclear(users);
		PQclear(files);
		return -1;
	}
	PQclear(res);
	/* Every member's event streams end, now (after the commit each is
	 * sent at once, however many members there were). */
	for (i = 0; i < PQntuples(users); i++)
		rt_end_user(ctx, row_get(users, i, "id"));
	PQclear(users);
	/* Export archives are files: they go too. */
	for (i = 0; i < PQntuples(files); i++) {
		char path[640];

		if (export_path(ctx->conf, ctx->who.company_id,
			row_get(files, i, "id"), path, sizeof(path)) == 0)
			(void)unlink(path);
	}
	PQclear(files);
	snprintf(path_dir, sizeof(path_dir), "%s/%s", ctx->conf->export_dir,
	    ctx->who.company_id);
	(void)rmdir(path_dir);
	/* And its attachments' directory, whole. */
	if (attach_path(ctx->conf, ctx->who.company_id, NULL, path_dir,
		sizeof(path_dir)) == 0)
		(void)util_remove_dir(path_dir);
	/* The audit log went with the company: this line is the record. */
	snprintf(res_id, sizeof(res_id), "company:%s", ctx->who.company_id);
	log_event(LOG_INFO, "company_deleted", LOG_S("resource", res_id));
	/* Outside the database too, for restores of older backups. */
	if (ctx->conf->tombstone_file[0] != '\0' &&
	    tombstone_append(ctx->conf->tombstone_file, ctx->who.company_id) ==
		-1)
		log_event(LOG_ERROR, "tombstone_file_failed",
		    LOG_S("resource", res_id));
	return http_send_empty(req, 204);
}
