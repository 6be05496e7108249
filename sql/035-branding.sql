-- 035-branding.sql: a chatbot's look in the widget (issue 19, item 1):
-- its accent colour and the colour of text on it (a contrast of at least
-- WCAG AA's 4.5:1, checked by parleyd first; the CHECK is the backstop,
-- a hair under so floating point never makes the two disagree), the
-- launcher's side, the bot's display name and a logo; and the name agents
-- are shown by on their replies (never their e-mail).

-- The WCAG 2 relative luminance of an sRGB colour '#rrggbb'.
CREATE FUNCTION parley_luminance(p_hex text) RETURNS double precision
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT 0.2126 * c[1] + 0.7152 * c[2] + 0.0722 * c[3] FROM (SELECT
	    array_agg(CASE WHEN v <= 0.04045 THEN v / 12.92
	    ELSE ((v + 0.055) / 1.055) ^ 2.4 END ORDER BY i) AS c
	    FROM (SELECT i, ('x' || substr(p_hex, 2 * i, 2))::bit(8)::int
	    / 255.0::double precision AS v FROM generate_series(1, 3) i) s) l
$$;
-- The WCAG 2 contrast ratio of two colours, 1 to 21.
CREATE FUNCTION parley_contrast(p_a text, p_b text) RETURNS double precision
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT (greatest(a, b) + 0.05) / (least(a, b) + 0.05) FROM (SELECT
	    public.parley_luminance(p_a) AS a, public.parley_luminance(p_b) AS b) l
$$;

ALTER TABLE chatbots
	ADD COLUMN accent_color text NOT NULL DEFAULT '#1f2937'
	    CHECK (accent_color ~ '^#[0-9a-f]{6}$'),
	ADD COLUMN accent_text_color text NOT NULL DEFAULT '#ffffff'
	    CHECK (accent_text_color ~ '^#[0-9a-f]{6}$'),
	ADD COLUMN launcher_position text NOT NULL DEFAULT 'right'
	    CHECK (launcher_position IN ('right', 'left')),
	ADD COLUMN display_name text
	    CHECK (length(display_name) BETWEEN 1 AND 60),
	ADD CONSTRAINT chatbots_accent_contrast
	    CHECK (parley_contrast(accent_color, accent_text_color) >= 4.49);

ALTER TABLE users ADD COLUMN display_name text
	CHECK (length(display_name) BETWEEN 1 AND 60);

-- A chatbot's logo: an image parleyd decoded and wrote again (PNG, JPEG
-- or WebP: never SVG), kept here so every host serves it.
CREATE TABLE chatbot_logos (
	company_id	uuid NOT NULL,
	chatbot_id	uuid NOT NULL,
	media_type	text NOT NULL CHECK (media_type IN ('image/png',
			    'image/jpeg', 'image/webp')),
	width		integer NOT NULL CHECK (width BETWEEN 1 AND 1024),
	height		integer NOT NULL CHECK (height BETWEEN 1 AND 1024),
	content		bytea NOT NULL CHECK (octet_length(content)
			    BETWEEN 1 AND 262144),
	sha256		text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (company_id, chatbot_id),
	FOREIGN KEY (company_id, chatbot_id) REFERENCES chatbots (company_id, id) ON DELETE CASCADE
);
SELECT parley_tenant_table('chatbot_logos');
