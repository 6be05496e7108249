-- 020-tombstone-guard.sql: a tombstone is written only by the deletion
-- itself. Before, the runtime role could insert any company's id into
-- company_tombstones, and a later restore would have deleted that company.
CREATE OR REPLACE FUNCTION parley_company_delete(p_company uuid) RETURNS boolean
	LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	gone boolean;
BEGIN
	IF p_company IS NULL OR p_company IS DISTINCT FROM parley_current_company() THEN
		RAISE EXCEPTION 'only the current tenant' USING ERRCODE = 'insufficient_privilege';
	END IF;
	PERFORM set_config('parley.audit_purge', p_company::text, true);
	DELETE FROM companies WHERE id = p_company;
	gone := FOUND;
	PERFORM set_config('parley.audit_purge', '', true);
	IF gone THEN
		INSERT INTO company_tombstones (company_id) VALUES (p_company)
		    ON CONFLICT DO NOTHING;
	END IF;
	RETURN gone;
END
$$;
REVOKE INSERT ON company_tombstones FROM parley_runtime;
