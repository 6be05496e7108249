-- 021-webhook-fast-path.sql: the event triggers look for an endpoint
-- before they build an event. Most companies have none, and every message
-- stored paid for a JSON payload that nothing used (bench/run measured it
-- on the message path).
CREATE OR REPLACE FUNCTION parley_webhook_message() RETURNS trigger LANGUAGE plpgsql
	AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM webhook_endpoints WHERE company_id = NEW.company_id AND enabled) THEN
		PERFORM parley_webhook_emit(NEW.company_id, 'message.created',
		    jsonb_build_object('conversation_id', NEW.conversation_id,
			'message', jsonb_build_object('id', NEW.id, 'seq', NEW.seq,
			    'role', NEW.role, 'author_id', NEW.author_id,
			    'content', NEW.content, 'created_at', NEW.created_at)));
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
