package tracing_test

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/tracing"
)

// world is random synthetic data: places of every kind (and of kinds the
// policy does not name), residents checking in over a few days on a
// 5-minute grid (so that overlaps of exactly the threshold are common),
// random carriages and seats, retries, check-outs and stays too long.
type world struct {
	kinds    tracing.KindMap
	batches  [][]tracing.CheckIn
	checkOut []checkOut
	cases    []tracing.Case
}

type checkOut struct {
	resident int64
	client   string
	tIn, out int64
}

var start = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC).Unix()

func randomWorld(seed uint64, residents, perKind, days int) world {
	rng := rand.New(rand.NewPCG(seed, 7))
	w := world{kinds: tracing.KindMap{}}
	var places []int64
	id := int64(100)
	for _, k := range append(slices.Clone(tracing.Kinds), "market", "") {
		for range perKind {
			id++
			if k != "" { // "" leaves the place unknown to the registry
				w.kinds[id] = k
			}
			places = append(places, id)
		}
	}
	carriages := []string{"", "1", "2", "3", "08", "8", " 3 ", "A"}
	seats := []string{"", "1A", "2C", "3F", "4B", "5A", "6D", "7C", "9A", "12F", "23c", " 26A", "x1", "100A", "B"}
	var all []tracing.CheckIn
	n := 0
	for r := int64(1); r <= int64(residents); r++ {
		// Each resident keeps to a few places, so that people meet.
		mine := make([]int64, 6)
		for i := range mine {
			mine[i] = places[rng.IntN(len(places))]
		}
		for d := range days {
			for range rng.IntN(7) {
				n++
				in := start + int64(d)*86400 + int64(7*12+rng.IntN(15*12))*300
				c := tracing.CheckIn{ClientID: fmt.Sprintf("c-%d", n), ResidentID: r, PlaceID: mine[rng.IntN(len(mine))], TIn: in, Source: tracing.Scan}
				switch rng.IntN(10) {
				case 0, 1, 2: // never checked out: the kind's dwell
				case 3: // far too long: cut to the longest stay
					c.TOut = in + int64(1+rng.IntN(60))*3600
				default:
					c.TOut = in + int64(1+rng.IntN(36))*300
				}
				if k := w.kinds[c.PlaceID]; k == tracing.Train || k == tracing.Flight || k == tracing.Coach || k == tracing.Bus {
					c.Source = tracing.Trip
					c.Carriage = carriages[rng.IntN(len(carriages))]
					c.Seat = seats[rng.IntN(len(seats))]
				}
				all = append(all, c)
			}
		}
	}
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	for len(all) > 0 {
		k := min(len(all), 1+rng.IntN(700))
		b := slices.Clone(all[:k])
		// Retries: a few check-ins of earlier batches come again.
		for _, prev := range w.batches {
			if len(prev) > 0 && rng.IntN(3) == 0 {
				b = append(b, prev[rng.IntN(len(prev))])
			}
		}
		if k > 1 {
			b = append(b, b[0]) // and one twice in the same batch
		}
		w.batches = append(w.batches, b)
		all = all[k:]
	}
	for _, b := range w.batches {
		for _, c := range b {
			if rng.IntN(12) == 0 {
				w.checkOut = append(w.checkOut, checkOut{c.ResidentID, c.ClientID, c.TIn, c.TIn + int64(1+rng.IntN(30))*300})
			}
		}
	}
	for range 10 {
		from := start + int64(rng.IntN(days*24))*3600
		until := from + int64(12+rng.IntN(days*24))*3600
		w.cases = append(w.cases, tracing.Case{ResidentID: 1 + rng.Int64N(int64(residents)), From: from, Until: until,
			QuarantineAt: until + int64(rng.IntN(48))*3600})
	}
	return w
}

// stored is a check-in as the reference believes the store keeps it.
type stored struct {
	resident, place int64
	in, out         int64
	carriage, seat  string
}

// reference applies the policy to the raw check-ins, in memory, on its own:
// the last check-out wins, a missing one is the dwell, a long stay is cut.
func (w world) reference(p tracing.Policy) []stored {
	type key struct {
		in     int64
		client string
	}
	seen := map[key]int{}
	var out []stored
	for _, b := range w.batches {
		for _, c := range b {
			k := key{c.TIn, c.ClientID}
			if _, dup := seen[k]; dup {
				continue
			}
			kp := p.For(w.kinds[c.PlaceID])
			end := c.TOut
			if end == 0 {
				end = c.TIn + int64(kp.Dwell.Seconds())
			}
			end = min(end, c.TIn+int64(kp.MaxStay.Seconds()))
			carriage := strings.ToUpper(strings.TrimSpace(c.Carriage))
			for len(carriage) > 1 && carriage[0] == '0' && carriage[1] >= '0' && carriage[1] <= '9' {
				carriage = carriage[1:]
			}
			seen[k] = len(out)
			out = append(out, stored{c.ResidentID, c.PlaceID, c.TIn, end, carriage, strings.ToUpper(strings.TrimSpace(c.Seat))})
		}
	}
	for _, co := range w.checkOut {
		i := seen[key{co.tIn, co.client}]
		kp := p.For(w.kinds[out[i].place])
		out[i].out = min(co.out, co.tIn+int64(kp.MaxStay.Seconds()))
	}
	return out
}

func row(seat string) (int, bool) {
	var n int
	var letters string
	if c, err := fmt.Sscanf(seat, "%d%s", &n, &letters); c < 1 || (err != nil && c != 1) || n <= 0 || n > 999 {
		return 0, false
	}
	if seat != fmt.Sprint(n)+letters && seat != fmt.Sprintf("%02d", n)+letters && seat != fmt.Sprintf("%03d", n)+letters {
		return 0, false
	}
	for _, r := range letters {
		if r < 'A' || r > 'Z' {
			return 0, false
		}
	}
	return n, true
}

func refSameSpace(kp tracing.KindPolicy, x, y stored) bool {
	switch kp.Rule {
	case tracing.SameCarriage:
		if x.carriage == "" || y.carriage == "" {
			return kp.UnknownSeatIsContact
		}
		return x.carriage == y.carriage
	case tracing.NearbyRows:
		r1, ok1 := row(x.seat)
		r2, ok2 := row(y.seat)
		if !ok1 || !ok2 {
			return kp.UnknownSeatIsContact
		}
		d := r1 - r2
		if d < 0 {
			d = -d
		}
		return d <= kp.Rows
	}
	return true
}

// refTrace is the brute force: every check-in of the source against every
// check-in of everyone else.
func refTrace(all []stored, kinds tracing.KindMap, p tracing.Policy, c tracing.Case) (closeC, secondary []tracing.Contact) {
	meet := func(source int64, from, until int64, skip func(int64) bool, via int64) map[int64][]tracing.Evidence {
		found := map[int64][]tracing.Evidence{}
		for _, x := range all {
			if x.resident != source {
				continue
			}
			kp := p.For(kinds[x.place])
			if kp.Excluded || via != 0 && kp.NoSecondary {
				continue
			}
			a, b := max(x.in, from), min(x.out, until)
			if a >= b {
				continue
			}
			need := int64(kp.MinOverlap.Seconds())
			if need < 1 {
				need = 1
			}
			for _, y := range all {
				if y.place != x.place || y.resident == source || skip(y.resident) {
					continue
				}
				f, t := max(a, y.in), min(b, y.out)
				if t-f < need || !refSameSpace(kp, x, y) {
					continue
				}
				e := tracing.Evidence{Via: via, PlaceID: x.place, SourceIn: x.in, SourceOut: x.out, In: y.in, Out: y.out, From: f, To: t}
				if y.carriage != "" || y.seat != "" {
					e.Seat = &tracing.Seat{Carriage: y.carriage, Number: y.seat}
				}
				found[y.resident] = append(found[y.resident], e)
			}
		}
		return found
	}
	closeEv := meet(c.ResidentID, c.From, c.Until, func(int64) bool { return false }, 0)
	for r, ev := range closeEv {
		closeC = append(closeC, tracing.Contact{ResidentID: r, Kind: tracing.Close, Case: c.ResidentID, Exposure: earliest(ev), Evidence: bestPerCheckIn(ev)})
	}
	secEv := map[int64][]tracing.Evidence{}
	for _, cc := range closeC {
		skip := func(r int64) bool { _, isClose := closeEv[r]; return r == c.ResidentID || isClose }
		for r, ev := range meet(cc.ResidentID, cc.Exposure, c.QuarantineAt, skip, cc.ResidentID) {
			secEv[r] = append(secEv[r], ev...)
		}
	}
	for r, ev := range secEv {
		secondary = append(secondary, tracing.Contact{ResidentID: r, Kind: tracing.Secondary, Case: c.ResidentID, Exposure: earliest(ev), Evidence: bestPerCheckIn(ev)})
	}
	return canonical(closeC), canonical(secondary)
}

// bestPerCheckIn keeps, for each check-in of the contact, the overlap with
// the longest duration, then the earliest start, the lowest via, the
// earliest source times.
func bestPerCheckIn(ev []tracing.Evidence) []tracing.Evidence {
	type key struct {
		place, in, out int64
		carriage, seat string
	}
	best := map[key]tracing.Evidence{}
	for _, e := range ev {
		k := key{place: e.PlaceID, in: e.In, out: e.Out}
		if e.Seat != nil {
			k.carriage, k.seat = e.Seat.Carriage, e.Seat.Number
		}
		b, ok := best[k]
		if !ok {
			best[k] = e
			continue
		}
		lenE, lenB := e.To-e.From, b.To-b.From
		switch {
		case lenE > lenB,
			lenE == lenB && e.From < b.From,
			lenE == lenB && e.From == b.From && e.Via < b.Via,
			lenE == lenB && e.From == b.From && e.Via == b.Via && e.SourceIn < b.SourceIn,
			lenE == lenB && e.From == b.From && e.Via == b.Via && e.SourceIn == b.SourceIn && e.SourceOut < b.SourceOut:
			best[k] = e
		}
	}
	out := make([]tracing.Evidence, 0, len(best))
	for _, e := range best {
		out = append(out, e)
	}
	return out
}

func earliest(ev []tracing.Evidence) int64 {
	e := ev[0].From
	for _, x := range ev {
		e = min(e, x.From)
	}
	return e
}

// inOrder checks the order the tracer promises: each kind's contacts by
// resident id, each contact's evidence by the start of the overlap.
func inOrder(cs []tracing.Contact) error {
	for i, c := range cs {
		if i > 0 && cs[i-1].Kind == c.Kind && cs[i-1].ResidentID >= c.ResidentID {
			return fmt.Errorf("contact %d listed after %d", c.ResidentID, cs[i-1].ResidentID)
		}
		if !slices.IsSortedFunc(c.Evidence, func(a, b tracing.Evidence) int { return cmp.Compare(a.From, b.From) }) {
			return fmt.Errorf("contact %d: evidence out of time order: %+v", c.ResidentID, c.Evidence)
		}
	}
	return nil
}

// canonical sorts contacts and their evidence the reference's own way.
func canonical(cs []tracing.Contact) []tracing.Contact {
	out := make([]tracing.Contact, len(cs))
	for i, c := range cs {
		c.Evidence = slices.Clone(c.Evidence)
		slices.SortFunc(c.Evidence, func(a, b tracing.Evidence) int {
			return cmp.Compare(fmt.Sprintf("%+v", a), fmt.Sprintf("%+v", b))
		})
		out[i] = c
	}
	slices.SortFunc(out, func(a, b tracing.Contact) int { return cmp.Compare(a.ResidentID, b.ResidentID) })
	if len(out) == 0 {
		return nil
	}
	return out
}

// wide is a policy unlike the default: compound entrances count, other
// thresholds, seats not known are not contacts.
func wide() tracing.Policy {
	p := tracing.DefaultPolicy()
	ce := p.Kinds[tracing.CompoundEntrance]
	ce.Excluded, ce.MinOverlap = false, 5*time.Minute
	p.Kinds[tracing.CompoundEntrance] = ce
	fl := p.Kinds[tracing.Flight]
	fl.Rows, fl.UnknownSeatIsContact = 1, false
	p.Kinds[tracing.Flight] = fl
	tr := p.Kinds[tracing.Train]
	tr.UnknownSeatIsContact, tr.MinOverlap = false, 10*time.Minute
	p.Kinds[tracing.Train] = tr
	p.Default.MinOverlap = 25 * time.Minute
	p.Kinds[tracing.Shop] = tracing.KindPolicy{Rule: tracing.SamePlace, Dwell: 20 * time.Minute, MaxStay: 90 * time.Minute}
	// A close contact's bus rides and meals make no secondary contacts.
	for _, k := range []tracing.Kind{tracing.Bus, tracing.Restaurant} {
		kp := p.For(k)
		kp.NoSecondary = true
		p.Kinds[k] = kp
	}
	return p
}

// TestTracerMatchesBruteForce: on random synthetic data the tracer finds
// exactly the close and secondary contacts, with exactly the evidence, that
// nested loops over every pair of check-ins find — on both stores, under
// the default policy and another.
func TestTracerMatchesBruteForce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		for _, pc := range []struct {
			name                       string
			seed                       uint64
			p                          tracing.Policy
			residents, perKind, days   int
			minClose, minSec, minSeats int
			split                      int // probes of a query split in two from
		}{
			{"default", 1, tracing.DefaultPolicy(), 300, 5, 4, 50, 200, 10, 512},
			{"wide", 2, wide(), 300, 5, 4, 50, 200, 10, 2},
			{"sparse", 3, tracing.DefaultPolicy(), 400, 24, 5, 20, 40, 5, 3},
		} {
			t.Run(pc.name, func(t *testing.T) {
				defer tracing.SetSplitProbes(pc.split)()
				ctx := context.Background()
				if _, err := d.W.ExecContext(ctx, "DELETE FROM checkins"); err != nil {
					t.Fatal(err)
				}
				w := randomWorld(pc.seed, pc.residents, pc.perKind, pc.days)
				store, err := tracing.NewStore(d, w.kinds, pc.p)
				if err != nil {
					t.Fatal(err)
				}
				defer store.Close()
				// On SQLite an in-memory index follows the store's writes
				// (it loads the empty store first), and another loads the
				// store at the end: both must answer as the store does.
				var fed *tracing.Index
				if d.Dialect == db.SQLite {
					fed = tracing.NewIndex()
					if err := store.UseIndex(fed); err != nil {
						t.Fatal(err)
					}
					if err := fed.Load(ctx, d); err != nil {
						t.Fatal(err)
					}
				}
				for _, b := range w.batches {
					if _, err := store.Ingest(ctx, b); err != nil {
						t.Fatal(err)
					}
				}
				for _, co := range w.checkOut {
					if err := store.CheckOut(ctx, co.resident, co.client, co.tIn, co.out); err != nil {
						t.Fatal(err)
					}
				}
				all := w.reference(pc.p)
				if n, err := store.Count(ctx); err != nil || n != int64(len(all)) {
					t.Fatalf("store holds %d check-ins (%v), reference %d", n, err, len(all))
				}
				tr, err := tracing.NewTracer(d, w.kinds, pc.p)
				if err != nil {
					t.Fatal(err)
				}
				tracers := []struct {
					name string
					tr   *tracing.Tracer
				}{{"store", tr}}
				if fed != nil {
					loaded := tracing.NewIndex()
					if err := loaded.Load(ctx, d); err != nil {
						t.Fatal(err)
					}
					for name, ix := range map[string]*tracing.Index{"index fed by the store": fed, "index loaded": loaded} {
						if !ix.Ready() || ix.Len() != len(all) {
							t.Fatalf("%s: ready %v, %d check-ins, reference %d (%v)", name, ix.Ready(), ix.Len(), len(all), ix.Err())
						}
						tr, err := tracing.NewTracer(d, w.kinds, pc.p)
						if err != nil {
							t.Fatal(err)
						}
						tracers = append(tracers, struct {
							name string
							tr   *tracing.Tracer
						}{name, tr.WithIndex(ix)})
					}
				}
				for _, tc := range tracers {
					results := make([]tracing.Result, len(w.cases))
					err = tc.tr.TraceAll(ctx, w.cases, tracing.BatchOptions{Parallel: 2}, func(i int, r tracing.Result) error { results[i] = r; return nil })
					if err != nil {
						t.Fatal(err)
					}
					for i, c := range w.cases {
						wantClose, wantSec := refTrace(all, w.kinds, pc.p, c)
						got := results[i]
						if !reflect.DeepEqual(canonical(got.Close), wantClose) {
							t.Errorf("%s: case %+v: close contacts differ:%s", tc.name, c, diff(canonical(got.Close), wantClose))
						}
						if !reflect.DeepEqual(canonical(got.Secondary), wantSec) {
							t.Errorf("%s: case %+v: secondary contacts differ:%s", tc.name, c, diff(canonical(got.Secondary), wantSec))
						}
						if err := inOrder(slices.Concat(got.Close, got.Secondary)); err != nil {
							t.Errorf("%s: case %+v: %v", tc.name, c, err)
						}
					}
				}
				var nClose, nSec, nSeated int
				for _, c := range w.cases {
					wantClose, wantSec := refTrace(all, w.kinds, pc.p, c)
					nClose += len(wantClose)
					nSec += len(wantSec)
					for _, ct := range slices.Concat(wantClose, wantSec) {
						for _, e := range ct.Evidence {
							if e.Seat != nil {
								nSeated++
							}
						}
					}
				}
				// The data must exercise the tracer, not pass by finding nothing.
				if nClose < pc.minClose || nSec < pc.minSec || nSeated < pc.minSeats {
					t.Errorf("too few contacts to prove much: %d close, %d secondary, %d seated evidence", nClose, nSec, nSeated)
				}
				t.Logf("%d check-ins, %d cases: %d close, %d secondary contacts", len(all), len(w.cases), nClose, nSec)
			})
		}
	})
}

// diff describes how got differs from want: who is missing or extra, and
// the first few contacts whose evidence differs.
func diff(got, want []tracing.Contact) string {
	var b strings.Builder
	index := func(cs []tracing.Contact) map[int64]tracing.Contact {
		m := map[int64]tracing.Contact{}
		for _, c := range cs {
			m[c.ResidentID] = c
		}
		return m
	}
	g, w := index(got), index(want)
	shown := 0
	for _, c := range want {
		if _, ok := g[c.ResidentID]; !ok {
			fmt.Fprintf(&b, "\n  missing %d (%d evidence, first %+v)", c.ResidentID, len(c.Evidence), c.Evidence[0])
		}
	}
	for _, c := range got {
		wc, ok := w[c.ResidentID]
		switch {
		case !ok:
			fmt.Fprintf(&b, "\n  extra %d (%d evidence, first %+v)", c.ResidentID, len(c.Evidence), c.Evidence[0])
		case !reflect.DeepEqual(c, wc) && shown < 3:
			shown++
			fmt.Fprintf(&b, "\n  %d differs:\n    got  exp=%d", c.ResidentID, c.Exposure)
			for _, e := range c.Evidence {
				fmt.Fprintf(&b, "\n      %+v", e)
			}
			fmt.Fprintf(&b, "\n    want exp=%d", wc.Exposure)
			for _, e := range wc.Evidence {
				fmt.Fprintf(&b, "\n      %+v", e)
			}
		}
	}
	return b.String()
}
