-- 005-api-keys.sql: scoped API keys. The secret is stored as SHA-256; the
-- key id travels in the key (prl_<id>_<secret>) and is looked up before the
-- company is known.
CREATE TABLE api_keys (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	company_id	uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	created_by	uuid NOT NULL,
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	scopes		text[] NOT NULL CHECK (scopes <@ ARRAY['conversations:read',
			    'conversations:write', 'chatbots:read', 'chatbots:write',
			    'documents:read', 'documents:write', 'templates:write',
			    'members:read', 'audit:read', 'webhooks:write',
			    'analytics:read']::text[] AND cardinality(scopes) >= 1),
	secret_hash	bytea NOT NULL CHECK (length(secret_hash) = 32),
	created_at	timestamptz NOT NULL DEFAULT now(),
	last_used_at	timestamptz,
	expires_at	timestamptz,
	revoked_at	timestamptz,
	-- Removing the creator removes their keys.
	FOREIGN KEY (company_id, created_by) REFERENCES users (company_id, id) ON DELETE CASCADE
);
CREATE INDEX api_keys_company_idx ON api_keys (company_id, created_at DESC);
SELECT parley_tenant_table('api_keys');

GRANT SELECT (id, company_id) ON api_keys TO parley_lookup;
GRANT CREATE ON SCHEMA public TO parley_lookup;
CREATE FUNCTION parley_lookup_api_key(p_id uuid)
	RETURNS TABLE (company_id uuid)
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
	AS $$ SELECT company_id FROM api_keys WHERE id = p_id $$;
ALTER FUNCTION parley_lookup_api_key(uuid) OWNER TO parley_lookup;
REVOKE CREATE ON SCHEMA public FROM parley_lookup;
REVOKE ALL ON FUNCTION parley_lookup_api_key(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION parley_lookup_api_key(uuid) TO parley_runtime;
