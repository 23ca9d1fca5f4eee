package tracing

import (
	"cmp"
	"maps"
	"slices"
)

// part is a set of check-ins in both of the index's orders: the open lists
// or a sealed block. The lists it returns are sorted by t_in and alias its
// storage (a check-out changes an entry in place).
type part interface {
	placeList(place uint32) []placeEntry
	personList(person uint32) []personEntry
}

// openPart holds the check-ins not sealed yet, in lists that grow.
type openPart struct {
	places map[uint32][]placeEntry
	people map[uint32][]personEntry
}

func (o *openPart) placeList(place uint32) []placeEntry    { return o.places[place] }
func (o *openPart) personList(person uint32) []personEntry { return o.people[person] }

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
	for k, es := range o.people {
		i := firstOf(es, t)
		switch {
		case i == len(es):
			delete(o.people, k)
		case i > 0:
			o.people[k] = slices.Clone(es[i:])
		}
	}
	return n
}

// block holds check-ins of one day, sealed: the entries of each place, and
// of each person, side by side in flat arrays outside the Go heap. The
// entries of places[i] are pe[placeAt[i]:placeAt[i+1]], likewise people.
type block struct {
	day              uint32
	places, placeAt  []uint32
	pe               []placeEntry
	people, personAt []uint32
	qe               []personEntry
	free             []func()
}

func (b *block) placeList(place uint32) []placeEntry {
	i, ok := slices.BinarySearch(b.places, place)
	if !ok {
		return nil
	}
	return b.pe[b.placeAt[i]:b.placeAt[i+1]]
}

func (b *block) personList(person uint32) []personEntry {
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
	people := slices.Sorted(maps.Keys(ix.open.people))
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
	b.places, b.placeAt, b.pe = sealLists(b, places, o.places, firstAt, lo, hi)
	b.people, b.personAt, b.qe = sealLists(b, people, o.people, firstOf, lo, hi)
	return b
}

// sealLists copies the entries of [lo, hi) of each key's list, keys in
// order, into arrays outside the heap whose release b keeps: the keys that
// have some, where each one's start, and the entries.
func sealLists[E any](b *block, keys []uint32, lists map[uint32][]E, first func([]E, uint32) int, lo, hi uint32) (ids, at []uint32, es []E) {
	span := func(l []E) (int, int) {
		i := first(l, lo)
		return i, i + first(l[i:], hi)
	}
	n, nKeys := 0, 0
	for _, k := range keys {
		if i, j := span(lists[k]); j > i {
			n, nKeys = n+j-i, nKeys+1
		}
	}
	var f [3]func()
	ids, f[0] = offHeap[uint32](nKeys)
	at, f[1] = offHeap[uint32](nKeys + 1)
	es, f[2] = offHeap[E](n)
	b.free = append(b.free, f[:]...)
	x, pos := 0, 0
	for _, k := range keys {
		l := lists[k]
		i, j := span(l)
		if i == j {
			continue
		}
		ids[x], at[x] = k, uint32(pos)
		pos += copy(es[pos:], l[i:j])
		x++
	}
	at[x] = uint32(pos)
	return ids, at, es
}

// firstOf is the index of the first person entry that began at t or later.
func firstOf(es []personEntry, t uint32) int {
	i, _ := slices.BinarySearchFunc(es, t, func(e personEntry, t uint32) int { return cmp.Compare(e.tin, t) })
	return i
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
	for _, es := range ix.open.people {
		open += int64(cap(es)) * 8
	}
	return sealed, open
}
