package tracing_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/tracing"
)

// Many callers at once: every check-in stored once, and a caller's bad
// check-in refuses that caller's batch only.
func TestCoalescer(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		store, err := tracing.NewStore(d, tracing.KindMap{}, tracing.DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		c := &tracing.Coalescer{Store: store, MaxRows: 100}
		const callers, each = 40, 10
		errs := make([]error, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				batch := make([]tracing.CheckIn, each)
				for j := range batch {
					batch[j] = tracing.CheckIn{ClientID: fmt.Sprintf("c%d-%d", i, j), ResidentID: int64(i + 1), PlaceID: 7,
						TIn: 1580000000 + int64(j)*60, Source: tracing.Scan}
				}
				if i == 13 {
					batch[4].TIn = 0 // refused
				}
				_, errs[i] = c.Ingest(ctx, batch)
				if i%2 == 0 { // sent twice: stored once
					_, errs[i] = c.Ingest(ctx, batch)
				}
			})
		}
		wg.Wait()
		for i, err := range errs {
			if (err != nil) != (i == 13) {
				t.Errorf("caller %d: %v", i, err)
			}
		}
		n, err := store.Count(ctx)
		if err != nil || n != (callers-1)*each {
			t.Errorf("%d check-ins stored, want %d (%v)", n, (callers-1)*each, err)
		}
	})
}
