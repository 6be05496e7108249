/*
 * api_alerts.c: security alerts (issue 20, item 2) for owners and
 * admins: listed newest first (by last activity), one read, and moved
 * open -> acknowledged -> resolved (audited); and the public end of the
 * "this was not me" link of a new sign-in mail, which ends that one
 * session (src/detect.c makes the link).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "detect.h"
#include "handler.h"
#include "realtime.h"
#include "router.h"
#include "row.h"
#include "security_events.h"
#include "session.h"

static struct db_stmt q_alerts = { "security_alerts_list",
	"SELECT {{SecurityAlert}} FROM security_alerts WHERE company_id = $1 "
	"AND ($4::text IS NULL OR state = $4) AND ($2::text IS NULL OR "
	"(last_seen, id) < (to_timestamp(split_part($2, '_', 1)::bigint / "
	"1000000.0), split_part($2, '_', 2)::uuid)) ORDER BY last_seen DESC, "
	"id DESC LIMIT $3",
	4, 0, 0 };
static struct db_stmt q_alert = { "security_alert_get",
	"SELECT {{SecurityAlert}} FROM security_alerts WHERE company_id = $1 "
	"AND id = $2",
	2, 0, 0 };
static struct db_stmt q_alert_lock = { "security_alert_lock",
	"SELECT state FROM security_alerts WHERE company_id = $1 AND id = $2 "
	"FOR UPDATE",
	2, 0, 0 };
/* Resolving clears the incident's place: the next event of the same
 * rule and subject opens a new alert. */
static struct db_stmt q_alert_set = { "security_alert_set",
	"UPDATE security_alerts SET state = $3, acknowledged_at = CASE WHEN "
	"acknowledged_at IS NULL THEN now() ELSE acknowledged_at END, "
	"acknowledged_by = coalesce(acknowledged_by, $4::uuid), resolved_at "
	"= CASE WHEN $3 = 'resolved' THEN now() END, resolved_by = CASE WHEN "
	"$3 = 'resolved' THEN $4::uuid END WHERE company_id = $1 AND id = $2 "
	"RETURNING {{SecurityAlert}}",
	4, 0, 0 };
/* Its notifications are read once someone acted on it. */
static struct db_stmt q_alert_read = { "security_alert_read",
	"UPDATE notifications SET read_at = now() WHERE company_id = $1 AND "
	"alert_id = $2 AND read_at IS NULL",
	2, 0, 0 };

int
h_alerts(struct request *req, struct ctx *ctx)
{
	long long   n = router_arg_int(req, "limit", 50);
	const char *p[4] = { ctx->who.company_id, router_arg(req, "before"),
		NULL, router_arg(req, "state") };
	char	    lim[24];

	snprintf(lim, sizeof(lim), "%lld", n);
	p[2] = lim;
	return api_page(req, ctx, &q_alerts, p, (long)n);
}

int
h_alert_get(struct request *req, struct ctx *ctx)
{
	const char *p[2] = { ctx->who.company_id, router_param(req, "id") };

	return api_get_one(req, ctx, &q_alert, p);
}

int
h_alert_patch(struct request *req, struct ctx *ctx)
{
	const char *id = router_param(req, "id");
	const char *want = api_body_str(req, "state");
	const char *p[4] = { ctx->who.company_id, id, want, ctx->who.user_id };
	char	    was[16];
	PGresult   *res;
	json_t	   *changes;
	int	    rc;

	if ((res = db_exec(ctx->db, &q_alert_lock, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return router_not_found(req);
	}
	snprintf(was, sizeof(was), "%s", row_get(res, 0, "state"));
	PQclear(res);
	if (strcmp(was, want) == 0) /* already so: nothing changes */
		return api_get_one(req, ctx, &q_alert, p);
	if (strcmp(was, "resolved") == 0 || strcmp(want, "open") == 0) {
		db_rollback(ctx->db);
		return api_problem(req, 409, "alert_state",
		    "An alert goes from open to acknowledged to resolved, "
		    "never back");
	}
	if ((res = db_exec(ctx->db, &q_alert_set, p)) == NULL)
		return -1;
	PQclear(db_exec(ctx->db, &q_alert_read, p));
	changes = json_pack("{s:{s:s,s:s}}", "state", "old", was, "new", want);
	rc = api_audit(req, ctx, id, NULL, changes) == 0 &&
		db_commit(ctx->db) == 0
	    ? api_send_row(req, res, 200)
	    : -1;
	json_decref(changes);
	PQclear(res);
	return rc;
}

static struct db_stmt q_link_session = { "sign_in_link_session",
	"SELECT user_id, revoked_at IS NULL AND expires_at > now() AS live "
	"FROM sessions WHERE company_id = $1 AND id = $2 FOR UPDATE",
	2, 0, 0 };

/* The network and browser that sign-in taught are forgotten: the next
 * sign-in from there is new again, and mailed. */
static struct db_stmt q_link_forget = { "sign_in_link_forget",
	"DELETE FROM known_networks k USING security_events e WHERE "
	"e.company_id = $1 AND e.kind = 'new_sign_in' AND e.detail->>'session' "
	"= $2 AND k.company_id = $1 AND k.subject = 'user:' || e.user_id::text "
	"AND k.network = (e.detail->>'network')::cidr AND k.agent = "
	"e.detail->>'agent'",
	2, 0, 0 };

int
h_sign_in_revoke(struct request *req, struct ctx *ctx)
{
	char	  cid[37], sid[37], uid[37];
	PGresult *res;
	json_t	 *d;
	int	  live, rc = -1;

	if (detect_link_check(api_body_str(req, "token"), cid, sid) == -1)
		return api_problem(req, 400, "invalid_token",
		    "This link is invalid or expired");
	if (db_tenant_begin(ctx->db, cid, NULL, NULL, NULL) == -1)
		return -1;
	{
		const char *p[2] = { cid, sid };

		if ((res = db_exec(ctx->db, &q_link_session, p)) == NULL)
			return -1;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		db_rollback(ctx->db);
		return api_problem(req, 400, "invalid_token",
		    "This link is invalid or expired");
	}
	snprintf(uid, sizeof(uid), "%s", row_get(res, 0, "user_id"));
	live = row_bool(res, 0, "live");
	PQclear(res);
	if (!live) {
		/* Used, or the session ended anyway: nothing left to end. */
		db_rollback(ctx->db);
		return api_problem(
		    req, 410, "link_used", "That session has already ended");
	}
	d = json_pack("{s:s}", "session", sid);
	{
		const char *p[2] = { cid, sid };

		if ((res = db_exec(ctx->db, &q_link_forget, p)) == NULL)
			goto out;
		PQclear(res);
	}
	if (d != NULL &&
	    session_revoke(ctx, cid, uid, sid, NULL, "not_me") == 1 &&
	    event_record(ctx, cid, uid, "sign_in_revoked", d) == 0 &&
	    db_commit(ctx->db) == 0) {
		json_t *o = json_pack("{s:b}", "ended", 1);

		rc = o != NULL ? http_send_json(req, 200, o) : -1;
		json_decref(o);
	}
out:
	json_decref(d);
	return rc;
}
