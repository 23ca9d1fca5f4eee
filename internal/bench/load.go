// Package bench measures the platform's performance targets: it drives a
// server on loopback at a fixed request rate (open loop, so that a slow
// server cannot slow the load down and hide its own latency) and reports
// latency percentiles.
package bench

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"
)

// Latencies summarises a set of durations in milliseconds.
type Latencies struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// Summarise computes the percentiles of ds.
func Summarise(ds []time.Duration) Latencies {
	if len(ds) == 0 {
		return Latencies{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return float64(s[max(i, 0)].Microseconds()) / 1000
	}
	return Latencies{Count: len(s), P50: q(.50), P95: q(.95), P99: q(.99), Max: q(1)}
}

// OpenLoop calls op at rate per second for d, each call on its own
// goroutine (at most maxInFlight at once; a call that cannot start is
// counted as dropped). Each op returns the latencies of the steps it made,
// by step name, measured from when the call was due.
func OpenLoop(ctx context.Context, rate float64, d time.Duration, maxInFlight int,
	op func(ctx context.Context, i int, due time.Time) (map[string]time.Duration, error)) (map[string][]time.Duration, int, int) {
	var mu sync.Mutex
	lat := map[string][]time.Duration{}
	errs, dropped := 0, 0
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	start := time.Now()
	n := int(rate * d.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return lat, errs, dropped
			}
		}
		select {
		case sem <- struct{}{}:
		default:
			dropped++
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			steps, err := op(ctx, i, due)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs++
				return
			}
			for k, v := range steps {
				lat[k] = append(lat[k], v)
			}
		}()
	}
	wg.Wait()
	return lat, errs, dropped
}
