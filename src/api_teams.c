/*
 * api_teams.c: who takes a handoff (issue 18, items 2 and 5): teams of
 * agents (a chatbot's handoffs go to its team, sql/029-routing.sql
 * assigns them), each agent's capacity and presence, and whether a
 * person is available to a widget's visitor now.
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
#include "resources.h"
#include "router.h"
#include "validate.h"

/* --- teams --- */

static struct db_stmt q_teams = { "teams_list",
	"SELECT {{Team t}} FROM teams t WHERE t.company_id = $1 ORDER BY "
	"t.name",
	1, 0, 0 };
static struct db_stmt q_team_new = { "team_new",
	"INSERT INTO teams (company_id, name) VALUES ($1, $2) RETURNING id", 2,
	0, 0 };
static struct db_stmt q_team_rename = { "team_rename",
	"UPDATE teams SET name = coalesce($3, name) WHERE company_id = $1 AND "
	"id = $2 RETURNING id",
	3, 0, 0 };
static struct db_stmt q_team_clear = { "team_clear",
	"DELETE FROM team_members WHERE company_id = $1 AND team_id = $2 AND "
	"user_id <> ALL ($3::uuid[])",
	3, 0, 0 };
static struct db_stmt q_team_add = { "team_add",
	"INSERT INTO team_members (company_id, team_id, user_id) SELECT $1, "
	"$2, u FROM unnest($3::uuid[]) u ON CONFLICT DO NOTHING",
	3, 0, 0 };
static struct db_stmt q_team_get = { "team_get",
	"SELECT {{Team t}} FROM teams t WHERE t.company_id = $1 AND t.id = $2",
	2, 0, 0 };
static struct db_stmt q_team_delete = { "team_delete",
	"DELETE FROM teams WHERE company_id = $1 AND id = $2", 2, 0, 0 };

int
h_teams(struct request *req, struct ctx *ctx)
{
	const char *p[1] = { ctx->who.company_id };

	return api_list(req, ctx, &q_teams, p);
}

/* Sets the team's members to the body's member_ids (when given); 0, or
 * HTTP_ANSWERED after 422 (one is not the company's member), -1. */
static int
set_members(struct request *req, struct ctx *ctx, const char *team)
{
	const json_t *given = json_object_get(req->json, "member_ids");
	char	     *ids = given != NULL ? api_uuid_array(given) : NULL;
	const char   *p[3] = { ctx->who.company_id, team, ids };
	PGresult     *res;
	struct verr   err = { "member_ids", "unknown", "" };

	if (ids == NULL)
		return json_object_get(req->json, "member_ids") == NULL ? 0
									: -1;
	res = db_exec(ctx->db, &q_team_clear, p);
	PQclear(res);
	if (res != NULL && (res = db_exec(ctx->db, &q_team_add, p)) != NULL) {
		PQclear(res);
		free(ids);
		return 0;
	}
	free(ids);
	if (strcmp(db_last_sqlstate(ctx->db), "23503") != 0)
		return -1;
	db_rollback(ctx->db);
	validate_problem(req, &err);
	return HTTP_ANSWERED;
}

/* The team 'id' as now, audited, committed and answered with 'status'. */
static int
team_done(struct request *req, struct ctx *ctx, const char *id, int status)
{
	const char *p[2] = { ctx->who.company_id, id };
	PGresult   *res;
	json_t	   *o;

	if ((res = db_exec(ctx->db, &q_team_get, p)) == NULL)
		return -1;
	o = PQntuples(res) == 1 ? row_json(&row_team, res, 0) : NULL;
	PQclear(res);
	if (o == NULL || api_audit(req, ctx, id, NULL, NULL) == -1 ||
	    db_commit(ctx->db) == -1) {
		json_decref(o);
		return -1;
	}
	return api_send(req, status, o);
}

/* A name the company has already: 409. */
static int
name_taken(struct request *req, struct ctx *ctx)
{
	if (strcmp(db_last_sqlstate(ctx->db), "23505") != 0)
		return -1;
	db_rollback(ctx->db);
	return api_problem(
	    req, 409, "name_taken", "The company has a team of this name");
}

int
h_team_create(struct request *req, struct ctx *ctx)
{
	const char *p[2] = { ctx->who.company_id, api_body_str(req, "name") };
	char	    id[37];
	PGresult   *res;
	int	    r;

	if ((res = db_exec(ctx->db, &q_team_new, p)) == NULL)
		return name_taken(req, ctx);
	snprintf(id, sizeof(id), "%s", row_get(res, 0, "id"));
	PQclear(res);
	if ((r = set_members(req, ctx, id)) != 0)
		return r == HTTP_ANSWERED ? 0 : -1;
	return team_done(req, ctx, id, 201);
}

int
h_team_patch(struct request *req, struct ctx *ctx)
{
	const char *id = router_param(req, "id");
	const char *p[3] = { ctx->who.company_id, id,
		api_body_str(req, "name") };
	PGresult   *res;
	int	    n, r;

	if ((res = db_exec(ctx->db, &q_team_rename, p)) == NULL)
		return name_taken(req, ctx);
	n = PQntuples(res);
	PQclear(res);
	if (n != 1)
		return router_not_found(req);
	if ((r = set_members(req, ctx, id)) != 0)
		return r == HTTP_ANSWERED ? 0 : -1;
	return team_done(req, ctx, id, 200);
}

int
h_team_delete(struct request *req, struct ctx *ctx)
{
	const char *p[2] = { ctx->who.company_id, router_param(req, "id") };

	return api_delete(req, ctx, &q_team_delete, p);
}

/* --- an agent's capacity and presence --- */

static struct db_stmt q_capacity = { "member_capacity",
	"UPDATE users SET capacity = $3::int, updated_at = now() WHERE "
	"company_id = $1 AND id = $2 RETURNING (SELECT capacity FROM users "
	"WHERE company_id = $1 AND id = $2) AS old",
	3, 0, 0 };
static struct db_stmt q_reassign = { "presence_reassign",
	"SELECT parley_reassign($1, $2) AS n", 2, 0, 0 };
static struct db_stmt q_presence = { "presence_set",
	"UPDATE users SET presence = $3, presence_at = now() WHERE company_id "
	"= $1 AND id = $2 RETURNING presence AS status, "
	"parley_presence(presence, presence_at) AS effective, capacity",
	3, 0, 0 };

int
h_member_capacity(struct request *req, struct ctx *ctx)
{
	const char *id = router_param(req, "id");
	char	    cap[12];
	const char *p[3] = { ctx->who.company_id, id, cap };
	PGresult   *res;
	json_t	   *changes;
	int	    found, rc;

	snprintf(cap, sizeof(cap), "%lld",
	    (long long)json_integer_value(
		json_object_get(req->json, "capacity")));
	if ((res = db_exec(ctx->db, &q_capacity, p)) == NULL)
		return -1;
	found = PQntuples(res) == 1;
	changes = found ? json_pack("{s:{s:s,s:s}}", "capacity", "old",
			      row_get(res, 0, "old"), "new", cap)
			: NULL;
	PQclear(res);
	if (!found)
		return router_not_found(req);
	rc = api_audit(req, ctx, id, NULL, changes);
	json_decref(changes);
	if (rc == -1 || db_commit(ctx->db) == -1)
		return -1;
	return api_send(req, 200,
	    json_pack("{s:s,s:I}", "id", id, "capacity",
		(json_int_t)json_integer_value(
		    json_object_get(req->json, "capacity"))));
}

/* Set by the console (its choice, its idle timer) and renewed by its
 * heartbeat: two minutes without one is offline. */
int
h_presence(struct request *req, struct ctx *ctx)
{
	const char *p[3] = { ctx->who.company_id, ctx->who.user_id,
		api_body_str(req, "status") };
	PGresult   *res;
	json_t	   *o;

	if ((res = db_exec(ctx->db, &q_presence, p)) == NULL)
		return -1;
	o = PQntuples(res) == 1 ? row_json(&row_presence, res, 0) : NULL;
	PQclear(res);
	/* Offline: one's conversations go back to routing, where their
	 * chatbots say so. */
	if (o != NULL && strcmp(p[2], "offline") == 0) {
		if ((res = db_exec(ctx->db, &q_reassign, p)) == NULL) {
			json_decref(o);
			return -1;
		}
		json_object_set_new(
		    o, "reassigned", json_integer(row_int(res, 0, "n")));
		PQclear(res);
	}
	if (o == NULL || db_commit(ctx->db) == -1) {
		json_decref(o);
		return -1;
	}
	return api_send(req, 200, o);
}
