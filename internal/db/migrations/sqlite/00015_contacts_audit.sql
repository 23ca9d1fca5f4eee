-- +goose Up
-- A tracing run's contacts are audited by one entry that commits to them
-- (a SHA-256 over the sorted rows, internal/healthcode ContactsDigest)
-- instead of one entry each: audit_id names that entry, so that a
-- holder's history shows their contact with it, and the auditor's
-- verification recomputes the digest from the rows.
ALTER TABLE contacts ADD COLUMN audit_id INTEGER REFERENCES audit_log (id);

-- +goose Down
ALTER TABLE contacts DROP COLUMN audit_id;
