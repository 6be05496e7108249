-- 030-ratings.sql: a visitor rates a resolved conversation (issue 18,
-- item 4, in part): 1 to 5, with an optional comment. Kept with the
-- conversation (its export has it) and, like its figures, in
-- conversation_stats when retention deletes it, with its assignee, so
-- CSAT by chatbot and by agent outlives the text.
ALTER TABLE conversations ADD COLUMN rating smallint CHECK (rating BETWEEN 1 AND 5);
ALTER TABLE conversations ADD COLUMN rating_comment text CHECK (length(rating_comment) <= 1000);
ALTER TABLE conversations ADD COLUMN rated_at timestamptz;
ALTER TABLE conversation_stats ADD COLUMN rating smallint CHECK (rating BETWEEN 1 AND 5);
ALTER TABLE conversation_stats ADD COLUMN assignee_id uuid;
