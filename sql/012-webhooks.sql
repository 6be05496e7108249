-- 012-webhooks.sql: outgoing webhooks. An endpoint's signing secret is
-- keyring ciphertext. Each event makes one delivery per subscribed
-- endpoint (and one job, which sends it); each try of a delivery is an
-- attempt row, committed before the request goes out and completed when
-- the answer comes back, so a process killed mid-delivery leaves a record
-- of the try it was making.
CREATE TABLE webhook_endpoints (
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	company_id	uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	url		text NOT NULL CHECK (length(url) <= 2000 AND url ~ '^https?://[!-~]+$'),
	description	text NOT NULL DEFAULT '' CHECK (length(description) <= 200),
	events		text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 20),
	secret_enc	text NOT NULL,
	-- After a rotation the old secret signs too, for a day, so receivers
	-- can switch over without dropping deliveries.
	secret_prev_enc	text,
	secret_prev_until timestamptz,
	enabled		boolean NOT NULL DEFAULT true,
	disabled_reason	text CHECK (length(disabled_reason) <= 64),
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (company_id, id),
	UNIQUE (id)
);
SELECT parley_tenant_table('webhook_endpoints');

CREATE TABLE webhook_deliveries (
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	company_id	uuid NOT NULL,
	endpoint_id	uuid NOT NULL,
	-- The event's id (webhook-id): the same for every endpoint and every
	-- attempt, so a receiver can drop a repeat.
	event_id	text NOT NULL CHECK (event_id ~ '^msg_[0-9a-f]{32}$'),
	event_type	text NOT NULL CHECK (event_type ~ '^[a-z_]{1,32}\.[a-z_]{1,32}$'),
	payload		jsonb NOT NULL,
	attempts	integer NOT NULL DEFAULT 0,
	delivered_at	timestamptz,
	failed_at	timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (company_id, id),
	FOREIGN KEY (company_id, endpoint_id) REFERENCES webhook_endpoints (company_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (company_id, endpoint_id, created_at DESC, id DESC);
SELECT parley_tenant_table('webhook_deliveries');

CREATE TABLE webhook_attempts (
	company_id	uuid NOT NULL,
	delivery_id	uuid NOT NULL,
	n		integer NOT NULL CHECK (n >= 1),
	started_at	timestamptz NOT NULL DEFAULT clock_timestamp(),
	finished_at	timestamptz,
	status		integer CHECK (status BETWEEN 0 AND 999),
	error		text CHECK (length(error) <= 64),
	response	text CHECK (length(response) <= 1024),
	PRIMARY KEY (company_id, delivery_id, n),
	FOREIGN KEY (company_id, delivery_id) REFERENCES webhook_deliveries (company_id, id) ON DELETE CASCADE
);
SELECT parley_tenant_table('webhook_attempts');

-- Emitting: one delivery per enabled endpoint subscribed to the event (by
-- type, by family "member.*", or "*") and one job each, in the
-- transaction of the change that caused it. Triggers call it, so no code
-- path that changes a conversation, a message or a member can forget to;
-- a company without endpoints pays one index probe.
CREATE FUNCTION parley_webhook_emit(p_company uuid, p_type text, p_data jsonb)
	RETURNS void LANGUAGE plpgsql
	AS $$
DECLARE
	-- One id per event (webhook-id), the same for every endpoint.
	ev_id text := 'msg_' || replace(gen_random_uuid()::text, '-', '');
	body jsonb := jsonb_build_object('type', p_type, 'timestamp',
	    to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
	    'data', p_data);
BEGIN
	WITH d AS (
		INSERT INTO webhook_deliveries (company_id, endpoint_id, event_id, event_type, payload)
		SELECT e.company_id, e.id, ev_id, p_type, body
		FROM webhook_endpoints e
		WHERE e.company_id = p_company AND e.enabled
		    AND (p_type = ANY (e.events) OR split_part(p_type, '.', 1) || '.*' = ANY (e.events)
			OR '*' = ANY (e.events))
		RETURNING id, company_id)
	INSERT INTO jobs (kind, company_id, payload, max_attempts)
	SELECT 'webhook', company_id, json_build_object('delivery', id), 13 FROM d;
END
$$;

CREATE FUNCTION parley_webhook_message() RETURNS trigger LANGUAGE plpgsql
	AS $$
BEGIN
	PERFORM parley_webhook_emit(NEW.company_id, 'message.created',
	    jsonb_build_object('conversation_id', NEW.conversation_id,
		'message', jsonb_build_object('id', NEW.id, 'seq', NEW.seq,
		    'role', NEW.role, 'author_id', NEW.author_id,
		    'content', NEW.content, 'created_at', NEW.created_at)));
	RETURN NULL;
END
$$;
CREATE TRIGGER webhook_message AFTER INSERT ON messages
	FOR EACH ROW EXECUTE FUNCTION parley_webhook_message();

CREATE FUNCTION parley_webhook_conversation() RETURNS trigger LANGUAGE plpgsql
	AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		PERFORM parley_webhook_emit(NEW.company_id, 'conversation.created',
		    jsonb_build_object('id', NEW.id, 'chatbot_id', NEW.chatbot_id,
			'visitor_id', NEW.visitor_id, 'status', NEW.status,
			'created_at', NEW.created_at));
	ELSE
		PERFORM parley_webhook_emit(NEW.company_id, 'conversation.status_changed',
		    jsonb_build_object('id', NEW.id, 'chatbot_id', NEW.chatbot_id,
			'previous_status', OLD.status, 'status', NEW.status,
			'assignee_id', NEW.assignee_id,
			'handoff_reason', NEW.handoff_reason));
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER webhook_conversation_new AFTER INSERT ON conversations
	FOR EACH ROW EXECUTE FUNCTION parley_webhook_conversation();
CREATE TRIGGER webhook_conversation_status AFTER UPDATE OF status ON conversations
	FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
	EXECUTE FUNCTION parley_webhook_conversation();

-- Members: joined, role or name changed, removed. A removal cascading
-- from a whole company's deletion (trigger depth > 1) is not an event.
CREATE FUNCTION parley_webhook_member() RETURNS trigger LANGUAGE plpgsql
	AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		IF pg_trigger_depth() = 1 THEN
			PERFORM parley_webhook_emit(OLD.company_id, 'member.removed',
			    jsonb_build_object('id', OLD.id, 'role', OLD.role));
		END IF;
		RETURN NULL;
	END IF;
	PERFORM parley_webhook_emit(NEW.company_id,
	    CASE TG_OP WHEN 'INSERT' THEN 'member.joined' ELSE 'member.updated' END,
	    jsonb_build_object('id', NEW.id, 'name', NEW.name, 'email', NEW.email,
		'role', NEW.role));
	RETURN NULL;
END
$$;
CREATE TRIGGER webhook_member_new AFTER INSERT ON users
	FOR EACH ROW EXECUTE FUNCTION parley_webhook_member();
CREATE TRIGGER webhook_member_change AFTER UPDATE OF role, name, email ON users
	FOR EACH ROW WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.name IS DISTINCT FROM NEW.name
	    OR OLD.email IS DISTINCT FROM NEW.email)
	EXECUTE FUNCTION parley_webhook_member();
CREATE TRIGGER webhook_member_gone AFTER DELETE ON users
	FOR EACH ROW EXECUTE FUNCTION parley_webhook_member();
