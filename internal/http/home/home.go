// Package home serves the site's start: "/" sends each visitor to their
// home, /staff is each staff role's start page (what the role can do in its
// jurisdiction, and its residents by community), and a path no route serves
// gets the not-found page.
package home

import (
	"embed"
	"net/http"

	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/http/render"
	"github.com/outbreak-platform/outbreak/internal/http/route"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/resident"
)

//go:embed templates/*.html
var templates embed.FS

// Handler serves the start pages.
type Handler struct {
	rd        *render.Renderer
	t         *render.Templates
	juris     jurisdiction.Store
	residents resident.Store
}

// New builds the start pages.
func New(rd *render.Renderer, juris jurisdiction.Store, residents resident.Store) (*Handler, error) {
	t, err := rd.Parse(templates)
	if err != nil {
		return nil, err
	}
	return &Handler{rd: rd, t: t, juris: juris, residents: residents}, nil
}

// Routes lists the start pages.
func (h *Handler) Routes() []route.Route {
	return []route.Route{
		route.P("GET /{$}", route.Anyone, h.Root),
		route.P("/", route.Anyone, h.NotFound),
		route.P("GET /staff", route.Staff, h.StaffHome),
	}
}

// Root sends each visitor to their home.
func (h *Handler) Root(w http.ResponseWriter, r *http.Request) {
	p := auth.From(r.Context())
	switch {
	case p == nil || p.Account == nil:
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	case p.Actor.Role == rbac.Resident:
		http.Redirect(w, r, "/me", http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/staff", http.StatusSeeOther)
	}
}

// NotFound shows the error page for a path no route serves.
func (h *Handler) NotFound(w http.ResponseWriter, r *http.Request) {
	h.rd.Error(w, r, nil, db.ErrNotFound)
}

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
	p := h.rd.NewPage(w, r, "staff.heading")
	a := auth.From(r.Context()).Actor
	j, err := h.juris.Get(r.Context(), a.JurisdictionID)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	name, err := jurisdiction.Labelled(r.Context(), h.juris, j, p.L.Lang)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	d := staffHome{ScopeName: name + " (" + j.Code + ")", CanRead: a.Can(rbac.ResidentRead)}
	if a.Can(rbac.StatsRead) {
		counts, err := h.residents.CountByCommunity(r.Context(), a.ScopePath)
		if err != nil {
			h.rd.Error(w, r, p, err)
			return
		}
		js, err := h.juris.Subtree(r.Context(), a.ScopePath)
		if err != nil {
			h.rd.Error(w, r, p, err)
			return
		}
		byCommunity := map[int64]resident.Count{}
		for _, c := range counts {
			byCommunity[c.CommunityID] = c
		}
		names := render.Labels(js, p.L.Lang)
		var most int64
		for _, j := range js {
			if j.Level != jurisdiction.Community {
				continue
			}
			c := byCommunity[j.ID]
			d.Counts = append(d.Counts, countRow{Code: j.Code, Name: names[j.Code], Residents: c.Residents, Dependents: c.Dependents})
			d.Total += c.Residents
			d.TotalDependents += c.Dependents
			most = max(most, c.Residents)
		}
		for i := range d.Counts {
			d.Counts[i].Percent = d.Counts[i].Residents * 100 / max(most, 1)
		}
	}
	d.Links = links(a)
	p.Data = d
	h.t.Render(w, r, http.StatusOK, "staff_home", p)
}

// links are the tools of a's role.
func links(a rbac.Actor) []link {
	var ls []link
	if a.Can(rbac.PassVerify) {
		ls = append(ls, link{"/checkpoint", "checkpoint.open"})
	}
	if a.Can(rbac.CaseWrite) {
		ls = append(ls, link{"/staff/appeals", "appeal.queue"})
	}
	if a.Can(rbac.ResidentWrite) || a.Can(rbac.CaseWrite) {
		ls = append(ls, link{"/staff/contacts", "contacts.followup_link"})
	}
	if a.Can(rbac.AreaRiskWrite) {
		ls = append(ls, link{"/staff/control", "control.title"})
	}
	if a.Can(rbac.AccessLogRead) {
		ls = append(ls, link{"/staff/access-log", "accesslog.title"}, link{"/staff/audit", "auditlog.title"})
	}
	if a.Can(rbac.StaffManage) {
		ls = append(ls, link{"/admin/staff", "admin.staff"})
	}
	if a.Can(rbac.JurisdictionManage) {
		ls = append(ls, link{"/admin/jurisdictions", "admin.jurisdictions"})
	}
	if a.Can(rbac.TokenManage) {
		ls = append(ls, link{"/admin/tokens", "admin.tokens"})
	}
	return ls
}
