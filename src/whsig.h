/*
 * whsig.h: webhook signatures, both directions.
 *
 * Outgoing (Standard Webhooks): "v1,<base64 HMAC-SHA256>" over
 * "{id}.{timestamp}.{body}", keyed by the base64-decoded secret after
 * its "whsec_" prefix.
 *
 * Incoming (Stripe): the Stripe-Signature header "t=…,v1=…[,v1=…][,v0=…]";
 * the signed payload is "{t}.{raw body}", HMAC-SHA256 keyed by the
 * endpoint secret's bytes as given (the whsec_ prefix included, not
 * decoded), hex; any v1 may match, every other scheme is ignored, and the
 * comparison is constant-time.
 */
#ifndef PARLEY_WHSIG_H
#define PARLEY_WHSIG_H
#include <stddef.h>
#include <time.h>

#define WHSIG_LEN 48 /* "v1," + 44 base64 characters + NUL */
#define STRIPE_TOLERANCE 300 /* seconds either way */
#define STRIPE_HEADER_MAX 4096

/*
 * Writes the Standard Webhooks signature of 'body' ('len' bytes) for
 * message 'id' at 'ts' into 'out'. Returns 0, or -1 for a secret that is
 * not "whsec_" + base64 of 24 to 64 bytes.
 */
int whsig_sign(const char *secret, const char *id, long long ts,
    const char *body, size_t len, char out[WHSIG_LEN]);

/*
 * Checks Stripe-Signature 'header' for 'body' ('len' bytes) against each
 * of the 'n' secrets (current, then previous; at most two), at time 'now'. Returns NULL
 * when a v1 signature matches and the timestamp is within
 * STRIPE_TOLERANCE; otherwise a stable reason: "malformed",
 * "no_signature", "stale", "mismatch".
 */
const char *stripe_verify(const char *header, const char *body, size_t len,
    const char *const *secrets, size_t n, time_t now);
#endif
