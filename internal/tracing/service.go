package tracing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/rbac"
)

// Service turns a confirmed case into recorded contacts: it derives the
// case's infectious window, traces it, records the close and secondary
// contacts with their evidence through the health-code service (their
// codes turn in the same transaction), publishes where and when the case
// was (exposure sites, for the public look-ups), and keeps all of it in
// step with the case: traced again when its dates change, withdrawn when
// it is retracted. It implements healthcode.CaseTracer.
type Service struct {
	DB       *db.DB
	CheckIns *Store
	Codes    *healthcode.Service
	Log      *slog.Logger
	// Now is the clock; its location is the region's time zone, in which
	// days start and evidence is worded.
	Now func() time.Time

	mu     sync.RWMutex
	policy Policy
	tracer *Tracer
	places Places
	// ruleDigest is the digest of the rule set the policy came from.
	ruleDigest string
	// One tracing of a case at a time (per node); different cases run
	// side by side.
	caseMu sync.Map // int64 → *sync.Mutex
	// rec writes the tracings of concurrent callers together.
	rec groupCommit[*recording]
}

// NewService returns the tracing service under policy p.
func NewService(d *db.DB, checkIns *Store, codes *healthcode.Service, places Places, p Policy, log *slog.Logger, now func() time.Time) (*Service, error) {
	s := &Service{DB: d, CheckIns: checkIns, Codes: codes, Log: log, Now: now, places: places}
	s.rec = groupCommit[*recording]{
		size: func(r *recording) int { return 1 + len(r.res.Close) + len(r.res.Secondary) },
		max:  RecordGroupContacts,
		commit: func(group []*recording) error {
			return s.DB.InTx(context.Background(), func(tx *db.Tx) error { return s.writeTracings(tx, group) })
		},
	}
	return s, s.SetPolicy(p)
}

// SetPolicy puts policy p in force for the tracings that follow (a rule
// set with a new tracing section was applied), and for the check-ins
// stored from then on.
func (s *Service) SetPolicy(p Policy) error {
	t, err := NewTracer(s.DB, s.places, p)
	if err != nil {
		return err
	}
	if s.CheckIns != nil {
		t.WithIndex(s.CheckIns.Index())
		if err := s.CheckIns.SetPolicy(p); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.policy, s.tracer = p, t
	s.mu.Unlock()
	return nil
}

// Policy is the policy in force, after following the rule set in force
// (and the check-in store with it).
func (s *Service) Policy() Policy {
	p, _ := s.current()
	return p
}

// current is the policy in force and its tracer: the tracing section of
// the health-code rule set in force, followed when a new rule set is
// applied.
func (s *Service) current() (Policy, *Tracer) {
	if s.Codes != nil && s.Codes.Rules != nil {
		if rs := s.Codes.Rules.Get(); rs.Digest() != s.digest() {
			if p, err := PolicyFrom(rs.Tracing()); err == nil {
				if s.SetPolicy(p) == nil {
					s.mu.Lock()
					s.ruleDigest = rs.Digest()
					s.mu.Unlock()
				}
			} else if s.Log != nil {
				s.Log.Error("the rule set's tracing section is not usable; the policy in force stays", "err", err)
			}
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.policy, s.tracer
}

func (s *Service) digest() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ruleDigest
}

// Trace is one tracing of a case, as recorded.
type Trace struct {
	ID              int64          `db:"id" json:"id"`
	CaseID          int64          `db:"case_id" json:"-"`
	Pseudonym       string         `db:"pseudonym" json:"pseudonym"`
	InfectiousFrom  int64          `db:"infectious_from" json:"infectious_from"`
	InfectiousUntil int64          `db:"infectious_until" json:"infectious_until"`
	QuarantineAt    int64          `db:"quarantine_at" json:"quarantine_at"`
	Close           int            `db:"close_count" json:"close"`
	Secondary       int            `db:"secondary_count" json:"secondary"`
	TracedAt        time.Time      `db:"traced_at" json:"traced_at"`
	WithdrawnAt     sql.NullTime   `db:"withdrawn_at" json:"-"`
	WithdrawnReason sql.NullString `db:"withdrawn_reason" json:"-"`
	// Sites counts the places and times published for the case.
	Sites int `db:"sites" json:"sites"`
}

// MarshalJSON writes the withdrawal, if any, as plain values.
func (t Trace) MarshalJSON() ([]byte, error) {
	type plain Trace
	out := struct {
		plain
		WithdrawnAt     *time.Time `json:"withdrawn_at,omitempty"`
		WithdrawnReason string     `json:"withdrawn_reason,omitempty"`
	}{plain: plain(t), WithdrawnReason: t.WithdrawnReason.String}
	if t.WithdrawnAt.Valid {
		out.WithdrawnAt = &t.WithdrawnAt.Time
	}
	return json.Marshal(out)
}

const traceCols = `id, case_id, pseudonym, infectious_from, infectious_until, quarantine_at, close_count, secondary_count,
	traced_at, withdrawn_at, withdrawn_reason, (SELECT COUNT(*) FROM exposure_sites s WHERE s.trace_id = traces.id) AS sites`

// Traces lists the tracings of a case, newest first.
func (s *Service) Traces(ctx context.Context, caseID int64) ([]Trace, error) {
	var ts []Trace
	err := db.Select(ctx, s.DB.R, &ts, "SELECT "+traceCols+" FROM traces WHERE case_id = ? ORDER BY id DESC", caseID)
	return ts, wrap("traces of a case", err)
}

// caseFacts is what decides whether and over which window a person is
// traced.
type caseFacts struct {
	isCase   bool
	why      string // the case status, or "positive test"
	onset    civil.Date
	sampled  civil.Date
	isolated time.Time
}

// tracedStatuses are the case statuses that are traced: a person who was
// confirmed stays traced after recovery.
var tracedStatuses = []string{"confirmed", "asymptomatic", "recovered"}

func (s *Service) facts(ctx context.Context, q db.Q, residentID int64, now time.Time) (caseFacts, error) {
	var f caseFacts
	ins, err := s.Codes.Store.Inputs(ctx, q, residentID, residentID, civil.Of(now).AddDays(-healthcode.Lookback))
	if err != nil {
		return f, err
	}
	in := ins[residentID]
	if in == nil {
		return f, nil
	}
	status := ""
	if in.Case != nil {
		status = in.Case.Status
		f.onset = in.Case.Onset
	}
	for _, t := range in.Tests {
		if t.Kind == "pcr" && t.Result == "positive" && (f.sampled.IsZero() || t.SampledOn.Before(f.sampled)) {
			f.sampled = t.SampledOn
		}
	}
	switch {
	case slices.Contains(tracedStatuses, status):
		f.isCase, f.why = true, status
		if f.sampled.IsZero() && f.onset.IsZero() {
			f.sampled = in.Case.Since // confirmed without a test on record
		}
	case status == "ruled_out":
	case !f.sampled.IsZero():
		f.isCase, f.why = true, "positive test"
	}
	// Isolated: now, or the start of a quarantine the case was already in.
	f.isolated = now
	for _, qo := range in.Quarantines {
		start := dayStart(qo.Start, now.Location())
		if start.Before(f.isolated) && !qo.End.Before(civil.Of(now).AddDays(-healthcode.Lookback)) {
			f.isolated = start
		}
	}
	return f, nil
}

func dayStart(d civil.Date, loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

func (s *Service) lockCase(id int64) func() {
	m, _ := s.caseMu.LoadOrStore(id, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// CaseChanged implements healthcode.CaseTracer: it traces a person who has
// become a case, traces again a case whose infectious window has changed
// (a corrected onset or sample date), and withdraws the tracing of a case
// that is no longer one (ruled out). It does nothing when the tracing in
// force already matches the case.
func (s *Service) CaseChanged(ctx context.Context, actor rbac.Actor, residentID int64) error {
	_, err := s.trace(ctx, actor, residentID, false, false)
	return err
}

// Retrace traces a case again even when its window has not changed: new
// check-ins may have arrived from phones that were offline.
func (s *Service) Retrace(ctx context.Context, actor rbac.Actor, residentID int64) (Trace, error) {
	if !actor.Can(rbac.CaseWrite) {
		return Trace{}, fault.ErrForbidden
	}
	return s.trace(ctx, actor, residentID, true, false)
}

// ErrNotACase means the person is not a case: there is nothing to trace.
var ErrNotACase = errors.New("tracing: not a confirmed case")

func (s *Service) trace(ctx context.Context, actor rbac.Actor, residentID int64, force, closeOnly bool) (Trace, error) {
	defer s.lockCase(residentID)()
	now := s.Now()
	f, err := s.facts(ctx, s.DB.R, residentID, now)
	if err != nil {
		return Trace{}, wrap("case", err)
	}
	cur, hasCur, err := s.currentTrace(ctx, s.DB.R, residentID)
	if err != nil {
		return Trace{}, err
	}
	if !f.isCase {
		if hasCur {
			return Trace{}, s.withdraw(ctx, actor, cur, healthcode.Because("case ruled out or retracted", "history.cause.trace_ruled_out", "Case", cur.Pseudonym))
		}
		if force {
			return Trace{}, ErrNotACase
		}
		return Trace{}, nil
	}
	policy, tracer := s.current()
	quarantineAt := now.Unix()
	if hasCur {
		quarantineAt = cur.QuarantineAt // contacts were told then
	}
	from, until, err := policy.InfectiousWindow(f.onset, f.sampled, f.isolated, now.Location())
	if err != nil {
		// Isolated before the window began: nobody to trace, but the
		// tracing is recorded (an empty window).
		from, until = f.isolated.Unix()-1, f.isolated.Unix()
	}
	if hasCur && !force && cur.InfectiousFrom == from && cur.InfectiousUntil == until {
		return cur, nil
	}
	c := Case{ResidentID: residentID, From: from, Until: until, QuarantineAt: max(quarantineAt, from)}
	// First the close contacts, whose codes turn red as this commits;
	// then the secondary contacts, many more and slower to find.
	res, err := tracer.TraceClose(ctx, c)
	if err != nil {
		return Trace{}, err
	}
	t, err := s.record(ctx, actor, c, res, f.why, cur, hasCur, policy)
	if err != nil || closeOnly {
		return t, err
	}
	return s.secondaries(ctx, actor, t)
}

// pendingSecondary marks a tracing whose secondary contacts are still to
// be found (traces.secondary_count).
const pendingSecondary = -1

// secondaries finds and records the secondary contacts of tracing t, in
// force and with its secondary contacts pending; it does nothing to a
// tracing withdrawn or completed meanwhile.
func (s *Service) secondaries(ctx context.Context, actor rbac.Actor, t Trace) (Trace, error) {
	policy, tracer := s.current()
	res, err := tracer.Trace(ctx, Case{ResidentID: t.CaseID, From: t.InfectiousFrom, Until: t.InfectiousUntil, QuarantineAt: t.QuarantineAt})
	if err != nil {
		return t, err
	}
	var ids []int64
	for _, ct := range res.Secondary {
		for _, e := range ct.Evidence {
			ids = append(ids, e.PlaceID)
		}
	}
	places, err := placeInfo(ctx, s.DB, ids)
	if err != nil {
		return t, err
	}
	loc := s.Now().Location()
	contacts := make([]healthcode.TracedContact, len(res.Secondary))
	for i, ct := range res.Secondary {
		contacts[i] = tracedContact(ct, t.Pseudonym, places, policy, loc)
	}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		r, err := db.Exec(ctx, tx, "UPDATE traces SET secondary_count = ? WHERE id = ? AND withdrawn_at IS NULL AND secondary_count = ?",
			len(contacts), t.ID, pendingSecondary)
		if err != nil {
			return wrap("record secondary contacts", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return nil // withdrawn or done meanwhile
		}
		reason := healthcode.Because("contact tracing of a case: secondary contacts "+t.Pseudonym, "history.cause.trace_secondary", "Case", t.Pseudonym)
		// Those a tracing replaced kept theirs: only what changed changes.
		ids, err := s.Codes.ReplaceTraced(ctx, tx, actor, t.CaseID, t.ID, t.ID, []string{"secondary"}, contacts, reason)
		if err != nil {
			return err
		}
		if err := s.Codes.RecomputeIDs(ctx, tx, actor, ids, reason); err != nil {
			return err
		}
		t.Secondary = len(contacts)
		_, err = audit.Append(ctx, tx, audit.Record{Actor: actor, ResidentID: t.CaseID, Kind: audit.Trace,
			After:  map[string]any{"trace": t.ID, "pseudonym": t.Pseudonym, "secondary": t.Secondary},
			Reason: reason.Text, Cause: reason.Msg, LegalBasis: "contact tracing of a confirmed case"})
		return err
	})
	return t, err
}

func (s *Service) currentTrace(ctx context.Context, q db.Q, caseID int64) (Trace, bool, error) {
	var t Trace
	err := db.Get(ctx, q, &t, "SELECT "+traceCols+" FROM traces WHERE case_id = ? AND withdrawn_at IS NULL", caseID)
	if errors.Is(err, db.ErrNotFound) {
		return t, false, nil
	}
	return t, err == nil, wrap("current trace", err)
}

// pseudonym names a case to its contacts and the public: "C" and the id
// of its first tracing, which says nothing about who the case is. It
// returns "" for a case never traced: its pseudonym comes from the id of
// the tracing about to be recorded.
func (s *Service) pseudonym(ctx context.Context, q db.Q, caseID int64) (string, error) {
	var first []string
	if err := db.Select(ctx, q, &first, "SELECT pseudonym FROM traces WHERE case_id = ? ORDER BY id LIMIT 1", caseID); err != nil {
		return "", wrap("pseudonym", err)
	}
	if len(first) == 1 {
		return first[0], nil
	}
	return "", nil
}

// record writes a tracing: the previous one withdrawn, the new one, its
// exposure sites, its contacts (whose codes turn). It reads what it needs
// first, then hands the writing to the group commit (rec), which writes the
// tracings of concurrent callers in one transaction; it returns once that
// has committed.
func (s *Service) record(ctx context.Context, actor rbac.Actor, c Case, res Result, why string, cur Trace, hasCur bool, p Policy) (Trace, error) {
	stays, err := s.CheckIns.ForResident(ctx, c.ResidentID, c.From, c.Until)
	if err != nil {
		return Trace{}, err
	}
	ids := make([]int64, 0, len(stays)+8)
	for _, st := range stays {
		ids = append(ids, st.PlaceID)
	}
	for _, ct := range slices.Concat(res.Close, res.Secondary) {
		for _, e := range ct.Evidence {
			ids = append(ids, e.PlaceID)
		}
	}
	places, err := placeInfo(ctx, s.DB, ids)
	if err != nil {
		return Trace{}, err
	}
	r := &recording{actor: actor, c: c, res: res, why: why, cur: cur, hasCur: hasCur, p: p, stays: stays, places: places}
	if err := s.rec.write(ctx, r); err != nil {
		return Trace{}, err
	}
	t := r.t
	if s.Log != nil {
		s.Log.Info("case traced", "trace", t.ID, "case", t.Pseudonym, "close", t.Close, "secondary", t.Secondary, "sites", t.Sites)
	}
	return t, nil
}

// recording is a case's tracing to write, as record has read it; t, ids
// and cause are what writing it gave.
type recording struct {
	actor  rbac.Actor
	c      Case
	res    Result
	why    string
	cur    Trace
	hasCur bool
	p      Policy
	stays  []CheckIn
	places map[int64]place
	t      Trace
	ids    []int64 // the contacts whose codes to recompute
	cause  healthcode.Cause
}

// RecordGroupContacts caps the contacts of the tracings written in one
// transaction, which holds the store's one writer — and the check-ins
// waiting for it — for well under a second.
const RecordGroupContacts = 5000

// writeTracings writes the tracings in tx: each one's trace, sites,
// contacts and audit entries, and then the codes of all their contacts,
// each person's once, so that their codes reflect every tracing written.
func (s *Service) writeTracings(tx *db.Tx, group []*recording) error {
	ctx := context.Background()
	for _, r := range group {
		if err := s.writeTracing(ctx, tx, r); err != nil {
			return err
		}
	}
	rs := make([]healthcode.Recompute, len(group))
	for i, r := range group {
		rs[i] = healthcode.Recompute{Actor: r.actor, Cause: r.cause, IDs: r.ids}
	}
	return s.Codes.RecomputeMany(ctx, tx, rs)
}

// writeTracing writes r's tracing in tx, all but its contacts' codes.
func (s *Service) writeTracing(ctx context.Context, tx *db.Tx, r *recording) error {
	c, res, actor := r.c, r.res, r.actor
	reason, key := "contact tracing of a case ("+r.why+")", "history.cause.trace"
	if r.hasCur {
		reason, key = "contact tracing of a case again: its dates changed or new check-ins arrived", "history.cause.retrace"
		// The tracing is replaced; its contacts are kept, moved to the new
		// one, unless they are no longer found (ReplaceTraced below).
		if _, err := s.withdrawTrace(ctx, tx, actor, r.cur, healthcode.Because("re-traced", "history.cause.trace_replaced", "Case", r.cur.Pseudonym)); err != nil {
			return err
		}
	}
	pseudonym, err := s.pseudonym(ctx, tx, c.ResidentID)
	if err != nil {
		return err
	}
	t := Trace{CaseID: c.ResidentID, Pseudonym: pseudonym, InfectiousFrom: c.From, InfectiousUntil: c.Until,
		QuarantineAt: c.QuarantineAt, Close: len(res.Close), Secondary: pendingSecondary, TracedAt: s.Now().UTC().Truncate(time.Microsecond)}
	t.ID, err = db.InsertID(ctx, tx, `INSERT INTO traces (case_id, pseudonym, infectious_from, infectious_until, quarantine_at,
		close_count, secondary_count, traced_at, traced_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		t.CaseID, t.Pseudonym, t.InfectiousFrom, t.InfectiousUntil, t.QuarantineAt, t.Close, t.Secondary, t.TracedAt, nullID(actor.AccountID))
	if err != nil {
		return wrap("record trace", err)
	}
	if pseudonym == "" {
		pseudonym = fmt.Sprintf("C%04d", t.ID)
		t.Pseudonym = pseudonym
		if _, err := db.Exec(ctx, tx, "UPDATE traces SET pseudonym = ? WHERE id = ?", pseudonym, t.ID); err != nil {
			return wrap("record trace", err)
		}
	}
	var sites [][]any
	for _, st := range r.stays {
		pl := r.places[st.PlaceID]
		if r.p.For(Kind(pl.Type)).Excluded {
			continue
		}
		if a, b := max(st.TIn, c.From), min(st.TOut, c.Until); b > a && pl.ID != 0 {
			sites = append(sites, []any{t.ID, st.PlaceID, a, b})
		}
	}
	t.Sites = len(sites)
	if err := tx.BulkInsert(ctx, "exposure_sites", []string{"trace_id", "place_id", "t_from", "t_to"}, sites); err != nil {
		return wrap("record exposure sites", err)
	}
	loc := s.Now().Location()
	contacts := make([]healthcode.TracedContact, 0, len(res.Close)+len(res.Secondary))
	for _, ct := range slices.Concat(res.Close, res.Secondary) {
		contacts = append(contacts, tracedContact(ct, pseudonym, r.places, r.p, loc))
	}
	r.cause = healthcode.Because(reason+" "+pseudonym, key, "Case", pseudonym)
	if r.hasCur {
		// Only what changed: the close contacts found again stay as they
		// were; the secondary contacts stay until they are found again
		// (secondaries), unless this tracing found them already.
		kinds := []string{"close"}
		if len(res.Secondary) > 0 {
			kinds = append(kinds, "secondary")
		} else if _, err := db.Exec(ctx, tx, "UPDATE contacts SET trace_id = ? WHERE trace_id = ? AND withdrawn_at IS NULL AND kind = 'secondary'",
			t.ID, r.cur.ID); err != nil {
			return wrap("keep secondary contacts", err)
		}
		r.ids, err = s.Codes.ReplaceTraced(ctx, tx, actor, c.ResidentID, r.cur.ID, t.ID, kinds, contacts, r.cause)
	} else {
		r.ids, err = s.Codes.AddTraced(ctx, tx, actor, c.ResidentID, t.ID, contacts, r.cause)
	}
	if err != nil {
		return err
	}
	_, err = audit.Append(ctx, tx, audit.Record{Actor: actor, ResidentID: c.ResidentID, Kind: audit.Trace,
		After: map[string]any{"trace": t.ID, "pseudonym": pseudonym, "from": c.From, "until": c.Until,
			"close": t.Close, "secondary": t.Secondary, "sites": t.Sites},
		Reason: reason, Cause: r.cause.Msg, LegalBasis: "contact tracing of a confirmed case"})
	r.t = t
	return err
}

// Withdraw withdraws the tracing in force of a case — its contacts'
// records and its exposure sites — with a reason. The case status is the
// caller's to change: a case that is still confirmed would be traced again
// by the sweep.
func (s *Service) Withdraw(ctx context.Context, actor rbac.Actor, caseID int64, reason string) error {
	defer s.lockCase(caseID)()
	cur, ok, err := s.currentTrace(ctx, s.DB.R, caseID)
	if err != nil || !ok {
		return err
	}
	return s.withdraw(ctx, actor, cur, healthcode.Because(reason, "history.cause.trace_withdrawn", "Case", cur.Pseudonym, "Reason", reason))
}

func (s *Service) withdraw(ctx context.Context, actor rbac.Actor, t Trace, reason healthcode.Cause) error {
	return s.DB.InTx(ctx, func(tx *db.Tx) error { return s.withdrawTx(ctx, tx, actor, t, reason) })
}

func (s *Service) withdrawTx(ctx context.Context, tx *db.Tx, actor rbac.Actor, t Trace, reason healthcode.Cause) error {
	if ok, err := s.withdrawTrace(ctx, tx, actor, t, reason); err != nil || !ok {
		return err // or withdrawn meanwhile
	}
	_, err := s.Codes.WithdrawTraced(ctx, tx, actor, t.ID, healthcode.Cause{Text: "contact tracing withdrawn: " + reason.Text, Msg: reason.Msg})
	return err
}

// withdrawTrace withdraws tracing t itself, in tx, with an entry in the
// case's audit trail, but not its contacts; it reports false when t was
// withdrawn meanwhile.
func (s *Service) withdrawTrace(ctx context.Context, tx *db.Tx, actor rbac.Actor, t Trace, reason healthcode.Cause) (bool, error) {
	now := s.Now().UTC().Truncate(time.Microsecond)
	res, err := db.Exec(ctx, tx, "UPDATE traces SET withdrawn_at = ?, withdrawn_reason = ? WHERE id = ? AND withdrawn_at IS NULL",
		now, reason.Text, t.ID)
	if err != nil {
		return false, wrap("withdraw trace", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	_, err = audit.Append(ctx, tx, audit.Record{Actor: actor, ResidentID: t.CaseID, Kind: audit.Trace,
		Before: map[string]any{"trace": t.ID, "pseudonym": t.Pseudonym}, After: map[string]any{"trace": nil},
		Reason: "contact tracing withdrawn: " + reason.Text, Cause: reason.Msg, LegalBasis: "contact tracing of a confirmed case"})
	return err == nil, err
}

// TraceCases traces many cases at once (an outbreak confirmed in bulk):
// first every case's close contacts, many cases side by side, each case
// recorded as soon as it is found (with others found meanwhile, in one
// transaction) — their codes turn then —
// and then every case's secondary contacts. progress, when set, is told
// after each step of each case.
func (s *Service) TraceCases(ctx context.Context, actor rbac.Actor, caseIDs []int64, progress func(done, total int)) (BatchResult, error) {
	var br BatchResult
	var mu sync.Mutex
	start := time.Now()
	traces := make([]Trace, len(caseIDs))
	step := func() {
		br.steps++
		if progress != nil {
			progress(br.steps, 2*len(caseIDs))
		}
	}
	err := parallel(ctx, len(caseIDs), batchCloseWorkers, func(ctx context.Context, i int) error {
		t, err := s.trace(ctx, actor, caseIDs[i], false, true)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		traces[i] = t
		if t.ID != 0 {
			br.Traced++
			br.Close += t.Close
		}
		step()
		return nil
	})
	br.CloseSeconds = time.Since(start).Seconds()
	if err != nil {
		return br, err
	}
	err = parallel(ctx, len(traces), 0, func(ctx context.Context, i int) error {
		t := traces[i]
		if t.ID != 0 && t.Secondary == pendingSecondary {
			defer s.lockCase(t.CaseID)()
			var err error
			if t, err = s.secondaries(ctx, actor, t); err != nil {
				return err
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if t.Secondary > 0 {
			br.Secondary += t.Secondary
		}
		step()
		return nil
	})
	br.Seconds = time.Since(start).Seconds()
	return br, err
}

// batchCloseWorkers is how many cases TraceCases traces at once in its
// first step: enough for their tracings to share transactions (record),
// few enough for their reads to queue briefly for the store.
const batchCloseWorkers = 32

// BatchResult sums up TraceCases.
type BatchResult struct {
	Traced    int `json:"traced"`
	Close     int `json:"close"`
	Secondary int `json:"secondary"`
	// CloseSeconds is how long until every close contact was recorded
	// (their codes turned); Seconds until the secondary contacts were too.
	CloseSeconds float64 `json:"close_seconds"`
	Seconds      float64 `json:"seconds"`
	steps        int
}

// Sweep traces the cases that have no tracing in force — a tracing that
// failed after the case was confirmed, or cases confirmed on another node
// or by an import — and returns how many it traced.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	s.current() // follow a new rule set, for the check-ins too
	since := civil.Of(s.Now()).AddDays(-healthcode.Lookback)
	var ids []int64
	err := db.Select(ctx, s.DB.R, &ids, `
		SELECT resident_id FROM case_status c
		WHERE status IN ('confirmed', 'asymptomatic', 'recovered') AND since >= ?
		  AND NOT EXISTS (SELECT 1 FROM traces t WHERE t.case_id = c.resident_id AND t.withdrawn_at IS NULL)
		UNION
		SELECT DISTINCT resident_id FROM test_results r
		WHERE kind = 'pcr' AND result = 'positive' AND sampled_on >= ?
		  AND NOT EXISTS (SELECT 1 FROM traces t WHERE t.case_id = r.resident_id AND t.withdrawn_at IS NULL)
		  AND NOT EXISTS (SELECT 1 FROM case_status c WHERE c.resident_id = r.resident_id AND c.status = 'ruled_out')
		ORDER BY 1`, since, since)
	if err != nil {
		return 0, wrap("sweep", err)
	}
	// Tracings whose secondary contacts were never found (a failure, or a
	// node stopped between the two steps).
	var pending []Trace
	if err := db.Select(ctx, s.DB.R, &pending, "SELECT "+traceCols+" FROM traces WHERE withdrawn_at IS NULL AND secondary_count = ?",
		pendingSecondary); err != nil {
		return 0, wrap("sweep", err)
	}
	for _, t := range pending {
		if !slices.Contains(ids, t.CaseID) {
			unlock := s.lockCase(t.CaseID)
			_, err := s.secondaries(ctx, SweepActor, t)
			unlock()
			if err != nil {
				return 0, err
			}
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	br, err := s.TraceCases(ctx, SweepActor, ids, nil)
	return br.Traced, err
}

// SweepActor is who the sweep acts as in the audit chain.
var SweepActor = rbac.Actor{Name: "system: contact-tracing sweep", Role: rbac.Epidemiologist}

// place is what evidence says of a place.
type place struct {
	ID            int64          `db:"id"`
	Type          string         `db:"type"`
	Name          string         `db:"name"`
	ServiceNumber sql.NullString `db:"service_number"`
	ServiceDate   sql.NullString `db:"service_date"`
}

func placeInfo(ctx context.Context, d *db.DB, ids []int64) (map[int64]place, error) {
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := make(map[int64]place, len(ids))
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		var ps []place
		if err := db.Select(ctx, d.R, &ps, "SELECT id, type, name, service_number, service_date FROM places WHERE id IN (?"+
			strings.Repeat(", ?", len(chunk)-1)+")", args...); err != nil {
			return nil, wrap("places of evidence", err)
		}
		for _, p := range ps {
			out[p.ID] = p
		}
	}
	return out, nil
}

// Detail is the evidence of a traced contact in full, as kept with the
// contact (contacts.detail) and shown to the holder. It names the case by
// pseudonym and never names the close contact through whom a secondary
// contact was exposed.
type Detail struct {
	Case     string         `json:"case"`
	Kind     string         `json:"kind"`
	Evidence []EvidenceShow `json:"evidence"`
}

// EvidenceShow is one piece of evidence as the holder sees it.
type EvidenceShow struct {
	PlaceID       int64  `json:"place_id"`
	PlaceName     string `json:"place_name"`
	PlaceType     string `json:"place_type"`
	ServiceNumber string `json:"service_number,omitempty"`
	// From and To bound the overlap; In and Out are the holder's own stay
	// (unix seconds).
	From     int64  `json:"from"`
	To       int64  `json:"to"`
	In       int64  `json:"in"`
	Out      int64  `json:"out"`
	Carriage string `json:"carriage,omitempty"`
	Seat     string `json:"seat,omitempty"`
}

func tracedContact(ct Contact, pseudonym string, places map[int64]place, p Policy, loc *time.Location) healthcode.TracedContact {
	d := Detail{Case: pseudonym, Kind: ct.Kind}
	for _, e := range ct.Evidence {
		pl := places[e.PlaceID]
		d.Evidence = append(d.Evidence, EvidenceShow{PlaceID: e.PlaceID, PlaceName: pl.Name, PlaceType: pl.Type,
			ServiceNumber: pl.ServiceNumber.String, From: e.From, To: e.To, In: e.In, Out: e.Out})
		if e.Seat != nil {
			show := &d.Evidence[len(d.Evidence)-1]
			show.Carriage, show.Seat = e.Seat.Carriage, e.Seat.Number
		}
	}
	detail, _ := json.Marshal(d)
	first := d.Evidence[0]
	rule := p.For(Kind(first.PlaceType)).Rule
	en, zh := Words(first, rule, ct.Kind, pseudonym, len(d.Evidence)-1, loc)
	return healthcode.TracedContact{ResidentID: ct.ResidentID, Kind: ct.Kind, ExposedOn: civil.Of(time.Unix(first.From, 0).In(loc)),
		Evidence: en, EvidenceZH: zh, Detail: detail}
}

// Words says in English and Chinese where and when a contact was exposed:
// "you were at Jiefang Road Market on 3 Feb from 10:05 to 10:40, at the
// same time as case C0007".
func Words(e EvidenceShow, rule Rule, kind, pseudonym string, more int, loc *time.Location) (en, zh string) {
	from, to := time.Unix(e.From, 0).In(loc), time.Unix(e.To, 0).In(loc)
	whenEN := fmt.Sprintf("on %s from %s to %s", from.Format("2 Jan"), from.Format("15:04"), to.Format("15:04"))
	whenZH := fmt.Sprintf("%d月%d日%s至%s", from.Month(), from.Day(), from.Format("15:04"), to.Format("15:04"))
	if to.YearDay() != from.YearDay() || to.Year() != from.Year() {
		whenEN = fmt.Sprintf("from %s to %s", from.Format("2 Jan 15:04"), to.Format("2 Jan 15:04"))
		whenZH = fmt.Sprintf("%d月%d日%s至%d月%d日%s", from.Month(), from.Day(), from.Format("15:04"), to.Month(), to.Day(), to.Format("15:04"))
	}
	whereEN, whereZH := "at "+e.PlaceName, "在"+e.PlaceName
	seatEN, seatZH := "", ""
	switch {
	case e.Carriage != "" && e.Seat != "":
		seatEN, seatZH = fmt.Sprintf(" (carriage %s, seat %s)", e.Carriage, e.Seat), fmt.Sprintf("（%s车厢%s座）", e.Carriage, e.Seat)
	case e.Seat != "":
		seatEN, seatZH = " (seat "+e.Seat+")", "（"+e.Seat+"座）"
	case e.Carriage != "":
		seatEN, seatZH = " (carriage "+e.Carriage+")", "（"+e.Carriage+"车厢）"
	}
	vehicleEN := map[string]string{"train": "train", "flight": "flight", "coach": "coach", "bus": "bus"}[e.PlaceType]
	vehicleZH := map[string]string{"train": "列车", "flight": "航班", "coach": "长途客车", "bus": "公交"}[e.PlaceType]
	if vehicleEN != "" {
		whereEN = fmt.Sprintf("on %s %s%s", vehicleEN, e.ServiceNumber, seatEN)
		whereZH = fmt.Sprintf("乘坐%s %s%s", e.ServiceNumber, vehicleZH, seatZH)
	}
	whoEN, whoZH := "case "+pseudonym, "病例"+pseudonym
	if kind == Secondary {
		whoEN, whoZH = "a close contact of case "+pseudonym, "病例"+pseudonym+"的一名密切接触者"
	}
	howEN, howZH := "at the same time as "+whoEN, "与"+whoZH+"同时在场"
	switch rule {
	case SameCarriage:
		howEN, howZH = "in the same carriage as "+whoEN, "与"+whoZH+"同一车厢"
	case NearbyRows:
		howEN, howZH = "within a few rows of "+whoEN, "与"+whoZH+"座位相距不足几排"
	}
	en = fmt.Sprintf("you were %s %s, %s", whereEN, whenEN, howEN)
	zh = fmt.Sprintf("您于%s%s，%s", whenZH, whereZH, howZH)
	if more > 0 {
		en += fmt.Sprintf(" (and %d more times)", more)
		zh += fmt.Sprintf("（另有%d次）", more)
	}
	return en, zh
}

// parallel runs fn(ctx, 0..n-1), up to p at a time (the number of CPUs
// when p < 1), and returns the first error; ctx ends at the first error.
func parallel(ctx context.Context, n, p int, fn func(ctx context.Context, i int) error) error {
	if p < 1 {
		p = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(p, n) {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// SiteDays is how long exposure sites are kept: a little longer than the
// public trip look-up reaches back (exposure.TripDays). They say only
// place and time, never who.
const SiteDays = 31

// PurgeSites deletes the exposure sites that ended before before (unix
// seconds) and returns how many.
func (s *Service) PurgeSites(ctx context.Context, before int64) (int64, error) {
	res, err := db.Exec(ctx, s.DB.W, "DELETE FROM exposure_sites WHERE t_to < ?", before)
	if err != nil {
		return 0, wrap("purge exposure sites", err)
	}
	return res.RowsAffected()
}
