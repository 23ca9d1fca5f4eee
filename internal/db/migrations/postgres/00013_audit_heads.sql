-- +goose Up
-- Signed heads of the audit chain, as transparency logs keep them: at
-- intervals the server signs the chain's size and last hash with a key the
-- database does not hold (derived from the vault's master key), and keeps
-- each signed note here to publish it. Verification fails against any
-- signed head that the chain no longer extends. The hash column is a copy
-- for reading; verification reads the hash inside the signed note.
CREATE TABLE audit_heads (
    size      BIGINT PRIMARY KEY,
    hash      BYTEA NOT NULL,
    note      TEXT NOT NULL,
    signed_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE audit_heads;
