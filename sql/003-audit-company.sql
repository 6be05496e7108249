-- 003-audit-company.sql: the audit log core and company settings.
--
-- audit_log is append-only for the runtime role: INSERT and SELECT only,
-- and a trigger refuses UPDATE, DELETE and TRUNCATE for everyone, except
-- parley_audit_purge(), which removes a whole company's entries when the
-- company is deleted. Entries are chained per company with HMAC-SHA256
-- under a key kept outside the database (src/audit.c); audit_heads holds
-- each company's last sequence number and HMAC, locked by every writer so
-- the chain follows commit order.

ALTER TABLE companies ADD COLUMN mfa_required boolean NOT NULL DEFAULT false;

CREATE TABLE audit_log (
	company_id	uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	seq		bigint NOT NULL CHECK (seq > 0),
	created_us	bigint NOT NULL,
	created_at	timestamptz NOT NULL,
	actor_type	text NOT NULL CHECK (actor_type IN ('user', 'api_key', 'stripe', 'system')),
	actor_id	text CHECK (length(actor_id) <= 64),
	action		text NOT NULL CHECK (action ~ '^[a-z_.]{1,64}$'),
	resource_type	text NOT NULL CHECK (resource_type ~ '^[a-z_]{1,32}$'),
	resource_id	text CHECK (length(resource_id) <= 64),
	changed_fields	jsonb NOT NULL DEFAULT '[]',
	changes		jsonb,
	ip		text CHECK (length(ip) <= 64),
	user_agent	text CHECK (length(user_agent) <= 512),
	request_id	text CHECK (request_id ~ '^[0-9a-f]{32}$'),
	prev_hmac	bytea NOT NULL CHECK (length(prev_hmac) = 32),
	hmac		bytea NOT NULL CHECK (length(hmac) = 32),
	PRIMARY KEY (company_id, seq)
);
CREATE INDEX audit_log_time_idx ON audit_log (company_id, created_at DESC);
SELECT parley_tenant_table('audit_log');
REVOKE UPDATE, DELETE ON audit_log FROM parley_runtime;

CREATE TABLE audit_heads (
	company_id	uuid PRIMARY KEY REFERENCES companies(id) ON DELETE CASCADE,
	seq		bigint NOT NULL DEFAULT 0,
	hmac		bytea NOT NULL DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000'
			CHECK (length(hmac) = 32)
);
SELECT parley_tenant_table('audit_heads');
REVOKE DELETE ON audit_heads FROM parley_runtime;

CREATE FUNCTION parley_audit_immutable() RETURNS trigger
	LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' AND
	    current_setting('parley.audit_purge', true) = OLD.company_id::text THEN
		RETURN OLD;
	END IF;
	RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_immutable BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION parley_audit_immutable();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION parley_audit_immutable();

-- The one way to remove entries: all of the current tenant's, when the
-- company itself is deleted. Runs as the owner; the caller's tenant context
-- must name the company.
CREATE FUNCTION parley_audit_purge(p_company uuid) RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	n bigint;
BEGIN
	IF p_company IS NULL OR p_company IS DISTINCT FROM parley_current_company() THEN
		RAISE EXCEPTION 'purge only the current tenant' USING ERRCODE = 'insufficient_privilege';
	END IF;
	PERFORM set_config('parley.audit_purge', p_company::text, true);
	DELETE FROM audit_log WHERE company_id = p_company;
	GET DIAGNOSTICS n = ROW_COUNT;
	DELETE FROM audit_heads WHERE company_id = p_company;
	PERFORM set_config('parley.audit_purge', '', true);
	RETURN n;
END
$$;
REVOKE ALL ON FUNCTION parley_audit_purge(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION parley_audit_purge(uuid) TO parley_runtime;
