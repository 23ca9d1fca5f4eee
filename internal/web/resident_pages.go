package web

import (
	"errors"
	"net/http"

	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/resident"
)

type residentHome struct {
	Resident   resident.Resident // whose page this is: the holder or a dependent
	Self       bool
	Dependents []resident.Resident
	Code       *codeView // nil before the first declaration
	Due        bool      // the daily declaration is due
}

// ResidentHome shows a resident their health code — colour, pass, reasons,
// when it turns green, history, appeals — their record and their
// dependents; with ?resident=ID, the same for one of their dependents.
func (h *Handler) ResidentHome(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "me.heading")
	actor := auth.From(r.Context()).Actor
	who, err := h.subject(r)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	d := residentHome{Resident: who, Self: who.ID == actor.ResidentID}
	if d.Self {
		if d.Dependents, err = h.Residents.Residents.Dependents(r.Context(), who.ID); err != nil {
			h.fail(w, r, p, "", err)
			return
		}
	}
	c, err := h.Codes.Code(r.Context(), who.ID)
	switch {
	case err == nil:
		if d.Code, err = h.codeView(r, c, p.L.Lang); err != nil {
			h.fail(w, r, p, "", err)
			return
		}
	case !errors.Is(err, healthcode.ErrNoCode):
		h.fail(w, r, p, "", err)
		return
	}
	if d.Due, err = h.Codes.DeclarationDue(r.Context(), who.ID); err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	p.Data = d
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
