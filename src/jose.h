/*
 * jose.h: OpenID Connect ID tokens verified (OpenID Connect Core 1.0,
 * 3.1.3.7) with libcjose. parley pins the algorithms (RS256 and ES256,
 * intersected with what the provider says it uses); the token's header
 * alone never chooses: "none", HS* and a key of the wrong type are
 * refused before any signature is checked.
 */
#ifndef PARLEY_JOSE_H
#define PARLEY_JOSE_H

#include <jansson.h>

/* What an ID token must be. */
struct idt_expect {
	const char	  *issuer; /* iss, exactly */
	const char	  *client_id; /* in aud; azp when aud has others */
	const char	  *nonce; /* the flow's, exactly (NULL: none sent) */
	const char *const *algs; /* the provider's, NULL-terminated; NULL:
					 both of parley's */
	long long	   now; /* Unix seconds */
	int		   skew; /* seconds of clock difference allowed */
	int		   max_age; /* iat at most this many seconds ago */
	/* issuer is a template with "{tenantid}" (Microsoft's multi-tenant
	 * issuer): iss must be it with the token's tid, a GUID, put in */
	int tenant_template;
};

#define JOSE_TOKEN_MAX 16384 /* bytes of an ID token */

/*
 * Verifies ID token 'token' with the key set 'jwks' ({"keys": [...]}).
 * Returns its claims as a new object (caller json_decref()s), or NULL
 * with '*why' a stable reason: malformed, bad_algorithm, unknown_kid (the
 * caller may fetch the key set again, once), bad_key, bad_signature,
 * wrong_issuer, wrong_audience, wrong_azp, expired, issued_in_future,
 * too_old, bad_nonce, no_subject.
 */
json_t *jose_id_token_verify(const char *token, const json_t *jwks,
    const struct idt_expect *x, const char **why);

/*
 * A JWS (ES256, header kid 'kid') of 'claims', signed with the P-256
 * private key in PEM 'pem' (PKCS#8 or SEC1): Apple's client secret. A new
 * string (caller frees), or NULL.
 */
char *jose_es256_sign(const char *pem, const char *kid, const json_t *claims);

#endif
