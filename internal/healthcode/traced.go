package healthcode

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/rbac"
)

// CaseTracer traces the contacts of a person who has become a case, traces
// them again when the case's dates change, and withdraws them when the case
// is retracted. internal/tracing implements it; the Service calls it after
// every change to a case status or a test result has committed.
type CaseTracer interface {
	CaseChanged(ctx context.Context, actor rbac.Actor, residentID int64) error
}

// TracedContact is a contact found by contact tracing, as recorded.
type TracedContact struct {
	ResidentID int64
	Kind       string // "close" or "secondary"
	ExposedOn  civil.Date
	// Evidence and EvidenceZH are the line the holder reads, in English
	// and Chinese; Detail is the evidence in full, as JSON.
	Evidence, EvidenceZH string
	Detail               []byte
}

// RecordTraced adds the contacts that trace traceID of case caseID found,
// in tx: each with a pending follow-up for the community worker, all of
// them committed to by one entry in the audit chain (ContactsDigest). It recomputes their codes in the same transaction,
// so a contact's code has turned by the time it commits.
//
// Tracing acts for the whole region: contacts are recorded wherever they
// live, whatever the scope of the epidemiologist who confirmed the case,
// who is named as the actor.
func (s *Service) RecordTraced(ctx context.Context, tx *db.Tx, actor rbac.Actor, caseID, traceID int64, cs []TracedContact, reason Cause) error {
	ids, err := s.AddTraced(ctx, tx, actor, caseID, traceID, cs, reason)
	if err != nil {
		return err
	}
	return s.RecomputeIDs(ctx, tx, actor, ids, reason)
}

// AddTraced is RecordTraced but for the codes: it returns whose codes the
// caller must recompute (RecomputeIDs) before tx commits — once for the
// contacts of several tracings written in one transaction.
func (s *Service) AddTraced(ctx context.Context, tx *db.Tx, actor rbac.Actor, caseID, traceID int64, cs []TracedContact, reason Cause) ([]int64, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	now := s.Now().UTC().Truncate(time.Microsecond)
	rows := make([]contactRow, len(cs))
	ids := make([]int64, len(cs))
	for i, c := range cs {
		if c.Kind != "close" && c.Kind != "secondary" {
			return nil, fmt.Errorf("healthcode: traced contact of kind %q", c.Kind)
		}
		rows[i] = contactRow{ResidentID: c.ResidentID, Kind: c.Kind, ExposedOn: c.ExposedOn, Evidence: c.Evidence,
			EvidenceZH: sql.NullString{String: c.EvidenceZH, Valid: true}, Detail: sql.NullString{String: string(c.Detail), Valid: true},
			SourceCase: sql.NullInt64{Int64: caseID, Valid: true}, TraceID: sql.NullInt64{Int64: traceID, Valid: true}}
		ids[i] = c.ResidentID
	}
	// One entry for the run's contacts, committing to every row: each
	// holder's history shows their row with it (History), and
	// VerifyContacts recomputes the digest from the rows.
	kinds := map[string]int{}
	for _, r := range rows {
		kinds[r.Kind]++
	}
	e, err := audit.Append(ctx, tx, audit.Record{Actor: actor, Kind: audit.Trace,
		After:  contactsCommitment{Trace: traceID, Contacts: len(rows), Kinds: kinds, SHA256: hex.EncodeToString(ContactsDigest(rows))},
		Reason: reason.Text, Cause: reason.Msg, LegalBasis: "contact tracing of a confirmed case"})
	if err != nil {
		return nil, err
	}
	by := nullID(actor.AccountID)
	values := make([][]any, len(rows))
	for i, r := range rows {
		values[i] = []any{r.ResidentID, r.Kind, r.ExposedOn, r.Evidence, r.EvidenceZH, r.Detail, r.SourceCase, r.TraceID, now, by, e.ID}
	}
	err = tx.BulkInsert(ctx, "contacts", []string{"resident_id", "kind", "exposed_on", "evidence", "evidence_zh", "detail",
		"source_case", "trace_id", "created_at", "created_by", "audit_id"}, values)
	if err != nil {
		return nil, fmt.Errorf("healthcode: record traced contacts: %w", err)
	}
	if _, err := db.Exec(ctx, tx, `INSERT INTO contact_followups (contact_id, status, note, updated_at)
		SELECT id, 'pending', '', ? FROM contacts c WHERE trace_id = ?
		AND NOT EXISTS (SELECT 1 FROM contact_followups f WHERE f.contact_id = c.id)`, now, traceID); err != nil {
		return nil, fmt.Errorf("healthcode: follow-ups of traced contacts: %w", err)
	}
	return ids, nil
}

// ReplaceTraced is AddTraced for a case traced again: the contacts of the
// kinds given that tracing fromTrace recorded (and are not withdrawn) are
// replaced by cs, recorded under tracing toTrace, in tx, changing only what
// changed. A contact found again as it was — the same person, kind, day and
// evidence — is moved to toTrace untouched: no audit entry, no new
// follow-up, its code not recomputed. A contact no longer found is
// withdrawn (with an audit entry); a new or changed one is added. It
// returns whose codes the caller must recompute (RecomputeIDs) before tx
// commits — once, after the withdrawals and the additions, so that nobody's
// code turns green and back in between. fromTrace may be toTrace.
func (s *Service) ReplaceTraced(ctx context.Context, tx *db.Tx, actor rbac.Actor, caseID, fromTrace, toTrace int64, kinds []string,
	cs []TracedContact, reason Cause) ([]int64, error) {
	if len(kinds) == 0 {
		return nil, fmt.Errorf("healthcode: replace traced contacts of no kind")
	}
	var old []struct {
		ID         int64          `db:"id"`
		ResidentID int64          `db:"resident_id"`
		Kind       string         `db:"kind"`
		ExposedOn  civil.Date     `db:"exposed_on"`
		Evidence   string         `db:"evidence"`
		EvidenceZH sql.NullString `db:"evidence_zh"`
		Detail     sql.NullString `db:"detail"`
	}
	args := []any{fromTrace}
	for _, kind := range kinds {
		args = append(args, kind)
	}
	if err := db.Select(ctx, tx, &old, `SELECT id, resident_id, kind, exposed_on, evidence, evidence_zh, detail FROM contacts
		WHERE trace_id = ? AND withdrawn_at IS NULL AND kind IN (?`+strings.Repeat(", ?", len(kinds)-1)+`) ORDER BY id`, args...); err != nil {
		return nil, fmt.Errorf("healthcode: traced contacts to replace: %w", err)
	}
	type key struct {
		resident                 int64
		kind, on, en, zh, detail string
	}
	had := make(map[key][]int, len(old)) // indexes into old
	for i, o := range old {
		kk := key{o.ResidentID, o.Kind, o.ExposedOn.String(), o.Evidence, o.EvidenceZH.String, o.Detail.String}
		had[kk] = append(had[kk], i)
	}
	var keep []int64
	var add []TracedContact
	for _, c := range cs {
		kk := key{c.ResidentID, c.Kind, c.ExposedOn.String(), c.Evidence, c.EvidenceZH, string(c.Detail)}
		if is := had[kk]; len(is) > 0 {
			keep = append(keep, old[is[0]].ID)
			had[kk] = is[1:]
			continue
		}
		add = append(add, c)
	}
	var gone, goneIDs []int64
	for _, is := range had {
		for _, i := range is {
			gone, goneIDs = append(gone, old[i].ID), append(goneIDs, old[i].ResidentID)
		}
	}
	slices.Sort(gone)
	slices.Sort(goneIDs)
	if fromTrace != toTrace {
		for chunk := range slices.Chunk(keep, 500) {
			in := idList(chunk)
			if _, err := db.Exec(ctx, tx, "UPDATE contacts SET trace_id = ? WHERE id "+in.cond, append([]any{toTrace}, in.args...)...); err != nil {
				return nil, fmt.Errorf("healthcode: keep traced contacts: %w", err)
			}
		}
	}
	if len(gone) > 0 {
		now := s.Now().UTC().Truncate(time.Microsecond)
		for chunk := range slices.Chunk(gone, 500) {
			in := idList(chunk)
			if _, err := db.Exec(ctx, tx, "UPDATE contacts SET withdrawn_at = ? WHERE id "+in.cond, append([]any{now}, in.args...)...); err != nil {
				return nil, fmt.Errorf("healthcode: withdraw traced contacts no longer found: %w", err)
			}
		}
		records := make([]audit.Record, len(goneIDs))
		for i, id := range goneIDs {
			records[i] = audit.Record{Actor: actor, ResidentID: id, Kind: audit.Trace,
				Before: map[string]any{"trace": fromTrace}, After: map[string]any{"contact": nil, "trace": toTrace},
				Reason: reason.Text, Cause: reason.Msg, LegalBasis: "contact tracing of a confirmed case"}
		}
		if _, err := audit.AppendBatch(ctx, tx, records); err != nil {
			return nil, err
		}
	}
	added, err := s.AddTraced(ctx, tx, actor, caseID, toTrace, add, reason)
	if err != nil {
		return nil, err
	}
	return slices.Concat(goneIDs, added), nil
}

// WithdrawTraced withdraws the contacts that trace traceID found, in tx,
// with an audit entry each, recomputes their codes, and returns whom it
// withdrew.
func (s *Service) WithdrawTraced(ctx context.Context, tx *db.Tx, actor rbac.Actor, traceID int64, reason Cause) ([]int64, error) {
	var ids []int64
	if err := db.Select(ctx, tx, &ids, `SELECT resident_id FROM contacts WHERE trace_id = ? AND withdrawn_at IS NULL ORDER BY resident_id`,
		traceID); err != nil {
		return nil, fmt.Errorf("healthcode: withdraw traced contacts: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	now := s.Now().UTC().Truncate(time.Microsecond)
	if _, err := db.Exec(ctx, tx, `UPDATE contacts SET withdrawn_at = ? WHERE trace_id = ? AND withdrawn_at IS NULL`, now, traceID); err != nil {
		return nil, fmt.Errorf("healthcode: withdraw traced contacts: %w", err)
	}
	records := make([]audit.Record, len(ids))
	for i, id := range ids {
		records[i] = audit.Record{Actor: actor, ResidentID: id, Kind: audit.Trace,
			Before: map[string]any{"trace": traceID}, After: map[string]any{"contact": nil, "trace": traceID},
			Reason: reason.Text, Cause: reason.Msg, LegalBasis: "contact tracing of a confirmed case"}
	}
	if _, err := audit.AppendBatch(ctx, tx, records); err != nil {
		return nil, err
	}
	return ids, s.RecomputeIDs(ctx, tx, actor, ids, reason)
}

// RecomputeIDs evaluates and writes the codes of the residents ids, in tx,
// a few hundred at a time.
func (s *Service) RecomputeIDs(ctx context.Context, tx *db.Tx, actor rbac.Actor, ids []int64, cause Cause) error {
	return s.RecomputeMany(ctx, tx, []Recompute{{Actor: actor, Cause: cause, IDs: ids}})
}

// Recompute names residents whose codes to recompute, by whom and why.
type Recompute struct {
	Actor rbac.Actor
	Cause Cause
	IDs   []int64
}

// RecomputeMany is RecomputeIDs for several causes, taken in order: a
// resident named by more than one is recomputed once, for the first. While
// a few hundred residents are evaluated (the rules, the explanations, the
// colour changes' entries), the next few hundred's inputs are read.
func (s *Service) RecomputeMany(ctx context.Context, tx *db.Tx, rs []Recompute) error {
	type evaluation struct {
		ev  evaluated
		err error
	}
	var pending chan evaluation // the chunk being evaluated
	finish := func() error {
		if pending == nil {
			return nil
		}
		e := <-pending
		pending = nil
		if e.err != nil {
			return e.err
		}
		return s.write(ctx, tx, e.ev)
	}
	now := s.Now()
	since := civil.Of(now).AddDays(-Lookback)
	seen := map[int64]bool{}
	for _, r := range rs {
		ids := make([]int64, 0, len(r.IDs))
		for _, id := range r.IDs {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		for chunk := range slices.Chunk(ids, 500) {
			// An early return leaves the chunk being evaluated to finish
			// into its buffered channel; tx is rolled back.
			inputs, err := s.Store.InputsOf(ctx, tx, chunk, since)
			if err != nil {
				return err
			}
			olds, err := s.Store.CodesOf(ctx, tx, chunk)
			if err != nil {
				return err
			}
			next := make(chan evaluation, 1)
			go func() {
				ev, err := s.evaluateAll(ctx, r.Actor, inputs, olds, now, r.Cause)
				next <- evaluation{ev, err}
			}()
			if err := finish(); err != nil {
				return err
			}
			pending = next
		}
	}
	return finish()
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
