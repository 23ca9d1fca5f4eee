package healthcode

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/i18n"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/rules"
)

// Job is a long recomputation running in the background, with progress.
type Job struct {
	ID      string    `json:"id"`
	Cause   Cause     `json:"-"`
	Started time.Time `json:"started"`

	total    atomic.Int64 // residents to look at
	done     atomic.Int64
	changed  atomic.Int64
	finished atomic.Pointer[time.Time]
	err      atomic.Pointer[string]
}

// JobStatus is a snapshot of a job.
type JobStatus struct {
	ID       string       `json:"id"`
	Cause    string       `json:"cause"` // as recorded
	Message  i18n.Message `json:"-"`     // the cause, to word in the reader's language
	Started  time.Time    `json:"started"`
	Total    int64        `json:"total"`
	Done     int64        `json:"done"`
	Changed  int64        `json:"changed"`
	Percent  int          `json:"percent"`
	Finished *time.Time   `json:"finished,omitempty"`
	Error    string       `json:"error,omitempty"`
}

// Status returns the job's progress.
func (j *Job) Status() JobStatus {
	st := JobStatus{ID: j.ID, Cause: j.Cause.Text, Message: j.Cause.Msg, Started: j.Started, Total: j.total.Load(), Done: j.done.Load(), Changed: j.changed.Load(),
		Finished: j.finished.Load()}
	if e := j.err.Load(); e != nil {
		st.Error = *e
	}
	st.Percent = 100
	if st.Total > 0 && st.Finished == nil {
		st.Percent = int(st.Done * 100 / st.Total)
	}
	return st
}

type jobs struct {
	mu   sync.Mutex
	seq  int
	list []*Job
}

func (js *jobs) add(j *Job) {
	js.mu.Lock()
	defer js.mu.Unlock()
	js.seq++
	j.ID = strconv.Itoa(js.seq)
	js.list = append(js.list, j)
	if len(js.list) > 20 {
		js.list = js.list[1:]
	}
}

// Job returns a recent job by id.
func (s *Service) Job(id string) (*Job, bool) {
	s.jobs.mu.Lock()
	defer s.jobs.mu.Unlock()
	for _, j := range s.jobs.list {
		if j.ID == id {
			return j, true
		}
	}
	return nil, false
}

// Jobs returns the recent jobs, newest first.
func (s *Service) Jobs() []*Job {
	s.jobs.mu.Lock()
	defer s.jobs.mu.Unlock()
	out := make([]*Job, 0, len(s.jobs.list))
	for i := len(s.jobs.list) - 1; i >= 0; i-- {
		out = append(out, s.jobs.list[i])
	}
	return out
}

// StartRecomputeAll recomputes every code in the background.
func (s *Service) StartRecomputeAll(actor rbac.Actor, cause Cause) *Job {
	j := &Job{Cause: cause, Started: time.Now()}
	s.jobs.add(j)
	go func() {
		err := s.RecomputeAll(context.Background(), actor, cause, j)
		now := time.Now()
		if err != nil {
			msg := err.Error()
			j.err.Store(&msg)
			s.Log.Error("recompute all", "job", j.ID, "err", err)
		}
		j.finished.Store(&now)
	}()
	return j
}

// Chunk is how many resident ids one recomputation transaction covers.
const Chunk = 10000

func (s *Service) idRange(ctx context.Context) (lo, hi int64, err error) {
	var r struct {
		Lo, Hi int64
	}
	err = db.Get(ctx, s.DB.R, &r, "SELECT COALESCE(min(id), 0) AS lo, COALESCE(max(id), -1) AS hi FROM residents")
	return r.Lo, r.Hi, err
}

// RecomputeAll recomputes every code, counting progress in j (which may be
// nil). Chunks of residents are read and evaluated on one goroutine, through
// the reader pool, while the previous chunk is written on another. A code
// recomputed by an event (a declaration, a staff input) after the job began
// is newer than the job's reading of it, and is left as it is.
func (s *Service) RecomputeAll(ctx context.Context, actor rbac.Actor, cause Cause, j *Job) error {
	if j == nil {
		j = &Job{}
	}
	lo, hi, err := s.idRange(ctx)
	if err != nil {
		return err
	}
	j.total.Store(hi - lo + 1)
	began := s.Now().UTC()
	type chunk struct {
		lo, hi int64
		ev     evaluated
	}
	chunks := make(chan chunk, 2)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var readErr error
	go func() {
		defer close(chunks)
		for start := lo; start <= hi; start += Chunk {
			end := min(start+Chunk-1, hi)
			ev, err := s.evaluateRange(ctx, s.DB.R, actor, start, end, s.Now(), cause)
			if err != nil {
				readErr = fmt.Errorf("healthcode: evaluate %d..%d: %w", start, end, err)
				return
			}
			select {
			case chunks <- chunk{start, end, ev}:
			case <-ctx.Done():
				return
			}
		}
	}()
	for c := range chunks {
		err := s.DB.InTx(ctx, func(tx *db.Tx) error {
			var newer []int64
			if err := db.Select(ctx, tx, &newer, "SELECT resident_id FROM codes WHERE resident_id BETWEEN ? AND ? AND computed_at > ?",
				c.lo, c.hi, began); err != nil {
				return err
			}
			if len(newer) > 0 {
				c.ev = without(c.ev, newer)
			}
			return s.write(ctx, tx, c.ev)
		})
		if err != nil {
			return fmt.Errorf("healthcode: write %d..%d: %w", c.lo, c.hi, err)
		}
		j.done.Add(c.hi - c.lo + 1)
		j.changed.Add(int64(len(c.ev.changes)))
	}
	return readErr
}

// without drops the residents in ids from ev.
func without(ev evaluated, ids []int64) evaluated {
	skip := make(map[int64]bool, len(ids))
	for _, id := range ids {
		skip[id] = true
	}
	var out evaluated
	for _, c := range ev.codes {
		if !skip[c.ResidentID] {
			out.codes = append(out.codes, c)
		}
	}
	for _, r := range ev.changes {
		if !skip[r.ResidentID] {
			out.changes = append(out.changes, r)
		}
	}
	return out
}

// AllFacts yields the facts of every resident with inputs or a code.
func (s *Service) AllFacts(ctx context.Context, errp *error) iter.Seq[rules.Facts] {
	return func(yield func(rules.Facts) bool) {
		now := s.Now()
		risks, err := s.RiskMap(ctx)
		if err != nil {
			*errp = err
			return
		}
		lo, hi, err := s.idRange(ctx)
		if err != nil {
			*errp = err
			return
		}
		for start := lo; start <= hi; start += Chunk {
			end := min(start+Chunk-1, hi)
			inputs, err := s.Store.Inputs(ctx, s.DB.R, start, end, civil.Of(now).AddDays(-Lookback))
			if err != nil {
				*errp = err
				return
			}
			codes, err := s.Store.Codes(ctx, s.DB.R, start, end)
			if err != nil {
				*errp = err
				return
			}
			for id := range codes {
				if _, ok := inputs[id]; !ok {
					inputs[id] = &Inputs{ResidentID: id}
				}
			}
			for _, in := range inputs {
				if !yield(Facts(in, risks, now)) {
					return
				}
			}
		}
	}
}

// DryRun reports how many codes a proposed rule file would change, without
// changing anything.
func (s *Service) DryRun(ctx context.Context, source []byte) (rules.DryRunReport, error) {
	proposed, err := rules.Parse(source)
	if err != nil {
		return rules.DryRunReport{}, err
	}
	var ferr error
	rep := rules.DryRun(s.Rules.Get(), proposed, s.AllFacts(ctx, &ferr))
	return rep, ferr
}

// ApplyRuleSet puts a new rule file in force, records it (versioned and in
// the audit chain) and starts recomputing every code. Everything is checked
// before anything is written, and the file and its audit entry are written
// in one transaction, so a refused file leaves no trace and never comes into
// force at the next start: a broken file is refused with its problems
// (*rules.ParseError), a version already used — in force, applied before or
// built in — with other rules or earlier is a conflict
// (rules.ErrVersionInUse, ErrVersionUsed). Applying the rules in force again
// changes nothing and returns a nil job.
func (s *Service) ApplyRuleSet(ctx context.Context, actor rbac.Actor, source []byte, ch Change) (*Job, error) {
	if !actor.Can(rbac.AreaRiskWrite) {
		return nil, fault.ErrForbidden
	}
	proposed, err := rules.Parse(source)
	if err != nil {
		return nil, err
	}
	s.applyMu.Lock() // one change of the rules at a time: what is checked stays true until it is in force
	defer s.applyMu.Unlock()
	current := s.Rules.Get()
	if current.Same(proposed) {
		return nil, nil
	}
	if current.Clashes(proposed) {
		return nil, rules.ErrVersionInUse.With("Version", proposed.Version())
	}
	if def, err := rules.Default(); err == nil && def.Version() == proposed.Version() {
		return nil, ErrVersionUsed.With("Version", proposed.Version())
	}
	cause := i18n.Message{}
	if ch.Reason == "" {
		ch.Reason = "rule set " + proposed.Version() + " applied"
		cause = CauseRuleSet(proposed.Version()).Msg
	}
	if ch.LegalBasis == "" {
		ch.LegalBasis = "decision of the health authority"
	}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		var n int
		if err := db.Get(ctx, tx, &n, "SELECT count(*) FROM rule_sets WHERE version = ?", proposed.Version()); err != nil {
			return err
		}
		if n > 0 {
			return ErrVersionUsed.With("Version", proposed.Version())
		}
		if _, err := db.Exec(ctx, tx, "INSERT INTO rule_sets (version, source, applied_at, applied_by) VALUES (?, ?, ?, ?)",
			proposed.Version(), string(source), time.Now().UTC(), actor.AccountID); err != nil {
			return fmt.Errorf("healthcode: record rule set %s: %w", proposed.Version(), err)
		}
		_, err := audit.Append(ctx, tx, audit.Record{Actor: actor, Kind: audit.RuleSet,
			Before: map[string]any{"version": current.Version(), "digest": current.Digest()},
			After:  map[string]any{"version": proposed.Version(), "digest": proposed.Digest()}, Reason: ch.Reason, Cause: cause, LegalBasis: ch.LegalBasis})
		return err
	})
	if err != nil {
		return nil, err
	}
	if _, err := s.Rules.Replace(proposed); err != nil {
		return nil, err // only if someone swapped the rules around the service
	}
	return s.StartRecomputeAll(actor, CauseRuleSet(proposed.Version())), nil
}

// LoadRules returns the rule set last applied to the store, or the default.
func LoadRules(ctx context.Context, d *db.DB) (*rules.RuleSet, error) {
	return storedRules(ctx, d, "")
}

// storedRules returns the rule set of version last applied to the store
// (any version when version is ""), or the default when none was.
func storedRules(ctx context.Context, d *db.DB, version string) (*rules.RuleSet, error) {
	var src string
	err := db.Get(ctx, d.R, &src, "SELECT source FROM rule_sets WHERE ? = '' OR version = ? ORDER BY id DESC LIMIT 1", version, version)
	if errors.Is(err, db.ErrNotFound) {
		return rules.Default()
	}
	if err != nil {
		return nil, err
	}
	return rules.Parse([]byte(src))
}

// RuleSource returns the text of the rule file in force.
func RuleSource(ctx context.Context, d *db.DB) (string, error) {
	var src string
	err := db.Get(ctx, d.R, &src, "SELECT source FROM rule_sets ORDER BY id DESC LIMIT 1")
	if errors.Is(err, db.ErrNotFound) {
		return string(rules.DefaultYAML()), nil
	}
	return src, err
}
