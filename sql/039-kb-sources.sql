-- 039-kb-sources.sql: knowledge from a page, a sitemap or a file (issue
-- 19, item 5). A source is fetched by the jobs process (src/kb_fetch.c)
-- through the SSRF guard; each page becomes a document that keeps its
-- source, its address and its content's SHA-256, so a re-sync updates
-- what changed and removes what vanished.
CREATE TABLE kb_sources (
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	company_id	uuid NOT NULL,
	chatbot_id	uuid NOT NULL,
	-- url: one page or file at an address; sitemap: the pages it
	-- lists; file: one uploaded file, read by the jobs process too (a
	-- PDF can take seconds of CPU: never a request worker's).
	kind		text NOT NULL CHECK (kind IN ('url', 'sitemap', 'file')),
	url		text CHECK (url ~ '^https?://[!-~]+$' AND
			    length(url) <= 2000),
	title		text CHECK (length(title) BETWEEN 1 AND 200),
	-- An uploaded file until its text is read (then NULL).
	file		bytea CHECK (octet_length(file) <= 52428800),
	file_type	text CHECK (file_type IN ('application/pdf',
			    'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
			    'text/html', 'text/markdown', 'text/plain')),
	language	text CHECK (language IN ('simple', 'english', 'french',
			    'german', 'spanish', 'italian', 'portuguese', 'dutch',
			    'danish', 'finnish', 'norwegian', 'swedish',
			    'russian', 'hungarian', 'romanian', 'turkish',
			    'estonian', 'arabic', 'hebrew')),
	resync		text NOT NULL DEFAULT 'off' CHECK (resync IN ('off',
			    'daily', 'weekly')),
	-- queued: a fetch is due; fetching: one is running; done, failed:
	-- the last one's outcome (error says why it failed as a whole).
	status		text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued',
			    'fetching', 'done', 'failed')),
	error		text CHECK (error ~ '^[a-z_]{1,40}$'),
	pages_found	integer NOT NULL DEFAULT 0 CHECK (pages_found >= 0),
	pages_done	integer NOT NULL DEFAULT 0 CHECK (pages_done >= 0),
	pages_failed	integer NOT NULL DEFAULT 0 CHECK (pages_failed >= 0),
	-- The pages that failed in the last run: [{url, error}], at most 20.
	failures	jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(failures) =
			    'array' AND jsonb_array_length(failures) <= 20),
	synced_at	timestamptz,
	next_sync_at	timestamptz,
	created_by	uuid,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (company_id, id),
	FOREIGN KEY (company_id, chatbot_id) REFERENCES chatbots (company_id, id) ON DELETE CASCADE,
	CHECK ((kind = 'file') = (url IS NULL)),
	CHECK (kind <> 'file' OR resync = 'off')
);
CREATE INDEX kb_sources_bot_idx ON kb_sources (company_id, chatbot_id);
CREATE INDEX kb_sources_due_idx ON kb_sources (next_sync_at) WHERE resync <> 'off';
SELECT parley_tenant_table('kb_sources');

ALTER TABLE kb_documents
	ADD COLUMN source_id uuid,
	ADD COLUMN content_sha256 text CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
	ADD COLUMN fetched_at timestamptz,
	ADD FOREIGN KEY (company_id, source_id) REFERENCES kb_sources (company_id, id) ON DELETE CASCADE;
ALTER TABLE kb_documents DROP CONSTRAINT kb_documents_content_type_check;
ALTER TABLE kb_documents ADD CONSTRAINT kb_documents_content_type_check
	CHECK (content_type IN ('text/plain', 'text/markdown', 'text/html',
	'application/pdf',
	'application/vnd.openxmlformats-officedocument.wordprocessingml.document'));
CREATE UNIQUE INDEX kb_documents_source_url_idx ON kb_documents (company_id, source_id, source_url)
	WHERE source_id IS NOT NULL;

-- The re-sync sweep, before a company is known: sources due.
GRANT SELECT (company_id, id, resync, next_sync_at, status) ON kb_sources TO parley_lookup;
GRANT CREATE ON SCHEMA public TO parley_lookup;
CREATE FUNCTION parley_lookup_sources_due(p_limit integer)
	RETURNS TABLE (company_id uuid, source_id uuid)
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
	AS $$ SELECT company_id, id FROM kb_sources WHERE resync <> 'off' AND
	    next_sync_at <= now() AND status IN ('done', 'failed')
	    ORDER BY next_sync_at LIMIT p_limit $$;
ALTER FUNCTION parley_lookup_sources_due(integer) OWNER TO parley_lookup;
REVOKE CREATE ON SCHEMA public FROM parley_lookup;
REVOKE ALL ON FUNCTION parley_lookup_sources_due(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION parley_lookup_sources_due(integer) TO parley_runtime;
