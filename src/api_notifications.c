/*
 * api_notifications.c: an agent's notifications (issue 18, item 1; the
 * database makes them, src/notify.c mails the digests): the list, marking
 * them read, the preferences, and the one-click unsubscribe of the
 * digests (RFC 8058).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "ctx.h"
#include "db.h"
#include "handler.h"
#include "http.h"
#include "notify.h"
#include "resources.h"
#include "router.h"
#include "validate.h"

static struct db_stmt q_list = { "notifications_list",
	"SELECT {{Notification n}} FROM notifications n LEFT JOIN "
	"conversations c "
	"ON c.company_id = n.company_id AND c.id = n.conversation_id WHERE "
	"n.company_id = $1 AND n.user_id = $2 AND (NOT $3::boolean OR "
	"n.read_at IS NULL) ORDER BY n.updated_at DESC, n.id DESC LIMIT 100",
	3, 0, 0 };
static struct db_stmt q_unread = { "notifications_unread",
	"SELECT count(*) AS n FROM notifications WHERE company_id = $1 AND "
	"user_id = $2 AND read_at IS NULL",
	2, 0, 0 };
static struct db_stmt q_read = { "notifications_read",
	"UPDATE notifications SET read_at = now() WHERE company_id = $1 AND "
	"user_id = $2 AND read_at IS NULL AND ($3::boolean OR id = ANY "
	"($4::uuid[]) OR conversation_id = $5::uuid) RETURNING id",
	5, 0, 0 };
static struct db_stmt q_settings = { "notification_settings",
	"SELECT notify_email AS email, notify_delay AS email_delay_seconds "
	"FROM users WHERE company_id = $1 AND id = $2",
	2, 0, 0 };
static struct db_stmt q_settings_set = { "notification_settings_set",
	"UPDATE users SET notify_email = coalesce($3::boolean, notify_email), "
	"notify_delay = coalesce($4::integer, notify_delay), updated_at = "
	"now() WHERE company_id = $1 AND id = $2 RETURNING notify_email AS "
	"email, notify_delay AS email_delay_seconds",
	4, 0, 0 };
static struct db_stmt q_unsubscribe = { "notifications_unsubscribe",
	"UPDATE users SET notify_email = false, updated_at = now() WHERE "
	"company_id = $1 AND id = $2 RETURNING id",
	2, 0, 0 };

int
h_notifications(struct request *req, struct ctx *ctx)
{
	const char *unread = router_arg(req, "unread");
	const char *p[3] = { ctx->who.company_id, ctx->who.user_id,
		unread != NULL && strcmp(unread, "true") == 0 ? "t" : "f" };
	PGresult   *res, *cnt;
	json_t	   *items, *o;

	if ((res = db_exec(ctx->db, &q_list, p)) == NULL)
		return -1;
	if ((cnt = db_exec(ctx->db, &q_unread, p)) == NULL) {
		PQclear(res);
		return -1;
	}
	items = row_json_all(&row_notification, res);
	o = json_pack("{s:o,s:I}", "items",
	    items != NULL ? items : json_array(), "unread",
	    (json_int_t)row_int(cnt, 0, "n"));
	PQclear(res);
	PQclear(cnt);
	if (o == NULL || db_commit(ctx->db) == -1) {
		json_decref(o);
		return -1;
	}
	return api_send(req, 200, o);
}

int
h_notifications_read(struct request *req, struct ctx *ctx)
{
	json_t	   *ids = json_object_get(req->json, "ids");
	const char *conv = api_body_str(req, "conversation_id");
	char	   *arr = NULL;
	const char *p[5];
	PGresult   *res;
	size_t	    n;
	int	    rc;

	if ((arr = api_uuid_array(ids)) == NULL)
		return -1;
	p[0] = ctx->who.company_id;
	p[1] = ctx->who.user_id;
	p[2] = json_is_true(json_object_get(req->json, "all")) ? "t" : "f";
	p[3] = arr;
	p[4] = conv;
	res = db_exec(ctx->db, &q_read, p);
	free(arr);
	if (res == NULL)
		return -1;
	n = (size_t)PQntuples(res);
	PQclear(res);
	if (db_commit(ctx->db) == -1)
		return -1;
	rc = api_send(req, 200, json_pack("{s:I}", "read", (json_int_t)n));
	return rc;
}

static int
send_settings(struct request *req, struct ctx *ctx, PGresult *res)
{
	json_t *o;

	if (res == NULL)
		return -1;
	o = PQntuples(res) == 1 ? row_json(&row_notification_settings, res, 0)
				: NULL;
	PQclear(res);
	if (o == NULL || db_commit(ctx->db) == -1) {
		json_decref(o);
		return -1;
	}
	return api_send(req, 200, o);
}

int
h_notification_settings(struct request *req, struct ctx *ctx)
{
	const char *p[2] = { ctx->who.company_id, ctx->who.user_id };

	return send_settings(req, ctx, db_exec(ctx->db, &q_settings, p));
}

int
h_notification_settings_patch(struct request *req, struct ctx *ctx)
{
	json_t	   *email = json_object_get(req->json, "email");
	json_t	   *delay = json_object_get(req->json, "email_delay_seconds");
	char	    d[16];
	const char *p[4] = { ctx->who.company_id, ctx->who.user_id, NULL,
		NULL };

	if (email != NULL)
		p[2] = json_is_true(email) ? "t" : "f";
	if (delay != NULL) {
		snprintf(
		    d, sizeof(d), "%lld", (long long)json_integer_value(delay));
		p[3] = d;
	}
	return send_settings(req, ctx, db_exec(ctx->db, &q_settings_set, p));
}

/*
 * RFC 8058 one-click: a mail client POSTs "List-Unsubscribe=One-Click" to
 * the URL of the digest's List-Unsubscribe header; the token (the
 * agent's ids and an HMAC) is the only proof, and does only this.
 */
int
h_notifications_unsubscribe(struct request *req, struct ctx *ctx)
{
	char	    cid[37], uid[37];
	const char *p[2] = { cid, uid };
	PGresult   *res;
	int	    found;

	if (notify_unsubscribe_check(router_arg(req, "token"), cid, uid) == -1)
		return api_problem(req, 400, "invalid_token",
		    "This unsubscribe link is not valid");
	if (db_tenant_begin(ctx->db, cid, NULL, NULL, NULL) == -1)
		return api_unavailable(req);
	if ((res = db_exec(ctx->db, &q_unsubscribe, p)) == NULL)
		return -1;
	found = PQntuples(res) == 1;
	PQclear(res);
	if (!found) {
		db_rollback(ctx->db);
		return api_problem(req, 400, "invalid_token",
		    "This unsubscribe link is not valid");
	}
	if (db_commit(ctx->db) == -1)
		return -1;
	return http_send_empty(req, 204);
}
