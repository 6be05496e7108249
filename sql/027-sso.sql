-- 027-sso.sql: a company's own single sign-on (issue 17, item 3): its
-- identity provider (SAML 2.0 or OpenID Connect), the e-mail domains it
-- proved (DNS TXT), and whether its members must sign in through it.

-- company_sso: one identity provider per company, configured by an
-- owner. SAML: the IdP's metadata XML as given (its entity id, SSO URL
-- and signing certificates, several during a rollover, are read from it
-- by Lasso at each use). OpenID Connect: issuer, client id, and the
-- client secret as keyring ciphertext (associated data the company).
CREATE TABLE company_sso (
	company_id		uuid PRIMARY KEY REFERENCES companies(id) ON DELETE CASCADE,
	protocol		text NOT NULL CHECK (protocol IN ('saml', 'oidc')),
	enabled			boolean NOT NULL DEFAULT false,
	saml_metadata		text CHECK (length(saml_metadata) <= 200000),
	saml_idp_entity_id	text CHECK (length(saml_idp_entity_id) BETWEEN 1 AND 1024),
	allow_idp_initiated	boolean NOT NULL DEFAULT false,
	oidc_issuer		text CHECK (length(oidc_issuer) BETWEEN 8 AND 512),
	oidc_client_id		text CHECK (length(oidc_client_id) BETWEEN 1 AND 256),
	oidc_client_secret_enc	text CHECK (length(oidc_client_secret_enc) <= 2048),
	-- Members with a verified domain sign in only through the IdP
	-- (owners keep a break-glass password + TOTP path).
	required		boolean NOT NULL DEFAULT false,
	-- Just-in-time membership for verified-domain users, with this role.
	jit			boolean NOT NULL DEFAULT false,
	jit_role		text NOT NULL DEFAULT 'member' CHECK (jit_role IN ('member', 'admin')),
	-- The IdP's multi-factor authentication (amr "mfa", a multi-factor
	-- AuthnContext) stands in for parley's TOTP.
	idp_mfa			boolean NOT NULL DEFAULT false,
	updated_at		timestamptz NOT NULL DEFAULT now(),
	CHECK (protocol <> 'saml' OR (saml_metadata IS NOT NULL AND saml_idp_entity_id IS NOT NULL)),
	CHECK (protocol <> 'oidc' OR (oidc_issuer IS NOT NULL AND oidc_client_id IS NOT NULL))
);
SELECT parley_tenant_table('company_sso');

-- company_domains: the e-mail domains a company claims; verified by a
-- DNS TXT record (_parley-verification.DOMAIN, "parley-verification=
-- TOKEN"; the token is published, not secret). Several companies may
-- claim a domain, one may verify it.
CREATE TABLE company_domains (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	company_id	uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	domain		text NOT NULL CHECK (length(domain) <= 253 AND domain ~ '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$'),
	token		text NOT NULL CHECK (token ~ '^[0-9a-f]{32}$'),
	created_at	timestamptz NOT NULL DEFAULT now(),
	verified_at	timestamptz,
	UNIQUE (company_id, domain)
);
CREATE UNIQUE INDEX company_domains_verified ON company_domains (domain) WHERE verified_at IS NOT NULL;
SELECT parley_tenant_table('company_domains');

-- Before a company is known (a login, a provider's sign-in): the company
-- that verified a domain, and its SSO.
GRANT SELECT (company_id, domain, verified_at) ON company_domains TO parley_lookup;
GRANT SELECT (company_id, protocol, enabled, required) ON company_sso TO parley_lookup;
GRANT CREATE ON SCHEMA public TO parley_lookup;
CREATE FUNCTION parley_lookup_sso_domain(p_domain text)
	RETURNS TABLE (company_id uuid, protocol text, enabled boolean, required boolean)
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
	AS $$ SELECT d.company_id, s.protocol, coalesce(s.enabled, false), coalesce(s.enabled AND s.required, false)
		FROM company_domains d LEFT JOIN company_sso s ON s.company_id = d.company_id
		WHERE d.domain = lower(p_domain) AND d.verified_at IS NOT NULL $$;
ALTER FUNCTION parley_lookup_sso_domain(text) OWNER TO parley_lookup;
REVOKE CREATE ON SCHEMA public FROM parley_lookup;
REVOKE ALL ON FUNCTION parley_lookup_sso_domain(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION parley_lookup_sso_domain(text) TO parley_runtime;

-- saml_assertions: the ids of assertions taken, until they expire: a
-- replayed assertion is refused.
CREATE TABLE saml_assertions (
	company_id	uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	assertion_id	text NOT NULL CHECK (length(assertion_id) BETWEEN 1 AND 256),
	expires_at	timestamptz NOT NULL,
	PRIMARY KEY (company_id, assertion_id)
);
SELECT parley_tenant_table('saml_assertions');

-- A company SSO sign-in on its way: an 'sso' flow knows the company,
-- not yet the user.
ALTER TABLE oidc_flows DROP CONSTRAINT oidc_flows_purpose_check;
ALTER TABLE oidc_flows ADD CONSTRAINT oidc_flows_purpose_check
	CHECK (purpose IN ('login', 'link', 'mfa', 'pending', 'reauth', 'sso'));
ALTER TABLE oidc_flows DROP CONSTRAINT oidc_flows_who_check;
ALTER TABLE oidc_flows ADD CONSTRAINT oidc_flows_who_check
	CHECK (CASE purpose WHEN 'sso' THEN company_id IS NOT NULL AND user_id IS NULL
		WHEN 'login' THEN company_id IS NULL AND user_id IS NULL
		WHEN 'pending' THEN company_id IS NULL AND user_id IS NULL
		ELSE company_id IS NOT NULL AND user_id IS NOT NULL END);
