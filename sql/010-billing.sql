-- 010-billing.sql: a company's plan and Stripe billing state, and the
-- Stripe events applied (their ids unique, stored in the transaction of
-- their effect, so a redelivery changes nothing).
ALTER TABLE companies
	ADD COLUMN plan text NOT NULL DEFAULT 'free' CHECK (plan ~ '^[a-z0-9_-]{1,32}$'),
	ADD COLUMN stripe_customer_id text UNIQUE CHECK (stripe_customer_id ~ '^cus_[A-Za-z0-9]{1,100}$'),
	ADD COLUMN stripe_subscription_id text CHECK (stripe_subscription_id ~ '^sub_[A-Za-z0-9]{1,100}$'),
	ADD COLUMN subscription_status text CHECK (subscription_status IN ('incomplete',
	    'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled',
	    'unpaid', 'paused')),
	ADD COLUMN billing_state text NOT NULL DEFAULT 'none' CHECK (billing_state IN
	    ('none', 'active', 'past_due', 'canceled')),
	-- Stripe's "created" of the last subscription event applied: an
	-- older one arriving late does not roll the subscription back.
	ADD COLUMN billing_event_at bigint NOT NULL DEFAULT 0;

CREATE TABLE stripe_events (
	event_id	text PRIMARY KEY CHECK (event_id ~ '^evt_[A-Za-z0-9]{1,100}$'),
	company_id	uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	type		text NOT NULL CHECK (length(type) BETWEEN 1 AND 100),
	created		bigint NOT NULL,
	applied		boolean NOT NULL,
	received_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stripe_events_company_idx ON stripe_events (company_id, received_at DESC);
SELECT parley_tenant_table('stripe_events');

GRANT SELECT (id, stripe_customer_id) ON companies TO parley_lookup;
GRANT CREATE ON SCHEMA public TO parley_lookup;
-- A Stripe event names a customer, not a company.
CREATE FUNCTION parley_lookup_stripe_customer(p_customer text)
	RETURNS TABLE (company_id uuid)
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
	AS $$ SELECT id FROM companies WHERE stripe_customer_id = p_customer $$;
ALTER FUNCTION parley_lookup_stripe_customer(text) OWNER TO parley_lookup;
REVOKE CREATE ON SCHEMA public FROM parley_lookup;
REVOKE ALL ON FUNCTION parley_lookup_stripe_customer(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION parley_lookup_stripe_customer(text) TO parley_runtime;
