-- +goose Up
-- Places people check in at: venues (a shop, a compound entrance...) and
-- vehicles (a train, flight or coach on a service number and date; a bus
-- line, which may have no date: it runs every day).
-- owner_account_id is the resident account that registered its own venue;
-- staff-registered places have none.
CREATE TABLE places (
    id               INTEGER PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('venue', 'vehicle')),
    type             TEXT NOT NULL CHECK (type IN ('shop', 'restaurant', 'office', 'school', 'hospital', 'station',
                         'compound_entrance', 'village_checkpoint', 'train', 'flight', 'coach', 'bus')),
    name             TEXT NOT NULL,
    address          TEXT NOT NULL,
    latitude         REAL,
    longitude        REAL,
    jurisdiction_id  INTEGER NOT NULL REFERENCES jurisdictions (id),
    owner_account_id INTEGER REFERENCES accounts (id),
    service_number   TEXT,
    service_date     TEXT,
    created_by       INTEGER NOT NULL REFERENCES accounts (id),
    created_at       TIMESTAMP NOT NULL,
    disabled         INTEGER NOT NULL DEFAULT 0,
    CHECK ((kind = 'vehicle') = (type IN ('train', 'flight', 'coach', 'bus'))),
    CHECK ((kind = 'vehicle') = (service_number IS NOT NULL)),
    CHECK (kind = 'vehicle' OR service_date IS NULL),
    CHECK ((latitude IS NULL) = (longitude IS NULL)),
    CHECK (kind = 'vehicle' OR latitude IS NOT NULL)
);
-- One vehicle place per service number and date; an undated line once.
CREATE UNIQUE INDEX places_trip ON places (service_number, COALESCE(service_date, '')) WHERE kind = 'vehicle';
CREATE INDEX places_jurisdiction ON places (jurisdiction_id);
CREATE INDEX places_name ON places (name);
CREATE INDEX places_owner ON places (owner_account_id) WHERE owner_account_id IS NOT NULL;

-- Place-code signing keys (Ed25519), per region. The private half is sealed
-- with the vault. A retired key signs no more codes but its posters stay
-- valid; a revoked key's posters are refused.
CREATE TABLE place_keys (
    kid            TEXT PRIMARY KEY,
    region         TEXT NOT NULL,
    public_key     BLOB NOT NULL,
    private_sealed BLOB NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    retired_at     TIMESTAMP,
    revoked_at     TIMESTAMP
);

-- +goose Down
DROP TABLE place_keys;
DROP TABLE places;
