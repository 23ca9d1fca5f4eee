package api

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/jsonio"
	"github.com/outbreak-platform/outbreak/internal/pass"
	"github.com/outbreak-platform/outbreak/internal/problem"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/rules"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// CodeView is a health code as its holder (and staff) see it: the colour,
// every reason in plain words, when and on what condition it turns green,
// any manual override with who set it and why, and the audit history.
type CodeView struct {
	ResidentID  int64          `json:"resident_id"`
	Colour      string         `json:"colour"`
	RuleColour  string         `json:"rule_colour"`
	Reasons     []ReasonView   `json:"reasons"`
	GreenOn     civil.Date     `json:"green_on,omitzero"`
	Conditions  []string       `json:"conditions"`
	RuleVersion string         `json:"rule_version"`
	ComputedAt  time.Time      `json:"computed_at"`
	Override    *OverrideView  `json:"override,omitempty"`
	History     []HistoryEntry `json:"history"`
}

// ReasonView is one rule in force.
type ReasonView struct {
	RuleID  string            `json:"rule_id"`
	Colour  string            `json:"colour"`
	Text    string            `json:"text"`
	GreenOn civil.Date        `json:"green_on,omitzero"`
	Facts   map[string]string `json:"facts"`
}

// OverrideView is a manual override in force.
type OverrideView struct {
	Colour string     `json:"colour"`
	Until  civil.Date `json:"until"`
	Reason string     `json:"reason"`
}

// HistoryEntry is an audit entry about the holder.
type HistoryEntry struct {
	At     time.Time `json:"at"`
	Kind   string    `json:"kind"`
	Actor  string    `json:"actor"`
	Role   string    `json:"role"`
	Before string    `json:"before"`
	After  string    `json:"after"`
	Reason string    `json:"reason"` // as recorded
	// ReasonText is the reason in the request's language: a rule-made
	// change's told again from its facts (healthcode.Service.ReasonIn).
	ReasonText string `json:"reason_text"`
	LegalBasis string `json:"legal_basis"`
}

// CodeViewOf builds the view of c in lang, with the audit history.
func CodeViewOf(r *http.Request, d *healthcode.Service, c healthcode.Code, lang string) (CodeView, error) {
	e, err := healthcode.ExplanationOf(c)
	if err != nil {
		return CodeView{}, err
	}
	l := rules.Lang(lang)
	v := CodeView{ResidentID: c.ResidentID, Colour: c.Colour, RuleColour: c.RuleColour, GreenOn: c.GreenOn, RuleVersion: c.RuleVersion,
		ComputedAt: c.ComputedAt, Reasons: []ReasonView{}, Conditions: []string{}, History: []HistoryEntry{}}
	for _, rs := range e.Reasons {
		v.Reasons = append(v.Reasons, ReasonView{RuleID: rs.RuleID, Colour: string(rs.Colour), Text: rs.Text[l], GreenOn: rs.GreenOn, Facts: rs.Facts})
	}
	for _, cd := range e.Conditions {
		v.Conditions = append(v.Conditions, cd.Text[l])
	}
	if c.OverrideColour.Valid {
		v.Override = &OverrideView{Colour: c.OverrideColour.String, Until: c.OverrideUntil, Reason: c.OverrideReason.String}
	}
	es, err := audit.About(r.Context(), d.DB, c.ResidentID, 50)
	if err != nil {
		return CodeView{}, err
	}
	for _, a := range es {
		v.History = append(v.History, HistoryEntry{At: a.At, Kind: a.Kind, Actor: a.ActorName, Role: a.ActorRole, Before: a.Before,
			After: a.After, Reason: a.Reason, ReasonText: d.ReasonIn(r.Context(), a, lang), LegalBasis: a.LegalBasis})
	}
	return v, nil
}

// subject is the resident a holder's request is about: themselves, or with
// ?resident=ID one of their dependents.
func (h *Handler) subject(r *http.Request) (resident.Resident, error) {
	var id int64
	if v := r.URL.Query().Get("resident"); v != "" {
		var err error
		if id, err = strconv.ParseInt(v, 10, 64); err != nil {
			return resident.Resident{}, validation.Field("resident", "invalid")
		}
	}
	return h.Residents.SelfOrDependent(r.Context(), auth.From(r.Context()).Actor, id)
}

// MyCode returns the holder's (or a dependent's) code with its explanation.
func (h *Handler) MyCode(w http.ResponseWriter, r *http.Request) {
	who, err := h.subject(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := h.Codes.Code(r.Context(), who.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := CodeViewOf(r, h.Codes, c, h.lang(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, v)
}

// PassView is a signed pass and what it says.
type PassView struct {
	Text       string    `json:"text"`
	Colour     string    `json:"colour"`
	MaskedName string    `json:"masked_name"`
	Region     string    `json:"region"`
	IssuedAt   time.Time `json:"issued_at"`
	Expires    time.Time `json:"expires"`
}

// MyPass signs a fresh pass for the holder (or a dependent).
func (h *Handler) MyPass(w http.ResponseWriter, r *http.Request) {
	who, err := h.subject(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := h.Codes.Code(r.Context(), who.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	text, claims, err := h.Issuer.IssueTo(r.Context(), who.ID, who.Name, pass.Colour(c.Colour))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Query().Get("format") == "png" {
		png, err := pass.PNG(text, claims.Colour, 512)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(png)
		return
	}
	if r.URL.Query().Get("format") == "svg" {
		svg, err := pass.SVG(text, claims.Colour)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Write([]byte(svg))
		return
	}
	h.write(w, r, http.StatusOK, PassView{Text: text, Colour: string(claims.Colour), MaskedName: claims.MaskedName, Region: claims.Region,
		IssuedAt: claims.IssuedAt, Expires: claims.Expires})
}

// Declare records a declaration by the holder (or for a dependent).
func (h *Handler) Declare(w http.ResponseWriter, r *http.Request) {
	who, err := h.subject(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var d healthcode.Declaration
	if err := jsonio.Decode(w, r, &d); err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := h.Codes.Declare(r.Context(), auth.From(r.Context()).Actor, who.ID, d)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := CodeViewOf(r, h.Codes, c, h.lang(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusCreated, v)
}

// Appeal files the holder's appeal against their colour.
func (h *Handler) Appeal(w http.ResponseWriter, r *http.Request) {
	who, err := h.subject(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var in struct {
		Message string `json:"message"`
	}
	if err := jsonio.Decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	id, err := h.Codes.FileAppeal(r.Context(), auth.From(r.Context()).Actor, who.ID, in.Message)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusCreated, map[string]int64{"id": id})
}

// staffInput decodes an input of type T for the resident in the path and
// applies it with do, answering with the resulting code.
func staffInput[T any](h *Handler, w http.ResponseWriter, r *http.Request,
	do func(h *Handler, r *http.Request, id int64, in T) (healthcode.Code, error)) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var in T
	if err := jsonio.Decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := do(h, r, id, in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := CodeViewOf(r, h.Codes, c, h.lang(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, v)
}

func actorOf(r *http.Request) auth.Principal { return *auth.From(r.Context()) }

// SetCaseStatus records a case status (CDC).
func (h *Handler) SetCaseStatus(w http.ResponseWriter, r *http.Request) {
	staffInput(h, w, r, func(h *Handler, r *http.Request, id int64, in healthcode.CaseStatus) (healthcode.Code, error) {
		return h.Codes.SetCaseStatus(r.Context(), actorOf(r).Actor, id, in)
	})
}

// AddContact records a close or secondary contact (CDC).
func (h *Handler) AddContact(w http.ResponseWriter, r *http.Request) {
	staffInput(h, w, r, func(h *Handler, r *http.Request, id int64, in healthcode.Contact) (healthcode.Code, error) {
		return h.Codes.AddContact(r.Context(), actorOf(r).Actor, id, in)
	})
}

// AddTest records a test result for a resident by id.
func (h *Handler) AddTest(w http.ResponseWriter, r *http.Request) {
	staffInput(h, w, r, func(h *Handler, r *http.Request, id int64, in healthcode.TestResult) (healthcode.Code, error) {
		return h.Codes.AddTest(r.Context(), actorOf(r).Actor, id, in)
	})
}

// OrderQuarantine records a quarantine order.
func (h *Handler) OrderQuarantine(w http.ResponseWriter, r *http.Request) {
	staffInput(h, w, r, func(h *Handler, r *http.Request, id int64, in healthcode.Quarantine) (healthcode.Code, error) {
		return h.Codes.OrderQuarantine(r.Context(), actorOf(r).Actor, id, in)
	})
}

// SetOverride sets a colour by hand, with its reason.
func (h *Handler) SetOverride(w http.ResponseWriter, r *http.Request) {
	staffInput(h, w, r, func(h *Handler, r *http.Request, id int64, in healthcode.Override) (healthcode.Code, error) {
		return h.Codes.SetOverride(r.Context(), actorOf(r).Actor, id, in)
	})
}

// ClearOverride ends a manual override.
func (h *Handler) ClearOverride(w http.ResponseWriter, r *http.Request) {
	staffInput(h, w, r, func(h *Handler, r *http.Request, id int64, in healthcode.Change) (healthcode.Code, error) {
		return h.Codes.ClearOverride(r.Context(), actorOf(r).Actor, id, in)
	})
}

// LabResult is a lab's submission: the person by ID number, and the result.
type LabResult struct {
	IDNumber string `json:"id_number"`
	healthcode.TestResult
}

// SubmitTestResult takes a lab result naming the person by national ID
// number — what a lab's system knows — for a resident in the lab's scope.
func (h *Handler) SubmitTestResult(w http.ResponseWriter, r *http.Request) {
	var in LabResult
	if err := jsonio.Decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	actor := auth.From(r.Context()).Actor
	who, err := h.Residents.Residents.FindByIDNumber(r.Context(), actor.ScopePath, h.Residents.IDKind, in.IDNumber)
	if err != nil {
		h.fail(w, r, validation.Field("id_number", "not_found"))
		return
	}
	c, err := h.Codes.AddTest(r.Context(), actor, who.ID, in.TestResult)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusCreated, map[string]any{"resident_id": who.ID, "colour": c.Colour})
}

// ResidentCode shows a resident's code to staff; reading it is a logged read.
func (h *Handler) ResidentCode(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if _, err := h.Residents.ReadForStaff(r.Context(), auth.From(r.Context()).Actor, id, r.URL.Query().Get("purpose")); err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := h.Codes.Code(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := CodeViewOf(r, h.Codes, c, h.lang(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, v)
}

// Appeals lists the open appeals in scope, oldest first.
func (h *Handler) Appeals(w http.ResponseWriter, r *http.Request) {
	as, err := healthcode.Appeals(r.Context(), h.Codes.DB, auth.From(r.Context()).Actor.ScopePath, r.URL.Query().Get("answered") != "true", 200)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, map[string]any{"appeals": as})
}

// AnswerAppeal answers an appeal.
func (h *Handler) AnswerAppeal(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var in struct {
		Answer string `json:"answer"`
	}
	if err := jsonio.Decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.Codes.AnswerAppeal(r.Context(), auth.From(r.Context()).Actor, id, in.Answer); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// SetRiskArea sets a jurisdiction's risk level and starts recomputing codes.
func (h *Handler) SetRiskArea(w http.ResponseWriter, r *http.Request) {
	var in healthcode.RiskArea
	if err := jsonio.Decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	job, err := h.Codes.SetRiskArea(r.Context(), auth.From(r.Context()).Actor, in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusAccepted, job.Status())
}

type ruleFile struct {
	Source string `json:"source"`
	healthcode.Change
}

// maxRuleFile caps a rule file upload.
const maxRuleFile = 256 << 10

func ruleProblem(err error) error {
	var pe *rules.ParseError
	if errors.As(err, &pe) {
		return &problem.Error{Status: http.StatusUnprocessableEntity, Detail: "The rule file is refused; the rules in force stay: " + pe.Error()}
	}
	return err
}

// DryRunRules reports how many codes a proposed rule file would change.
func (h *Handler) DryRunRules(w http.ResponseWriter, r *http.Request) {
	var in ruleFile
	if err := jsonio.DecodeLimit(w, r, &in, maxRuleFile); err != nil {
		h.fail(w, r, err)
		return
	}
	rep, err := h.Codes.DryRun(r.Context(), []byte(in.Source))
	if err != nil {
		h.fail(w, r, ruleProblem(err))
		return
	}
	changes := map[string]int{}
	for c, n := range rep.Changes {
		changes[string(c.From)+"->"+string(c.To)] = n
	}
	h.write(w, r, http.StatusOK, map[string]any{"current_version": rep.CurrentVersion, "proposed_version": rep.ProposedVersion,
		"total": rep.Total, "changed": rep.Changed, "changes": changes, "before": rep.Before, "after": rep.After})
}

// ApplyRules puts a rule file in force and starts recomputing every code.
func (h *Handler) ApplyRules(w http.ResponseWriter, r *http.Request) {
	var in ruleFile
	if err := jsonio.DecodeLimit(w, r, &in, maxRuleFile); err != nil {
		h.fail(w, r, err)
		return
	}
	job, err := h.Codes.ApplyRuleSet(r.Context(), auth.From(r.Context()).Actor, []byte(in.Source), in.Change)
	if err != nil {
		h.fail(w, r, ruleProblem(err))
		return
	}
	h.write(w, r, http.StatusAccepted, job.Status())
}

// JobStatus reports a background job's progress.
func (h *Handler) JobStatus(w http.ResponseWriter, r *http.Request) {
	j, ok := h.Codes.Job(r.PathValue("id"))
	if !ok {
		h.fail(w, r, problem.New(http.StatusNotFound, "No such job (jobs are kept in memory for a while)."))
		return
	}
	h.write(w, r, http.StatusOK, j.Status())
}

// VerifyAudit walks the audit chain (auditor).
func (h *Handler) VerifyAudit(w http.ResponseWriter, r *http.Request) {
	rep, err := audit.Verify(r.Context(), h.Codes.DB, nil)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, rep)
}

// TrustList serves the region's signed trust list, for verifiers anywhere:
// with ?version=2 the current version, which states when it expires;
// without (or with version=1), version 1, which states no expiry, for the
// verifiers that read only version 1 and refuse the other — checkpoint
// pages whose script predates version 2, still kept by a service worker.
func (h *Handler) TrustList(w http.ResponseWriter, r *http.Request) {
	var doc []byte
	var err error
	switch r.URL.Query().Get("version") {
	case "", "1":
		doc, err = h.Issuer.TrustListV1(r.Context())
	case "2":
		doc, err = h.Issuer.TrustList(r.Context())
	default:
		h.fail(w, r, problem.New(http.StatusBadRequest, "Unknown trust list version: ask for version=2 (or 1)."))
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.Write(doc)
}

// TrustRoot serves the root public key that signs the trust list. Verifiers
// in other regions should get it out of band; this is for bootstrapping.
func (h *Handler) TrustRoot(w http.ResponseWriter, r *http.Request) {
	pub := h.Issuer.RootPublicKey()
	h.write(w, r, http.StatusOK, map[string]string{"region": h.Issuer.Region,
		"public_key": base64.RawURLEncoding.EncodeToString(pub), "root_kid": base64.RawURLEncoding.EncodeToString(pass.KeyID(pub))})
}
