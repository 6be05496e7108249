-- roles.sql: the database roles parley expects. Run once per cluster by a
-- superuser (psql -f roles.sql), before `parleyctl migrate`. Idempotent.
--
--   parley_owner    owns the schema; `parleyctl migrate` connects as it.
--   parley_runtime  NOLOGIN group holding the runtime privileges that the
--                   migrations grant (and nothing else).
--   parley_app      the login role parleyd connects as: member of
--                   parley_runtime, no BYPASSRLS, owns nothing, so row-level
--                   security always applies to it.
--   parley_lookup   NOLOGIN, BYPASSRLS, owns only the few SECURITY DEFINER
--                   lookup functions that map a credential (e-mail, token
--                   hash) to ids before a company is known, with SELECT on
--                   just the columns they read. parley_owner is a member so
--                   migrations can create those functions; parley_app is not.
--
-- Give the LOGIN roles passwords (ALTER ROLE … PASSWORD) or use peer
-- authentication in pg_hba.conf; see docs/operations.md.
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'parley_owner') THEN
		CREATE ROLE parley_owner LOGIN NOSUPERUSER NOCREATEROLE NOBYPASSRLS;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'parley_runtime') THEN
		CREATE ROLE parley_runtime NOLOGIN NOSUPERUSER NOBYPASSRLS;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'parley_lookup') THEN
		CREATE ROLE parley_lookup NOLOGIN NOSUPERUSER BYPASSRLS;
	END IF;
	IF NOT pg_has_role('parley_owner', 'parley_lookup', 'MEMBER') THEN
		GRANT parley_lookup TO parley_owner;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'parley_app') THEN
		CREATE ROLE parley_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
		    NOBYPASSRLS IN ROLE parley_runtime;
	END IF;
END
$$;
