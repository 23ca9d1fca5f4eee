-- +goose Up
-- Check-ins: one row per presence of a resident at a place — a poster scan
-- ('scan'), a pass shown at a checkpoint ('passage'), or a registered trip
-- ('trip') — read by the contact tracer (internal/tracing). Times are unix
-- seconds (UTC). t_out is the check-out, or t_in plus the place type's
-- default dwell time when the resident never checked out; the store caps
-- every stay at the place type's longest stay, which bounds the tracer's
-- index ranges.
--
-- client_id is the id the phone (or checkpoint page) gave the check-in. The
-- unique key is (t_in, client_id) — the same key as on PostgreSQL, where a
-- unique key must include the partition column — so idempotency is per
-- (client id, check-in time), both of which the client sends and resends
-- unchanged: a retried or re-synced check-in is stored once. Leading with
-- t_in keeps this index's inserts at its end (check-ins arrive roughly in
-- time order), where a unique index on random UUIDs alone would touch a
-- random page of a multi-gigabyte index for every row.
--
-- place_id refers to the place registry (places) without a foreign key, and
-- resident_id to residents without one: check-ins are an append-only,
-- high-volume log, purged by time, written by the check-in API after it has
-- verified the place code and the resident's session.
--
-- The indexes lead with a time bucket, generated from t_in: SQLite's
-- counterpart of PostgreSQL's daily partitions. Check-ins arrive in time
-- order, so each index is written only in the current bucket's region — a
-- few thousand pages, however large the store — where an index led by
-- place_id or resident_id is written at one spot per place or resident
-- across its whole length, and every committed batch rewrites about a page
-- per row (measured: ingest fell from 63,000 to 16,000 check-ins/s within
-- the first million rows). A read crossing k buckets makes k index seeks:
-- the place index, which takes the most writes, buckets by hour; the
-- resident index, read over days of history, by day.
--
-- Retention: a plain DELETE of the days older than the window, in short
-- transactions, through the unique index (led by t_in).
CREATE TABLE checkins (
    id          INTEGER PRIMARY KEY,
    client_id   TEXT NOT NULL,
    resident_id INTEGER NOT NULL,
    place_id    INTEGER NOT NULL,
    t_in        INTEGER NOT NULL,
    t_out       INTEGER NOT NULL,
    carriage    TEXT,
    seat        TEXT,
    source      TEXT NOT NULL CHECK (source IN ('scan', 'passage', 'trip')),
    hour        INTEGER GENERATED ALWAYS AS (t_in / 3600) VIRTUAL,
    day         INTEGER GENERATED ALWAYS AS (t_in / 86400) VIRTUAL,
    CHECK (t_out > t_in),
    UNIQUE (t_in, client_id)
);
-- Time-window joins per place: check-ins at a place whose t_in lies in a
-- range, one seek per hour of the range. t_out and resident_id ride along
-- so that the tracer's probes are answered from the index alone.
CREATE INDEX checkins_place ON checkins (hour, place_id, t_in, t_out, resident_id);
-- A resident's history, one seek per day.
CREATE INDEX checkins_resident ON checkins (day, resident_id, t_in);

-- +goose Down
DROP TABLE checkins;
