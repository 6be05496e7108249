-- 031-presence-lapse.sql: an agent whose console stopped beating (a
-- closed laptop) goes offline as one who chose it does: the jobs process
-- finds them and hands their conversations back where the chatbot says
-- so (parley_reassign).
GRANT SELECT (company_id, id, presence, presence_at) ON users TO parley_lookup;
GRANT CREATE ON SCHEMA public TO parley_lookup;
CREATE FUNCTION parley_lookup_presence_lapsed(p_limit integer)
	RETURNS TABLE (company_id uuid, user_id uuid)
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
	AS $$ SELECT u.company_id, u.id FROM users u
		WHERE u.presence <> 'offline' AND u.presence_at < now() - interval '2 minutes'
		LIMIT p_limit $$;
ALTER FUNCTION parley_lookup_presence_lapsed(integer) OWNER TO parley_lookup;
REVOKE CREATE ON SCHEMA public FROM parley_lookup;
REVOKE ALL ON FUNCTION parley_lookup_presence_lapsed(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION parley_lookup_presence_lapsed(integer) TO parley_runtime;
