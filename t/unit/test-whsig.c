/*
 * test-whsig.c: webhook signatures. The Standard Webhooks vector is the
 * reference libraries' own; the Stripe ones were made with Python's hmac
 * the way Stripe's libraries sign.
 */
#include "config.h"

#include <string.h>

#include "tap.h"
#include "whsig.h"

#define STRIPE_SECRET "whsec_test_secret_123"
#define STRIPE_BODY "{\"id\":\"evt_1\",\"object\":\"event\"}"
#define STRIPE_SIG                                                             \
	"e7f0d58c18acfe06e9a0f31a511b14d90240a2fb7dfee077f321fb2f336323ba"
#define NOW 1700000000

static const struct {
	const char *header;
	const char *why; /* NULL: accepted */
	const char *name;
} stripe[] = {
	{ "t=1700000000,v1=" STRIPE_SIG, NULL, "the signature Stripe makes" },
	{ "t=1700000000,v1=" STRIPE_SIG ",v0=00", NULL, "v0 ignored" },
	{ "t=1700000000,v1="
	  "0000000000000000000000000000000000000000000000000000000000000000"
	  ",v1=" STRIPE_SIG,
	    NULL, "any of several v1 may match" },
	{ "t=1700000000, v1=" STRIPE_SIG, NULL, "spaces after commas" },
	{ "t=1700000000,v0=" STRIPE_SIG, "no_signature", "only v0: refused" },
	{ "t=1700000000,v2=" STRIPE_SIG, "no_signature",
	    "another scheme: refused" },
	{ "t=1700000001,v1=" STRIPE_SIG, "mismatch", "another timestamp" },
	{ "t=1699999000,v1=" STRIPE_SIG, "stale", "over 300 s old" },
	{ "t=1700000400,v1=" STRIPE_SIG, "stale", "over 300 s ahead" },
	{ "v1=" STRIPE_SIG, "malformed", "no timestamp" },
	{ "t=abc,v1=" STRIPE_SIG, "malformed", "a bad timestamp" },
	{ "", "malformed", "empty" },
	{ "t=1700000000,v1="
	  "E7F0D58C18ACFE06E9A0F31A511B14D90240A2FB7DFEE077F321FB2F336323BA",
	    "mismatch", "upper-case hex is not what Stripe sends" },
};

int
main(void)
{
	const char *cur[] = { STRIPE_SECRET };
	const char *rot[] = { "whsec_new_secret", STRIPE_SECRET };
	const char *wrong[] = { "whsec_other" };
	/* The key as given, prefix included: decoding it would be wrong. */
	const char *nopfx[] = { "test_secret_123" };
	char	    sig[WHSIG_LEN];
	size_t	    i;

	tap_ok(whsig_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		   "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
		   "{\"test\": 2432232314}", 20, sig) == 0,
	    "Standard Webhooks: signs");
	tap_is_str(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
	    "Standard Webhooks: the reference vector");
	tap_ok(whsig_sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "m", 1, "x", 1,
		   sig) == -1,
	    "Standard Webhooks: a secret without whsec_ is refused");
	tap_ok(whsig_sign("whsec_c2hvcnQ=", "m", 1, "x", 1, sig) == -1,
	    "Standard Webhooks: a secret under 24 bytes is refused");
	for (i = 0; i < sizeof(stripe) / sizeof(stripe[0]); i++) {
		const char *why = stripe_verify(stripe[i].header, STRIPE_BODY,
		    strlen(STRIPE_BODY), cur, 1, NOW);

		tap_ok(stripe[i].why == NULL
			? why == NULL
			: why != NULL && strcmp(why, stripe[i].why) == 0,
		    "Stripe: %s (%s)", stripe[i].name, why ? why : "accepted");
	}
	tap_ok(stripe_verify("t=1700000000,v1=" STRIPE_SIG, STRIPE_BODY,
		   strlen(STRIPE_BODY), rot, 2, NOW) == NULL,
	    "Stripe: the previous secret still accepted during rotation");
	tap_ok(stripe_verify("t=1700000000,v1=" STRIPE_SIG, STRIPE_BODY,
		   strlen(STRIPE_BODY), wrong, 1, NOW) != NULL,
	    "Stripe: another secret refused");
	tap_ok(stripe_verify("t=1700000000,v1=" STRIPE_SIG, STRIPE_BODY,
		   strlen(STRIPE_BODY), nopfx, 1, NOW) != NULL,
	    "Stripe: the secret without its whsec_ prefix does not match");
	tap_ok(stripe_verify("t=1700000000,v1=" STRIPE_SIG,
		   "{\"id\": \"evt_1\", \"object\": \"event\"}", 33, cur, 1,
		   NOW) != NULL,
	    "Stripe: the same JSON re-serialised does not match (raw bytes)");
	tap_done();
	return 0;
}
