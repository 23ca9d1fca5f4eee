package web

import (
	"net/http"

	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/resident"
)

type residentHome struct {
	Resident   resident.Resident
	Dependents []resident.Resident
}

// ResidentHome shows a resident their record and their dependents.
func (h *Handler) ResidentHome(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "me.heading")
	actor := auth.From(r.Context()).Actor
	me, err := h.Residents.Self(r.Context(), actor)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	deps, err := h.Residents.Residents.Dependents(r.Context(), me.ID)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	p.Data = residentHome{Resident: me, Dependents: deps}
	h.render(w, r, http.StatusOK, "resident_home", p)
}

func (h *Handler) dependentPage(w http.ResponseWriter, r *http.Request) (*page, error) {
	p := h.newPage(w, r, "dependent.title")
	me, err := h.Residents.Self(r.Context(), auth.From(r.Context()).Actor)
	if err != nil {
		return p, err
	}
	cs, err := h.communityOptions(r, "/", p.L.Lang)
	p.Data = registerData{Communities: cs}
	p.Form.Set("community_code", me.CommunityCode)
	return p, err
}

// DependentForm shows the form to add a dependent.
func (h *Handler) DependentForm(w http.ResponseWriter, r *http.Request) {
	p, err := h.dependentPage(w, r)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	h.render(w, r, http.StatusOK, "dependent_new", p)
}

// AddDependent registers a dependent with the signed-in resident as guardian.
func (h *Handler) AddDependent(w http.ResponseWriter, r *http.Request) {
	p, err := h.dependentPage(w, r)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	p.Form = r.PostForm
	n := resident.New{Name: r.PostFormValue("name"), IDNumber: r.PostFormValue("id_number"), Phone: r.PostFormValue("phone"),
		CommunityCode: r.PostFormValue("community_code")}
	if _, err := h.Residents.AddDependent(r.Context(), auth.From(r.Context()).Actor, n, h.today()); err != nil {
		h.fail(w, r, p, "dependent_new", err)
		return
	}
	redirect(w, r, "/me", "flash.dependent_added")
}
