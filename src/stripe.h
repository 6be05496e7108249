/*
 * stripe.h: calls to Stripe's API (src/stripe.c) with the operator's
 * secret key, which is kept as keyring ciphertext in operator_secrets and
 * decrypted for each call only.
 */
#ifndef PARLEY_STRIPE_H
#define PARLEY_STRIPE_H

#include <jansson.h>

struct conf;
struct db;

/*
 * Reads the sealed secret key with 'db' (any transaction state; a global
 * table) into 'sealed' (at most 'len' bytes). Returns 1 if set, 0 if not,
 * -1 on a database error.
 */
int stripe_key_sealed(struct db *db, char *sealed, size_t len);

/*
 * One request to cfg->stripe_api_url + 'path' ("/v1/…") with method
 * "GET", "POST" or "DELETE" and 'form' (application/x-www-form-urlencoded,
 * may be NULL), authenticated with the key sealed in 'sealed'. Never
 * retried; 10 s timeout. Returns Stripe's JSON object on 2xx (caller
 * json_decref()s), or NULL with '*err': "not_configured", "unavailable"
 * (network, 429, 5xx), "not_found" (404), "refused" (another 4xx: a
 * bad request, or a key that is revoked or lacks the permission) or
 * "bad_answer".
 */
json_t *stripe_call(const struct conf *cfg, const char *sealed,
    const char *method, const char *path, const char *form, const char **err);

/*
 * Appends "&key=value" (or "key=value" when 'form' is empty) with both
 * percent-encoded to the form in 'form' (size 'len'). Returns 0, or -1
 * when it does not fit.
 */
int stripe_form_add(char *form, size_t len, const char *key, const char *value);

/* What to do with a billing event, by its place in time (stripe_order()). */
enum stripe_order {
	STRIPE_APPLY, /* newer than what was applied: apply it */
	STRIPE_RECORD, /* older (or stale): record it, change nothing */
	STRIPE_ASK /* a tie with the last applied: ask Stripe which is now */
};

/*
 * The ordering rules for a Stripe event created at 'ts' (seconds): a
 * subscription event ('subscription') against the subscription's clock
 * 'last' (the creation time of the last subscription event applied;
 * 'canceled' once it is canceled), any other event against 'state_at'
 * (the last billing state change applied). An event of another
 * subscription than the company's ('other_sub') starts its own clock. An
 * older event is recorded, not applied; as old as the last one, a
 * subscription event is asked about (Stripe does not promise the order of
 * two events of one second), or recorded once the subscription is
 * canceled. Pure.
 */
enum stripe_order stripe_order(int subscription, int other_sub, long long ts,
    long long state_at, long long last, int canceled);

#endif
