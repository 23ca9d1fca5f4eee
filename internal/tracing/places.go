package tracing

import (
	"context"
	"strings"
	"sync"

	"github.com/outbreak-platform/outbreak/internal/db"
)

// PlaceKinds is the Places of the place registry's table (places.type),
// cached: a place's type is set when it is registered and never changes,
// so a cached kind is never stale. Ids not registered are left out.
type PlaceKinds struct {
	DB    *db.DB
	cache sync.Map // int64 → Kind
}

// Kinds implements Places.
func (p *PlaceKinds) Kinds(ctx context.Context, ids []int64) (map[int64]Kind, error) {
	out := make(map[int64]Kind, len(ids))
	var missing []int64
	for _, id := range ids {
		if k, ok := p.cache.Load(id); ok {
			out[id] = k.(Kind)
		} else if _, dup := out[id]; !dup {
			missing = append(missing, id)
		}
	}
	for len(missing) > 0 {
		chunk := missing[:min(len(missing), 500)]
		missing = missing[len(chunk):]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		var rows []struct {
			ID   int64  `db:"id"`
			Type string `db:"type"`
		}
		q := "SELECT id, type FROM places WHERE id IN (?" + strings.Repeat(", ?", len(chunk)-1) + ")"
		if err := db.Select(ctx, p.DB.R, &rows, q, args...); err != nil {
			return nil, wrap("place kinds", err)
		}
		for _, r := range rows {
			p.cache.Store(r.ID, Kind(r.Type))
			out[r.ID] = Kind(r.Type)
		}
	}
	return out, nil
}
