/*
 * api_oidc.c: signing in with an OpenID Connect provider, and linking one
 * to an account (issue 17, item 1, in part): the authorization code flow
 * with PKCE (S256), state and nonce.
 *
 * A flow (sql/025-oidc.sql, oidc_flows) is keyed by the SHA-256 of its
 * state, 256 random bits. The PKCE verifier and the nonce are HMACs of
 * the state under the names key (src/server_keys.c: derived from the
 * audit key, the same on every host through a rotation of the signing
 * keys), so nothing secret is stored. The browser that starts a flow
 * gets a binding cookie
 * (HttpOnly, Secure, for /api/v1/auth/oidc, ten minutes); the callback
 * finds the flow only with the same browser's cookie, and only once, so
 * a callback URL from another browser (login CSRF) or a replayed one
 * does nothing.
 *
 * Linking needs a signed-in user (they proved the account); signing in
 * finds the account by the ID token's (iss, sub) only, never by e-mail.
 * An account with TOTP on gives its code after the provider: the
 * callback answers a one-try ticket (an 'mfa' flow, same browser) that
 * POST /api/v1/auth/oidc/mfa takes with the code.
 *
 * Signing up through a provider, the presets' specifics (Microsoft's
 * multi-tenant issuer, Apple's form_post and signed client secret) are
 * here too; a company's own SSO (SAML and OIDC) is src/api_sso.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "account.h"
#include "api.h"
#include "audit.h"
#include "conf.h"
#include "crypto.h"
#include "ctx.h"
#include "db.h"
#include "flow.h"
#include "handler.h"
#include "http.h"
#include "jose.h"
#include "log.h"
#include "mfa.h"
#include "oidc.h"
#include "router.h"
#include "security_events.h"
#include "server_keys.h"
#include "session.h"
#include "sso.h"

#define OIDC_SKEW 120 /* seconds of clock difference allowed */
#define OIDC_TOKEN_AGE 600 /* seconds an ID token may be old */
#define OIDC_SECRET_MAX 512
#define OIDC_CLAIMS_MAX 4200 /* a flow's kept claims: 4096 in the table */

/* A provider the deployment configured. */
struct provider {
	const char *id, *name, *issuer, *client_id;
	char	    secret_name[48];
	/* Apple: answers with a cross-site form POST, and its client
	 * secret is a JWT parleyd signs with the operator's key. */
	int apple;
	/* A company's own OpenID Provider (its single sign-on): */
	char cid[37], buf_issuer[513], buf_client[257], sealed[2049];
};

static const char *const provider_ids[] = { "google", "microsoft", "apple",
	"generic" };

/* The providers: the presets Google, Microsoft and Apple (their issuers
 * overridable, for tests), and one standard provider by issuer URL. */
static int
provider_get(const struct conf *cfg, const char *id, struct provider *p)
{
	memset(p, 0, sizeof(*p));
	if (id == NULL)
		return 0;
	if (strcmp(id, "google") == 0) {
		p->id = "google";
		p->name = "Google";
		p->issuer = cfg->oidc_google_issuer;
		p->client_id = cfg->oidc_google_client_id;
	} else if (strcmp(id, "microsoft") == 0) {
		p->id = "microsoft";
		p->name = "Microsoft";
		p->issuer = cfg->oidc_microsoft_issuer;
		p->client_id = cfg->oidc_microsoft_client_id;
	} else if (strcmp(id, "apple") == 0) {
		p->id = "apple";
		p->name = "Apple";
		p->issuer = cfg->oidc_apple_issuer;
		p->client_id = cfg->oidc_apple_client_id;
		p->apple = 1;
		snprintf(p->secret_name, sizeof(p->secret_name),
		    "oidc_apple_private_key");
		return p->issuer[0] != '\0' && p->client_id[0] != '\0' &&
		    cfg->oidc_apple_team_id[0] != '\0' &&
		    cfg->oidc_apple_key_id[0] != '\0';
	} else if (strcmp(id, "generic") == 0) {
		p->id = "generic";
		p->name = cfg->oidc_generic_name;
		p->issuer = cfg->oidc_generic_issuer;
		p->client_id = cfg->oidc_generic_client_id;
	} else
		return 0;
	snprintf(p->secret_name, sizeof(p->secret_name),
	    "oidc_%s_client_secret", p->id);
	return p->issuer[0] != '\0' && p->client_id[0] != '\0';
}

/* A company's own OpenID Provider, as its SSO configures it: 1, 0 (none,
 * or not OpenID Connect, or off), -1. */
static int
provider_company(struct ctx *ctx, const char *cid, struct provider *p)
{
	struct sso_config c;
	int		  found;

	memset(p, 0, sizeof(*p));
	if (db_tenant_begin(ctx->db, cid, NULL, NULL, NULL) == -1)
		return -1;
	found = sso_config_load(ctx->db, cid, &c);
	db_rollback(ctx->db);
	sso_config_free(&c);
	if (found != 1)
		return found;
	if (strcmp(c.protocol, "oidc") != 0 || !c.enabled)
		return 0;
	p->id = "sso";
	p->name = "single sign-on";
	snprintf(p->cid, sizeof(p->cid), "%s", cid);
	snprintf(p->buf_issuer, sizeof(p->buf_issuer), "%s", c.oidc_issuer);
	snprintf(p->buf_client, sizeof(p->buf_client), "%s", c.oidc_client_id);
	snprintf(p->sealed, sizeof(p->sealed), "%s", c.oidc_client_secret_enc);
	p->issuer = p->buf_issuer;
	p->client_id = p->buf_client;
	return 1;
}

static struct db_stmt q_oidc_secret = { "oidc_secret",
	"SELECT value_enc FROM operator_secrets WHERE name = $1", 1,
	DB_RETRY_SAFE, 0 };

/* The provider's client secret (Apple: its signing key), decrypted into
 * 'out'. Returns 0 or -1. */
static int
stored_secret(struct db *db, const struct provider *p, char *out, size_t len)
{
	const char *params[1] = { p->secret_name };
	char	    aad[64];
	PGresult   *res;
	int	    n = -1;

	if (p->cid[0] != '\0') { /* a company's, sealed for it */
		sso_secret_aad(p->cid, aad);
		if (p->sealed[0] != '\0')
			n = keyring_decrypt(keys_ring(), aad, p->sealed,
			    (unsigned char *)out, len - 1);
		if (n < 0)
			return -1;
		out[n] = '\0';
		return 0;
	}
	if ((res = db_exec(db, &q_oidc_secret, params)) == NULL)
		return -1;
	snprintf(aad, sizeof(aad), "operator:%s", p->secret_name);
	if (PQntuples(res) == 1)
		n = keyring_decrypt(keys_ring(), aad,
		    row_get(res, 0, "value_enc"), (unsigned char *)out,
		    len - 1);
	PQclear(res);
	if (n < 0)
		return -1;
	out[n] = '\0';
	return 0;
}

/*
 * The client secret to present at the token endpoint of 'm': the stored
 * one, or Apple's: an ES256 JWT of the operator's team, for five
 * minutes, audience the issuer (Apple's "https://appleid.apple.com").
 */
static int
client_secret(struct ctx *ctx, const struct provider *p,
    const struct oidc_meta *m, char *out, size_t len)
{
	const struct conf *cfg = ctx->conf;
	char		   pem[OIDC_SECRET_MAX * 8], *jwt;
	long long	   now = (long long)time(NULL);
	json_t		  *c;
	int		   rc = -1;

	if (!p->apple)
		return stored_secret(ctx->db, p, out, len);
	if (stored_secret(ctx->db, p, pem, sizeof(pem)) == -1)
		return -1;
	c = json_pack("{s:s,s:I,s:I,s:s,s:s}", "iss", cfg->oidc_apple_team_id,
	    "iat", now, "exp", now + 300, "aud", m->issuer, "sub",
	    p->client_id);
	jwt =
	    c != NULL ? jose_es256_sign(pem, cfg->oidc_apple_key_id, c) : NULL;
	if (jwt != NULL && strlen(jwt) < len) {
		snprintf(out, len, "%s", jwt);
		rc = 0;
	}
	crypto_wipe(pem, sizeof(pem));
	json_decref(c);
	free(jwt);
	return rc;
}

/* 's' percent-encoded (RFC 3986 unreserved kept) into 'out'. */
static void
url_escape(const char *s, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t		  o = 0;

	for (; *s != '\0' && o + 4 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			out[o++] = (char)c;
		else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

static void
redirect_uri(const struct conf *cfg, char *out, size_t len)
{
	snprintf(
	    out, len, "%s/api/v1/auth/oidc/callback", cfg->public_base_url);
}

/* --- the providers, and starting a flow --- */

int
h_oidc_providers(struct request *req, struct ctx *ctx)
{
	struct provider p;
	json_t	       *items = json_array();
	size_t		i;

	for (i = 0; items != NULL &&
	     i < sizeof(provider_ids) / sizeof(provider_ids[0]);
	     i++)
		if (provider_get(ctx->conf, provider_ids[i], &p))
			json_array_append_new(items,
			    json_pack("{s:s,s:s}", "id", p.id, "name", p.name));
	return items != NULL ? http_send_items(req, items) : -1;
}

/*
 * Starts a flow for 'purpose': "login"; "link" or "reauth" for the
 * signed-in caller (reauth: 'return_to' is the console page to go back
 * to, and the provider is asked to authenticate afresh). Stores it, sets
 * the binding cookie and answers the provider's authorization URL.
 */
static int
start_with(struct request *req, struct ctx *ctx, const struct provider *pp,
    const char *purpose, const char *return_to)
{
	const struct conf      *cfg = ctx->conf;
	const struct oidc_meta *m;
	const json_t	       *jwks;
	const struct provider  *pr = pp;
	struct flow		f = { 0 };
	unsigned char		ch[32];
	char			state[44], binding[44], verifier[44], nonce[44];
	char			challenge[44], bh[65];
	char			redirect[600], url[4096];
	char			e_client[600], e_redirect[1800];
	const char	       *why;
	json_t		       *o;
	int			sso = strcmp(purpose, "sso") == 0;
	int			mine = !sso && strcmp(purpose, "login") != 0, n;

	if (oidc_provider_keys(cfg, pr->issuer, 0, &m, &jwks, &why) == -1) {
		log_event(LOG_WARN, "oidc_provider", LOG_S("provider", pr->id),
		    LOG_S("reason", why));
		return http_send_problem(req, 502, "provider_unavailable",
		    "The sign-in provider could not be reached", NULL, NULL,
		    NULL);
	}
	if (flow_key(state) == -1 || flow_key(binding) == -1)
		return -1;
	flow_derive("pkce", state, verifier);
	flow_derive("nonce", state, nonce);
	crypto_sha256(verifier, strlen(verifier), ch);
	crypto_b64url_encode(ch, sizeof(ch), challenge, sizeof(challenge));
	flow_hash(binding, bh);
	f.provider = pr->id;
	f.purpose = purpose;
	f.company_id = sso ? pr->cid : mine ? ctx->who.company_id : NULL;
	f.user_id = mine ? ctx->who.user_id : NULL;
	f.session_id =
	    strcmp(purpose, "reauth") == 0 ? ctx->who.session_id : NULL;
	f.return_to = return_to;
	f.ttl = FLOW_TTL;
	if (flow_put(ctx, state, bh, &f) == -1)
		return -1;
	if (mine && db_commit(ctx->db) == -1)
		return -1;
	redirect_uri(cfg, redirect, sizeof(redirect));
	url_escape(pr->client_id, e_client, sizeof(e_client));
	url_escape(redirect, e_redirect, sizeof(e_redirect));
	n = snprintf(url, sizeof(url),
	    "%s%cresponse_type=code&scope=openid%%20email&client_id=%s&"
	    "redirect_uri=%s&state=%s&nonce=%s&code_challenge=%s&"
	    "code_challenge_method=S256%s%s",
	    m->authorization_endpoint,
	    strchr(m->authorization_endpoint, '?') != NULL ? '&' : '?',
	    e_client, e_redirect, state, nonce, challenge,
	    f.session_id != NULL ? "&prompt=login&max_age=0" : "",
	    pr->apple ? "&response_mode=form_post" : "");
	if (n < 0 || (size_t)n >= sizeof(url))
		return -1;
	crypto_wipe(verifier, sizeof(verifier));
	if (flow_set_binding(req, binding) == -1)
		return -1;
	o = json_pack("{s:s}", "url", url);
	return api_send(req, 200, o);
}

/* start_with() the provider the body names. */
static int
start(struct request *req, struct ctx *ctx, const char *purpose,
    const char *return_to)
{
	struct provider p;

	if (!provider_get(ctx->conf, api_body_str(req, "provider"), &p))
		return api_problem(req, 404, "unknown_provider",
		    "This deployment has no such sign-in provider");
	return start_with(req, ctx, &p, purpose, return_to);
}

int
api_oidc_sso_start(struct request *req, struct ctx *ctx, const char *cid)
{
	struct provider p;
	int		found;

	if ((found = provider_company(ctx, cid, &p)) != 1)
		return found == -1 ? -1
				   : api_problem(req, 404, "sso_not_configured",
					 "No single sign-on for this address");
	return start_with(req, ctx, &p, "sso", NULL);
}

int
h_oidc_start(struct request *req, struct ctx *ctx)
{
	if (api_addr_limit(req, ctx, "oidc:ip", ctx->conf->login_max_per_ip,
		ctx->conf->login_window) == HTTP_ANSWERED)
		return 0;
	return start(req, ctx, "login", NULL);
}

/* Linking another identity proves the account as other sensitive steps
 * do: its password (and TOTP code when on), or for an account without a
 * password, a fresh sign-in at a provider it has linked. */
int
h_oidc_link(struct request *req, struct ctx *ctx)
{
	int rc;

	if ((rc = api_reauth(req, ctx, api_body_str(req, "password"),
		 api_body_str(req, "code"))) != 1)
		return rc == HTTP_ANSWERED ? 0 : -1;
	return start(req, ctx, "link", NULL);
}

int
h_oidc_reauth(struct request *req, struct ctx *ctx)
{
	return start(req, ctx, "reauth", api_body_str(req, "return_to"));
}

/* --- the callback --- */

static struct db_stmt q_flow_take = { "oidc_flow_take",
	"UPDATE oidc_flows SET used_at = now() WHERE state_hash = decode($1, "
	"'hex') AND purpose IN ('login', 'link', 'reauth', 'sso') AND used_at "
	"IS NULL AND expires_at > now() RETURNING encode(binding_hash, 'hex') "
	"AS "
	"binding, provider, purpose, coalesce(company_id::text, '') AS "
	"company_id, coalesce(user_id::text, '') AS user_id, "
	"coalesce(session_id::text, '') AS session_id, coalesce(return_to, "
	"'account') AS return_to, extract(epoch FROM created_at)::bigint AS "
	"started, coalesce(claims::text, '') AS claims",
	1, 0, 0 };
/* A form_post provider's return: the flow, not yet used or returned. */
static struct db_stmt q_flow_peek = { "oidc_flow_peek",
	"SELECT provider FROM oidc_flows WHERE state_hash = decode($1, 'hex') "
	"AND purpose IN ('login', 'link', 'reauth') AND used_at IS NULL AND "
	"claims IS NULL AND expires_at > now()",
	1, 0, 0 };
static struct db_stmt q_flow_returned = { "oidc_flow_returned",
	"UPDATE oidc_flows SET claims = $2::jsonb WHERE state_hash = "
	"decode($1, 'hex') AND purpose IN ('login', 'link', 'reauth') AND "
	"used_at IS NULL AND claims IS NULL AND expires_at > now() RETURNING "
	"provider",
	2, 0, 0 };
static struct db_stmt q_session_reauth = { "oidc_session_reauth",
	"UPDATE sessions SET reauth_at = now() WHERE id = $1 AND company_id = "
	"$2 AND user_id = $3 AND revoked_at IS NULL RETURNING id",
	3, 0, 0 };
static struct db_stmt q_identity_lookup = { "oidc_identity_lookup",
	"SELECT user_id, company_id FROM parley_lookup_identity($1, $2)", 2, 0,
	0 };
static struct db_stmt q_identity_user = { "oidc_identity_user",
	"UPDATE user_identities SET last_used_at = now() WHERE company_id = $2 "
	"AND user_id = $1 AND issuer = $3 AND subject = $4 RETURNING (SELECT "
	"role FROM users WHERE id = $1 AND company_id = $2) AS role, (SELECT "
	"totp_enabled_at IS NOT NULL FROM users WHERE id = $1 AND company_id = "
	"$2) AS mfa, (SELECT email FROM users WHERE id = $1 AND company_id = "
	"$2) AS email",
	4, 0, 0 };

/* The ID token of code 'code', verified; its claims, or NULL and why. */
static json_t *
id_token_claims(struct ctx *ctx, const struct provider *p, const char *state,
    const char *code, const char **why)
{
	const struct oidc_meta *m;
	const json_t	       *jwks;
	struct idt_expect	x;
	char	secret[OIDC_SECRET_MAX * 2], verifier[44], nonce[44];
	char	redirect[600], *idt = NULL;
	json_t *claims = NULL;

	if (oidc_provider_keys(ctx->conf, p->issuer, 0, &m, &jwks, why) == -1)
		return NULL;
	if (client_secret(ctx, p, m, secret, sizeof(secret)) == -1) {
		*why = "no_client_secret";
		return NULL;
	}
	flow_derive("pkce", state, verifier);
	flow_derive("nonce", state, nonce);
	redirect_uri(ctx->conf, redirect, sizeof(redirect));
	if (oidc_exchange(ctx->conf, m, p->client_id, secret, code, redirect,
		verifier, &idt, why) == 0) {
		memset(&x, 0, sizeof(x));
		x.issuer = m->issuer;
		/* A company's own IdP is one tenant: a template that any
		 * tenant's tokens fill is never its issuer. */
		x.tenant_template = p->cid[0] == '\0' && m->tenant_template;
		x.client_id = p->client_id;
		x.nonce = nonce;
		x.algs = m->algs;
		x.now = (long long)time(NULL);
		x.skew = OIDC_SKEW;
		x.max_age = OIDC_TOKEN_AGE;
		claims = jose_id_token_verify(idt, jwks, &x, why);
		/* A key the cached set does not have: read it again, once. */
		if (claims == NULL && strcmp(*why, "unknown_kid") == 0 &&
		    oidc_provider_keys(
			ctx->conf, p->issuer, 1, &m, &jwks, why) == 0)
			claims = jose_id_token_verify(idt, jwks, &x, why);
	}
	crypto_wipe(secret, sizeof(secret));
	crypto_wipe(verifier, sizeof(verifier));
	free(idt);
	return claims;
}

/* Links the identity in 'claims' to the flow's account. */
static int
link_identity(struct request *req, struct ctx *ctx, const struct provider *p,
    const char *cid, const char *uid, const json_t *claims)
{
	int made;

	if (db_tenant_begin(ctx->db, cid, NULL, NULL, NULL) == -1)
		return api_unavailable(req);
	made = flow_identity_link(ctx, p->id, cid, uid,
	    json_string_value(json_object_get(claims, "iss")),
	    json_string_value(json_object_get(claims, "sub")),
	    json_string_value(json_object_get(claims, "email")));
	if (made == 0)
		return flow_to_console(
		    req, ctx, "/settings/account?oidc=identity_taken");
	if (made == -1 || db_commit(ctx->db) == -1)
		return -1;
	return flow_to_console(req, ctx, "/settings/account?oidc=linked");
}

/* Whether the provider says it verified the address (Apple sends the
 * string "true"). */
static int
email_verified(const json_t *claims)
{
	const json_t *v = json_object_get(claims, "email_verified");
	const char   *e = json_string_value(json_object_get(claims, "email"));

	return e != NULL && strlen(e) <= 320 &&
	    (json_is_true(v) ||
		(json_is_string(v) &&
		    strcmp(json_string_value(v), "true") == 0));
}

/*
 * An identity nobody linked: with an address the provider verified, a
 * ticket (ten minutes, this browser) lets its holder sign up with it or
 * link it to the account of that address, proving the account (POST
 * /api/v1/auth/oidc/signup, /link-account). Never linked by the address
 * alone.
 */
static int
pending(struct request *req, struct ctx *ctx, const struct provider *p,
    const json_t *claims, const char *binding_hex)
{
	struct flow f = { 0 };
	char	    ticket[44], path[96], email[ACCOUNT_EMAIL_MAX + 1], *kept;
	json_t	   *c;
	int	    rc;

	if (!email_verified(claims) ||
	    account_email_normalize(
		json_string_value(json_object_get(claims, "email")), email) ==
		-1)
		return flow_to_console(
		    req, ctx, "/login?oidc=unknown_identity");
	c = json_pack("{s:O,s:O,s:s}", "iss", json_object_get(claims, "iss"),
	    "sub", json_object_get(claims, "sub"), "email", email);
	kept = c != NULL ? json_dumps(c, JSON_COMPACT) : NULL;
	json_decref(c);
	if (kept == NULL || flow_key(ticket) == -1) {
		free(kept);
		return -1;
	}
	f.provider = p->id;
	f.purpose = "pending";
	f.claims = kept;
	f.ttl = FLOW_TTL;
	rc = flow_put(ctx, ticket, binding_hex, &f);
	free(kept);
	if (rc == -1)
		return -1;
	snprintf(path, sizeof(path), "/login?oidc=new#ticket=%s", ticket);
	return flow_to_console_keep(req, ctx, path, 1);
}

/* The console page a flow of 'purpose' returns to with 'reason'. */
static const char *
back_to(const char *purpose, const char *back, const char *reason, char out[64])
{
	int login =
	    strcmp(purpose, "login") == 0 || strcmp(purpose, "sso") == 0;

	snprintf(out, 64, "/%s?oidc=%s",
	    login			       ? "login"
		: strcmp(back, "company") == 0 ? "settings/company"
					       : "settings/account",
	    reason);
	return out;
}

/*
 * A session's holder signed in afresh at a provider (a reauth flow): the
 * identity must be one the account linked, authenticated after the flow
 * began (auth_time, which max_age makes the provider send). The session
 * is stamped for the next sensitive step (api_password_proof).
 */
static int
reauth_done(struct request *req, struct ctx *ctx, const struct provider *p,
    const json_t *claims, const char *cid, const char *uid, const char *sid,
    const char *back, long long started)
{
	const char   *params[4];
	const json_t *at = json_object_get(claims, "auth_time");
	char	      path[64];
	PGresult     *res;
	int	      ok;

	if (!json_is_integer(at) ||
	    json_integer_value(at) < started - OIDC_SKEW) {
		log_event(LOG_WARN, "oidc_reauth", LOG_S("provider", p->id),
		    LOG_S("reason", "not_fresh"));
		return flow_to_console(
		    req, ctx, back_to("reauth", back, "failed", path));
	}
	params[0] = json_string_value(json_object_get(claims, "iss"));
	params[1] = json_string_value(json_object_get(claims, "sub"));
	if ((res = db_exec(ctx->db, &q_identity_lookup, params)) == NULL)
		return -1;
	ok = PQntuples(res) == 1 &&
	    strcmp(row_get(res, 0, "user_id"), uid) == 0 &&
	    strcmp(row_get(res, 0, "company_id"), cid) == 0;
	PQclear(res);
	if (!ok) {
		log_event(LOG_WARN, "oidc_reauth", LOG_S("provider", p->id),
		    LOG_S("reason", "not_linked"));
		return flow_to_console(
		    req, ctx, back_to("reauth", back, "not_yours", path));
	}
	if (db_tenant_begin(ctx->db, cid, NULL, NULL, NULL) == -1)
		return api_unavailable(req);
	params[0] = sid;
	params[1] = cid;
	params[2] = uid;
	if ((res = db_exec(ctx->db, &q_session_reauth, params)) == NULL)
		return -1;
	ok = PQntuples(res) == 1;
	PQclear(res);
	if (!ok || event_record(ctx, cid, uid, "reauthenticated", NULL) == -1 ||
	    db_commit(ctx->db) == -1) {
		db_rollback(ctx->db);
		return ok ? -1
			  : flow_to_console(req, ctx,
				back_to("reauth", back, "failed", path));
	}
	return flow_to_console(
	    req, ctx, back_to("reauth", back, "reauthed", path));
}

/* Whether the ID token says several factors authenticated (RFC 8176). */
static int
amr_mfa(const json_t *claims)
{
	const json_t *v;
	size_t	      i;

	json_array_foreach(json_object_get(claims, "amr"), i, v)
	{
		if (json_is_string(v) &&
		    strcmp(json_string_value(v), "mfa") == 0)
			return 1;
	}
	return 0;
}

/* Signs in the account that holds the identity in 'claims'. */
static int
sign_in(struct request *req, struct ctx *ctx, const struct provider *p,
    const json_t *claims, const char *binding_hex)
{
	const char *iss = json_string_value(json_object_get(claims, "iss"));
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	const char *params[4] = { iss, sub, NULL, NULL };
	char	    uid[37], cid[37], role[8], email[321];
	struct sso_domain d;
	PGresult	 *res;
	json_t		 *tokens, *detail;
	const char	 *rt;
	int		  mfa, rc, sso;

	if ((res = db_exec(ctx->db, &q_identity_lookup, params)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		log_event(LOG_INFO, "oidc_login", LOG_S("provider", p->id),
		    LOG_S("reason", "unknown_identity"));
		return pending(req, ctx, p, claims, binding_hex);
	}
	snprintf(uid, sizeof(uid), "%s", row_get(res, 0, "user_id"));
	snprintf(cid, sizeof(cid), "%s", row_get(res, 0, "company_id"));
	PQclear(res);
	if (db_tenant_begin(ctx->db, cid, NULL, NULL, NULL) == -1)
		return api_unavailable(req);
	params[0] = uid;
	params[1] = cid;
	params[2] = iss;
	params[3] = sub;
	if ((res = db_exec(ctx->db, &q_identity_user, params)) == NULL ||
	    PQntuples(res) != 1) {
		PQclear(res);
		db_rollback(ctx->db);
		return flow_to_console(
		    req, ctx, "/login?oidc=unknown_identity");
	}
	snprintf(role, sizeof(role), "%s", row_get(res, 0, "role"));
	mfa = strcmp(row_get(res, 0, "mfa"), "t") == 0;
	snprintf(email, sizeof(email), "%s", row_get(res, 0, "email"));
	PQclear(res);
	/* A company that requires its SSO: its members sign in there. */
	if ((sso = sso_domain_of(ctx->db, email, &d)) == -1)
		return -1;
	if (sso && d.required && strcmp(d.company_id, cid) == 0) {
		db_rollback(ctx->db);
		log_event(LOG_INFO, "oidc_login", LOG_S("provider", p->id),
		    LOG_S("reason", "sso_required"));
		return flow_to_console(req, ctx, "/login?oidc=sso_required");
	}
	/* The provider's sign-in is the first factor: TOTP is the second.
	 * (A company may let its own IdP's MFA count, api_sso_finish; never
	 * a personal provider's, whose issuer the company does not know.) */
	if (mfa) {
		db_rollback(ctx->db);
		return flow_mfa_ticket(req, ctx, p->id, cid, uid, binding_hex);
	}
	detail = json_pack("{s:s,s:s}", "method", "oidc", "provider", p->id);
	if ((tokens = session_start(ctx, cid, uid, role)) == NULL ||
	    event_record(ctx, cid, uid, "login_success", detail) == -1 ||
	    db_commit(ctx->db) == -1) {
		json_decref(detail);
		json_decref(tokens);
		return -1;
	}
	json_decref(detail);
	rt = json_string_value(json_object_get(tokens, "refresh_token"));
	rc = rt == NULL || api_set_refresh_cookie(req, ctx, rt) == -1
	    ? -1
	    : flow_to_console(req, ctx, "/");
	json_decref(tokens);
	return rc;
}

/* A company's OpenID Provider's claims, as company SSO takes them: mfa
 * when its amr says so (RFC 8176). */
static int
sso_claims(struct request *req, struct ctx *ctx, const char *cid,
    const json_t *claims, const char *binding_hex)
{
	int	mfa = amr_mfa(claims), rc;
	json_t *n;

	/* The company's own IdP (one tenant, its issuer pinned) speaks for
	 * its domain's addresses, unless it says it did not verify one
	 * (Entra ID sends no email_verified: its tenant's admin sets them). */
	if (json_object_get(claims, "email_verified") != NULL &&
	    !email_verified(claims)) {
		log_event(LOG_INFO, "sso_login",
		    LOG_S("reason", "email_not_verified"));
		return flow_to_console(req, ctx, "/sso?sso=no_email");
	}
	n = json_pack("{s:O,s:O,s:O?,s:b}", "iss",
	    json_object_get(claims, "iss"), "sub",
	    json_object_get(claims, "sub"), "email",
	    json_object_get(claims, "email"), "mfa", mfa);
	if (n == NULL)
		return -1;
	rc = api_sso_finish(req, ctx, cid, n, binding_hex);
	json_decref(n);
	return rc;
}

int
h_oidc_callback(struct request *req, struct ctx *ctx)
{
	const char     *state = router_arg(req, "state");
	const char     *code = router_arg(req, "code"), *why = NULL, *bc;
	const char     *params[1];
	char		sh[65], bh[65], want[65], cid[37], uid[37], purpose[8];
	char		pid[33], buf[64], sid[37], back[8], path[64];
	char		kept[OIDC_CLAIMS_MAX];
	long long	started;
	struct provider p;
	PGresult       *res;
	json_t	       *claims;
	int		rc, n;

	if (state == NULL)
		return flow_to_console(req, ctx, "/login?oidc=failed");
	flow_hash(state, sh);
	params[0] = sh;
	if ((res = db_exec(ctx->db, &q_flow_take, params)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		log_event(LOG_INFO, "oidc_callback",
		    LOG_S("reason", "unknown_state"));
		return flow_to_console(req, ctx, "/login?oidc=expired");
	}
	snprintf(want, sizeof(want), "%s", row_get(res, 0, "binding"));
	snprintf(pid, sizeof(pid), "%s", row_get(res, 0, "provider"));
	snprintf(purpose, sizeof(purpose), "%s", row_get(res, 0, "purpose"));
	snprintf(cid, sizeof(cid), "%s", row_get(res, 0, "company_id"));
	snprintf(uid, sizeof(uid), "%s", row_get(res, 0, "user_id"));
	snprintf(sid, sizeof(sid), "%s", row_get(res, 0, "session_id"));
	snprintf(back, sizeof(back), "%s", row_get(res, 0, "return_to"));
	started = row_int(res, 0, "started");
	n = snprintf(kept, sizeof(kept), "%s", row_get(res, 0, "claims"));
	PQclear(res);
	if (n < 0 || (size_t)n >= sizeof(kept))
		return -1;
	/* The browser that started it, and no other. */
	if ((bc = api_cookie(req, FLOW_COOKIE, buf, sizeof(buf))) == NULL ||
	    (flow_hash(bc, bh), !crypto_equal(bh, want, 64))) {
		log_event(LOG_WARN, "oidc_callback",
		    LOG_S("reason", "binding_mismatch"));
		return flow_to_console(req, ctx, "/login?oidc=failed");
	}
	if (strcmp(purpose, "sso") == 0 && kept[0] != '\0') {
		/* A SAML assertion, verified at the ACS (src/api_sso.c). */
		if ((claims = json_loads(kept, 0, NULL)) == NULL)
			return -1;
		rc = api_sso_finish(req, ctx, cid, claims, want);
		json_decref(claims);
		return rc;
	}
	if (strcmp(purpose, "sso") == 0 ? provider_company(ctx, cid, &p) != 1
					: !provider_get(ctx->conf, pid, &p))
		return flow_to_console(req, ctx, "/login?oidc=failed");
	/* Verified at a form_post return already (h_oidc_callback_post). */
	if (kept[0] != '\0')
		claims = json_loads(kept, 0, NULL);
	else if (code == NULL)
		return flow_to_console(
		    req, ctx, back_to(purpose, back, "denied", path));
	else
		claims = id_token_claims(ctx, &p, state, code, &why);
	if (claims == NULL) {
		log_event(LOG_WARN, "oidc_callback", LOG_S("provider", p.id),
		    LOG_S("reason", why != NULL ? why : "failed"));
		return flow_to_console(
		    req, ctx, back_to(purpose, back, "failed", path));
	}
	if (strcmp(purpose, "sso") == 0)
		rc = sso_claims(req, ctx, cid, claims, want);
	else if (strcmp(purpose, "link") == 0)
		rc = link_identity(req, ctx, &p, cid, uid, claims);
	else if (strcmp(purpose, "reauth") == 0)
		rc = reauth_done(
		    req, ctx, &p, claims, cid, uid, sid, back, started);
	else
		rc = sign_in(req, ctx, &p, claims, want);
	json_decref(claims);
	return rc;
}

/*
 * A provider's form_post return (Apple): a cross-site POST, which
 * carries no SameSite=Lax cookie, so the browser cannot be checked here.
 * The code is exchanged and the ID token verified now (the code is
 * short-lived), the claims kept in the flow, and the browser sent on to
 * the GET callback, a same-site navigation that brings the binding
 * cookie: only there is the flow used, in the browser that started it.
 */
int
h_oidc_callback_post(struct request *req, struct ctx *ctx)
{
	const char     *state = api_body_str(req, "state");
	const char     *code = api_body_str(req, "code"), *why = NULL;
	const char     *params[2];
	char		sh[65], loc[700], *kept;
	struct provider p;
	PGresult       *res;
	json_t	       *claims;
	int		found;

	if (state == NULL)
		return flow_to_console(req, ctx, "/login?oidc=failed");
	flow_hash(state, sh);
	params[0] = sh;
	if ((res = db_exec(ctx->db, &q_flow_peek, params)) == NULL)
		return -1;
	found = PQntuples(res) == 1 &&
	    provider_get(ctx->conf, row_get(res, 0, "provider"), &p) && p.apple;
	PQclear(res);
	if (!found) {
		log_event(LOG_INFO, "oidc_callback",
		    LOG_S("reason", "unknown_state"));
		return flow_to_console_keep(req, ctx, "/login?oidc=expired", 1);
	}
	/* A refusal: the GET says so, in the browser that started it. */
	if (code != NULL) {
		if ((claims = id_token_claims(ctx, &p, state, code, &why)) ==
		    NULL) {
			log_event(LOG_WARN, "oidc_callback",
			    LOG_S("provider", p.id),
			    LOG_S("reason", why != NULL ? why : "failed"));
			return flow_to_console_keep(
			    req, ctx, "/login?oidc=failed", 1);
		}
		kept = flow_claims_kept(claims);
		json_decref(claims);
		if (kept == NULL)
			return -1;
		params[1] = kept;
		res = db_exec(ctx->db, &q_flow_returned, params);
		free(kept);
		if (res == NULL)
			return -1;
		found = PQntuples(res) == 1;
		PQclear(res);
		if (!found)
			return flow_to_console_keep(
			    req, ctx, "/login?oidc=expired", 1);
	}
	snprintf(loc, sizeof(loc), "%s/api/v1/auth/oidc/callback?state=%s",
	    ctx->conf->public_base_url, state);
	if (http_add_header(req, "Location", loc) == -1)
		return -1;
	return http_send_empty(req, 303);
}

/* --- the TOTP step --- */

static struct db_stmt q_mfa_take = { "oidc_mfa_take",
	"UPDATE oidc_flows SET used_at = now() WHERE state_hash = decode($1, "
	"'hex') AND purpose = 'mfa' AND used_at IS NULL AND expires_at > now() "
	"RETURNING encode(binding_hash, 'hex') AS binding, company_id, "
	"user_id, "
	"provider",
	1, 0, 0 };
static struct db_stmt q_mfa_user = { "oidc_mfa_user",
	"SELECT role, totp_secret_enc, totp_last_step FROM users WHERE id = $1 "
	"AND company_id = $2 AND totp_enabled_at IS NOT NULL",
	2, 0, 0 };

int
h_oidc_mfa(struct request *req, struct ctx *ctx)
{
	const char *ticket = api_body_str(req, "ticket");
	const char *code = api_body_str(req, "totp_code"), *params[2], *bc;
	char	    th[65], bh[65], want[65], cid[37], uid[37], pid[33];
	char	    role[8], step[24], buf[64], *secret = NULL;
	PGresult   *res;
	json_t	   *tokens = NULL, *detail = NULL;
	int	    ok, recovery = 0, rc = -1;

	flow_hash(ticket, th);
	params[0] = th;
	if ((res = db_exec(ctx->db, &q_mfa_take, params)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return api_problem(req, 400, "invalid_token",
		    "This sign-in is used or expired: sign in again");
	}
	snprintf(want, sizeof(want), "%s", row_get(res, 0, "binding"));
	snprintf(cid, sizeof(cid), "%s", row_get(res, 0, "company_id"));
	snprintf(uid, sizeof(uid), "%s", row_get(res, 0, "user_id"));
	snprintf(pid, sizeof(pid), "%s", row_get(res, 0, "provider"));
	PQclear(res);
	if ((bc = api_cookie(req, FLOW_COOKIE, buf, sizeof(buf))) == NULL ||
	    (flow_hash(bc, bh), !crypto_equal(bh, want, 64)))
		return api_problem(req, 400, "invalid_token",
		    "This sign-in is used or expired: sign in again");
	if (db_tenant_begin(ctx->db, cid, NULL, NULL, NULL) == -1)
		return api_unavailable(req);
	params[0] = uid;
	params[1] = cid;
	if ((res = db_exec(ctx->db, &q_mfa_user, params)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		db_rollback(ctx->db);
		return api_problem(req, 400, "invalid_token",
		    "This sign-in is used or expired: sign in again");
	}
	snprintf(role, sizeof(role), "%s", row_get(res, 0, "role"));
	snprintf(step, sizeof(step), "%s", row_get(res, 0, "totp_last_step"));
	secret = strdup(row_get(res, 0, "totp_secret_enc"));
	PQclear(res);
	if (secret == NULL)
		goto out;
	if ((ok = mfa_verify(
		 ctx->db, cid, uid, secret, step, code, &recovery)) == -1)
		goto out;
	if (!ok) {
		db_rollback(ctx->db);
		api_login_failed(req, ctx, cid, uid, "oidc_mfa");
		(void)flow_end_binding(req);
		rc = api_problem(req, 401, "mfa_invalid",
		    "Wrong or already used code: sign in again");
		goto out;
	}
	detail = json_pack("{s:s,s:s,s:b,s:b}", "method", "oidc", "provider",
	    pid, "mfa", 1, "recovery_code", recovery);
	if ((tokens = session_start_ttl(ctx, cid, uid, role,
		 strcmp(pid, "sso") == 0 ? ctx->conf->sso_session_ttl
					 : ctx->conf->refresh_ttl)) == NULL ||
	    event_record(ctx, cid, uid, "login_success", detail) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	if (flow_end_binding(req) == -1)
		goto out;
	rc = api_send_tokens(req, ctx, 200, tokens);
	tokens = NULL; /* taken */
out:
	if (secret != NULL) {
		crypto_wipe(secret, strlen(secret));
		free(secret);
	}
	json_decref(detail);
	json_decref(tokens);
	return rc;
}

/* --- an identity nobody linked: sign up with it, or link it --- */

static struct db_stmt q_pending_get = { "oidc_pending_get",
	"SELECT provider, claims->>'iss' AS iss, claims->>'sub' AS sub, "
	"claims->>'email' AS email FROM oidc_flows WHERE state_hash = "
	"decode($1, 'hex') AND binding_hash = decode($2, 'hex') AND purpose = "
	"'pending' AND used_at IS NULL AND expires_at > now()",
	2, 0, 0 };
static struct db_stmt q_pending_take = { "oidc_pending_take",
	"UPDATE oidc_flows SET used_at = now() WHERE state_hash = decode($1, "
	"'hex') AND binding_hash = decode($2, 'hex') AND purpose = 'pending' "
	"AND used_at IS NULL AND expires_at > now() RETURNING provider",
	2, 0, 0 };

/* A pending identity, from its ticket. */
struct pend {
	char th[65], bh[65];
	char provider[33], iss[513], sub[256], email[321];
};

/* Finds the pending identity of the body's ticket in this browser: 1, or
 * 0 after answering 400 invalid_token, or -1. */
static int
pending_get(struct request *req, struct ctx *ctx, struct pend *pd)
{
	const char *bc, *params[2];
	char	    buf[64];
	PGresult   *res;
	int	    found;

	memset(pd, 0, sizeof(*pd));
	if ((bc = api_cookie(req, FLOW_COOKIE, buf, sizeof(buf))) == NULL) {
		api_problem(req, 400, "invalid_token",
		    "This sign-in is used or expired: sign in again");
		return 0;
	}
	flow_hash(api_body_str(req, "ticket"), pd->th);
	flow_hash(bc, pd->bh);
	params[0] = pd->th;
	params[1] = pd->bh;
	if ((res = db_exec(ctx->db, &q_pending_get, params)) == NULL)
		return -1;
	if ((found = PQntuples(res) == 1)) {
		snprintf(pd->provider, sizeof(pd->provider), "%s",
		    row_get(res, 0, "provider"));
		snprintf(
		    pd->iss, sizeof(pd->iss), "%s", row_get(res, 0, "iss"));
		snprintf(
		    pd->sub, sizeof(pd->sub), "%s", row_get(res, 0, "sub"));
		snprintf(pd->email, sizeof(pd->email), "%s",
		    row_get(res, 0, "email"));
	}
	PQclear(res);
	if (!found)
		api_problem(req, 400, "invalid_token",
		    "This sign-in is used or expired: sign in again");
	return found;
}

/* Spends the ticket, in the caller's transaction: 1, or 0 (used since). */
static int
pending_take(struct ctx *ctx, const struct pend *pd)
{
	const char *params[2] = { pd->th, pd->bh };
	PGresult   *res;
	int	    n;

	if ((res = db_exec(ctx->db, &q_pending_take, params)) == NULL)
		return -1;
	n = PQntuples(res);
	PQclear(res);
	return n == 1;
}

int
h_oidc_pending(struct request *req, struct ctx *ctx)
{
	struct provider p;
	struct pend	pd;
	char		uid[37], cid[37];
	int		rc, found;

	if ((rc = pending_get(req, ctx, &pd)) != 1)
		return rc;
	if ((found = account_lookup_email(ctx->db, pd.email, uid, cid)) == -1)
		return -1;
	(void)provider_get(ctx->conf, pd.provider, &p);
	return api_send(req, 200,
	    json_pack("{s:s,s:s,s:s,s:b}", "provider", pd.provider,
		"provider_name", p.name != NULL ? p.name : pd.provider, "email",
		pd.email, "account_exists", found));
}

/*
 * Signs up with a pending identity: a company and its owner, who has no
 * password (the provider is the way in), with registration's captcha and
 * limits. The address is the one the provider verified.
 */
int
h_oidc_signup(struct request *req, struct ctx *ctx)
{
	struct new_company nc = { 0 };
	struct pend	   pd;
	char		   cid[37], uid[37];
	json_t		  *tokens = NULL, *detail = NULL;
	int		   rc;

	if ((rc = pending_get(req, ctx, &pd)) != 1)
		return rc;
	if (api_signup_gate(req, ctx, pd.email) == HTTP_ANSWERED)
		return 0;
	if (crypto_uuid(cid) == -1)
		return -1;
	if (db_tenant_begin(ctx->db, cid, NULL, NULL, NULL) == -1)
		return api_unavailable(req);
	if ((rc = pending_take(ctx, &pd)) != 1) {
		db_rollback(ctx->db);
		return rc == -1 ? -1
				: api_problem(req, 400, "invalid_token",
				      "This sign-in is used or expired: sign "
				      "in again");
	}
	nc.cid = cid;
	nc.company_name = api_body_str(req, "company_name");
	nc.name = api_body_str(req, "name");
	nc.email = pd.email;
	nc.password_hash = NULL;
	if ((rc = api_company_create(req, ctx, &nc, uid)) != 0)
		return rc == HTTP_ANSWERED ? 0 : -1;
	if ((rc = flow_identity_link(
		 ctx, pd.provider, cid, uid, pd.iss, pd.sub, pd.email)) != 1)
		return rc == 0 ? api_problem(req, 409, "identity_taken",
				     "This identity is linked to an account "
				     "already: sign in with it")
			       : -1;
	rc = -1;
	detail =
	    json_pack("{s:s,s:s}", "method", "oidc", "provider", pd.provider);
	if ((tokens = session_start(ctx, cid, uid, "owner")) == NULL ||
	    event_record(ctx, cid, uid, "register", detail) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	if (flow_end_binding(req) == -1)
		goto out;
	rc = api_send_signed_up(req, ctx, &nc, uid, tokens);
out:
	json_decref(detail);
	json_decref(tokens);
	return rc;
}

/*
 * Links a pending identity to the account of the address the provider
 * verified, which its holder proves as at a login (password, and the
 * TOTP code when on; the login limits apply), and signs in.
 */
int
h_oidc_link_account(struct request *req, struct ctx *ctx)
{
	struct login_ok r;
	struct pend	pd;
	json_t	       *tokens = NULL, *detail = NULL;
	int		rc;

	if ((rc = pending_get(req, ctx, &pd)) != 1)
		return rc;
	if ((rc = api_password_login(req, ctx, pd.email,
		 api_body_str(req, "password"), api_body_str(req, "totp_code"),
		 &r)) != 1)
		return rc == HTTP_ANSWERED ? 0 : -1;
	/* An owner past required SSO by break glass links nothing: their
	 * company signs its members in through its own IdP. */
	if (r.break_glass) {
		db_rollback(ctx->db);
		return api_problem(req, 403, "sso_required",
		    "Your company signs you in through its identity provider");
	}
	if ((rc = pending_take(ctx, &pd)) != 1) {
		db_rollback(ctx->db);
		return rc == -1 ? -1
				: api_problem(req, 400, "invalid_token",
				      "This sign-in is used or expired: sign "
				      "in again");
	}
	if ((rc = flow_identity_link(ctx, pd.provider, r.cid, r.uid, pd.iss,
		 pd.sub, pd.email)) != 1)
		return rc == 0 ? api_problem(req, 409, "identity_taken",
				     "This identity is linked to an account "
				     "already: sign in with it")
			       : -1;
	rc = -1;
	detail = json_pack("{s:s,s:s,s:b,s:b}", "method", "oidc", "provider",
	    pd.provider, "mfa", r.mfa, "linked", 1);
	if ((tokens = session_start(ctx, r.cid, r.uid, r.role)) == NULL ||
	    event_record(ctx, r.cid, r.uid, "login_success", detail) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	if (flow_end_binding(req) == -1)
		goto out;
	rc = api_send_tokens(req, ctx, 200, tokens);
	tokens = NULL; /* taken */
out:
	json_decref(detail);
	json_decref(tokens);
	return rc;
}

/* --- an account's identities --- */

static struct db_stmt q_identities = { "oidc_identities",
	"SELECT id, provider, email, parley_time(created_at) AS created_at, "
	"parley_time(last_used_at) AS last_used_at FROM user_identities WHERE "
	"company_id = $1 AND user_id = $2 ORDER BY created_at",
	2, 0, 0 };
/* Not the last way in: an account without a password keeps one
 * identity (the user row is locked, so two deletions cannot race). */
static struct db_stmt q_identity_delete = { "oidc_identity_delete",
	"WITH u AS (SELECT password_hash IS NOT NULL AS pw FROM users WHERE "
	"company_id = $1 AND id = $2 FOR UPDATE), d AS (DELETE FROM "
	"user_identities WHERE company_id = $1 AND user_id = $2 AND id = $3 "
	"AND ((SELECT pw FROM u) OR (SELECT count(*) FROM user_identities "
	"WHERE company_id = $1 AND user_id = $2) > 1) RETURNING id) SELECT "
	"(SELECT count(*) FROM d) AS deleted, EXISTS (SELECT 1 FROM "
	"user_identities WHERE company_id = $1 AND user_id = $2 AND id = $3) "
	"AS exists",
	3, 0, 0 };

int
h_identities(struct request *req, struct ctx *ctx)
{
	const char *params[2] = { ctx->who.company_id, ctx->who.user_id };
	PGresult   *res;
	json_t	   *items;
	int	    i;

	if ((res = db_exec(ctx->db, &q_identities, params)) == NULL)
		return -1;
	items = json_array();
	for (i = 0; items != NULL && i < PQntuples(res); i++)
		json_array_append_new(items,
		    json_pack("{s:s,s:s,s:s?,s:s,s:s?}", "id",
			row_get(res, i, "id"), "provider",
			row_get(res, i, "provider"), "email",
			row_opt(res, i, "email"), "created_at",
			row_get(res, i, "created_at"), "last_used_at",
			row_opt(res, i, "last_used_at")));
	PQclear(res);
	if (db_commit(ctx->db) == -1) {
		json_decref(items);
		return -1;
	}
	return items != NULL ? http_send_items(req, items) : -1;
}

int
h_identity_delete(struct request *req, struct ctx *ctx)
{
	const char *params[3] = { ctx->who.company_id, ctx->who.user_id,
		router_param(req, "id") };
	PGresult   *res;
	int	    found, last;

	if ((res = db_exec(ctx->db, &q_identity_delete, params)) == NULL)
		return -1;
	found = row_int(res, 0, "deleted") == 1;
	last = !found && row_bool(res, 0, "exists");
	PQclear(res);
	if (!found) {
		db_rollback(ctx->db);
		return last ? api_problem(req, 409, "last_sign_in_method",
				  "This is your only way to sign in: set a "
				  "password or link another provider first")
			    : router_not_found(req);
	}
	if (api_audit(req, ctx, params[2], NULL, NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		return -1;
	return http_send_empty(req, 204);
}
