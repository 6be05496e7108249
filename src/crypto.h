/*
 * crypto.h: random tokens, hashing, encodings, constant-time comparison,
 * and the AES-256-GCM keyring for secrets that must be recovered.
 */
#ifndef PARLEY_CRYPTO_H
#define PARLEY_CRYPTO_H

#include <stddef.h>

#define CRYPTO_TOKEN_BYTES 32 /* 256-bit tokens */
#define CRYPTO_TOKEN_LEN 43 /* their base64url form, unpadded */
#define CRYPTO_KEY_BYTES 32 /* AES-256 and HMAC keys */
#define KEYRING_MAX 16

/* Fills 'buf' with 'n' bytes from OpenSSL's CSPRNG. Returns 0 or -1. */
int crypto_random(void *buf, size_t n);
/*
 * Writes a new random token (CRYPTO_TOKEN_LEN base64url characters and a
 * NUL) into 'out' and its SHA-256 into 'hash'. Returns 0 or -1.
 */
int  crypto_token(char out[CRYPTO_TOKEN_LEN + 1], unsigned char hash[32]);
void crypto_sha256(const void *data, size_t len, unsigned char out[32]);
/* Writes a random version-4 UUID in canonical form. Returns 0 or -1. */
int crypto_uuid(char out[37]);
/* Returns 1 if the 'n' bytes at 'a' and 'b' are equal, in constant time. */
int crypto_equal(const void *a, const void *b, size_t n);

/* base64url without padding; returns output length or -1 if 'outlen' is short. */
int crypto_b64url_encode(
    const unsigned char *in, size_t len, char *out, size_t outlen);
/* Decodes base64url (no padding); returns length or -1. */
int crypto_b64url_decode(
    const char *in, size_t len, unsigned char *out, size_t outlen);
/* Decodes standard base64 (padding allowed, whitespace trimmed); length or -1. */
int crypto_b64_decode(const char *in, unsigned char *out, size_t outlen);
/* Writes 2*len hex characters and a NUL. */
void crypto_hex(const unsigned char *in, size_t len, char *out);

/* Erases 'n' bytes at 'p' in a way the compiler keeps. */
void crypto_wipe(void *p, size_t n);

/*
 * The keyring: AES-256 keys with ids, read from a file of lines
 * "KID BASE64KEY" ('#' comments). The first key encrypts; every key
 * decrypts, so rotation is: add a new first line, re-encrypt, drop the old.
 */
struct keyring {
	size_t	      n;
	char	      id[KEYRING_MAX][17];
	unsigned char key[KEYRING_MAX][CRYPTO_KEY_BYTES];
};

/* Loads 'path'. Returns 0, or -1 with a reason in 'err'. */
int keyring_load(
    struct keyring *kr, const char *path, char *err, size_t errlen);
/*
 * Encrypts 'len' bytes of 'plain' with the first key, a random 96-bit
 * nonce and 'aad' (the company id, or "") as associated data. Returns a new
 * string "v1.KID.BASE64URL(nonce|ciphertext|tag)"; caller frees with
 * free(). NULL on failure.
 */
char *keyring_encrypt(
    const struct keyring *kr, const char *aad, const void *plain, size_t len);
/*
 * Decrypts 'sealed' into 'out' (at most 'outlen' bytes), checking the tag
 * and 'aad'. Returns the plaintext length or -1 (unknown key id, tampered
 * data, wrong aad).
 */
int keyring_decrypt(const struct keyring *kr, const char *aad,
    const char *sealed, unsigned char *out, size_t outlen);

#endif
