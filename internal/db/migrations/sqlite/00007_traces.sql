-- +goose Up
-- Contact tracing results (internal/tracing, Service).
--
-- traces: one row per tracing of a case. A case is traced when it is
-- confirmed or tests positive; traced again (a new row) when its dates are
-- corrected — the previous row is then withdrawn with the reason
-- 're-traced' — and withdrawn when the case is retracted. pseudonym is how
-- the case is named to its contacts and the public ("C-4201-0007"); times
-- are unix seconds (UTC), like the check-ins'.
CREATE TABLE traces (
    id               INTEGER PRIMARY KEY,
    case_id          INTEGER NOT NULL REFERENCES residents (id),
    pseudonym        TEXT NOT NULL,
    infectious_from  INTEGER NOT NULL,
    infectious_until INTEGER NOT NULL,
    quarantine_at    INTEGER NOT NULL,
    close_count      INTEGER NOT NULL DEFAULT 0,
    secondary_count  INTEGER NOT NULL DEFAULT 0,
    traced_at        TIMESTAMP NOT NULL,
    traced_by        INTEGER REFERENCES accounts (id),
    withdrawn_at     TIMESTAMP,
    withdrawn_reason TEXT,
    CHECK (infectious_until > infectious_from)
);
CREATE INDEX traces_case ON traces (case_id);
-- At most one trace of a case in force.
CREATE UNIQUE INDEX traces_current ON traces (case_id) WHERE withdrawn_at IS NULL;

-- exposure_sites: where and when a traced case was while infectious, one
-- row per check-in of the case in its window (at kinds of place not
-- excluded). This is what the public look-ups and the public map show —
-- place, date and time window only; never who. A withdrawn trace's sites
-- are not shown.
CREATE TABLE exposure_sites (
    id       INTEGER PRIMARY KEY,
    trace_id INTEGER NOT NULL REFERENCES traces (id),
    place_id INTEGER NOT NULL REFERENCES places (id),
    t_from   INTEGER NOT NULL,
    t_to     INTEGER NOT NULL,
    CHECK (t_to > t_from)
);
CREATE INDEX exposure_sites_place ON exposure_sites (place_id, t_from);
CREATE INDEX exposure_sites_time ON exposure_sites (t_from);
CREATE INDEX exposure_sites_trace ON exposure_sites (trace_id);

-- A traced contact points at its trace and keeps its evidence as JSON (the
-- place, both parties' times, the overlap), rendered in the reader's
-- language; contacts.evidence keeps the one-line summary the holder reads
-- and evidence_zh the same in Chinese (staff-typed evidence has none).
ALTER TABLE contacts ADD COLUMN evidence_zh TEXT;
ALTER TABLE contacts ADD COLUMN trace_id INTEGER REFERENCES traces (id);
ALTER TABLE contacts ADD COLUMN detail TEXT;
CREATE INDEX contacts_trace ON contacts (trace_id) WHERE trace_id IS NOT NULL;

-- Follow-up of a contact by the community worker of the contact's
-- community: called, unreachable, quarantine ordered...
CREATE TABLE contact_followups (
    contact_id INTEGER PRIMARY KEY REFERENCES contacts (id),
    status     TEXT NOT NULL CHECK (status IN ('pending', 'called', 'unreachable', 'quarantined', 'closed')),
    note       TEXT NOT NULL DEFAULT '',
    updated_at TIMESTAMP NOT NULL,
    updated_by INTEGER REFERENCES accounts (id)
);

-- A case status of 'ruled_out': a suspicion ruled out, or a confirmation
-- retracted; the tracing of a retracted case is withdrawn. SQLite cannot
-- change a CHECK in place: the table is rebuilt.
CREATE TABLE case_status_new (
    resident_id INTEGER PRIMARY KEY REFERENCES residents (id),
    status      TEXT NOT NULL CHECK (status IN ('suspected', 'confirmed', 'asymptomatic', 'recovered', 'ruled_out')),
    since       TEXT NOT NULL,
    onset       TEXT,
    updated_at  TIMESTAMP NOT NULL,
    updated_by  INTEGER REFERENCES accounts (id)
);
INSERT INTO case_status_new SELECT resident_id, status, since, onset, updated_at, updated_by FROM case_status;
DROP TABLE case_status;
ALTER TABLE case_status_new RENAME TO case_status;

-- +goose Down
DROP TABLE contact_followups;
DROP INDEX contacts_trace;
ALTER TABLE contacts DROP COLUMN detail;
ALTER TABLE contacts DROP COLUMN trace_id;
ALTER TABLE contacts DROP COLUMN evidence_zh;
DROP TABLE exposure_sites;
DROP TABLE traces;
