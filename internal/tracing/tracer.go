package tracing

import (
	"cmp"
	"context"
	"errors"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/outbreak-platform/outbreak/internal/db"
	"golang.org/x/sync/errgroup"
)

// Tracer finds the contacts of cases in the check-ins.
type Tracer struct {
	d      *db.DB
	places Places
	policy Policy
	index  *Index
	// kinds and def are the policy's, for presences to point at: a
	// slow trace holds hundreds of thousands of them.
	kinds map[Kind]*KindPolicy
	def   *KindPolicy
}

// NewTracer returns a tracer reading the check-ins in d under policy p.
func NewTracer(d *db.DB, places Places, p Policy) (*Tracer, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	t := &Tracer{d: d, places: places, policy: p, kinds: make(map[Kind]*KindPolicy, len(p.Kinds)), def: new(p.Default)}
	for k, kp := range p.Kinds {
		t.kinds[k] = new(kp)
	}
	return t, nil
}

// kindPolicy is policy.For(k), shared.
func (t *Tracer) kindPolicy(k Kind) *KindPolicy {
	if kp, ok := t.kinds[k]; ok {
		return kp
	}
	return t.def
}

// WithIndex makes t read the check-ins from ix whenever ix is ready, and
// from the store otherwise; it returns t.
func (t *Tracer) WithIndex(ix *Index) *Tracer {
	t.index = ix
	return t
}

// Case is a case to trace.
type Case struct {
	ResidentID int64 `json:"resident_id"`
	// From and Until bound the infectious window (Policy.InfectiousWindow).
	From  int64 `json:"from"`
	Until int64 `json:"until"`
	// QuarantineAt is when the close contacts are quarantined — usually the
	// time of tracing. A close contact's window for secondary contacts runs
	// from their first exposure to it.
	QuarantineAt int64 `json:"quarantine_at"`
}

// Contact kinds, as the health-code rules read them.
const (
	Close     = "close"
	Secondary = "secondary"
)

// Contact is a person found by tracing, with the evidence.
type Contact struct {
	ResidentID int64  `json:"resident_id"`
	Kind       string `json:"kind"` // Close or Secondary
	// Case is the case traced; the caller shows it as a pseudonym.
	Case int64 `json:"case"`
	// Exposure is the start of the earliest overlap (of any source's
	// check-in, shown in the evidence or not).
	Exposure int64      `json:"exposure"`
	Evidence []Evidence `json:"evidence"`
}

// Evidence is a check-in of the contact that overlapped a source — the
// case or, for a secondary contact, a close contact — long enough under
// the place kind's rule. A contact has one Evidence per such check-in;
// when it overlapped several sources' check-ins, the one shown is the
// longest overlap (then the earliest, then the lowest resident id).
//
// A secondary step finds hundreds of thousands, so an Evidence holds only
// what is its own: the case is the Contact's, the kind of place follows
// from the place, and a seat is rare.
type Evidence struct {
	// Via is, for a secondary contact, the close contact they met; 0 for a
	// close contact.
	Via     int64 `json:"via,omitempty"`
	PlaceID int64 `json:"place_id"`
	// In and Out are the contact's check-in; SourceIn and SourceOut the
	// source's.
	In        int64 `json:"in"`
	Out       int64 `json:"out"`
	SourceIn  int64 `json:"source_in"`
	SourceOut int64 `json:"source_out"`
	// From and To bound the overlap, within the source's window.
	From int64 `json:"from"`
	To   int64 `json:"to"`
	// Seat is the contact's carriage and seat on a vehicle, when they gave
	// one.
	Seat *Seat `json:"seat,omitempty"`
}

// Seat is where a passenger sat.
type Seat struct {
	Carriage string `json:"carriage,omitempty"`
	Number   string `json:"number,omitempty"`
}

// OverlapMinutes is the overlap in whole minutes.
func (e Evidence) OverlapMinutes() int { return int((e.To - e.From) / 60) }

// Result is what tracing a case found.
type Result struct {
	Case Case `json:"case"`
	// Stays counts the case's check-ins in the infectious window, at kinds
	// of place not excluded.
	Stays     int       `json:"stays"`
	Close     []Contact `json:"close"`
	Secondary []Contact `json:"secondary"`
}

// ErrInvalidCase means a case's window is empty or its quarantine precedes it.
var ErrInvalidCase = errors.New("tracing: invalid case")

// presence is a check-in of a source (the case or a close contact) clipped
// to the source's window [a, b).
type presence struct {
	owner          int64
	place          int64
	kp             *KindPolicy
	kind           Kind
	in, out        int64
	a, b           int64
	carriage, seat string
}

// window is a person's time window [a, b).
type window struct {
	owner int64
	a, b  int64
}

// Trace finds the close and secondary contacts of c.
func (t *Tracer) Trace(ctx context.Context, c Case) (Result, error) {
	defer t.d.Observe("tracing.trace", time.Now())
	return t.trace(ctx, c, true)
}

// TraceClose finds the close contacts of c only: the first, fast step
// when a case is confirmed (their codes turn red); Trace then finds the
// secondary contacts too.
func (t *Tracer) TraceClose(ctx context.Context, c Case) (Result, error) {
	defer t.d.Observe("tracing.trace_close", time.Now())
	return t.trace(ctx, c, false)
}

func (t *Tracer) trace(ctx context.Context, c Case, secondary bool) (Result, error) {
	if c.ResidentID <= 0 || c.Until <= c.From || c.QuarantineAt < c.From {
		return Result{}, ErrInvalidCase
	}
	res := Result{Case: c}
	srcs, err := t.presences(ctx, []window{{c.ResidentID, c.From, c.Until}})
	if err != nil {
		return res, wrap("trace: case's check-ins", err)
	}
	res.Stays = len(srcs)
	closeEv, err := t.collect(ctx, c.ResidentID, srcs, []int64{c.ResidentID}, false)
	if err != nil {
		return res, wrap("trace: close contacts", err)
	}
	res.Close = closeEv.contacts(Close)
	if !secondary {
		return res, nil
	}
	known := make([]int64, 0, len(res.Close)+1)
	known = append(known, c.ResidentID)
	for _, ct := range res.Close {
		known = append(known, ct.ResidentID)
	}
	slices.Sort(known)

	// Secondary: whom each close contact met from their first exposure to
	// their quarantine.
	wins := make([]window, 0, len(res.Close))
	for _, ct := range res.Close {
		if ct.Exposure < c.QuarantineAt {
			wins = append(wins, window{ct.ResidentID, ct.Exposure, c.QuarantineAt})
		}
	}
	if len(wins) == 0 {
		return res, nil
	}
	srcs, err = t.presences(ctx, wins)
	if err != nil {
		return res, wrap("trace: close contacts' check-ins", err)
	}
	srcs = slices.DeleteFunc(srcs, func(p presence) bool { return p.kp.NoSecondary })
	secEv, err := t.collect(ctx, c.ResidentID, srcs, known, true)
	if err != nil {
		return res, wrap("trace: secondary contacts", err)
	}
	res.Secondary = secEv.contacts(Secondary)
	return res, nil
}

// collect finds whom the presences met (meet) and keeps the evidence; via
// says the presences are close contacts' (Evidence.Via). When the index
// answers and the presences are many, two halves, split between places,
// run side by side, each into its own set, merged at the end: with the
// index, tracing is bound by the evidence it builds, not by reading.
func (t *Tracer) collect(ctx context.Context, caseID int64, srcs []presence, skip []int64, via bool) (*evidenceSet, error) {
	// run finds whom srcs[lo:hi] met, into a set of its own.
	run := func(ctx context.Context, lo, hi int) (*evidenceSet, error) {
		set := newEvidenceSet(caseID, srcs, via)
		err := t.meet(ctx, srcs[lo:hi], skip, func(src int, r row, from, to, earliest int64) {
			set.add(r.resident, lo+src, r, from, to, earliest)
		})
		return set, err
	}
	if len(srcs) < splitProbes || runtime.GOMAXPROCS(0) < 2 || !t.index.Ready() {
		return run(ctx, 0, len(srcs))
	}
	slices.SortFunc(srcs, func(x, y presence) int { return cmp.Compare(x.place, y.place) })
	half := len(srcs) / 2
	for half < len(srcs) && srcs[half].place == srcs[half-1].place {
		half++
	}
	var sets [2]*evidenceSet
	g, gctx := errgroup.WithContext(ctx)
	for h, bounds := range [2][2]int{{0, half}, {half, len(srcs)}} {
		g.Go(func() (err error) {
			sets[h], err = run(gctx, bounds[0], bounds[1])
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sets[0].merge(sets[1])
	return sets[0], nil
}

// BatchOptions tune TraceAll.
type BatchOptions struct {
	// Parallel is how many traces run at a time; the number of CPUs when 0.
	Parallel int
	// CloseOnly finds close contacts only (TraceClose).
	CloseOnly bool
}

// TraceAll traces the cases and hands each result to fn with the index of
// its case as soon as it is ready, one call at a time, so that a large
// batch is never held in memory at once. It stops at the first error of a
// trace or of fn.
func (t *Tracer) TraceAll(ctx context.Context, cases []Case, o BatchOptions, fn func(i int, r Result) error) error {
	trace := t.Trace
	if o.CloseOnly {
		trace = t.TraceClose
	}
	var mu sync.Mutex // serialises fn
	return parallel(ctx, len(cases), o.Parallel, func(ctx context.Context, i int) error {
		r, err := trace(ctx, cases[i])
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		return fn(i, r)
	})
}

// presences reads the check-ins overlapping each window, clipped to it,
// leaving out those at excluded kinds of place.
func (t *Tracer) presences(ctx context.Context, wins []window) ([]presence, error) {
	longest := secs(t.policy.LongestStay())
	probes := make([]probe, len(wins))
	for i, w := range wins {
		probes[i] = probe{key: w.owner, lo: w.a - longest, a: w.a, b: w.b}
	}
	var out []presence
	err := t.query(ctx, residentProbe, probes, nil, func(i int, r row) {
		w := wins[i]
		out = append(out, presence{owner: w.owner, place: r.place, in: r.in, out: r.out,
			a: max(r.in, w.a), b: min(r.out, w.b), carriage: r.carriage, seat: r.seat})
	})
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(out))
	for i := range out {
		ids[i] = out[i].place
	}
	slices.Sort(ids)
	kinds, err := t.places.Kinds(ctx, slices.Compact(ids))
	if err != nil {
		return nil, err
	}
	kept := out[:0]
	for _, p := range out {
		p.kind = kinds[p.place]
		p.kp = t.kindPolicy(p.kind)
		if !p.kp.Excluded {
			kept = append(kept, p)
		}
	}
	return kept, nil
}

// meet finds, for every presence, the check-ins at its place of people
// not in skip (sorted) that overlap it long enough under the place kind's
// rule. The presences at one place are merged into as few time ranges as
// overlap, and each range is one probe of the (place_id, t_in) index,
// bounded below by the kind's longest stay. For each check-in found, found
// is called once: with the presence it overlapped best (as
// evidenceSet.better orders them), that overlap, and the start of the
// earliest overlap with any of them (the contact's exposure).
func (t *Tracer) meet(ctx context.Context, srcs []presence, skip []int64, found func(src int, r row, from, to, earliest int64)) error {
	order := make([]int, len(srcs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int {
		return cmp.Or(cmp.Compare(srcs[x].place, srcs[y].place), cmp.Compare(srcs[x].a, srcs[y].a))
	})
	var (
		probes []probe
		groups [][]int // the presences each probe covers, by start
	)
	for _, i := range order {
		s := &srcs[i]
		if n := len(probes); n > 0 && probes[n-1].key == s.place && s.a <= probes[n-1].b {
			probes[n-1].b = max(probes[n-1].b, s.b)
			groups[n-1] = append(groups[n-1], i)
			continue
		}
		seated := s.kp.Rule != SamePlace // vehicles: carriages and seats, for the rule and the evidence
		probes = append(probes, probe{key: s.place, lo: s.a - secs(s.kp.MaxStay), a: s.a, b: s.b, thr: s.kp.minOverlap(), seated: seated})
		groups = append(groups, []int{i})
	}
	return t.query(ctx, placeProbe, probes, skip, func(p int, r row) {
		if _, skipped := slices.BinarySearch(skip, r.resident); skipped {
			return
		}
		var (
			best               = -1
			from, to, earliest int64
		)
		for _, i := range groups[p] {
			s := &srcs[i]
			if s.a >= r.out {
				break // this presence and the later ones start after the check-in
			}
			f, u := max(s.a, r.in), min(s.b, r.out)
			if u-f < s.kp.minOverlap() || !s.kp.sameSpace(s.carriage, s.seat, r.carriage, r.seat) {
				continue
			}
			if best < 0 {
				best, from, to, earliest = i, f, u, f
				continue
			}
			earliest = min(earliest, f)
			b := &srcs[best]
			if cmp.Or(cmp.Compare(to-from, u-f), cmp.Compare(f, from), cmp.Compare(s.owner, b.owner),
				cmp.Compare(s.in, b.in), cmp.Compare(s.out, b.out)) < 0 {
				best, from, to = i, f, u
			}
		}
		if best >= 0 {
			found(best, r, from, to, earliest)
		}
	})
}

// sameSpace applies the kind's rule of carriages and seats.
func (kp KindPolicy) sameSpace(carriage1, seat1, carriage2, seat2 string) bool {
	switch kp.Rule {
	case SameCarriage:
		if carriage1 == "" || carriage2 == "" {
			return kp.UnknownSeatIsContact
		}
		return carriage1 == carriage2
	case NearbyRows:
		r1, ok1 := SeatRow(seat1)
		r2, ok2 := SeatRow(seat2)
		if !ok1 || !ok2 {
			return kp.UnknownSeatIsContact
		}
		return max(r1-r2, r2-r1) <= kp.Rows
	}
	return true
}

// probe asks for the check-ins of a resident or at a place (key) whose
// t_in lies in [lo, b) and whose stay overlaps [a, b) by at least thr
// seconds. seated asks for carriage and seat.
type probe struct {
	key, lo, a, b, thr int64
	seated             bool
}

type row struct {
	resident, place int64
	in, out         int64
	carriage, seat  string
}

type probeKind int

const (
	residentProbe probeKind = iota
	placeProbe
)

// The probes travel as one parameter — a JSON array on SQLite, arrays on
// PostgreSQL — and are joined to the check-ins one index range each.
const (
	// On SQLite a probe is split into one per bucket (the leading column of
	// the index: the hour) that its t_in range crosses; [lo, hi) is its
	// part of the range.
	sqliteResidentProbe = `WITH p(i, h, k, lo, hi, a, b) AS MATERIALIZED (
		SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6 FROM jsonb_each(?))
	SELECT p.i, c.place_id, c.t_in, c.t_out, COALESCE(c.carriage, ''), COALESCE(c.seat, '')
	FROM p CROSS JOIN checkins c
	WHERE c.hour = p.h AND c.resident_id = p.k AND c.t_in >= p.lo AND c.t_in < p.hi AND c.t_out > p.a`
	// Carriage and seat are read only for probes of vehicles: SQLite then
	// fetches the table row, and answers every other probe from the index.
	sqlitePlaceProbe = `WITH p(i, h, k, lo, hi, a, b, thr, v) AS MATERIALIZED (
		SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8 FROM jsonb_each(?))
	SELECT p.i, c.resident_id, c.t_in, c.t_out,
		CASE WHEN p.v THEN COALESCE(c.carriage, '') ELSE '' END,
		CASE WHEN p.v THEN COALESCE(c.seat, '') ELSE '' END
	FROM p CROSS JOIN checkins c
	WHERE c.hour = p.h AND c.place_id = p.k AND c.t_in >= p.lo AND c.t_in < p.hi AND c.t_out > p.a
		AND min(c.t_out, p.b) - max(c.t_in, p.a) >= p.thr
		AND c.resident_id NOT IN (SELECT value FROM json_each(?))`
	pgResidentProbe = `SELECT p.i - 1, c.place_id, c.t_in, c.t_out, COALESCE(c.carriage, ''), COALESCE(c.seat, '')
	FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[]) WITH ORDINALITY AS p(k, lo, a, b, i)
	CROSS JOIN LATERAL (SELECT place_id, t_in, t_out, carriage, seat FROM checkins
		WHERE resident_id = p.k AND t_in >= p.lo AND t_in < p.b AND t_out > p.a) c`
	// Unseated probes select only indexed columns, for index-only scans.
	pgPlaceProbe = `SELECT p.i - 1, c.resident_id, c.t_in, c.t_out, '', ''
	FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) WITH ORDINALITY AS p(k, lo, a, b, thr, i)
	CROSS JOIN LATERAL (SELECT resident_id, t_in, t_out FROM checkins
		WHERE place_id = p.k AND t_in >= p.lo AND t_in < p.b AND t_out > p.a
			AND LEAST(t_out, p.b) - GREATEST(t_in, p.a) >= p.thr) c`
	pgSeatedProbe = `SELECT p.i - 1, c.resident_id, c.t_in, c.t_out, COALESCE(c.carriage, ''), COALESCE(c.seat, '')
	FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) WITH ORDINALITY AS p(k, lo, a, b, thr, i)
	CROSS JOIN LATERAL (SELECT resident_id, t_in, t_out, carriage, seat FROM checkins
		WHERE place_id = p.k AND t_in >= p.lo AND t_in < p.b AND t_out > p.a
			AND LEAST(t_out, p.b) - GREATEST(t_in, p.a) >= p.thr) c`
)

// splitProbes is how many probes a query must have before it is split in
// two, run on two connections side by side: a secondary-contact step's
// thousands of probes, not a case's own few. (A variable for the tests.)
var splitProbes = 512

// query runs the probes and calls fn with each matching row and the index
// of its probe, one call at a time. SQLite leaves out the rows of the
// residents in skip; the caller checks them again (PostgreSQL and the
// in-memory index return them). Many probes are split in two halves that run side by side, each
// on its own connection, their rows handed to fn when both are done.
func (t *Tracer) query(ctx context.Context, kind probeKind, probes []probe, skip []int64, fn func(int, row)) error {
	if len(probes) < splitProbes || runtime.GOMAXPROCS(0) < 2 || t.index.Ready() {
		return t.query1(ctx, kind, probes, skip, fn) // the index's callers split (collect)
	}
	type hit struct {
		i int
		r row
	}
	half := len(probes) / 2
	var hits [2][]hit
	g, gctx := errgroup.WithContext(ctx)
	for h, part := range [2][]probe{probes[:half], probes[half:]} {
		g.Go(func() error {
			return t.query1(gctx, kind, part, skip, func(i int, r row) {
				hits[h] = append(hits[h], hit{i + h*half, r})
			})
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, hs := range hits {
		for _, x := range hs {
			fn(x.i, x.r)
		}
	}
	return nil
}

// query1 runs the probes on one connection.
func (t *Tracer) query1(ctx context.Context, kind probeKind, probes []probe, skip []int64, fn func(int, row)) error {
	if len(probes) == 0 {
		return nil
	}
	if t.index.Ready() {
		t.index.query(kind, probes, fn)
		return ctx.Err()
	}
	if t.d.Dialect == db.Postgres {
		var all, plain, seated []int
		for i, p := range probes {
			switch {
			case kind == residentProbe:
				all = append(all, i)
			case p.seated:
				seated = append(seated, i)
			default:
				plain = append(plain, i)
			}
		}
		if kind == residentProbe {
			return t.queryPostgres(ctx, pgResidentProbe, kind, probes, all, fn)
		}
		if err := t.queryPostgres(ctx, pgPlaceProbe, kind, probes, plain, fn); err != nil {
			return err
		}
		return t.queryPostgres(ctx, pgSeatedProbe, kind, probes, seated, fn)
	}
	buf := make([]byte, 0, 80*len(probes))
	buf = append(buf, '[')
	const span = hourSpan
	for i, p := range probes {
		for h := p.lo / span; h <= (p.b-1)/span; h++ {
			if len(buf) > 1 {
				buf = append(buf, ',')
			}
			buf = append(buf, '[')
			for j, v := range []int64{int64(i), h, p.key, max(p.lo, h*span), min(p.b, (h+1)*span), p.a, p.b} {
				if j > 0 {
					buf = append(buf, ',')
				}
				buf = strconv.AppendInt(buf, v, 10)
			}
			if kind == placeProbe {
				buf = append(buf, ',')
				buf = strconv.AppendInt(buf, p.thr, 10)
				buf = append(buf, ',')
				buf = strconv.AppendBool(buf, p.seated)
			}
			buf = append(buf, ']')
		}
	}
	buf = append(buf, ']')
	if kind == residentProbe {
		return scan(ctx, t.d, sqliteResidentProbe, kind, fn, nil, string(buf))
	}
	ex := []byte{'['}
	for i, r := range skip {
		if i > 0 {
			ex = append(ex, ',')
		}
		ex = strconv.AppendInt(ex, r, 10)
	}
	return scan(ctx, t.d, sqlitePlaceProbe, kind, fn, nil, string(buf), string(append(ex, ']')))
}

// queryPostgres runs the probes picked.
func (t *Tracer) queryPostgres(ctx context.Context, q string, kind probeKind, probes []probe, pick []int, fn func(int, row)) error {
	if len(pick) == 0 {
		return nil
	}
	keys, los, as, bs, thrs := make([]int64, len(pick)), make([]int64, len(pick)), make([]int64, len(pick)), make([]int64, len(pick)), make([]int64, len(pick))
	for j, i := range pick {
		p := probes[i]
		keys[j], los[j], as[j], bs[j], thrs[j] = p.key, p.lo, p.a, p.b, p.thr
	}
	args := []any{keys, los, as, bs}
	if kind == placeProbe {
		args = append(args, thrs)
	}
	return scan(ctx, t.d, q, kind, fn, pick, args...)
}

func scan(ctx context.Context, d *db.DB, q string, kind probeKind, fn func(int, row), pick []int, args ...any) error {
	rows, err := d.R.QueryContext(ctx, q, args...)
	if err != nil {
		return db.MapError(err)
	}
	defer rows.Close()
	var (
		i int
		r row
	)
	for rows.Next() {
		if kind == residentProbe {
			err = rows.Scan(&i, &r.place, &r.in, &r.out, &r.carriage, &r.seat)
		} else {
			err = rows.Scan(&i, &r.resident, &r.in, &r.out, &r.carriage, &r.seat)
		}
		if err != nil {
			return err
		}
		if pick != nil {
			i = pick[i]
		}
		fn(i, r)
	}
	return db.MapError(rows.Err())
}
