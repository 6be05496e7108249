/*
 * whsig.c: Standard Webhooks signing and Stripe signature checks (see
 * whsig.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto.h"
#include "whsig.h"

/* HMAC-SHA256 of 'a' then 'b' then 'c' (lengths given) under 'key'. */
static int
mac3(const void *key, size_t keylen, const char *a, size_t al, const char *b,
    size_t bl, const char *c, size_t cl, unsigned char out[32])
{
	unsigned char *buf;
	unsigned int   n = 32;
	int	       ok;

	if ((buf = malloc(al + bl + cl + 1)) == NULL)
		return -1;
	memcpy(buf, a, al);
	memcpy(buf + al, b, bl);
	memcpy(buf + al + bl, c, cl);
	ok = HMAC(EVP_sha256(), key, (int)keylen, buf, al + bl + cl, out, &n) !=
		NULL &&
	    n == 32;
	free(buf);
	return ok ? 0 : -1;
}

int
whsig_sign(const char *secret, const char *id, long long ts, const char *body,
    size_t len, char out[WHSIG_LEN])
{
	unsigned char key[64], mac[32];
	char	      head[160];
	int	      klen, n;

	if (strncmp(secret, "whsec_", 6) != 0 ||
	    (klen = crypto_b64_decode(secret + 6, key, sizeof(key))) < 24)
		return -1;
	n = snprintf(head, sizeof(head), "%s.%lld.", id, ts);
	if (n < 0 || (size_t)n >= sizeof(head) ||
	    mac3(key, (size_t)klen, head, (size_t)n, body, len, "", 0, mac) ==
		-1) {
		crypto_wipe(key, sizeof(key));
		return -1;
	}
	crypto_wipe(key, sizeof(key));
	memcpy(out, "v1,", 3);
	EVP_EncodeBlock((unsigned char *)out + 3, mac, sizeof(mac));
	return 0;
}

const char *
stripe_verify(const char *header, const char *body, size_t len,
    const char *const *secrets, size_t n, time_t now)
{
	char	      t[24] = "", want[2][65], *copy, *item, *save = NULL;
	unsigned char mac[32];
	long long     ts;
	size_t	      i, sigs = 0;
	int	      match = 0;
	char	     *end;

	if (header == NULL || strlen(header) > STRIPE_HEADER_MAX)
		return "malformed";
	if ((copy = strdup(header)) == NULL)
		return "malformed";
	/* The timestamp first: it is part of what is signed. */
	for (item = strtok_r(copy, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save)) {
		while (*item == ' ')
			item++;
		if (strncmp(item, "t=", 2) == 0 && t[0] == '\0' &&
		    strlen(item + 2) < sizeof(t))
			snprintf(t, sizeof(t), "%s", item + 2);
	}
	free(copy);
	ts = strtoll(t, &end, 10);
	if (t[0] == '\0' || *end != '\0' || ts <= 0)
		return "malformed";
	if (ts < (long long)now - STRIPE_TOLERANCE ||
	    ts > (long long)now + STRIPE_TOLERANCE)
		return "stale";
	/* One MAC per secret, whatever the header holds. */
	if (n > 2)
		n = 2;
	for (i = 0; i < n; i++) {
		want[i][0] = '\0';
		if (secrets[i] == NULL || secrets[i][0] == '\0' ||
		    mac3(secrets[i], strlen(secrets[i]), t, strlen(t), ".", 1,
			body, len, mac) == -1)
			continue;
		crypto_hex(mac, sizeof(mac), want[i]);
	}
	if ((copy = strdup(header)) == NULL)
		return "malformed";
	save = NULL;
	for (item = strtok_r(copy, ",", &save); item != NULL && sigs < 16;
	     item = strtok_r(NULL, ",", &save)) {
		while (*item == ' ')
			item++;
		/* v1 only: v0 and any other scheme are ignored. */
		if (strncmp(item, "v1=", 3) != 0 || strlen(item + 3) != 64)
			continue;
		sigs++;
		/* Every candidate compared, in constant time. */
		for (i = 0; i < n; i++)
			if (want[i][0] != '\0')
				match |= crypto_equal(want[i], item + 3, 64);
	}
	free(copy);
	if (sigs == 0)
		return "no_signature";
	return match ? NULL : "mismatch";
}
