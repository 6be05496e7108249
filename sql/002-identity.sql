-- 002-identity.sql: users, sessions, refresh and one-time tokens, MFA
-- recovery codes, security events (tenant tables); the jobs queue and
-- rate-limit events (global tables); the lookup functions that run before
-- a company is known (SECURITY DEFINER, owned by parley_lookup).

CREATE TABLE users (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	company_id		uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	email			text NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND position('@' IN email) > 1),
	name			text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	role			text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
	password_hash		text NOT NULL CHECK (password_hash ~ '^\$2[aby]\$'),
	password_changed_at	timestamptz NOT NULL DEFAULT now(),
	email_verified_at	timestamptz,
	totp_secret_enc		text,
	totp_pending_enc	text,
	totp_enabled_at		timestamptz,
	totp_last_step		bigint NOT NULL DEFAULT 0,
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now(),
	UNIQUE (company_id, id)
);
-- One account per address across all companies (one user, one company).
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_company_idx ON users (company_id);
SELECT parley_tenant_table('users');

CREATE TABLE sessions (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	company_id		uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	user_id			uuid NOT NULL,
	created_at		timestamptz NOT NULL DEFAULT now(),
	last_used_at		timestamptz NOT NULL DEFAULT now(),
	expires_at		timestamptz NOT NULL,
	idle_expires_at		timestamptz NOT NULL,
	revoked_at		timestamptz,
	revoke_reason		text CHECK (length(revoke_reason) <= 64),
	ip			text CHECK (length(ip) <= 64),
	user_agent		text CHECK (length(user_agent) <= 512),
	FOREIGN KEY (company_id, user_id) REFERENCES users (company_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_user_idx ON sessions (company_id, user_id);
SELECT parley_tenant_table('sessions');

-- Refresh tokens: SHA-256 of 256 random bits; rotated on every use. A
-- rotated token presented again revokes its session.
CREATE TABLE refresh_tokens (
	token_hash		bytea PRIMARY KEY CHECK (length(token_hash) = 32),
	company_id		uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	session_id		uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
	created_at		timestamptz NOT NULL DEFAULT now(),
	rotated_at		timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (company_id, session_id);
SELECT parley_tenant_table('refresh_tokens');

-- Single-use tokens sent by e-mail (password reset, e-mail verification).
CREATE TABLE auth_tokens (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	company_id		uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	user_id			uuid NOT NULL,
	kind			text NOT NULL CHECK (kind IN ('password_reset', 'email_verify')),
	token_hash		bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	created_at		timestamptz NOT NULL DEFAULT now(),
	expires_at		timestamptz NOT NULL,
	used_at			timestamptz,
	FOREIGN KEY (company_id, user_id) REFERENCES users (company_id, id) ON DELETE CASCADE
);
CREATE INDEX auth_tokens_user_idx ON auth_tokens (company_id, user_id);
SELECT parley_tenant_table('auth_tokens');

CREATE TABLE mfa_recovery_codes (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	company_id		uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	user_id			uuid NOT NULL,
	code_hash		bytea NOT NULL CHECK (length(code_hash) = 32),
	created_at		timestamptz NOT NULL DEFAULT now(),
	used_at			timestamptz,
	UNIQUE (company_id, user_id, code_hash),
	FOREIGN KEY (company_id, user_id) REFERENCES users (company_id, id) ON DELETE CASCADE
);
SELECT parley_tenant_table('mfa_recovery_codes');

-- Security events: what happened to an account, never a secret.
CREATE TABLE security_events (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	company_id		uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	user_id			uuid,
	kind			text NOT NULL CHECK (kind ~ '^[a-z_]{1,48}$'),
	ip			text CHECK (length(ip) <= 64),
	user_agent		text CHECK (length(user_agent) <= 512),
	detail			jsonb NOT NULL DEFAULT '{}',
	created_at		timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX security_events_company_idx ON security_events (company_id, created_at DESC, id);
SELECT parley_tenant_table('security_events');

-- The jobs queue (global: the jobs worker serves every company). Payloads
-- carry ids and, where a job must send a secret (a link), that secret
-- encrypted with the keyring; it is erased when the job is done.
CREATE TABLE jobs (
	id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind			text NOT NULL CHECK (kind ~ '^[a-z_]{1,32}$'),
	company_id		uuid REFERENCES companies(id) ON DELETE CASCADE,
	payload			jsonb NOT NULL,
	run_at			timestamptz NOT NULL DEFAULT now(),
	attempts		integer NOT NULL DEFAULT 0,
	max_attempts		integer NOT NULL DEFAULT 8 CHECK (max_attempts BETWEEN 1 AND 100),
	last_error		text CHECK (length(last_error) <= 200),
	done_at			timestamptz,
	failed_at		timestamptz,
	created_at		timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE done_at IS NULL AND failed_at IS NULL;
GRANT SELECT, INSERT, UPDATE, DELETE ON jobs TO parley_runtime;

-- Rate limits: one row per counted attempt, keyed by SHA-256 of the
-- bucket name (which holds an address or an e-mail), shared by every
-- worker and host.
CREATE TABLE rate_events (
	bucket			bytea NOT NULL CHECK (length(bucket) = 32),
	at			timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX rate_events_bucket_idx ON rate_events (bucket, at);
GRANT SELECT, INSERT, DELETE ON rate_events TO parley_runtime;

-- parley_rate_check(bucket, max, window, record): 0 when the attempt is
-- allowed (and recorded if 'record'), else the seconds until it would be.
-- Attempts on one bucket are serialised by an advisory lock.
CREATE FUNCTION parley_rate_check(p_bucket bytea, p_max integer, p_window interval, p_record boolean)
	RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	n	integer;
	oldest	timestamptz;
BEGIN
	PERFORM pg_advisory_xact_lock(hashtextextended(encode(p_bucket, 'hex'), 7072617));
	SELECT count(*), min(at) INTO n, oldest FROM rate_events
	    WHERE bucket = p_bucket AND at > clock_timestamp() - p_window;
	IF n >= p_max THEN
		RETURN greatest(1, ceil(extract(epoch FROM oldest + p_window - clock_timestamp())))::integer;
	END IF;
	IF p_record THEN
		INSERT INTO rate_events (bucket) VALUES (p_bucket);
	END IF;
	RETURN 0;
END
$$;

-- Lookups before a company is known: credential in, ids out.
GRANT SELECT (id, company_id, email) ON users TO parley_lookup;
GRANT SELECT (token_hash, company_id, session_id) ON refresh_tokens TO parley_lookup;
GRANT SELECT (token_hash, company_id, id, kind) ON auth_tokens TO parley_lookup;
-- A new owner needs CREATE on the schema; parley_lookup keeps only USAGE.
GRANT USAGE, CREATE ON SCHEMA public TO parley_lookup;

CREATE FUNCTION parley_lookup_user_by_email(p_email text)
	RETURNS TABLE (user_id uuid, company_id uuid)
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
	AS $$ SELECT id, company_id FROM users WHERE lower(email) = lower(p_email) $$;
CREATE FUNCTION parley_lookup_refresh_token(p_hash bytea)
	RETURNS TABLE (session_id uuid, company_id uuid)
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
	AS $$ SELECT session_id, company_id FROM refresh_tokens WHERE token_hash = p_hash $$;
CREATE FUNCTION parley_lookup_auth_token(p_kind text, p_hash bytea)
	RETURNS TABLE (token_id uuid, company_id uuid)
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
	AS $$ SELECT id, company_id FROM auth_tokens WHERE token_hash = p_hash AND kind = p_kind $$;
ALTER FUNCTION parley_lookup_user_by_email(text) OWNER TO parley_lookup;
ALTER FUNCTION parley_lookup_refresh_token(bytea) OWNER TO parley_lookup;
ALTER FUNCTION parley_lookup_auth_token(text, bytea) OWNER TO parley_lookup;
REVOKE CREATE ON SCHEMA public FROM parley_lookup;
REVOKE ALL ON FUNCTION parley_lookup_user_by_email(text), parley_lookup_refresh_token(bytea),
	parley_lookup_auth_token(text, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION parley_lookup_user_by_email(text), parley_lookup_refresh_token(bytea),
	parley_lookup_auth_token(text, bytea) TO parley_runtime;
