/*
 * oidc.h: OpenID Connect providers as parley reads them (issue 17, being
 * built): the discovery document and the key set, fetched with libcurl
 * over https only, through the same address guard as webhooks
 * (netguard.h), bounded in size and time, and kept as long as their
 * Cache-Control says (within bounds). ID tokens are checked by jose.h.
 */
#ifndef PARLEY_OIDC_H
#define PARLEY_OIDC_H

#include <jansson.h>

struct conf;

#define OIDC_URL_MAX 512
#define OIDC_DOC_MAX (256 * 1024) /* bytes of a discovery document or key set */
#define OIDC_ALGS_MAX 4

/* A provider's metadata, as its discovery document says. */
struct oidc_meta {
	char	    asked[OIDC_URL_MAX]; /* the issuer configured */
	char	    issuer[OIDC_URL_MAX]; /* the document's */
	int	    tenant_template; /* issuer has "{tenantid}" (Microsoft) */
	char	    authorization_endpoint[OIDC_URL_MAX];
	char	    token_endpoint[OIDC_URL_MAX];
	char	    jwks_uri[OIDC_URL_MAX];
	char	    alg_buf[OIDC_ALGS_MAX][8];
	const char *algs[OIDC_ALGS_MAX + 1]; /* parley's that it uses */
	int	    pkce_s256; /* code_challenge_methods_supported has S256 */
	long long   expires; /* when to read it again (Unix seconds) */
};

/*
 * GETs 'url' (https; a public address, or loopback where
 * oidc_allow_loopback is set) and parses it as a JSON object into '*out'
 * (caller json_decref()s). '*max_age' gets its Cache-Control max-age
 * (-1 when none). Returns 0, or -1 with a stable reason in '*why':
 * https_required, blocked_address, timeout, connect, http_status,
 * too_large, bad_json.
 */
int oidc_fetch_json(const struct conf *cfg, const char *url, json_t **out,
    int *max_age, const char **why);

/*
 * Reads the discovery document of 'issuer' into 'm': its issuer must be
 * 'issuer' exactly (or, for Microsoft's multi-tenant .../common/v2.0 and
 * .../organizations/v2.0, the same with "{tenantid}" in that segment:
 * the template each token's tid fills), its endpoints https, its
 * algorithms include RS256 or ES256. Returns 0, or -1 with a reason (oidc_fetch_json's, or
 * wrong_issuer, bad_endpoint, no_algorithm).
 */
int oidc_discover(const struct conf *cfg, const char *issuer,
    struct oidc_meta *m, const char **why);

/*
 * Reads the key set of 'm' into '*jwks' (caller json_decref()s) and
 * '*expires'. Returns 0 or -1 with a reason.
 */
int oidc_jwks(const struct conf *cfg, const struct oidc_meta *m, json_t **jwks,
    long long *expires, const char **why);

/*
 * The metadata and key set of 'issuer', from this process's cache or
 * read anew when expired (or, with 'refresh', the key set at once: an
 * unknown kid, at most once a minute). '*jwks' is borrowed: valid until
 * the next call. Returns 0 or -1 with a reason.
 */
int oidc_provider_keys(const struct conf *cfg, const char *issuer, int refresh,
    const struct oidc_meta **m, const json_t **jwks, const char **why);

/*
 * Exchanges authorization code 'code' at the token endpoint of 'm'
 * (client_secret_post, PKCE 'verifier') and writes the ID token into a
 * new string '*id_token' (caller frees). Returns 0, or -1 with a reason
 * (oidc_fetch_json's, or token_refused, no_id_token).
 */
int oidc_exchange(const struct conf *cfg, const struct oidc_meta *m,
    const char *client_id, const char *secret, const char *code,
    const char *redirect_uri, const char *verifier, char **id_token,
    const char **why);

/* parleyctl oidc check ISSUER: what parley reads of a provider. */
int oidc_check_main(int argc, char *argv[]);

#endif
