/*
 * crypto.c: thin, checked wrappers over OpenSSL.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "crypto.h"

int
crypto_random(void *buf, size_t n)
{
	return RAND_bytes(buf, (int)n) == 1 ? 0 : -1;
}

void
crypto_sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned int n = 32;

	EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

int
crypto_token(char out[CRYPTO_TOKEN_LEN + 1], unsigned char hash[32])
{
	unsigned char raw[CRYPTO_TOKEN_BYTES];

	if (crypto_random(raw, sizeof(raw)) == -1)
		return -1;
	crypto_b64url_encode(raw, sizeof(raw), out, CRYPTO_TOKEN_LEN + 1);
	crypto_wipe(raw, sizeof(raw));
	crypto_sha256(out, CRYPTO_TOKEN_LEN, hash);
	return 0;
}

int
crypto_uuid(char out[37])
{
	unsigned char b[16];

	if (crypto_random(b, sizeof(b)) == -1)
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
	    b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

int
crypto_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void
crypto_wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
crypto_b64url_encode(
    const unsigned char *in, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0;

	if (outlen < (len * 4 + 2) / 3 + 1)
		return -1;
	for (i = 0; i + 2 < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 |
		    in[i + 2];

		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
		out[o++] = b64url[v & 63];
	}
	if (len - i == 1) {
		unsigned v = (unsigned)in[i] << 16;

		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
	} else if (len - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;

		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
	}
	out[o] = '\0';
	return (int)o;
}

static int
b64url_val(char c)
{
	const char *p;

	if (c == '\0' || (p = strchr(b64url, c)) == NULL)
		return -1;
	return (int)(p - b64url);
}

int
crypto_b64url_decode(
    const char *in, size_t len, unsigned char *out, size_t outlen)
{
	size_t	 i, o = 0;
	unsigned acc = 0;
	int	 bits = 0, v;

	if (len % 4 == 1)
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = b64url_val(in[i])) < 0)
			return -1;
		acc = (acc << 6 | (unsigned)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == outlen)
				return -1;
			out[o++] = (unsigned char)(acc >> bits & 0xff);
		}
	}
	/* Leftover bits must be zero (canonical encoding). */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (int)o;
}

int
crypto_b64_decode(const char *in, unsigned char *out, size_t outlen)
{
	char   buf[256];
	size_t len = strlen(in), i, j = 0;

	while (len > 0 &&
	    (isspace((unsigned char)in[len - 1]) || in[len - 1] == '='))
		len--;
	if (len >= sizeof(buf))
		return -1;
	for (i = 0; i < len; i++) {
		char c = in[i];

		if (c == '+')
			c = '-';
		else if (c == '/')
			c = '_';
		buf[j++] = c;
	}
	i = (size_t)crypto_b64url_decode(buf, j, out, outlen);
	crypto_wipe(buf, sizeof(buf));
	return (int)i;
}

void
crypto_hex(const unsigned char *in, size_t len, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t		  i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * len] = '\0';
}

int
keyring_load(struct keyring *kr, const char *path, char *err, size_t errlen)
{
	FILE *f;
	char  line[512], iobuf[1024]; /* stdio's copy of the keys, wiped */
	int   lineno = 0, rc = -1;

	memset(kr, 0, sizeof(*kr));
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	(void)setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
	while (fgets(line, sizeof(line), f) != NULL) {
		char *id = line, *key;
		int   n;

		lineno++;
		while (isspace((unsigned char)*id))
			id++;
		if (*id == '#' || *id == '\0')
			continue;
		key = id + strcspn(id, " \t");
		if (*key == '\0') {
			snprintf(err, errlen, "%s:%d: expected KID BASE64KEY",
			    path, lineno);
			goto out;
		}
		*key++ = '\0';
		while (isspace((unsigned char)*key))
			key++;
		if (strlen(id) > 16 || kr->n == KEYRING_MAX ||
		    strspn(id,
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW"
			"XYZ0123456789_-") != strlen(id)) {
			snprintf(err, errlen,
			    "%s:%d: key ids are 1-16 letters, digits, _ or -; "
			    "at most %d keys",
			    path, lineno, KEYRING_MAX);
			goto out;
		}
		n = crypto_b64_decode(key, kr->key[kr->n], CRYPTO_KEY_BYTES);
		if (n != CRYPTO_KEY_BYTES) {
			snprintf(err, errlen,
			    "%s:%d: key must be 32 bytes in "
			    "base64 (openssl rand -base64 32)",
			    path, lineno);
			goto out;
		}
		snprintf(kr->id[kr->n], sizeof(kr->id[0]), "%s", id);
		kr->n++;
	}
	if (kr->n == 0) {
		snprintf(err, errlen, "%s: no keys", path);
		goto out;
	}
	rc = 0;
out:
	crypto_wipe(line, sizeof(line));
	fclose(f);
	crypto_wipe(iobuf, sizeof(iobuf));
	if (rc == -1)
		crypto_wipe(kr, sizeof(*kr));
	return rc;
}

/* AES-256-GCM in one direction; returns 0 or -1. */
static int
gcm(int enc, const unsigned char *key, const unsigned char *nonce,
    const char *aad, const unsigned char *in, size_t len, unsigned char *out,
    unsigned char *tag)
{
	EVP_CIPHER_CTX *c;
	int		n, ok = 0;

	if ((c = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) !=
		1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
	    EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) != 1 ||
	    EVP_CipherUpdate(c, NULL, &n, (const unsigned char *)aad,
		(int)strlen(aad)) != 1 ||
	    EVP_CipherUpdate(c, out, &n, in, (int)len) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(c, out + n, &n) != 1)
		goto out;
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
		goto out;
	ok = 1;
out:
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

#define SEAL_MAX 4096

char *
keyring_encrypt(
    const struct keyring *kr, const char *aad, const void *plain, size_t len)
{
	unsigned char buf[12 + SEAL_MAX + 16];
	char	     *out = NULL;
	size_t	      olen;

	if (kr->n == 0 || len > SEAL_MAX)
		return NULL;
	if (crypto_random(buf, 12) == -1 ||
	    gcm(1, kr->key[0], buf, aad, plain, len, buf + 12,
		buf + 12 + len) == -1)
		goto out;
	olen = 4 + strlen(kr->id[0]) + ((12 + len + 16) * 4 + 2) / 3 + 1;
	if ((out = malloc(olen)) == NULL)
		goto out;
	snprintf(out, olen, "v1.%s.", kr->id[0]);
	crypto_b64url_encode(
	    buf, 12 + len + 16, out + strlen(out), olen - strlen(out));
out:
	crypto_wipe(buf, sizeof(buf));
	return out;
}

int
keyring_decrypt(const struct keyring *kr, const char *aad, const char *sealed,
    unsigned char *out, size_t outlen)
{
	unsigned char buf[12 + SEAL_MAX + 16];
	const char   *kid, *dot;
	size_t	      i, kidlen;
	int	      n, plen;

	if (sealed == NULL || strncmp(sealed, "v1.", 3) != 0)
		return -1;
	kid = sealed + 3;
	if ((dot = strchr(kid, '.')) == NULL)
		return -1;
	kidlen = (size_t)(dot - kid);
	for (i = 0; i < kr->n; i++)
		if (strlen(kr->id[i]) == kidlen &&
		    strncmp(kr->id[i], kid, kidlen) == 0)
			break;
	if (i == kr->n)
		return -1;
	n = crypto_b64url_decode(dot + 1, strlen(dot + 1), buf, sizeof(buf));
	if (n < 12 + 16)
		return -1;
	plen = n - 12 - 16;
	if ((size_t)plen > outlen ||
	    gcm(0, kr->key[i], buf, aad, buf + 12, (size_t)plen, out,
		buf + 12 + plen) == -1) {
		crypto_wipe(out, outlen);
		plen = -1;
	}
	crypto_wipe(buf, sizeof(buf));
	return plen;
}
