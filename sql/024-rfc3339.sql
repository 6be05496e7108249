-- 024-rfc3339.sql: timestamps leave the API as RFC 3339 in UTC with
-- milliseconds, 2026-12-01T20:10:28.173Z (issue 15). Row codecs convert
-- the columns they read (src/row.c); this function is for times nested
-- in JSON that SQL builds (json_build_object, json_agg) and for exports.
CREATE FUNCTION parley_time(t timestamptz) RETURNS text
	LANGUAGE sql STABLE STRICT PARALLEL SAFE
	RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');

-- Webhook events carry their times so too (the envelope's timestamp was
-- RFC 3339 UTC already, with microseconds).
CREATE OR REPLACE FUNCTION parley_webhook_message() RETURNS trigger LANGUAGE plpgsql
	AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM webhook_endpoints WHERE company_id = NEW.company_id AND enabled) THEN
		PERFORM parley_webhook_emit(NEW.company_id, 'message.created',
		    jsonb_build_object('conversation_id', NEW.conversation_id,
			'message', jsonb_build_object('id', NEW.id, 'seq', NEW.seq,
			    'role', NEW.role, 'author_id', NEW.author_id,
			    'content', NEW.content, 'created_at', parley_time(NEW.created_at))));
	END IF;
	RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION parley_webhook_conversation() RETURNS trigger LANGUAGE plpgsql
	AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE company_id = NEW.company_id AND enabled) THEN
		RETURN NULL;
	END IF;
	IF TG_OP = 'INSERT' THEN
		PERFORM parley_webhook_emit(NEW.company_id, 'conversation.created',
		    jsonb_build_object('id', NEW.id, 'chatbot_id', NEW.chatbot_id,
			'visitor_id', NEW.visitor_id, 'status', NEW.status,
			'created_at', parley_time(NEW.created_at)));
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
