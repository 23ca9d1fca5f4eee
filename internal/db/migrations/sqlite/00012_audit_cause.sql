-- +goose Up
-- An entry's cause: the message key (and its arguments, as JSON) that
-- words why the platform made the change, in the reader's language. The
-- reason beside it stays as recorded, in English or a person's own words.
-- Empty for entries whose reason is a person's words, and for entries
-- recorded before causes were; an entry's hash covers its cause when set.
ALTER TABLE audit_log ADD COLUMN cause TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_log DROP COLUMN cause;
