-- +goose Up
-- Health declarations by residents (or their guardians). Retention: purged
-- after the configured window (default 28 days).
CREATE TABLE declarations (
    id                INTEGER PRIMARY KEY,
    resident_id       INTEGER NOT NULL REFERENCES residents (id),
    declared_by       INTEGER NOT NULL REFERENCES accounts (id),
    kind              TEXT NOT NULL CHECK (kind IN ('daily', 'arrival')),
    at                TIMESTAMP NOT NULL,
    temperature_c     REAL,
    symptoms          TEXT NOT NULL,
    contact_with_case INTEGER NOT NULL,
    location_code     TEXT NOT NULL,
    origin            TEXT,
    route             TEXT,
    arrival_date      TEXT,
    transport         TEXT
);
CREATE INDEX declarations_resident ON declarations (resident_id, at);
CREATE INDEX declarations_at ON declarations (at);

-- Regions a declaration says were visited, with the day.
CREATE TABLE declaration_visits (
    declaration_id INTEGER NOT NULL REFERENCES declarations (id) ON DELETE CASCADE,
    region_code    TEXT NOT NULL,
    visited_on     TEXT NOT NULL
);
CREATE INDEX declaration_visits_declaration ON declaration_visits (declaration_id);

-- Authoritative inputs, entered by staff (and later by tracing and labs).
CREATE TABLE case_status (
    resident_id INTEGER PRIMARY KEY REFERENCES residents (id),
    status      TEXT NOT NULL CHECK (status IN ('suspected', 'confirmed', 'asymptomatic', 'recovered')),
    since       TEXT NOT NULL,
    onset       TEXT,
    updated_at  TIMESTAMP NOT NULL,
    updated_by  INTEGER REFERENCES accounts (id)
);

CREATE TABLE contacts (
    id           INTEGER PRIMARY KEY,
    resident_id  INTEGER NOT NULL REFERENCES residents (id),
    kind         TEXT NOT NULL CHECK (kind IN ('close', 'secondary')),
    exposed_on   TEXT NOT NULL,
    evidence     TEXT NOT NULL,
    source_case  INTEGER REFERENCES residents (id),
    created_at   TIMESTAMP NOT NULL,
    created_by   INTEGER REFERENCES accounts (id),
    withdrawn_at TIMESTAMP
);
CREATE INDEX contacts_resident ON contacts (resident_id);

CREATE TABLE test_results (
    id          INTEGER PRIMARY KEY,
    resident_id INTEGER NOT NULL REFERENCES residents (id),
    kind        TEXT NOT NULL CHECK (kind IN ('pcr', 'antibody')),
    result      TEXT NOT NULL CHECK (result IN ('negative', 'positive')),
    sampled_on  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    created_by  INTEGER REFERENCES accounts (id)
);
CREATE INDEX test_results_resident ON test_results (resident_id, sampled_on);

CREATE TABLE quarantine_orders (
    id          INTEGER PRIMARY KEY,
    resident_id INTEGER NOT NULL REFERENCES residents (id),
    kind        TEXT NOT NULL CHECK (kind IN ('home', 'centralised')),
    start_on    TEXT NOT NULL,
    end_on      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    created_by  INTEGER REFERENCES accounts (id)
);
CREATE INDEX quarantine_orders_resident ON quarantine_orders (resident_id, end_on);

-- Risk level of a jurisdiction from a date; the level on day D is the one
-- with the latest from_on <= D.
CREATE TABLE risk_areas (
    id              INTEGER PRIMARY KEY,
    jurisdiction_id INTEGER NOT NULL REFERENCES jurisdictions (id),
    level           TEXT NOT NULL CHECK (level IN ('low', 'medium', 'high')),
    from_on         TEXT NOT NULL,
    set_at          TIMESTAMP NOT NULL,
    set_by          INTEGER REFERENCES accounts (id)
);
CREATE INDEX risk_areas_jurisdiction ON risk_areas (jurisdiction_id, from_on);

-- The current code of each resident, with its explanation.
CREATE TABLE codes (
    resident_id     INTEGER PRIMARY KEY REFERENCES residents (id),
    colour          TEXT NOT NULL CHECK (colour IN ('green', 'yellow', 'red')),
    rule_colour     TEXT NOT NULL CHECK (rule_colour IN ('green', 'yellow', 'red')),
    explanation     TEXT NOT NULL,
    green_on        TEXT,
    rule_version    TEXT NOT NULL,
    computed_at     TIMESTAMP NOT NULL,
    override_colour TEXT CHECK (override_colour IN ('green', 'yellow', 'red')),
    override_until  TEXT,
    override_reason TEXT,
    override_by     INTEGER REFERENCES accounts (id)
);


CREATE TABLE appeals (
    id          INTEGER PRIMARY KEY,
    resident_id INTEGER NOT NULL REFERENCES residents (id),
    filed_by    INTEGER NOT NULL REFERENCES accounts (id),
    message     TEXT NOT NULL,
    colour      TEXT NOT NULL,
    filed_at    TIMESTAMP NOT NULL,
    answer      TEXT,
    answered_by INTEGER REFERENCES accounts (id),
    answered_at TIMESTAMP
);
CREATE INDEX appeals_open ON appeals (answered_at, filed_at);
CREATE INDEX appeals_resident ON appeals (resident_id);

-- Rule sets as applied, newest last.
CREATE TABLE rule_sets (
    id         INTEGER PRIMARY KEY,
    version    TEXT NOT NULL UNIQUE,
    source     TEXT NOT NULL,
    applied_at TIMESTAMP NOT NULL,
    applied_by INTEGER REFERENCES accounts (id)
);

-- Pass-signing keys (Ed25519). The private half is sealed with the vault.
-- purpose 'root' signs the trust list; 'pass' signs passes.
CREATE TABLE signing_keys (
    kid            TEXT PRIMARY KEY,
    purpose        TEXT NOT NULL CHECK (purpose IN ('root', 'pass')),
    public_key     BLOB NOT NULL,
    private_sealed BLOB NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    retired_at     TIMESTAMP,
    valid_until    TIMESTAMP
);

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE rule_sets;
DROP TABLE appeals;
DROP TABLE codes;
DROP TABLE risk_areas;
DROP TABLE quarantine_orders;
DROP TABLE test_results;
DROP TABLE contacts;
DROP TABLE case_status;
DROP TABLE declaration_visits;
DROP TABLE declarations;
