/*
 * plans.h: the plan's limits, checked by the endpoints that create what
 * they count. Over the limit: 402 problem+json, code plan_limit, naming
 * the limit, its maximum and the plan.
 */
#ifndef PARLEY_PLANS_H
#define PARLEY_PLANS_H
struct ctx;
struct request;

enum plan_limit {
	PLAN_CHATBOTS,
	PLAN_MEMBERS, /* users and open invitations */
	PLAN_DOCUMENTS,
	PLAN__MAX
};

/*
 * In the open tenant transaction of ctx->who.company_id: returns 0 when
 * one more is allowed, 1 after answering 402, -1 on error.
 */
int plan_check(struct ctx *ctx, struct request *req, enum plan_limit which);

/*
 * Visitor messages this calendar month (UTC) are counted as they are
 * stored, by the database (parley_count_message(), sql/013-usage.sql),
 * which refuses one over the plan's monthly_messages with SQLSTATE PL402.
 * After a failed statement: returns 1 having rolled back and answered
 * 402 plan_limit if that was the reason, 0 if it was not, -1 on error.
 */
int plan_messages_refused(struct ctx *ctx, struct request *req);
#endif
