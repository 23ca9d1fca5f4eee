package tracingbench_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/bench/tracingbench"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/tracing"
)

// TestMeasureAgain measures a store filled by an earlier measurement
// again, without ingesting: the same check-ins, traced warm; and a
// measurement whose batch goes through Confirm reports what it recorded,
// or how far it got when stopped.
func TestMeasureAgain(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var prepared, confirmed []int64
		o := tracingbench.MeasureOptions{CheckIns: 4000, Days: 3, Seed: 3, Traces: 4, Cases: 6,
			Prepare: func(_ context.Context, cs []tracing.Case) error {
				for _, c := range cs {
					prepared = append(prepared, c.ResidentID)
				}
				return nil
			},
			Confirm: func(_ context.Context, cs []tracing.Case) (tracing.BatchResult, error) {
				for _, c := range cs {
					confirmed = append(confirmed, c.ResidentID)
				}
				return tracing.BatchResult{Traced: len(cs), Close: 7, Secondary: 9}, nil
			}}
		m, err := tracingbench.Measure(ctx, d, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(prepared) != 6 || !slices.Equal(prepared, confirmed) {
			t.Errorf("prepared %v, confirmed %v", prepared, confirmed)
		}
		if !m.BatchRecorded || m.BatchDone != 6 || m.BatchClose != 7 || m.BatchSecondary != 9 || m.BatchTimedOut || m.TraceCloseWarmP50Ms <= 0 {
			t.Errorf("measurement %+v", m)
		}
		again, err := tracingbench.Measure(ctx, d, tracingbench.MeasureOptions{CheckIns: 4000, Days: 3, Seed: 3, Traces: 4, Cases: 6, Reuse: true})
		if err != nil {
			t.Fatal(err)
		}
		if again.CheckIns != 4000 || again.IngestPerSec != 0 || again.TraceP50Ms <= 0 || again.BatchS != 0 || again.MeanClose != m.MeanClose {
			t.Errorf("measured again: %+v; first %+v", again, m)
		}

		// A Confirm that outlasts its time is stopped, and says so.
		empty := dbtest.SQLite(t)
		if d.Dialect == db.Postgres {
			empty = dbtest.Postgres(t)
		}
		slow := tracingbench.MeasureOptions{CheckIns: 2000, Days: 2, Seed: 4, Traces: 2, Cases: 3, ConfirmTimeout: 50 * time.Millisecond,
			Confirm: func(ctx context.Context, cs []tracing.Case) (tracing.BatchResult, error) {
				<-ctx.Done()
				return tracing.BatchResult{Traced: 1}, ctx.Err()
			}}
		m, err = tracingbench.Measure(ctx, empty, slow)
		if err != nil {
			t.Fatal(err)
		}
		if !m.BatchTimedOut || m.BatchDone != 1 || m.BatchS < 0.045 { // the 50 ms, give or take the clock
			t.Errorf("stopped batch: %+v", m)
		}
		if _, err := tracingbench.Measure(ctx, dbtest.SQLite(t), tracingbench.MeasureOptions{CheckIns: 10, Reuse: true}); err == nil {
			t.Error("reusing an empty store")
		}
	})
}

// TestMovementOfPeople makes a movement for given residents: their ids,
// homes and roles; a still person moves only by the check-ins added; the
// added ones come in their day, in time order; places are where Sites says.
func TestMovementOfPeople(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	people := make([]tracingbench.Person, 300)
	for i := range people {
		people[i] = tracingbench.Person{ID: int64(1001 + 2*i), Home: i % 12, Role: tracingbench.Role(i % 3)}
	}
	people[7].Still = true
	m := tracingbench.NewMovement(tracingbench.MovementOptions{Days: 3, Seed: 9, Start: start, People: people, Neighbourhoods: 12})
	if m.Residents != 300 || m.Days() != 3 || m.Side() != 4 || m.ResidentID(5) != 1011 {
		t.Fatalf("movement of %d residents over %d days, side %d", m.Residents, m.Days(), m.Side())
	}
	sites := m.Sites()
	if len(sites) != len(m.Places) {
		t.Fatalf("%d sites for %d places", len(sites), len(m.Places))
	}
	for i, s := range sites {
		if s.ID != int64(i+1) || m.Places[s.ID] != s.Kind || (s.Neighbourhood < 0) != (s.Kind == tracing.Bus || s.Kind == tracing.Train ||
			s.Kind == tracing.Flight || s.Kind == tracing.Coach) || s.Neighbourhood >= 12 {
			t.Fatalf("site %d: %+v", i, s)
		}
	}
	still := people[7].ID
	added := []tracing.CheckIn{
		{ClientID: "scene-2", ResidentID: still, PlaceID: 1, TIn: start.Unix() + 86400 + 9*3600, TOut: start.Unix() + 86400 + 10*3600, Source: tracing.Scan},
		{ClientID: "scene-1", ResidentID: still, PlaceID: 2, TIn: start.Unix() + 3*3600, Source: tracing.Scan},
		{ClientID: "before", ResidentID: still, PlaceID: 2, TIn: start.Unix() - 3600, Source: tracing.Scan},
		{ClientID: "after", ResidentID: still, PlaceID: 2, TIn: start.Unix() + 5*86400, Source: tracing.Scan},
	}
	m.Add(added...)
	ids := map[int64]bool{}
	for _, p := range people {
		ids[p.ID] = true
	}
	var stillGot []string
	n := 0
	var prev int64
	for b := range m.Batches(1000) {
		for _, c := range b {
			n++
			if !ids[c.ResidentID] {
				t.Fatalf("a check-in by %d, not one of the people", c.ResidentID)
			}
			if c.TIn < start.Unix() || c.TIn >= start.Unix()+3*86400 {
				t.Fatalf("check-in at %d, outside the days", c.TIn)
			}
			if (c.TIn-start.Unix())/86400 == (prev-start.Unix())/86400 && c.TIn < prev {
				t.Fatal("check-ins out of order within a day")
			}
			prev = c.TIn
			if c.ResidentID == still {
				stillGot = append(stillGot, c.ClientID)
			}
		}
	}
	if !slices.Equal(stillGot, []string{"scene-1", "scene-2"}) {
		t.Errorf("the still person's check-ins: %v", stillGot)
	}
	if n < 300*3*3 {
		t.Errorf("%d check-ins by 300 people over 3 days", n)
	}
}
