/*
 * billing.h: Stripe's events, applied to the company they concern
 * (billing.c). The caller has verified the event's signature.
 */
#ifndef PARLEY_BILLING_H
#define PARLEY_BILLING_H

#include <jansson.h>

struct ctx;

enum billing_outcome {
	BILLING_APPLIED, /* the company's plan or state changed */
	BILLING_RECORDED, /* known already, or recorded but not applied */
	BILLING_IGNORED, /* no customer or company of this deployment */
	BILLING_MALFORMED, /* not an event parley can read */
	BILLING_UNAVAILABLE, /* the database or Stripe did not answer */
	BILLING_ERROR,
};

/*
 * Applies Stripe event 'event' (the parsed body), with no transaction
 * open; sets ctx->who.company_id to the company it concerns. Leaves no
 * transaction open.
 */
enum billing_outcome billing_event(struct ctx *ctx, json_t *event);

#endif
