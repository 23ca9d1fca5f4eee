package api

import (
	"errors"
	"net/http"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/jsonio"
	"github.com/outbreak-platform/outbreak/internal/problem"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// Me describes the signed-in account.
type Me struct {
	Username     string        `json:"username"`
	Role         string        `json:"role"`
	DisplayName  string        `json:"display_name"`
	Lang         string        `json:"lang"`
	Jurisdiction string        `json:"jurisdiction,omitempty"`
	CSRFToken    string        `json:"csrf_token,omitempty"`
	Resident     *ResidentView `json:"resident,omitempty"`
}

func (h *Handler) me(r *http.Request, p *auth.Principal) (Me, error) {
	a := p.Account
	m := Me{Username: a.Username, Role: string(a.Role), DisplayName: a.DisplayName, Lang: a.Lang,
		Jurisdiction: a.JurisdictionCode.String, CSRFToken: p.CSRF}
	if a.ResidentID.Valid {
		res, err := h.Residents.Self(r.Context(), p.Actor)
		if err != nil {
			return m, err
		}
		v := view(res, a.Lang, true)
		m.Resident = &v
	}
	return m, nil
}

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// Login checks credentials and starts a cookie session; the response carries
// the CSRF token that later unsafe requests send as X-CSRF-Token.
func (h *Handler) Login(w http.ResponseWriter, r *http.Request) {
	var c credentials
	if err := jsonio.Decode(w, r, &c); err != nil {
		h.fail(w, r, err)
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
		h.fail(w, r, err)
		return
	}
	ok1, wait1 := h.LoginByIP.Allow(h.ClientIP.Of(r))
	ok2, wait2 := h.LoginByUser.Allow(c.Username)
	if !ok1 || !ok2 {
		h.fail(w, r, &problem.Error{Status: http.StatusTooManyRequests, Detail: "Too many sign-in attempts; wait and retry.",
			RetryAfter: int(max(wait1, wait2).Seconds()) + 1})
		return
	}
	a, err := h.Accounts.Authenticate(r.Context(), c.Username, c.Password)
	if errors.Is(err, account.ErrBadCredentials) {
		h.fail(w, r, problem.New(http.StatusUnauthorized, "Wrong username or password."))
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.startSession(w, r, a, http.StatusOK)
}

// Logout ends the session.
func (h *Handler) Logout(w http.ResponseWriter, r *http.Request) {
	if err := h.Sessions.End(r.Context(), w, auth.From(r.Context())); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// GetMe returns the signed-in account.
func (h *Handler) GetMe(w http.ResponseWriter, r *http.Request) {
	m, err := h.me(r, auth.From(r.Context()))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, m)
}

// SetLang sets the account's language.
func (h *Handler) SetLang(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Lang string `json:"lang"`
	}
	if err := jsonio.Decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.Accounts.SetLang(r.Context(), auth.From(r.Context()).Account.ID, in.Lang); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Register signs a resident up and starts their session.
func (h *Handler) Register(w http.ResponseWriter, r *http.Request) {
	var reg account.Registration
	if err := jsonio.Decode(w, r, &reg); err != nil {
		h.fail(w, r, err)
		return
	}
	if ok, wait := h.LoginByIP.Allow(h.ClientIP.Of(r)); !ok {
		h.fail(w, r, &problem.Error{Status: http.StatusTooManyRequests, Detail: "Too many attempts; wait and retry.", RetryAfter: int(wait.Seconds()) + 1})
		return
	}
	a, err := h.Accounts.Register(r.Context(), reg, h.today())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.startSession(w, r, a, http.StatusCreated)
}

// startSession signs a in and answers with the account, and the CSRF token
// its later unsafe requests must send.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, a account.Account, status int) {
	p, err := h.Sessions.Start(r.Context(), w, a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m, err := h.me(r, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, status, m)
}
