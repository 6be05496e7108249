/*
 * pow.h: a proof-of-work challenge, parley's own captcha. A challenge is
 * signed by parleyd (HMAC-SHA256 under a key derived from the rate-limit
 * key) and says when it expires and how many leading zero bits the
 * SHA-256 of "challenge.nonce" must have; the browser finds such a nonce
 * (console/pow.js), and "challenge.nonce" is the captcha_token.
 * Nothing leaves the visitor's or owner's browser for a third party.
 * Each challenge is spent once (the caller records its id).
 */
#ifndef PARLEY_POW_H
#define PARLEY_POW_H

#include <stddef.h>

struct conf;

#define POW_PREFIX "pow1"
#define POW_CHALLENGE_MAX 160 /* bytes of a challenge */
#define POW_TOKEN_MAX (POW_CHALLENGE_MAX + 21)

/* Returns 1 if registration and password reset ask for one (pow_difficulty > 0). */
int pow_enabled(const struct conf *cfg);

/* Writes a new challenge into 'out'. Returns 0, or -1 on failure. */
int pow_challenge(const struct conf *cfg, char out[POW_CHALLENGE_MAX + 1]);

/*
 * Checks 'token' ("challenge.nonce"): parleyd's signature, not expired,
 * at the configured difficulty at least, and the hash's zero bits. On
 * success writes the challenge's id (hex SHA-256 of it) into 'id' for
 * the caller to spend, and returns 0; otherwise -1.
 */
int pow_verify(const struct conf *cfg, const char *token, char id[65]);
/* The same at time 'now' (Unix seconds), for the tests. */
int pow_verify_at(
    const struct conf *cfg, const char *token, long long now, char id[65]);

#endif
