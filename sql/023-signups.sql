-- 023-signups.sql: registration confirms the address before anything is
-- created (issue 14, item 2). POST /auth/register answers the same
-- whether or not the address has an account: a new address gets a
-- pending signup and a link; a taken one gets a notice instead. The link
-- creates the company and its owner.
--
-- A signup holds what the company and owner will be made of, the
-- password already hashed, and the SHA-256 of its link's token; it lives
-- at most verify_ttl and is deleted when used. One per address (lower
-- case): a newer one replaces the older, so its link stops working.
CREATE TABLE signups (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	company_id	uuid NOT NULL UNIQUE,
	email		text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	company_name	text NOT NULL CHECK (length(company_name) BETWEEN 1 AND 200),
	password_hash	text NOT NULL CHECK (length(password_hash) <= 128),
	token_hash	bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	expires_at	timestamptz NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX signups_email_key ON signups (lower(email));
CREATE INDEX signups_expires ON signups (expires_at);
GRANT SELECT, INSERT, UPDATE, DELETE ON signups TO parley_runtime;
