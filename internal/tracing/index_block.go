package tracing

import (
	"cmp"
	"maps"
	"slices"
)

// part is a set of check-ins in both of the index's orders: the open lists
// or a sealed block. The place lists it returns are sorted by t_in and
// alias its storage (a check-out changes an entry in place).
type part interface {
	placeList(place uint32) []placeEntry
}

// openPart holds the check-ins not sealed yet, in lists that grow: by
// place, a list each, sorted by t_in; by person, a chain each through one
// arena, newest first. Those of people are millions of short lists, so
// they hold no pointer for the garbage collector to follow: a slice each
// made every collection mark millions of objects (150–200 ms at 100
// million check-ins), and the traces that allocated meanwhile waited.
type openPart struct {
	places map[uint32][]placeEntry
	heads  map[uint32]int32 // a person's newest entry in pq
	pq     []openPerson
}

// openPerson is a check-in in its person's chain; the place's list holds
// the rest of it. prev is the person's entry before it, or -1.
type openPerson struct {
	place, tin uint32
	prev       int32
}

func newOpenPart() openPart {
	return openPart{places: map[uint32][]placeEntry{}, heads: map[uint32]int32{}}
}

// addPerson adds a check-in to the person's chain.
func (o *openPart) addPerson(person, place, tin uint32) {
	prev, ok := o.heads[person]
	if !ok {
		prev = -1
	}
	o.heads[person] = int32(len(o.pq))
	o.pq = append(o.pq, openPerson{place, tin, prev})
}

// personEntries calls fn with each of the person's open check-ins and how
// many identical ones (the same place and time) came before it in the
// chain.
func (o *openPart) personEntries(person uint32, fn func(e openPerson, twin int)) {
	head, ok := o.heads[person]
	if !ok {
		return
	}
	for i := head; i >= 0; i = o.pq[i].prev {
		e, twin := o.pq[i], 0
		for j := head; j != i; j = o.pq[j].prev {
			if o.pq[j].place == e.place && o.pq[j].tin == e.tin {
				twin++
			}
		}
		fn(e, twin)
	}
}

func (o *openPart) placeList(place uint32) []placeEntry { return o.places[place] }

// trim drops the entries that began before t and returns how many.
func (o *openPart) trim(t uint32) int {
	n := 0
	for k, es := range o.places {
		i := firstAt(es, t)
		n += i
		switch {
		case i == len(es):
			delete(o.places, k)
		case i > 0:
			o.places[k] = slices.Clone(es[i:]) // let the front's memory go
		}
	}
	// The people's chains are copied into a new arena, oldest entry first,
	// without those that began before t.
	pq, heads := make([]openPerson, 0, len(o.pq)-n), make(map[uint32]int32, len(o.heads))
	var kept []openPerson
	for person, head := range o.heads {
		kept = kept[:0]
		for i := head; i >= 0; i = o.pq[i].prev {
			if o.pq[i].tin >= t {
				kept = append(kept, o.pq[i])
			}
		}
		prev := int32(-1)
		for _, e := range slices.Backward(kept) {
			e.prev, prev = prev, int32(len(pq))
			pq = append(pq, e)
		}
		if prev >= 0 {
			heads[person] = prev
		}
	}
	o.pq, o.heads = pq, heads
	return n
}

// block holds check-ins of one day, sealed: the entries of each place, and
// of each person, side by side in flat arrays outside the Go heap. The
// entries of places[i] are pe[placeAt[i]:placeAt[i+1]], sorted by t_in;
// those of people[i] are qe[personAt[i]:personAt[i+1]], each naming its
// entry in pe, in no order.
type block struct {
	day              uint32
	places, placeAt  []uint32
	pe               []placeEntry
	people, personAt []uint32
	qe               []personRef
	free             []func()
}

// personRef is a check-in in its person's list of a block: its place, and
// where its entry is in the block's pe.
type personRef struct{ place, at uint32 }

func (b *block) placeList(place uint32) []placeEntry {
	i, ok := slices.BinarySearch(b.places, place)
	if !ok {
		return nil
	}
	return b.pe[b.placeAt[i]:b.placeAt[i+1]]
}

func (b *block) personList(person uint32) []personRef {
	i, ok := slices.BinarySearch(b.people, person)
	if !ok {
		return nil
	}
	return b.qe[b.personAt[i]:b.personAt[i+1]]
}

// release returns the block's memory; it must not be read after.
func (b *block) release() {
	for _, f := range b.free {
		f()
	}
	*b = block{day: b.day}
}

// eachPart calls fn with every part that may hold check-ins that began in
// [lo, hi): the blocks of those days, then the open lists.
func (ix *Index) eachPart(lo, hi uint32, fn func(part)) {
	i, _ := slices.BinarySearchFunc(ix.blocks, lo/day, func(b *block, d uint32) int { return cmp.Compare(b.day, d) })
	for ; i < len(ix.blocks) && ix.blocks[i].day*day < hi; i++ {
		fn(ix.blocks[i])
	}
	fn(&ix.open)
}

// seal moves the open check-ins of the days before cutDay into blocks, one
// for each day that has some.
func (ix *Index) seal(cutDay uint32) {
	var days []uint32
	for d := range ix.unsealed {
		if d < cutDay {
			days = append(days, d)
		}
	}
	if len(days) == 0 {
		return
	}
	slices.Sort(days)
	places := slices.Sorted(maps.Keys(ix.open.places))
	people := slices.Sorted(maps.Keys(ix.open.heads))
	for _, d := range days {
		ix.blocks = append(ix.blocks, sealDay(d, places, people, &ix.open))
		delete(ix.unsealed, d)
	}
	slices.SortStableFunc(ix.blocks, func(a, b *block) int { return cmp.Compare(a.day, b.day) })
	ix.open.trim(cutDay * day)
}

// sealDay builds the block of day d's open check-ins; places and people
// are the open lists' keys, sorted.
func sealDay(d uint32, places, people []uint32, o *openPart) *block {
	lo, hi := d*day, (d+1)*day
	b := &block{day: d}
	b.sealPlaces(places, o.places, lo, hi)
	b.sealPeople(people, o, lo, hi)
	return b
}

// sealPeople builds the block's lists by person from its lists by place,
// each entry naming the place entry it is: people are the open chains'
// keys, sorted, which tell how many entries each person has in [lo, hi).
// Naming the entry spares a search of the place's list for every check-in
// a trace reads by person.
func (b *block) sealPeople(people []uint32, o *openPart, lo, hi uint32) {
	var ids, at []uint32
	n := 0
	for _, k := range people {
		m := 0
		for i := o.heads[k]; i >= 0; i = o.pq[i].prev {
			if t := o.pq[i].tin; t >= lo && t < hi {
				m++
			}
		}
		if m > 0 {
			ids, at = append(ids, k), append(at, uint32(n))
			n += m
		}
	}
	at = append(at, uint32(n))
	var f [3]func()
	b.people, f[0] = offHeap[uint32](len(ids))
	b.personAt, f[1] = offHeap[uint32](len(at))
	b.qe, f[2] = offHeap[personRef](n)
	b.free = append(b.free, f[:]...)
	copy(b.people, ids)
	copy(b.personAt, at)
	// Where each person is in ids: by a dense table when the ids are
	// dense (residents are numbered from 1), by search otherwise.
	slot := func(r uint32) int { i, _ := slices.BinarySearch(ids, r); return i }
	if len(ids) > 0 && int(ids[len(ids)-1]) < 8*len(ids)+1<<16 {
		dense := make([]int32, ids[len(ids)-1]+1)
		for i, r := range ids {
			dense[r] = int32(i)
		}
		slot = func(r uint32) int { return int(dense[r]) }
	}
	// at, copied to personAt, serves as each person's cursor.
	for pi, place := range b.places {
		for pos := b.placeAt[pi]; pos < b.placeAt[pi+1]; pos++ {
			i := slot(b.pe[pos].resident)
			b.qe[at[i]] = personRef{place, pos}
			at[i]++
		}
	}
}

// sealPlaces copies the entries of [lo, hi) of each place's list, places
// in order, into the block's arrays outside the heap: the places that have
// some, where each one's start, and the entries.
func (b *block) sealPlaces(places []uint32, lists map[uint32][]placeEntry, lo, hi uint32) {
	span := func(l []placeEntry) (int, int) {
		i := firstAt(l, lo)
		return i, i + firstAt(l[i:], hi)
	}
	n, nKeys := 0, 0
	for _, k := range places {
		if i, j := span(lists[k]); j > i {
			n, nKeys = n+j-i, nKeys+1
		}
	}
	var f [3]func()
	b.places, f[0] = offHeap[uint32](nKeys)
	b.placeAt, f[1] = offHeap[uint32](nKeys + 1)
	b.pe, f[2] = offHeap[placeEntry](n)
	b.free = append(b.free, f[:]...)
	x, pos := 0, 0
	for _, k := range places {
		l := lists[k]
		i, j := span(l)
		if i == j {
			continue
		}
		b.places[x], b.placeAt[x] = k, uint32(pos)
		pos += copy(b.pe[pos:], l[i:j])
		x++
	}
	b.placeAt[x] = uint32(pos)
}

// Bytes is the memory the index holds: its sealed blocks (outside the Go
// heap), and its open lists as allocated (their entries and room to grow).
func (ix *Index) Bytes() (sealed, open int64) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	for _, b := range ix.blocks {
		sealed += int64(len(b.pe))*12 + int64(len(b.qe))*8 + int64(len(b.places)+len(b.placeAt)+len(b.people)+len(b.personAt))*4
	}
	for _, es := range ix.open.places {
		open += int64(cap(es)) * 12
	}
	open += int64(cap(ix.open.pq)) * 12
	return sealed, open
}
