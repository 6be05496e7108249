-- 038-trigram.sql: misspelled questions still find their passages (issue
-- 19, item 5). Full-text search matches lexemes exactly, so "shiping"
-- finds nothing of "shipping". Each chatbot keeps the words of its
-- knowledge base (kb_terms: word, how many chunks hold it), maintained by
-- a trigger on kb_chunks; a question's word that no chunk holds is
-- joined by the knowledge base's most similar word (pg_trgm, similarity
-- at least 0.35) before the question is matched (src/bot.c). Measured by
-- bench/retrieval (docs/performance.md).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE kb_terms (
	company_id	uuid NOT NULL,
	chatbot_id	uuid NOT NULL,
	term		text NOT NULL CHECK (length(term) BETWEEN 4 AND 40),
	chunks		integer NOT NULL CHECK (chunks >= 0),
	PRIMARY KEY (company_id, chatbot_id, term),
	FOREIGN KEY (company_id, chatbot_id) REFERENCES chatbots (company_id, id) ON DELETE CASCADE
);
CREATE INDEX kb_terms_trgm_idx ON kb_terms USING gin (term gin_trgm_ops);

-- The words of a text as kb_terms keeps them: lower case, letters only,
-- 4 to 40 characters, each once.
CREATE FUNCTION parley_terms(p_text text) RETURNS SETOF text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT DISTINCT w FROM regexp_split_to_table(lower(p_text),
	    '[^[:alpha:]]+') w WHERE length(w) BETWEEN 4 AND 40
$$;

CREATE FUNCTION parley_kb_terms() RETURNS trigger
	LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO kb_terms AS t (company_id, chatbot_id, term, chunks)
		    SELECT NEW.company_id, NEW.chatbot_id, w, 1
		    FROM parley_terms(NEW.content) w
		    ON CONFLICT (company_id, chatbot_id, term) DO UPDATE
		    SET chunks = t.chunks + 1;
		RETURN NEW;
	END IF;
	UPDATE kb_terms t SET chunks = t.chunks - 1 WHERE t.company_id =
	    OLD.company_id AND t.chatbot_id = OLD.chatbot_id AND t.term IN
	    (SELECT parley_terms(OLD.content));
	DELETE FROM kb_terms t WHERE t.company_id = OLD.company_id AND
	    t.chatbot_id = OLD.chatbot_id AND t.term IN
	    (SELECT parley_terms(OLD.content)) AND t.chunks <= 0;
	RETURN OLD;
END
$$;

-- The words of the chunks there are already.
ALTER TABLE kb_chunks NO FORCE ROW LEVEL SECURITY;
INSERT INTO kb_terms (company_id, chatbot_id, term, chunks)
	SELECT company_id, chatbot_id, w, count(*) FROM kb_chunks,
	    parley_terms(content) w GROUP BY 1, 2, 3;
ALTER TABLE kb_chunks FORCE ROW LEVEL SECURITY;
SELECT parley_tenant_table('kb_terms');

CREATE TRIGGER kb_chunks_terms AFTER INSERT OR DELETE ON kb_chunks
	FOR EACH ROW EXECUTE FUNCTION parley_kb_terms();
