-- +goose Up
-- Passes shown at checkpoints, one row each, as the checkpoint's page
-- reports them (possibly hours later, after working offline). client_id is
-- the id the page gave the passage, so a report sent twice is kept once.
-- holder is the pass's pseudonymous, daily-rotating holder id; holder,
-- region and colour are empty for a pass refused before its signature
-- was checked.
CREATE TABLE passages (
    id                 INTEGER PRIMARY KEY,
    client_id          TEXT NOT NULL UNIQUE,
    checkpoint_account INTEGER NOT NULL REFERENCES accounts (id),
    jurisdiction_id    INTEGER NOT NULL REFERENCES jurisdictions (id),
    holder             TEXT,
    region             TEXT,
    colour             TEXT CHECK (colour IN ('green', 'yellow', 'red')),
    kid                TEXT,
    result             TEXT NOT NULL CHECK (result IN ('accepted', 'refused')),
    reason             TEXT,
    seen_at            TIMESTAMP NOT NULL,
    received_at        TIMESTAMP NOT NULL,
    CHECK ((result = 'accepted') = (reason IS NULL)),
    CHECK (result = 'refused' OR colour IS NOT NULL)
);
CREATE INDEX passages_seen ON passages (jurisdiction_id, seen_at);
CREATE INDEX passages_account ON passages (checkpoint_account, seen_at);

-- +goose Down
DROP TABLE passages;
