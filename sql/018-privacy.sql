-- 018-privacy.sql: data-subject requests. A visitor may be restricted
-- (GDPR Art. 18, and an objection under Art. 21): the bot and the LLM no
-- longer process their messages (a human takes the conversation) and
-- their conversations are left out of analytics.
ALTER TABLE visitors
	ADD COLUMN restricted boolean NOT NULL DEFAULT false,
	ADD COLUMN restricted_at timestamptz;
ALTER TABLE conversations DROP CONSTRAINT conversations_handoff_reason_check,
	ADD CONSTRAINT conversations_handoff_reason_check CHECK (handoff_reason IN
	    ('visitor_request', 'no_answer', 'provider_error', 'output_check',
	    'budget', 'agent', 'restricted'));
-- Subjects are found by their customer's user id and by address.
CREATE INDEX visitors_email_idx ON visitors (company_id, lower(email)) WHERE email IS NOT NULL;
