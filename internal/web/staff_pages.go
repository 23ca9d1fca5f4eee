package web

import (
	"time"

	"errors"
	"net/http"
	"strconv"

	"github.com/outbreak-platform/outbreak/internal/accesslog"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/resident"
)

var errNotFound = db.ErrNotFound

type countRow struct {
	Code, Name         string
	Residents, Percent int64
	Dependents         int64
}

type link struct{ Href, Label string }

type staffHome struct {
	ScopeName              string
	CanRead                bool
	Counts                 []countRow
	Total, TotalDependents int64
	Links                  []link
}

// StaffHome is each staff role's start page: what the role can do, in its
// jurisdiction.
func (h *Handler) StaffHome(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "staff.heading")
	a := auth.From(r.Context()).Actor
	j, err := h.Jurisdictions.Get(r.Context(), a.JurisdictionID)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	d := staffHome{ScopeName: j.Name(p.L.Lang) + " (" + j.Code + ")", CanRead: a.Can(rbac.ResidentRead)}
	if a.Can(rbac.StatsRead) {
		counts, err := h.Residents.Residents.CountByCommunity(r.Context(), a.ScopePath)
		if err != nil {
			h.fail(w, r, p, "", err)
			return
		}
		js, err := h.Jurisdictions.Subtree(r.Context(), a.ScopePath)
		if err != nil {
			h.fail(w, r, p, "", err)
			return
		}
		byCommunity := map[int64]resident.Count{}
		for _, c := range counts {
			byCommunity[c.CommunityID] = c
		}
		var most int64
		for _, j := range js {
			if j.Level != jurisdiction.Community {
				continue
			}
			c := byCommunity[j.ID]
			d.Counts = append(d.Counts, countRow{Code: j.Code, Name: j.Name(p.L.Lang), Residents: c.Residents, Dependents: c.Dependents})
			d.Total += c.Residents
			d.TotalDependents += c.Dependents
			most = max(most, c.Residents)
		}
		for i := range d.Counts {
			d.Counts[i].Percent = d.Counts[i].Residents * 100 / max(most, 1)
		}
	}
	if a.Can(rbac.PassVerify) {
		d.Links = append(d.Links, link{"/checkpoint", "checkpoint.open"})
	}
	if a.Can(rbac.CaseWrite) {
		d.Links = append(d.Links, link{"/staff/appeals", "appeal.queue"})
	}
	if a.Can(rbac.ResidentWrite) || a.Can(rbac.CaseWrite) {
		d.Links = append(d.Links, link{"/staff/contacts", "contacts.followup_link"})
	}
	if a.Can(rbac.AreaRiskWrite) {
		d.Links = append(d.Links, link{"/staff/control", "control.title"})
	}
	if a.Can(rbac.AccessLogRead) {
		d.Links = append(d.Links, link{"/staff/access-log", "accesslog.title"}, link{"/staff/audit", "auditlog.title"})
	}
	if a.Can(rbac.StaffManage) {
		d.Links = append(d.Links, link{"/admin/staff", "admin.staff"})
	}
	if a.Can(rbac.JurisdictionManage) {
		d.Links = append(d.Links, link{"/admin/jurisdictions", "admin.jurisdictions"})
	}
	if a.Can(rbac.TokenManage) {
		d.Links = append(d.Links, link{"/admin/tokens", "admin.tokens"})
	}
	p.Data = d
	h.render(w, r, http.StatusOK, "staff_home", p)
}

// Find looks a person up by ID number or phone; each person found is a
// logged read.
func (h *Handler) Find(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "staff.find")
	p.Form = r.URL.Query()
	q := r.URL.Query()
	found, err := h.Residents.FindForStaff(r.Context(), auth.From(r.Context()).Actor, q.Get("id_number"), q.Get("phone"), q.Get("purpose"))
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	p.Data = struct{ Residents []resident.Resident }{found}
	h.render(w, r, http.StatusOK, "staff_found", p)
}

type rosterData struct {
	Community, Code string
	Residents       []resident.Resident
	Next            int64
}

// Roster lists the residents of one community in scope, a page at a time.
// It shows names and masked numbers only; opening a record is a logged read.
func (h *Handler) Roster(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "roster.title")
	a := auth.From(r.Context()).Actor
	j, err := h.Jurisdictions.GetByCode(r.Context(), r.URL.Query().Get("community"))
	if err != nil || j.Level != jurisdiction.Community || !jurisdiction.InScope(a.ScopePath, j.Path) {
		h.fail(w, r, p, "", errNotFound)
		return
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	const per = 100
	rs, err := h.Residents.Residents.List(r.Context(), a.ScopePath, resident.Filter{CommunityID: j.ID, AfterID: after, Limit: per})
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	d := rosterData{Community: j.Name(p.L.Lang), Code: j.Code, Residents: rs}
	if len(rs) == per {
		d.Next = rs[len(rs)-1].ID
	}
	p.Data = d
	h.render(w, r, http.StatusOK, "staff_roster", p)
}

type recordData struct {
	Resident   *resident.Resident
	Guardian   *resident.Resident
	Dependents []resident.Resident
	Action     string
	Keep       map[string]string
	Code       *codeView
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
	p := h.newPage(w, r, "record.title")
	p.Form = r.URL.Query()
	h.record(w, r, p, http.StatusOK)
}

// record renders the record page with status; p may carry form errors.
func (h *Handler) record(w http.ResponseWriter, r *http.Request, p *page, status int) {
	a := auth.From(r.Context()).Actor
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.fail(w, r, p, "", errNotFound)
		return
	}
	purpose := r.URL.Query().Get("purpose")
	if !accesslog.ValidPurpose(purpose) {
		p.Data = recordData{Action: r.URL.Path}
		h.render(w, r, http.StatusOK, "staff_resident", p)
		return
	}
	res, err := h.Residents.ReadForStaff(r.Context(), a, id, purpose)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	d := recordData{Resident: &res, Purpose: purpose, Today: civil.Of(h.Now()), CanCase: a.Can(rbac.CaseWrite),
		CanTest: a.Can(rbac.LabResultWrite), CanQuarantine: a.Can(rbac.CaseWrite) || a.Can(rbac.ResidentWrite)}
	switch c, err := h.Codes.Code(r.Context(), res.ID); {
	case err == nil:
		if d.Code, err = h.codeView(r, c, p.L.Lang); err != nil {
			h.fail(w, r, p, "", err)
			return
		}
	case !errors.Is(err, healthcode.ErrNoCode):
		h.fail(w, r, p, "", err)
		return
	}
	if d.CanCase {
		if d.Case, err = h.Codes.CaseStatus(r.Context(), res.ID); err != nil {
			h.fail(w, r, p, "", err)
			return
		}
	}
	if d.CanCase && h.Tracing != nil {
		ts, err := h.Tracing.Traces(r.Context(), res.ID)
		if err != nil {
			h.fail(w, r, p, "", err)
			return
		}
		loc := h.Now().Location()
		at := func(t int64) string { return time.Unix(t, 0).In(loc).Format("2006-01-02 15:04") }
		for _, t := range ts {
			l := traceLine{Text: p.L.T("contacts.trace_line", "case", t.Pseudonym, "from", at(t.InfectiousFrom), "until", at(t.InfectiousUntil),
				"close", t.Close, "secondary", secondaryCount(t.Secondary), "sites", t.Sites)}
			if t.WithdrawnAt.Valid {
				l.Withdrawn = p.L.T("contacts.withdrawn", "reason", t.WithdrawnReason.String)
			}
			d.Traces = append(d.Traces, l)
		}
	}
	if res.GuardianID.Valid {
		g, err := h.Residents.Residents.Get(r.Context(), a.ScopePath, res.GuardianID.Int64)
		if err == nil {
			d.Guardian = &g
		} else if !errors.Is(err, db.ErrNotFound) {
			h.fail(w, r, p, "", err)
			return
		}
	}
	deps, err := h.Residents.Residents.Dependents(r.Context(), res.ID)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	for _, dep := range deps { // a dependent may live outside the reader's scope
		if jurisdiction.InScope(a.ScopePath, dep.CommunityPath) {
			d.Dependents = append(d.Dependents, dep)
		}
	}
	p.Data = d
	h.render(w, r, status, "staff_resident", p)
}

// AccessLog shows the auditor every staff read in scope, newest first.
func (h *Handler) AccessLog(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "accesslog.title")
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	const per = 100
	es, err := h.Access.List(r.Context(), auth.From(r.Context()).Actor.ScopePath, accesslog.Filter{BeforeID: before, Limit: per})
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	var next int64
	if len(es) == per {
		next = es[len(es)-1].ID
	}
	p.Data = struct {
		Entries []accesslog.Entry
		Next    int64
	}{es, next}
	h.render(w, r, http.StatusOK, "access_log", p)
}

// secondaryCount words a tracing's count of secondary contacts, which is
// negative while they are still being found.
func secondaryCount(n int) string {
	if n < 0 {
		return "…"
	}
	return strconv.Itoa(n)
}
