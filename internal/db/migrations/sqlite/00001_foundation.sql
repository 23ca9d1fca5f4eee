-- +goose Up
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The hierarchy province > city > district > community. path is the chain of
-- codes from the root ("/42/4201/420106/"), so a subtree is one prefix scan.
CREATE TABLE jurisdictions (
    id         INTEGER PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    level      TEXT NOT NULL CHECK (level IN ('province', 'city', 'district', 'community')),
    name_zh    TEXT NOT NULL,
    name_en    TEXT NOT NULL,
    parent_id  INTEGER REFERENCES jurisdictions (id),
    path       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX jurisdictions_parent ON jurisdictions (parent_id);

CREATE TABLE households (
    id           INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES jurisdictions (id)
);

-- National ID numbers and phone numbers are stored sealed (AES-GCM) with a
-- keyed hash (HMAC-SHA-256) beside them for look-ups.
CREATE TABLE residents (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    id_kind      TEXT NOT NULL,
    id_hash      BLOB NOT NULL,
    id_sealed    BLOB NOT NULL,
    phone_hash   BLOB,
    phone_sealed BLOB,
    birth_date   TEXT NOT NULL,
    sex          TEXT NOT NULL CHECK (sex IN ('F', 'M')),
    community_id INTEGER NOT NULL REFERENCES jurisdictions (id),
    household_id INTEGER REFERENCES households (id),
    guardian_id  INTEGER REFERENCES residents (id),
    created_at   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX residents_id_hash ON residents (id_hash);
CREATE INDEX residents_community ON residents (community_id);
CREATE INDEX residents_guardian ON residents (guardian_id) WHERE guardian_id IS NOT NULL;
CREATE INDEX residents_phone ON residents (phone_hash) WHERE phone_hash IS NOT NULL;
CREATE INDEX residents_household ON residents (household_id);

CREATE TABLE accounts (
    id              INTEGER PRIMARY KEY,
    username        TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    role            TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    resident_id     INTEGER REFERENCES residents (id),
    jurisdiction_id INTEGER REFERENCES jurisdictions (id),
    lang            TEXT NOT NULL DEFAULT 'zh',
    demo            INTEGER NOT NULL DEFAULT 0,
    disabled        INTEGER NOT NULL DEFAULT 0,
    created_by      INTEGER REFERENCES accounts (id),
    created_at      TIMESTAMP NOT NULL,
    CHECK ((role = 'resident') = (resident_id IS NOT NULL)),
    CHECK ((role = 'resident') OR (jurisdiction_id IS NOT NULL))
);
CREATE UNIQUE INDEX accounts_username ON accounts (username);
CREATE UNIQUE INDEX accounts_resident ON accounts (resident_id) WHERE resident_id IS NOT NULL;
CREATE INDEX accounts_jurisdiction ON accounts (jurisdiction_id);

CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_tokens (
    id              INTEGER PRIMARY KEY,
    public_id       TEXT NOT NULL UNIQUE,
    secret_hash     BLOB NOT NULL,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL,
    jurisdiction_id INTEGER NOT NULL REFERENCES jurisdictions (id),
    created_by      INTEGER NOT NULL REFERENCES accounts (id),
    created_at      TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP,
    revoked_at      TIMESTAMP,
    last_used_at    TIMESTAMP
);

-- Every staff read of a person's record: who, when, which record, why.
CREATE TABLE access_log (
    id              INTEGER PRIMARY KEY,
    at              TIMESTAMP NOT NULL,
    actor_id        INTEGER NOT NULL REFERENCES accounts (id),
    actor_role      TEXT NOT NULL,
    actor_name      TEXT NOT NULL,
    resident_id     INTEGER NOT NULL REFERENCES residents (id),
    jurisdiction_id INTEGER NOT NULL REFERENCES jurisdictions (id),
    action          TEXT NOT NULL,
    purpose         TEXT NOT NULL
);
CREATE INDEX access_log_resident ON access_log (resident_id, at);
CREATE INDEX access_log_at ON access_log (at);

-- +goose Down
DROP TABLE access_log;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE accounts;
DROP TABLE residents;
DROP TABLE households;
DROP TABLE jurisdictions;
DROP TABLE meta;
