-- +goose Up
-- Visitors of residential compounds (internal/venue, Visitors): a resident
-- who scans a compound entrance's poster says whom they visit — the unit
-- and the host's name — and why, so that the community knows who came in.
-- Only that is kept, and only for the retention window (28 days): the
-- housekeeping deletes older rows. client_id is the id the form gave the
-- registration, so that a form sent twice is stored once; the visit is also
-- a check-in (checkins, source 'scan') under the same client id.
CREATE TABLE visitor_registrations (
    id          INTEGER PRIMARY KEY,
    place_id    INTEGER NOT NULL REFERENCES places (id),
    resident_id INTEGER NOT NULL REFERENCES residents (id),
    host_unit   TEXT NOT NULL,
    host_name   TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    visited_at  TIMESTAMP NOT NULL,
    client_id   TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMP NOT NULL
);
-- The community worker's list: the visitors of an entrance, newest first.
CREATE INDEX visitor_registrations_place ON visitor_registrations (place_id, visited_at);
-- The retention purge and the day filter.
CREATE INDEX visitor_registrations_visited ON visitor_registrations (visited_at);

-- +goose Down
DROP TABLE visitor_registrations;
