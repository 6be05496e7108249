/*
 * flow.h: sign-ins on their way through an identity provider and the
 * tickets after one (src/flow.c): shared by OpenID Connect
 * (src/api_oidc.c) and a company's single sign-on (src/api_sso.c).
 *
 * A flow is a row of oidc_flows keyed by the SHA-256 of its state (256
 * random bits) or ticket; 'binding' is the SHA-256 of a random value in
 * an HttpOnly cookie of the browser that started it, so a flow finishes
 * only in that browser.
 */
#ifndef PARLEY_FLOW_H
#define PARLEY_FLOW_H

#include <jansson.h>

#include "http.h"

struct ctx;

#define FLOW_COOKIE "parley_oidc"
#define FLOW_TTL 600 /* seconds a flow lives */

/* A flow, or a ticket, to store (q_flow_new). */
struct flow {
	const char *provider, *purpose;
	const char *company_id, *user_id, *session_id; /* NULL: none */
	const char *claims, *return_to; /* NULL: none */
	int	    ttl; /* seconds */
};

/* base64url(HMAC(server key, label ":" state)): a PKCE verifier, a
 * nonce, a SAML request id; nothing secret is stored. */
void flow_derive(const char *label, const char *state, char out[44]);
/* Hex SHA-256 of 's'. */
void flow_hash(const char *s, char hex[65]);
/* A new random key (state, binding, ticket), base64url. 0 or -1. */
int flow_key(char out[44]);
/* Stores 'f' under the hash of 'key', bound to the browser whose
 * cookie's hash is 'binding_hex'. 0 or -1. */
int flow_put(struct ctx *ctx, const char *key, const char *binding_hex,
    const struct flow *f);
/* Sets the binding cookie of 'binding' (ten minutes). 0 or -1. */
int flow_set_binding(struct request *req, const char *binding);
/* Ends the binding cookie. 0 or -1. */
int flow_end_binding(struct request *req);
/* 303 to the console page 'path'; 'keep': the binding cookie stays. */
int flow_to_console_keep(
    struct request *req, struct ctx *ctx, const char *path, int keep);
int flow_to_console(struct request *req, struct ctx *ctx, const char *path);
/* Links identity (iss, sub) at provider 'pid' to (cid, uid), audited,
 * in the company's open tenant transaction: 1, 0 (linked to someone
 * already; rolled back), -1. */
int flow_identity_link(struct ctx *ctx, const char *pid, const char *cid,
    const char *uid, const char *iss, const char *sub, const char *email);
/* The TOTP step after a provider: a one-try ticket (five minutes, this
 * browser), and 303 to the console's code form. */
int flow_mfa_ticket(struct request *req, struct ctx *ctx, const char *pid,
    const char *cid, const char *uid, const char *binding_hex);
/* What a flow keeps of verified claims (a new string), or NULL. */
char *flow_claims_kept(const json_t *claims);

#endif
