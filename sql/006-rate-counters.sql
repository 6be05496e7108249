-- 006-rate-counters.sql: fixed-window request counters for the per-user
-- and per-key API limit. One row per bucket and window, bumped in place:
-- O(1) per request, unlike rate_events (one row per attempt, for the few
-- login-like limits that need a sliding window). Workers add their counts
-- in small batches (src/ratelimit.c), so a busy user's row is not a point
-- of contention.
CREATE TABLE rate_counters (
	bucket		bytea NOT NULL CHECK (length(bucket) = 32),
	window_start	timestamptz NOT NULL,
	count		integer NOT NULL,
	PRIMARY KEY (bucket, window_start)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON rate_counters TO parley_runtime;

-- parley_rate_add(bucket, n, window seconds): adds 'n' requests to the
-- current window's counter and returns its total.
CREATE FUNCTION parley_rate_add(p_bucket bytea, p_n integer, p_window integer)
	RETURNS integer LANGUAGE sql VOLATILE AS $$
	INSERT INTO rate_counters AS r (bucket, window_start, count)
	SELECT p_bucket, to_timestamp(floor(extract(epoch FROM clock_timestamp()) / p_window) * p_window), p_n
	ON CONFLICT (bucket, window_start) DO UPDATE SET count = r.count + p_n
	RETURNING r.count
$$;
