-- 004-invitations.sql: invitations to join a company.
CREATE TABLE invitations (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	company_id	uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	email		text NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND position('@' IN email) > 1),
	role		text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
	token_hash	bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	invited_by	uuid,
	created_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	accepted_at	timestamptz,
	revoked_at	timestamptz
);
-- One open invitation per address and company.
CREATE UNIQUE INDEX invitations_open_key ON invitations (company_id, lower(email))
	WHERE accepted_at IS NULL AND revoked_at IS NULL;
SELECT parley_tenant_table('invitations');

GRANT SELECT (token_hash, company_id, id) ON invitations TO parley_lookup;
GRANT CREATE ON SCHEMA public TO parley_lookup;
CREATE FUNCTION parley_lookup_invitation(p_hash bytea)
	RETURNS TABLE (invitation_id uuid, company_id uuid)
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
	AS $$ SELECT id, company_id FROM invitations WHERE token_hash = p_hash $$;
ALTER FUNCTION parley_lookup_invitation(bytea) OWNER TO parley_lookup;
REVOKE CREATE ON SCHEMA public FROM parley_lookup;
REVOKE ALL ON FUNCTION parley_lookup_invitation(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION parley_lookup_invitation(bytea) TO parley_runtime;
