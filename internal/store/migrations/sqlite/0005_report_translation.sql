-- The report's messages in the other language too (same order, same shown
-- flags), so that its page can be read in English or Welsh whichever
-- language the software asked for. NULL for reports stored before.
ALTER TABLE reports ADD COLUMN messages_other TEXT;
