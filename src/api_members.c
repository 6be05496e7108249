/*
 * api_members.c: the company's team. Everyone lists; admins and owners
 * change roles and remove members, with two rules: only an owner grants
 * or takes away "owner", and the last owner can be neither demoted nor
 * removed. Removing a member ends their sessions at once (the rows go).
 * Every change is audited.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "handler.h"
#include "resources.h"
#include "auth.h"
#include "db.h"
#include "realtime.h"
#include "util.h"
#include "validate.h"

struct db_stmt q_members = { "members_list",
	"SELECT {{Member u}} FROM users u WHERE u.company_id = $2 AND EXISTS "
	"(SELECT "
	"1 FROM users me WHERE me.id = $1 AND me.company_id = $2) ORDER BY "
	"u.created_at, u.id LIMIT 1000",
	2, 0, 0 };
/* Locks the company's owners, so two demotions cannot both see two. */
static struct db_stmt q_owners = { "members_owners",
	"SELECT id FROM users WHERE company_id = $1 AND role = 'owner' FOR "
	"UPDATE",
	1, 0, 0 };
static struct db_stmt q_member = { "member_get",
	"SELECT role FROM users WHERE company_id = $1 AND id = $2 FOR UPDATE",
	2, 0, 0 };
static struct db_stmt q_member_role = { "member_role",
	"UPDATE users SET role = $3, updated_at = now() WHERE company_id = $1 "
	"AND id = $2 RETURNING {{Member}}",
	3, 0, 0 };
static struct db_stmt q_member_invitations = { "member_invitations",
	"UPDATE invitations SET revoked_at = now() WHERE company_id = $1 AND "
	"invited_by = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
	2, 0, 0 };
static struct db_stmt q_member_delete = { "member_delete",
	"DELETE FROM users WHERE company_id = $1 AND id = $2", 2, 0, 0 };

int
h_members_list(struct request *req, struct ctx *ctx)
{
	json_t *items;

	if (ctx->read == NULL ||
	    (items = row_json_all(&row_member, ctx->read)) == NULL)
		return -1;
	return http_send_items(req, items);
}

/*
 * Locks the owners and the target. Returns the target's role (and the
 * number of owners in '*owners'), HTTP_ANSWERED after answering (403,
 * 404), or -1.
 */
static int
lock_target(struct request *req, struct ctx *ctx, const char *id, int *owners)
{
	const char *p[2] = { ctx->who.company_id, id };
	PGresult   *res;
	enum role   role;

	if ((res = db_exec(ctx->db, &q_owners, p)) == NULL)
		return -1;
	*owners = PQntuples(res);
	PQclear(res);
	/*
	 * The caller's own role, re-read under lock: the one the session
	 * check saw may have changed since (a concurrent demotion).
	 */
	{
		const char *me[2] = { ctx->who.company_id, ctx->who.user_id };

		if ((res = db_exec(ctx->db, &q_member, me)) == NULL)
			return -1;
		ctx->who.role = PQntuples(res) == 1
		    ? auth_role_parse(row_get(res, 0, "role"))
		    : ROLE_NONE;
		PQclear(res);
		if (ctx->who.role < ROLE_ADMIN) {
			api_problem(req, 403, "forbidden",
			    "Your role does not allow this");
			return HTTP_ANSWERED;
		}
	}
	if ((res = db_exec(ctx->db, &q_member, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		router_not_found(req);
		return HTTP_ANSWERED;
	}
	role = auth_role_parse(row_get(res, 0, "role"));
	PQclear(res);
	return (int)role;
}

/* A refused change: answered 403 and recorded as a security event. */
static int
refuse(
    struct request *req, struct ctx *ctx, const char *code, const char *title)
{
	const struct route *r = router_current(req);

	if (r != NULL)
		auth_record_denial(req, ctx, r, "access_denied");
	return http_send_problem(req, 403, code, title, NULL, NULL, NULL);
}

int
h_member_patch(struct request *req, struct ctx *ctx)
{
	const char *id = router_param(req, "id"), *p[3];
	enum role   cur, next;
	json_t	   *fields, *changes, *o;
	PGresult   *res;
	int	    owners = 0, r;

	next = auth_role_parse(api_body_str(req, "role"));
	if ((r = lock_target(req, ctx, id, &owners)) < 0)
		return r == HTTP_ANSWERED ? 0 : -1;
	cur = (enum role)r;
	if ((cur == ROLE_OWNER || next == ROLE_OWNER) &&
	    ctx->who.role != ROLE_OWNER)
		return refuse(req, ctx, "owner_required",
		    "Only an owner can grant or take away ownership");
	if (cur == ROLE_OWNER && next != ROLE_OWNER && owners <= 1)
		return refuse(req, ctx, "last_owner",
		    "The last owner cannot be demoted: make someone else owner "
		    "first");
	p[0] = ctx->who.company_id;
	p[1] = id;
	p[2] = auth_role_name(next);
	if ((res = db_exec(ctx->db, &q_member_role, p)) == NULL)
		return -1;
	if (next < cur) {
		/* Demoted: invitations sent with the old role end. */
		PGresult *r2 = db_exec(ctx->db, &q_member_invitations, p);

		if (r2 == NULL) {
			PQclear(res);
			return -1;
		}
		PQclear(r2);
	}
	if (cur != next) {
		fields = json_pack("[s]", "role");
		changes = json_pack("{s:{s:s,s:s}}", "role", "old",
		    auth_role_name(cur), "new", auth_role_name(next));
		r = api_audit(req, ctx, id, fields, changes);
		json_decref(fields);
		json_decref(changes);
		if (r == -1) {
			PQclear(res);
			return -1;
		}
	}
	if (db_commit(ctx->db) == -1) {
		PQclear(res);
		return -1;
	}
	o = row_json(&row_member, res, 0);
	PQclear(res);
	return api_send(req, 200, o);
}

int
h_member_delete(struct request *req, struct ctx *ctx)
{
	const char *id = router_param(req, "id"), *p[2];
	PGresult   *res;
	int	    owners = 0, r;

	if ((r = lock_target(req, ctx, id, &owners)) < 0)
		return r == HTTP_ANSWERED ? 0 : -1;
	if (r == ROLE_OWNER && ctx->who.role != ROLE_OWNER)
		return refuse(req, ctx, "owner_required",
		    "Only an owner can remove an owner");
	if (r == ROLE_OWNER && owners <= 1)
		return refuse(
		    req, ctx, "last_owner", "The last owner cannot be removed");
	p[0] = ctx->who.company_id;
	p[1] = id;
	/*
	 * Their open invitations end too (they could bring them back); their
	 * sessions, tokens, keys and codes go with the row.
	 */
	if ((res = db_exec(ctx->db, &q_member_invitations, p)) == NULL)
		return -1;
	PQclear(res);
	/* Their event streams end once this commits. */
	rt_end_user(ctx, id);
	if ((res = db_exec(ctx->db, &q_member_delete, p)) == NULL)
		return -1;
	PQclear(res);
	if (api_audit(req, ctx, id, NULL, NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		return -1;
	return http_send_empty(req, 204);
}
