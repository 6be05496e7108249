-- 028-notifications.sql: agents are told (issue 18, item 1). One
-- mechanism: the database makes a notification whenever a conversation
-- is handed to a person, assigned to someone, or its visitor writes
-- while it waits for a person -- whatever made the change (an agent, the
-- answerer, the reply sweep). The console lists them (unread kept here,
-- so a reload keeps them); the jobs process mails a digest of those an
-- agent has not seen after their quiet delay, one per agent per window.

-- Per-user preferences: mail or not, and the quiet delay (seconds) after
-- which an unseen notification goes into a digest; the last digest's time.
ALTER TABLE users ADD COLUMN notify_email boolean NOT NULL DEFAULT true;
ALTER TABLE users ADD COLUMN notify_delay integer NOT NULL DEFAULT 600
	CHECK (notify_delay BETWEEN 0 AND 86400);
ALTER TABLE users ADD COLUMN notify_digest_at timestamptz;

-- One row per (agent, conversation, kind) while unread: more of the same
-- add to its count (and make it due for the next digest again).
CREATE TABLE notifications (
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	company_id	uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	user_id		uuid NOT NULL,
	conversation_id	uuid NOT NULL,
	kind		text NOT NULL CHECK (kind IN ('handoff', 'assigned', 'visitor_message')),
	count		integer NOT NULL DEFAULT 1 CHECK (count >= 1),
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	read_at		timestamptz,
	emailed_at	timestamptz,
	PRIMARY KEY (company_id, id),
	FOREIGN KEY (company_id, user_id) REFERENCES users (company_id, id) ON DELETE CASCADE,
	FOREIGN KEY (company_id, conversation_id) REFERENCES conversations (company_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX notifications_unread ON notifications (company_id, user_id, conversation_id, kind)
	WHERE read_at IS NULL;
CREATE INDEX notifications_user ON notifications (company_id, user_id, updated_at DESC);
CREATE INDEX notifications_due ON notifications (updated_at) WHERE read_at IS NULL AND emailed_at IS NULL;
SELECT parley_tenant_table('notifications');

-- Tells 'p_user', or when NULL every member of the company, of 'p_kind'
-- about a conversation; the agent who made the change (app.actor_id,
-- set by the handler) is not told of it.
CREATE FUNCTION parley_notify(p_company uuid, p_conversation uuid, p_kind text, p_user uuid)
	RETURNS void LANGUAGE sql
	AS $$
	INSERT INTO notifications (company_id, user_id, conversation_id, kind)
	SELECT p_company, u.id, p_conversation, p_kind FROM users u
	WHERE u.company_id = p_company AND (p_user IS NULL OR u.id = p_user)
	    AND u.id::text IS DISTINCT FROM nullif(current_setting('app.actor_id', true), '')
	ON CONFLICT (company_id, user_id, conversation_id, kind) WHERE read_at IS NULL
	DO UPDATE SET count = notifications.count + 1, updated_at = now(), emailed_at = NULL
	$$;

CREATE FUNCTION parley_notify_conversation() RETURNS trigger LANGUAGE plpgsql
	AS $$
BEGIN
	IF NEW.status = 'pending' AND OLD.status IS DISTINCT FROM 'pending' THEN
		PERFORM parley_notify(NEW.company_id, NEW.id, 'handoff', NEW.assignee_id);
	END IF;
	IF NEW.assignee_id IS NOT NULL AND NEW.assignee_id IS DISTINCT FROM OLD.assignee_id THEN
		PERFORM parley_notify(NEW.company_id, NEW.id, 'assigned', NEW.assignee_id);
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER conversations_notify AFTER UPDATE OF status, assignee_id ON conversations
	FOR EACH ROW EXECUTE FUNCTION parley_notify_conversation();

CREATE FUNCTION parley_notify_message() RETURNS trigger LANGUAGE plpgsql
	AS $$
DECLARE
	c record;
BEGIN
	IF NEW.role = 'visitor' THEN
		SELECT status, assignee_id INTO c FROM conversations
		WHERE company_id = NEW.company_id AND id = NEW.conversation_id;
		IF c.status IN ('pending', 'open') THEN
			PERFORM parley_notify(NEW.company_id, NEW.conversation_id, 'visitor_message', c.assignee_id);
		END IF;
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER messages_notify AFTER INSERT ON messages
	FOR EACH ROW EXECUTE FUNCTION parley_notify_message();

-- The digest sweep, before any company is known: who has unseen
-- notifications older than their quiet delay, and no digest within it.
GRANT SELECT (company_id, user_id, read_at, emailed_at, updated_at) ON notifications TO parley_lookup;
GRANT SELECT (company_id, id, notify_email, notify_delay, notify_digest_at) ON users TO parley_lookup;
GRANT CREATE ON SCHEMA public TO parley_lookup;
CREATE FUNCTION parley_lookup_notify_due(p_limit integer)
	RETURNS TABLE (company_id uuid, user_id uuid)
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
	AS $$ SELECT DISTINCT n.company_id, n.user_id FROM notifications n
		JOIN users u ON u.company_id = n.company_id AND u.id = n.user_id
		WHERE n.read_at IS NULL AND n.emailed_at IS NULL AND u.notify_email
		    AND n.updated_at <= now() - make_interval(secs => u.notify_delay)
		    AND (u.notify_digest_at IS NULL OR u.notify_digest_at <= now() - make_interval(secs => u.notify_delay))
		LIMIT p_limit $$;
ALTER FUNCTION parley_lookup_notify_due(integer) OWNER TO parley_lookup;
REVOKE CREATE ON SCHEMA public FROM parley_lookup;
REVOKE ALL ON FUNCTION parley_lookup_notify_due(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION parley_lookup_notify_due(integer) TO parley_runtime;
