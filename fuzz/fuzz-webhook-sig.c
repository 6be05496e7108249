/*
 * fuzz-webhook-sig: the Stripe-Signature header (stripe_verify()) and
 * Standard Webhooks signing (whsig_sign()). A header made of the input is
 * refused with a stable reason unless it carries the right signature,
 * which the input cannot forge; a correct header always passes.
 */
#include "config.h"

#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fuzz.h"
#include "whsig.h"

static const char *const secrets[] = { "whsec_fuzz_current",
	"whsec_fuzz_previous" };

static int
known(const char *why)
{
	return why != NULL &&
	    (strcmp(why, "malformed") == 0 ||
		strcmp(why, "no_signature") == 0 || strcmp(why, "stale") == 0 ||
		strcmp(why, "mismatch") == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	     *in = fuzz_str(data, size), *nl, hdr[256], hex[65];
	const char   *body = "{}", *why;
	unsigned char mac[32];
	unsigned int  mlen = sizeof(mac);
	char	      signed_part[64], sig[WHSIG_LEN];
	time_t	      now = 1700000000;
	size_t	      i;

	if (in == NULL)
		return 0;
	/* "header\nbody": the header is fuzzed, and so is the body. */
	if ((nl = strchr(in, '\n')) != NULL) {
		*nl = '\0';
		body = nl + 1;
	}
	why = stripe_verify(in, body, strlen(body), secrets, 2, now);
	FUZZ_ASSERT(
	    known(why), "a fuzzed header was accepted, or an odd reason");
	/* The right signature for this body passes. */
	snprintf(signed_part, sizeof(signed_part), "%lld.", (long long)now);
	{
		const unsigned char *k = (const unsigned char *)secrets[0];
		char		    *msg;
		size_t		     ml = strlen(signed_part) + strlen(body);

		if ((msg = malloc(ml + 1)) != NULL) {
			snprintf(msg, ml + 1, "%s%s", signed_part, body);
			HMAC(EVP_sha256(), k, (int)strlen(secrets[0]),
			    (const unsigned char *)msg, ml, mac, &mlen);
			for (i = 0; i < 32; i++)
				snprintf(hex + 2 * i, 3, "%02x", mac[i]);
			snprintf(hdr, sizeof(hdr), "t=%lld,v1=%s",
			    (long long)now, hex);
			FUZZ_ASSERT(stripe_verify(hdr, body, strlen(body),
					secrets, 2, now) == NULL,
			    "a correct signature was refused");
			free(msg);
		}
	}
	FUZZ_ASSERT(
	    whsig_sign(in, "msg_1", now, body, strlen(body), sig) != 0 ||
		strncmp(sig, "v1,", 3) == 0,
	    "a Standard Webhooks signature without v1,");
	free(in);
	return 0;
}
