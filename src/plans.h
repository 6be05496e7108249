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
	PLAN_MESSAGES, /* visitor messages this calendar month (UTC) */
	PLAN__MAX
};

/*
 * In the open tenant transaction of ctx->who.company_id: returns 0 when
 * one more is allowed, 1 after answering 402, -1 on error.
 */
int plan_check(struct ctx *ctx, struct request *req, enum plan_limit which);
#endif
