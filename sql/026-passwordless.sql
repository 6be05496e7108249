-- 026-passwordless.sql: accounts made through a sign-in provider, with no
-- password (issue 17, item 2).
--
-- users.password_hash may be NULL: such an account signs in only through
-- a linked identity (user_identities), and steps that ask for the
-- password of others (company deletion, turning TOTP off, linking another
-- identity, setting a password) ask it to sign in at its provider again
-- instead: the callback stamps the session (sessions.reauth_at), and the
-- next such step within five minutes spends the stamp.
ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL;
ALTER TABLE sessions ADD COLUMN reauth_at timestamptz;

-- Flows: 'pending' holds an identity nobody linked yet, verified, for
-- its holder to sign up with or link to the account it proves (ten
-- minutes, the same browser); 'reauth' re-authenticates a session. A
-- provider that answers with a cross-site form POST (Apple's form_post,
-- which carries no SameSite=Lax cookie) has its ID token verified at
-- the POST and the claims kept in the flow, which the same-site GET
-- that follows takes with the binding cookie.
ALTER TABLE oidc_flows DROP CONSTRAINT oidc_flows_purpose_check;
ALTER TABLE oidc_flows DROP CONSTRAINT oidc_flows_check;
ALTER TABLE oidc_flows ADD CONSTRAINT oidc_flows_purpose_check
	CHECK (purpose IN ('login', 'link', 'mfa', 'pending', 'reauth'));
ALTER TABLE oidc_flows ADD COLUMN session_id uuid;
ALTER TABLE oidc_flows ADD COLUMN claims jsonb
	CHECK (claims IS NULL OR pg_column_size(claims) <= 4096);
ALTER TABLE oidc_flows ADD COLUMN return_to text
	CHECK (return_to IS NULL OR return_to IN ('account', 'company'));
ALTER TABLE oidc_flows ADD CONSTRAINT oidc_flows_who_check
	CHECK ((purpose IN ('login', 'pending')) = (user_id IS NULL AND company_id IS NULL));
ALTER TABLE oidc_flows ADD CONSTRAINT oidc_flows_pending_check
	CHECK (purpose <> 'pending' OR claims IS NOT NULL);
ALTER TABLE oidc_flows ADD CONSTRAINT oidc_flows_reauth_check
	CHECK ((purpose = 'reauth') = (session_id IS NOT NULL));

-- The presets' client secrets, and Apple's signing key (a PEM), are the
-- operator's.
ALTER TABLE operator_secrets DROP CONSTRAINT operator_secrets_name_check;
ALTER TABLE operator_secrets ADD CONSTRAINT operator_secrets_name_check
	CHECK (name IN ('stripe_secret_key', 'oidc_google_client_secret',
		'oidc_generic_client_secret', 'oidc_microsoft_client_secret',
		'oidc_apple_private_key'));
