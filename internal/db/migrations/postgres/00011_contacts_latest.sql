-- +goose Up
-- A code is evaluated from each contact kind's latest record (the rules
-- read the latest exposure; the reason quotes its evidence). A person who
-- is a contact of many cases in an outbreak has many records; this index
-- finds the latest of each kind without reading the others' evidence.
CREATE INDEX contacts_latest ON contacts (resident_id, kind, exposed_on, id) WHERE withdrawn_at IS NULL;

-- +goose Down
DROP INDEX contacts_latest;
