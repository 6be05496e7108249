/*
 * api_sso.c: a company's own single sign-on (issue 17, item 3): the
 * e-mail domains it proves by DNS, its identity provider (SAML 2.0 or
 * OpenID Connect) and policy, every change audited; the SAML endpoints
 * (parley's metadata, the Assertion Consumer Service); signing in a
 * member whose identity the company's IdP asserted.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account.h"
#include "api.h"
#include "audit.h"
#include "conf.h"
#include "crypto.h"
#include "ctx.h"
#include "db.h"
#include "dns.h"
#include "flow.h"
#include "handler.h"
#include "http.h"
#include "log.h"
#include "oidc.h"
#include "resources.h"
#include "router.h"
#include "saml.h"
#include "security_events.h"
#include "server_keys.h"
#include "session.h"
#include "sso.h"
#include "validate.h"

#define DNS_TIMEOUT_MS 5000

/* --- domains --- */

static struct db_stmt q_domains = { "sso_domains",
	"SELECT {{CompanyDomain}} FROM company_domains WHERE company_id = $1 "
	"ORDER BY domain",
	1, 0, 0 };
static struct db_stmt q_domain_add = { "sso_domain_add",
	"INSERT INTO company_domains (company_id, domain, token) VALUES ($1, "
	"$2, $3) ON CONFLICT (company_id, domain) DO NOTHING RETURNING "
	"{{CompanyDomain}}",
	3, 0, 0 };
static struct db_stmt q_domain_get = { "sso_domain_get",
	"SELECT domain, token, verified_at IS NOT NULL AS verified FROM "
	"company_domains WHERE company_id = $1 AND id = $2 FOR UPDATE",
	2, 0, 0 };
static struct db_stmt q_domain_verified = { "sso_domain_verified",
	"UPDATE company_domains SET verified_at = now() WHERE company_id = $1 "
	"AND id = $2 RETURNING {{CompanyDomain}}",
	2, 0, 0 };
static struct db_stmt q_domain_delete = { "sso_domain_delete",
	"DELETE FROM company_domains WHERE company_id = $1 AND id = $2 "
	"RETURNING id",
	2, 0, 0 };

int
h_sso_domains(struct request *req, struct ctx *ctx)
{
	const char *p[1] = { ctx->who.company_id };

	return api_list(req, ctx, &q_domains, p);
}

/* 'in' lower-cased into 'out' if it is a domain name parley takes. */
static int
domain_ok(const char *in, char out[254])
{
	size_t i, n = strlen(in), label = 0, dots = 0;

	if (n < 4 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		char c =
		    in[i] >= 'A' && in[i] <= 'Z' ? (char)(in[i] + 32) : in[i];

		if (c == '.') {
			if (label == 0 || out[i - 1] == '-')
				return 0;
			label = 0;
			dots++;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (c == '-' && label > 0)) {
			if (++label > 63)
				return 0;
		} else
			return 0;
		out[i] = c;
	}
	out[n] = '\0';
	return dots > 0 && label > 1 && out[n - 1] != '-';
}

int
h_sso_domain_add(struct request *req, struct ctx *ctx)
{
	unsigned char rnd[16];
	char	      domain[254], token[33];
	const char   *params[3];
	struct verr   err = { "domain", "format", "" };
	PGresult     *res;
	json_t	     *o;

	if (!domain_ok(api_body_str(req, "domain"), domain))
		return validate_problem(req, &err);
	if (crypto_random(rnd, sizeof(rnd)) == -1)
		return -1;
	crypto_hex(rnd, sizeof(rnd), token);
	params[0] = ctx->who.company_id;
	params[1] = domain;
	params[2] = token;
	if ((res = db_exec(ctx->db, &q_domain_add, params)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		db_rollback(ctx->db);
		return api_problem(req, 409, "domain_exists",
		    "The company claims this domain already");
	}
	o = row_json(&row_company_domain, res, 0);
	if (o == NULL ||
	    api_audit(req, ctx, row_get(res, 0, "id"), NULL, NULL) == -1 ||
	    db_commit(ctx->db) == -1) {
		PQclear(res);
		json_decref(o);
		return -1;
	}
	PQclear(res);
	return api_send(req, 201, o);
}

/*
 * Verifies a claimed domain: its TXT record at _parley-verification.
 * DOMAIN must be "parley-verification=TOKEN", read through a real
 * resolver. One company may verify a domain.
 */
int
h_sso_domain_verify(struct request *req, struct ctx *ctx)
{
	const char    *params[2] = { ctx->who.company_id,
		   router_param(req, "id") };
	char	       domain[254], want[64], name[300];
	struct dns_txt txt;
	const char    *why;
	PGresult      *res;
	json_t	      *o;
	int	       i, found = 0, verified;

	if ((res = db_exec(ctx->db, &q_domain_get, params)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		db_rollback(ctx->db);
		return router_not_found(req);
	}
	snprintf(domain, sizeof(domain), "%s", row_get(res, 0, "domain"));
	snprintf(want, sizeof(want), "parley-verification=%s",
	    row_get(res, 0, "token"));
	verified = row_bool(res, 0, "verified");
	PQclear(res);
	if (verified) {
		db_rollback(ctx->db);
		return api_problem(req, 409, "domain_verified",
		    "This domain is verified already");
	}
	/* No transaction held while the resolver answers. */
	db_rollback(ctx->db);
	snprintf(name, sizeof(name), "_parley-verification.%s", domain);
	if (dns_txt(ctx->conf->dns_servers, name, DNS_TIMEOUT_MS, &txt, &why) ==
	    -1) {
		log_event(LOG_WARN, "dns_txt", LOG_S("reason", why));
		return http_send_problem(req, 503, "dns_unavailable",
		    "The DNS could not be asked: try again later", NULL, NULL,
		    NULL);
	}
	for (i = 0; i < txt.n; i++)
		if (strcmp(txt.rec[i], want) == 0)
			found = 1;
	if (!found) {
		o = json_pack("{s:s,s:s}", "txt_name", name, "txt_value", want);
		http_send_problem(req, 422, "dns_record_missing",
		    "The TXT record was not found",
		    "Publish the TXT record, wait for it to reach the DNS, and "
		    "verify again.",
		    o, NULL);
		json_decref(o);
		return 0;
	}
	if (db_tenant_begin(ctx->db, ctx->who.company_id, NULL, NULL, NULL) ==
	    -1)
		return api_unavailable(req);
	if ((res = db_exec(ctx->db, &q_domain_verified, params)) == NULL) {
		if (strcmp(db_last_sqlstate(ctx->db), "23505") != 0)
			return -1;
		db_rollback(ctx->db);
		return api_problem(req, 409, "domain_taken",
		    "Another company verified this domain");
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		db_rollback(ctx->db);
		return router_not_found(req);
	}
	o = row_json(&row_company_domain, res, 0);
	PQclear(res);
	if (o == NULL || api_audit(req, ctx, params[1], NULL, NULL) == -1 ||
	    db_commit(ctx->db) == -1) {
		json_decref(o);
		return -1;
	}
	return api_send(req, 200, o);
}

int
h_sso_domain_delete(struct request *req, struct ctx *ctx)
{
	const char *params[2] = { ctx->who.company_id,
		router_param(req, "id") };

	return api_delete(req, ctx, &q_domain_delete, params);
}

/* --- the identity provider and its policy --- */

static struct db_stmt q_sso_get = { "sso_get",
	"SELECT {{CompanySso}} FROM company_sso WHERE company_id = $1", 1, 0,
	0 };
/* What GET answers before an IdP is configured: every default. */
static struct db_stmt q_sso_none = { "sso_none",
	"SELECT NULL::text AS protocol, false AS enabled, false AS required, "
	"false AS jit, 'member' AS jit_role, false AS idp_mfa, false AS "
	"allow_idp_initiated, NULL::text AS saml_idp_entity_id, NULL::text AS "
	"oidc_issuer, NULL::text AS oidc_client_id, false AS "
	"has_client_secret, NULL::timestamptz AS updated_at",
	0, 0, 0 };
static struct db_stmt q_sso_put = { "sso_put",
	"INSERT INTO company_sso (company_id, protocol, enabled, "
	"saml_metadata, saml_idp_entity_id, allow_idp_initiated, oidc_issuer, "
	"oidc_client_id, oidc_client_secret_enc, required, jit, jit_role, "
	"idp_mfa) VALUES ($1, $2, $3::boolean, $4, $5, $6::boolean, $7, $8, "
	"$9, $10::boolean, $11::boolean, $12, $13::boolean) ON CONFLICT "
	"(company_id) DO UPDATE SET protocol = EXCLUDED.protocol, enabled = "
	"EXCLUDED.enabled, saml_metadata = EXCLUDED.saml_metadata, "
	"saml_idp_entity_id = EXCLUDED.saml_idp_entity_id, allow_idp_initiated "
	"= EXCLUDED.allow_idp_initiated, oidc_issuer = EXCLUDED.oidc_issuer, "
	"oidc_client_id = EXCLUDED.oidc_client_id, oidc_client_secret_enc = "
	"coalesce(EXCLUDED.oidc_client_secret_enc, CASE WHEN "
	"EXCLUDED.oidc_issuer IS NOT NULL THEN "
	"company_sso.oidc_client_secret_enc END), required = "
	"EXCLUDED.required, jit = EXCLUDED.jit, jit_role = EXCLUDED.jit_role, "
	"idp_mfa = EXCLUDED.idp_mfa, updated_at = now() RETURNING "
	"{{CompanySso}}",
	13, 0, 0 };
static struct db_stmt q_sso_delete = { "sso_delete",
	"DELETE FROM company_sso WHERE company_id = $1 RETURNING company_id", 1,
	0, 0 };
static struct db_stmt q_sso_preconditions = { "sso_preconditions",
	"SELECT EXISTS (SELECT 1 FROM company_domains WHERE company_id = $1 "
	"AND verified_at IS NOT NULL) AS domain, (SELECT totp_enabled_at IS "
	"NOT NULL FROM users WHERE company_id = $1 AND id = $2) AS totp",
	2, 0, 0 };

/* The CompanySso object of row 0 of 'res', with parley's own URLs. */
static json_t *
sso_json(struct ctx *ctx, PGresult *res)
{
	struct saml_sp sp = { "", "" };
	json_t	      *o = row_json(&row_company_sso, res, 0);
	char	       redirect[600];

	saml_sp_of(ctx->conf, ctx->who.company_id, &sp);
	snprintf(redirect, sizeof(redirect), "%s/api/v1/auth/oidc/callback",
	    ctx->conf->public_base_url);
	if (o != NULL) {
		json_object_set_new(
		    o, "sp_entity_id", json_string(sp.entity_id));
		json_object_set_new(o, "sp_acs_url", json_string(sp.acs_url));
		json_object_set_new(
		    o, "oidc_redirect_uri", json_string(redirect));
	}
	return o;
}

int
h_sso_get(struct request *req, struct ctx *ctx)
{
	const char *params[1] = { ctx->who.company_id };
	PGresult   *res;
	json_t	   *o;

	if ((res = db_exec(ctx->db, &q_sso_get, params)) == NULL)
		return -1;
	if (PQntuples(res) != 1) { /* none yet: the defaults */
		PQclear(res);
		if ((res = db_exec(ctx->db, &q_sso_none, NULL)) == NULL)
			return -1;
	}
	o = sso_json(ctx, res);
	PQclear(res);
	if (o == NULL || db_commit(ctx->db) == -1) {
		json_decref(o);
		return -1;
	}
	return api_send(req, 200, o);
}

static const char *
bool_param(const struct request *req, const char *name)
{
	return json_is_true(json_object_get(req->json, name)) ? "t" : "f";
}

/*
 * Sets the company's identity provider and policy, as a whole (PUT). A
 * SAML IdP's metadata must parse, name its entity id, an HTTP-Redirect
 * sign-on URL and a signing certificate; an OpenID issuer must answer
 * its discovery document. Requiring SSO needs a verified domain and an
 * owner with TOTP on (the break-glass path). Audited, with the names of
 * the fields sent (a client secret's name, never its value).
 */
int
h_sso_put(struct request *req, struct ctx *ctx)
{
	const char	*proto = api_body_str(req, "protocol");
	const char	*meta = api_body_str(req, "saml_metadata");
	const char	*issuer = api_body_str(req, "oidc_issuer");
	const char	*client = api_body_str(req, "oidc_client_id");
	const char	*secret = api_body_str(req, "oidc_client_secret");
	const char	*role = api_body_str(req, "jit_role"), *why;
	const char	*params[13];
	char		 entity[1025] = "", aad[64], *sealed = NULL;
	struct oidc_meta m;
	struct verr	 err = { NULL, NULL, "" };
	PGresult	*res;
	json_t		*o, *names;
	const char	*k;
	json_t		*v;
	int		 saml = strcmp(proto, "saml") == 0, rc = -1;

	if (saml) {
		if (meta == NULL) {
			err.field = "saml_metadata";
			err.code = "required";
			return validate_problem(req, &err);
		}
		if (saml_idp_check(meta, entity, &why) == -1) {
			o = json_pack("{s:s}", "reason", why);
			http_send_problem(req, 422, "bad_metadata",
			    "The IdP's metadata is not usable", NULL, o, NULL);
			json_decref(o);
			return 0;
		}
	} else {
		if (issuer == NULL || client == NULL) {
			err.field =
			    issuer == NULL ? "oidc_issuer" : "oidc_client_id";
			err.code = "required";
			return validate_problem(req, &err);
		}
		if (oidc_discover(ctx->conf, issuer, &m, &why) == -1 ||
		    (m.tenant_template && (why = "multi_tenant_issuer"))) {
			o = json_pack("{s:s}", "reason", why);
			http_send_problem(req, 422, "provider_unusable",
			    "The issuer's discovery document could not be read",
			    NULL, o, NULL);
			json_decref(o);
			return 0;
		}
	}
	if (json_is_true(json_object_get(req->json, "required"))) {
		params[0] = ctx->who.company_id;
		params[1] = ctx->who.user_id;
		if ((res = db_exec(ctx->db, &q_sso_preconditions, params)) ==
		    NULL)
			return -1;
		if (!row_bool(res, 0, "domain") || !row_bool(res, 0, "totp")) {
			int domain = row_bool(res, 0, "domain");

			PQclear(res);
			db_rollback(ctx->db);
			return domain
			    ? api_problem(req, 409, "break_glass_needs_totp",
				  "Turn on two-factor authentication first: "
				  "owners sign in with password and code when "
				  "the IdP fails")
			    : api_problem(req, 409, "no_verified_domain",
				  "Verify a domain first: SSO is required for "
				  "the verified domains' members");
		}
		PQclear(res);
	}
	if (!saml && secret != NULL) {
		sso_secret_aad(ctx->who.company_id, aad);
		if ((sealed = keyring_encrypt(
			 keys_ring(), aad, secret, strlen(secret))) == NULL)
			return -1;
	}
	params[0] = ctx->who.company_id;
	params[1] = proto;
	params[2] = bool_param(req, "enabled");
	params[3] = saml ? meta : NULL;
	params[4] = saml ? entity : NULL;
	params[5] = bool_param(req, "allow_idp_initiated");
	params[6] = saml ? NULL : issuer;
	params[7] = saml ? NULL : client;
	params[8] = sealed;
	params[9] = bool_param(req, "required");
	params[10] = bool_param(req, "jit");
	params[11] = role != NULL ? role : "member";
	params[12] = bool_param(req, "idp_mfa");
	res = db_exec(ctx->db, &q_sso_put, params);
	free(sealed);
	if (res == NULL)
		return -1;
	o = sso_json(ctx, res);
	PQclear(res);
	names = json_array();
	json_object_foreach(req->json, k, v)
	    json_array_append_new(names, json_string(k));
	if (o != NULL && names != NULL &&
	    api_audit(req, ctx, ctx->who.company_id, names, NULL) == 0 &&
	    db_commit(ctx->db) == 0) {
		rc = api_send(req, 200, o);
		o = NULL;
	}
	json_decref(names);
	json_decref(o);
	return rc;
}

int
h_sso_delete(struct request *req, struct ctx *ctx)
{
	const char *params[1] = { ctx->who.company_id };
	PGresult   *res;
	int	    n;

	if ((res = db_exec(ctx->db, &q_sso_delete, params)) == NULL)
		return -1;
	n = PQntuples(res);
	PQclear(res);
	if (n == 0) { /* none: nothing to remove, nothing to audit */
		db_rollback(ctx->db);
		return http_send_empty(req, 204);
	}
	if (api_audit(req, ctx, ctx->who.company_id, NULL, NULL) == -1 ||
	    db_commit(ctx->db) == -1)
		return -1;
	return http_send_empty(req, 204);
}

/* --- signing in through the company's identity provider --- */

/* The company's own IdP's identities, in the company only: its issuer
 * is the IdP's to name (sql/032-identity-namespaces.sql). */
static struct db_stmt q_sso_identity = { "sso_identity",
	"SELECT user_id, company_id FROM user_identities WHERE company_id = $3 "
	"AND provider = 'sso' AND issuer = $1 AND subject = $2",
	3, 0, 0 };
static struct db_stmt q_sso_member = { "sso_member",
	"SELECT role, totp_enabled_at IS NOT NULL AS mfa FROM users WHERE "
	"company_id = $1 AND id = $2",
	2, 0, 0 };
static struct db_stmt q_sso_jit = { "sso_jit",
	"INSERT INTO users (company_id, email, name, role, password_hash, "
	"email_verified_at) VALUES ($1, $2, $3, $4, NULL, now()) RETURNING id",
	4, 0, 0 };

/* The console's single sign-on page with 'why' (sso=WHY), logged. */
static int
refuse(struct request *req, struct ctx *ctx, const char *why)
{
	char path[64];

	db_rollback(ctx->db);
	log_event(LOG_INFO, "sso_login", LOG_S("reason", why));
	snprintf(path, sizeof(path), "/sso?sso=%s", why);
	return flow_to_console(req, ctx, path);
}

/*
 * The member the company's IdP asserted (verified 'claims': iss, sub,
 * email, and mfa when the IdP says it authenticated with several
 * factors), in the browser whose binding is 'binding_hex'. The IdP
 * speaks only for the company's verified domains: an address of another
 * domain signs nobody in. Found by the identity; else by the address
 * among the company's members (the company's IdP is the authority on
 * its domain's addresses), then linked; else, with just-in-time
 * membership on, made a member. TOTP follows unless the company lets
 * the IdP's MFA count.
 */
int
api_sso_finish(struct request *req, struct ctx *ctx, const char *cid,
    const json_t *claims, const char *binding_hex)
{
	const char *iss = json_string_value(json_object_get(claims, "iss"));
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	const char *params[4];
	char	    email[ACCOUNT_EMAIL_MAX + 1], uid[37] = "", ocid[37];
	char	    role[8], name[201];
	struct sso_config c;
	PGresult	 *res;
	json_t		 *tokens = NULL, *detail = NULL;
	const char	 *rt;
	int		  found, mfa, rc = -1;

	if (iss == NULL || sub == NULL ||
	    account_email_normalize(
		json_string_value(json_object_get(claims, "email")), email) ==
		-1)
		return refuse(req, ctx, "no_email");
	if (db_tenant_begin(ctx->db, cid, NULL, NULL, NULL) == -1)
		return api_unavailable(req);
	if ((found = sso_config_load(ctx->db, cid, &c)) == -1)
		return -1;
	sso_config_free(&c);
	if (!found || !c.enabled)
		return refuse(req, ctx, "not_configured");
	if ((found = sso_domain_verified(ctx->db, cid, email)) != 1)
		return found == -1 ? -1
				   : refuse(req, ctx, "domain_not_verified");
	params[0] = iss;
	params[1] = sub;
	params[2] = cid;
	if ((res = db_exec(ctx->db, &q_sso_identity, params)) == NULL)
		return -1;
	if (PQntuples(res) == 1) {
		snprintf(uid, sizeof(uid), "%s", row_get(res, 0, "user_id"));
		snprintf(
		    ocid, sizeof(ocid), "%s", row_get(res, 0, "company_id"));
	}
	PQclear(res);
	if (uid[0] != '\0' && strcmp(ocid, cid) != 0)
		return refuse(req, ctx, "account_elsewhere");
	if (uid[0] == '\0') {
		if ((found = account_lookup_email(ctx->db, email, uid, ocid)) ==
		    -1)
			return -1;
		if (found && strcmp(ocid, cid) != 0)
			return refuse(req, ctx, "account_elsewhere");
		if (!found && !c.jit)
			return refuse(req, ctx, "no_account");
		if (!found) {
			/* Just in time: a member, named after the address. */
			snprintf(name, sizeof(name), "%.*s",
			    (int)strcspn(email, "@"), email);
			params[0] = cid;
			params[1] = email;
			params[2] = name;
			params[3] = c.jit_role;
			if ((res = db_exec(ctx->db, &q_sso_jit, params)) ==
			    NULL)
				return -1;
			snprintf(uid, sizeof(uid), "%s", row_get(res, 0, "id"));
			PQclear(res);
			{
				json_t *d =
				    json_pack("{s:s}", "role", c.jit_role);
				int ev = event_record(
				    ctx, cid, uid, "sso_jit_member", d);

				json_decref(d);
				if (ev == -1)
					return -1;
			}
		}
		if ((found = flow_identity_link(
			 ctx, "sso", cid, uid, iss, sub, email)) != 1)
			return found == -1 ? -1
					   : refuse(req, ctx, "identity_taken");
	}
	params[0] = cid;
	params[1] = uid;
	if ((res = db_exec(ctx->db, &q_sso_member, params)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return refuse(req, ctx, "no_account");
	}
	snprintf(role, sizeof(role), "%s", row_get(res, 0, "role"));
	mfa = row_bool(res, 0, "mfa");
	PQclear(res);
	/* TOTP, unless the company lets the IdP's MFA stand in for it. */
	if (mfa &&
	    !(c.idp_mfa && json_is_true(json_object_get(claims, "mfa")))) {
		if (db_commit(ctx->db) == -1)
			return -1;
		return flow_mfa_ticket(req, ctx, "sso", cid, uid, binding_hex);
	}
	detail = json_pack("{s:s,s:s,s:b,s:b}", "method", "sso", "protocol",
	    c.protocol, "mfa", mfa, "idp_mfa",
	    json_is_true(json_object_get(claims, "mfa")));
	if ((tokens = session_start_ttl(
		 ctx, cid, uid, role, ctx->conf->sso_session_ttl)) == NULL ||
	    event_record(ctx, cid, uid, "login_success", detail) == -1 ||
	    db_commit(ctx->db) == -1)
		goto out;
	rt = json_string_value(json_object_get(tokens, "refresh_token"));
	rc = rt == NULL || api_set_refresh_cookie(req, ctx, rt) == -1
	    ? -1
	    : flow_to_console(req, ctx, "/");
out:
	json_decref(detail);
	json_decref(tokens);
	return rc;
}

/* --- starting: by the address's verified domain --- */

int
h_sso_start(struct request *req, struct ctx *ctx)
{
	struct sso_domain d;
	struct sso_config c;
	struct saml_sp	  sp = { "", "" };
	struct flow	  f = { 0 };
	char		  email[ACCOUNT_EMAIL_MAX + 1], state[44], binding[44];
	char		  bh[65], rid[48], *url;
	const char	 *why;
	int		  found;

	if (api_addr_limit(req, ctx, "sso:ip", ctx->conf->login_max_per_ip,
		ctx->conf->login_window) == HTTP_ANSWERED)
		return 0;
	if (account_email_normalize(api_body_str(req, "email"), email) == -1 ||
	    (found = sso_domain_of(ctx->db, email, &d)) == 0 || !d.enabled)
		return api_problem(req, 404, "sso_not_configured",
		    "No single sign-on for this address: log in with your "
		    "password or a provider");
	if (found == -1)
		return -1;
	if (strcmp(d.protocol, "oidc") == 0)
		return api_oidc_sso_start(req, ctx, d.company_id);
	if (db_tenant_begin(ctx->db, d.company_id, NULL, NULL, NULL) == -1)
		return api_unavailable(req);
	if (sso_config_load(ctx->db, d.company_id, &c) != 1 ||
	    c.saml_metadata == NULL) {
		sso_config_free(&c);
		return -1;
	}
	if (flow_key(state) == -1 || flow_key(binding) == -1)
		goto fail;
	flow_hash(binding, bh);
	f.provider = "sso";
	f.purpose = "sso";
	f.company_id = d.company_id;
	f.ttl = FLOW_TTL;
	if (flow_put(ctx, state, bh, &f) == -1 || db_commit(ctx->db) == -1)
		goto fail;
	/* The request's id is derived from the state: InResponseTo is
	 * checked against it, nothing more is stored. */
	rid[0] = '_';
	flow_derive("saml", state, rid + 1);
	saml_sp_of(ctx->conf, d.company_id, &sp);
	url = saml_authn_request(&sp, c.saml_metadata, rid, state, &why);
	sso_config_free(&c);
	if (url == NULL) {
		log_event(LOG_WARN, "saml_request", LOG_S("reason", why));
		return -1;
	}
	if (flow_set_binding(req, binding) == -1) {
		free(url);
		return -1;
	}
	found = api_send(req, 200, json_pack("{s:s}", "url", url));
	free(url);
	return found;
fail:
	sso_config_free(&c);
	return -1;
}

/* --- SAML: parley's metadata, and the Assertion Consumer Service --- */

int
h_saml_metadata(struct request *req, struct ctx *ctx)
{
	const char	 *cid = router_param(req, "id");
	struct sso_config c;
	struct saml_sp	  sp = { "", "" };
	char		 *xml;
	int		  found, rc;

	if (db_tenant_begin(ctx->db, cid, NULL, NULL, NULL) == -1)
		return api_unavailable(req);
	found = sso_config_load(ctx->db, cid, &c);
	db_rollback(ctx->db);
	sso_config_free(&c);
	if (found == -1)
		return -1;
	if (!found || strcmp(c.protocol, "saml") != 0)
		return router_not_found(req);
	saml_sp_of(ctx->conf, cid, &sp);
	if ((xml = saml_sp_metadata(&sp)) == NULL)
		return -1;
	rc = http_send_body(
	    req, 200, "application/samlmetadata+xml", xml, strlen(xml));
	free(xml);
	return rc;
}

static struct db_stmt q_acs_flow = { "saml_acs_flow",
	"SELECT 1 FROM oidc_flows WHERE state_hash = decode($1, 'hex') AND "
	"purpose = 'sso' AND company_id = $2 AND used_at IS NULL AND claims IS "
	"NULL AND expires_at > now()",
	2, 0, 0 };
static struct db_stmt q_acs_keep = { "saml_acs_keep",
	"UPDATE oidc_flows SET claims = $3::jsonb WHERE state_hash = "
	"decode($1, 'hex') AND purpose = 'sso' AND company_id = $2 AND used_at "
	"IS NULL AND claims IS NULL AND expires_at > now() RETURNING 1",
	3, 0, 0 };
static struct db_stmt q_assertion_seen = { "saml_assertion_seen",
	"INSERT INTO saml_assertions (company_id, assertion_id, expires_at) "
	"VALUES ($1, $2, to_timestamp($3::bigint)) ON CONFLICT DO NOTHING "
	"RETURNING 1",
	3, 0, 0 };
static struct db_stmt q_assertions_purge = { "saml_assertions_purge",
	"DELETE FROM saml_assertions WHERE company_id = $1 AND expires_at < "
	"now() - interval '1 hour'",
	1, 0, 0 };

#define SAML_SKEW 120 /* seconds of clock difference allowed */

/* One row of 'st' with 'params': 1, 0, -1. */
static int
one_row(struct ctx *ctx, struct db_stmt *st, const char *const *params)
{
	PGresult *res = db_exec(ctx->db, st, params);
	int	  n;

	if (res == NULL)
		return -1;
	n = PQntuples(res) == 1;
	PQclear(res);
	return n;
}

/*
 * The IdP's HTTP-POST answer, a cross-site POST (no binding cookie):
 * verified here (the signature by Lasso, the rest by saml.c), the
 * assertion's id kept against replays, its facts kept in the flow; the
 * browser goes on to the GET callback, which finishes the flow in the
 * browser that started it. An unsolicited response (no InResponseTo)
 * is refused unless the company allows IdP-initiated sign-in; then a
 * flow is made here and bound to this browser.
 */
int
h_saml_acs(struct request *req, struct ctx *ctx)
{
	const char	     *cid = router_param(req, "id");
	const char	     *relay = api_body_str(req, "RelayState");
	const char	     *params[3], *why;
	char		      sh[65], want[48], loc[700], state[44] = "";
	char		      binding[44], bh[65], exp[24], *kept = NULL;
	struct sso_config     c;
	struct saml_sp	      sp = { "", "" };
	struct saml_assertion a;
	struct flow	      f = { 0 };
	json_t		     *claims;
	int		      found, rc;

	if (db_tenant_begin(ctx->db, cid, NULL, NULL, NULL) == -1)
		return api_unavailable(req);
	if ((found = sso_config_load(ctx->db, cid, &c)) == -1)
		return -1;
	if (!found || !c.enabled || strcmp(c.protocol, "saml") != 0) {
		sso_config_free(&c);
		return refuse(req, ctx, "not_configured");
	}
	saml_sp_of(ctx->conf, cid, &sp);
	rc = saml_response_verify(&sp, c.saml_metadata, c.saml_idp_entity_id,
	    api_body_str(req, "SAMLResponse"), (long long)time(NULL), SAML_SKEW,
	    &a, &why);
	sso_config_free(&c);
	if (rc == -1) {
		log_event(LOG_WARN, "saml_response", LOG_S("reason", why));
		return refuse(req, ctx, "failed");
	}
	if (a.in_response_to[0] != '\0') {
		/* Solicited: by the flow of RelayState, whose request id
		 * it must answer. */
		if (relay == NULL || strlen(relay) != 43)
			return refuse(req, ctx, "expired");
		snprintf(state, sizeof(state), "%s", relay);
		want[0] = '_';
		flow_derive("saml", state, want + 1);
		if (strlen(a.in_response_to) != strlen(want) ||
		    !crypto_equal(a.in_response_to, want, strlen(want))) {
			log_event(LOG_WARN, "saml_response",
			    LOG_S("reason", "wrong_in_response_to"));
			return refuse(req, ctx, "failed");
		}
		flow_hash(state, sh);
		params[0] = sh;
		params[1] = cid;
		if ((found = one_row(ctx, &q_acs_flow, params)) != 1)
			return found == -1 ? -1 : refuse(req, ctx, "expired");
	} else {
		if (!c.allow_idp_initiated)
			return refuse(req, ctx, "idp_initiated_off");
		if (flow_key(state) == -1 || flow_key(binding) == -1)
			return -1;
		flow_hash(binding, bh);
		f.provider = "sso";
		f.purpose = "sso";
		f.company_id = cid;
		f.ttl = FLOW_TTL;
		if (flow_put(ctx, state, bh, &f) == -1 ||
		    flow_set_binding(req, binding) == -1)
			return -1;
	}
	/* Each assertion once. */
	params[0] = cid;
	params[1] = a.id;
	snprintf(exp, sizeof(exp), "%lld", a.not_on_or_after + SAML_SKEW);
	params[2] = exp;
	if (one_row(ctx, &q_assertions_purge, params) == -1 ||
	    (found = one_row(ctx, &q_assertion_seen, params)) == -1)
		return -1;
	if (!found)
		return refuse(req, ctx, "replayed");
	claims = json_pack("{s:s,s:s,s:s,s:b}", "iss", a.issuer, "sub",
	    a.name_id, "email", a.email, "mfa", a.mfa);
	kept = claims != NULL ? json_dumps(claims, JSON_COMPACT) : NULL;
	json_decref(claims);
	if (kept == NULL)
		return -1;
	flow_hash(state, sh);
	params[0] = sh;
	params[1] = cid;
	params[2] = kept;
	found = one_row(ctx, &q_acs_keep, params);
	free(kept);
	if (found != 1)
		return found == -1 ? -1 : refuse(req, ctx, "expired");
	if (db_commit(ctx->db) == -1)
		return -1;
	snprintf(loc, sizeof(loc), "%s/api/v1/auth/oidc/callback?state=%s",
	    ctx->conf->public_base_url, state);
	if (http_add_header(req, "Location", loc) == -1)
		return -1;
	return http_send_empty(req, 303);
}
