-- 015-billing-clock.sql: two clocks for Stripe's events. billing_event_at
-- orders the events of the current subscription (reset when another
-- subscription replaces it); billing_state_at orders checkouts and
-- invoices, which set the billing state. Before, one clock served both,
-- so a checkout or an invoice could make an older event of a newer
-- subscription look stale.
ALTER TABLE companies ADD COLUMN billing_state_at bigint NOT NULL DEFAULT 0;
UPDATE companies SET billing_state_at = billing_event_at;
