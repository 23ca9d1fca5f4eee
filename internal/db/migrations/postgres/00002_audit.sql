-- +goose Up
-- The tamper-evident log: every colour change, every staff change to a
-- person's inputs, every override, rule-set change and purge. Each entry
-- carries the hash of the one before it; audit_head holds the chain's end so
-- that appends are serialised (SELECT ... FOR UPDATE).
CREATE TABLE audit_log (
    id          BIGINT PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    actor_id    BIGINT REFERENCES accounts (id),
    actor_role  TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    resident_id BIGINT REFERENCES residents (id),
    kind        TEXT NOT NULL,
    before      TEXT NOT NULL,
    after       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    prev_hash   BYTEA NOT NULL,
    hash        BYTEA NOT NULL
);
CREATE INDEX audit_log_resident ON audit_log (resident_id, id) WHERE resident_id IS NOT NULL;

CREATE TABLE audit_head (
    id        BIGINT PRIMARY KEY CHECK (id = 1),
    last_id   BIGINT NOT NULL,
    last_hash BYTEA NOT NULL
);
INSERT INTO audit_head (id, last_id, last_hash) VALUES (1, 0, ''::bytea);

-- +goose Down
DROP TABLE audit_head;
DROP TABLE audit_log;
