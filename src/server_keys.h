/*
 * server_keys.h: the process's secrets, read from files named by the
 * configuration at start and on reload: the access-token keys (the first
 * signs, all verify), the keyring and the audit key. Never logged, wiped
 * when replaced.
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
/* At most this many keys in jwt_key_file (a rotation needs two), each
 * of 32 to KEYS_JWT_BYTES bytes (one line of base64). */
#define KEYS_JWT_MAX 4
#define KEYS_JWT_BYTES 191
/* The signing key, jwt_key_file's first (borrowed), its length in 'len'. */
const unsigned char *keys_jwt(size_t *len);
/* Key 'i' of jwt_key_file (0 signs; all verify), or NULL past the last. */
const unsigned char *keys_jwt_at(int i, size_t *len);
/*
 * The key for names parleyd stores and finds again (rate-limit buckets, a
 * mail's Message-ID), derived from the audit key: it never changes, so a
 * rotation of jwt_key_file does not rename them.
 */
const unsigned char *keys_names(size_t *len);
/* keys_derived_mac() under the names key: for what every host must make
 * alike whatever key it signs with (a stored name: the accounts one
 * address tried; an OpenID or SAML flow's verifier, nonce, request id). */
void keys_name_mac(const char *purpose, const char *msg, char out[44]);
/* base64url(HMAC(HMAC(HMAC(signing key, "parley/ratelimit/v1"),
 * 'purpose'), 'msg')): a value only parleyd can make, for 'purpose' alone
 * (an unsubscribe token, a mailed link, a proof-of-work challenge), under
 * the signing key. */
void keys_derived_mac(const char *purpose, const char *msg, char out[44]);
/* 1 when 'mac' (43 characters) is keys_derived_mac(purpose, msg) under
 * any key of jwt_key_file (compared in constant time), else 0. */
int keys_derived_check(const char *purpose, const char *msg, const char *mac);
/* The audit chain key (borrowed). */
const unsigned char *keys_audit(size_t *len);
/* The keyring (borrowed). */
const struct keyring *keys_ring(void);

#endif
