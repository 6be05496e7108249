-- 014-stripe.sql: secrets of the operator (not of a company), stored as
-- keyring ciphertext with "operator:NAME" as associated data, set with
-- `parleyctl secret set NAME` and re-encrypted by `parleyctl keys
-- rotate`; the Stripe price of each plan, for Checkout.
CREATE TABLE operator_secrets (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name		text NOT NULL UNIQUE CHECK (name IN ('stripe_secret_key')),
	value_enc	text NOT NULL CHECK (value_enc ~ '^v1\.'),
	updated_at	timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT ON operator_secrets TO parley_runtime;

ALTER TABLE plans ADD COLUMN stripe_price_id text
	CHECK (stripe_price_id ~ '^price_[A-Za-z0-9]{1,100}$');
