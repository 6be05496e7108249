/*
 * test-jose.c: ID tokens as an attacker would send them. Keys made here
 * (RSA 2048, EC P-256) sign tokens with libcjose; each attack of the
 * issue is one case: alg none, HS256 keyed with the public key, an
 * algorithm the provider does not use, a key of the wrong type, an
 * unknown kid, another key under a known kid, a changed payload, and
 * every claim wrong in turn.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <cjose/cjose.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "crypto.h"
#include "jose.h"
#include "tap.h"

#define NOW 1800000000LL

static cjose_jwk_t *rsa, *ec, *other;
static json_t	   *jwks;

/* The public JSON of 'k' with kid 'kid', added to the key set. */
static void
publish(cjose_jwk_t *k, const char *kid)
{
	cjose_err err;
	char	 *pub = cjose_jwk_to_json(k, false, &err);
	json_t	 *j = json_loads(pub, 0, NULL);

	json_object_set_new(j, "kid", json_string(kid));
	json_object_set_new(j, "use", json_string("sig"));
	json_array_append_new(json_object_get(jwks, "keys"), j);
	free(pub);
}

/* The standard claims, as a provider sends them. */
static json_t *
claims(void)
{
	return json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:s}", "iss",
	    "https://idp.example", "sub", "248289761001", "aud", "client-1",
	    "exp", (json_int_t)(NOW + 300), "iat", (json_int_t)(NOW - 10),
	    "nonce", "n-0S6_WzA2Mj", "email", "jane@example.com");
}

/* 'c' (stolen) signed with 'k' as 'alg' under 'kid' (NULL: none). */
static char *
sign(cjose_jwk_t *k, const char *alg, const char *kid, json_t *c)
{
	cjose_err	err;
	cjose_header_t *h = cjose_header_new(&err);
	char	       *body = json_dumps(c, JSON_COMPACT), *out = NULL;
	cjose_jws_t    *jws;
	const char     *ser;

	cjose_header_set(h, CJOSE_HDR_ALG, alg, &err);
	if (kid != NULL)
		cjose_header_set(h, CJOSE_HDR_KID, kid, &err);
	jws = cjose_jws_sign(k, h, (const uint8_t *)body, strlen(body), &err);
	if (jws != NULL && cjose_jws_export(jws, &ser, &err))
		out = strdup(ser);
	cjose_jws_release(jws);
	cjose_header_release(h);
	free(body);
	json_decref(c);
	return out;
}

/* base64url(header).base64url(claims). with no signature. */
static char *
unsigned_token(const char *header, json_t *c)
{
	char *body = json_dumps(c, JSON_COMPACT), h64[256], b64[2048];
	char *out = malloc(2400);

	crypto_b64url_encode(
	    (const unsigned char *)header, strlen(header), h64, sizeof(h64));
	crypto_b64url_encode(
	    (const unsigned char *)body, strlen(body), b64, sizeof(b64));
	snprintf(out, 2400, "%s.%s.", h64, b64);
	free(body);
	json_decref(c);
	return out;
}

static const char *
verify(char *tok, const char *const *algs)
{
	struct idt_expect x = { "https://idp.example", "client-1",
		"n-0S6_WzA2Mj", algs, NOW, 60, 600, 0 };
	const char	 *why = "none";
	json_t		 *c = jose_id_token_verify(tok, jwks, &x, &why);

	if (c != NULL) {
		json_decref(c);
		why = "ok";
	}
	free(tok);
	return why;
}

static void
expect(const char *got, const char *want, const char *what)
{
	tap_ok(got != NULL && strcmp(got, want) == 0, "%s: %s (got %s)", what,
	    want, got ? got : "(null)");
}

/* As verify(), against Microsoft's multi-tenant issuer template. */
static const char *
verify_tenant(char *tok)
{
	struct idt_expect x = { "https://login.example/{tenantid}/v2.0",
		"client-1", "n-0S6_WzA2Mj", NULL, NOW, 60, 600, 1 };
	const char	 *why = "none";
	json_t		 *c = jose_id_token_verify(tok, jwks, &x, &why);

	if (c != NULL) {
		json_decref(c);
		why = "ok";
	}
	free(tok);
	return why;
}

/* The claims of a token of tenant 'tid' whose iss says 'iss_tid'. */
static json_t *
tenant_claims(const char *iss_tid, const char *tid)
{
	json_t *c = claims();
	char	iss[128];

	snprintf(iss, sizeof(iss), "https://login.example/%s/v2.0", iss_tid);
	json_object_set_new(c, "iss", json_string(iss));
	if (tid != NULL)
		json_object_set_new(c, "tid", json_string(tid));
	return c;
}

/*
 * Apple's client secret: jose_es256_sign() with a P-256 key in PEM, as
 * Apple's .p8 file holds it, verified with that key's public half.
 */
static void
es256_sign_cases(void)
{
	EVP_PKEY	    *k = EVP_EC_gen("P-256");
	BIO		    *b = BIO_new(BIO_s_mem());
	unsigned char	     pub[65];
	size_t		     n = 0;
	cjose_jwk_ec_keyspec spec;
	cjose_jwk_t	    *jwk;
	cjose_err	     err;
	char		    *pem, *tok;
	long		     len;
	json_t		    *empty = json_object();

	PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
	len = BIO_get_mem_data(b, &pem);
	pem = strndup(pem, (size_t)len);
	EVP_PKEY_get_octet_string_param(
	    k, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &n);
	memset(&spec, 0, sizeof(spec));
	spec.crv = CJOSE_JWK_EC_P_256;
	spec.x = pub + 1;
	spec.xlen = 32;
	spec.y = pub + 33;
	spec.ylen = 32;
	jwk = cjose_jwk_create_EC_spec(&spec, &err);
	publish(jwk, "apple-key");
	{
		json_t *c = claims();

		tok = jose_es256_sign(pem, "apple-key", c);
		json_decref(c);
		tap_ok(tok != NULL && strncmp(tok, "ey", 2) == 0,
		    "an ES256 JWS is signed with a PEM P-256 key");
		expect(tok != NULL ? verify(tok, NULL) : "none", "ok",
		    "... and verifies with its public key, under its kid");
	}
	tap_ok(jose_es256_sign("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END "
			       "PRIVATE KEY-----\n",
		   "k", empty) == NULL,
	    "a PEM that is no key signs nothing");
	json_decref(empty);
	cjose_jwk_release(jwk);
	EVP_PKEY_free(k);
	BIO_free(b);
	free(pem);
}

int
main(void)
{
	static const char *const es_only[] = { "ES256", NULL };
	static const uint8_t	 e[] = { 1, 0, 1 };
	cjose_err		 err;
	cjose_jwk_t		*hs;
	char			*pub;
	json_t			*c;

	rsa = cjose_jwk_create_RSA_random(2048, e, sizeof(e), &err);
	other = cjose_jwk_create_RSA_random(2048, e, sizeof(e), &err);
	ec = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
	jwks = json_pack("{s:[]}", "keys");
	publish(rsa, "rsa-1");
	publish(ec, "ec-1");

	expect(verify(sign(rsa, "RS256", "rsa-1", claims()), NULL), "ok",
	    "an RS256 token of the provider's key");
	expect(verify(sign(ec, "ES256", "ec-1", claims()), NULL), "ok",
	    "an ES256 token");
	expect(verify(unsigned_token(
			  "{\"alg\":\"none\",\"kid\":\"rsa-1\"}", claims()),
		   NULL),
	    "bad_algorithm",
	    "alg none, unsigned (cjose parses it; the pin refuses it)");
	expect(verify(unsigned_token("{\"alg\":\"none\"}", claims()), NULL),
	    "bad_algorithm", "alg none without a kid");
	/* HS256 keyed with the public key's JSON, which anyone has. */
	pub = cjose_jwk_to_json(rsa, false, &err);
	hs = cjose_jwk_create_oct_spec((const uint8_t *)pub, strlen(pub), &err);
	expect(verify(sign(hs, "HS256", "rsa-1", claims()), NULL),
	    "bad_algorithm", "HS256 with the public key as its secret");
	cjose_jwk_release(hs);
	free(pub);
	expect(verify(sign(rsa, "RS256", "rsa-1", claims()), es_only),
	    "bad_algorithm", "RS256 where the provider uses ES256 only");
	expect(verify(sign(ec, "ES256", "rsa-1", claims()), NULL),
	    "bad_algorithm", "ES256 naming an RSA key");
	expect(verify(sign(rsa, "RS256", "nobody", claims()), NULL),
	    "unknown_kid", "an unknown kid");
	expect(verify(sign(other, "RS256", "rsa-1", claims()), NULL),
	    "bad_signature", "another key under a known kid");
	expect(verify(sign(rsa, "RS256", NULL, claims()), NULL), "unknown_kid",
	    "no kid, and two keys to choose from");
	/* A changed payload under the original signature. */
	{
		char *t = sign(rsa, "RS256", "rsa-1", claims());
		char *dot = strchr(t, '.');

		dot[1] = dot[1] == 'A' ? 'B' : 'A';
		expect(verify(t, NULL), "bad_signature", "a changed payload");
	}
	c = claims();
	json_object_set_new(c, "iss", json_string("https://evil.example"));
	expect(verify(sign(rsa, "RS256", "rsa-1", c), NULL), "wrong_issuer",
	    "another issuer");
	c = claims();
	json_object_set_new(c, "aud", json_string("client-2"));
	expect(verify(sign(rsa, "RS256", "rsa-1", c), NULL), "wrong_audience",
	    "a token for another client");
	c = claims();
	json_object_set_new(
	    c, "aud", json_pack("[s,s]", "client-1", "client-2"));
	expect(verify(sign(rsa, "RS256", "rsa-1", c), NULL), "wrong_azp",
	    "several audiences and no azp");
	c = claims();
	json_object_set_new(
	    c, "aud", json_pack("[s,s]", "client-1", "client-2"));
	json_object_set_new(c, "azp", json_string("client-1"));
	expect(verify(sign(rsa, "RS256", "rsa-1", c), NULL), "ok",
	    "several audiences, azp ours");
	c = claims();
	json_object_set_new(c, "azp", json_string("client-2"));
	expect(verify(sign(rsa, "RS256", "rsa-1", c), NULL), "wrong_azp",
	    "azp another client's");
	c = claims();
	json_object_set_new(c, "exp", json_integer(NOW - 61));
	expect(verify(sign(rsa, "RS256", "rsa-1", c), NULL), "expired",
	    "expired beyond the skew");
	c = claims();
	json_object_set_new(c, "exp", json_integer(NOW - 30));
	expect(verify(sign(rsa, "RS256", "rsa-1", c), NULL), "ok",
	    "expired within the skew");
	c = claims();
	json_object_del(c, "exp");
	expect(
	    verify(sign(rsa, "RS256", "rsa-1", c), NULL), "expired", "no exp");
	c = claims();
	json_object_set_new(c, "iat", json_integer(NOW + 120));
	expect(verify(sign(rsa, "RS256", "rsa-1", c), NULL), "issued_in_future",
	    "issued in the future");
	c = claims();
	json_object_set_new(c, "iat", json_integer(NOW - 3600));
	expect(verify(sign(rsa, "RS256", "rsa-1", c), NULL), "too_old",
	    "issued an hour ago");
	c = claims();
	json_object_set_new(c, "nonce", json_string("n-replayed"));
	expect(verify(sign(rsa, "RS256", "rsa-1", c), NULL), "bad_nonce",
	    "another flow's nonce");
	c = claims();
	json_object_del(c, "nonce");
	expect(verify(sign(rsa, "RS256", "rsa-1", c), NULL), "bad_nonce",
	    "no nonce");
	c = claims();
	json_object_del(c, "sub");
	expect(verify(sign(rsa, "RS256", "rsa-1", c), NULL), "no_subject",
	    "no subject");
	expect(verify(strdup("not.a.token"), NULL), "malformed", "garbage");
	/* What made libcjose abort (fuzz/fuzz-idtoken): never given it. */
	expect(
	    verify(strdup("eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxI==================="
			  "n0.e30.AAAA"),
		NULL),
	    "malformed", "padding inside a part");
	expect(verify(strdup("eyJhbGciOiJSUzI1NiJ9.e30AA.sig0"), NULL),
	    "malformed", "a part of a length base64 cannot have");
	/* Microsoft's multi-tenant issuer: iss is the template with tid. */
	expect(verify_tenant(sign(rsa, "RS256", "rsa-1",
		   tenant_claims("72f988bf-86f1-41af-91ab-2d7cd011db47",
		       "72f988bf-86f1-41af-91ab-2d7cd011db47"))),
	    "ok", "a tenant's token, iss the template with its tid");
	expect(verify_tenant(sign(rsa, "RS256", "rsa-1",
		   tenant_claims("72f988bf-86f1-41af-91ab-2d7cd011db47",
		       "9188040d-6c67-4c5b-b112-36a304b66dad"))),
	    "wrong_issuer", "a tenant's iss with another tenant's tid");
	expect(
	    verify_tenant(sign(rsa, "RS256", "rsa-1",
		tenant_claims("72f988bf-86f1-41af-91ab-2d7cd011db47", NULL))),
	    "wrong_issuer", "no tid");
	expect(verify_tenant(sign(rsa, "RS256", "rsa-1",
		   tenant_claims("evil/v2.0?x=", "evil/v2.0?x="))),
	    "wrong_issuer", "a tid that is no GUID");
	expect(verify_tenant(sign(rsa, "RS256", "rsa-1",
		   tenant_claims("{tenantid}", "{tenantid}"))),
	    "wrong_issuer", "the template itself as iss");
	expect(verify(sign(rsa, "RS256", "rsa-1",
			  tenant_claims("72f988bf-86f1-41af-91ab-2d7cd011db47",
			      "72f988bf-86f1-41af-91ab-2d7cd011db47")),
		   NULL),
	    "wrong_issuer",
	    "without the template, a tenant's iss is another issuer");
	es256_sign_cases();
	cjose_jwk_release(rsa);
	cjose_jwk_release(other);
	cjose_jwk_release(ec);
	json_decref(jwks);
	return tap_done();
}
