/*
 * jose.c: ID token verification (see jose.h). The order: the compact
 * form parsed by cjose; the header's alg among parley's (RS256, ES256)
 * and the provider's; the key by kid (or the only signing key), of the
 * type the algorithm needs; the signature; then every claim.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "crypto.h"
#include "jose.h"

static const char *const pinned[] = { "RS256", "ES256", NULL };

static int
listed(const char *const *list, const char *s)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

/*
 * The key of 'jwks' for 'kid' (NULL: the only signing key) fit for
 * 'alg', imported; NULL with '*why' set.
 */
static cjose_jwk_t *
pick_key(const json_t *jwks, const char *kid, const char *alg, const char **why)
{
	json_t	    *keys = json_object_get(jwks, "keys"), *k, *found = NULL;
	const char  *kty, *use, *kalg, *crv;
	size_t	     i, n = 0;
	cjose_jwk_t *jwk;
	cjose_err    err;

	*why = "unknown_kid";
	if (!json_is_array(keys))
		return NULL;
	json_array_foreach(keys, i, k)
	{
		const char *id = json_string_value(json_object_get(k, "kid"));

		use = json_string_value(json_object_get(k, "use"));
		if (use != NULL && strcmp(use, "sig") != 0)
			continue;
		if (kid != NULL ? id != NULL && strcmp(id, kid) == 0 : 1) {
			found = k;
			n++;
		}
	}
	if (found == NULL || (kid == NULL && n != 1))
		return NULL;
	/* The key's type must be the algorithm's: RS256 takes RSA, ES256
	 * an EC key on P-256; a key that names its alg must name this. */
	*why = "bad_algorithm";
	kty = json_string_value(json_object_get(found, "kty"));
	kalg = json_string_value(json_object_get(found, "alg"));
	crv = json_string_value(json_object_get(found, "crv"));
	if (kty == NULL || (kalg != NULL && strcmp(kalg, alg) != 0))
		return NULL;
	if (strcmp(alg, "RS256") == 0 ? strcmp(kty, "RSA") != 0
				      : strcmp(kty, "EC") != 0 || crv == NULL ||
		    strcmp(crv, "P-256") != 0)
		return NULL;
	*why = "bad_key";
	if ((jwk = cjose_jwk_import_json((cjose_header_t *)found, &err)) ==
	    NULL)
		return NULL;
	/* RSA keys of 2048 bits at least. */
	if (strcmp(alg, "RS256") == 0 &&
	    cjose_jwk_get_keysize(jwk, &err) < 2048) {
		cjose_jwk_release(jwk);
		return NULL;
	}
	return jwk;
}

/*
 * Whether 'token' is a JWS compact serialization cjose may be given:
 * three parts, each of the base64url alphabet without padding and of a
 * length base64 can have (never 1 mod 4). libcjose 0.6.2 aborts on some
 * others (an assert in its decoder; fuzz/fuzz-idtoken found it), so
 * nothing else reaches it.
 */
static int
compact_ok(const char *token)
{
	size_t part = 0, len = 0;
	int    parts = 1;

	for (; *token != '\0'; token++) {
		unsigned char ch = (unsigned char)*token;

		if (ch == '.') {
			if (len % 4 == 1 || (part < 2 && len == 0) ||
			    ++parts > 3)
				return 0;
			part++;
			len = 0;
		} else if ((ch >= 'A' && ch <= 'Z') ||
		    (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_')
			len++;
		else
			return 0;
	}
	return parts == 3 && len % 4 != 1;
}

/* Number claim 'name' of 'c' into 'v'; 0 if absent or not a number. */
static int
num(const json_t *c, const char *name, long long *v)
{
	json_t *j = json_object_get(c, name);

	if (!json_is_number(j))
		return 0;
	*v = (long long)json_number_value(j);
	return 1;
}

/* Whether 's' is a GUID as Microsoft writes them, lower case. */
static int
is_guid(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++)
		if (i == 8 || i == 13 || i == 18 || i == 23
			? s[i] != '-'
			: strchr("0123456789abcdef", s[i]) == NULL)
			return 0;
	return 1;
}

/* iss as expected: exactly, or the template with the token's tid. */
static int
issuer_ok(const json_t *c, const char *iss, const struct idt_expect *x)
{
	const char *t =
	    x->tenant_template ? strstr(x->issuer, "{tenantid}") : NULL;
	const char *tid = json_string_value(json_object_get(c, "tid"));
	char	    want[1024];

	if (!x->tenant_template)
		return strcmp(iss, x->issuer) == 0;
	if (t == NULL || !is_guid(tid) ||
	    (size_t)snprintf(want, sizeof(want), "%.*s%s%s",
		(int)(t - x->issuer), x->issuer, tid, t + 10) >= sizeof(want))
		return 0;
	return strcmp(iss, want) == 0;
}

/* The claims' checks; NULL when they pass, else the reason. */
static const char *
check_claims(const json_t *c, const struct idt_expect *x)
{
	const char *iss = json_string_value(json_object_get(c, "iss"));
	const char *azp = json_string_value(json_object_get(c, "azp"));
	const char *nonce = json_string_value(json_object_get(c, "nonce"));
	const char *sub = json_string_value(json_object_get(c, "sub"));
	json_t	   *aud = json_object_get(c, "aud"), *a;
	long long   exp, iat;
	size_t	    i, others = 0;
	int	    mine = 0;

	if (iss == NULL || !issuer_ok(c, iss, x))
		return "wrong_issuer";
	if (json_is_string(aud))
		mine = strcmp(json_string_value(aud), x->client_id) == 0;
	else if (json_is_array(aud))
		json_array_foreach(aud, i, a)
		{
			if (json_is_string(a) &&
			    strcmp(json_string_value(a), x->client_id) == 0)
				mine = 1;
			else
				others++;
		}
	if (!mine)
		return "wrong_audience";
	if ((azp != NULL || others > 0) &&
	    (azp == NULL || strcmp(azp, x->client_id) != 0))
		return "wrong_azp";
	if (!num(c, "exp", &exp) || exp + x->skew <= x->now)
		return "expired";
	if (!num(c, "iat", &iat) || iat - x->skew > x->now)
		return "issued_in_future";
	if (iat + x->max_age + x->skew < x->now)
		return "too_old";
	if (x->nonce != NULL &&
	    (nonce == NULL || strlen(nonce) != strlen(x->nonce) ||
		!crypto_equal(nonce, x->nonce, strlen(nonce))))
		return "bad_nonce";
	if (sub == NULL || sub[0] == '\0' || strlen(sub) > 255)
		return "no_subject";
	return NULL;
}

json_t *
jose_id_token_verify(const char *token, const json_t *jwks,
    const struct idt_expect *x, const char **why)
{
	cjose_jws_t    *jws = NULL;
	cjose_jwk_t    *jwk = NULL;
	cjose_header_t *h;
	cjose_err	err;
	const char     *alg, *kid;
	uint8_t	       *plain = NULL;
	size_t		plen = 0;
	json_t	       *claims = NULL;

	*why = "malformed";
	if (token == NULL || strlen(token) > JOSE_TOKEN_MAX ||
	    !compact_ok(token) ||
	    (jws = cjose_jws_import(token, strlen(token), &err)) == NULL ||
	    (h = cjose_jws_get_protected(jws)) == NULL)
		goto out;
	alg = cjose_header_get(h, CJOSE_HDR_ALG, &err);
	kid = cjose_header_get(h, CJOSE_HDR_KID, &err);
	/* parley's algorithms, and the provider's: never the header's
	 * choice alone ("none", HS256 with the public key as secret). */
	*why = "bad_algorithm";
	if (alg == NULL || !listed(pinned, alg) ||
	    (x->algs != NULL && !listed(x->algs, alg)))
		goto out;
	if ((jwk = pick_key(jwks, kid, alg, why)) == NULL)
		goto out;
	*why = "bad_signature";
	if (!cjose_jws_verify(jws, jwk, &err) ||
	    !cjose_jws_get_plaintext(jws, &plain, &plen, &err))
		goto out;
	*why = "malformed";
	if ((claims = json_loadb((const char *)plain, plen,
		 JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_object(claims))
		goto fail;
	if ((*why = check_claims(claims, x)) != NULL)
		goto fail;
	goto out;
fail:
	json_decref(claims);
	claims = NULL;
out:
	if (jwk != NULL)
		cjose_jwk_release(jwk);
	cjose_jws_release(jws);
	return claims;
}

/* The P-256 key of PEM 'pem' as a cjose key; NULL if it is not one. */
static cjose_jwk_t *
ec_key_of_pem(const char *pem)
{
	cjose_jwk_ec_keyspec spec;
	unsigned char	     d[32], pub[65];
	size_t		     publen = 0;
	BIGNUM		    *bn = NULL;
	EVP_PKEY	    *k = NULL;
	BIO		    *b;
	cjose_jwk_t	    *jwk = NULL;
	cjose_err	     err;

	if ((b = BIO_new_mem_buf(pem, -1)) == NULL)
		return NULL;
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	if (k == NULL || !EVP_PKEY_is_a(k, "EC") ||
	    EVP_PKEY_get_bits(k) != 256 ||
	    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &bn) ||
	    BN_bn2binpad(bn, d, sizeof(d)) != (int)sizeof(d) ||
	    !EVP_PKEY_get_octet_string_param(
		k, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &publen) ||
	    publen != sizeof(pub) || pub[0] != 0x04)
		goto out;
	memset(&spec, 0, sizeof(spec));
	spec.crv = CJOSE_JWK_EC_P_256;
	spec.d = d;
	spec.dlen = sizeof(d);
	spec.x = pub + 1;
	spec.xlen = 32;
	spec.y = pub + 33;
	spec.ylen = 32;
	jwk = cjose_jwk_create_EC_spec(&spec, &err);
out:
	crypto_wipe(d, sizeof(d));
	BN_clear_free(bn);
	EVP_PKEY_free(k);
	return jwk;
}

char *
jose_es256_sign(const char *pem, const char *kid, const json_t *claims)
{
	cjose_jwk_t    *jwk;
	cjose_header_t *h = NULL;
	cjose_jws_t    *jws = NULL;
	cjose_err	err;
	const char     *ser;
	char	       *body = NULL, *out = NULL;

	if ((jwk = ec_key_of_pem(pem)) == NULL)
		return NULL;
	if ((body = json_dumps(claims, JSON_COMPACT)) == NULL ||
	    (h = cjose_header_new(&err)) == NULL ||
	    !cjose_header_set(h, CJOSE_HDR_ALG, CJOSE_HDR_ALG_ES256, &err) ||
	    !cjose_header_set(h, CJOSE_HDR_KID, kid, &err) ||
	    (jws = cjose_jws_sign(
		 jwk, h, (const uint8_t *)body, strlen(body), &err)) == NULL ||
	    !cjose_jws_export(jws, &ser, &err))
		goto out;
	out = strdup(ser);
out:
	cjose_jws_release(jws);
	cjose_header_release(h);
	cjose_jwk_release(jwk);
	free(body);
	return out;
}
