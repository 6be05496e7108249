/*
 * test-stripe.c: the ordering rules for Stripe's billing events
 * (stripe_order()): Stripe delivers events late, twice and out of order.
 */
#include "config.h"

#include <stdio.h>

#include "stripe.h"
#include "tap.h"

static const struct {
	const char	 *name;
	int		  subscription, other_sub;
	long long	  ts, state_at, last;
	int		  canceled;
	enum stripe_order want;
} cases[] = {
	{ "the first subscription event", 1, 0, 100, 0, 0, 0, STRIPE_APPLY },
	{ "a newer subscription event", 1, 0, 200, 0, 100, 0, STRIPE_APPLY },
	{ "an older one, late", 1, 0, 99, 0, 100, 0, STRIPE_RECORD },
	{ "one of the same second", 1, 0, 100, 0, 100, 0, STRIPE_ASK },
	{ "the same second, once canceled", 1, 0, 100, 0, 100, 1,
	    STRIPE_RECORD },
	{ "newer than a cancellation (a new start)", 1, 0, 101, 0, 100, 1,
	    STRIPE_APPLY },
	{ "older than a cancellation", 1, 0, 50, 0, 100, 1, STRIPE_RECORD },
	{ "another subscription starts its own clock", 1, 1, 50, 0, 100, 0,
	    STRIPE_APPLY },
	{ "another subscription, even canceled", 1, 1, 50, 0, 100, 1,
	    STRIPE_APPLY },
	{ "an invoice newer than the last state", 0, 0, 300, 200, 100, 0,
	    STRIPE_APPLY },
	{ "an invoice of the same second", 0, 0, 200, 200, 100, 0,
	    STRIPE_APPLY },
	{ "an invoice older than the last state", 0, 0, 150, 200, 100, 0,
	    STRIPE_RECORD },
	{ "an invoice ignores the subscription clock", 0, 0, 150, 100, 900, 0,
	    STRIPE_APPLY },
	{ "the first event of all", 0, 0, 1, 0, 0, 0, STRIPE_APPLY },
};

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		tap_ok(stripe_order(cases[i].subscription, cases[i].other_sub,
			   cases[i].ts, cases[i].state_at, cases[i].last,
			   cases[i].canceled) == cases[i].want,
		    "%s", cases[i].name);
	return tap_done();
}
