package tracing_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/tracing"
)

// More places of the tracer tests (with those of the store tests).
const (
	flight = 5
	bus    = 6
)

func scenePlaces() tracing.KindMap {
	m := tracing.KindMap{flight: tracing.Flight, bus: tracing.Bus}
	for k, v := range places {
		m[k] = v
	}
	return m
}

func ids(cs []tracing.Contact) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.ResidentID
	}
	return out
}

// TestTraceScene traces case 1 on 3 February through every rule.
func TestTraceScene(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		kinds := scenePlaces()
		s, err := tracing.NewStore(d, kinds, tracing.DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		seat := func(c tracing.CheckIn, carriage, seat string) tracing.CheckIn {
			c.Carriage, c.Seat, c.Source = carriage, seat, tracing.Trip
			return c
		}
		ingest(t, s,
			// The case.
			seat(checkIn("c1", 1, train, at(7, 0), at(8, 0)), "8", "5A"),
			seat(checkIn("c2", 1, flight, at(8, 30), at(9, 30)), "", "23C"),
			checkIn("c3", 1, gate, at(9, 55), at(10, 0)),
			checkIn("c4", 1, market, at(10, 5), at(10, 40)),
			checkIn("c5", 1, bus, at(11, 0), at(11, 30)),
			// At the market: 20 minutes together, then 10.
			checkIn("m2", 2, market, at(10, 20), at(10, 50)),
			checkIn("m3", 3, market, at(10, 30), at(10, 50)),
			// At the gate for long: never a place of contact.
			checkIn("g4", 4, gate, at(9, 50), at(10, 15)),
			// On the train: the same carriage (written otherwise), and the next one.
			seat(checkIn("t5", 5, train, at(7, 30), at(9, 0)), " 08", "1A"),
			seat(checkIn("t6", 6, train, at(7, 0), at(8, 0)), "9", "5B"),
			// On the flight: 3 rows back, 4 rows back, seat unknown.
			seat(checkIn("f7", 7, flight, at(8, 30), at(9, 30)), "", "26A"),
			seat(checkIn("f8", 8, flight, at(8, 30), at(9, 30)), "", "27A"),
			seat(checkIn("f9", 9, flight, at(8, 30), at(9, 30)), "", ""),
			// On the bus for the case's last minute.
			checkIn("b10", 10, bus, at(11, 29), at(11, 45)),
			// Resident 2 at the office before and after meeting the case, and
			// after quarantine (20:00).
			checkIn("o2a", 2, office, at(8, 0), at(10, 0)),
			checkIn("o2b", 2, office, at(14, 0), at(18, 0)),
			checkIn("o2c", 2, office, at(21, 0), at(22, 0)),
			checkIn("o11", 11, office, at(15, 0), at(17, 0)), // secondary
			checkIn("o12", 12, office, at(8, 0), at(9, 0)),   // met 2 before 2 was exposed
			checkIn("o13", 13, office, at(21, 0), at(22, 0)), // met 2 after quarantine
			checkIn("o3", 3, office, at(16, 0), at(17, 0)),   // met 2 (having met the case too briefly)
			checkIn("o7", 7, office, at(16, 0), at(17, 0)),   // a close contact meeting 2: stays close
		)
		tr, err := tracing.NewTracer(d, kinds, tracing.DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		res, err := tr.Trace(ctx, tracing.Case{ResidentID: 1, From: at(0, 0), Until: at(23, 59), QuarantineAt: at(20, 0)})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ids(res.Close), []int64{2, 5, 7, 9, 10}; !slices.Equal(got, want) {
			t.Errorf("close contacts %v, want %v", got, want)
		}
		// 3 met 2 at the office (and at the market after 2's exposure), 8
		// sat a row behind 7, 11 met 2 and 7 at the office.
		if got, want := ids(res.Secondary), []int64{3, 8, 11}; !slices.Equal(got, want) {
			t.Errorf("secondary contacts %v, want %v", got, want)
		}
		if res.Stays != 4 {
			t.Errorf("%d stays of the case, want 4 (the gate left out)", res.Stays)
		}
		want := tracing.Evidence{PlaceID: market, In: at(10, 20), Out: at(10, 50),
			SourceIn: at(10, 5), SourceOut: at(10, 40), From: at(10, 20), To: at(10, 40)}
		if c := res.Close[0]; len(c.Evidence) != 1 || c.Evidence[0] != want || c.Exposure != at(10, 20) || c.Kind != tracing.Close || c.Case != 1 {
			t.Errorf("resident 2: %+v\nwant evidence %+v", c, want)
		} else if c.Evidence[0].OverlapMinutes() != 20 {
			t.Errorf("overlap %d minutes, want 20", c.Evidence[0].OverlapMinutes())
		}
		if e := res.Close[1].Evidence[0]; e.Seat == nil || *e.Seat != (tracing.Seat{Carriage: "8", Number: "1A"}) || e.From != at(7, 30) || e.To != at(8, 0) {
			t.Errorf("train evidence %+v", e)
		}
		// 11's one check-in overlapped 2 for two hours and 7 for one: the
		// evidence shows the longer.
		if sec := res.Secondary[2]; len(sec.Evidence) != 1 || sec.Evidence[0].Via != 2 || sec.Evidence[0].From != at(15, 0) || sec.Kind != tracing.Secondary {
			t.Errorf("resident 11: %+v", sec)
		}

		closeOnly, err := tr.TraceClose(ctx, tracing.Case{ResidentID: 1, From: at(0, 0), Until: at(23, 59), QuarantineAt: at(20, 0)})
		if err != nil || !slices.Equal(ids(closeOnly.Close), ids(res.Close)) || closeOnly.Secondary != nil {
			t.Errorf("TraceClose: %v, %v", closeOnly, err)
		}

		// Tracing only up to 10:10 finds nobody at the market, and
		// resident 2 no longer.
		res, err = tr.Trace(ctx, tracing.Case{ResidentID: 1, From: at(0, 0), Until: at(10, 10), QuarantineAt: at(20, 0)})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ids(res.Close), []int64{5, 7, 9}; !slices.Equal(got, want) {
			t.Errorf("close contacts until 10:10: %v, want %v", got, want)
		}

		if _, err := tr.Trace(ctx, tracing.Case{ResidentID: 1, From: at(10, 0), Until: at(10, 0), QuarantineAt: at(20, 0)}); !errors.Is(err, tracing.ErrInvalidCase) {
			t.Errorf("empty window: %v", err)
		}
		if _, err := tr.Trace(ctx, tracing.Case{ResidentID: 1, From: at(10, 0), Until: at(11, 0), QuarantineAt: at(9, 0)}); !errors.Is(err, tracing.ErrInvalidCase) {
			t.Errorf("quarantine before the window: %v", err)
		}

		// TraceAll hands every result over, and stops at fn's error.
		cases := []tracing.Case{{ResidentID: 1, From: at(0, 0), Until: at(23, 59), QuarantineAt: at(20, 0)},
			{ResidentID: 2, From: at(0, 0), Until: at(23, 59), QuarantineAt: at(20, 0)}}
		seen := map[int]int{}
		if err := tr.TraceAll(ctx, cases, tracing.BatchOptions{Parallel: 2}, func(i int, r tracing.Result) error { seen[i] = len(r.Close); return nil }); err != nil {
			t.Fatal(err)
		}
		if seen[0] != 5 || len(seen) != 2 {
			t.Errorf("TraceAll results %v", seen)
		}
		stop := errors.New("stop")
		if err := tr.TraceAll(ctx, cases, tracing.BatchOptions{Parallel: 1}, func(int, tracing.Result) error { return stop }); !errors.Is(err, stop) {
			t.Errorf("TraceAll with a failing fn: %v", err)
		}
	})
}

func TestPolicyValidate(t *testing.T) {
	if err := tracing.DefaultPolicy().Validate(); err != nil {
		t.Fatalf("default policy: %v", err)
	}
	p := tracing.DefaultPolicy()
	p.Default.Rule = "near"
	p.Kinds[tracing.Shop] = tracing.KindPolicy{Rule: tracing.SamePlace, MinOverlap: -time.Minute, Dwell: 0, MaxStay: time.Hour}
	p.Kinds[tracing.Flight] = tracing.KindPolicy{Rule: tracing.NearbyRows, Rows: 500, Dwell: time.Hour, MaxStay: 30 * time.Minute}
	p.OnsetLead = -time.Hour
	err := p.Validate()
	if err == nil {
		t.Fatal("an invalid policy passes")
	}
	for _, want := range []string{`default: unknown rule "near"`, "shop: min overlap", "shop: dwell", "flight: rows 500", "flight: longest stay", "onset lead"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v\nsays nothing of %q", err, want)
		}
	}
	if _, err := tracing.NewTracer(nil, nil, p); err == nil {
		t.Error("NewTracer accepts an invalid policy")
	}
}

func TestInfectiousWindow(t *testing.T) {
	p := tracing.DefaultPolicy()
	cst := time.FixedZone("CST", 8*3600)
	isolated := time.Date(2026, 2, 10, 15, 30, 0, 0, cst)
	from, until, err := p.InfectiousWindow(civil.Date{Year: 2026, Month: 2, Day: 8}, civil.Date{Year: 2026, Month: 2, Day: 9}, isolated, cst)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 2, 6, 0, 0, 0, 0, cst).Unix(); from != want || until != isolated.Unix() {
		t.Errorf("symptomatic: [%d, %d), want [%d, %d)", from, until, want, isolated.Unix())
	}
	from, _, err = p.InfectiousWindow(civil.Date{}, civil.Date{Year: 2026, Month: 2, Day: 9}, isolated, cst)
	if want := time.Date(2026, 2, 9, 0, 0, 0, 0, cst).Unix(); err != nil || from != want {
		t.Errorf("asymptomatic: from %d (%v), want %d", from, err, want)
	}
	if _, _, err := p.InfectiousWindow(civil.Date{}, civil.Date{}, isolated, cst); err == nil {
		t.Error("a window without dates")
	}
	if _, _, err := p.InfectiousWindow(civil.Date{}, civil.Date{Year: 2026, Month: 2, Day: 11}, isolated, cst); err == nil {
		t.Error("isolation before the sample")
	}
}

func TestSeats(t *testing.T) {
	for seat, want := range map[string]int{"23C": 23, "5": 5, "05F": 5, "100A": 100, "1AB": 1} {
		if got, ok := tracing.SeatRow(seat); !ok || got != want {
			t.Errorf("SeatRow(%q) = %d, %v; want %d", seat, got, ok, want)
		}
	}
	for _, seat := range []string{"", "C23", "0A", "1000A", "2 C", "x1", "12c"} {
		if got, ok := tracing.SeatRow(seat); ok {
			t.Errorf("SeatRow(%q) = %d, true", seat, got)
		}
	}
	for in, want := range map[string]string{" 08 ": "8", "8": "8", "0": "0", "00": "0", "0a": "0A", "a3": "A3", "": ""} {
		if got := tracing.NormalizeCarriage(in); got != want {
			t.Errorf("NormalizeCarriage(%q) = %q, want %q", in, got, want)
		}
	}
}
