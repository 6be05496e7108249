-- 033-offline.sql: business hours and offline mode per chatbot (issue 18,
-- item 3). A weekly schedule in the chatbot's time zone with holidays;
-- outside it, or when nobody is online, the widget says so and may ask
-- for an address. The address belongs to the visitor (so a data-subject
-- request by e-mail finds it, erasure deletes it, retention anonymises
-- it); it is confirmed before anything but the confirmation is sent to
-- it. Agents' replies the visitor has not seen are e-mailed after a quiet
-- delay, at most one mail per window per conversation.
ALTER TABLE chatbots ADD COLUMN hours_enabled boolean NOT NULL DEFAULT false;
-- An IANA name, checked against pg_timezone_names when it is set.
ALTER TABLE chatbots ADD COLUMN timezone text NOT NULL DEFAULT 'UTC'
	CHECK (length(timezone) BETWEEN 1 AND 64);
ALTER TABLE chatbots ADD COLUMN offline_message text
	CHECK (length(offline_message) <= 500);
ALTER TABLE chatbots ADD COLUMN ask_email boolean NOT NULL DEFAULT true;

-- Opening ranges per ISO day of week (1 Monday … 7 Sunday), local time;
-- closes may be 24:00. A range past midnight is two ranges.
CREATE TABLE chatbot_hours (
	company_id	uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	chatbot_id	uuid NOT NULL,
	dow		smallint NOT NULL CHECK (dow BETWEEN 1 AND 7),
	opens		time NOT NULL,
	closes		time NOT NULL CHECK (closes > opens),
	PRIMARY KEY (company_id, chatbot_id, dow, opens),
	FOREIGN KEY (company_id, chatbot_id) REFERENCES chatbots (company_id, id) ON DELETE CASCADE
);
SELECT parley_tenant_table('chatbot_hours');

-- Days closed all day, in the chatbot's time zone.
CREATE TABLE chatbot_holidays (
	company_id	uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	chatbot_id	uuid NOT NULL,
	day		date NOT NULL,
	name		text CHECK (length(name) <= 100),
	PRIMARY KEY (company_id, chatbot_id, day),
	FOREIGN KEY (company_id, chatbot_id) REFERENCES chatbots (company_id, id) ON DELETE CASCADE
);
SELECT parley_tenant_table('chatbot_holidays');

-- Whether the chatbot is within its hours at 'p_at' (always, when its
-- schedule is off). Runs as the caller, under the tenant's RLS.
CREATE FUNCTION parley_chatbot_open(p_company uuid, p_chatbot uuid, p_at timestamptz)
	RETURNS boolean LANGUAGE sql STABLE
	AS $$ SELECT NOT b.hours_enabled OR (
		NOT EXISTS (SELECT 1 FROM chatbot_holidays h
			WHERE h.company_id = p_company AND h.chatbot_id = p_chatbot
			    AND h.day = (p_at AT TIME ZONE b.timezone)::date)
		AND EXISTS (SELECT 1 FROM chatbot_hours w
			WHERE w.company_id = p_company AND w.chatbot_id = p_chatbot
			    AND w.dow = extract(isodow FROM p_at AT TIME ZONE b.timezone)
			    AND (p_at AT TIME ZONE b.timezone)::time >= w.opens
			    AND (p_at AT TIME ZONE b.timezone)::time < w.closes))
		FROM chatbots b WHERE b.company_id = p_company AND b.id = p_chatbot $$;

-- When the chatbot next opens after 'p_at', within two weeks: NULL when
-- it is open now, has no schedule, or opens later than that.
CREATE FUNCTION parley_chatbot_opens_at(p_company uuid, p_chatbot uuid, p_at timestamptz)
	RETURNS timestamptz LANGUAGE sql STABLE
	AS $$ SELECT CASE WHEN parley_chatbot_open(p_company, p_chatbot, p_at) THEN NULL ELSE (
		SELECT min((d.d + w.opens) AT TIME ZONE b.timezone)
		FROM chatbots b
		CROSS JOIN generate_series((p_at AT TIME ZONE b.timezone)::date::timestamp,
		    (p_at AT TIME ZONE b.timezone)::date::timestamp + interval '14 days',
		    interval '1 day') AS d(d)
		JOIN chatbot_hours w ON w.company_id = p_company AND w.chatbot_id = p_chatbot
		    AND w.dow = extract(isodow FROM d.d)
		WHERE b.company_id = p_company AND b.id = p_chatbot AND b.hours_enabled
		    AND (d.d + w.opens) AT TIME ZONE b.timezone > p_at
		    AND NOT EXISTS (SELECT 1 FROM chatbot_holidays h
			WHERE h.company_id = p_company AND h.chatbot_id = p_chatbot
			    AND h.day = d.d::date)) END $$;

-- The visitor's own address for replies, and when they confirmed it.
ALTER TABLE visitors ADD COLUMN contact_email text CHECK (length(contact_email) <= 254);
ALTER TABLE visitors ADD COLUMN contact_confirmed_at timestamptz;
ALTER TABLE visitors ADD CONSTRAINT visitors_contact_confirmed
	CHECK (contact_confirmed_at IS NULL OR contact_email IS NOT NULL);

-- Per conversation: the last message the visitor's widget showed, the
-- last one e-mailed, and since when an agent's reply waits unseen.
ALTER TABLE conversations ADD COLUMN visitor_seen_seq integer NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN contact_mailed_seq integer NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN contact_due_at timestamptz;
CREATE INDEX conversations_contact_due_idx ON conversations (contact_due_at)
	WHERE contact_due_at IS NOT NULL;

-- An agent's reply to a visitor with a confirmed address starts the
-- quiet delay (if none runs): whoever or whatever stores it.
CREATE FUNCTION parley_contact_message() RETURNS trigger LANGUAGE plpgsql
	AS $$
BEGIN
	UPDATE conversations c SET contact_due_at = now()
	FROM visitors v
	WHERE c.company_id = NEW.company_id AND c.id = NEW.conversation_id
	    AND c.contact_due_at IS NULL AND NEW.seq > c.visitor_seen_seq
	    AND v.company_id = c.company_id AND v.id = c.visitor_id
	    AND v.contact_confirmed_at IS NOT NULL;
	RETURN NULL;
END
$$;
CREATE TRIGGER messages_contact AFTER INSERT ON messages
	FOR EACH ROW WHEN (NEW.role = 'agent') EXECUTE FUNCTION parley_contact_message();

-- The reply-mail sweep, before any company is known: conversations whose
-- unseen reply has waited 'p_delay' seconds. Each mail is then made in
-- its company's tenant transaction.
GRANT SELECT (company_id, id, contact_due_at) ON conversations TO parley_lookup;
GRANT CREATE ON SCHEMA public TO parley_lookup;
CREATE FUNCTION parley_lookup_contact_due(p_limit integer, p_delay integer)
	RETURNS TABLE (company_id uuid, conversation_id uuid)
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
	AS $$ SELECT c.company_id, c.id FROM conversations c
		WHERE c.contact_due_at IS NOT NULL
		    AND c.contact_due_at <= now() - make_interval(secs => p_delay)
		ORDER BY c.contact_due_at LIMIT p_limit $$;
ALTER FUNCTION parley_lookup_contact_due(integer, integer) OWNER TO parley_lookup;
REVOKE CREATE ON SCHEMA public FROM parley_lookup;
REVOKE ALL ON FUNCTION parley_lookup_contact_due(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION parley_lookup_contact_due(integer, integer) TO parley_runtime;
