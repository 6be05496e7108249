/*
 * test-pow.c: the proof-of-work captcha's challenges and their checks,
 * with the clock moved: good within its lifetime, refused after it, and
 * refused when unsolved, changed or at a lower difficulty than set.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "crypto.h"
#include "keys.h"
#include "pow.h"
#include "tap.h"

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

/* challenge.nonce with 'want' (1: solved, 0: not) into 'out'. */
static void
attempt(const char *c, int bits, int want, char *out, size_t len)
{
	unsigned char h[32];
	unsigned long n;

	for (n = 0;; n++) {
		snprintf(out, len, "%s.%lu", c, n);
		crypto_sha256(out, strlen(out), h);
		if ((zero_bits(h) >= bits) == want)
			return;
	}
}

int
main(void)
{
	struct conf cfg;
	char	    c[POW_CHALLENGE_MAX + 1], tok[POW_TOKEN_MAX + 1], id[65];
	char	    id2[65];
	long long   now = (long long)time(NULL);

	char err[256];

	if (test_keys_load(TEST_JWT_K0 "\n", err, sizeof(err)) == -1)
		return printf("Bail out! keys: %s\n", err), 1;
	memset(&cfg, 0, sizeof(cfg));
	cfg.pow_difficulty = 8;
	cfg.pow_ttl = 300;
	tap_ok(pow_enabled(&cfg), "pow_difficulty 8: enabled");
	tap_ok(pow_challenge(&cfg, c) == 0, "a challenge: %s", c);
	attempt(c, 8, 1, tok, sizeof(tok));
	tap_ok(pow_verify_at(&cfg, tok, now, id) == 0, "solved: accepted");
	tap_ok(strlen(id) == 64, "... with an id to spend");
	tap_ok(pow_verify_at(&cfg, tok, now + 299, id2) == 0 &&
		strcmp(id, id2) == 0,
	    "... the same id later within its lifetime");
	tap_ok(pow_verify_at(&cfg, tok, now + 302, id) == -1,
	    "after its lifetime: refused");
	tap_ok(pow_verify_at(&cfg, tok, now - 3600, id) == -1,
	    "from further ahead than pow_ttl: refused");
	cfg.pow_difficulty = 9;
	tap_ok(pow_verify_at(&cfg, tok, now, id) == -1,
	    "made at a lower difficulty than now set: refused");
	cfg.pow_difficulty = 8;
	attempt(c, 8, 0, tok, sizeof(tok));
	tap_ok(pow_verify_at(&cfg, tok, now, id) == -1, "unsolved: refused");
	c[strlen(c) - 1] = c[strlen(c) - 1] == 'A' ? 'B' : 'A';
	attempt(c, 8, 1, tok, sizeof(tok));
	tap_ok(pow_verify_at(&cfg, tok, now, id) == -1,
	    "another signature, solved: refused");
	tap_ok(pow_verify_at(&cfg, NULL, now, id) == -1, "none: refused");
	tap_ok(pow_verify_at(&cfg, "pow1.1.2.3.4.5", now, id) == -1,
	    "nonsense: refused");
	cfg.pow_difficulty = 0;
	tap_ok(!pow_enabled(&cfg), "pow_difficulty 0: off");
	return tap_done();
}
