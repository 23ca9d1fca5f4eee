// Package resident serves people: a resident's dependents, and for staff
// the look-up, the community roster, a person's full record (a logged read)
// with the forms that change their code's inputs, and the residents API.
package resident

import (
	"embed"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/outbreak-platform/outbreak/internal/accesslog"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/http/render"
	"github.com/outbreak-platform/outbreak/internal/http/route"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/list"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/tracing"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

//go:embed templates/*.html
var templates embed.FS

// Handler serves the people pages and API.
type Handler struct {
	rd        *render.Renderer
	t         *render.Templates
	residents *resident.Service
	juris     jurisdiction.Store
	codes     *healthcode.Service
	tracing   *tracing.Service
}

// New builds the people area. The record page shows the person's code
// (codes) and, to the CDC, their tracings (traces).
func New(rd *render.Renderer, residents *resident.Service, juris jurisdiction.Store, codes *healthcode.Service, traces *tracing.Service) (*Handler, error) {
	t, err := rd.Parse(templates)
	if err != nil {
		return nil, err
	}
	return &Handler{rd: rd, t: t, residents: residents, juris: juris, codes: codes, tracing: traces}, nil
}

// Routes lists the people pages and API.
func (h *Handler) Routes() []route.Route {
	read, write := route.Can(rbac.ResidentRead), route.Can(rbac.ResidentWrite)
	return []route.Route{
		route.P("GET /me/dependents/new", route.Resident, h.t.Show("dependent_new", h.dependentPage)),
		route.P("POST /me/dependents", route.Resident, h.AddDependent),
		route.P("GET /staff/residents/find", read, h.Find),
		route.P("GET /staff/residents/{id}", read, h.Record),
		route.P("GET /staff/roster", read, h.Roster),
		// Any staff member may post; the health-code service checks the
		// permission each input needs.
		route.P("POST /staff/residents/{id}/inputs", route.Staff, h.StaffInput),

		route.A("GET /api/v1/me/dependents", route.Resident, h.Dependents),
		route.A("POST /api/v1/me/dependents", route.Resident, h.APIAddDependent),
		route.A("GET /api/v1/residents", read, h.List),
		route.A("GET /api/v1/residents/lookup", read, h.Lookup),
		route.A("GET /api/v1/residents/{id}", read, h.Get),
		route.A("POST /api/v1/residents", write, h.Create),
		route.A("GET /api/v1/stats/residents", route.Can(rbac.StatsRead), h.Counts),
	}
}

type dependentData struct{ Communities []render.Option }

func (h *Handler) dependentPage(w http.ResponseWriter, r *http.Request) (*render.Page, error) {
	p := h.rd.NewPage(w, r, "dependent.title")
	me, err := h.residents.Self(r.Context(), auth.From(r.Context()).Actor)
	if err != nil {
		return p, err
	}
	js, err := h.juris.Subtree(r.Context(), jurisdiction.All)
	p.Data = dependentData{Communities: render.CommunityOptions(js, p.L.Lang)}
	p.Form.Set("community_code", me.CommunityCode)
	return p, err
}

// AddDependent registers a dependent with the signed-in resident as guardian.
func (h *Handler) AddDependent(w http.ResponseWriter, r *http.Request) {
	p, err := h.dependentPage(w, r)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	p.Form = r.PostForm
	n := resident.New{Name: r.PostFormValue("name"), IDNumber: r.PostFormValue("id_number"), Phone: r.PostFormValue("phone"),
		CommunityCode: r.PostFormValue("community_code")}
	if _, err := h.residents.AddDependent(r.Context(), auth.From(r.Context()).Actor, n, h.rd.Today()); err != nil {
		h.t.Fail(w, r, p, "dependent_new", err)
		return
	}
	render.Redirect(w, r, "/me", "flash.dependent_added")
}

// Find searches people in scope by name, resident number, ID number or
// phone, a page at a time; each person shown is a logged read.
func (h *Handler) Find(w http.ResponseWriter, r *http.Request) {
	p := h.rd.NewPage(w, r, "staff.find")
	p.Form = r.URL.Query()
	if len(p.Form) == 0 { // nothing asked yet: the empty form
		p.Data = foundData{}
		h.t.Render(w, r, http.StatusOK, "staff_found", p)
		return
	}
	q, err := searchOf(r)
	if err == nil {
		var found list.Of[resident.Resident]
		found, err = h.residents.FindForStaff(r.Context(), auth.From(r.Context()).Actor, q, h.rd.Today())
		p.Data = foundData{Residents: found.Items, Pager: render.Pages(r, found), Searched: true}
	}
	if err != nil {
		p.Data = foundData{}
		h.t.Fail(w, r, p, "staff_found", err)
		return
	}
	h.t.Render(w, r, http.StatusOK, "staff_found", p)
}

type foundData struct {
	Residents []resident.Resident
	Pager     render.Pager
	Searched  bool
}

// searchOf reads a staff search from the query: q (the one box), or name,
// resident, id_number and phone, with purpose and the page.
func searchOf(r *http.Request) (resident.Search, error) {
	q := r.URL.Query()
	s := resident.Search{Q: q.Get("q"), Name: q.Get("name"), IDNumber: q.Get("id_number"), Phone: q.Get("phone"), Purpose: q.Get("purpose")}
	var e validation.Errors
	if v := strings.TrimSpace(q.Get("resident")); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			e.Add("resident", "invalid")
		}
		s.ResidentID = id
	}
	page, err := render.PageOf(r)
	if ve, ok := validation.As(err); ok {
		e.Fields = append(e.Fields, ve.Fields...)
	}
	s.Page = page
	return s, e.Err()
}

type rosterData struct {
	Community, Code string
	Residents       []resident.Resident
	Pager           render.Pager
}

var errNotFound = db.ErrNotFound

// Roster lists the residents of one community in scope, a page at a time.
// It shows names and masked numbers only; opening a record is a logged read.
func (h *Handler) Roster(w http.ResponseWriter, r *http.Request) {
	p := h.rd.NewPage(w, r, "roster.title")
	a := auth.From(r.Context()).Actor
	j, err := h.juris.GetByCode(r.Context(), r.URL.Query().Get("community"))
	if err != nil || j.Level != jurisdiction.Community || !jurisdiction.InScope(a.ScopePath, j.Path) {
		h.rd.Error(w, r, p, errNotFound)
		return
	}
	page, err := render.PageOf(r)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	rs, err := h.residents.Residents.Roster(r.Context(), a.ScopePath, j.ID, page)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	name, err := jurisdiction.Labelled(r.Context(), h.juris, j, p.L.Lang)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	p.Data = rosterData{Community: name, Code: j.Code, Residents: rs.Items, Pager: render.Pages(r, rs)}
	h.t.Render(w, r, http.StatusOK, "staff_roster", p)
}

type recordData struct {
	Resident   *resident.Resident
	Guardian   *resident.Resident
	Dependents []resident.Resident
	Action     string
	Keep       map[string]string // query values the purpose form carries on
	Code       *healthcode.View
	Purpose    string
	// What the reader's role may change.
	CanCase, CanTest, CanQuarantine bool
	Today                           civil.Date
	// Case is the person's case status, if any: the case-status form
	// starts from its onset, which tracing reads.
	Case *healthcode.CaseStatus
	// Traces are the contact tracings of the person as a case.
	Traces []traceLine
}

// traceLine is one tracing of a case, worded for the record page.
type traceLine struct {
	Text, Withdrawn string
}

// Record shows a person's full record once the staff member has said why;
// the read is logged with that purpose.
func (h *Handler) Record(w http.ResponseWriter, r *http.Request) {
	p := h.rd.NewPage(w, r, "record.title")
	p.Form = r.URL.Query()
	h.record(w, r, p, http.StatusOK)
}

// record renders the record page with status; p may carry form errors.
func (h *Handler) record(w http.ResponseWriter, r *http.Request, p *render.Page, status int) {
	a := auth.From(r.Context()).Actor
	id, err := render.PathID(r, "id")
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	purpose := r.URL.Query().Get("purpose")
	if !accesslog.ValidPurpose(purpose) {
		p.Data = recordData{Action: r.URL.Path}
		h.t.Render(w, r, status, "staff_resident", p) // a failed input is never answered 200
		return
	}
	res, err := h.residents.ReadForStaff(r.Context(), a, id, purpose)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	d := recordData{Resident: &res, Purpose: purpose, Today: h.rd.Today(), CanCase: a.Can(rbac.CaseWrite),
		CanTest: a.Can(rbac.LabResultWrite), CanQuarantine: a.Can(rbac.CaseWrite) || a.Can(rbac.ResidentWrite)}
	switch c, err := h.codes.Code(r.Context(), res.ID); {
	case err == nil:
		v, err := h.codes.View(r.Context(), c, p.L, healthcode.Staff)
		if err != nil {
			h.rd.Error(w, r, p, err)
			return
		}
		d.Code = &v
	case !errors.Is(err, healthcode.ErrNoCode):
		h.rd.Error(w, r, p, err)
		return
	}
	if d.CanCase {
		if d.Case, err = h.codes.CaseStatus(r.Context(), res.ID); err != nil {
			h.rd.Error(w, r, p, err)
			return
		}
		ts, err := h.tracing.Traces(r.Context(), res.ID)
		if err != nil {
			h.rd.Error(w, r, p, err)
			return
		}
		for _, t := range ts {
			l := traceLine{Text: p.L.T("contacts.trace_line", "case", t.Pseudonym, "from", h.rd.AtUnix(t.InfectiousFrom),
				"until", h.rd.AtUnix(t.InfectiousUntil), "close", t.Close, "secondary", secondaryCount(t.Secondary), "sites", t.Sites)}
			if t.WithdrawnAt.Valid {
				l.Withdrawn = p.L.T("contacts.withdrawn", "reason", t.WithdrawnReason.String)
			}
			d.Traces = append(d.Traces, l)
		}
	}
	if res.GuardianID.Valid {
		g, err := h.residents.Residents.Get(r.Context(), a.ScopePath, res.GuardianID.Int64)
		if err == nil {
			d.Guardian = &g
		} else if !errors.Is(err, db.ErrNotFound) {
			h.rd.Error(w, r, p, err)
			return
		}
	}
	deps, err := h.residents.Residents.Dependents(r.Context(), res.ID)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	for _, dep := range deps { // a dependent may live outside the reader's scope
		if jurisdiction.InScope(a.ScopePath, dep.CommunityPath) {
			d.Dependents = append(d.Dependents, dep)
		}
	}
	p.Data = d
	h.t.Render(w, r, status, "staff_resident", p)
}

// secondaryCount words a tracing's count of secondary contacts, which is
// negative while they are still being found.
func secondaryCount(n int) string {
	if n < 0 {
		return "…"
	}
	return strconv.Itoa(n)
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

// StaffInput applies one staff input to a person's code — case status,
// contact, test, quarantine, override — from the forms on the record page.
// The service checks the permission each input needs.
func (h *Handler) StaffInput(w http.ResponseWriter, r *http.Request) {
	p := h.rd.NewPage(w, r, "record.title")
	id, err := render.PathID(r, "id")
	if err != nil {
		h.rd.Error(w, r, p, err)
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
			_, err = h.codes.SetCaseStatus(ctx, actor, id, c)
		}
	case "contact":
		c := healthcode.Contact{Kind: r.PostFormValue("kind"), ExposedOn: date(&e, r, "exposed_on"), Evidence: r.PostFormValue("evidence"), Change: ch}
		if err = e.Err(); err == nil {
			_, err = h.codes.AddContact(ctx, actor, id, c)
		}
	case "test":
		t := healthcode.TestResult{Kind: r.PostFormValue("kind"), Result: r.PostFormValue("result"), SampledOn: date(&e, r, "sampled_on"), Change: ch}
		if err = e.Err(); err == nil {
			_, err = h.codes.AddTest(ctx, actor, id, t)
		}
	case "quarantine":
		q := healthcode.Quarantine{Kind: r.PostFormValue("kind"), Start: date(&e, r, "start"), End: date(&e, r, "end"), Change: ch}
		if err = e.Err(); err == nil {
			_, err = h.codes.OrderQuarantine(ctx, actor, id, q)
		}
	case "override":
		o := healthcode.Override{Colour: r.PostFormValue("colour"), Until: date(&e, r, "until"), Change: ch}
		if err = e.Err(); err == nil {
			_, err = h.codes.SetOverride(ctx, actor, id, o)
		}
	case "clear_override":
		_, err = h.codes.ClearOverride(ctx, actor, id, ch)
	case "retrace":
		if _, err = h.tracing.Retrace(ctx, actor, id); errors.Is(err, tracing.ErrNotACase) {
			err = validation.Field("retrace", "contacts.not_a_case")
		}
	default:
		err = validation.Field("action", "invalid")
	}
	if ve, ok := validation.As(err); ok && r.PostFormValue("action") != "" {
		// Show the record again with the message beside the field.
		r.URL.RawQuery = "purpose=" + r.PostFormValue("purpose")
		p.Form = r.PostForm
		render.FieldErrors(p, r.PostFormValue("action")+".", ve)
		h.record(w, r, p, http.StatusUnprocessableEntity)
		return
	}
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	render.Redirect(w, r, "/staff/residents/"+strconv.FormatInt(id, 10)+"?purpose="+url.QueryEscape(r.PostFormValue("purpose")), "flash.saved")
}
