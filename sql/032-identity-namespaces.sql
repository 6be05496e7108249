-- 032-identity-namespaces.sql: a company's own IdP names its issuer
-- itself (a SAML entity id is whatever its metadata says), so its
-- identities are looked up only within the company (src/api_sso.c), and
-- a personal provider's sign-in never finds one.
GRANT SELECT (provider) ON user_identities TO parley_lookup;
GRANT CREATE ON SCHEMA public TO parley_lookup;
CREATE OR REPLACE FUNCTION parley_lookup_identity(p_issuer text, p_subject text)
	RETURNS TABLE (user_id uuid, company_id uuid)
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
	AS $$ SELECT user_id, company_id FROM user_identities
		WHERE issuer = p_issuer AND subject = p_subject AND provider <> 'sso' $$;
REVOKE CREATE ON SCHEMA public FROM parley_lookup;
