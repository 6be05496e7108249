/*
 * plans.c: plan limits (see plans.h). One statement per limit returns the
 * plan, its maximum (NULL: none) and what is used now.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "row.h"
#include "plans.h"
#include "ctx.h"

static struct db_stmt q_limit[PLAN__MAX] = {
	{ "plan_chatbots",
	    "SELECT p.id, p.max_chatbots AS max, (SELECT count(*) FROM "
	    "chatbots "
	    "WHERE company_id = $1) AS used FROM companies c JOIN plans p ON "
	    "p.id = c.plan "
	    "WHERE c.id = $1 FOR UPDATE OF c",
	    1, 0, 0 },
	{ "plan_members",
	    "SELECT p.id, p.max_members AS max, (SELECT count(*) FROM users "
	    "WHERE "
	    "company_id = $1) + (SELECT count(*) FROM invitations WHERE "
	    "company_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL "
	    "AND expires_at > now()) AS used FROM companies c JOIN plans p ON "
	    "p.id "
	    "= "
	    "c.plan WHERE c.id = $1 FOR UPDATE OF c",
	    1, 0, 0 },
	{ "plan_documents",
	    "SELECT p.id, p.max_documents AS max, (SELECT count(*) FROM "
	    "kb_documents WHERE company_id = $1) AS used FROM companies c JOIN "
	    "plans p ON p.id = "
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

int
plan_messages_refused(struct ctx *ctx, struct plan_refusal *out)
{
	const char    *p[1] = { ctx->who.company_id };
	PGresult      *res = NULL;
	struct db_call c = { &q_plan_messages, p, &res };

	if (strcmp(db_last_sqlstate(ctx->db), "PL402") != 0)
		return 0;
	db_rollback(ctx->db);
	if (db_tenant_batch(ctx->db, ctx->who.company_id, &c, 1) == -1 ||
	    PQntuples(res) != 1 ||
	    row_opt(res, 0, "monthly_messages") == NULL) {
		PQclear(res);
		return -1;
	}
	out->limit = "monthly_messages";
	out->max = row_int(res, 0, "monthly_messages");
	snprintf(out->plan, sizeof(out->plan), "%s", row_get(res, 0, "id"));
	PQclear(res);
	return 1;
}

int
plan_check(struct ctx *ctx, enum plan_limit which, struct plan_refusal *out)
{
	const char *p[1] = { ctx->who.company_id };
	PGresult   *res;
	long long   used;

	if ((res = db_exec(ctx->db, &q_limit[which], p)) == NULL)
		return -1;
	if (PQntuples(res) != 1 || row_opt(res, 0, "max") == NULL) {
		PQclear(res);
		return 0; /* no limit */
	}
	out->limit = names[which];
	out->max = row_int(res, 0, "max");
	used = row_int(res, 0, "used");
	snprintf(out->plan, sizeof(out->plan), "%s", row_get(res, 0, "id"));
	PQclear(res);
	return used < out->max ? 0 : 1;
}
