package tracingbench_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strconv"
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

func TestMovementIsDeterministic(t *testing.T) {
	gen := func() ([]tracing.CheckIn, *tracingbench.Movement) {
		m := tracingbench.NewMovement(tracingbench.MovementOptions{CheckIns: 20000, Days: 3, Seed: 42})
		var all []tracing.CheckIn
		for b := range m.Batches(3000) {
			if len(b) > 3000 {
				t.Fatalf("a batch of %d", len(b))
			}
			all = append(all, b...)
		}
		return all, m
	}
	a, m := gen()
	b, _ := gen()
	if len(a) != 20000 || !slices.Equal(a, b) {
		t.Fatalf("two movements of the same seed differ, or hold %d check-ins", len(a))
	}
	kinds := map[tracing.Kind]bool{}
	clients := map[string]bool{}
	for i, c := range a {
		if err := c.Validate(); err != nil {
			t.Fatalf("check-in %d %+v: %v", i, c, err)
		}
		if i > 0 && c.TIn < a[i-1].TIn && c.TIn/86400 == a[i-1].TIn/86400 {
			t.Fatalf("check-in %d goes back in time within its day", i)
		}
		kinds[m.Places[c.PlaceID]] = true
		clients[c.ClientID] = true
	}
	if len(clients) != len(a) {
		t.Errorf("%d client ids for %d check-ins", len(clients), len(a))
	}
	for _, k := range []tracing.Kind{tracing.Shop, tracing.Restaurant, tracing.Office, tracing.School, tracing.CompoundEntrance, tracing.Bus, tracing.Station} {
		if !kinds[k] {
			t.Errorf("nobody went to a %s", k)
		}
	}
}

// TestMeasure runs the benchmark's code on a few thousand check-ins.
func TestMeasure(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		m, err := tracingbench.Measure(context.Background(), d, tracingbench.MeasureOptions{CheckIns: 5000, Days: 3, Seed: 1, Traces: 5, Cases: 10})
		if err != nil {
			t.Fatal(err)
		}
		if m.CheckIns != 5000 || m.IngestPerSec <= 0 || m.TraceP50Ms <= 0 || m.BatchS <= 0 || m.BatchCloseS <= 0 || m.StoreBytes <= 0 || m.MeanClose <= 0 {
			t.Errorf("measurement %+v", m)
		}
		if _, err := tracingbench.Measure(context.Background(), d, tracingbench.MeasureOptions{CheckIns: 10}); err == nil {
			t.Error("Measure into a store already holding check-ins")
		}
	})
}

// BenchmarkMeasure runs Measure — what `outbreak bench tracing` prints —
// once per store, with OUTBREAK_BENCH_CHECKINS check-ins (100,000 by
// default) in batches of OUTBREAK_BENCH_BATCH (2,000), OUTBREAK_BENCH_TRACES
// single traces (200) and OUTBREAK_BENCH_CASES cases at once (1,000), and
// logs the JSON.
// OUTBREAK_BENCH_STORE=sqlite or postgres picks one store;
// OUTBREAK_BENCH_CLOSE_ONLY_BATCH=1 skips the slow part, the secondary
// contacts of 1,000 cases at once. For example:
//
//	OUTBREAK_BENCH_CHECKINS=1000000 go test -run x -bench Measure -timeout 1h -v ./internal/bench/tracingbench/
func BenchmarkMeasure(b *testing.B) {
	env := func(name string, def int) int {
		if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
			return n
		}
		return def
	}
	o := tracingbench.MeasureOptions{CheckIns: env("OUTBREAK_BENCH_CHECKINS", 100000), Batch: env("OUTBREAK_BENCH_BATCH", 2000),
		Traces: env("OUTBREAK_BENCH_TRACES", 200), Cases: env("OUTBREAK_BENCH_CASES", 1000),
		Seed: 1, CloseOnlyBatch: os.Getenv("OUTBREAK_BENCH_CLOSE_ONLY_BATCH") == "1"}
	if testing.Verbose() {
		o.Progress = os.Stderr
	}
	eachStore(b, func(b *testing.B, d *db.DB) {
		if want := os.Getenv("OUTBREAK_BENCH_STORE"); want != "" && want != d.Dialect.String() {
			b.Skip()
		}
		// One measurement however large b.N: it takes seconds to hours, and
		// needs an empty store.
		m, err := tracingbench.Measure(context.Background(), d, o)
		if err != nil {
			b.Fatal(err)
		}
		out, _ := json.MarshalIndent(m, "", "  ")
		b.Log(string(out))
		b.ReportMetric(m.IngestPerSec, "ingest/s")
		b.ReportMetric(m.TraceCloseP50Ms, "close_p50_ms")
		b.ReportMetric(m.TraceP50Ms, "trace_p50_ms")
		b.ReportMetric(m.TraceP99Ms, "trace_p99_ms")
		b.ReportMetric(m.BatchCloseS, "batch_close_s")
	})
}
