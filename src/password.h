/*
 * password.h: bcrypt ($2b$ through libxcrypt) and the password policy.
 */
#ifndef PARLEY_PASSWORD_H
#define PARLEY_PASSWORD_H

#include <stddef.h>

#define PASSWORD_MIN_CHARS 12
#define PASSWORD_MAX_BYTES 72 /* bcrypt ignores the rest: refused, not cut */
#define PASSWORD_HASH_MAX 128
#define BCRYPT_MIN_COST 10

/* Hashes 'pw' with bcrypt at 'cost'. Returns 0 or -1. */
int password_hash(const char *pw, int cost, char out[PASSWORD_HASH_MAX]);
/*
 * Returns 1 if 'pw' matches 'hash' ($2a$, $2b$ or $2y$), else 0. Compares
 * in constant time.
 */
int password_verify(const char *pw, const char *hash);
/*
 * Spends the time of one verification at 'cost' against a dummy hash, so
 * an unknown account answers as slowly as a wrong password.
 */
void password_verify_dummy(const char *pw, int cost);

/*
 * Checks 'pw' against the policy: at least 12 characters, at most 72
 * bytes, and guessable no cheaper than 'min_bits' of zxcvbn entropy, with
 * 'email' and 'name' (either may be NULL) counted as known words.
 * Returns NULL if acceptable, else a stable reason code ("too_short",
 * "too_long", "too_common", "contains_personal_data").
 */
const char *password_policy(
    const char *pw, const char *email, const char *name, double min_bits);
/* One sentence a person can act on, for a reason code. */
const char *password_policy_text(const char *reason);

#endif
