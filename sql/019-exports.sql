-- 019-exports.sql: full data exports of a company. The archive is a file
-- in export_dir (never in the database); the row says how far the export
-- got, where the file is, and when it expires (it is deleted then).
CREATE TABLE company_exports (
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	company_id	uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	requested_by	uuid,
	status		text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued',
			    'running', 'ready', 'failed', 'expired')),
	stage		text CHECK (length(stage) <= 32),
	records		bigint NOT NULL DEFAULT 0,
	bytes		bigint,
	sha256		text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
	error		text CHECK (length(error) <= 64),
	created_at	timestamptz NOT NULL DEFAULT now(),
	finished_at	timestamptz,
	expires_at	timestamptz,
	PRIMARY KEY (company_id, id)
);
CREATE INDEX company_exports_expiry_idx ON company_exports (company_id, expires_at) WHERE status = 'ready';
SELECT parley_tenant_table('company_exports');
