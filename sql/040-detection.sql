-- 040-detection.sql: detection and alerting (issue 20, items 1 and 2).
-- Security events and audit entries are judged as they are written
-- (src/detect.c, in the writer's own transaction); a rule that fires
-- opens an alert, or adds to the one already open for the same rule and
-- subject: one alert per incident, with a count. Opening one tells the
-- company's owners and admins (a notification, so the console lists it
-- and the digest mails it) and emits the signed webhook event
-- security.alert.

CREATE TABLE security_alerts (
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	company_id	uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	rule		text NOT NULL CHECK (rule ~ '^[a-z_]{1,40}$'),
	severity	text NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
	-- What the incident is about: "user:<id>", "session:<id>",
	-- "key:<id>", "chatbot:<id>", "endpoint:<id>", "address:<ip>",
	-- "company:<action>".
	subject		text NOT NULL CHECK (subject ~ '^[a-z]{1,16}:[!-~]{1,80}$'),
	user_id		uuid,
	state		text NOT NULL DEFAULT 'open'
			    CHECK (state IN ('open', 'acknowledged', 'resolved')),
	count		integer NOT NULL DEFAULT 1 CHECK (count >= 1),
	-- Ids, counts and thresholds: never a secret or a message's text.
	detail		jsonb NOT NULL DEFAULT '{}' CHECK (octet_length(detail::text) <= 2048),
	first_seen	timestamptz NOT NULL DEFAULT now(),
	last_seen	timestamptz NOT NULL DEFAULT now(),
	acknowledged_at	timestamptz,
	acknowledged_by	uuid,
	resolved_at	timestamptz,
	resolved_by	uuid,
	PRIMARY KEY (company_id, id)
);
-- One incident per rule and subject until it is resolved.
CREATE UNIQUE INDEX security_alerts_incident ON security_alerts (company_id, rule, subject)
	WHERE state <> 'resolved';
CREATE INDEX security_alerts_list ON security_alerts (company_id, last_seen DESC, id DESC);
SELECT parley_tenant_table('security_alerts');

-- Per-company baselines: for each rule and subject, the current hour's
-- count and an exponentially weighted mean of the hours before it.
CREATE TABLE detect_counters (
	company_id	uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	rule		text NOT NULL CHECK (rule ~ '^[a-z_]{1,40}$'),
	subject		text NOT NULL CHECK (subject ~ '^[a-z]{1,16}:[!-~]{1,80}$'),
	hour		timestamptz NOT NULL,
	count		integer NOT NULL CHECK (count >= 0),
	baseline	double precision NOT NULL DEFAULT 0 CHECK (baseline >= 0),
	PRIMARY KEY (company_id, rule, subject)
);
SELECT parley_tenant_table('detect_counters');

-- Counts one event of 'p_rule' about 'p_subject' in the current hour.
-- An hour that ended is folded into the baseline with weight 'p_alpha',
-- and every empty hour after it decays the baseline once more. Returns
-- the current hour's count (this event included) and the baseline.
CREATE FUNCTION parley_detect_count(p_company uuid, p_rule text, p_subject text,
    p_alpha double precision, OUT n integer, OUT baseline double precision)
	LANGUAGE sql
	AS $$
	INSERT INTO detect_counters AS d (company_id, rule, subject, hour, count)
	VALUES (p_company, p_rule, p_subject, date_trunc('hour', now()), 1)
	ON CONFLICT (company_id, rule, subject) DO UPDATE SET
		count = CASE WHEN d.hour = excluded.hour THEN d.count + 1 ELSE 1 END,
		baseline = CASE WHEN d.hour = excluded.hour THEN d.baseline
			ELSE (p_alpha * d.count + (1 - p_alpha) * d.baseline)
			    * power(1 - p_alpha, greatest(0, least(10000,
				extract(epoch FROM excluded.hour - d.hour) / 3600 - 1)))
			END,
		hour = excluded.hour
	RETURNING d.count, d.baseline
	$$;

-- Networks (/24 or /48) and browser families seen for a member's
-- sign-ins ("user:<id>") and an API key's requests ("key:<id>").
CREATE TABLE known_networks (
	company_id	uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
	subject		text NOT NULL CHECK (subject ~ '^(user|key):[0-9a-f-]{36}$'),
	network		cidr NOT NULL,
	agent		text NOT NULL DEFAULT '' CHECK (length(agent) <= 40),
	first_seen	timestamptz NOT NULL DEFAULT now(),
	last_seen	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (company_id, subject, network, agent)
);
SELECT parley_tenant_table('known_networks');

-- A member who is deleted (removed, erased) leaves no networks or
-- baselines behind.
CREATE FUNCTION parley_detect_forget_user() RETURNS trigger LANGUAGE plpgsql
	AS $$
BEGIN
	DELETE FROM known_networks WHERE company_id = OLD.company_id AND subject = 'user:' || OLD.id::text;
	DELETE FROM detect_counters WHERE company_id = OLD.company_id AND subject = 'user:' || OLD.id::text;
	RETURN NULL;
END
$$;
CREATE TRIGGER users_detect_forget AFTER DELETE ON users
	FOR EACH ROW EXECUTE FUNCTION parley_detect_forget_user();

-- The /24 (IPv4) or /48 (IPv6) an address is in; NULL for no address.
CREATE FUNCTION parley_network(p_addr text) RETURNS cidr
	LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
	AS $$
BEGIN
	IF p_addr IS NULL OR p_addr = '' THEN
		RETURN NULL;
	END IF;
	RETURN network(set_masklen(p_addr::inet,
	    CASE family(p_addr::inet) WHEN 4 THEN 24 ELSE 48 END))::cidr;
EXCEPTION WHEN invalid_text_representation THEN
	RETURN NULL;
END
$$;

-- Notes that 'p_subject' was seen from 'p_addr' with 'p_agent': 'first'
-- when nothing was known of it, 'known', or 'new' (a network and agent
-- never seen, while others were). At most 50 kept per subject.
CREATE FUNCTION parley_network_seen(p_company uuid, p_subject text, p_addr text, p_agent text)
	RETURNS text LANGUAGE plpgsql
	AS $$
DECLARE
	net cidr := parley_network(p_addr);
	seen boolean;
BEGIN
	IF net IS NULL THEN
		RETURN 'known';
	END IF;
	UPDATE known_networks SET last_seen = now()
	WHERE company_id = p_company AND subject = p_subject AND network = net
	    AND agent = p_agent AND last_seen < now() - interval '1 hour';
	IF FOUND OR EXISTS (SELECT 1 FROM known_networks WHERE company_id = p_company
	    AND subject = p_subject AND network = net AND agent = p_agent) THEN
		RETURN 'known';
	END IF;
	seen := EXISTS (SELECT 1 FROM known_networks WHERE company_id = p_company
	    AND subject = p_subject);
	INSERT INTO known_networks (company_id, subject, network, agent)
	VALUES (p_company, p_subject, net, p_agent) ON CONFLICT DO NOTHING;
	DELETE FROM known_networks WHERE company_id = p_company AND subject = p_subject
	    AND (network, agent) NOT IN (SELECT k.network, k.agent FROM known_networks k
		WHERE k.company_id = p_company AND k.subject = p_subject
		ORDER BY k.last_seen DESC LIMIT 50);
	RETURN CASE WHEN seen THEN 'new' ELSE 'first' END;
END
$$;

-- Failed logins by address, across companies (credential stuffing is
-- one address against many accounts, known or not). Holds the address,
-- the SHA-256 of the normalised e-mail, the company of a known account
-- and the time; rows older than a day are deleted by the jobs process.
CREATE TABLE login_failure_sources (
	addr		inet NOT NULL,
	account		bytea NOT NULL CHECK (octet_length(account) = 32),
	company_id	uuid,
	at		timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (addr, account)
);
CREATE INDEX login_failure_sources_at ON login_failure_sources (at);
GRANT SELECT, INSERT, UPDATE, DELETE ON login_failure_sources TO parley_runtime;

-- Notes one failed login from 'p_addr' against 'p_account' (of company
-- 'p_company', NULL when no account has that address); returns how many
-- distinct accounts that address failed against within 'p_window'
-- seconds and the companies of the known ones.
CREATE FUNCTION parley_stuffing_note(p_addr text, p_account bytea, p_company uuid,
    p_window integer, OUT accounts integer, OUT companies uuid[])
	LANGUAGE sql
	AS $$
	WITH up AS (
		INSERT INTO login_failure_sources AS s (addr, account, company_id)
		VALUES (p_addr::inet, p_account, p_company)
		ON CONFLICT (addr, account) DO UPDATE SET at = now(), company_id = excluded.company_id
		RETURNING addr, account, company_id)
	SELECT (SELECT count(*) + 1 FROM login_failure_sources s
		WHERE s.addr = p_addr::inet AND s.account <> p_account
		    AND s.at > now() - make_interval(secs => p_window))::integer,
	    ARRAY(SELECT DISTINCT x.c FROM (SELECT s.company_id FROM login_failure_sources s
			WHERE s.addr = p_addr::inet AND s.account <> p_account
			    AND s.at > now() - make_interval(secs => p_window)
		    UNION SELECT up.company_id FROM up) x(c) WHERE x.c IS NOT NULL)
	$$;

-- Opens an alert, or adds one to the count of the incident already open
-- (not resolved) for the same rule and subject. Opening tells every
-- owner and admin (a notification) and emits security.alert. Returns
-- the alert's id, whether this opened it, and its count.
CREATE FUNCTION parley_alert_raise(p_company uuid, p_rule text, p_severity text,
    p_subject text, p_user uuid, p_detail jsonb,
    OUT alert_id uuid, OUT opened boolean, OUT n integer)
	LANGUAGE plpgsql
	AS $$
DECLARE
	a security_alerts;
BEGIN
	INSERT INTO security_alerts AS s (company_id, rule, severity, subject, user_id, detail)
	VALUES (p_company, p_rule, p_severity, p_subject, p_user, coalesce(p_detail, '{}'))
	ON CONFLICT (company_id, rule, subject) WHERE state <> 'resolved'
	DO UPDATE SET count = s.count + 1, last_seen = now(),
		detail = s.detail || coalesce(excluded.detail, '{}')
	RETURNING s.id, s.xmax = 0, s.count INTO alert_id, opened, n;
	IF opened THEN
		SELECT * INTO a FROM security_alerts WHERE company_id = p_company AND id = alert_id;
		INSERT INTO notifications (company_id, user_id, kind, alert_id)
		SELECT p_company, u.id, 'security_alert', alert_id FROM users u
		WHERE u.company_id = p_company AND u.role IN ('owner', 'admin');
		PERFORM parley_webhook_emit(p_company, 'security.alert', jsonb_build_object(
		    'id', a.id, 'rule', a.rule, 'severity', a.severity,
		    'subject', a.subject, 'user_id', a.user_id, 'state', a.state,
		    'count', a.count, 'detail', a.detail,
		    'first_seen', to_char(a.first_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')));
	END IF;
END
$$;

-- Notifications name a conversation or, now, an alert.
ALTER TABLE notifications ALTER COLUMN conversation_id DROP NOT NULL;
ALTER TABLE notifications ADD COLUMN alert_id uuid;
ALTER TABLE notifications ADD FOREIGN KEY (company_id, alert_id)
	REFERENCES security_alerts (company_id, id) ON DELETE CASCADE;
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
	CHECK (kind IN ('handoff', 'assigned', 'visitor_message', 'security_alert'));
ALTER TABLE notifications ADD CONSTRAINT notifications_about
	CHECK (CASE WHEN kind = 'security_alert' THEN alert_id IS NOT NULL AND conversation_id IS NULL
		ELSE conversation_id IS NOT NULL AND alert_id IS NULL END);
CREATE UNIQUE INDEX notifications_alert_unread ON notifications (company_id, user_id, alert_id)
	WHERE read_at IS NULL AND alert_id IS NOT NULL;

-- The jobs process's sweep: baselines idle for a week (their weight is
-- then under 2e-8 of an hour's count at the default alpha) go.
GRANT DELETE, SELECT (hour) ON detect_counters TO parley_lookup;
GRANT CREATE ON SCHEMA public TO parley_lookup;
CREATE FUNCTION parley_detect_purge() RETURNS integer
	LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
	AS $$ WITH d AS (DELETE FROM detect_counters WHERE hour < now() - interval '7 days'
		RETURNING 1) SELECT count(*)::integer FROM d $$;
ALTER FUNCTION parley_detect_purge() OWNER TO parley_lookup;

-- The operator's metrics: open alerts by rule and severity, and disabled
-- webhook endpoints; counts only, never a company's id.
GRANT SELECT (rule, severity, state) ON security_alerts TO parley_lookup;
GRANT SELECT (enabled) ON webhook_endpoints TO parley_lookup;
CREATE FUNCTION parley_lookup_metrics()
	RETURNS TABLE (metric text, rule text, severity text, value bigint)
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
	AS $$ SELECT 'open_alerts', a.rule, a.severity, count(*) FROM security_alerts a
		WHERE a.state <> 'resolved' GROUP BY a.rule, a.severity
	    UNION ALL SELECT 'webhooks_disabled', '', '', count(*) FROM webhook_endpoints e
		WHERE NOT e.enabled $$;
ALTER FUNCTION parley_lookup_metrics() OWNER TO parley_lookup;
REVOKE CREATE ON SCHEMA public FROM parley_lookup;
REVOKE ALL ON FUNCTION parley_detect_purge(), parley_lookup_metrics() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION parley_detect_purge(), parley_lookup_metrics() TO parley_runtime;

-- Marks the operator's tools leave for monitoring: "backup" is set by
-- parleyctl backup when a backup is written whole.
CREATE TABLE ops_marks (
	name		text PRIMARY KEY CHECK (name ~ '^[a-z_]{1,32}$'),
	at		timestamptz NOT NULL
);
GRANT SELECT ON ops_marks TO parley_runtime;

-- Rolling upgrades (issue 21, item 4): the oldest code (by the schema
-- version it was built for) that still works on this schema. Migrations
-- are written expand/contract: an expand step (new tables, columns that
-- may be NULL, wider checks) leaves it alone, so hosts on the previous
-- release keep serving while others upgrade; a contract step (dropping
-- what the old code uses) raises it, and ships in the release after the
-- one that stopped using it. /readyz of a host whose code is older than
-- this answers 503 schema_newer_than_code. This migration only expands:
-- code built for schema 39 works on it.
CREATE TABLE parley_schema_compat (
	min_code_version integer NOT NULL CHECK (min_code_version >= 1),
	one boolean PRIMARY KEY DEFAULT true CHECK (one)
);
INSERT INTO parley_schema_compat (min_code_version) VALUES (39);
GRANT SELECT ON parley_schema_compat TO parley_runtime;
