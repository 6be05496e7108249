-- 011-plans.sql: plans and their limits. A global table the operator
-- edits (as the owner role, e.g. with psql); companies point at one.
-- NULL means no limit.
CREATE TABLE plans (
	id			text PRIMARY KEY CHECK (id ~ '^[a-z0-9_-]{1,32}$'),
	name			text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	max_chatbots		integer CHECK (max_chatbots >= 0),
	max_members		integer CHECK (max_members >= 1),
	max_documents		integer CHECK (max_documents >= 0),
	monthly_messages	integer CHECK (monthly_messages >= 0),
	monthly_llm_tokens	bigint CHECK (monthly_llm_tokens >= 0),
	updated_at		timestamptz NOT NULL DEFAULT now()
);
INSERT INTO plans (id, name, max_chatbots, max_members, max_documents,
    monthly_messages, monthly_llm_tokens) VALUES
	('free', 'Free', 3, 10, 200, 2000, 500000),
	('pro', 'Pro', 20, 50, 5000, 50000, 20000000),
	('enterprise', 'Enterprise', NULL, NULL, NULL, NULL, NULL);
GRANT SELECT ON plans TO parley_runtime;
ALTER TABLE companies ADD CONSTRAINT companies_plan_fk FOREIGN KEY (plan) REFERENCES plans (id);
-- Messages counted per month for the plan's limit.
CREATE INDEX messages_month_idx ON messages (company_id, created_at) WHERE role = 'visitor';
