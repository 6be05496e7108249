/*
 * fuzz-idtoken: OpenID Connect ID tokens (jose_id_token_verify()). No
 * input verifies under a key set it does not know; every refusal is one
 * of the stable reasons; a token signed with the key set's key passes,
 * and any one-byte change to it does not.
 */
#include "config.h"

#include <string.h>

#include <cjose/cjose.h>

#include "fuzz.h"
#include "jose.h"

#define NOW 1800000000LL

static int
known(const char *why)
{
	static const char *const r[] = { "malformed", "bad_algorithm",
		"unknown_kid", "bad_key", "bad_signature", "wrong_issuer",
		"wrong_audience", "wrong_azp", "expired", "issued_in_future",
		"too_old", "bad_nonce", "no_subject" };
	size_t			 i;

	for (i = 0; why != NULL && i < sizeof(r) / sizeof(r[0]); i++)
		if (strcmp(why, r[i]) == 0)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static json_t	 *jwks;
	static char	 *ours;
	struct idt_expect x = { "https://idp.example", "client-1", "n-1", NULL,
		NOW, 60, 600 };
	const char	 *why;
	json_t		 *c;
	char		 *in;

	if (jwks == NULL) {
		cjose_err    err;
		cjose_jwk_t *k =
		    cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
		cjose_header_t *h = cjose_header_new(&err);
		char	       *pub = cjose_jwk_to_json(k, false, &err);
		const char *body = "{\"iss\":\"https://idp.example\",\"sub\":"
				   "\"1\",\"aud\":\"client-1\",\"exp\":"
				   "1800000300,\"iat\":1799999990,"
				   "\"nonce\":\"n-1\"}",
			   *ser;
		cjose_jws_t *jws;
		json_t	    *j = json_loads(pub, 0, NULL);

		json_object_set_new(j, "kid", json_string("k1"));
		jwks = json_pack("{s:[o]}", "keys", j);
		cjose_header_set(h, CJOSE_HDR_ALG, "ES256", &err);
		cjose_header_set(h, CJOSE_HDR_KID, "k1", &err);
		jws = cjose_jws_sign(
		    k, h, (const uint8_t *)body, strlen(body), &err);
		cjose_jws_export(jws, &ser, &err);
		ours = strdup(ser);
		cjose_jws_release(jws);
		cjose_header_release(h);
		cjose_jwk_release(k);
		free(pub);
	}
	if ((in = fuzz_str(data, size)) == NULL)
		return 0;
	c = jose_id_token_verify(in, jwks, &x, &why);
	FUZZ_ASSERT(c == NULL || strcmp(in, ours) == 0,
	    "a token the key set did not sign passed");
	FUZZ_ASSERT(c != NULL || known(why), "an odd reason");
	json_decref(c);
	c = jose_id_token_verify(ours, jwks, &x, &why);
	FUZZ_ASSERT(c != NULL, "our own token was refused");
	json_decref(c);
	if (size > 1 && data[1] != 0) {
		char  *t = strdup(ours);
		size_t at = data[0] % (strlen(t) - 1);

		if (t[at] != (char)data[1]) {
			t[at] = (char)data[1];
			c = jose_id_token_verify(t, jwks, &x, &why);
			FUZZ_ASSERT(c == NULL, "a changed token passed");
			json_decref(c);
		}
		free(t);
	}
	free(in);
	return 0;
}
