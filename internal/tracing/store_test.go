package tracing_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/tracing"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// Places of the store tests.
const (
	market  = 1 // a shop: dwell 30 min, longest stay 4 h
	gate    = 2 // a compound entrance: dwell 1 min, longest stay 30 min
	office  = 3
	train   = 4
	nowhere = 9 // unknown to the registry: Policy.Default
)

var places = tracing.KindMap{market: tracing.Shop, gate: tracing.CompoundEntrance, office: tracing.Office, train: tracing.Train}

// at is a time on 3 February 2026 (UTC).
func at(hh, mm int) int64 { return time.Date(2026, 2, 3, hh, mm, 0, 0, time.UTC).Unix() }

func newStore(t *testing.T, d *db.DB) *tracing.Store {
	t.Helper()
	s, err := tracing.NewStore(d, places, tracing.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func checkIn(client string, resident, place, in, out int64) tracing.CheckIn {
	return tracing.CheckIn{ClientID: client, ResidentID: resident, PlaceID: place, TIn: in, TOut: out, Source: tracing.Scan}
}

func ingest(t *testing.T, s *tracing.Store, cs ...tracing.CheckIn) int {
	t.Helper()
	n, err := s.Ingest(context.Background(), cs)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// stays reads check-ins back as "client in-out" for comparison.
func stays(cs []tracing.CheckIn) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("%s %d-%d", c.ClientID, c.TIn, c.TOut)
	}
	return out
}

func TestIngest(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(t, d)
		got := ingest(t, s,
			checkIn("a", 1, market, at(10, 5), at(10, 40)),
			checkIn("b", 1, market, at(11, 0), 0),          // not checked out: the shop's 30 min
			checkIn("c", 1, gate, at(9, 0), 0),             // the gate's 1 min
			checkIn("d", 1, market, at(12, 0), at(20, 0)),  // cut to the shop's 4 h
			checkIn("e", 1, nowhere, at(13, 0), 0),         // unknown place: the default 30 min
			checkIn("a", 1, market, at(10, 5), at(10, 40)), // the same, twice in one batch
			checkIn("a", 2, market, at(10, 6), at(10, 40)), // another check-in time: another check-in
			tracing.CheckIn{ClientID: " f ", ResidentID: 3, PlaceID: train, TIn: at(8, 0), TOut: at(9, 0),
				Carriage: " 08 ", Seat: "12f", Source: tracing.Trip},
		)
		if got != 7 {
			t.Errorf("Ingest = %d new, want 7", got)
		}
		// A retry of the whole batch, after a lost answer, adds nothing.
		if got := ingest(t, s, checkIn("a", 1, market, at(10, 5), at(10, 40)), checkIn("b", 1, market, at(11, 0), 0)); got != 0 {
			t.Errorf("retried batch: %d new, want 0", got)
		}
		all, err := s.ForResident(ctx, 1, at(0, 0), at(23, 59))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{
			fmt.Sprintf("c %d-%d", at(9, 0), at(9, 1)),
			fmt.Sprintf("a %d-%d", at(10, 5), at(10, 40)),
			fmt.Sprintf("b %d-%d", at(11, 0), at(11, 30)),
			fmt.Sprintf("d %d-%d", at(12, 0), at(16, 0)),
			fmt.Sprintf("e %d-%d", at(13, 0), at(13, 30)),
		}
		if !slices.Equal(stays(all), want) {
			t.Errorf("stored:\n%q\nwant\n%q", stays(all), want)
		}
		tr, err := s.ForResident(ctx, 3, at(0, 0), at(23, 59))
		if err != nil || len(tr) != 1 {
			t.Fatalf("trip: %v, %v", tr, err)
		}
		if c := tr[0]; c.ClientID != "f" || c.Carriage != "8" || c.Seat != "12F" || c.Source != tracing.Trip || c.ID == 0 || c.PlaceID != train {
			t.Errorf("trip stored as %+v", c)
		}
		if n, err := s.Count(ctx); err != nil || n != 7 {
			t.Errorf("Count = %d, %v; want 7", n, err)
		}
	})
}

func TestIngestRefusesAnInvalidBatch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStore(t, d)
		_, err := s.Ingest(context.Background(), []tracing.CheckIn{
			checkIn("ok", 1, market, at(10, 0), 0),
			checkIn("", 0, 0, 12, at(9, 0)),
			{ClientID: "x<y>", ResidentID: 1, PlaceID: market, TIn: at(10, 0), TOut: at(9, 0), Carriage: "123456789", Source: "walk"},
		})
		fe, ok := validation.As(err)
		if !ok {
			t.Fatalf("err = %v, want field errors", err)
		}
		var fields []string
		for _, f := range fe.Fields {
			fields = append(fields, f.Field)
		}
		want := []string{"checkins[1].client_id", "checkins[1].resident_id", "checkins[1].place_id", "checkins[1].t_in",
			"checkins[2].client_id", "checkins[2].t_out", "checkins[2].carriage", "checkins[2].source"}
		if !slices.Equal(fields, want) {
			t.Errorf("fields %q, want %q", fields, want)
		}
		if n, _ := s.Count(context.Background()); n != 0 {
			t.Errorf("%d check-ins stored from a refused batch", n)
		}
	})
}

func TestCheckOut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(t, d)
		ingest(t, s, checkIn("a", 1, market, at(10, 0), 0), checkIn("b", 1, market, at(11, 0), 0))
		if err := s.CheckOut(ctx, 1, "a", at(10, 0), at(10, 12)); err != nil {
			t.Fatal(err)
		}
		if err := s.CheckOut(ctx, 1, "b", at(11, 0), at(23, 0)); err != nil { // left the page open: cut to 4 h
			t.Fatal(err)
		}
		if err := s.CheckOut(ctx, 2, "a", at(10, 0), at(10, 30)); !errors.Is(err, tracing.ErrNotFound) {
			t.Errorf("someone else's check-out: %v, want ErrNotFound", err)
		}
		if err := s.CheckOut(ctx, 1, "a", at(10, 1), at(10, 30)); !errors.Is(err, tracing.ErrNotFound) {
			t.Errorf("wrong check-in time: %v, want ErrNotFound", err)
		}
		if _, ok := validation.As(s.CheckOut(ctx, 1, "a", at(10, 0), at(10, 0))); !ok {
			t.Error("a check-out at the check-in time is accepted")
		}
		all, err := s.ForResident(ctx, 1, at(0, 0), at(23, 59))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{fmt.Sprintf("a %d-%d", at(10, 0), at(10, 12)), fmt.Sprintf("b %d-%d", at(11, 0), at(15, 0))}
		if !slices.Equal(stays(all), want) {
			t.Errorf("after check-outs %q, want %q", stays(all), want)
		}
	})
}

func TestWindowsOverlapHalfOpen(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(t, d)
		ingest(t, s,
			checkIn("long", 1, market, at(6, 0), at(10, 0)), // began a longest stay before the window
			checkIn("ends", 2, market, at(8, 0), at(9, 0)),  // ends as the window begins
			checkIn("in", 3, market, at(9, 30), at(9, 45)),
			checkIn("starts", 4, market, at(11, 0), at(11, 5)), // begins as the window ends
			checkIn("other", 5, office, at(9, 0), at(17, 0)),
		)
		got, err := s.AtPlace(ctx, market, at(9, 0), at(11, 0))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{fmt.Sprintf("long %d-%d", at(6, 0), at(10, 0)), fmt.Sprintf("in %d-%d", at(9, 30), at(9, 45))}
		if !slices.Equal(stays(got), want) {
			t.Errorf("AtPlace = %q, want %q", stays(got), want)
		}
		if got, err := s.ForResident(ctx, 2, at(9, 0), at(11, 0)); err != nil || len(got) != 0 {
			t.Errorf("ForResident of a stay ending at the window's start = %v, %v", got, err)
		}
	})
}

func TestPurge(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(t, d)
		day := int64(86400)
		for i := range int64(5) {
			ingest(t, s, checkIn(fmt.Sprint("a", i), 1, market, at(10, 0)+i*day, 0), checkIn(fmt.Sprint("b", i), 2, market, at(23, 50)+i*day, 0))
		}
		// Everything before the day of 5 February 12:00 goes: 3 and 4 February.
		n, err := s.Purge(ctx, at(12, 0)+2*day)
		if err != nil {
			t.Fatal(err)
		}
		if n != 4 {
			t.Errorf("Purge removed %d, want 4", n)
		}
		if left, _ := s.Count(ctx); left != 6 {
			t.Errorf("%d left, want 6", left)
		}
		if n, err := s.Purge(ctx, at(12, 0)+2*day); err != nil || n != 0 {
			t.Errorf("purging again: %d, %v", n, err)
		}
		// A purged day can be written again, even by a store that wrote it
		// before another one purged it.
		other := newStore(t, d)
		if _, err := other.Purge(ctx, at(0, 0)+3*day); err != nil {
			t.Fatal(err)
		}
		if got := ingest(t, s, checkIn("late", 3, market, at(10, 0)+2*day, 0)); got != 1 {
			t.Errorf("writing a purged day: %d new", got)
		}
		if d.Dialect == db.Postgres {
			var parts []string
			if err := db.Select(ctx, d.R, &parts, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
				WHERE i.inhparent = 'checkins'::regclass ORDER BY 1`); err != nil {
				t.Fatal(err)
			}
			if want := []string{"checkins_p20260205", "checkins_p20260206", "checkins_p20260207"}; !slices.Equal(parts, want) {
				t.Errorf("partitions %q, want %q", parts, want)
			}
		}
	})
}

func TestConcurrentWritersMeetANewDay(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := range 8 {
			s := newStore(t, d) // each its own partition cache
			wg.Go(func() {
				for i := range 5 {
					c := checkIn(fmt.Sprintf("w%d-%d", w, i), int64(w+1), market, at(10, 0)+int64(i)*86400, 0)
					if _, err := s.Ingest(ctx, []tracing.CheckIn{c}); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n, _ := newStore(t, d).Count(ctx); n != 40 {
			t.Errorf("%d check-ins, want 40", n)
		}
		if err := newStore(t, d).EnsurePartitions(ctx, at(0, 0)+10*86400, at(0, 0)+12*86400); err != nil {
			t.Error(err)
		}
	})
}
