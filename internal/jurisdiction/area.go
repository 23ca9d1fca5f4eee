package jurisdiction

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/outbreak-platform/outbreak/internal/db"
)

// Point is a place on the map: longitude, latitude (WGS 84), in that
// order, as GeoJSON has it.
type Point [2]float64

// Area is the outline of a jurisdiction: a closed ring of points.
type Area struct {
	Jurisdiction
	Ring []Point
}

// SetArea stores the outline of jurisdiction id, in place of any before.
func SetArea(ctx context.Context, q db.Q, id int64, ring []Point) error {
	if len(ring) < 4 || ring[0] != ring[len(ring)-1] {
		return fmt.Errorf("jurisdiction: area of %d: a ring is closed and has at least 4 points", id)
	}
	b, err := json.Marshal(ring)
	if err != nil {
		return err
	}
	if _, err := db.Exec(ctx, q, "DELETE FROM jurisdiction_areas WHERE jurisdiction_id = ?", id); err != nil {
		return fmt.Errorf("jurisdiction: area: %w", err)
	}
	if _, err := db.Exec(ctx, q, "INSERT INTO jurisdiction_areas (jurisdiction_id, ring) VALUES (?, ?)", id, string(b)); err != nil {
		return fmt.Errorf("jurisdiction: area: %w", err)
	}
	return nil
}

// Areas returns the outlines of the jurisdictions of level that have one,
// by code.
func Areas(ctx context.Context, d *db.DB, level Level) ([]Area, error) {
	var rows []struct {
		Jurisdiction
		Ring string `db:"ring"`
	}
	err := db.Select(ctx, d.R, &rows, `SELECT j.id, j.code, j.name_zh, j.name_en, j.level, j.parent_id, j.path, a.ring
		FROM jurisdictions j JOIN jurisdiction_areas a ON a.jurisdiction_id = j.id WHERE j.level = ? ORDER BY j.code`, level)
	if err != nil {
		return nil, fmt.Errorf("jurisdiction: areas: %w", err)
	}
	out := make([]Area, 0, len(rows))
	for _, r := range rows {
		a := Area{Jurisdiction: r.Jurisdiction}
		if err := json.Unmarshal([]byte(r.Ring), &a.Ring); err != nil {
			return nil, fmt.Errorf("jurisdiction: area of %s: %w", r.Code, err)
		}
		out = append(out, a)
	}
	return out, nil
}
