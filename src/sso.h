/*
 * sso.h: a company's single sign-on as the rest of parley asks about it
 * (issue 17, item 3): which company verified an address's domain and
 * whether it requires SSO (before any company is known: a login), and
 * the company's identity provider (in its tenant transaction).
 */
#ifndef PARLEY_SSO_H
#define PARLEY_SSO_H

#include "db.h"

/* The SSO of the company that verified a domain. */
struct sso_domain {
	char company_id[37];
	char protocol[8]; /* "saml", "oidc", or "" (none configured) */
	int  enabled, required;
};

/* 'email''s domain's: 1 (found), 0 (no company verified it), -1. */
int sso_domain_of(struct db *db, const char *email, struct sso_domain *d);

/* A company's identity provider (company_sso), as stored. */
struct sso_config {
	char  protocol[8];
	int   enabled, required, jit, idp_mfa, allow_idp_initiated;
	char  jit_role[8];
	char  saml_idp_entity_id[1025];
	char *saml_metadata; /* NULL unless SAML; sso_config_free() */
	char  oidc_issuer[513], oidc_client_id[257];
	char  oidc_client_secret_enc[2049];
};

/* Reads it, in the open tenant transaction of 'cid': 1, 0 (none), -1. */
int  sso_config_load(struct db *db, const char *cid, struct sso_config *c);
void sso_config_free(struct sso_config *c);

/* Whether 'email''s domain is one 'cid' verified (tenant transaction). */
int sso_domain_verified(struct db *db, const char *cid, const char *email);

/* The keyring associated data of a company's OIDC client secret. */
void sso_secret_aad(const char *cid, char out[64]);

#endif
