/*
 * pow.c: parley's proof-of-work captcha (see pow.h). A challenge is
 * "pow1.EXPIRES.BITS.RANDOM.SIG": EXPIRES in Unix seconds, BITS the
 * difficulty, RANDOM 16 bytes in hex, SIG the base64url HMAC-SHA256 of
 * everything before it. The token is the challenge, ".", and a decimal
 * nonce of at most 20 digits.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "crypto.h"
#include "pow.h"
#include "server_keys.h"

#define POW_LABEL "parley proof-of-work v1"

/*
 * The signature is parleyd's derived MAC for POW_LABEL (server_keys.c):
 * one secret fewer to keep, and any key of a rotation verifies it.
 */

int
pow_enabled(const struct conf *cfg)
{
	return cfg->pow_difficulty > 0;
}

int
pow_challenge(const struct conf *cfg, char out[POW_CHALLENGE_MAX + 1])
{
	unsigned char rnd[16];
	char	      hex[33], sig[44];
	int	      n;

	if (crypto_random(rnd, sizeof(rnd)) == -1)
		return -1;
	crypto_hex(rnd, sizeof(rnd), hex);
	n = snprintf(out, POW_CHALLENGE_MAX + 1, "%s.%lld.%d.%s", POW_PREFIX,
	    (long long)time(NULL) + cfg->pow_ttl, cfg->pow_difficulty, hex);
	if (n < 0 || n > POW_CHALLENGE_MAX - 45)
		return -1;
	keys_derived_mac(POW_LABEL, out, sig);
	snprintf(out + n, (size_t)(POW_CHALLENGE_MAX + 1 - n), ".%s", sig);
	return 0;
}

/* The leading zero bits of 'h'. */
static int
zero_bits(const unsigned char h[32])
{
	int i, b = 0;

	for (i = 0; i < 32 && h[i] == 0; i++)
		b += 8;
	if (i < 32)
		for (unsigned char c = h[i]; (c & 0x80) == 0; c <<= 1)
			b++;
	return b;
}

int
pow_verify(const struct conf *cfg, const char *token, char id[65])
{
	return pow_verify_at(cfg, token, (long long)time(NULL), id);
}

int
pow_verify_at(
    const struct conf *cfg, const char *token, long long now, char id[65])
{
	const char   *dot[5], *p, *nonce;
	char	      sig[44], signed_[POW_TOKEN_MAX + 1], *end;
	unsigned char h[32];
	long long     expires, bits;
	size_t	      clen, i, k = 0;

	if (token == NULL || strlen(token) > POW_TOKEN_MAX ||
	    strncmp(token, POW_PREFIX ".", sizeof(POW_PREFIX)) != 0)
		return -1;
	for (p = token; *p != '\0' && k < 5; p++)
		if (*p == '.')
			dot[k++] = p;
	if (k != 5 || strchr(dot[4] + 1, '.') != NULL)
		return -1;
	/* The nonce: 1 to 20 digits. */
	nonce = dot[4] + 1;
	for (i = 0; nonce[i] != '\0'; i++)
		if (nonce[i] < '0' || nonce[i] > '9')
			return -1;
	if (i == 0 || i > 20)
		return -1;
	clen = (size_t)(dot[4] - token);
	/* The signed part, and its signature: 43 characters. */
	if ((size_t)(dot[3] - token) >= sizeof(signed_) ||
	    dot[4] - dot[3] - 1 != 43)
		return -1;
	memcpy(signed_, token, (size_t)(dot[3] - token));
	signed_[dot[3] - token] = '\0';
	memcpy(sig, dot[3] + 1, 43);
	sig[43] = '\0';
	if (!keys_derived_check(POW_LABEL, signed_, sig))
		return -1;
	expires = strtoll(dot[0] + 1, &end, 10);
	if (end != dot[1] || expires < now || expires > now + cfg->pow_ttl)
		return -1;
	bits = strtoll(dot[1] + 1, &end, 10);
	if (end != dot[2] || bits < cfg->pow_difficulty || bits > 64)
		return -1;
	crypto_sha256(token, strlen(token), h);
	if (zero_bits(h) < bits)
		return -1;
	crypto_sha256(token, clen, h);
	crypto_hex(h, sizeof(h), id);
	return 0;
}
