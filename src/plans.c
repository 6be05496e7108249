/*
 * plans.c: plan limits (see plans.h). One statement per limit returns the
 * plan, its maximum (NULL: none) and what is used now.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "http.h"
#include "plans.h"
#include "router.h"

static struct db_stmt q_limit[PLAN__MAX] = {
	{ "plan_chatbots",
	    "SELECT p.id, p.max_chatbots, (SELECT count(*) FROM chatbots WHERE "
	    "company_id = $1) FROM companies c JOIN plans p ON p.id = c.plan "
	    "WHERE c.id = $1 FOR UPDATE OF c",
	    1, 0, 0 },
	{ "plan_members",
	    "SELECT p.id, p.max_members, (SELECT count(*) FROM users WHERE "
	    "company_id = $1) + (SELECT count(*) FROM invitations WHERE "
	    "company_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL "
	    "AND expires_at > now()) FROM companies c JOIN plans p ON p.id = "
	    "c.plan WHERE c.id = $1 FOR UPDATE OF c",
	    1, 0, 0 },
	{ "plan_documents",
	    "SELECT p.id, p.max_documents, (SELECT count(*) FROM kb_documents "
	    "WHERE company_id = $1) FROM companies c JOIN plans p ON p.id = "
	    "c.plan WHERE c.id = $1 FOR UPDATE OF c",
	    1, 0, 0 },
};
static const char *const names[PLAN__MAX] = { "chatbots", "members",
	"documents" };
/* The monthly message allowance, for the answer once it is used up. */
static struct db_stmt q_plan_messages = { "plan_messages",
	"SELECT p.id, p.monthly_messages FROM companies c JOIN plans p ON "
	"p.id = c.plan WHERE c.id = $1",
	1, 0, 0 };

/* Answers 402 plan_limit naming 'limit', 'max' and 'plan'. */
static void
refuse(struct request *req, const char *limit, long long max, const char *plan)
{
	json_t *x = json_pack("{s:s,s:I,s:s}", "limit", limit, "max",
	    (json_int_t)max, "plan", plan);

	http_send_problem(req, 402, "plan_limit",
	    "Your plan's limit is reached: upgrade, or remove something first",
	    NULL, x, NULL);
	json_decref(x);
}

int
plan_messages_refused(struct ctx *ctx, struct request *req)
{
	const char    *p[1] = { ctx->who.company_id };
	PGresult      *res = NULL;
	struct db_call c = { &q_plan_messages, p, &res };

	if (strcmp(db_last_sqlstate(ctx->db), "PL402") != 0)
		return 0;
	db_rollback(ctx->db);
	if (db_tenant_batch(ctx->db, ctx->who.company_id, &c, 1) == -1 ||
	    PQntuples(res) != 1 || PQgetisnull(res, 0, 1)) {
		PQclear(res);
		return -1;
	}
	refuse(req, "monthly_messages",
	    strtoll(PQgetvalue(res, 0, 1), NULL, 10), PQgetvalue(res, 0, 0));
	PQclear(res);
	return 1;
}

int
plan_check(struct ctx *ctx, struct request *req, enum plan_limit which)
{
	const char *p[1] = { ctx->who.company_id };
	PGresult   *res;
	long long   max, used;
	char	    plan[40];

	if ((res = db_exec(ctx->db, &q_limit[which], p)) == NULL)
		return -1;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 1)) {
		PQclear(res);
		return 0; /* no limit */
	}
	max = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	used = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	snprintf(plan, sizeof(plan), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (used < max)
		return 0;
	refuse(req, names[which], max, plan);
	return 1;
}
