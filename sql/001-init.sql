-- 001-init.sql: the conventions every later migration follows.
--
-- * Tenant tables have company_id uuid NOT NULL REFERENCES companies, a
--   primary key led by company_id or a uuid id, timestamptz times, and are
--   passed to parley_tenant_table(), which enables and FORCEs row-level
--   security with the policy company_id = parley_current_company() and
--   grants the runtime role what it needs.
-- * The tenant context is the transaction-local setting app.company_id,
--   set only by parleyd's tenant transaction helper (src/db.c). With no
--   context, parley_current_company() is NULL and no row matches: fail closed.
-- * Global tables and SECURITY DEFINER functions (lookups before a company
--   is known) are listed in docs/architecture.md; t/30-tenant.t refuses any
--   that are not.

REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO parley_runtime;
GRANT SELECT ON parley_schema_migrations TO parley_runtime;

CREATE FUNCTION parley_current_company() RETURNS uuid
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT nullif(current_setting('app.company_id', true), '')::uuid $$;

-- Applies the tenant convention to table 'tbl' (which has company_id).
CREATE FUNCTION parley_tenant_table(tbl regclass) RETURNS void
	LANGUAGE plpgsql
	AS $$
BEGIN
	EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
	EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
	EXECUTE format('CREATE POLICY tenant_isolation ON %s '
	    'USING (company_id = parley_current_company()) '
	    'WITH CHECK (company_id = parley_current_company())', tbl);
	EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO parley_runtime', tbl);
END
$$;
REVOKE ALL ON FUNCTION parley_tenant_table(regclass) FROM PUBLIC;

-- The tenant. Its own row is visible only inside its own tenant context;
-- registration creates it by setting the context to the new id first.
CREATE TABLE companies (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE companies ENABLE ROW LEVEL SECURITY;
ALTER TABLE companies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON companies
	USING (id = parley_current_company())
	WITH CHECK (id = parley_current_company());
GRANT SELECT, INSERT, UPDATE, DELETE ON companies TO parley_runtime;
