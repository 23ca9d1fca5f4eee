// Package healthcode serves health codes: a resident's code page with the
// pass, declarations and appeals; the staff inputs API; the appeal queue;
// the commander's control page (risk areas, rule files, recomputations);
// and the region's trust list that verifiers anywhere fetch.
package healthcode

import (
	"embed"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/http/render"
	"github.com/outbreak-platform/outbreak/internal/http/route"
	"github.com/outbreak-platform/outbreak/internal/issuer"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/list"
	"github.com/outbreak-platform/outbreak/internal/pass"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/rules"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

//go:embed templates/*.html
var templates embed.FS

// Handler serves the health-code pages and API.
type Handler struct {
	rd        *render.Renderer
	t         *render.Templates
	codes     *healthcode.Service
	residents *resident.Service
	issuer    *issuer.Issuer
	juris     jurisdiction.Store
}

// New builds the health-code area.
func New(rd *render.Renderer, codes *healthcode.Service, residents *resident.Service, iss *issuer.Issuer, juris jurisdiction.Store) (*Handler, error) {
	t, err := rd.Parse(templates)
	if err != nil {
		return nil, err
	}
	return &Handler{rd: rd, t: t, codes: codes, residents: residents, issuer: iss, juris: juris}, nil
}

// Routes lists the health-code pages and API.
func (h *Handler) Routes() []route.Route {
	cases, control := route.Can(rbac.CaseWrite), route.Can(rbac.AreaRiskWrite)
	return []route.Route{
		route.P("GET /me", route.Resident, h.Home),
		route.P("GET /me/declare", route.Resident, h.t.Show("declare", h.declarePage)),
		route.P("POST /me/declare", route.Resident, h.Declare),
		route.P("POST /me/appeal", route.Resident, h.FileAppeal),
		route.P("GET /me/pass.svg", route.Resident, h.PassSVG),
		route.P("GET /staff/appeals", cases, h.AppealQueue),
		route.P("POST /staff/appeals/{id}", cases, h.AnswerAppeal),
		route.P("GET /staff/control", control, h.Control),
		route.P("POST /staff/control/risk", control, h.SetRisk),
		route.P("POST /staff/control/rules", control, h.Rules),
		route.P("GET /staff/jobs/{id}", route.Staff, h.JobPage),

		route.A("GET /api/v1/trust-list", route.Anyone, h.TrustList),
		route.A("GET /api/v1/trust-list/root", route.Anyone, h.TrustRoot),
		route.A("GET /api/v1/me/code", route.Resident, h.MyCode),
		route.A("GET /api/v1/me/pass", route.Resident, h.MyPass),
		route.A("POST /api/v1/me/declarations", route.Resident, h.APIDeclare),
		route.A("POST /api/v1/me/appeals", route.Resident, h.APIAppeal),
		route.A("GET /api/v1/residents/{id}/code", route.Can(rbac.ResidentRead), h.ResidentCode),
		route.A("POST /api/v1/residents/{id}/case-status", cases, h.SetCaseStatus),
		route.A("POST /api/v1/residents/{id}/contacts", cases, h.AddContact),
		route.A("POST /api/v1/residents/{id}/tests", route.Can(rbac.LabResultWrite), h.AddTest),
		route.A("POST /api/v1/residents/{id}/quarantine", route.CanAny(rbac.CaseWrite, rbac.ResidentWrite), h.OrderQuarantine),
		route.A("POST /api/v1/residents/{id}/override", cases, h.SetOverride),
		route.A("DELETE /api/v1/residents/{id}/override", cases, h.ClearOverride),
		route.A("POST /api/v1/test-results", route.Can(rbac.LabResultWrite), h.SubmitTestResult),
		route.A("GET /api/v1/appeals", cases, h.Appeals),
		route.A("POST /api/v1/appeals/{id}/answer", cases, h.APIAnswerAppeal),
		route.A("POST /api/v1/risk-areas", control, h.SetRiskArea),
		route.A("POST /api/v1/rules/dry-run", control, h.DryRunRules),
		route.A("POST /api/v1/rules", control, h.ApplyRules),
		route.A("GET /api/v1/jobs/{id}", route.Staff, h.JobStatus),
	}
}

// subject is the resident a holder's request is about: themselves, or with
// ?resident=ID one of their dependents.
func (h *Handler) subject(r *http.Request) (resident.Resident, error) {
	id, err := render.ResidentParam(r)
	if err != nil {
		return resident.Resident{}, err
	}
	return h.residents.SelfOrDependent(r.Context(), auth.From(r.Context()).Actor, id)
}

type homeData struct {
	Resident   resident.Resident // whose page this is: the holder or a dependent
	Self       bool
	Dependents []resident.Resident
	Code       *healthcode.View // nil before the first declaration
	Due        bool             // the daily declaration is due
}

// Home shows a resident their health code — colour, pass, reasons, when it
// turns green, history, appeals — their record and their dependents; with
// ?resident=ID, the same for one of their dependents.
func (h *Handler) Home(w http.ResponseWriter, r *http.Request) {
	p := h.rd.NewPage(w, r, "me.heading")
	actor := auth.From(r.Context()).Actor
	who, err := h.subject(r)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	d := homeData{Resident: who, Self: who.ID == actor.ResidentID}
	if d.Self {
		if d.Dependents, err = h.residents.Residents.Dependents(r.Context(), who.ID); err != nil {
			h.rd.Error(w, r, p, err)
			return
		}
	}
	c, err := h.codes.Code(r.Context(), who.ID)
	switch {
	case err == nil:
		v, err := h.codes.View(r.Context(), c, p.L, healthcode.Holder)
		if err != nil {
			h.rd.Error(w, r, p, err)
			return
		}
		d.Code = &v
	case !errors.Is(err, healthcode.ErrNoCode):
		h.rd.Error(w, r, p, err)
		return
	}
	if d.Due, err = h.codes.DeclarationDue(r.Context(), who.ID); err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	p.Data = d
	h.t.Render(w, r, http.StatusOK, "resident_home", p)
}

// PassSVG draws the holder's (or a dependent's) current pass as a QR code
// framed in its colour.
func (h *Handler) PassSVG(w http.ResponseWriter, r *http.Request) {
	svg, err := h.passSVG(r)
	if err != nil {
		h.rd.Error(w, r, nil, err)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte(svg))
}

func (h *Handler) passSVG(r *http.Request) (string, error) {
	text, claims, err := h.issue(r)
	if err != nil {
		return "", err
	}
	return pass.SVG(text, claims.Colour)
}

// issue signs a fresh pass for the request's subject.
func (h *Handler) issue(r *http.Request) (string, pass.Claims, error) {
	who, err := h.subject(r)
	if err != nil {
		return "", pass.Claims{}, err
	}
	c, err := h.codes.Code(r.Context(), who.ID)
	if err != nil {
		return "", pass.Claims{}, err
	}
	return h.issuer.IssueTo(r.Context(), who.ID, who.Name, pass.Colour(c.Colour))
}

type declareData struct {
	Who         resident.Resident
	Communities []render.Option
	Regions     []render.Option
	Symptoms    []string
	Transports  []string
}

func (h *Handler) declarePage(w http.ResponseWriter, r *http.Request) (*render.Page, error) {
	p := h.rd.NewPage(w, r, "declare.title")
	who, err := h.subject(r)
	if err != nil {
		return p, err
	}
	js, err := h.juris.Subtree(r.Context(), jurisdiction.All)
	if err != nil {
		return p, err
	}
	p.Data = declareData{Who: who, Communities: render.CommunityOptions(js, p.L.Lang), Symptoms: healthcode.Symptoms,
		Transports: healthcode.Transports, Regions: render.JurisdictionOptions(js, p.L.Lang, jurisdiction.City, jurisdiction.District)}
	p.Form.Set("location_code", who.CommunityCode)
	p.Form.Set("temperature_c", "36.5")
	return p, nil
}

// Declare records the declaration and shows the code.
func (h *Handler) Declare(w http.ResponseWriter, r *http.Request) {
	p, err := h.declarePage(w, r)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	p.Form = r.PostForm
	who := p.Data.(declareData).Who
	d := healthcode.Declaration{Kind: r.PostFormValue("kind"), Symptoms: r.PostForm["symptoms"], LocationCode: r.PostFormValue("location_code"),
		ContactWithCase: r.PostFormValue("contact_with_case") == "yes", Origin: r.PostFormValue("origin"), Route: r.PostFormValue("route"),
		Transport: r.PostFormValue("transport")}
	var e validation.Errors
	if t, err := strconv.ParseFloat(strings.TrimSpace(r.PostFormValue("temperature_c")), 64); err != nil {
		e.Add("temperature_c", "healthcode.temperature")
	} else {
		d.TemperatureC = t
	}
	if v := r.PostFormValue("arrival_date"); v != "" {
		if d.ArrivalDate, err = civil.Parse(v); err != nil {
			e.Add("arrival_date", "invalid")
		}
	}
	for i, code := range r.PostForm["visit_region"] {
		if code == "" {
			continue
		}
		var on civil.Date
		if i < len(r.PostForm["visit_on"]) {
			on, _ = civil.Parse(r.PostForm["visit_on"][i])
		}
		d.Visits = append(d.Visits, healthcode.Visit{RegionCode: code, On: on})
	}
	if err := e.Err(); err != nil {
		h.t.Fail(w, r, p, "declare", err)
		return
	}
	if _, err := h.codes.Declare(r.Context(), auth.From(r.Context()).Actor, who.ID, d); err != nil {
		h.t.Fail(w, r, p, "declare", err)
		return
	}
	render.Redirect(w, r, homeOf(r, who.ID), "flash.declared")
}

// homeOf is the code page of residentID as the signed-in resident opens it.
func homeOf(r *http.Request, residentID int64) string {
	if residentID != auth.From(r.Context()).Actor.ResidentID {
		return "/me?resident=" + strconv.FormatInt(residentID, 10)
	}
	return "/me"
}

// FileAppeal records the holder's appeal against their colour.
func (h *Handler) FileAppeal(w http.ResponseWriter, r *http.Request) {
	who, err := h.subject(r)
	if err != nil {
		h.rd.Error(w, r, nil, err)
		return
	}
	if _, err := h.codes.FileAppeal(r.Context(), auth.From(r.Context()).Actor, who.ID, r.PostFormValue("message")); err != nil {
		if _, ok := validation.As(err); ok {
			render.Redirect(w, r, homeOf(r, who.ID), "err.healthcode.message_length_short")
			return
		}
		h.rd.Error(w, r, nil, err)
		return
	}
	render.Redirect(w, r, homeOf(r, who.ID), "flash.appealed")
}

// AppealQueue lists the open appeals in scope, oldest first.
func (h *Handler) AppealQueue(w http.ResponseWriter, r *http.Request) {
	p := h.rd.NewPage(w, r, "appeal.queue")
	pg, err := render.PageOf(r)
	var as list.Of[healthcode.Appeal]
	if err == nil {
		as, err = healthcode.Appeals(r.Context(), h.codes.DB, auth.From(r.Context()).Actor.ScopePath, true, pg)
	}
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	p.Data = struct {
		Items []healthcode.Appeal
		Pager render.Pager
	}{as.Items, render.Pages(r, as)}
	h.t.Render(w, r, http.StatusOK, "appeals", p)
}

// AnswerAppeal records the answer to an appeal.
func (h *Handler) AnswerAppeal(w http.ResponseWriter, r *http.Request) {
	id, err := render.PathID(r, "id")
	if err == nil {
		err = h.codes.AnswerAppeal(r.Context(), auth.From(r.Context()).Actor, id, r.PostFormValue("answer"))
	}
	if _, ok := validation.As(err); ok {
		render.Redirect(w, r, "/staff/appeals", "err.healthcode.message_length_short")
		return
	}
	if err != nil {
		h.rd.Error(w, r, nil, err)
		return
	}
	render.Redirect(w, r, "/staff/appeals", "flash.answered")
}

type controlData struct {
	Jurisdictions []render.Option
	RuleVersion   string
	RuleSource    string
	DryRun        *rules.DryRunReport
	Jobs          []healthcode.JobStatus
}

func (h *Handler) controlPage(w http.ResponseWriter, r *http.Request) (*render.Page, *controlData, error) {
	p := h.rd.NewPage(w, r, "control.title")
	js, err := h.juris.Subtree(r.Context(), auth.From(r.Context()).Actor.ScopePath)
	if err != nil {
		return p, nil, err
	}
	d := &controlData{Jurisdictions: render.JurisdictionOptions(js, p.L.Lang, jurisdiction.City, jurisdiction.District, jurisdiction.Community),
		RuleVersion: h.codes.Rules.Get().Version()}
	for _, j := range h.codes.Jobs() {
		d.Jobs = append(d.Jobs, j.Status())
	}
	p.Data = d
	p.Form.Set("from", h.rd.Today().String())
	return p, d, nil
}

// Control is the commander's page: risk levels of areas, the colour rules
// (dry run, then apply) and the recomputations they start.
func (h *Handler) Control(w http.ResponseWriter, r *http.Request) {
	p, d, err := h.controlPage(w, r)
	if err == nil {
		d.RuleSource, err = healthcode.RuleSource(r.Context(), h.codes.DB)
	}
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	h.t.Render(w, r, http.StatusOK, "control", p)
}

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

// SetRisk sets an area's risk level and shows the recomputation's progress.
func (h *Handler) SetRisk(w http.ResponseWriter, r *http.Request) {
	p, _, err := h.controlPage(w, r)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	var e validation.Errors
	ra := healthcode.RiskArea{JurisdictionCode: r.PostFormValue("jurisdiction_code"), Level: r.PostFormValue("level"), From: date(&e, r, "from"),
		Change: healthcode.Change{Reason: r.PostFormValue("reason"), LegalBasis: r.PostFormValue("legal_basis")}}
	err = e.Err()
	var job *healthcode.Job
	if err == nil {
		job, err = h.codes.SetRiskArea(r.Context(), auth.From(r.Context()).Actor, ra)
	}
	if err != nil {
		p.Form = r.PostForm
		h.t.Fail(w, r, p, "control", err)
		return
	}
	render.Redirect(w, r, "/staff/jobs/"+job.ID, "")
}

// Rules dry-runs or applies a rule file from the form.
func (h *Handler) Rules(w http.ResponseWriter, r *http.Request) {
	p, d, err := h.controlPage(w, r)
	if err != nil {
		h.rd.Error(w, r, p, err)
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
			h.t.Render(w, r, http.StatusUnprocessableEntity, "control", p)
			return
		}
		if c := render.Classify(err); c.Kind == fault.Conflict { // a version clash: said beside the file, kept for editing
			p.Errors["source"] = p.L.T(c.Key, c.Args...)
			p.Error = p.L.T("control.rules_refused")
			h.t.Render(w, r, c.Status, "control", p)
			return
		}
		h.t.Fail(w, r, p, "control", err)
	}
	if r.PostFormValue("apply") == "" {
		rep, err := h.codes.DryRun(r.Context(), []byte(src))
		if err != nil {
			fail(err)
			return
		}
		d.DryRun = &rep
		h.t.Render(w, r, http.StatusOK, "control", p)
		return
	}
	job, err := h.codes.ApplyRuleSet(r.Context(), auth.From(r.Context()).Actor, []byte(src),
		healthcode.Change{Reason: r.PostFormValue("reason"), LegalBasis: r.PostFormValue("legal_basis")})
	if err != nil {
		fail(err)
		return
	}
	if job == nil { // these rules are in force already: nothing was written
		render.Redirect(w, r, "/staff/control", "flash.rules_unchanged")
		return
	}
	render.Redirect(w, r, "/staff/jobs/"+job.ID, "")
}

var errNoJob = fault.New(fault.NotFound, "error.no_job", "healthcode: no such job (jobs are kept in memory for a while)")

// JobPage shows a recomputation's progress, refreshing itself until done.
func (h *Handler) JobPage(w http.ResponseWriter, r *http.Request) {
	p := h.rd.NewPage(w, r, "job.title")
	j, ok := h.codes.Job(r.PathValue("id"))
	if !ok {
		h.rd.Error(w, r, p, errNoJob)
		return
	}
	p.Data = j.Status()
	h.t.Render(w, r, http.StatusOK, "job", p)
}
