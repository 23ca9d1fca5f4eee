package demo

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
)

// WriteAreas gives the demo's communities and districts plausible outlines
// for the public map: the neighbourhood cells of the movement's grid that
// are theirs. A community holds a run of consecutive cells (row by row), a
// district the runs of its communities, so the outlines tile the region
// without overlapping.
func (m *Movement) WriteAreas(ctx context.Context, d *db.DB) error {
	side := m.Side()
	if side == 0 || len(m.communities) == 0 {
		return nil
	}
	var parents []struct {
		ID     int64         `db:"id"`
		Parent sql.NullInt64 `db:"parent_id"`
	}
	if err := db.Select(ctx, d.R, &parents, "SELECT id, parent_id FROM jurisdictions WHERE level = 'community'"); err != nil {
		return fmt.Errorf("demo: areas: %w", err)
	}
	parentOf := map[int64]int64{}
	for _, p := range parents {
		parentOf[p.ID] = p.Parent.Int64
	}
	last := len(m.communities)*m.perComm - 1
	type run struct{ first, last int }
	runs := map[int64]run{} // by jurisdiction: its first and last cell
	order := []int64{}
	extend := func(id int64, first, lastCell int) {
		r, ok := runs[id]
		if !ok {
			order = append(order, id)
			r = run{first, lastCell}
		}
		r.first, r.last = min(r.first, first), max(r.last, lastCell)
		runs[id] = r
	}
	for i, c := range m.communities {
		first, end := i*m.perComm, min((i+1)*m.perComm-1, last)
		extend(c.ID, first, end)
		if p := parentOf[c.ID]; p != 0 {
			extend(p, first, end)
		}
	}
	return d.InTx(ctx, func(tx *db.Tx) error {
		for _, id := range order {
			r := runs[id]
			if err := jurisdiction.SetArea(ctx, tx, id, cellsOutline(r.first, r.last, side)); err != nil {
				return err
			}
		}
		return nil
	})
}

// cellsOutline is the outline of the cells first..last (row by row) of a
// side × side grid over the demo region, in degrees.
func cellsOutline(first, last, side int) []jurisdiction.Point {
	ra, ca, rb, cb := first/side, first%side, last/side, last%side
	pt := func(x, y int) jurisdiction.Point {
		return jurisdiction.Point{Centre.Lon + (float64(x)/float64(side)-0.5)*lonSpan, Centre.Lat + (0.5-float64(y)/float64(side))*latSpan}
	}
	var xy [][2]int
	if ra == rb {
		xy = [][2]int{{ca, ra}, {cb + 1, ra}, {cb + 1, ra + 1}, {ca, ra + 1}}
	} else {
		xy = [][2]int{{ca, ra}, {side, ra}, {side, rb}, {cb + 1, rb}, {cb + 1, rb + 1}, {0, rb + 1}, {0, ra + 1}, {ca, ra + 1}}
	}
	ring := make([]jurisdiction.Point, 0, len(xy)+1)
	for _, p := range xy {
		ring = append(ring, pt(p[0], p[1]))
	}
	return append(ring, ring[0])
}
