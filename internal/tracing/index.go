package tracing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/outbreak-platform/outbreak/internal/db"
)

// Index keeps every check-in of the store in memory, in the two orders the
// tracer reads — by place and time, by person and time — so that tracing a
// case reads no page from disk. The current day's check-ins are open:
// lists per place and per person that grow as check-ins arrive. Older days
// are sealed into blocks, one a day: flat arrays outside the Go heap, 20
// bytes a check-in and nothing to spare (2 GB for 100 million), which the
// garbage collector neither scans nor counts. A check-in that arrives
// late for a sealed day waits in the open lists and is sealed into a
// block of its own at the next day's turn.
//
// The store feeds it: Ingest adds the rows it inserted, CheckOut changes a
// stay's end, Purge drops whole days. It is sound only where every write
// to the check-ins goes through this process's Store — one node on the
// embedded SQLite store — which is why the server offers it there only.
// Load reads what the store held before; writes arriving meanwhile are
// held and applied after it, and until it is done (or when it has failed)
// the tracer reads the store.
//
// Resident and place ids must fit in 32 bits, times lie before 2106 (the
// store refuses later ones), and a stay lasts less than 2^31 seconds; a
// check-in outside those bounds breaks the index, and the tracer reads
// the store from then on.
type Index struct {
	mu   sync.RWMutex
	open openPart
	// unsealed holds the days (unix seconds / 86400) that have open
	// check-ins; lastDay is the latest day seen. blocks are by day.
	unsealed map[uint32]bool
	lastDay  uint32
	blocks   []*block
	// seats holds the carriage and seat of the check-ins that have one
	// (vehicles): few, so a map rather than a field of every entry.
	seats map[seatKey]seat
	n     int

	// While Load runs, the store's writes wait here; loaded says it is done.
	loading bool
	pending []indexOp
	loaded  atomic.Bool
	err     atomic.Pointer[error]
}

// placeEntry is a check-in in its place's list. dur is t_out - t_in, its
// top bit set when the check-in has a carriage or a seat.
type placeEntry struct{ resident, tin, dur uint32 }

type seatKey struct{ place, resident, tin uint32 }

type seat struct{ carriage, seat string }

const seated = 1 << 31

// indexOp is a write held while the index loads: rows inserted (ids
// given), a check-out, or a purge.
type indexOp struct {
	rows     []indexedRow
	checkOut *indexCheckOut
	purge    int64
}

type indexedRow struct {
	id int64
	c  CheckIn
}

type indexCheckOut struct{ resident, place, tin, oldOut, out int64 }

// NewIndex returns an empty index that has yet to Load the store.
func NewIndex() *Index {
	ix := &Index{loading: true}
	ix.empty()
	return ix
}

// empty makes the index hold nothing; ix.mu must be held once it is shared.
func (ix *Index) empty() {
	ix.open = newOpenPart()
	ix.unsealed, ix.seats = map[uint32]bool{}, map[seatKey]seat{}
	ix.blocks, ix.pending, ix.n = nil, nil, 0
}

// Ready reports whether the index holds the store's check-ins and can
// answer the tracer.
func (ix *Index) Ready() bool { return ix != nil && ix.loaded.Load() && ix.err.Load() == nil }

// Err is why the index stopped following the store, if it did.
func (ix *Index) Err() error {
	if p := ix.err.Load(); p != nil {
		return *p
	}
	return nil
}

// Len is how many check-ins the index holds.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.n
}

func (ix *Index) fail(err error) {
	err = fmt.Errorf("tracing: in-memory index: %w", err)
	ix.err.CompareAndSwap(nil, &err)
}

// errIndexRange is a check-in the index cannot hold.
var errIndexRange = errors.New("a check-in outside the index's bounds (ids or times beyond 32 bits)")

// loadChunk is how many rows Load reads between taking the lock, and
// loaded is called after each (variables for the tests).
var (
	loadChunk      = 100000
	afterLoadChunk = func() {}
)

// Load reads the check-ins the store d holds into the index. The store's
// writes may go on meanwhile (Store.UseIndex first): those that commit
// after Load has begun reading are applied when it is done. On SQLite a
// row's id grows with the order of commits (one writer), which is what
// tells the rows Load reads from those it is given; so Load refuses
// PostgreSQL.
func (ix *Index) Load(ctx context.Context, d *db.DB) (err error) {
	defer func() {
		if err != nil {
			ix.fail(err)
			err = ix.Err()
			ix.mu.Lock()
			ix.release()
			ix.mu.Unlock()
		}
	}()
	if d.Dialect != db.SQLite {
		return errors.New("only on the embedded SQLite store (one node)")
	}
	var top int64
	if err := db.Get(ctx, d.R, &top, "SELECT COALESCE(max(id), 0) FROM checkins"); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	// One goroutine reads the next chunk from the store while this one
	// puts the last in the index: the two take about as long.
	type chunk struct {
		rows []CheckIn
		err  error
	}
	chunks := make(chan chunk, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(chunks)
		for after := int64(0); after < top; {
			var c chunk
			c.rows, after, c.err = loadRows(ctx, d, after, top)
			select {
			case chunks <- c:
			case <-ctx.Done():
				return
			}
			if c.err != nil || len(c.rows) == 0 {
				return
			}
		}
	}()
	for c := range chunks {
		if c.err != nil {
			return fmt.Errorf("load: %w", c.err)
		}
		if len(c.rows) == 0 {
			break
		}
		ix.mu.Lock()
		for i := range c.rows {
			if !ix.put(&c.rows[i]) {
				ix.mu.Unlock()
				return errIndexRange
			}
		}
		ix.mu.Unlock()
		afterLoadChunk()
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.loading = false
	for _, op := range ix.pending {
		ix.apply(op, top)
	}
	ix.pending = nil
	ix.loaded.Store(true)
	return nil
}

// loadRows reads the next loadChunk check-ins with ids in (after, top],
// and returns them and the last id read.
func loadRows(ctx context.Context, d *db.DB, after, top int64) ([]CheckIn, int64, error) {
	rows, err := d.R.QueryContext(ctx, `SELECT id, resident_id, place_id, t_in, t_out, COALESCE(carriage, ''), COALESCE(seat, '')
		FROM checkins WHERE id > ? AND id <= ? ORDER BY id LIMIT ?`, after, top, loadChunk)
	if err != nil {
		return nil, after, err
	}
	defer rows.Close()
	batch := make([]CheckIn, 0, loadChunk)
	for rows.Next() {
		var c CheckIn
		if err := rows.Scan(&after, &c.ResidentID, &c.PlaceID, &c.TIn, &c.TOut, &c.Carriage, &c.Seat); err != nil {
			return nil, after, err
		}
		batch = append(batch, c)
	}
	return batch, after, rows.Err()
}

// added takes the rows the store inserted, with their ids.
func (ix *Index) added(rows []indexedRow) {
	if len(rows) > 0 {
		ix.do(indexOp{rows: rows})
	}
}

// checkedOut moves the end of a stay from oldOut to out.
func (ix *Index) checkedOut(resident, place, tin, oldOut, out int64) {
	ix.do(indexOp{checkOut: &indexCheckOut{resident, place, tin, oldOut, out}})
}

// purged drops the check-ins that began before cut.
func (ix *Index) purged(cut int64) { ix.do(indexOp{purge: cut}) }

func (ix *Index) do(op indexOp) {
	if ix == nil || ix.err.Load() != nil {
		return
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.loading {
		ix.pending = append(ix.pending, op)
		return
	}
	ix.apply(op, 0)
	if ix.err.Load() != nil {
		ix.release()
	}
}

// release lets go of everything the index holds, once it has stopped;
// ix.mu must be held.
func (ix *Index) release() {
	for _, b := range ix.blocks {
		b.release()
	}
	ix.empty()
}

// apply makes one write; rows with an id up to loadedTop came with Load.
func (ix *Index) apply(op indexOp, loadedTop int64) {
	switch {
	case op.rows != nil:
		for i := range op.rows {
			if op.rows[i].id > loadedTop && !ix.put(&op.rows[i].c) {
				ix.fail(errIndexRange)
				return
			}
		}
	case op.checkOut != nil:
		ix.checkOut(op.checkOut)
	default:
		ix.purge(op.purge)
	}
}

func fits32(v int64) bool { return v >= 0 && v <= math.MaxUint32 }

// put adds a check-in to the open lists, in time order (at the end when
// it is the latest, as it nearly always is). The first check-in of a new
// day seals the days before it.
func (ix *Index) put(c *CheckIn) bool {
	dur := c.TOut - c.TIn
	if !fits32(c.ResidentID) || !fits32(c.PlaceID) || !fits32(c.TIn) || dur <= 0 || dur >= seated {
		return false
	}
	place, resident, tin := uint32(c.PlaceID), uint32(c.ResidentID), uint32(c.TIn)
	pe := placeEntry{resident: resident, tin: tin, dur: uint32(dur)}
	if c.Carriage != "" || c.Seat != "" {
		pe.dur |= seated
		ix.seats[seatKey{place, resident, tin}] = seat{c.Carriage, c.Seat}
	}
	ix.open.places[place] = insertByTime(ix.open.places[place], pe, func(e placeEntry) uint32 { return e.tin })
	ix.open.addPerson(resident, place, tin)
	ix.n++
	d := tin / day
	ix.unsealed[d] = true
	if d > ix.lastDay {
		// Only the current day stays open. A check-out of a sealed stay
		// changes it in place; a check-in that comes late for a sealed day
		// waits in the open lists for the next day's turn.
		ix.lastDay = d
		ix.seal(d)
	}
	return true
}

// insertByTime inserts e after every entry that began no later.
func insertByTime[E any](es []E, e E, tin func(E) uint32) []E {
	t := tin(e)
	if len(es) == 0 || tin(es[len(es)-1]) <= t {
		return append(es, e)
	}
	i, _ := slices.BinarySearchFunc(es, t+1, func(x E, t uint32) int { return cmp.Compare(tin(x), t) })
	return slices.Insert(es, i, e)
}

// checkOut finds the check-in and moves its end. Of identical check-ins
// (the same person, place and times) it changes one, as the store does.
func (ix *Index) checkOut(co *indexCheckOut) {
	oldDur, dur := co.oldOut-co.tin, co.out-co.tin
	if !fits32(co.tin) || !fits32(co.place) || dur <= 0 || dur >= seated {
		ix.fail(errIndexRange)
		return
	}
	tin := uint32(co.tin)
	done := false
	ix.eachPart(tin, tin+1, func(p part) {
		es := p.placeList(uint32(co.place))
		for i := firstAt(es, tin); !done && i < len(es) && es[i].tin == tin; i++ {
			if e := &es[i]; e.resident == uint32(co.resident) && int64(e.dur&^seated) == oldDur {
				e.dur = e.dur&seated | uint32(dur)
				done = true
			}
		}
	})
}

// purge drops the check-ins that began before cut, a UTC midnight (the
// store purges whole days): the blocks of the days before it, and the
// front of each open list.
func (ix *Index) purge(cut int64) {
	if cut <= 0 {
		return
	}
	t := clamp32(cut)
	ix.blocks = slices.DeleteFunc(ix.blocks, func(b *block) bool {
		if b.day >= t/day {
			return false
		}
		ix.n -= len(b.pe)
		b.release()
		return true
	})
	ix.n -= ix.open.trim(t)
	for d := range ix.unsealed {
		if d < t/day {
			delete(ix.unsealed, d)
		}
	}
	for k := range ix.seats {
		if k.tin < t {
			delete(ix.seats, k)
		}
	}
}

// firstAt is the index of the first entry that began at t or later.
func firstAt(es []placeEntry, t uint32) int {
	i, _ := slices.BinarySearchFunc(es, t, func(e placeEntry, t uint32) int { return cmp.Compare(e.tin, t) })
	return i
}

// query answers the tracer's probes as the store's queries do (see
// Tracer.query1); like PostgreSQL, it leaves the residents to skip to the
// caller.
func (ix *Index) query(kind probeKind, probes []probe, fn func(int, row)) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	for i, p := range probes {
		if !fits32(p.key) {
			continue
		}
		lo, hi := clamp32(p.lo), clamp32(p.b)
		if kind == residentProbe {
			ix.ofPerson(uint32(p.key), lo, hi, p.a, func(r row) { fn(i, r) })
			continue
		}
		ix.eachPart(lo, hi, func(pt part) {
			es := pt.placeList(uint32(p.key))
			for j := firstAt(es, lo); j < len(es) && es[j].tin < hi; j++ {
				e := es[j]
				in, out := int64(e.tin), int64(e.tin)+int64(e.dur&^seated)
				if out <= p.a || min(out, p.b)-max(in, p.a) < p.thr {
					continue
				}
				r := row{resident: int64(e.resident), in: in, out: out}
				if p.seated {
					ix.seatOf(&r, uint32(p.key), e)
				}
				fn(i, r)
			}
		})
	}
}

// ofPerson calls fn with the person's check-ins that began in [lo, hi)
// and ended after a.
func (ix *Index) ofPerson(person, lo, hi uint32, a int64, fn func(row)) {
	each := func(place uint32, e placeEntry) {
		if e.tin < lo || e.tin >= hi {
			return
		}
		if in, out := int64(e.tin), int64(e.tin)+int64(e.dur&^seated); out > a {
			r := row{place: int64(place), in: in, out: out}
			ix.seatOf(&r, place, e)
			fn(r)
		}
	}
	ix.eachPart(lo, hi, func(pt part) {
		if b, ok := pt.(*block); ok {
			for _, q := range b.personList(person) {
				each(q.place, b.pe[q.at])
			}
			return
		}
		ix.open.personEntries(person, func(e openPerson, nth int) {
			// Identical check-ins (the same place and time twice) map to
			// successive entries of the place's list: the nth to the nth.
			ps := ix.open.places[e.place]
			for j := firstAt(ps, e.tin); j < len(ps) && ps[j].tin == e.tin; j++ {
				if ps[j].resident != person {
					continue
				}
				if nth > 0 {
					nth--
					continue
				}
				each(e.place, ps[j])
				break
			}
		})
	})
}

// seatOf sets r's carriage and seat from those of check-in e at place, if
// it has them.
func (ix *Index) seatOf(r *row, place uint32, e placeEntry) {
	if e.dur&seated != 0 {
		s := ix.seats[seatKey{place, e.resident, e.tin}]
		r.carriage, r.seat = s.carriage, s.seat
	}
}

func clamp32(v int64) uint32 { return uint32(min(max(v, 0), math.MaxUint32)) }
