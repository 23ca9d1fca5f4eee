package tracing_test

import (
	"context"
	"iter"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/bench/tracingbench"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/tracing"
)

// eachStore runs a benchmark on SQLite and, when reachable, PostgreSQL.
func eachStore(b *testing.B, fn func(b *testing.B, d *db.DB)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, dbtest.SQLite(b)) })
	if _, err := dbtest.PostgresURL(); err == nil {
		b.Run("postgres", func(b *testing.B) { fn(b, dbtest.Postgres(b)) })
	}
}

// BenchmarkIngest writes a synthetic movement through Store.Ingest in
// batches of 2,000, as the check-in API does, and reports check-ins/s.
// Each op is a batch; the store grows as the benchmark runs, so run it
// long enough to see a large store: -benchtime 500x is a million.
// `outbreak bench tracing` (Measure) is the full measurement.
func BenchmarkIngest(b *testing.B) {
	eachStore(b, func(b *testing.B, d *db.DB) {
		ctx := context.Background()
		mv := tracingbench.NewMovement(tracingbench.MovementOptions{CheckIns: 2000 * (b.N + 1), Seed: 1})
		s, err := tracing.NewStore(d, mv.Places, tracing.DefaultPolicy())
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		next, stop := iter.Pull(mv.Batches(2000))
		defer stop()
		n := 0
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			batch, ok := next()
			b.StartTimer()
			if !ok {
				b.Fatal("the movement ran out")
			}
			added, err := s.Ingest(ctx, batch)
			if err != nil {
				b.Fatal(err)
			}
			n += added
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "checkins/s")
	})
}

// BenchmarkTrace traces single cases (a 14-day window, close and secondary
// contacts) in a store of 300,000 check-ins over 14 days, reading the
// store and (SQLite) the in-memory index.
func BenchmarkTrace(b *testing.B) {
	eachStore(b, func(b *testing.B, d *db.DB) {
		ctx := context.Background()
		mv := tracingbench.NewMovement(tracingbench.MovementOptions{CheckIns: 300000, Seed: 1})
		s, err := tracing.NewStore(d, mv.Places, tracing.DefaultPolicy())
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		for batch := range mv.Batches(20000) {
			if _, err := s.Ingest(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
		if d.Dialect == db.Postgres {
			if _, err := d.W.ExecContext(ctx, "VACUUM ANALYZE checkins"); err != nil {
				b.Fatal(err)
			}
		}
		// The tracer reading the store, and on SQLite its in-memory index.
		readers := []struct {
			name string
			ix   *tracing.Index
		}{{"store", nil}}
		if d.Dialect == db.SQLite {
			ix := tracing.NewIndex()
			if err := ix.Load(ctx, d); err != nil {
				b.Fatal(err)
			}
			readers = append(readers, struct {
				name string
				ix   *tracing.Index
			}{"memory", ix})
		}
		for _, rd := range readers {
			b.Run(rd.name, func(b *testing.B) {
				tr, err := tracing.NewTracer(d, mv.Places, tracing.DefaultPolicy())
				if err != nil {
					b.Fatal(err)
				}
				tr.WithIndex(rd.ix)
				var closeN, secN int
				i := int64(0)
				for b.Loop() {
					i++
					r, err := tr.Trace(ctx, tracing.Case{ResidentID: 1 + i*7919%int64(mv.Residents), From: mv.End - 14*86400, Until: mv.End, QuarantineAt: mv.End})
					if err != nil {
						b.Fatal(err)
					}
					closeN, secN = closeN+len(r.Close), secN+len(r.Secondary)
				}
				b.ReportMetric(float64(closeN)/float64(i), "close/op")
				b.ReportMetric(float64(secN)/float64(i), "secondary/op")
			})
		}
	})
}
