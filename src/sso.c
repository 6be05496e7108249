/* sso.c: see sso.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "row.h"
#include "sso.h"

static struct db_stmt q_sso_domain = { "sso_domain",
	"SELECT company_id, coalesce(protocol, '') AS protocol, enabled, "
	"required FROM parley_lookup_sso_domain($1)",
	1, DB_RETRY_SAFE, 0 };
static struct db_stmt q_sso_config = { "sso_config",
	"SELECT protocol, enabled, required, jit, jit_role, idp_mfa, "
	"allow_idp_initiated, saml_metadata, saml_idp_entity_id, oidc_issuer, "
	"oidc_client_id, oidc_client_secret_enc FROM company_sso WHERE "
	"company_id = $1",
	1, 0, 0 };
static struct db_stmt q_sso_domain_mine = { "sso_domain_mine",
	"SELECT 1 FROM company_domains WHERE company_id = $1 AND domain = "
	"lower($2) AND verified_at IS NOT NULL",
	2, 0, 0 };

/* The domain part of 'email', or NULL. */
static const char *
domain_of(const char *email)
{
	const char *at = email != NULL ? strrchr(email, '@') : NULL;

	return at != NULL && at[1] != '\0' ? at + 1 : NULL;
}

int
sso_domain_of(struct db *db, const char *email, struct sso_domain *d)
{
	const char *params[1] = { domain_of(email) };
	PGresult   *res;
	int	    found;

	memset(d, 0, sizeof(*d));
	if (params[0] == NULL)
		return 0;
	if ((res = db_exec(db, &q_sso_domain, params)) == NULL)
		return -1;
	if ((found = PQntuples(res) == 1)) {
		snprintf(d->company_id, sizeof(d->company_id), "%s",
		    row_get(res, 0, "company_id"));
		snprintf(d->protocol, sizeof(d->protocol), "%s",
		    row_get(res, 0, "protocol"));
		d->enabled = row_bool(res, 0, "enabled");
		d->required = row_bool(res, 0, "required");
	}
	PQclear(res);
	return found;
}

int
sso_config_load(struct db *db, const char *cid, struct sso_config *c)
{
	const char *params[1] = { cid };
	PGresult   *res;

	memset(c, 0, sizeof(*c));
	if ((res = db_exec(db, &q_sso_config, params)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return 0;
	}
	snprintf(c->protocol, sizeof(c->protocol), "%s",
	    row_get(res, 0, "protocol"));
	c->enabled = row_bool(res, 0, "enabled");
	c->required = row_bool(res, 0, "required");
	c->jit = row_bool(res, 0, "jit");
	c->idp_mfa = row_bool(res, 0, "idp_mfa");
	c->allow_idp_initiated = row_bool(res, 0, "allow_idp_initiated");
	snprintf(c->jit_role, sizeof(c->jit_role), "%s",
	    row_get(res, 0, "jit_role"));
	snprintf(c->saml_idp_entity_id, sizeof(c->saml_idp_entity_id), "%s",
	    row_get(res, 0, "saml_idp_entity_id"));
	snprintf(c->oidc_issuer, sizeof(c->oidc_issuer), "%s",
	    row_get(res, 0, "oidc_issuer"));
	snprintf(c->oidc_client_id, sizeof(c->oidc_client_id), "%s",
	    row_get(res, 0, "oidc_client_id"));
	snprintf(c->oidc_client_secret_enc, sizeof(c->oidc_client_secret_enc),
	    "%s", row_get(res, 0, "oidc_client_secret_enc"));
	if (row_opt(res, 0, "saml_metadata") != NULL &&
	    (c->saml_metadata = strdup(row_get(res, 0, "saml_metadata"))) ==
		NULL) {
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 1;
}

void
sso_config_free(struct sso_config *c)
{
	free(c->saml_metadata);
	c->saml_metadata = NULL;
}

int
sso_domain_verified(struct db *db, const char *cid, const char *email)
{
	const char *params[2] = { cid, domain_of(email) };
	PGresult   *res;
	int	    n;

	if (params[1] == NULL)
		return 0;
	if ((res = db_exec(db, &q_sso_domain_mine, params)) == NULL)
		return -1;
	n = PQntuples(res);
	PQclear(res);
	return n > 0;
}

void
sso_secret_aad(const char *cid, char out[64])
{
	snprintf(out, 64, "company:%s:sso", cid);
}
