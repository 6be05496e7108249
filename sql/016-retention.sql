-- 016-retention.sql: how long a company keeps conversations, and what
-- becomes of older ones (src/retention.c): deleted, leaving a non-personal
-- row of figures per conversation so analytics stay right, or anonymised
-- (message text kept with e-mail addresses, phone and card numbers
-- masked; the visitor's identity removed).
ALTER TABLE companies
	ADD COLUMN retention_period text NOT NULL DEFAULT '90_days'
	    CHECK (retention_period IN ('30_days', '60_days', '90_days',
		'6_months', '1_year', 'indefinitely')),
	ADD COLUMN retention_action text NOT NULL DEFAULT 'delete'
	    CHECK (retention_action IN ('delete', 'anonymise'));

ALTER TABLE conversations ADD COLUMN anonymised_at timestamptz;
CREATE INDEX conversations_activity_idx ON conversations (company_id, last_message_at, id);

-- What analytics need of a deleted conversation, and nothing personal.
CREATE TABLE conversation_stats (
	company_id	uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	conversation_id	uuid NOT NULL,
	chatbot_id	uuid,
	created_at	timestamptz NOT NULL,
	last_message_at	timestamptz NOT NULL,
	first_visitor_at timestamptz,
	first_response_at timestamptz,
	handed_off_at	timestamptz,
	resolved_at	timestamptz,
	status		text NOT NULL,
	handoff_reason	text,
	flag_reason	text,
	message_count	integer NOT NULL,
	tokens		bigint NOT NULL,
	deleted_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (company_id, conversation_id)
);
CREATE INDEX conversation_stats_created_idx ON conversation_stats (company_id, created_at);
SELECT parley_tenant_table('conversation_stats');

CREATE FUNCTION parley_retention_interval(p text) RETURNS interval
	LANGUAGE sql IMMUTABLE
	AS $$ SELECT CASE p WHEN '30_days' THEN interval '30 days'
	    WHEN '60_days' THEN interval '60 days' WHEN '90_days' THEN interval '90 days'
	    WHEN '6_months' THEN interval '6 months' WHEN '1_year' THEN interval '1 year' END $$;

-- The sweep runs before a company is known: every company's id and
-- settings, nothing else.
GRANT SELECT (id, retention_period, retention_action) ON companies TO parley_lookup;
GRANT CREATE ON SCHEMA public TO parley_lookup;
CREATE FUNCTION parley_lookup_retention()
	RETURNS TABLE (company_id uuid, period text, action text)
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
	AS $$ SELECT id, retention_period, retention_action FROM companies ORDER BY id $$;
ALTER FUNCTION parley_lookup_retention() OWNER TO parley_lookup;
REVOKE CREATE ON SCHEMA public FROM parley_lookup;
REVOKE ALL ON FUNCTION parley_lookup_retention() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION parley_lookup_retention() TO parley_runtime;

-- Visitors gone quiet are found without reading all of a company's.
CREATE INDEX visitors_seen_idx ON visitors (company_id, last_seen_at);
