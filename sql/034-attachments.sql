-- 034-attachments.sql: images and PDFs in a conversation (issue 18, item
-- 6). An attachment is a message of its own (its text the file's name) with
-- one file: the row says what the bytes are (decided from the bytes, never
-- the name), the file lives under attachments_dir/COMPANY/ (outside the
-- web root), and nginx serves it only after parleyd authorised the
-- request (X-Accel-Redirect). A file whose row is gone (retention,
-- erasure, deletion) is removed by the jobs process's sweep, which reads
-- the directory against this table: one mechanism for every way a row goes,
-- a crash between writing a file and committing its row included.
ALTER TABLE plans
	ADD COLUMN attachment_max_bytes integer CHECK (attachment_max_bytes >= 0),
	ADD COLUMN attachment_storage_bytes bigint CHECK (attachment_storage_bytes >= 0),
	ADD COLUMN attachments_per_conversation integer CHECK (attachments_per_conversation >= 0);
-- Defaults for every plan: the built-in ones by name, any other an
-- operator made like Pro. NULL is no limit (but the configuration's
-- attachment_max_bytes bounds every file).
UPDATE plans SET attachment_max_bytes = 5242880, attachment_storage_bytes = 524288000,
	attachments_per_conversation = 20 WHERE id = 'free';
UPDATE plans SET attachment_max_bytes = 10485760, attachment_storage_bytes = 10737418240,
	attachments_per_conversation = 100 WHERE id <> 'free' AND id <> 'enterprise';
UPDATE plans SET attachment_max_bytes = 10485760 WHERE id = 'enterprise';

CREATE TABLE attachments (
	company_id	uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	conversation_id	uuid NOT NULL,
	message_id	uuid NOT NULL,
	media_type	text NOT NULL CHECK (media_type IN ('image/png', 'image/jpeg',
			    'image/gif', 'image/webp', 'application/pdf')),
	filename	text NOT NULL CHECK (length(filename) BETWEEN 1 AND 200),
	bytes		integer NOT NULL CHECK (bytes > 0),
	width		integer CHECK (width > 0),
	height		integer CHECK (height > 0),
	sha256		text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
	-- The file's name under attachments_dir/COMPANY/: random, with the
	-- extension of its type (nginx's types map it to Content-Type).
	storage_key	text NOT NULL CHECK (storage_key ~ '^[0-9a-f]{32}\.(png|jpg|gif|webp|pdf)$'),
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (company_id, id),
	UNIQUE (company_id, storage_key),
	UNIQUE (company_id, message_id),
	FOREIGN KEY (company_id, conversation_id) REFERENCES conversations (company_id, id) ON DELETE CASCADE,
	FOREIGN KEY (company_id, message_id) REFERENCES messages (company_id, id) ON DELETE CASCADE
);
CREATE INDEX attachments_conversation ON attachments (company_id, conversation_id);
SELECT parley_tenant_table('attachments');

-- A visitor's file in a conversation the bot has goes to a person: the
-- bot cannot read it (its one handoff, reason 'attachment').
ALTER TABLE conversations DROP CONSTRAINT conversations_handoff_reason_check,
	ADD CONSTRAINT conversations_handoff_reason_check CHECK (handoff_reason IN
	    ('visitor_request', 'no_answer', 'provider_error', 'output_check',
	    'budget', 'agent', 'restricted', 'attachment'));
