-- 037-languages.sql: the widget in the visitor's language, and a
-- knowledge base in several (issue 19, item 2).
--
-- * Text search for languages PostgreSQL 15 has no stemmer for (Estonian,
--   Hebrew): configurations of those names that fold accents (unaccent:
--   "õ" matches "o", as visitors type without them) and keep words whole
--   (simple). Arabic has PostgreSQL's own stemmer.
-- * A chatbot's locales: the widget languages it offers, its default
--   first; its welcome message per locale.
-- * A document's own language (NULL: its chatbot's, which it follows when
--   that changes); its chunks are indexed in it.
-- * A conversation's locale, chosen by the widget among the chatbot's: the
--   bot answers in it where the knowledge base has it.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE TEXT SEARCH CONFIGURATION estonian (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION estonian ALTER MAPPING FOR asciiword,
	asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, simple;
CREATE TEXT SEARCH CONFIGURATION hebrew (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION hebrew ALTER MAPPING FOR asciiword,
	asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, simple;

-- The text search configuration of a widget locale (NULL: none offered).
CREATE FUNCTION parley_locale_config(p_locale text) RETURNS regconfig
	LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE p_locale WHEN 'en' THEN 'english' WHEN 'de' THEN 'german'
	    WHEN 'fr' THEN 'french' WHEN 'es' THEN 'spanish' WHEN 'da' THEN
	    'danish' WHEN 'sv' THEN 'swedish' WHEN 'et' THEN 'estonian' WHEN
	    'fi' THEN 'finnish' WHEN 'nl' THEN 'dutch' WHEN 'it' THEN 'italian'
	    WHEN 'pt' THEN 'portuguese' WHEN 'nb' THEN 'norwegian' WHEN 'ar'
	    THEN 'arabic' WHEN 'he' THEN 'hebrew' END::regconfig
$$;

ALTER TABLE chatbots DROP CONSTRAINT chatbots_language_check;
ALTER TABLE chatbots ADD CONSTRAINT chatbots_language_check CHECK (language IN
	('simple', 'english', 'french', 'german', 'spanish', 'italian',
	'portuguese', 'dutch', 'danish', 'finnish', 'norwegian', 'swedish',
	'russian', 'hungarian', 'romanian', 'turkish', 'estonian', 'arabic',
	'hebrew'));
ALTER TABLE chatbots
	ADD COLUMN locales text[] NOT NULL DEFAULT '{en}'
	    CHECK (cardinality(locales) BETWEEN 1 AND 14 AND locales <@
	    ARRAY['en', 'de', 'fr', 'es', 'da', 'sv', 'et', 'fi', 'nl', 'it',
	    'pt', 'nb', 'ar', 'he']),
	ADD COLUMN welcome_messages jsonb NOT NULL DEFAULT '{}'
	    CHECK (jsonb_typeof(welcome_messages) = 'object' AND
	    length(welcome_messages::text) <= 16000);

ALTER TABLE kb_documents ADD COLUMN language text CHECK (language IN
	('simple', 'english', 'french', 'german', 'spanish', 'italian',
	'portuguese', 'dutch', 'danish', 'finnish', 'norwegian', 'swedish',
	'russian', 'hungarian', 'romanian', 'turkish', 'estonian', 'arabic',
	'hebrew'));
CREATE INDEX kb_chunks_lang_idx ON kb_chunks (company_id, chatbot_id, language);

ALTER TABLE conversations ADD COLUMN locale text
	CHECK (locale IS NULL OR parley_locale_config(locale) IS NOT NULL);
