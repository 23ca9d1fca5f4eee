package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/rules"
	"github.com/outbreak-platform/outbreak/internal/tracing"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

func date(e *validation.Errors, r *http.Request, field string) civil.Date {
	v := strings.TrimSpace(r.PostFormValue(field))
	if v == "" {
		return civil.Date{}
	}
	d, err := civil.Parse(v)
	if err != nil {
		e.Add(field, "invalid")
	}
	return d
}

// StaffInput applies one staff input to a person's code — case status,
// contact, test, quarantine, override — from the forms on the record page.
// The service checks the permission each input needs.
func (h *Handler) StaffInput(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "record.title")
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.fail(w, r, p, "", errNotFound)
		return
	}
	actor := auth.From(r.Context()).Actor
	ch := healthcode.Change{Reason: r.PostFormValue("reason"), LegalBasis: r.PostFormValue("legal_basis")}
	var e validation.Errors
	ctx := r.Context()
	switch r.PostFormValue("action") {
	case "case_status":
		c := healthcode.CaseStatus{Status: r.PostFormValue("status"), Since: date(&e, r, "since"), Onset: date(&e, r, "onset"), Change: ch}
		if err = e.Err(); err == nil {
			_, err = h.Codes.SetCaseStatus(ctx, actor, id, c)
		}
	case "contact":
		c := healthcode.Contact{Kind: r.PostFormValue("kind"), ExposedOn: date(&e, r, "exposed_on"), Evidence: r.PostFormValue("evidence"), Change: ch}
		if err = e.Err(); err == nil {
			_, err = h.Codes.AddContact(ctx, actor, id, c)
		}
	case "test":
		t := healthcode.TestResult{Kind: r.PostFormValue("kind"), Result: r.PostFormValue("result"), SampledOn: date(&e, r, "sampled_on"), Change: ch}
		if err = e.Err(); err == nil {
			_, err = h.Codes.AddTest(ctx, actor, id, t)
		}
	case "quarantine":
		q := healthcode.Quarantine{Kind: r.PostFormValue("kind"), Start: date(&e, r, "start"), End: date(&e, r, "end"), Change: ch}
		if err = e.Err(); err == nil {
			_, err = h.Codes.OrderQuarantine(ctx, actor, id, q)
		}
	case "override":
		o := healthcode.Override{Colour: r.PostFormValue("colour"), Until: date(&e, r, "until"), Change: ch}
		if err = e.Err(); err == nil {
			_, err = h.Codes.SetOverride(ctx, actor, id, o)
		}
	case "clear_override":
		_, err = h.Codes.ClearOverride(ctx, actor, id, ch)
	case "retrace":
		if _, err = h.Tracing.Retrace(ctx, actor, id); errors.Is(err, tracing.ErrNotACase) {
			err = validation.Field("retrace", "contacts.not_a_case")
		}
	default:
		err = validation.Field("action", "invalid")
	}
	back := "/staff/residents/" + strconv.FormatInt(id, 10) + "?purpose=" + r.PostFormValue("purpose")
	if ve, ok := validation.As(err); ok {
		// Show the record again with the message beside the field.
		r.URL.RawQuery = "purpose=" + r.PostFormValue("purpose")
		p.Form = r.PostForm
		for _, f := range ve.Fields {
			p.Errors[r.PostFormValue("action")+"."+f.Field] = p.L.Field(f)
		}
		p.Error = p.L.T("form.fix_errors")
		h.record(w, r, p, http.StatusUnprocessableEntity)
		return
	}
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	redirect(w, r, back, "flash.saved")
}

// AppealQueue lists the open appeals in scope, oldest first.
func (h *Handler) AppealQueue(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "appeal.queue")
	as, err := healthcode.Appeals(r.Context(), h.Codes.DB, auth.From(r.Context()).Actor.ScopePath, true, 200)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	p.Data = as
	h.render(w, r, http.StatusOK, "appeals", p)
}

// AnswerAppeal records the answer to an appeal.
func (h *Handler) AnswerAppeal(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "appeal.queue")
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.fail(w, r, p, "", errNotFound)
		return
	}
	if err := h.Codes.AnswerAppeal(r.Context(), auth.From(r.Context()).Actor, id, r.PostFormValue("answer")); err != nil {
		if _, ok := validation.As(err); ok {
			redirect(w, r, "/staff/appeals", "err.healthcode.message_length_short")
			return
		}
		h.fail(w, r, p, "", err)
		return
	}
	redirect(w, r, "/staff/appeals", "flash.answered")
}

type controlData struct {
	Jurisdictions []option
	RuleVersion   string
	RuleSource    string
	DryRun        *rules.DryRunReport
	Jobs          []healthcode.JobStatus
}

func (h *Handler) controlPage(w http.ResponseWriter, r *http.Request) (*page, *controlData, error) {
	p := h.newPage(w, r, "control.title")
	js, err := h.Jurisdictions.Subtree(r.Context(), auth.From(r.Context()).Actor.ScopePath)
	if err != nil {
		return p, nil, err
	}
	d := &controlData{Jurisdictions: jurisdictionOptions(js, p.L.Lang, "city", "district", "community"), RuleVersion: h.Codes.Rules.Get().Version()}
	for _, j := range h.Codes.Jobs() {
		d.Jobs = append(d.Jobs, j.Status())
	}
	p.Data = d
	p.Form.Set("from", civil.Of(h.Now()).String())
	return p, d, nil
}

// Control is the commander's page: risk levels of areas, the colour rules
// (dry run, then apply) and the recomputations they start.
func (h *Handler) Control(w http.ResponseWriter, r *http.Request) {
	p, d, err := h.controlPage(w, r)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	if d.RuleSource, err = healthcode.RuleSource(r.Context(), h.Codes.DB); err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	h.render(w, r, http.StatusOK, "control", p)
}

// SetRisk sets an area's risk level and shows the recomputation's progress.
func (h *Handler) SetRisk(w http.ResponseWriter, r *http.Request) {
	p, _, err := h.controlPage(w, r)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	var e validation.Errors
	ra := healthcode.RiskArea{JurisdictionCode: r.PostFormValue("jurisdiction_code"), Level: r.PostFormValue("level"), From: date(&e, r, "from"),
		Change: healthcode.Change{Reason: r.PostFormValue("reason"), LegalBasis: r.PostFormValue("legal_basis")}}
	err = e.Err()
	var job *healthcode.Job
	if err == nil {
		job, err = h.Codes.SetRiskArea(r.Context(), auth.From(r.Context()).Actor, ra)
	}
	if err != nil {
		p.Form = r.PostForm
		h.fail(w, r, p, "control", err)
		return
	}
	redirect(w, r, "/staff/jobs/"+job.ID, "")
}

// Rules dry-runs or applies a rule file from the form.
func (h *Handler) Rules(w http.ResponseWriter, r *http.Request) {
	p, d, err := h.controlPage(w, r)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	p.Form = r.PostForm
	src := r.PostFormValue("source")
	d.RuleSource = src
	fail := func(err error) {
		var pe *rules.ParseError
		if errors.As(err, &pe) {
			p.Errors["source"] = pe.Error()
			p.Error = p.L.T("control.rules_refused")
			h.render(w, r, http.StatusUnprocessableEntity, "control", p)
			return
		}
		h.fail(w, r, p, "control", err)
	}
	if r.PostFormValue("apply") == "" {
		rep, err := h.Codes.DryRun(r.Context(), []byte(src))
		if err != nil {
			fail(err)
			return
		}
		d.DryRun = &rep
		h.render(w, r, http.StatusOK, "control", p)
		return
	}
	job, err := h.Codes.ApplyRuleSet(r.Context(), auth.From(r.Context()).Actor, []byte(src),
		healthcode.Change{Reason: r.PostFormValue("reason"), LegalBasis: r.PostFormValue("legal_basis")})
	if err != nil {
		fail(err)
		return
	}
	redirect(w, r, "/staff/jobs/"+job.ID, "")
}

// JobPage shows a recomputation's progress, refreshing itself until done.
func (h *Handler) JobPage(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "job.title")
	j, ok := h.Codes.Job(r.PathValue("id"))
	if !ok {
		h.fail(w, r, p, "", errNotFound)
		return
	}
	p.Data = j.Status()
	h.render(w, r, http.StatusOK, "job", p)
}

// AuditPage shows the auditor the latest entries of the audit chain and,
// on request, walks the whole chain.
func (h *Handler) AuditPage(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "auditlog.title")
	d := struct {
		Report  *audit.Report
		Entries []audit.Entry
	}{}
	if r.URL.Query().Get("verify") == "1" {
		rep, err := audit.Verify(r.Context(), h.Codes.DB, nil)
		if err != nil {
			h.fail(w, r, p, "", err)
			return
		}
		d.Report = &rep
	}
	es, err := audit.Latest(r.Context(), h.Codes.DB, 100)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	d.Entries = es
	p.Data = d
	h.render(w, r, http.StatusOK, "audit", p)
}
