package healthcode

import (
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/http/render"
	"github.com/outbreak-platform/outbreak/internal/jsonio"
	"github.com/outbreak-platform/outbreak/internal/list"
	"github.com/outbreak-platform/outbreak/internal/pass"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/rules"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// CodeView is a health code as the API shows it to its holder (and
// staff): the colour, every reason in plain words, when and on what
// condition it turns green, any manual override with who set it and why,
// and the audit history.
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
	// ReasonText is the reason in the request's language: the cause the
	// platform recorded, worded, and a rule-made change's reasons told
	// again from their facts; a person's words as typed
	// (healthcode.Service.Why).
	ReasonText string `json:"reason_text"`
	LegalBasis string `json:"legal_basis"`
}

// codeView builds the API's view of c in the request's language, for its
// holder or staff.
func (h *Handler) codeView(r *http.Request, c healthcode.Code) (CodeView, error) {
	reader := healthcode.Staff
	if a := auth.From(r.Context()); a != nil && a.Actor.Role == rbac.Resident {
		reader = healthcode.Holder
	}
	v, err := h.codes.View(r.Context(), c, h.rd.L(r), reader)
	if err != nil {
		return CodeView{}, err
	}
	out := CodeView{ResidentID: c.ResidentID, Colour: c.Colour, RuleColour: c.RuleColour, GreenOn: c.GreenOn, RuleVersion: c.RuleVersion,
		ComputedAt: c.ComputedAt, Reasons: []ReasonView{}, Conditions: []string{}, History: []HistoryEntry{}}
	for _, rs := range v.Reasons {
		out.Reasons = append(out.Reasons, ReasonView(rs))
	}
	out.Conditions = append(out.Conditions, v.Conditions...)
	if c.OverrideColour.Valid {
		out.Override = &OverrideView{Colour: c.OverrideColour.String, Until: c.OverrideUntil, Reason: c.OverrideReason.String}
	}
	for _, a := range v.History {
		out.History = append(out.History, HistoryEntry{At: a.At, Kind: a.Kind, Actor: a.ActorName, Role: a.ActorRole, Before: a.Before,
			After: a.After, Reason: a.Reason, ReasonText: a.Why, LegalBasis: a.LegalBasis})
	}
	return out, nil
}

// writeCode answers with the view of c.
func (h *Handler) writeCode(w http.ResponseWriter, r *http.Request, status int, c healthcode.Code) {
	v, err := h.codeView(r, c)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, status, v)
}

// MyCode returns the holder's (or a dependent's) code with its explanation.
func (h *Handler) MyCode(w http.ResponseWriter, r *http.Request) {
	who, err := h.subject(r)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	c, err := h.codes.Code(r.Context(), who.ID)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.writeCode(w, r, http.StatusOK, c)
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

// MyPass signs a fresh pass for the holder (or a dependent): JSON, or with
// ?format=png or svg the QR code.
func (h *Handler) MyPass(w http.ResponseWriter, r *http.Request) {
	text, claims, err := h.issue(r)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	switch r.URL.Query().Get("format") {
	case "png":
		png, err := pass.PNG(text, claims.Colour, 512)
		if err != nil {
			h.rd.Problem(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(png)
	case "svg":
		svg, err := pass.SVG(text, claims.Colour)
		if err != nil {
			h.rd.Problem(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Write([]byte(svg))
	case "", "json":
		h.rd.JSON(w, r, http.StatusOK, PassView{Text: text, Colour: string(claims.Colour), MaskedName: claims.MaskedName, Region: claims.Region,
			IssuedAt: claims.IssuedAt, Expires: claims.Expires})
	default:
		h.rd.Problem(w, r, validation.Field("format", "invalid"))
	}
}

// APIDeclare records a declaration by the holder (or for a dependent).
func (h *Handler) APIDeclare(w http.ResponseWriter, r *http.Request) {
	who, err := h.subject(r)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	var d healthcode.Declaration
	if err := jsonio.Decode(w, r, &d); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	c, err := h.codes.Declare(r.Context(), auth.From(r.Context()).Actor, who.ID, d)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.writeCode(w, r, http.StatusCreated, c)
}

// APIAppeal files the holder's appeal against their colour.
func (h *Handler) APIAppeal(w http.ResponseWriter, r *http.Request) {
	who, err := h.subject(r)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	var in struct {
		Message string `json:"message"`
	}
	if err := jsonio.Decode(w, r, &in); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	id, err := h.codes.FileAppeal(r.Context(), auth.From(r.Context()).Actor, who.ID, in.Message)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusCreated, map[string]int64{"id": id})
}

// staffInput decodes an input of type T for the resident in the path and
// applies it with do, answering with the resulting code.
func staffInput[T any](h *Handler, w http.ResponseWriter, r *http.Request,
	do func(s *healthcode.Service, r *http.Request, id int64, in T) (healthcode.Code, error)) {
	id, err := render.PathID(r, "id")
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	var in T
	if err := jsonio.Decode(w, r, &in); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	c, err := do(h.codes, r, id, in)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.writeCode(w, r, http.StatusOK, c)
}

func actor(r *http.Request) auth.Principal { return *auth.From(r.Context()) }

// SetCaseStatus records a case status (CDC).
func (h *Handler) SetCaseStatus(w http.ResponseWriter, r *http.Request) {
	staffInput(h, w, r, func(s *healthcode.Service, r *http.Request, id int64, in healthcode.CaseStatus) (healthcode.Code, error) {
		return s.SetCaseStatus(r.Context(), actor(r).Actor, id, in)
	})
}

// AddContact records a close or secondary contact (CDC).
func (h *Handler) AddContact(w http.ResponseWriter, r *http.Request) {
	staffInput(h, w, r, func(s *healthcode.Service, r *http.Request, id int64, in healthcode.Contact) (healthcode.Code, error) {
		return s.AddContact(r.Context(), actor(r).Actor, id, in)
	})
}

// AddTest records a test result for a resident by id.
func (h *Handler) AddTest(w http.ResponseWriter, r *http.Request) {
	staffInput(h, w, r, func(s *healthcode.Service, r *http.Request, id int64, in healthcode.TestResult) (healthcode.Code, error) {
		return s.AddTest(r.Context(), actor(r).Actor, id, in)
	})
}

// OrderQuarantine records a quarantine order.
func (h *Handler) OrderQuarantine(w http.ResponseWriter, r *http.Request) {
	staffInput(h, w, r, func(s *healthcode.Service, r *http.Request, id int64, in healthcode.Quarantine) (healthcode.Code, error) {
		return s.OrderQuarantine(r.Context(), actor(r).Actor, id, in)
	})
}

// SetOverride sets a colour by hand, with its reason.
func (h *Handler) SetOverride(w http.ResponseWriter, r *http.Request) {
	staffInput(h, w, r, func(s *healthcode.Service, r *http.Request, id int64, in healthcode.Override) (healthcode.Code, error) {
		return s.SetOverride(r.Context(), actor(r).Actor, id, in)
	})
}

// ClearOverride ends a manual override.
func (h *Handler) ClearOverride(w http.ResponseWriter, r *http.Request) {
	staffInput(h, w, r, func(s *healthcode.Service, r *http.Request, id int64, in healthcode.Change) (healthcode.Code, error) {
		return s.ClearOverride(r.Context(), actor(r).Actor, id, in)
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
		h.rd.Problem(w, r, err)
		return
	}
	a := auth.From(r.Context()).Actor
	who, err := h.residents.FindByIDNumber(r.Context(), a.ScopePath, "id_number", in.IDNumber, h.rd.Today())
	if errors.Is(err, db.ErrNotFound) {
		err = validation.Field("id_number", "not_found")
	}
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	c, err := h.codes.AddTest(r.Context(), a, who.ID, in.TestResult)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusCreated, map[string]any{"resident_id": who.ID, "colour": c.Colour})
}

// ResidentCode shows a resident's code to staff; reading it is a logged read.
func (h *Handler) ResidentCode(w http.ResponseWriter, r *http.Request) {
	id, err := render.PathID(r, "id")
	if err == nil {
		_, err = h.residents.ReadForStaff(r.Context(), auth.From(r.Context()).Actor, id, r.URL.Query().Get("purpose"))
	}
	var c healthcode.Code
	if err == nil {
		c, err = h.codes.Code(r.Context(), id)
	}
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.writeCode(w, r, http.StatusOK, c)
}

// Appeals lists a page of the open appeals in scope, oldest first
// (?answered=true: the answered ones, latest first), with the total.
func (h *Handler) Appeals(w http.ResponseWriter, r *http.Request) {
	pg, err := render.PageOf(r)
	var as list.Of[healthcode.Appeal]
	if err == nil {
		as, err = healthcode.Appeals(r.Context(), h.codes.DB, auth.From(r.Context()).Actor.ScopePath, r.URL.Query().Get("answered") != "true", pg)
	}
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusOK, map[string]any{"appeals": as.Items, "total": as.Total, "offset": as.Offset, "limit": as.Limit})
}

// APIAnswerAppeal answers an appeal.
func (h *Handler) APIAnswerAppeal(w http.ResponseWriter, r *http.Request) {
	id, err := render.PathID(r, "id")
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	var in struct {
		Answer string `json:"answer"`
	}
	if err := jsonio.Decode(w, r, &in); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	if err := h.codes.AnswerAppeal(r.Context(), auth.From(r.Context()).Actor, id, in.Answer); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// SetRiskArea sets a jurisdiction's risk level and starts recomputing codes.
func (h *Handler) SetRiskArea(w http.ResponseWriter, r *http.Request) {
	var in healthcode.RiskArea
	if err := jsonio.Decode(w, r, &in); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	job, err := h.codes.SetRiskArea(r.Context(), auth.From(r.Context()).Actor, in)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusAccepted, job.Status())
}

type ruleFile struct {
	Source string `json:"source"`
	healthcode.Change
}

// maxRuleFile caps a rule file upload.
const maxRuleFile = 256 << 10

// ruleProblem puts a rule file the parser refused, with its lines and
// reasons, beside the source field.
func ruleProblem(err error) error {
	var pe *rules.ParseError
	if errors.As(err, &pe) {
		return validation.Field("source", "rules_refused", "Reason", pe.Error())
	}
	return err
}

// DryRunRules reports how many codes a proposed rule file would change.
func (h *Handler) DryRunRules(w http.ResponseWriter, r *http.Request) {
	var in ruleFile
	if err := jsonio.DecodeLimit(w, r, &in, maxRuleFile); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	rep, err := h.codes.DryRun(r.Context(), []byte(in.Source))
	if err != nil {
		h.rd.Problem(w, r, ruleProblem(err))
		return
	}
	changes := map[string]int{}
	for c, n := range rep.Changes {
		changes[string(c.From)+"->"+string(c.To)] = n
	}
	h.rd.JSON(w, r, http.StatusOK, map[string]any{"current_version": rep.CurrentVersion, "proposed_version": rep.ProposedVersion,
		"total": rep.Total, "changed": rep.Changed, "changes": changes, "before": rep.Before, "after": rep.After})
}

// ApplyRules puts a rule file in force and starts recomputing every code
// (202 with the job); the rules in force again change nothing (200).
func (h *Handler) ApplyRules(w http.ResponseWriter, r *http.Request) {
	var in ruleFile
	if err := jsonio.DecodeLimit(w, r, &in, maxRuleFile); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	job, err := h.codes.ApplyRuleSet(r.Context(), auth.From(r.Context()).Actor, []byte(in.Source), in.Change)
	if err != nil {
		h.rd.Problem(w, r, ruleProblem(err))
		return
	}
	if job == nil { // these rules are in force already: nothing was written
		h.rd.JSON(w, r, http.StatusOK, map[string]any{"version": h.codes.Rules.Get().Version(), "unchanged": true})
		return
	}
	h.rd.JSON(w, r, http.StatusAccepted, job.Status())
}

// JobStatus reports a background job's progress.
func (h *Handler) JobStatus(w http.ResponseWriter, r *http.Request) {
	j, ok := h.codes.Job(r.PathValue("id"))
	if !ok {
		h.rd.Problem(w, r, errNoJob)
		return
	}
	h.rd.JSON(w, r, http.StatusOK, j.Status())
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
		doc, err = h.issuer.TrustListV1(r.Context())
	case "2":
		doc, err = h.issuer.TrustList(r.Context())
	default:
		err = validation.Field("version", "trust_list_version")
	}
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.Write(doc)
}

// TrustRoot serves the root public key that signs the trust list. Verifiers
// in other regions should get it out of band; this is for bootstrapping.
func (h *Handler) TrustRoot(w http.ResponseWriter, r *http.Request) {
	pub := h.issuer.RootPublicKey()
	h.rd.JSON(w, r, http.StatusOK, map[string]string{"region": h.issuer.Region,
		"public_key": base64.RawURLEncoding.EncodeToString(pub), "root_kid": base64.RawURLEncoding.EncodeToString(pass.KeyID(pub))})
}
