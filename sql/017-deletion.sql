-- 017-deletion.sql: what is left of a deleted company: its id and when
-- (no name, no person). Backups made before the deletion still hold the
-- company; `parleyctl restore` deletes again every company named here, so
-- an old backup does not bring a deleted company back.
CREATE TABLE company_tombstones (
	company_id	uuid PRIMARY KEY,
	deleted_at	timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT ON company_tombstones TO parley_runtime;
