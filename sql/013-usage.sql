-- 013-usage.sql: visitor messages counted per company and month, for the
-- plan's monthly_messages. Each database connection (one per parleyd
-- process) adds to a shard of its own, so concurrent visitors of one
-- company do not queue on one row; the month's use is the sum of at most
-- eight rows.
CREATE TABLE message_usage (
	company_id	uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	month		date NOT NULL,
	shard		smallint NOT NULL CHECK (shard BETWEEN 0 AND 7),
	messages	bigint NOT NULL DEFAULT 0 CHECK (messages >= 0),
	PRIMARY KEY (company_id, month, shard)
);
SELECT parley_tenant_table('message_usage');

-- Counts one visitor message of company p_company, or refuses it (SQLSTATE
-- PL402) when the plan's monthly_messages are used up; NULL: no limit.
-- Called from the statement that stores the message (src/conv.c), so a
-- refused message is not stored and a stored one is counted, in one
-- transaction. Concurrent messages may pass the check together: the
-- allowance can be overrun by at most the number in flight.
CREATE FUNCTION parley_count_message(p_company uuid) RETURNS boolean
	LANGUAGE plpgsql
	AS $$
DECLARE
	lim integer;
	used bigint;
	m date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
BEGIN
	SELECT p.monthly_messages INTO lim FROM companies c JOIN plans p ON p.id = c.plan
	    WHERE c.id = p_company;
	IF lim IS NOT NULL THEN
		SELECT coalesce(sum(messages), 0) INTO used FROM message_usage
		    WHERE company_id = p_company AND month = m;
		IF used >= lim THEN
			RAISE EXCEPTION 'monthly message allowance used up'
			    USING ERRCODE = 'PL402';
		END IF;
	END IF;
	INSERT INTO message_usage (company_id, month, shard, messages)
	    VALUES (p_company, m, (pg_backend_pid() % 8)::smallint, 1)
	    ON CONFLICT (company_id, month, shard)
	    DO UPDATE SET messages = message_usage.messages + 1;
	RETURN true;
END
$$;

-- What this month's visitors already wrote counts.
INSERT INTO message_usage (company_id, month, shard, messages)
SELECT company_id, date_trunc('month', now() AT TIME ZONE 'UTC')::date, 0, count(*)
FROM messages
WHERE role = 'visitor'
    AND created_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
GROUP BY company_id;

-- The counter replaces counting messages.
DROP INDEX messages_month_idx;
