/*
 * fuzz-token: access tokens (ptok_verify()). Under a key the input does
 * not know, no input is a valid token; every refusal is a stable reason;
 * a token we issued verifies, and any one-byte change to it does not.
 */
#include "config.h"

#include <time.h>

#include "fuzz.h"
#include "token.h"

static const unsigned char key[32] = "fuzz-key-0123456789abcdefghijkl";

static int
known(const char *why)
{
	static const char *const r[] = { "malformed", "bad_algorithm",
		"bad_signature", "bad_claims", "wrong_audience", "wrong_issuer",
		"wrong_type", "expired", "not_yet_valid" };
	size_t			 i;

	for (i = 0; why != NULL && i < sizeof(r) / sizeof(r[0]); i++)
		if (strcmp(why, r[i]) == 0)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jwt_claims c;
	char		 *in = fuzz_str(data, size), *tok;
	const char	 *why;
	time_t		  now = 1700000000;

	if (in == NULL)
		return 0;
	memset(&c, 0, sizeof(c));
	why = ptok_verify(
	    key, sizeof(key), in, "parley", "parley-api", "access", now, &c);
	FUZZ_ASSERT(
	    known(why), "a forged token was accepted, or an odd reason");
	/* One of ours, changed at a byte the input picks. */
	memset(&c, 0, sizeof(c));
	snprintf(c.sub, sizeof(c.sub), "00000000-0000-4000-8000-000000000001");
	snprintf(c.cid, sizeof(c.cid), "00000000-0000-4000-8000-000000000002");
	snprintf(c.sid, sizeof(c.sid), "00000000-0000-4000-8000-000000000003");
	snprintf(c.role, sizeof(c.role), "owner");
	if ((tok = ptok_issue(key, sizeof(key), "parley", "parley-api",
		 "access", now, 900, &c)) != NULL) {
		/* Not the last character: its low bits encode nothing. */
		size_t at = size > 0 ? data[0] % (strlen(tok) - 1) : 0;

		FUZZ_ASSERT(ptok_verify(key, sizeof(key), tok, "parley",
				"parley-api", "access", now, &c) == NULL,
		    "our own token was refused");
		if (size > 1 && tok[at] != (char)data[1] && data[1] != 0) {
			tok[at] = (char)data[1];
			FUZZ_ASSERT(
			    ptok_verify(key, sizeof(key), tok, "parley",
				"parley-api", "access", now, &c) != NULL,
			    "a changed token was accepted");
		}
		free(tok);
	}
	free(in);
	return 0;
}
