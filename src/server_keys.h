/*
 * server_keys.h: the process's secrets, read from files named by the
 * configuration at start and on reload: the access-token signing key and
 * the keyring. Never logged, wiped when replaced.
 */
#ifndef PARLEY_SERVER_KEYS_H
#define PARLEY_SERVER_KEYS_H

#include <stddef.h>

#include "crypto.h"

struct conf;

/* Loads both files. Returns 0, or -1 with a reason in 'err'. */
int keys_load(const struct conf *cfg, char *err, size_t errlen);
/*
 * Reads a key file: base64 of at least 32 bytes, into 'out' ('outlen'
 * bytes) and its length into '*len'. 'what' names it in 'err'. 0 or -1.
 */
int keys_read_file(const char *what, const char *path, unsigned char *out,
    size_t outlen, size_t *len, char *err, size_t errlen);
/* The signing key (borrowed) and its length in 'len'. */
const unsigned char *keys_jwt(size_t *len);
/* The key for rate-limit bucket names, derived from the signing key. */
const unsigned char *keys_ratelimit(size_t *len);
/* base64url(HMAC(HMAC(rate-limit key, 'purpose'), 'msg')): a value only
 * parleyd can make, for 'purpose' alone (an OpenID flow's verifier and
 * nonce, an unsubscribe token). */
void keys_derived_mac(const char *purpose, const char *msg, char out[44]);
/* The audit chain key (borrowed). */
const unsigned char *keys_audit(size_t *len);
/* The keyring (borrowed). */
const struct keyring *keys_ring(void);

#endif
