package audit

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/rbac"
)

// BenchmarkCheck measures HeadLog.Check (the whole chain walked and
// rehashed, every stored head's signature verified and compared) over a
// chain of OUTBREAK_AUDIT_BENCH_ENTRIES entries (100,000 unless set; the
// issue's figure is 1,000,000) with a head signed every 10,000 entries:
//
//	OUTBREAK_AUDIT_BENCH_ENTRIES=1000000 go test -run x -bench Check -benchtime 1x ./internal/audit/
func BenchmarkCheck(b *testing.B) {
	n := 100_000
	if s := os.Getenv("OUTBREAK_AUDIT_BENCH_ENTRIES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			b.Fatalf("OUTBREAK_AUDIT_BENCH_ENTRIES=%q", s)
		}
	}
	run := func(b *testing.B, d *db.DB) {
		ctx := context.Background()
		l := &HeadLog{DB: d, Key: testKey(b, 1)}
		start := time.Now()
		const batch = 10_000
		actor := rbac.Actor{AccountID: 0, Name: "流调员 王伟", Role: rbac.Epidemiologist}
		for done := 0; done < n; done += batch {
			rs := make([]Record, min(batch, n-done))
			for i := range rs {
				rs[i] = Record{Actor: actor, Kind: ColourChange, Before: map[string]string{"colour": "green"},
					After:      map[string]any{"colour": "red", "until": "2026-12-21", "rule": "close_contact"},
					Reason:     "close contact of a confirmed case at Jiefang Road Market, 10:05–10:40",
					LegalBasis: "Law on the Prevention and Treatment of Infectious Diseases, art. 39"}
			}
			if err := d.InTx(ctx, func(tx *db.Tx) error { _, err := AppendBatch(ctx, tx, rs); return err }); err != nil {
				b.Fatal(err)
			}
			if _, _, err := l.Sign(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.Logf("%s: %d entries and %d heads written in %s", d.Dialect, n, (n+batch-1)/batch, time.Since(start).Round(time.Millisecond))
		b.ResetTimer()
		for b.Loop() {
			rep, err := l.Check(ctx, nil)
			if err != nil || !rep.OK || rep.Entries != int64(n) {
				b.Fatalf("Check = %+v, %v", rep, err)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	}
	b.Run("sqlite", func(b *testing.B) { run(b, dbtest.SQLite(b)) })
	if _, err := dbtest.PostgresURL(); err == nil {
		b.Run("postgres", func(b *testing.B) { run(b, dbtest.Postgres(b)) })
	}
}
