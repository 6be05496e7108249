-- 009-consent.sql: what each widget visitor agreed to, and when. One row
-- per answer (the latest is in force); the company shows them to its
-- auditors (GET /api/v1/consents).
CREATE TABLE consents (
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	company_id	uuid NOT NULL,
	chatbot_id	uuid NOT NULL,
	visitor_id	uuid NOT NULL,
	categories	text[] NOT NULL CHECK (categories <@ ARRAY['essential',
			    'analytics', 'marketing']::text[] AND
			    'essential' = ANY (categories)),
	policy_version	text NOT NULL CHECK (policy_version ~ '^[a-z0-9_-]{1,32}$'),
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (company_id, id),
	FOREIGN KEY (company_id, visitor_id) REFERENCES visitors (company_id, id) ON DELETE CASCADE,
	FOREIGN KEY (company_id, chatbot_id) REFERENCES chatbots (company_id, id) ON DELETE CASCADE
);
CREATE INDEX consents_visitor_idx ON consents (company_id, visitor_id, created_at DESC);
SELECT parley_tenant_table('consents');
