package demo_test

import (
	"context"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/demo"
)

// BenchmarkGenerateSQLite measures demo generation into embedded SQLite;
// it reports residents/s. The target is 50,000/s at 1,000,000
// residents: `outbreak bench demo --residents 1000000` measures that.
func BenchmarkGenerateSQLite(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		d := dbtest.SQLite(b)
		s := stores(b, d)
		b.StartTimer()
		res, err := demo.Generate(context.Background(), s, demo.Options{Residents: 100000, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Residents)/res.Elapsed.Seconds(), "residents/s")
	}
}
