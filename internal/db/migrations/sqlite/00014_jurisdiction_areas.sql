-- +goose Up
-- The outline of a jurisdiction on the map: a closed ring of [longitude,
-- latitude] points (WGS 84) as JSON. Optional: the public map draws the
-- region with it, under the places.
CREATE TABLE jurisdiction_areas (
    jurisdiction_id INTEGER PRIMARY KEY REFERENCES jurisdictions (id) ON DELETE CASCADE,
    ring            TEXT NOT NULL
);

-- +goose Down
DROP TABLE jurisdiction_areas;
