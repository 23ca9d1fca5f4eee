package healthcode

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/i18n"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/rules"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// Errors besides validation errors.
var (
	// ErrNoCode means the person has no code yet: they have not declared
	// and no authority has entered anything about them.
	ErrNoCode = fault.New(fault.NotFound, "error.no_code", "healthcode: no code yet; make a first declaration")
	// ErrVersionUsed refuses a rule file whose version was in force before
	// (or is the built-in default's): a version names one rule file, once.
	// It carries the version as Version.
	ErrVersionUsed = fault.New(fault.Conflict, "error.rules_version_used", "healthcode: the rule file's version was used before; give it a new version")
)

// Lookback is how far back the rules look at inputs.
const Lookback = 28

// Service runs the health-code rules.
type Service struct {
	DB            *db.DB
	Store         Store
	Residents     resident.Store
	Jurisdictions jurisdiction.Store
	Log           *slog.Logger
	// Rules holds the rule set in force.
	Rules *rules.Active
	// Now is the clock; its location is the region's time zone.
	Now func() time.Time
	// Tracer, when set, traces a case's contacts once a change to its case
	// status or test results has committed (internal/tracing).
	Tracer CaseTracer

	mu       sync.Mutex
	applyMu  sync.Mutex // held while a rule file is checked, written and put in force
	risks    *RiskMap
	risksAt  time.Time
	ruleSets map[string]*rules.RuleSet // earlier versions, by version (ReasonIn); nil: not known
	jobs     jobs
}

// today is the date now in the region.
func (s *Service) today() civil.Date { return civil.Of(s.Now()) }

// RiskMap returns the risk map, rebuilt when older than a few seconds or
// after a risk area changes on this node.
func (s *Service) RiskMap(ctx context.Context) (*RiskMap, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.risks != nil && time.Since(s.risksAt) < 5*time.Second {
		return s.risks, nil
	}
	settings, err := s.Store.Risks(ctx, s.DB.R)
	if err != nil {
		return nil, err
	}
	js, err := s.Jurisdictions.Subtree(ctx, jurisdiction.All)
	if err != nil {
		return nil, err
	}
	s.risks, s.risksAt = NewRiskMap(settings, js), time.Now()
	return s.risks, nil
}

func (s *Service) forgetRisks() {
	s.mu.Lock()
	s.risks = nil
	s.mu.Unlock()
}

// Explanation is what a code's explanation column holds.
type Explanation = rules.Outcome

// ExplanationOf decodes a code's explanation.
func ExplanationOf(c Code) (Explanation, error) {
	var e Explanation
	if c.Explanation == "" {
		return e, nil
	}
	err := json.Unmarshal([]byte(c.Explanation), &e)
	return e, err
}

// OverrideActive reports whether c's manual override is in force on day.
func (c Code) OverrideActive(on civil.Date) bool {
	return c.OverrideColour.Valid && !c.OverrideUntil.IsZero() && !c.OverrideUntil.Before(on)
}

// evaluate computes the code for in, keeping an override in force from old.
func (s *Service) evaluate(in *Inputs, old Code, hadOld bool, risks *RiskMap, rs *rules.RuleSet, now time.Time) (Code, error) {
	out := rules.Evaluate(rs, Facts(in, risks, now))
	expl, err := json.Marshal(out)
	if err != nil {
		return Code{}, err
	}
	c := Code{ResidentID: in.ResidentID, Colour: string(out.Colour), RuleColour: string(out.Colour), Explanation: string(expl),
		GreenOn: out.GreenOn, RuleVersion: out.RuleSetVersion, ComputedAt: now.UTC().Truncate(time.Microsecond)}
	for _, cd := range out.Conditions {
		if cd.Kind == rules.ConditionWhileTrue {
			c.GreenOn = civil.Date{} // no day can be promised: it lasts while its cause does
		}
	}
	if hadOld && old.OverrideActive(civil.Of(now)) {
		c.Colour = old.OverrideColour.String
		c.OverrideColour, c.OverrideUntil, c.OverrideReason, c.OverrideBy = old.OverrideColour, old.OverrideUntil, old.OverrideReason, old.OverrideBy
	}
	return c, nil
}

// change describes a colour change for the audit chain.
func change(old Code, hadOld bool, c Code) audit.Record {
	before := map[string]any{"colour": nil}
	if hadOld {
		before = map[string]any{"colour": old.Colour, "rule_version": old.RuleVersion}
	}
	var e Explanation
	json.Unmarshal([]byte(c.Explanation), &e)
	var ids, texts []string
	var facts []map[string]string
	for _, r := range e.Reasons {
		ids = append(ids, r.RuleID)
		texts = append(texts, r.Text[rules.LangEN])
		facts = append(facts, r.Facts)
	}
	after := map[string]any{"colour": c.Colour, "rules": ids, "green_on": c.GreenOn, "rule_version": c.RuleVersion}
	reason := rules.NoRuleText(rules.LangEN)
	if len(texts) > 0 {
		reason = strings.Join(texts, "; ")
	}
	if facts == nil {
		facts = []map[string]string{}
	}
	after["facts"] = facts // to tell the reasons again in the reader's language (ReasonIn)
	if c.OverrideColour.Valid && c.Colour == c.OverrideColour.String {
		reason = "manual override in force: " + c.OverrideReason.String
		delete(after, "facts")
		after["override_reason"] = c.OverrideReason.String // to word it in the reader's language (Why)
	}
	return audit.Record{ResidentID: c.ResidentID, Kind: audit.ColourChange, Before: before, After: after,
		Reason: reason, LegalBasis: "rule set " + c.RuleVersion}
}

// evaluated is a chunk of residents evaluated: the codes to write and the
// colour changes to record.
type evaluated struct {
	codes   []Code
	changes []audit.Record
}

// evaluateRange reads the inputs and codes of the residents with ids in
// [lo, hi] that have any, through q, and evaluates them at now. Codes that
// would not change are left out.
func (s *Service) evaluateRange(ctx context.Context, q db.Q, actor rbac.Actor, lo, hi int64, now time.Time, cause Cause) (evaluated, error) {
	inputs, err := s.Store.Inputs(ctx, q, lo, hi, civil.Of(now).AddDays(-Lookback))
	if err != nil {
		return evaluated{}, err
	}
	olds, err := s.Store.Codes(ctx, q, lo, hi)
	if err != nil {
		return evaluated{}, err
	}
	return s.evaluateAll(ctx, actor, inputs, olds, now, cause)
}

// evaluateAll evaluates the residents with inputs or codes.
func (s *Service) evaluateAll(ctx context.Context, actor rbac.Actor, inputs map[int64]*Inputs, olds map[int64]Code, now time.Time, cause Cause) (evaluated, error) {
	var ev evaluated
	risks, err := s.RiskMap(ctx)
	if err != nil {
		return ev, err
	}
	rs := s.Rules.Get()
	for id := range olds {
		if _, ok := inputs[id]; !ok {
			inputs[id] = &Inputs{ResidentID: id}
		}
	}
	ev.codes = make([]Code, 0, len(inputs))
	for id, in := range inputs {
		old, had := olds[id]
		c, err := s.evaluate(in, old, had, risks, rs, now)
		if err != nil {
			return ev, err
		}
		if had && c.Colour == old.Colour && c.RuleColour == old.RuleColour && c.Explanation == old.Explanation &&
			c.OverrideColour == old.OverrideColour {
			continue // nothing to write
		}
		ev.codes = append(ev.codes, c)
		if !had || c.Colour != old.Colour {
			r := change(old, had, c)
			r.Actor = actor
			if cause.Text != "" {
				r.Reason = cause.Text + ": " + r.Reason
			}
			r.Cause = cause.Msg
			ev.changes = append(ev.changes, r)
		}
	}
	return ev, nil
}

// write saves evaluated codes and appends their colour changes, in tx.
func (s *Service) write(ctx context.Context, tx *db.Tx, ev evaluated) error {
	if err := s.Store.SaveCodes(ctx, tx, ev.codes); err != nil {
		return err
	}
	_, err := audit.AppendBatch(ctx, tx, ev.changes)
	return err
}

// recompute evaluates and writes the residents with ids in [lo, hi], in tx,
// and reports how many codes it wrote and how many changed colour.
func (s *Service) recompute(ctx context.Context, tx *db.Tx, actor rbac.Actor, lo, hi int64, cause Cause) (written, changed int, err error) {
	ev, err := s.evaluateRange(ctx, tx, actor, lo, hi, s.Now(), cause)
	if err != nil {
		return 0, 0, err
	}
	return len(ev.codes), len(ev.changes), s.write(ctx, tx, ev)
}

// CaseStatus returns the person's case status, nil when they have none.
func (s *Service) CaseStatus(ctx context.Context, residentID int64) (*CaseStatus, error) {
	return s.Store.CaseStatus(ctx, s.DB.R, residentID)
}

// Code returns a resident's current code, first bringing it up to date with
// the calendar (a quarantine served, an override expired). It returns
// ErrNoCode when the resident has none.
func (s *Service) Code(ctx context.Context, residentID int64) (Code, error) {
	c, err := s.Store.Code(ctx, s.DB.R, residentID)
	if errors.Is(err, db.ErrNotFound) {
		return Code{}, ErrNoCode
	}
	if err != nil {
		return Code{}, err
	}
	if civil.Of(c.ComputedAt.In(s.Now().Location())) == s.today() && (!c.OverrideColour.Valid || c.OverrideActive(s.today())) {
		return c, nil
	}
	// A day has passed since it was computed: the rules may now say green.
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		_, _, err := s.recompute(ctx, tx, audit.System, residentID, residentID, causeDaily)
		return err
	})
	if err != nil {
		return Code{}, err
	}
	return s.Store.Code(ctx, s.DB.R, residentID)
}

// holder checks that actor is residentID or their guardian.
func (s *Service) holder(ctx context.Context, actor rbac.Actor, residentID int64) (resident.Resident, error) {
	if actor.Role != rbac.Resident || actor.ResidentID == 0 {
		return resident.Resident{}, fault.ErrForbidden
	}
	r, err := s.Residents.Get(ctx, jurisdiction.All, residentID)
	if err != nil {
		return r, err
	}
	if r.ID != actor.ResidentID && (!r.GuardianID.Valid || r.GuardianID.Int64 != actor.ResidentID) {
		return r, db.ErrNotFound
	}
	return r, nil
}

// Declare records a health declaration by the holder or their guardian and
// recomputes the code.
func (s *Service) Declare(ctx context.Context, actor rbac.Actor, residentID int64, d Declaration) (Code, error) {
	if _, err := s.holder(ctx, actor, residentID); err != nil {
		return Code{}, err
	}
	risks, err := s.RiskMap(ctx)
	if err != nil {
		return Code{}, err
	}
	if err := d.Validate(s.today(), risks.Known); err != nil {
		return Code{}, err
	}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		if _, err := s.Store.AddDeclaration(ctx, tx, residentID, actor.AccountID, s.Now(), d); err != nil {
			return err
		}
		_, _, err := s.recompute(ctx, tx, actor, residentID, residentID, causeDeclaration)
		return err
	})
	if err != nil {
		return Code{}, err
	}
	return s.Store.Code(ctx, s.DB.R, residentID)
}

// staffChange runs one staff change to a person's inputs: it checks the
// permission and the scope, applies the change, logs it with its reason and
// legal basis, and recomputes the code, all in one transaction.
func (s *Service) staffChange(ctx context.Context, actor rbac.Actor, perm rbac.Permission, residentID int64, kind string,
	ch Change, apply func(tx *db.Tx) (before, after any, err error)) (Code, error) {
	if !actor.Can(perm) {
		return Code{}, fault.ErrForbidden
	}
	if _, err := s.Residents.Get(ctx, actor.ScopePath, residentID); err != nil {
		return Code{}, err
	}
	err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		before, after, err := apply(tx)
		if err != nil {
			return err
		}
		if _, err := audit.Append(ctx, tx, audit.Record{Actor: actor, ResidentID: residentID, Kind: kind,
			Before: before, After: after, Reason: ch.Reason, LegalBasis: ch.LegalBasis}); err != nil {
			return err
		}
		_, _, err = s.recompute(ctx, tx, actor, residentID, residentID, TypedCause(ch.Reason))
		return err
	})
	if err != nil {
		return Code{}, err
	}
	return s.Store.Code(ctx, s.DB.R, residentID)
}

// SetCaseStatus records a person's case status (CDC).
func (s *Service) SetCaseStatus(ctx context.Context, actor rbac.Actor, residentID int64, c CaseStatus) (Code, error) {
	if !actor.Can(rbac.CaseWrite) {
		return Code{}, fault.ErrForbidden // before the input: who may not is told so, whatever they sent
	}
	if err := c.Validate(s.today()); err != nil {
		return Code{}, err
	}
	code, err := s.staffChange(ctx, actor, rbac.CaseWrite, residentID, audit.InputChange, c.Change, func(tx *db.Tx) (any, any, error) {
		before, err := s.Store.CaseStatus(ctx, tx, residentID)
		if err != nil {
			return nil, nil, err
		}
		return map[string]any{"case_status": before}, map[string]any{"case_status": c}, s.Store.SetCaseStatus(ctx, tx, residentID, actor.AccountID, c)
	})
	if err == nil {
		s.caseChanged(ctx, actor, residentID)
	}
	return code, err
}

// caseChanged has the tracer trace (or re-trace, or withdraw) the case.
// The change itself has committed: a tracing failure is logged, and the
// tracer's sweep traces the case again shortly.
func (s *Service) caseChanged(ctx context.Context, actor rbac.Actor, residentID int64) {
	if s.Tracer == nil {
		return
	}
	if err := s.Tracer.CaseChanged(ctx, actor, residentID); err != nil && s.Log != nil {
		s.Log.Error("contact tracing failed; the sweep will retry", "resident", residentID, "err", err)
	}
}

// AddContact marks a person a close or secondary contact, with evidence.
func (s *Service) AddContact(ctx context.Context, actor rbac.Actor, residentID int64, c Contact) (Code, error) {
	if !actor.Can(rbac.CaseWrite) {
		return Code{}, fault.ErrForbidden
	}
	if err := c.Validate(s.today()); err != nil {
		return Code{}, err
	}
	if c.SourceCase != 0 {
		// The case may live anywhere in the region; the contact must not
		// name one that does not exist (a foreign key would refuse it late).
		if _, err := s.Residents.Get(ctx, jurisdiction.All, c.SourceCase); errors.Is(err, db.ErrNotFound) {
			return Code{}, validation.Field("source_case", "not_found")
		} else if err != nil {
			return Code{}, err
		}
		if c.SourceCase == residentID {
			return Code{}, validation.Field("source_case", "healthcode.source_is_contact")
		}
	}
	return s.staffChange(ctx, actor, rbac.CaseWrite, residentID, audit.InputChange, c.Change, func(tx *db.Tx) (any, any, error) {
		id, err := s.Store.AddContact(ctx, tx, residentID, actor.AccountID, c)
		return nil, map[string]any{"contact": id, "kind": c.Kind, "exposed_on": c.ExposedOn, "evidence": c.Evidence}, err
	})
}

// AddTest records a test result (a lab, by API token or in person).
func (s *Service) AddTest(ctx context.Context, actor rbac.Actor, residentID int64, t TestResult) (Code, error) {
	if !actor.Can(rbac.LabResultWrite) {
		return Code{}, fault.ErrForbidden
	}
	if err := t.Validate(s.today()); err != nil {
		return Code{}, err
	}
	code, err := s.staffChange(ctx, actor, rbac.LabResultWrite, residentID, audit.InputChange, t.Change, func(tx *db.Tx) (any, any, error) {
		id, err := s.Store.AddTest(ctx, tx, residentID, actor.AccountID, t)
		return nil, map[string]any{"test": id, "kind": t.Kind, "result": t.Result, "sampled_on": t.SampledOn}, err
	})
	if err == nil && t.Result == "positive" {
		s.caseChanged(ctx, actor, residentID)
	}
	return code, err
}

// OrderQuarantine records a quarantine order (community worker or CDC).
func (s *Service) OrderQuarantine(ctx context.Context, actor rbac.Actor, residentID int64, q Quarantine) (Code, error) {
	perm := rbac.ResidentWrite
	if actor.Can(rbac.CaseWrite) {
		perm = rbac.CaseWrite
	}
	if !actor.Can(perm) {
		return Code{}, fault.ErrForbidden
	}
	if err := q.Validate(s.today()); err != nil {
		return Code{}, err
	}
	return s.staffChange(ctx, actor, perm, residentID, audit.InputChange, q.Change, func(tx *db.Tx) (any, any, error) {
		id, err := s.Store.AddQuarantine(ctx, tx, residentID, actor.AccountID, q)
		return nil, map[string]any{"quarantine": id, "kind": q.Kind, "start": q.Start, "end": q.End}, err
	})
}

// SetOverride sets a colour by hand, outside the rules, until a day. The
// holder sees it, with its reason and who set it.
func (s *Service) SetOverride(ctx context.Context, actor rbac.Actor, residentID int64, o Override) (Code, error) {
	if !actor.Can(rbac.CaseWrite) {
		return Code{}, fault.ErrForbidden
	}
	if err := o.Validate(s.today()); err != nil {
		return Code{}, err
	}
	if _, err := s.Residents.Get(ctx, actor.ScopePath, residentID); err != nil {
		return Code{}, err
	}
	err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		old, err := s.Store.Code(ctx, tx, residentID)
		had := err == nil
		if err != nil && !errors.Is(err, db.ErrNotFound) {
			return err
		}
		if !had {
			if _, _, err := s.recompute(ctx, tx, actor, residentID, residentID, causeFirst); err != nil {
				return err
			}
			if old, err = s.Store.Code(ctx, tx, residentID); err != nil {
				return err
			}
		}
		c := old
		c.Colour = o.Colour
		c.OverrideColour = sql.NullString{String: o.Colour, Valid: true}
		c.OverrideUntil = o.Until
		c.OverrideReason = sql.NullString{String: o.Reason, Valid: true}
		c.OverrideBy = sql.NullInt64{Int64: actor.AccountID, Valid: true}
		c.ComputedAt = s.Now().UTC()
		if err := s.Store.SaveCodes(ctx, tx, []Code{c}); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Record{Actor: actor, ResidentID: residentID, Kind: audit.Override,
			Before: map[string]any{"colour": old.Colour}, After: map[string]any{"colour": o.Colour, "until": o.Until},
			Reason: o.Reason, LegalBasis: o.LegalBasis})
		return err
	})
	if err != nil {
		return Code{}, err
	}
	return s.Store.Code(ctx, s.DB.R, residentID)
}

// ClearOverride ends a manual override; the rules decide again.
func (s *Service) ClearOverride(ctx context.Context, actor rbac.Actor, residentID int64, ch Change) (Code, error) {
	if !actor.Can(rbac.CaseWrite) {
		return Code{}, fault.ErrForbidden
	}
	var e validation.Errors
	ch.validate(&e)
	if err := e.Err(); err != nil {
		return Code{}, err
	}
	return s.staffChange(ctx, actor, rbac.CaseWrite, residentID, audit.Override, ch, func(tx *db.Tx) (any, any, error) {
		old, err := s.Store.Code(ctx, tx, residentID)
		if err != nil {
			return nil, nil, err
		}
		if !old.OverrideColour.Valid {
			return nil, nil, validation.Field("override", "healthcode.no_override")
		}
		c := old
		c.Colour, c.OverrideColour, c.OverrideUntil, c.OverrideReason, c.OverrideBy = old.RuleColour, sql.NullString{}, civil.Date{}, sql.NullString{}, sql.NullInt64{}
		return map[string]any{"override": old.OverrideColour.String}, map[string]any{"override": nil}, s.Store.SaveCodes(ctx, tx, []Code{c})
	})
}

// FileAppeal lets the holder (or guardian) object to their colour.
func (s *Service) FileAppeal(ctx context.Context, actor rbac.Actor, residentID int64, message string) (int64, error) {
	if _, err := s.holder(ctx, actor, residentID); err != nil {
		return 0, err
	}
	msg, err := validMessage("message", message, 5, 1000)
	if err != nil {
		return 0, err
	}
	c, err := s.Code(ctx, residentID)
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		var err error
		if id, err = fileAppeal(ctx, tx, residentID, actor.AccountID, c.Colour, msg); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Record{Actor: actor, ResidentID: residentID, Kind: audit.Appeal,
			After: map[string]any{"appeal": id, "colour": c.Colour}, Reason: msg, LegalBasis: "holder's right to appeal"})
		return err
	})
	return id, err
}

// AnswerAppeal records the epidemiologist's answer to an appeal in scope.
func (s *Service) AnswerAppeal(ctx context.Context, actor rbac.Actor, appealID int64, answer string) error {
	if !actor.Can(rbac.CaseWrite) {
		return fault.ErrForbidden
	}
	ans, err := validMessage("answer", answer, 5, 2000)
	if err != nil {
		return err
	}
	var a Appeal
	if err := db.Get(ctx, s.DB.R, &a, appealSelect+"WHERE a.id = ?", appealID); err != nil {
		return err
	}
	if _, err := s.Residents.Get(ctx, actor.ScopePath, a.ResidentID); err != nil {
		return err
	}
	if a.Answered() {
		return validation.Field("answer", "healthcode.already_answered")
	}
	return s.DB.InTx(ctx, func(tx *db.Tx) error {
		res, err := db.Exec(ctx, tx, "UPDATE appeals SET answer = ?, answered_by = ?, answered_at = ? WHERE id = ? AND answered_at IS NULL",
			ans, actor.AccountID, s.Now().UTC(), appealID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return validation.Field("answer", "healthcode.already_answered")
		}
		_, err = audit.Append(ctx, tx, audit.Record{Actor: actor, ResidentID: a.ResidentID, Kind: audit.Appeal,
			Before: map[string]any{"appeal": appealID, "message": a.Message}, After: map[string]any{"answer": ans},
			Reason: ans, LegalBasis: "answer to the holder's appeal"})
		return err
	})
}

// SetRiskArea sets a jurisdiction's risk level from a day (commander), and
// returns a job that recomputes every code.
func (s *Service) SetRiskArea(ctx context.Context, actor rbac.Actor, r RiskArea) (*Job, error) {
	if !actor.Can(rbac.AreaRiskWrite) {
		return nil, fault.ErrForbidden
	}
	if err := r.Validate(s.today()); err != nil {
		return nil, err
	}
	j, err := s.Jurisdictions.GetByCode(ctx, r.JurisdictionCode)
	if errors.Is(err, db.ErrNotFound) || (err == nil && !jurisdiction.InScope(actor.ScopePath, j.Path)) {
		return nil, validation.Field("jurisdiction_code", "not_found")
	}
	if err != nil {
		return nil, err
	}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		if err := s.Store.AddRiskArea(ctx, tx, j.ID, actor.AccountID, r); err != nil {
			return err
		}
		_, err := audit.Append(ctx, tx, audit.Record{Actor: actor, Kind: audit.InputChange,
			After:  map[string]any{"risk_area": j.Code, "level": r.Level, "from": r.From},
			Reason: r.Reason, LegalBasis: r.LegalBasis})
		return err
	})
	if err != nil {
		return nil, err
	}
	s.forgetRisks()
	// The cause leads each changed code's reason: the area by its name (a
	// community with its district), not its code.
	nameEN, err := jurisdiction.Labelled(ctx, s.Jurisdictions, j, "en")
	if err != nil {
		nameEN = j.NameEN
	}
	nameZH, err := jurisdiction.Labelled(ctx, s.Jurisdictions, j, "zh")
	if err != nil {
		nameZH = j.NameZH
	}
	return s.StartRecomputeAll(actor, CauseRiskArea(nameZH, nameEN, r.Level, r.From.String())), nil
}

// Purge deletes declarations older than window and records the purge.
func (s *Service) Purge(ctx context.Context, window time.Duration) (int64, error) {
	var n int64
	cutoff := s.Now().Add(-window)
	err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		var err error
		if n, err = s.Store.PurgeBefore(ctx, tx, cutoff); err != nil || n == 0 {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Record{Actor: audit.System, Kind: audit.Purge,
			After:  map[string]any{"declarations_deleted": n, "before": cutoff.UTC().Format(time.RFC3339)},
			Reason: fmt.Sprintf("retention window of %d days", int(window.Hours()/24)), Cause: i18n.M("history.cause.purge", "Days", int(window.Hours()/24)), LegalBasis: "data minimisation: declarations are kept only as long as the rules read them"})
		return err
	})
	return n, err
}
