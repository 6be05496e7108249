-- 022-answerer.sql: replies leave the request workers. A visitor's message
-- and its reply job are stored in one transaction; answerer processes
-- (src/answer.c) take the jobs, stream the provider's answer to the
-- visitor's channel and store the reply exactly once.

-- Which visitor message a bot message answers. One bot message per
-- visitor message, whatever crashes and retries happen: the schema says
-- so, not only the code.
ALTER TABLE messages ADD COLUMN reply_to uuid;
CREATE UNIQUE INDEX messages_reply_once ON messages (company_id, reply_to)
	WHERE reply_to IS NOT NULL;
-- A visitor message the bot owes a reply: set by the statement that stores
-- it (the conversation is the bot's), cleared by the reply or handoff that
-- answers it, or when a person takes the conversation. The sweep looks
-- for owed messages with no reply job; 'swept' says it queued one again.
ALTER TABLE messages ADD COLUMN reply_owed boolean NOT NULL DEFAULT false;
ALTER TABLE messages ADD COLUMN swept boolean NOT NULL DEFAULT false;
CREATE INDEX messages_owed_idx ON messages (created_at) WHERE reply_owed;

-- Existing conversations: a bot message answers the visitor message right
-- before it (the old code answered in the same request).
UPDATE messages b SET reply_to = v.id
FROM messages v
WHERE b.role = 'bot' AND v.role = 'visitor'
    AND v.company_id = b.company_id AND v.conversation_id = b.conversation_id
    AND v.seq = b.seq - 1;
-- and a conversation the bot still has whose last message is a visitor's
-- of the last hour is owed its reply (the sweep answers it, or hands it
-- over); older ones are the inbox's (unanswered), not the model's.
UPDATE messages m SET reply_owed = true
FROM conversations c
WHERE c.company_id = m.company_id AND c.id = m.conversation_id
    AND c.status = 'bot' AND c.last_role = 'visitor'
    AND m.seq = c.message_count AND m.role = 'visitor'
    AND m.created_at > now() - interval '1 hour';

-- The reply queue (global, like jobs: answerers serve every company).
-- Rows hold ids and state only, never text. A row lives while its reply
-- is owed: the transaction that stores the reply (or hands the
-- conversation over) deletes it.
CREATE TABLE reply_jobs (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	company_id	uuid NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
	conversation_id	uuid NOT NULL,
	kind		text NOT NULL CHECK (kind IN ('reply', 'draft')),
	message_id	uuid,		-- reply: the visitor message answered
	draft_id	uuid,		-- draft: the drafts row to fill
	state		text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running')),
	tries		integer NOT NULL DEFAULT 0,
	owner		text,		-- the answerer holding it
	lease_until	timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	CHECK ((kind = 'reply') = (message_id IS NOT NULL)),
	CHECK ((kind = 'draft') = (draft_id IS NOT NULL)),
	FOREIGN KEY (company_id, conversation_id) REFERENCES conversations (company_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX reply_jobs_message_key ON reply_jobs (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX reply_jobs_state_idx ON reply_jobs (state, id);
CREATE INDEX reply_jobs_company_idx ON reply_jobs (company_id, state, id);
CREATE INDEX reply_jobs_conversation_idx ON reply_jobs (conversation_id);
CREATE INDEX reply_jobs_owner_idx ON reply_jobs (owner) WHERE owner IS NOT NULL;
GRANT SELECT, INSERT, UPDATE, DELETE ON reply_jobs TO parley_runtime;
-- A queue: every row is inserted, updated and deleted within seconds, so
-- its dead rows are vacuumed as they come, not once a fifth is dead.
ALTER TABLE reply_jobs SET (autovacuum_vacuum_scale_factor = 0,
	autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0);

-- Answerers wait on LISTEN parley_reply. Whoever queues a job wakes them
-- with pg_notify('parley_reply', 'new') in a statement of its own after
-- the commit (answer_wake_stmt, src/answer.c), not in the transaction that
-- stores the message: a transaction that notifies holds PostgreSQL's
-- notify lock through its commit, fsync included, which would serialise
-- every visitor message's commit behind the others'.

-- A conversation that leaves the bot (an agent took it, a handoff) owes
-- no reply any more: its jobs go, and the answerer streaming one is told
-- at once (it then cancels the stream and tells the visitor).
CREATE FUNCTION parley_reply_cancel() RETURNS trigger
	LANGUAGE plpgsql
	AS $$
BEGIN
	DELETE FROM reply_jobs WHERE company_id = NEW.company_id
	    AND conversation_id = NEW.id AND kind = 'reply';
	IF FOUND THEN
		PERFORM pg_notify('parley_reply', 'cancel');
	END IF;
	-- A person answers from now on: the bot owes nothing.
	UPDATE messages SET reply_owed = false WHERE company_id = NEW.company_id
	    AND conversation_id = NEW.id AND reply_owed;
	RETURN NULL;
END
$$;
CREATE TRIGGER conversations_reply_cancel AFTER UPDATE OF status ON conversations
	FOR EACH ROW WHEN (OLD.status = 'bot' AND NEW.status <> 'bot')
	EXECUTE FUNCTION parley_reply_cancel();

-- The answerer stores a reply (or a draft) in the transaction that takes
-- its job: this locks the company and the chatbot (key share), then the
-- conversation (the order deletions and an agent's takeover lock in), deletes the job only if this try
-- still holds it, and clears the message's reply_owed; otherwise it
-- raises SQLSTATE PL409 and nothing of the transaction is kept.
CREATE FUNCTION parley_reply_take(p_job bigint, p_owner text, p_tries integer,
    p_company uuid, p_conversation uuid) RETURNS boolean
	LANGUAGE plpgsql
	AS $$
DECLARE
	m uuid;
BEGIN
	-- The parents first, as a deletion of the company or the chatbot
	-- locks them first: the writes below re-check their keys (a row
	-- updated twice in a transaction has its foreign keys checked).
	PERFORM 1 FROM companies WHERE id = p_company FOR KEY SHARE;
	PERFORM 1 FROM chatbots b JOIN conversations c ON c.company_id = b.company_id
	    AND c.chatbot_id = b.id WHERE c.company_id = p_company AND c.id = p_conversation
	    FOR KEY SHARE OF b;
	PERFORM 1 FROM conversations WHERE company_id = p_company AND id = p_conversation
	    FOR UPDATE;
	DELETE FROM reply_jobs WHERE id = p_job AND owner = p_owner AND tries = p_tries
	    AND company_id = p_company RETURNING message_id INTO m;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'reply job not held' USING ERRCODE = 'PL409';
	END IF;
	IF m IS NOT NULL THEN
		UPDATE messages SET reply_owed = false WHERE company_id = p_company
		    AND conversation_id = p_conversation AND id = m AND reply_owed;
	END IF;
	RETURN true;
END
$$;

-- Admission: a new visitor message is refused (SQLSTATE PL503, nothing
-- stored) when p_max replies are queued already, p_company_max of the
-- company's, or the company's oldest reply that could be taken now (not
-- one waiting behind an earlier reply of its conversation) has waited
-- more than p_age seconds. A conversation a person has is never refused:
-- no reply will be queued for it. Called first in the statement batch
-- that stores the message.
CREATE FUNCTION parley_reply_admit(p_company uuid, p_conversation uuid,
    p_max integer, p_company_max integer, p_age integer) RETURNS boolean
	LANGUAGE plpgsql
	AS $$
DECLARE
	n bigint;
	oldest timestamptz;
BEGIN
	IF EXISTS (SELECT 1 FROM conversations WHERE company_id = p_company
	    AND id = p_conversation AND status IN ('pending', 'open')) THEN
		RETURN true;
	END IF;
	SELECT count(*) INTO n FROM (SELECT 1 FROM reply_jobs WHERE state = 'queued'
	    LIMIT p_max) q;
	IF n >= p_max THEN
		RAISE EXCEPTION 'reply queue full' USING ERRCODE = 'PL503';
	END IF;
	SELECT count(*) INTO n FROM (SELECT 1 FROM reply_jobs
	    WHERE company_id = p_company AND state = 'queued' LIMIT p_company_max) q;
	SELECT j.created_at INTO oldest FROM reply_jobs j
	    WHERE j.company_id = p_company AND j.state = 'queued'
	    AND NOT EXISTS (SELECT 1 FROM reply_jobs r WHERE r.conversation_id = j.conversation_id
		AND r.kind = 'reply' AND r.id < j.id)
	    ORDER BY j.id LIMIT 1;
	IF n >= p_company_max OR oldest < now() - p_age * interval '1 second' THEN
		RAISE EXCEPTION 'company reply queue full' USING ERRCODE = 'PL503';
	END IF;
	RETURN true;
END
$$;

-- Idempotency keys of message posts: a retry under the same key returns
-- the message first stored and stores nothing. Scope is the caller
-- ("v:" visitor, "u:" user, "k:" API key), so no one's key can return
-- another's answer.
CREATE TABLE idempotency_keys (
	company_id	uuid NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
	scope		text NOT NULL CHECK (length(scope) BETWEEN 3 AND 40),
	key		text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
	body_hash	bytea NOT NULL CHECK (length(body_hash) = 32),
	conversation_id	uuid NOT NULL,
	message_id	uuid NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (company_id, scope, key),
	FOREIGN KEY (company_id, conversation_id) REFERENCES conversations (company_id, id) ON DELETE CASCADE
);
CREATE INDEX idempotency_keys_age_idx ON idempotency_keys (created_at);
SELECT parley_tenant_table('idempotency_keys');
-- An agent's draft, written by the answerer; read back with GET
-- /api/v1/conversations/{id}/suggestions/{draft}. Kept a day.
CREATE TABLE drafts (
	company_id	uuid NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	conversation_id	uuid NOT NULL,
	requested_by	uuid,		-- the user, or NULL for an API key
	status		text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'done', 'refused', 'failed')),
	content		text CHECK (length(content) <= 16000),
	citations	jsonb,
	source		text CHECK (source IN ('llm', 'knowledge_base')),
	created_at	timestamptz NOT NULL DEFAULT now(),
	done_at		timestamptz,
	PRIMARY KEY (company_id, id),
	FOREIGN KEY (company_id, conversation_id) REFERENCES conversations (company_id, id) ON DELETE CASCADE
);
CREATE INDEX drafts_age_idx ON drafts (created_at);
SELECT parley_tenant_table('drafts');
-- The jobs processes purge, for every company, Idempotency-Key rows
-- older than p_keys seconds and drafts older than p_drafts.
GRANT DELETE, SELECT (created_at) ON idempotency_keys, drafts TO parley_lookup;
GRANT CREATE ON SCHEMA public TO parley_lookup;
CREATE FUNCTION parley_answer_purge(p_keys integer, p_drafts integer) RETURNS void
	LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
	AS $$ DELETE FROM idempotency_keys WHERE created_at < now() - p_keys * interval '1 second';
	DELETE FROM drafts WHERE created_at < now() - p_drafts * interval '1 second' $$;
ALTER FUNCTION parley_answer_purge(integer, integer) OWNER TO parley_lookup;
REVOKE ALL ON FUNCTION parley_answer_purge(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION parley_answer_purge(integer, integer) TO parley_runtime;

-- The sweep: visitor messages owed a reply, older than p_age seconds,
-- with no reply job (and, to be sure, no reply), in conversations still
-- the bot's. Ids only; each is then resolved in its company's tenant
-- transaction.
GRANT SELECT (company_id, id, status) ON conversations TO parley_lookup;
GRANT SELECT (company_id, conversation_id, id, reply_to, reply_owed, created_at) ON messages TO parley_lookup;
GRANT SELECT (message_id) ON reply_jobs TO parley_lookup;
CREATE FUNCTION parley_lookup_unanswered(p_age integer, p_max integer)
	RETURNS TABLE (company_id uuid, conversation_id uuid, message_id uuid)
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
	AS $$ SELECT m.company_id, m.conversation_id, m.id FROM messages m
	JOIN conversations c ON c.company_id = m.company_id AND c.id = m.conversation_id
	WHERE m.reply_owed AND m.created_at < now() - p_age * interval '1 second'
	    AND c.status = 'bot'
	    AND NOT EXISTS (SELECT 1 FROM reply_jobs j WHERE j.message_id = m.id)
	    AND NOT EXISTS (SELECT 1 FROM messages r WHERE r.company_id = m.company_id
		AND r.reply_to = m.id)
	ORDER BY m.created_at LIMIT p_max $$;
ALTER FUNCTION parley_lookup_unanswered(integer, integer) OWNER TO parley_lookup;
REVOKE CREATE ON SCHEMA public FROM parley_lookup;
REVOKE ALL ON FUNCTION parley_lookup_unanswered(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION parley_lookup_unanswered(integer, integer) TO parley_runtime;
