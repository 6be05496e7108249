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
	{ "plan_messages",
	    "SELECT p.id, p.monthly_messages, (SELECT count(*) FROM messages "
	    "WHERE company_id = $1 AND role = 'visitor' AND created_at >= "
	    "date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') "
	    "FROM companies c JOIN plans p ON p.id = c.plan WHERE c.id = $1 "
	    "FOR UPDATE OF c",
	    1, 0, 0 },
};
static const char *const names[PLAN__MAX] = { "chatbots", "members",
	"documents", "monthly_messages" };

int
plan_check(struct ctx *ctx, struct request *req, enum plan_limit which)
{
	const char *p[1] = { ctx->who.company_id };
	PGresult   *res;
	json_t	   *x;
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
	x = json_pack("{s:s,s:I,s:s}", "limit", names[which], "max",
	    (json_int_t)max, "plan", plan);
	http_send_problem(req, 402, "plan_limit",
	    "Your plan's limit is reached: upgrade, or remove something first",
	    NULL, x, NULL);
	json_decref(x);
	return 1;
}
