-- +goose Up
-- Passages as check-ins (issue 4). A checkpoint page that stands at a
-- registered place (a compound entrance, a village checkpoint, a venue)
-- sends its id with each passage; an accepted passage at a place then
-- counts as the holder's check-in there (checkins.source = 'passage').
ALTER TABLE passages ADD COLUMN place_id BIGINT REFERENCES places (id);

-- Whose pass carried which holder id. A pass names its holder only by a
-- pseudonymous id that changes every day (issuer.HolderID); the issuer
-- writes one row per resident and day when it signs the first pass of the
-- day, so that a passage recorded with that pass can be counted as the
-- resident's check-in. day is the date of issue in the region's time zone
-- (a pass lives 24 hours, so a passage's holder id is of its day or the day
-- before). Rows older than the retention window are purged.
-- resident_id refers to residents without a foreign key, as check-ins do.
CREATE TABLE pass_holders (
    day         DATE NOT NULL,
    holder      TEXT NOT NULL,
    resident_id BIGINT NOT NULL,
    PRIMARY KEY (day, holder)
);

-- +goose Down
DROP TABLE pass_holders;
ALTER TABLE passages DROP COLUMN place_id;
