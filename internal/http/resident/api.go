package resident

import (
	"net/http"
	"strconv"

	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/http/render"
	"github.com/outbreak-platform/outbreak/internal/jsonio"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/list"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// Dependents lists the signed-in resident's dependents.
func (h *Handler) Dependents(w http.ResponseWriter, r *http.Request) {
	me, err := h.residents.Self(r.Context(), auth.From(r.Context()).Actor)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	deps, err := h.residents.Residents.Dependents(r.Context(), me.ID)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusOK, map[string]any{"dependents": resident.Views(deps, render.Lang(r), true)})
}

// APIAddDependent registers a dependent of the signed-in resident.
func (h *Handler) APIAddDependent(w http.ResponseWriter, r *http.Request) {
	var n resident.New
	if err := jsonio.Decode(w, r, &n); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	dep, err := h.residents.AddDependent(r.Context(), auth.From(r.Context()).Actor, n, h.rd.Today())
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusCreated, dep.View(render.Lang(r), true))
}

func queryInt(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, validation.Field(name, "invalid")
	}
	return n, nil
}

// List lists residents in scope, a page at a time, with masked numbers.
func (h *Handler) List(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context()).Actor
	after, err := queryInt(r, "after")
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	f := resident.Filter{AfterID: after, NamePrefix: r.URL.Query().Get("name"), Limit: 100}
	if code := r.URL.Query().Get("community"); code != "" {
		j, err := h.juris.GetByCode(r.Context(), code)
		if err != nil || !jurisdiction.InScope(a.ScopePath, j.Path) {
			h.rd.Problem(w, r, validation.Field("community", "not_found"))
			return
		}
		f.CommunityID = j.ID
	}
	rs, err := h.residents.Residents.List(r.Context(), a.ScopePath, f)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	out := map[string]any{"residents": resident.Views(rs, render.Lang(r), false)}
	if len(rs) == f.Limit {
		out["next_after"] = rs[len(rs)-1].ID
	}
	h.rd.JSON(w, r, http.StatusOK, out)
}

// Lookup searches people in scope by name, resident number, ID number or
// phone (see Find), a page at a time with the total; each person in the
// answer is a logged read.
func (h *Handler) Lookup(w http.ResponseWriter, r *http.Request) {
	q, err := searchOf(r)
	var found list.Of[resident.Resident]
	if err == nil {
		found, err = h.residents.FindForStaff(r.Context(), auth.From(r.Context()).Actor, q, h.rd.Today())
	}
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusOK, map[string]any{"residents": resident.Views(found.Items, render.Lang(r), true),
		"total": found.Total, "offset": found.Offset, "limit": found.Limit})
}

// Get returns one person's record; the read is logged with its purpose.
func (h *Handler) Get(w http.ResponseWriter, r *http.Request) {
	id, err := render.PathID(r, "id")
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	res, err := h.residents.ReadForStaff(r.Context(), auth.From(r.Context()).Actor, id, r.URL.Query().Get("purpose"))
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusOK, res.View(render.Lang(r), true))
}

// Create registers a resident in a community in scope.
func (h *Handler) Create(w http.ResponseWriter, r *http.Request) {
	var n resident.New
	if err := jsonio.Decode(w, r, &n); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	res, err := h.residents.RegisterByStaff(r.Context(), auth.From(r.Context()).Actor, n, h.rd.Today())
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusCreated, res.View(render.Lang(r), true))
}

// Counts returns residents per community in scope.
func (h *Handler) Counts(w http.ResponseWriter, r *http.Request) {
	cs, err := h.residents.Residents.CountByCommunity(r.Context(), auth.From(r.Context()).Actor.ScopePath)
	if err != nil {
		h.rd.Problem(w, r, err)
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
	h.rd.JSON(w, r, http.StatusOK, map[string]any{"communities": out})
}
