-- 036-consent-policy.sql: consent that names what it was given to (issue
-- 19, item 4). A company has a privacy policy page (shown in the widget's
-- consent banner) and a policy version; each consent is stored with the
-- version in force when it was given, which parleyd takes from the
-- company, never from the widget. A company raises the version when its
-- policy changes: visitors are asked again.
ALTER TABLE companies
	ADD COLUMN privacy_policy_url text
	    CHECK (privacy_policy_url ~ '^https?://[!-~]+$' AND
	    length(privacy_policy_url) <= 2048),
	ADD COLUMN privacy_policy_version text NOT NULL DEFAULT '1'
	    CHECK (privacy_policy_version ~ '^[a-z0-9_-]{1,32}$');

-- Consents recorded before companies had versions carried the widget's
-- own constant ("2026-11"), which named no policy of the company's: they
-- keep no version (NULL, shown as such), rather than a made-up one.
ALTER TABLE consents ALTER COLUMN policy_version DROP NOT NULL;
ALTER TABLE consents NO FORCE ROW LEVEL SECURITY;
UPDATE consents SET policy_version = NULL;
ALTER TABLE consents FORCE ROW LEVEL SECURITY;
