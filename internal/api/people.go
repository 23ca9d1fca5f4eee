package api

import (
	"net/http"

	"github.com/outbreak-platform/outbreak/internal/accesslog"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/jsonio"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/problem"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// Dependents lists the signed-in resident's dependents.
func (h *Handler) Dependents(w http.ResponseWriter, r *http.Request) {
	me, err := h.Residents.Self(r.Context(), auth.From(r.Context()).Actor)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	deps, err := h.Residents.Residents.Dependents(r.Context(), me.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, map[string]any{"dependents": views(deps, h.lang(r), true)})
}

// AddDependent registers a dependent of the signed-in resident.
func (h *Handler) AddDependent(w http.ResponseWriter, r *http.Request) {
	var n resident.New
	if err := jsonio.Decode(w, r, &n); err != nil {
		h.fail(w, r, err)
		return
	}
	dep, err := h.Residents.AddDependent(r.Context(), auth.From(r.Context()).Actor, n, h.today())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusCreated, view(dep, h.lang(r), true))
}

// ListResidents lists residents in scope, a page at a time, with masked numbers.
func (h *Handler) ListResidents(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context()).Actor
	after, err := queryInt(r, "after")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f := resident.Filter{AfterID: after, NamePrefix: r.URL.Query().Get("name"), Limit: 100}
	if code := r.URL.Query().Get("community"); code != "" {
		j, err := h.Jurisdictions.GetByCode(r.Context(), code)
		if err != nil || !jurisdiction.InScope(a.ScopePath, j.Path) {
			h.fail(w, r, validation.Field("community", "not_found"))
			return
		}
		f.CommunityID = j.ID
	}
	rs, err := h.Residents.Residents.List(r.Context(), a.ScopePath, f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := map[string]any{"residents": views(rs, h.lang(r), false)}
	if len(rs) == f.Limit {
		out["next_after"] = rs[len(rs)-1].ID
	}
	h.write(w, r, http.StatusOK, out)
}

// LookupResidents finds people by ID number or phone; each is a logged read.
func (h *Handler) LookupResidents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rs, err := h.Residents.FindForStaff(r.Context(), auth.From(r.Context()).Actor, q.Get("id_number"), q.Get("phone"), q.Get("purpose"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, map[string]any{"residents": views(rs, h.lang(r), true)})
}

// GetResident returns one person's record; the read is logged with its purpose.
func (h *Handler) GetResident(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.Residents.ReadForStaff(r.Context(), auth.From(r.Context()).Actor, id, r.URL.Query().Get("purpose"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, view(res, h.lang(r), true))
}

// CreateResident registers a resident in a community in scope.
func (h *Handler) CreateResident(w http.ResponseWriter, r *http.Request) {
	var n resident.New
	if err := jsonio.Decode(w, r, &n); err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.Residents.RegisterByStaff(r.Context(), auth.From(r.Context()).Actor, n, h.today())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusCreated, view(res, h.lang(r), true))
}

// ResidentCounts returns residents per community in scope.
func (h *Handler) ResidentCounts(w http.ResponseWriter, r *http.Request) {
	cs, err := h.Residents.Residents.CountByCommunity(r.Context(), auth.From(r.Context()).Actor.ScopePath)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	type row struct {
		CommunityID int64 `json:"community_id"`
		Residents   int64 `json:"residents"`
		Dependents  int64 `json:"dependents"`
	}
	out := make([]row, len(cs))
	for i, c := range cs {
		out[i] = row(c)
	}
	h.write(w, r, http.StatusOK, map[string]any{"communities": out})
}

// AccessLog lists staff reads in scope, newest first.
func (h *Handler) AccessLog(w http.ResponseWriter, r *http.Request) {
	var f accesslog.Filter
	var err error
	for name, dst := range map[string]*int64{"resident": &f.ResidentID, "actor": &f.ActorID, "before": &f.BeforeID} {
		if *dst, err = queryInt(r, name); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	es, err := h.Access.List(r.Context(), auth.From(r.Context()).Actor.ScopePath, f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, map[string]any{"entries": es})
}

var errNoSuchRoute = problem.New(http.StatusNotFound, "No such API route.")

// NotFound answers unknown API routes with problem details.
func (h *Handler) NotFound(w http.ResponseWriter, r *http.Request) { h.fail(w, r, errNoSuchRoute) }
