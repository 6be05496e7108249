/*
 * fuzz-pow: proof-of-work captcha tokens (pow_verify_at()). No input is
 * accepted unless it is a challenge parleyd signed, solved; a challenge
 * we made, solved, passes at its time, and any one-byte change to it
 * does not (but in the nonce, where another solution may pass).
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "conf.h"
#include "crypto.h"
#include "fuzz.h"
#include "../t/unit/keys.h"
#include "pow.h"

static int
solved(const char *tok, int bits)
{
	unsigned char h[32];
	int	      i, b = 0;

	crypto_sha256(tok, strlen(tok), h);
	for (i = 0; i < 32 && h[i] == 0; i++)
		b += 8;
	if (i < 32)
		for (unsigned char c = h[i]; (c & 0x80) == 0; c <<= 1)
			b++;
	return b >= bits;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf cfg;
	static char	   c[POW_CHALLENGE_MAX + 1], tok[POW_TOKEN_MAX + 1];
	static long long   now;
	char		  *in, id[65];
	unsigned long	   n;
	size_t		   at, dot;

	if (c[0] == '\0') {
		char err[256];

		FUZZ_ASSERT(
		    test_keys_load(TEST_JWT_K0 "\n", err, sizeof(err)) == 0,
		    "the keys could not be loaded");
		cfg.pow_difficulty = 4;
		cfg.pow_ttl = 300;
		now = (long long)time(NULL);
		if (pow_challenge(&cfg, c) == -1)
			return 0;
		for (n = 0;; n++) {
			snprintf(tok, sizeof(tok), "%s.%lu", c, n);
			if (solved(tok, 4))
				break;
		}
	}
	if ((in = fuzz_str(data, size)) == NULL)
		return 0;
	/* Anything: only a solved challenge of ours passes. */
	if (pow_verify_at(&cfg, in, now, id) == 0)
		FUZZ_ASSERT(strncmp(in, c, strlen(c)) == 0 && solved(in, 4),
		    "a token parleyd did not make, or unsolved, passed");
	FUZZ_ASSERT(pow_verify_at(&cfg, tok, now, id) == 0,
	    "our own solved challenge was refused");
	/* Ours, changed at a byte the input picks, in the challenge part. */
	dot = strlen(c);
	if (size > 1 && data[1] != 0) {
		char changed[POW_TOKEN_MAX + 1];

		at = data[0] % dot;
		memcpy(changed, tok, sizeof(changed));
		if (changed[at] != (char)data[1]) {
			changed[at] = (char)data[1];
			FUZZ_ASSERT(pow_verify_at(&cfg, changed, now, id) == -1,
			    "a changed challenge passed");
		}
	}
	free(in);
	return 0;
}
