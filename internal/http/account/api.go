package account

import (
	"errors"
	"net/http"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/http/render"
	"github.com/outbreak-platform/outbreak/internal/jsonio"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// Me describes the signed-in account.
type Me struct {
	Username     string         `json:"username"`
	Role         string         `json:"role"`
	DisplayName  string         `json:"display_name"`
	Lang         string         `json:"lang"`
	Jurisdiction string         `json:"jurisdiction,omitempty"`
	CSRFToken    string         `json:"csrf_token,omitempty"`
	Resident     *resident.View `json:"resident,omitempty"`
}

func (h *Handler) me(r *http.Request, p *auth.Principal) (Me, error) {
	a := p.Account
	lang := a.Lang
	if lang == "" {
		lang = render.Lang(r)
	}
	m := Me{Username: a.Username, Role: string(a.Role), DisplayName: a.DisplayName, Lang: lang,
		Jurisdiction: a.JurisdictionCode.String, CSRFToken: p.CSRF}
	if a.ResidentID.Valid {
		res, err := h.residents.Self(r.Context(), p.Actor)
		if err != nil {
			return m, err
		}
		v := res.View(m.Lang, true)
		m.Resident = &v
	}
	return m, nil
}

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// APILogin checks credentials and starts a cookie session; the response
// carries the CSRF token that later unsafe requests send as X-CSRF-Token.
func (h *Handler) APILogin(w http.ResponseWriter, r *http.Request) {
	var c credentials
	if err := jsonio.Decode(w, r, &c); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	var e validation.Errors
	if c.Username = account.NormalizeUsername(c.Username); c.Username == "" {
		e.Add("username", "required")
	}
	if c.Password == "" {
		e.Add("password", "required")
	}
	if err := e.Err(); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	a, err := h.signIn(r, c.Username, c.Password)
	if errors.Is(err, account.ErrBadCredentials) {
		err = errBadCredentials
	}
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.startSession(w, r, a, http.StatusOK)
}

// APILogout ends the session.
func (h *Handler) APILogout(w http.ResponseWriter, r *http.Request) {
	if err := h.sessions.End(r.Context(), w, auth.From(r.Context())); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// GetMe returns the signed-in account.
func (h *Handler) GetMe(w http.ResponseWriter, r *http.Request) {
	m, err := h.me(r, auth.From(r.Context()))
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusOK, m)
}

// SetLang sets the account's language.
func (h *Handler) SetLang(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Lang string `json:"lang"`
	}
	if err := jsonio.Decode(w, r, &in); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	if err := h.accounts.SetLang(r.Context(), auth.From(r.Context()).Account.ID, in.Lang); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// APIRegister signs a resident up and starts their session.
func (h *Handler) APIRegister(w http.ResponseWriter, r *http.Request) {
	var reg account.Registration
	if err := jsonio.Decode(w, r, &reg); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	if err := h.allowSignUp(r); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	if reg.Lang == "" {
		reg.Lang = render.Lang(r)
	}
	a, err := h.accounts.Register(r.Context(), reg, h.rd.Today())
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.startSession(w, r, a, http.StatusCreated)
}

// startSession signs a in and answers with the account, and the CSRF token
// its later unsafe requests must send.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, a account.Account, status int) {
	p, err := h.sessions.Start(r.Context(), w, a)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	m, err := h.me(r, p)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, status, m)
}

// WhoAmI tells a machine client what its token allows.
func (h *Handler) WhoAmI(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context()).Actor
	h.rd.JSON(w, r, http.StatusOK, map[string]any{"name": a.Name, "role": a.Role, "token": a.TokenID != 0, "scope": a.ScopePath})
}
