package tracing_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/tracing"
)

// indexedStore is a fresh SQLite check-in store with an in-memory index,
// loaded.
func indexedStore(t *testing.T) (*db.DB, *tracing.Store, *tracing.Index) {
	t.Helper()
	d := dbtest.SQLite(t)
	s := newStore(t, d)
	ix := tracing.NewIndex()
	if err := s.UseIndex(ix); err != nil {
		t.Fatal(err)
	}
	if err := ix.Load(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	return d, s, ix
}

// traceWith traces c in d under the default policy, reading ix (the store
// when nil).
func traceWith(t *testing.T, d *db.DB, ix *tracing.Index, c tracing.Case) tracing.Result {
	t.Helper()
	tr, err := tracing.NewTracer(d, places, tracing.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	r, err := tr.WithIndex(ix).Trace(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sameTrace traces c from the store and from ix, fails the test unless
// both find the same, and returns what the index found.
func sameTrace(t *testing.T, d *db.DB, ix *tracing.Index, c tracing.Case) tracing.Result {
	t.Helper()
	results := [2]tracing.Result{traceWith(t, d, nil, c), traceWith(t, d, ix, c)}
	if !reflect.DeepEqual(results[0], results[1]) {
		t.Errorf("the store and the index trace differently:\n%+v\n%+v", results[0], results[1])
	}
	return results[1]
}

// sameRows fails the test unless the index holds exactly the store's rows.
func sameRows(t *testing.T, ctx context.Context, ix *tracing.Index, d *db.DB) {
	t.Helper()
	want, err := tracing.StoredRows(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if got := ix.Rows(); !slices.Equal(got, want) {
		t.Errorf("index holds\n%v\nthe store\n%v", got, want)
	}
	if ix.Len() != len(want) {
		t.Errorf("index Len = %d, store %d", ix.Len(), len(want))
	}
}

// TestIndexFollowsTheStore: an index that loads a store while check-ins
// are written, checked out and purged ends up holding exactly the store's
// check-ins; after that it follows every write as it happens.
func TestIndexFollowsTheStore(t *testing.T) {
	ctx := context.Background()
	d := dbtest.SQLite(t)
	s := newStore(t, d)
	var batch []tracing.CheckIn
	for i := range 40 {
		batch = append(batch, checkIn(fmt.Sprintf("old-%d", i), int64(1+i%7), market, at(8, i), 0))
	}
	ingest(t, s, batch...)
	ingest(t, s, tracing.CheckIn{ClientID: "trip", ResidentID: 3, PlaceID: train, TIn: at(6, 0), TOut: at(9, 0), Carriage: "8", Seat: "12F", Source: tracing.Trip})
	ingest(t, s, checkIn("yesterday", 1, office, at(8, 0)-86400, 0))

	ix := tracing.NewIndex()
	if err := s.UseIndex(ix); err != nil {
		t.Fatal(err)
	}
	// While the index loads, 7 rows at a time: more check-ins (some
	// retried, two identical but for their client ids), check-outs of
	// rows loaded and not loaded yet, and a purge of the day before.
	chunks := 0
	defer tracing.SetLoadChunk(7, func() {
		chunks++
		switch chunks {
		case 1:
			// An insert committed before Load began, announced after.
			first, err := tracing.StoredRows(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			ix.Added(1, first[0])
			ingest(t, s, checkIn("new-1", 8, market, at(12, 0), 0), checkIn("old-0", 1, market, at(8, 0), 0), // a retry
				checkIn("twin-a", 9, office, at(9, 0), at(17, 0)), checkIn("twin-b", 9, office, at(9, 0), at(17, 0)))
			if err := s.CheckOut(ctx, 1, "old-0", at(8, 0), at(8, 20)); err != nil { // loaded already
				t.Fatal(err)
			}
			if err := s.CheckOut(ctx, 5, "old-39", at(8, 39), at(9, 50)); err != nil { // not loaded yet
				t.Fatal(err)
			}
		case 2:
			if err := s.CheckOut(ctx, 5, "old-39", at(8, 39), at(9, 55)); err != nil { // twice
				t.Fatal(err)
			}
			if _, err := s.Purge(ctx, at(0, 0)); err != nil {
				t.Fatal(err)
			}
		}
	})()
	if ix.Ready() {
		t.Fatal("ready before loading")
	}
	if err := ix.Load(ctx, d); err != nil {
		t.Fatal(err)
	}
	if !ix.Ready() || chunks < 3 {
		t.Fatalf("ready %v after %d chunks", ix.Ready(), chunks)
	}
	sameRows(t, ctx, ix, d)

	// Loaded: writes go straight in.
	ingest(t, s, checkIn("new-2", 8, market, at(7, 0), 0), checkIn("new-3", 2, train, at(7, 30), at(8, 0)))
	if err := s.CheckOut(ctx, 9, "twin-b", at(9, 0), at(12, 0)); err != nil {
		t.Fatal(err)
	}
	sameRows(t, ctx, ix, d)
	if _, err := s.Purge(ctx, at(0, 0)+86400); err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 0 {
		t.Errorf("after purging every day the index holds %d check-ins", ix.Len())
	}
	sameRows(t, ctx, ix, d)
}

// TestIndexTracesAsTheStore: a tracer reading the index finds what one
// reading the store finds, and when a check-in the index cannot hold
// arrives, the index stops and the tracer reads the store.
func TestIndexTracesAsTheStore(t *testing.T) {
	d, s, ix := indexedStore(t)
	ingest(t, s,
		checkIn("case", 1, market, at(10, 0), at(11, 0)),
		checkIn("close", 2, market, at(10, 30), at(11, 30)),
		checkIn("brief", 3, market, at(10, 55), at(11, 5)),
		checkIn("second", 4, office, at(13, 0), at(14, 0)),
		checkIn("close-at-office", 2, office, at(13, 30), at(15, 0)))
	c := tracing.Case{ResidentID: 1, From: at(0, 0), Until: at(23, 0), QuarantineAt: at(23, 0)}
	trace := func(ix *tracing.Index) tracing.Result { return traceWith(t, d, ix, c) }
	who := func(r tracing.Result) string {
		var ids []string
		for _, ct := range slices.Concat(r.Close, r.Secondary) {
			ids = append(ids, fmt.Sprintf("%s:%d", ct.Kind, ct.ResidentID))
		}
		return fmt.Sprint(ids)
	}
	if got, want := who(trace(ix)), "[close:2 secondary:4]"; got != want {
		t.Errorf("with the index: %s, want %s", got, want)
	}
	if got, want := who(trace(nil)), "[close:2 secondary:4]"; got != want {
		t.Errorf("with the store: %s, want %s", got, want)
	}

	// A resident id beyond 32 bits: the store takes it, the index stops.
	big := int64(math.MaxUint32) + 5
	ingest(t, s, checkIn("big", big, market, at(10, 0), at(10, 45)))
	if ix.Ready() || ix.Err() == nil {
		t.Fatalf("index ready %v, err %v after an id it cannot hold", ix.Ready(), ix.Err())
	}
	if sealed, open := ix.Bytes(); ix.Len() != 0 || sealed != 0 || open != 0 {
		t.Errorf("a stopped index still holds %d check-ins, %d + %d bytes", ix.Len(), sealed, open)
	}
	if got, want := who(trace(ix)), fmt.Sprintf("[close:2 close:%d secondary:4]", big); got != want {
		t.Errorf("after the index stopped: %s, want %s", got, want)
	}
}

// TestIndexOnlyOnSQLite: PostgreSQL may have several nodes writing; the
// index refuses it.
func TestIndexOnlyOnSQLite(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		if d.Dialect == db.SQLite {
			return
		}
		s := newStore(t, d)
		ix := tracing.NewIndex()
		if err := s.UseIndex(ix); err == nil {
			t.Error("UseIndex took a PostgreSQL store")
		}
		if err := ix.Load(context.Background(), d); err == nil || ix.Ready() || ix.Err() == nil {
			t.Errorf("Load on PostgreSQL: %v, ready %v, stopped for %v", err, ix.Ready(), ix.Err())
		}
	})
}

// TestIndexSealsDays: the days before the current one are sealed into blocks; a
// late check-in for a sealed day, a check-out of a sealed stay and purges
// keep the index equal to the store, and tracing across blocks and the
// open lists finds what it finds in the store.
func TestIndexSealsDays(t *testing.T) {
	ctx := context.Background()
	d, s, ix := indexedStore(t)
	const dayS = 86400
	for k := range int64(6) { // 6 days: the case and a colleague at the office, a friend at the market
		ingest(t, s,
			checkIn(fmt.Sprintf("case-%d", k), 1, office, at(9, 0)+k*dayS, at(17, 0)+k*dayS),
			checkIn(fmt.Sprintf("colleague-%d", k), 2, office, at(10, 0)+k*dayS, at(18, 0)+k*dayS),
			checkIn(fmt.Sprintf("friend-%d", k), 3, market, at(18, 30)+k*dayS, at(19, 0)+k*dayS),
			checkIn(fmt.Sprintf("colleague-market-%d", k), 2, market, at(18, 20)+k*dayS, at(19, 10)+k*dayS))
	}
	if got := ix.Blocks(); got != 5 {
		t.Errorf("%d blocks after 6 days, want 5 (the last day open)", got)
	}
	sameRows(t, ctx, ix, d)
	// Late: a check-in on the first day, and a check-out of a sealed stay.
	ingest(t, s, checkIn("late", 4, market, at(18, 40), at(19, 0)))
	if err := s.CheckOut(ctx, 3, "friend-1", at(18, 30)+dayS, at(18, 35)+dayS); err != nil {
		t.Fatal(err)
	}
	sameRows(t, ctx, ix, d)
	ingest(t, s, checkIn("next-day", 5, market, at(8, 0)+6*dayS, 0)) // a new day seals the late one
	if got := ix.Blocks(); got != 7 {
		t.Errorf("%d blocks after the late check-in was sealed, want 7", got)
	}
	sameRows(t, ctx, ix, d)

	c := tracing.Case{ResidentID: 1, From: at(0, 0), Until: at(0, 0) + 7*dayS, QuarantineAt: at(0, 0) + 7*dayS}
	if r := sameTrace(t, d, ix, c); len(r.Close) != 1 || len(r.Secondary) != 2 || len(r.Secondary[0].Evidence) != 5 {
		t.Errorf("traced %+v; want the colleague close, the friend (5 evenings, one cut short) and the late one secondary", r)
	}

	// Purge the first two days: their blocks go.
	if _, err := s.Purge(ctx, at(0, 0)+2*dayS); err != nil {
		t.Fatal(err)
	}
	if got := ix.Blocks(); got != 4 {
		t.Errorf("%d blocks after purging two days, want 4", got)
	}
	sameRows(t, ctx, ix, d)
	if sealed, open := ix.Bytes(); sealed < 4*4*20 || open < 20 {
		t.Errorf("index holds %d bytes sealed, %d open; want at least 20 a check-in", sealed, open)
	}
	// Purge everything: no memory left held.
	if _, err := s.Purge(ctx, at(0, 0)+10*dayS); err != nil {
		t.Fatal(err)
	}
	if sealed, open := ix.Bytes(); sealed != 0 || open != 0 || ix.Blocks() != 0 || ix.Len() != 0 {
		t.Errorf("after purging every day: %d bytes sealed, %d open, %d blocks, %d check-ins", sealed, open, ix.Blocks(), ix.Len())
	}
}

// Identical check-ins (the same person, place and time twice, one of them
// checked out early) are read by person as two, in sealed days and in
// the open one: a trace from the index meets whom the longer one met.
func TestIndexTwins(t *testing.T) {
	ctx := context.Background()
	d, s, ix := indexedStore(t)
	const dayS = 86400
	for k := range int64(3) { // days 0 and 1 sealed by day 2's check-ins
		ingest(t, s,
			checkIn(fmt.Sprintf("twin-a-%d", k), 6, market, at(21, 0)+k*dayS, at(22, 0)+k*dayS),
			checkIn(fmt.Sprintf("twin-b-%d", k), 6, market, at(21, 0)+k*dayS, at(22, 0)+k*dayS),
			checkIn(fmt.Sprintf("guest-%d", k), 7, market, at(21, 30)+k*dayS, at(22, 0)+k*dayS))
		if err := s.CheckOut(ctx, 6, fmt.Sprintf("twin-a-%d", k), at(21, 0)+k*dayS, at(21, 5)+k*dayS); err != nil {
			t.Fatal(err)
		}
	}
	if got := ix.Blocks(); got != 2 {
		t.Fatalf("%d blocks, want 2", got)
	}
	sameRows(t, ctx, ix, d)
	c := tracing.Case{ResidentID: 6, From: at(0, 0), Until: at(0, 0) + 3*dayS, QuarantineAt: at(0, 0) + 3*dayS}
	if r := sameTrace(t, d, ix, c); r.Stays != 6 || len(r.Close) != 1 || len(r.Close[0].Evidence) != 3 {
		t.Errorf("traced %+v; want 6 stays and the guest met 3 times", r)
	}
}
