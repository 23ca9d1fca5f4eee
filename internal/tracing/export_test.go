package tracing

import (
	"cmp"
	"context"
	"slices"

	"github.com/outbreak-platform/outbreak/internal/db"
)

// SetSplitProbes sets from how many probes a query is split in two, and
// returns a function that restores it.
func SetSplitProbes(n int) (restore func()) {
	old := splitProbes
	splitProbes = n
	return func() { splitProbes = old }
}

// SetLoadChunk makes Index.Load read n rows at a time and call fn after
// each; it returns a function that restores both.
func SetLoadChunk(n int, fn func()) (restore func()) {
	oldN, oldFn := loadChunk, afterLoadChunk
	loadChunk, afterLoadChunk = n, fn
	return func() { loadChunk, afterLoadChunk = oldN, oldFn }
}

// Rows lists what the index holds, by place, time and resident.
func (ix *Index) Rows() []CheckIn {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var out []CheckIn
	n := 0
	add := func(place uint32, es []placeEntry) {
		for _, e := range es {
			c := CheckIn{ResidentID: int64(e.resident), PlaceID: int64(place), TIn: int64(e.tin), TOut: int64(e.tin) + int64(e.dur&^seated)}
			if e.dur&seated != 0 {
				s := ix.seats[seatKey{place, e.resident, e.tin}]
				c.Carriage, c.Seat = s.carriage, s.seat
			}
			out = append(out, c)
		}
	}
	for place, es := range ix.open.places {
		add(place, es)
	}
	n += len(ix.open.pq)
	for _, b := range ix.blocks {
		for i, place := range b.places {
			add(place, b.pe[b.placeAt[i]:b.placeAt[i+1]])
		}
		if int(b.personAt[len(b.people)]) != len(b.qe) || int(b.placeAt[len(b.places)]) != len(b.pe) {
			panic("index: a block's offsets do not cover its entries")
		}
		for i, person := range b.people {
			for _, q := range b.qe[b.personAt[i]:b.personAt[i+1]] {
				pi := slices.Index(b.places, q.place)
				if pi < 0 || q.at < b.placeAt[pi] || q.at >= b.placeAt[pi+1] || b.pe[q.at].resident != person {
					panic("index: a person's entry names another's check-in")
				}
			}
		}
		n += len(b.qe)
	}
	if n != len(out) {
		panic("index: the people's lists and the places' differ in length")
	}
	sortRows(out)
	return out
}

// Blocks is how many sealed blocks the index holds.
func (ix *Index) Blocks() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.blocks)
}

func sortRows(cs []CheckIn) {
	slices.SortFunc(cs, func(a, b CheckIn) int {
		return cmp.Or(cmp.Compare(a.PlaceID, b.PlaceID), cmp.Compare(a.TIn, b.TIn), cmp.Compare(a.ResidentID, b.ResidentID),
			cmp.Compare(a.TOut, b.TOut), cmp.Compare(a.Carriage, b.Carriage), cmp.Compare(a.Seat, b.Seat))
	})
}

// StoredRows lists the check-ins the store holds, as Rows does.
func StoredRows(ctx context.Context, d *db.DB) ([]CheckIn, error) {
	var out []CheckIn
	err := db.Select(ctx, d.R, &out, "SELECT resident_id, place_id, t_in, t_out, COALESCE(carriage, '') AS carriage, COALESCE(seat, '') AS seat FROM checkins")
	sortRows(out)
	return out, err
}

// Added tells the index the store inserted c as row id, as Ingest does
// after its commit (which may come after Load has read the row).
func (ix *Index) Added(id int64, c CheckIn) { ix.added([]indexedRow{{id, c}}) }

// ContactsOfHits gathers contacts as a trace does, from check-ins of the
// residents each overlapping the one source presence at place 1 over their
// whole stay.
func ContactsOfHits(residents []int64, ins []int64) []Contact {
	set := newEvidenceSet(7, []presence{{owner: 7, place: 1, kind: Shop, in: 0, out: 1 << 40}}, false)
	for i, r := range residents {
		set.add(r, 0, row{resident: r, in: ins[i], out: ins[i] + 600}, ins[i], ins[i]+600, ins[i])
	}
	return set.contacts(Close)
}
