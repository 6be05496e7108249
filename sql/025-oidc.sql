-- 025-oidc.sql: sign-in through OpenID Connect providers (issue 17).
--
-- user_identities: an account's identities at providers, by the ID
-- token's iss and sub (OpenID Connect Core 1.0, 2: the pair is the only
-- stable key; an e-mail address is not). One account per identity across
-- all companies. Made only by linking, which proves the account (the
-- issue: never by a matching e-mail address alone).
CREATE TABLE user_identities (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	company_id	uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	user_id		uuid NOT NULL,
	provider	text NOT NULL CHECK (provider ~ '^[a-z0-9_-]{1,32}$'),
	issuer		text NOT NULL CHECK (length(issuer) BETWEEN 8 AND 512),
	subject		text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
	email		text CHECK (length(email) <= 320),
	created_at	timestamptz NOT NULL DEFAULT now(),
	last_used_at	timestamptz,
	FOREIGN KEY (company_id, user_id) REFERENCES users (company_id, id) ON DELETE CASCADE,
	UNIQUE (issuer, subject)
);
CREATE INDEX user_identities_user ON user_identities (company_id, user_id);
SELECT parley_tenant_table('user_identities');

-- Before a company is known: whose identity is this?
GRANT SELECT (issuer, subject, company_id, user_id) ON user_identities TO parley_lookup;
GRANT CREATE ON SCHEMA public TO parley_lookup;
CREATE FUNCTION parley_lookup_identity(p_issuer text, p_subject text)
	RETURNS TABLE (user_id uuid, company_id uuid)
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
	AS $$ SELECT user_id, company_id FROM user_identities WHERE issuer = p_issuer AND subject = p_subject $$;
ALTER FUNCTION parley_lookup_identity(text, text) OWNER TO parley_lookup;
REVOKE CREATE ON SCHEMA public FROM parley_lookup;
REVOKE ALL ON FUNCTION parley_lookup_identity(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION parley_lookup_identity(text, text) TO parley_runtime;

-- oidc_flows: a sign-in or link on its way through a provider, global
-- (no company is known at a sign-in's start). Keyed by the SHA-256 of
-- its state (256 random bits, in the authorization request); the PKCE
-- verifier and the nonce are derived from the state with a server key,
-- so no secret is stored. 'binding' is the SHA-256 of a random value in
-- an HttpOnly cookie of the browser that started it: a callback from
-- another browser (login CSRF) finds no flow. A flow is used once and
-- lives ten minutes; the jobs process deletes old rows. An account with
-- TOTP that signed in through a provider gets an 'mfa' flow (five
-- minutes, the same browser binding) for its code: one try.
CREATE TABLE oidc_flows (
	state_hash	bytea PRIMARY KEY CHECK (length(state_hash) = 32),
	binding_hash	bytea NOT NULL CHECK (length(binding_hash) = 32),
	provider	text NOT NULL CHECK (provider ~ '^[a-z0-9_-]{1,32}$'),
	purpose		text NOT NULL CHECK (purpose IN ('login', 'link', 'mfa')),
	company_id	uuid,
	user_id		uuid,
	created_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	used_at		timestamptz,
	CHECK ((purpose = 'login') = (user_id IS NULL AND company_id IS NULL))
);
CREATE INDEX oidc_flows_expires ON oidc_flows (expires_at);
GRANT SELECT, INSERT, UPDATE, DELETE ON oidc_flows TO parley_runtime;

-- The providers' client secrets are the operator's, kept like Stripe's
-- (keyring ciphertext, written by parleyctl secret set).
ALTER TABLE operator_secrets DROP CONSTRAINT operator_secrets_name_check;
ALTER TABLE operator_secrets ADD CONSTRAINT operator_secrets_name_check
	CHECK (name IN ('stripe_secret_key', 'oidc_google_client_secret', 'oidc_generic_client_secret'));
