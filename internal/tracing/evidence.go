package tracing

import (
	"cmp"
	"math"
	"slices"
	"sync"
)

// evidenceSet keeps, for each contact, the best evidence for each of
// their check-ins, and their first exposure over every overlap. A
// secondary step finds tens of thousands of contacts with hundreds of
// thousands of check-ins, so it keeps them compactly — a hit per check-in
// found, in one slice free of pointers, naming its source presence by
// index — and makes the Contacts and their Evidence once, at the end.
type evidenceSet struct {
	caseID int64
	srcs   []presence // whom the hits overlapped
	via    bool       // the sources are close contacts: Evidence.Via is their owner
	// Where each contact is in cs: slots[resident]-1 for residents below
	// denseResidents (residents are numbered from 1, so a table indexed by
	// id is small and faster than a map), by otherwise.
	slots []int32
	by    map[int64]int32
	cs    []contactAcc
	hits  []hit
	seats []seat // the carriages and seats of hits on vehicles

	wide bool // some resident ids do not fit in 32 bits

	// contacts' room to order the contacts and group their hits
	keys           []uint64
	order, grouped []int32
}

// denseResidents bounds the resident ids an evidenceSet finds by table: 16
// million, 64 MB at most a set.
const denseResidents = 1 << 24

// contactAcc is a contact being gathered; start is where their hits begin
// once contacts has grouped them.
type contactAcc struct {
	resident, exposure int64
	start, n           int32
}

// hit is a check-in [in, out) of contact cs[contact] at place that
// overlapped srcs[src] over [from, to): an Evidence to be, whose kind and
// source times are the source's. seat indexes seats, or is -1.
type hit struct {
	src, contact, seat int32
	place              int64
	in, out, from, to  int64
}

// evidenceSets keeps the sets done with, their map and slices grown to the
// size of a secondary step: growing them again for every trace cost a
// tenth of its time.
var evidenceSets = sync.Pool{New: func() any { return &evidenceSet{by: map[int64]int32{}} }}

func newEvidenceSet(caseID int64, srcs []presence, via bool) *evidenceSet {
	set := evidenceSets.Get().(*evidenceSet)
	set.caseID, set.srcs, set.via = caseID, srcs, via
	return set
}

// release empties set and keeps it for another trace; set must not be
// used after.
func (set *evidenceSet) release() {
	for _, c := range set.cs {
		if uint64(c.resident) < denseResidents {
			set.slots[c.resident] = 0
		}
	}
	clear(set.by)
	*set = evidenceSet{by: set.by, slots: set.slots, cs: set.cs[:0], hits: set.hits[:0], seats: set.seats[:0],
		keys: set.keys, order: set.order, grouped: set.grouped}
	evidenceSets.Put(set)
}

// add keeps the check-in r of a contact, which overlapped srcs[src] over
// [from, to), the contact's overlap having begun at earliest (this one's
// or an earlier one's). The same check-in may be added twice (its stay
// overlapped two of the sources' probes): contacts keeps the better.
func (set *evidenceSet) add(resident int64, src int, r row, from, to, earliest int64) {
	k := set.contact(resident, earliest)
	set.cs[k].n++
	h := hit{src: int32(src), contact: k, seat: -1, place: set.srcs[src].place, in: r.in, out: r.out, from: from, to: to}
	if r.carriage != "" || r.seat != "" {
		h.seat = int32(len(set.seats))
		set.seats = append(set.seats, seat{r.carriage, r.seat})
	}
	set.hits = append(set.hits, h)
}

// contact returns the index of the resident's contactAcc, first exposed
// at earliest.
func (set *evidenceSet) contact(resident, earliest int64) int32 {
	if uint64(resident) < denseResidents {
		if int(resident) >= len(set.slots) {
			set.slots = slices.Concat(set.slots, make([]int32, min(max(int(resident)+1, 2*len(set.slots)), denseResidents)-len(set.slots)))
		}
		if k := set.slots[resident] - 1; k >= 0 {
			set.cs[k].exposure = min(set.cs[k].exposure, earliest)
			return k
		}
		set.slots[resident] = int32(len(set.cs)) + 1
		set.cs = append(set.cs, contactAcc{resident: resident, exposure: earliest})
		return int32(len(set.cs)) - 1
	}
	k, ok := set.by[resident]
	if !ok {
		k = int32(len(set.cs))
		set.by[resident] = k
		set.cs = append(set.cs, contactAcc{resident: resident, exposure: earliest})
		set.wide = set.wide || uint64(resident) > math.MaxUint32
		return k
	}
	set.cs[k].exposure = min(set.cs[k].exposure, earliest)
	return k
}

// merge adds what o found to set, and releases o; o must share set's
// sources.
func (set *evidenceSet) merge(o *evidenceSet) {
	ks := make([]int32, len(o.cs))
	for i, c := range o.cs {
		ks[i] = set.contact(c.resident, c.exposure)
		set.cs[ks[i]].n += c.n
	}
	for _, h := range o.hits {
		h.contact = ks[h.contact]
		if h.seat >= 0 {
			set.seats = append(set.seats, o.seats[h.seat])
			h.seat = int32(len(set.seats) - 1)
		}
		set.hits = append(set.hits, h)
	}
	o.release()
}

// contacts makes the contacts of the given kind, ordered by resident id,
// each with the best evidence for each of their check-ins, by time, and
// releases set.
func (set *evidenceSet) contacts(kind string) []Contact {
	defer set.release()
	// Order the contacts by resident id — sorting packed keys when the ids
	// fit — and group their hits in that order, in one pass.
	order := growTo(set.order, len(set.cs))
	if set.wide {
		for k := range order {
			order[k] = int32(k)
		}
		slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(set.cs[a].resident, set.cs[b].resident) })
	} else {
		keys := growTo(set.keys, len(set.cs))
		for k, c := range set.cs {
			keys[k] = uint64(c.resident)<<32 | uint64(k)
		}
		slices.Sort(keys)
		for i, key := range keys {
			order[i] = int32(uint32(key))
		}
		set.keys = keys
	}
	set.order = order
	next := int32(0)
	for _, k := range order {
		set.cs[k].start, next = next, next+set.cs[k].n
	}
	// Each contact's start serves as the cursor of their group, and ends
	// one group further on.
	grouped := growTo(set.grouped, len(set.hits))
	set.grouped = grouped
	for i, h := range set.hits {
		grouped[set.cs[h.contact].start] = int32(i)
		set.cs[h.contact].start++
	}
	for k := range set.cs {
		set.cs[k].start -= set.cs[k].n
	}
	out := make([]Contact, len(set.cs))
	slab := make([]Evidence, 0, len(set.hits))
	var seats []Seat // a hit's seat at most each: &seats[i] stays put
	if len(set.seats) > 0 {
		seats = make([]Seat, 0, len(set.seats))
	}
	for i, k := range order {
		c := set.cs[k]
		group := set.best(grouped[c.start : c.start+c.n])
		if len(group) > 1 {
			slices.SortFunc(group, set.compare)
		}
		from := len(slab)
		for _, j := range group {
			slab = append(slab, set.evidence(&set.hits[j], &seats))
		}
		out[i] = Contact{ResidentID: c.resident, Kind: kind, Case: set.caseID, Exposure: c.exposure,
			Evidence: slab[from:len(slab):len(slab)]}
	}
	return out
}

// best keeps, of the hits of one contact, the better of any two of the
// same check-in, in place; a contact has a few.
func (set *evidenceSet) best(group []int32) []int32 {
	kept := group[:0]
next:
	for _, j := range group {
		h := &set.hits[j]
		for x, k := range kept {
			if f := &set.hits[k]; set.sameCheckIn(h, f) {
				if set.better(h, f) {
					kept[x] = j
				}
				continue next
			}
		}
		kept = append(kept, j)
	}
	return kept
}

func (set *evidenceSet) sameCheckIn(h, f *hit) bool {
	return h.place == f.place && h.in == f.in && h.out == f.out && set.seatOf(h) == set.seatOf(f)
}

// better reports whether h is a better source for the same check-in than
// f: the longer overlap, then the earlier, then the source's owner (for a
// secondary contact) and check-in.
func (set *evidenceSet) better(h, f *hit) bool {
	hs, fs := &set.srcs[h.src], &set.srcs[f.src]
	var hv, fv int64
	if set.via {
		hv, fv = hs.owner, fs.owner
	}
	return cmp.Or(cmp.Compare(f.to-f.from, h.to-h.from), cmp.Compare(h.from, f.from), cmp.Compare(hv, fv),
		cmp.Compare(hs.in, fs.in), cmp.Compare(hs.out, fs.out)) < 0
}

// compare orders hits i and j as their evidence is shown: by the start of
// the overlap, then the check-in.
func (set *evidenceSet) compare(i, j int32) int {
	a, b := &set.hits[i], &set.hits[j]
	sa, sb := set.seatOf(a), set.seatOf(b)
	return cmp.Or(cmp.Compare(a.from, b.from), cmp.Compare(a.place, b.place),
		cmp.Compare(a.in, b.in), cmp.Compare(a.out, b.out), cmp.Compare(sa.carriage, sb.carriage), cmp.Compare(sa.seat, sb.seat))
}

func (set *evidenceSet) seatOf(h *hit) seat {
	if h.seat < 0 {
		return seat{}
	}
	return set.seats[h.seat]
}

// evidence makes h's Evidence, its seat in seats, which has room for it.
func (set *evidenceSet) evidence(h *hit, seats *[]Seat) Evidence {
	src := &set.srcs[h.src]
	e := Evidence{PlaceID: h.place, In: h.in, Out: h.out, SourceIn: src.in, SourceOut: src.out, From: h.from, To: h.to}
	if set.via {
		e.Via = src.owner
	}
	if h.seat >= 0 {
		st := set.seats[h.seat]
		*seats = append(*seats, Seat{Carriage: st.carriage, Number: st.seat})
		e.Seat = &(*seats)[len(*seats)-1]
	}
	return e
}

// growTo returns s with length n, reusing its memory if it can.
func growTo[E any](s []E, n int) []E {
	if cap(s) < n {
		return make([]E, n)
	}
	return s[:n]
}
