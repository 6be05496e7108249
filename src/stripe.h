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

#endif
