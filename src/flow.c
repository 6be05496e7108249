/*
 * flow.c: sign-ins on their way through an identity provider (an OpenID
 * Provider, a company's SAML IdP), and the tickets after one: the rows
 * of oidc_flows, the cookie that binds them to the browser that started
 * them, the values derived from their state, and the way back to the
 * console. See flow.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "conf.h"
#include "crypto.h"
#include "ctx.h"
#include "db.h"
#include "flow.h"
#include "http.h"
#include "security_events.h"
#include "server_keys.h"

/*
 * base64url(HMAC(derived key, label ":" state)): the verifier, the nonce,
 * a SAML request's id. Under the names key (from the audit key, which
 * never changes), not the signing key: a flow begun on one host may end
 * on another, and hosts sign with different keys during a rotation.
 */
void
flow_derive(const char *label, const char *state, char out[44])
{
	char msg[128];

	snprintf(msg, sizeof(msg), "%s:%s", label, state);
	keys_name_mac("parley oidc v1", msg, out);
}

/* Hex SHA-256 of 's'. */
void
flow_hash(const char *s, char hex[65])
{
	unsigned char h[32];

	crypto_sha256(s, strlen(s), h);
	crypto_hex(h, sizeof(h), hex);
}

static struct db_stmt q_flow_new = { "oidc_flow_new",
	"INSERT INTO oidc_flows (state_hash, binding_hash, provider, purpose, "
	"company_id, user_id, expires_at, session_id, claims, return_to) "
	"VALUES (decode($1, 'hex'), decode($2, 'hex'), $3, $4, $5::uuid, "
	"$6::uuid, now() + make_interval(secs => $7::int), $8::uuid, "
	"$9::jsonb, $10)",
	10, 0, 0 };

/* Stores 'f' under the hash of 'key', bound to the browser whose
 * cookie's hash is 'binding_hex'. */
int
flow_put(struct ctx *ctx, const char *key, const char *binding_hex,
    const struct flow *f)
{
	char	    kh[65], ttl[12];
	const char *params[10];
	PGresult   *res;

	flow_hash(key, kh);
	snprintf(ttl, sizeof(ttl), "%d", f->ttl);
	params[0] = kh;
	params[1] = binding_hex;
	params[2] = f->provider;
	params[3] = f->purpose;
	params[4] = f->company_id;
	params[5] = f->user_id;
	params[6] = ttl;
	params[7] = f->session_id;
	params[8] = f->claims;
	params[9] = f->return_to;
	if ((res = db_exec(ctx->db, &q_flow_new, params)) == NULL)
		return -1;
	PQclear(res);
	return 0;
}

/* A new random key (state, binding, ticket), base64url. */
int
flow_key(char out[44])
{
	unsigned char rnd[32];

	if (crypto_random(rnd, sizeof(rnd)) == -1)
		return -1;
	crypto_b64url_encode(rnd, sizeof(rnd), out, 44);
	return 0;
}

/* The binding cookie's end. */
int
flow_set_binding(struct request *req, const char *binding)
{
	char cookie[160];

	snprintf(cookie, sizeof(cookie),
	    "%s=%s; Path=/api/v1/auth/oidc; Max-Age=%d; HttpOnly; Secure; "
	    "SameSite=Lax",
	    FLOW_COOKIE, binding, FLOW_TTL);
	return http_add_header(req, "Set-Cookie", cookie);
}

int
flow_end_binding(struct request *req)
{
	return http_add_header(req, "Set-Cookie",
	    FLOW_COOKIE "=; Path=/api/v1/auth/oidc; Max-Age=0; HttpOnly; "
			"Secure; SameSite=Lax");
}

/* 303 to the console page 'path'; 'keep': the binding cookie stays (for
 * the TOTP step), else it ends. */
int
flow_to_console_keep(
    struct request *req, struct ctx *ctx, const char *path, int keep)
{
	char loc[700];

	snprintf(loc, sizeof(loc), "%s%s", ctx->conf->public_base_url, path);
	if (http_add_header(req, "Location", loc) == -1 ||
	    (!keep && flow_end_binding(req) == -1))
		return -1;
	return http_send_empty(req, 303);
}

int
flow_to_console(struct request *req, struct ctx *ctx, const char *path)
{
	return flow_to_console_keep(req, ctx, path, 0);
}

static struct db_stmt q_identity_link = { "oidc_identity_link",
	"INSERT INTO user_identities (company_id, user_id, provider, issuer, "
	"subject, email) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (issuer, "
	"subject) DO NOTHING RETURNING id",
	6, 0, 0 };

/*
 * Links identity (iss, sub) at provider 'pid' to account (cid, uid),
 * audited, inside the company's tenant transaction: 1 linked, 0 linked
 * to someone already (rolled back), -1.
 */
int
flow_identity_link(struct ctx *ctx, const char *pid, const char *cid,
    const char *uid, const char *iss, const char *sub, const char *email)
{
	const char	  *params[6] = { cid, uid, pid, iss, sub, email };
	struct audit_entry e = { 0 };
	PGresult	  *res;
	int		   rc;

	if (email != NULL && strlen(email) > 320)
		params[5] = NULL;
	if ((res = db_exec(ctx->db, &q_identity_link, params)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		db_rollback(ctx->db);
		return 0;
	}
	ctx->who.kind = AUTH_USER;
	snprintf(ctx->who.company_id, sizeof(ctx->who.company_id), "%s", cid);
	snprintf(ctx->who.user_id, sizeof(ctx->who.user_id), "%s", uid);
	e.action = "user.identity_link";
	e.resource_type = "user_identity";
	e.resource_id = PQgetvalue(res, 0, 0);
	rc = audit_write(ctx, &e) == -1 ||
		event_record(ctx, cid, uid, "identity_linked", NULL) == -1
	    ? -1
	    : 1;
	PQclear(res);
	return rc;
}

/*
 * The TOTP step of an account that signed in through provider 'pid': a
 * ticket of one try, bound to the same browser ('binding_hex'), for
 * five minutes; the console asks for the code.
 */
int
flow_mfa_ticket(struct request *req, struct ctx *ctx, const char *pid,
    const char *cid, const char *uid, const char *binding_hex)
{
	struct flow f = { 0 };
	char	    ticket[44], path[96];

	f.provider = pid;
	f.purpose = "mfa";
	f.company_id = cid;
	f.user_id = uid;
	f.ttl = 300;
	if (flow_key(ticket) == -1 ||
	    flow_put(ctx, ticket, binding_hex, &f) == -1)
		return -1;
	snprintf(path, sizeof(path), "/login?oidc=mfa#ticket=%s", ticket);
	return flow_to_console_keep(req, ctx, path, 1);
}

/* What a flow keeps of verified claims: what its step reads. */
char *
flow_claims_kept(const json_t *claims)
{
	static const char *const keep[] = { "iss", "sub", "email",
		"email_verified", "auth_time", "tid", "acr", "amr" };
	json_t			*o = json_object();
	char			*out;
	size_t			 i;

	for (i = 0; o != NULL && i < sizeof(keep) / sizeof(keep[0]); i++)
		if (json_object_get(claims, keep[i]) != NULL)
			json_object_set(
			    o, keep[i], json_object_get(claims, keep[i]));
	out = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (out != NULL && strlen(out) > 4000) {
		free(out);
		out = NULL;
	}
	return out;
}
