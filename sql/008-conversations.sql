-- 008-conversations.sql: chatbots, response templates, the knowledge base,
-- visitors, conversations, messages and LLM usage.
--
-- Every table is a tenant table (RLS through parley_tenant_table) whose
-- keys lead with company_id. The only global access is the widget's bot key
-- lookup (parley_lookup_bot) and the preflight origin check
-- (parley_lookup_origin), both SECURITY DEFINER and listed in
-- docs/architecture.md.

CREATE TABLE chatbots (
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	company_id	uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	prompt_template	text NOT NULL DEFAULT '' CHECK (length(prompt_template) <= 8000),
	welcome_message	text NOT NULL DEFAULT '' CHECK (length(welcome_message) <= 1000),
	-- Exact scheme://host[:port] values, checked in C as well.
	allowed_origins	text[] NOT NULL DEFAULT '{}' CHECK (cardinality(allowed_origins) <= 20),
	-- Hosts the bot may link to besides its origins' hosts and cited sources.
	link_domains	text[] NOT NULL DEFAULT '{}' CHECK (cardinality(link_domains) <= 20),
	language	text NOT NULL DEFAULT 'english' CHECK (language IN ('simple',
			    'english', 'french', 'german', 'spanish', 'italian',
			    'portuguese', 'dutch', 'danish', 'finnish', 'norwegian',
			    'swedish', 'russian', 'hungarian', 'romanian', 'turkish')),
	model		text CHECK (length(model) BETWEEN 1 AND 100),
	temperature	real NOT NULL DEFAULT 0.2 CHECK (temperature BETWEEN 0 AND 2),
	max_tokens	integer NOT NULL DEFAULT 512 CHECK (max_tokens BETWEEN 16 AND 4096),
	handoff_keywords text[] NOT NULL DEFAULT '{human,agent,person,operator}'
			    CHECK (cardinality(handoff_keywords) <= 20),
	handoff_on_no_answer boolean NOT NULL DEFAULT true,
	require_verified boolean NOT NULL DEFAULT false,
	-- The widget's key: public, unguessable, rotatable.
	public_key	text NOT NULL UNIQUE CHECK (public_key ~ '^pk_[0-9a-f]{32}$'),
	-- HMAC key for verified visitors: keyring ciphertext (src/crypto.c).
	identity_secret_enc text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (company_id, id),
	UNIQUE (id)
);
SELECT parley_tenant_table('chatbots');

CREATE TABLE response_templates (
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	company_id	uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	body		text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
	created_by	uuid,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (company_id, id),
	UNIQUE (company_id, name)
);
SELECT parley_tenant_table('response_templates');

CREATE TABLE kb_documents (
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	company_id	uuid NOT NULL,
	chatbot_id	uuid NOT NULL,
	title		text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
	content_type	text NOT NULL CHECK (content_type IN ('text/plain',
			    'text/markdown', 'text/html')),
	source_url	text CHECK (length(source_url) <= 2000),
	-- Size of the document as sent, and of the text kept.
	bytes		integer NOT NULL CHECK (bytes >= 0),
	text		text NOT NULL,
	chunks		integer NOT NULL DEFAULT 0,
	created_by	uuid,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (company_id, id),
	FOREIGN KEY (company_id, chatbot_id) REFERENCES chatbots (company_id, id) ON DELETE CASCADE
);
CREATE INDEX kb_documents_bot_idx ON kb_documents (company_id, chatbot_id, created_at DESC);
SELECT parley_tenant_table('kb_documents');

CREATE TABLE kb_chunks (
	id		bigint GENERATED ALWAYS AS IDENTITY,
	company_id	uuid NOT NULL,
	chatbot_id	uuid NOT NULL,
	document_id	uuid NOT NULL,
	ord		integer NOT NULL,
	content		text NOT NULL CHECK (length(content) BETWEEN 1 AND 8000),
	language	regconfig NOT NULL,
	tsv		tsvector GENERATED ALWAYS AS (to_tsvector(language, content)) STORED,
	PRIMARY KEY (company_id, id),
	FOREIGN KEY (company_id, document_id) REFERENCES kb_documents (company_id, id) ON DELETE CASCADE
);
CREATE INDEX kb_chunks_doc_idx ON kb_chunks (company_id, document_id, ord);
CREATE INDEX kb_chunks_tsv_idx ON kb_chunks USING gin (tsv);
CREATE INDEX kb_chunks_bot_idx ON kb_chunks (company_id, chatbot_id);
SELECT parley_tenant_table('kb_chunks');

CREATE TABLE visitors (
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	company_id	uuid NOT NULL,
	chatbot_id	uuid NOT NULL,
	-- Set only for visitors the company's backend vouched for (HMAC).
	external_id	text CHECK (length(external_id) BETWEEN 1 AND 200),
	email		text CHECK (length(email) <= 254),
	name		text CHECK (length(name) <= 200),
	verified	boolean NOT NULL DEFAULT false,
	created_at	timestamptz NOT NULL DEFAULT now(),
	last_seen_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (company_id, id),
	FOREIGN KEY (company_id, chatbot_id) REFERENCES chatbots (company_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX visitors_external_idx ON visitors (company_id, chatbot_id, external_id)
	WHERE external_id IS NOT NULL;
SELECT parley_tenant_table('visitors');

CREATE TABLE conversations (
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	company_id	uuid NOT NULL,
	chatbot_id	uuid NOT NULL,
	visitor_id	uuid NOT NULL,
	-- bot: the bot answers; pending: waiting for a human; open: a human
	-- handles it (the bot stays quiet); resolved.
	status		text NOT NULL DEFAULT 'bot' CHECK (status IN ('bot',
			    'pending', 'open', 'resolved')),
	assignee_id	uuid,
	handoff_reason	text CHECK (handoff_reason IN ('visitor_request',
			    'no_answer', 'provider_error', 'output_check',
			    'budget', 'agent')),
	flag_reason	text CHECK (flag_reason IN ('canary', 'system_prompt',
			    'link', 'too_long', 'empty')),
	message_count	integer NOT NULL DEFAULT 0,
	last_role	text CHECK (last_role IN ('visitor', 'bot', 'agent')),
	tokens		bigint NOT NULL DEFAULT 0,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	last_message_at	timestamptz NOT NULL DEFAULT now(),
	first_visitor_at timestamptz,
	first_response_at timestamptz,
	handed_off_at	timestamptz,
	resolved_at	timestamptz,
	PRIMARY KEY (company_id, id),
	FOREIGN KEY (company_id, chatbot_id) REFERENCES chatbots (company_id, id) ON DELETE CASCADE,
	FOREIGN KEY (company_id, visitor_id) REFERENCES visitors (company_id, id) ON DELETE CASCADE,
	FOREIGN KEY (company_id, assignee_id) REFERENCES users (company_id, id) ON DELETE SET NULL (assignee_id)
);
CREATE INDEX conversations_inbox_idx ON conversations (company_id, last_message_at DESC, id DESC);
CREATE INDEX conversations_visitor_idx ON conversations (company_id, visitor_id, created_at DESC);
SELECT parley_tenant_table('conversations');

CREATE TABLE messages (
	company_id	uuid NOT NULL,
	conversation_id	uuid NOT NULL,
	seq		integer NOT NULL CHECK (seq >= 1),
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	role		text NOT NULL CHECK (role IN ('visitor', 'bot', 'agent')),
	author_id	uuid,
	content		text NOT NULL CHECK (length(content) BETWEEN 1 AND 16000),
	citations	jsonb,
	prompt_tokens	integer,
	completion_tokens integer,
	model		text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (company_id, conversation_id, seq),
	UNIQUE (company_id, id),
	FOREIGN KEY (company_id, conversation_id) REFERENCES conversations (company_id, id) ON DELETE CASCADE
);
SELECT parley_tenant_table('messages');

-- Tokens used per chatbot and month: the budgets read the sum. Each
-- worker process adds to a shard of its own (its pid modulo 16), so busy
-- chatbots do not serialise every reply on one row lock.
CREATE TABLE llm_usage (
	company_id	uuid NOT NULL,
	chatbot_id	uuid NOT NULL,
	month		date NOT NULL,
	shard		smallint NOT NULL DEFAULT 0 CHECK (shard BETWEEN 0 AND 15),
	tokens		bigint NOT NULL DEFAULT 0,
	requests	integer NOT NULL DEFAULT 0,
	PRIMARY KEY (company_id, month, chatbot_id, shard),
	FOREIGN KEY (company_id, chatbot_id) REFERENCES chatbots (company_id, id) ON DELETE CASCADE
);
SELECT parley_tenant_table('llm_usage');

-- The company's own LLM provider settings (the key is keyring ciphertext).
CREATE TABLE company_llm (
	company_id	uuid PRIMARY KEY REFERENCES companies(id) ON DELETE CASCADE,
	base_url	text CHECK (length(base_url) <= 256),
	model		text CHECK (length(model) BETWEEN 1 AND 100),
	api_key_enc	text,
	updated_at	timestamptz NOT NULL DEFAULT now()
);
SELECT parley_tenant_table('company_llm');

GRANT SELECT (id, company_id, public_key, allowed_origins) ON chatbots TO parley_lookup;
GRANT CREATE ON SCHEMA public TO parley_lookup;
-- The widget's bot key, before the company is known.
CREATE FUNCTION parley_lookup_bot(p_key text)
	RETURNS TABLE (company_id uuid, chatbot_id uuid)
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
	AS $$ SELECT company_id, id FROM chatbots WHERE public_key = p_key $$;
ALTER FUNCTION parley_lookup_bot(text) OWNER TO parley_lookup;
-- CORS preflight: does any chatbot allow this origin? (A preflight carries
-- no bot key; the request itself is then checked against its chatbot.)
CREATE FUNCTION parley_lookup_origin(p_origin text)
	RETURNS boolean
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
	AS $$ SELECT EXISTS (SELECT 1 FROM chatbots WHERE p_origin = ANY (allowed_origins)) $$;
ALTER FUNCTION parley_lookup_origin(text) OWNER TO parley_lookup;
REVOKE CREATE ON SCHEMA public FROM parley_lookup;
REVOKE ALL ON FUNCTION parley_lookup_bot(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION parley_lookup_origin(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION parley_lookup_bot(text) TO parley_runtime;
GRANT EXECUTE ON FUNCTION parley_lookup_origin(text) TO parley_runtime;
CREATE INDEX chatbots_origins_idx ON chatbots USING gin (allowed_origins);
