-- 007-audit-guard.sql: the runtime role writes the audit log only through
-- two functions that keep the chain whole, and companies (with their log)
-- are deleted only through parley_company_delete().
--
-- Before this, the runtime role could UPDATE audit_heads (breaking every
-- later write), purge the log of a company that still existed, and set the
-- trigger's escape setting itself.

REVOKE DELETE ON companies FROM parley_runtime;
REVOKE INSERT ON audit_log FROM parley_runtime;
REVOKE INSERT, UPDATE ON audit_heads FROM parley_runtime;

-- Only the owner role, inside parley_company_delete(), may delete entries.
CREATE OR REPLACE FUNCTION parley_audit_immutable() RETURNS trigger
	LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' AND current_user = 'parley_owner' AND
	    current_setting('parley.audit_purge', true) = OLD.company_id::text THEN
		RETURN OLD;
	END IF;
	RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;

-- Locks the current tenant's chain head (creating it) and returns it with
-- the time of the entry about to be written.
CREATE FUNCTION parley_audit_head(p_company uuid)
	RETURNS TABLE (seq bigint, hmac text, now_us bigint)
	LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
	IF p_company IS NULL OR p_company IS DISTINCT FROM parley_current_company() THEN
		RAISE EXCEPTION 'only the current tenant' USING ERRCODE = 'insufficient_privilege';
	END IF;
	INSERT INTO audit_heads (company_id) VALUES (p_company) ON CONFLICT DO NOTHING;
	RETURN QUERY SELECT h.seq, encode(h.hmac, 'hex'),
	    (extract(epoch FROM clock_timestamp()) * 1000000)::bigint
	    FROM audit_heads h WHERE h.company_id = p_company FOR UPDATE;
END
$$;

-- Appends one entry, which must continue the head exactly (next sequence
-- number, previous HMAC), and moves the head.
CREATE FUNCTION parley_audit_append(p_company uuid, p_seq bigint, p_created_us bigint,
    p_actor_type text, p_actor_id text, p_action text, p_resource_type text,
    p_resource_id text, p_fields jsonb, p_changes jsonb, p_ip text, p_user_agent text,
    p_request_id text, p_prev bytea, p_hmac bytea)
	RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
	IF p_company IS NULL OR p_company IS DISTINCT FROM parley_current_company() THEN
		RAISE EXCEPTION 'only the current tenant' USING ERRCODE = 'insufficient_privilege';
	END IF;
	PERFORM 1 FROM audit_heads WHERE company_id = p_company AND seq = p_seq - 1
	    AND hmac = p_prev FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'the entry does not continue the chain' USING ERRCODE = 'integrity_constraint_violation';
	END IF;
	INSERT INTO audit_log (company_id, seq, created_us, created_at, actor_type, actor_id,
	    action, resource_type, resource_id, changed_fields, changes, ip, user_agent,
	    request_id, prev_hmac, hmac)
	VALUES (p_company, p_seq, p_created_us, to_timestamp(p_created_us / 1000000.0),
	    p_actor_type, p_actor_id, p_action, p_resource_type, p_resource_id, p_fields,
	    p_changes, p_ip, p_user_agent, p_request_id, p_prev, p_hmac);
	UPDATE audit_heads SET seq = p_seq, hmac = p_hmac WHERE company_id = p_company;
END
$$;

-- Deletes the current tenant, everything it owns and its audit log: the
-- one way entries are ever removed.
DROP FUNCTION parley_audit_purge(uuid);
CREATE FUNCTION parley_company_delete(p_company uuid) RETURNS boolean
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
	RETURN gone;
END
$$;

REVOKE ALL ON FUNCTION parley_audit_head(uuid), parley_audit_append(uuid, bigint, bigint,
    text, text, text, text, text, jsonb, jsonb, text, text, text, bytea, bytea),
    parley_company_delete(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION parley_audit_head(uuid), parley_audit_append(uuid, bigint, bigint,
    text, text, text, text, text, jsonb, jsonb, text, text, text, bytea, bytea),
    parley_company_delete(uuid) TO parley_runtime;
