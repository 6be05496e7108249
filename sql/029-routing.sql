-- 029-routing.sql: labels, teams, presence and assignment on handoff
-- (issue 18, items 2 and 5).

-- Labels: company-defined, with a colour; on conversations.
CREATE TABLE labels (
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	company_id	uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
	colour		text NOT NULL DEFAULT '#6b7280' CHECK (colour ~ '^#[0-9a-f]{6}$'),
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (company_id, id),
	UNIQUE (company_id, name)
);
SELECT parley_tenant_table('labels');
CREATE TABLE conversation_labels (
	company_id	uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	conversation_id	uuid NOT NULL,
	label_id	uuid NOT NULL,
	PRIMARY KEY (company_id, conversation_id, label_id),
	FOREIGN KEY (company_id, conversation_id) REFERENCES conversations (company_id, id) ON DELETE CASCADE,
	FOREIGN KEY (company_id, label_id) REFERENCES labels (company_id, id) ON DELETE CASCADE
);
CREATE INDEX conversation_labels_label ON conversation_labels (company_id, label_id);
SELECT parley_tenant_table('conversation_labels');

-- Teams of agents; a chatbot's team gets its handoffs.
CREATE TABLE teams (
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	company_id	uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (company_id, id),
	UNIQUE (company_id, name)
);
SELECT parley_tenant_table('teams');
CREATE TABLE team_members (
	company_id	uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	team_id		uuid NOT NULL,
	user_id		uuid NOT NULL,
	last_assigned_at timestamptz, -- round robin: the longest waiting next
	PRIMARY KEY (company_id, team_id, user_id),
	FOREIGN KEY (company_id, team_id) REFERENCES teams (company_id, id) ON DELETE CASCADE,
	FOREIGN KEY (company_id, user_id) REFERENCES users (company_id, id) ON DELETE CASCADE
);
SELECT parley_tenant_table('team_members');

-- How a chatbot's handoffs are assigned: by hand, round robin among the
-- team's online agents, or to the least loaded of them; within each
-- agent's capacity (conversations pending or open assigned to them).
ALTER TABLE chatbots ADD COLUMN team_id uuid;
ALTER TABLE chatbots ADD CONSTRAINT chatbots_team_fk FOREIGN KEY (company_id, team_id)
	REFERENCES teams (company_id, id) ON DELETE SET NULL (team_id);
ALTER TABLE chatbots ADD COLUMN routing text NOT NULL DEFAULT 'manual'
	CHECK (routing IN ('manual', 'round_robin', 'least_loaded'));

-- Presence: set by the console (and its idle timer), kept alive by its
-- heartbeat; past two minutes without one an agent counts as offline.
ALTER TABLE users ADD COLUMN capacity integer NOT NULL DEFAULT 5 CHECK (capacity BETWEEN 0 AND 100);
ALTER TABLE users ADD COLUMN presence text NOT NULL DEFAULT 'offline'
	CHECK (presence IN ('online', 'away', 'offline'));
ALTER TABLE users ADD COLUMN presence_at timestamptz;

CREATE FUNCTION parley_presence(p text, at timestamptz) RETURNS text
	LANGUAGE sql STABLE
	RETURN CASE WHEN at IS NULL OR at < now() - interval '2 minutes' THEN 'offline' ELSE p END;

-- The agent a handoff goes to, or NULL (manual, no team, nobody online
-- with room). The team's member rows are locked first, so handoffs of
-- one team take turns and capacity holds however many come at once.
CREATE FUNCTION parley_route(p_company uuid, p_chatbot uuid) RETURNS uuid
	LANGUAGE plpgsql
	AS $$
DECLARE
	b record;
	pick uuid;
BEGIN
	SELECT routing, team_id INTO b FROM chatbots WHERE company_id = p_company AND id = p_chatbot;
	IF b.routing IS NULL OR b.routing = 'manual' OR b.team_id IS NULL THEN
		RETURN NULL;
	END IF;
	PERFORM 1 FROM team_members WHERE company_id = p_company AND team_id = b.team_id
		ORDER BY user_id FOR UPDATE;
	SELECT m.user_id INTO pick FROM team_members m
		JOIN users u ON u.company_id = m.company_id AND u.id = m.user_id
		CROSS JOIN LATERAL (SELECT count(*) AS n FROM conversations c
			WHERE c.company_id = p_company AND c.assignee_id = m.user_id
			    AND c.status IN ('pending', 'open')) l
		WHERE m.company_id = p_company AND m.team_id = b.team_id
		    AND parley_presence(u.presence, u.presence_at) = 'online' AND l.n < u.capacity
		ORDER BY CASE WHEN b.routing = 'least_loaded' THEN l.n END, m.last_assigned_at NULLS FIRST, m.user_id
		LIMIT 1;
	IF pick IS NOT NULL THEN
		UPDATE team_members SET last_assigned_at = clock_timestamp()
		WHERE company_id = p_company AND team_id = b.team_id AND user_id = pick;
	END IF;
	RETURN pick;
END
$$;

-- Every handoff is routed, whatever made it (an agent, the answerer,
-- the reply sweep).
CREATE FUNCTION parley_route_handoff() RETURNS trigger LANGUAGE plpgsql
	AS $$
BEGIN
	IF NEW.status = 'pending' AND OLD.status IS DISTINCT FROM 'pending' AND NEW.assignee_id IS NULL THEN
		NEW.assignee_id := parley_route(NEW.company_id, NEW.chatbot_id);
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER conversations_route BEFORE UPDATE OF status ON conversations
	FOR EACH ROW EXECUTE FUNCTION parley_route_handoff();

-- Notifications go to the assignee, else the chatbot's team, else
-- every member; a routed handoff is one notification, not two.
CREATE OR REPLACE FUNCTION parley_notify(p_company uuid, p_conversation uuid, p_kind text, p_user uuid)
	RETURNS void LANGUAGE sql
	AS $$
	INSERT INTO notifications (company_id, user_id, conversation_id, kind)
	SELECT p_company, u.id, p_conversation, p_kind FROM users u
	WHERE u.company_id = p_company
	    AND u.id::text IS DISTINCT FROM nullif(current_setting('app.actor_id', true), '')
	    AND CASE WHEN p_user IS NOT NULL THEN u.id = p_user
		WHEN (SELECT b.team_id FROM conversations c JOIN chatbots b ON b.company_id = c.company_id AND b.id = c.chatbot_id
		      WHERE c.company_id = p_company AND c.id = p_conversation) IS NOT NULL
		THEN u.id IN (SELECT m.user_id FROM team_members m JOIN chatbots b ON b.company_id = m.company_id AND b.team_id = m.team_id
		      JOIN conversations c ON c.company_id = b.company_id AND c.chatbot_id = b.id
		      WHERE c.company_id = p_company AND c.id = p_conversation)
		ELSE true END
	ON CONFLICT (company_id, user_id, conversation_id, kind) WHERE read_at IS NULL
	DO UPDATE SET count = notifications.count + 1, updated_at = now(), emailed_at = NULL
	$$;
CREATE OR REPLACE FUNCTION parley_notify_conversation() RETURNS trigger LANGUAGE plpgsql
	AS $$
DECLARE
	handoff boolean := NEW.status = 'pending' AND OLD.status IS DISTINCT FROM 'pending';
BEGIN
	IF handoff THEN
		PERFORM parley_notify(NEW.company_id, NEW.id, 'handoff', NEW.assignee_id);
	END IF;
	IF NOT handoff AND NEW.assignee_id IS NOT NULL AND NEW.assignee_id IS DISTINCT FROM OLD.assignee_id THEN
		PERFORM parley_notify(NEW.company_id, NEW.id, 'assigned', NEW.assignee_id);
	END IF;
	RETURN NULL;
END
$$;

-- An agent who goes offline hands back the conversations waiting for or
-- with them, of the chatbots that say so; routing gives them to the
-- team's other online agents (or nobody, to be taken).
ALTER TABLE chatbots ADD COLUMN reassign_offline boolean NOT NULL DEFAULT false;
CREATE FUNCTION parley_reassign(p_company uuid, p_user uuid) RETURNS integer
	LANGUAGE sql
	AS $$
	WITH moved AS (UPDATE conversations c SET assignee_id = parley_route(c.company_id, c.chatbot_id), updated_at = now()
		FROM chatbots b WHERE c.company_id = p_company AND c.assignee_id = p_user
		    AND c.status IN ('pending', 'open') AND b.company_id = c.company_id AND b.id = c.chatbot_id
		    AND b.reassign_offline RETURNING c.id)
	SELECT count(*)::integer FROM moved
	$$;
