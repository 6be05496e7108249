-- 024-rfc3339.sql: timestamps leave the API as RFC 3339 in UTC with
-- milliseconds, 2026-12-01T20:10:28.173Z (issue 15). Row codecs convert
-- the columns they read (src/row.c); this function is for times nested
-- in JSON that SQL builds (json_build_object, json_agg) and for exports.
CREATE FUNCTION parley_time(t timestamptz) RETURNS text
	LANGUAGE sql STABLE STRICT PARALLEL SAFE
	RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
