/*
 * plans.h: the plan's limits, checked by the endpoints that create what
 * they count; over the limit they answer 402 plan_limit naming what
 * struct plan_refusal holds (api_plan_refused(), handler.h). No HTTP.
 */
#ifndef PARLEY_PLANS_H
#define PARLEY_PLANS_H
struct ctx;

/* Why a plan refused: which limit, its maximum, the plan. */
struct plan_refusal {
	const char *limit; /* "chatbots", "monthly_messages" */
	long long   max;
	char	    plan[40];
};

enum plan_limit {
	PLAN_CHATBOTS,
	PLAN_MEMBERS, /* users and open invitations */
	PLAN_DOCUMENTS,
	PLAN__MAX
};

/*
 * In the open tenant transaction of ctx->who.company_id: returns 0 when
 * one more is allowed, 1 when not (with 'out' filled), -1 on error.
 */
int plan_check(
    struct ctx *ctx, enum plan_limit which, struct plan_refusal *out);

/*
 * Visitor messages this calendar month (UTC) are counted as they are
 * stored, by the database (parley_count_message(), sql/013-usage.sql),
 * which refuses one over the plan's monthly_messages with SQLSTATE PL402.
 * After a failed statement: returns 1 having rolled back, with 'out'
 * filled, if that was the reason; 0 if it was not; -1 on error.
 */
int plan_messages_refused(struct ctx *ctx, struct plan_refusal *out);
#endif
