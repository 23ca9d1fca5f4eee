package bench

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSummarise(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	l := Summarise(ds)
	if l.Count != 100 || l.P50 != 50 || l.P95 != 95 || l.P99 != 99 || l.Max != 100 {
		t.Fatalf("Summarise = %+v", l)
	}
	if (Summarise(nil) != Latencies{}) {
		t.Fatal("empty summary not zero")
	}
}

func TestOpenLoopCountsCallsAndErrors(t *testing.T) {
	lat, errs, dropped := OpenLoop(context.Background(), 200, 250*time.Millisecond, 10,
		func(ctx context.Context, i int, due time.Time) (map[string]time.Duration, error) {
			if i%5 == 0 {
				return nil, errors.New("boom")
			}
			return map[string]time.Duration{"op": time.Since(due)}, nil
		})
	if errs != 10 || len(lat["op"]) != 40 || dropped != 0 {
		t.Fatalf("errs=%d ok=%d dropped=%d; want 10, 40, 0", errs, len(lat["op"]), dropped)
	}
}
