package api

import (
	"net/http"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/jsonio"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
)

// ListJurisdictions lists the children of ?parent=CODE, or the roots. The
// hierarchy is public: residents pick their community from it.
func (h *Handler) ListJurisdictions(w http.ResponseWriter, r *http.Request) {
	var parentID int64
	if code := r.URL.Query().Get("parent"); code != "" {
		p, err := h.Jurisdictions.GetByCode(r.Context(), code)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		parentID = p.ID
	}
	js, err := h.Jurisdictions.Children(r.Context(), parentID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, map[string]any{"jurisdictions": js})
}

// CreateJurisdiction adds a jurisdiction below one in scope.
func (h *Handler) CreateJurisdiction(w http.ResponseWriter, r *http.Request) {
	var n jurisdiction.New
	if err := jsonio.Decode(w, r, &n); err != nil {
		h.fail(w, r, err)
		return
	}
	j, err := h.Jurisdictions.Create(r.Context(), h.Accounts.DB.W, auth.From(r.Context()).Actor.ScopePath, n)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusCreated, j)
}

// RenameJurisdiction changes the names of a jurisdiction in scope.
func (h *Handler) RenameJurisdiction(w http.ResponseWriter, r *http.Request) {
	var in struct {
		NameZH string `json:"name_zh"`
		NameEN string `json:"name_en"`
	}
	if err := jsonio.Decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	code := r.PathValue("code")
	if err := h.Jurisdictions.Rename(r.Context(), auth.From(r.Context()).Actor.ScopePath, code, in.NameZH, in.NameEN); err != nil {
		h.fail(w, r, err)
		return
	}
	j, err := h.Jurisdictions.GetByCode(r.Context(), code)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, j)
}

// StaffView is a staff account as the API shows it.
type StaffView struct {
	ID           int64  `json:"id"`
	Username     string `json:"username"`
	DisplayName  string `json:"display_name"`
	Role         string `json:"role"`
	Jurisdiction string `json:"jurisdiction"`
	Disabled     bool   `json:"disabled"`
}

func staffView(a account.Account) StaffView {
	return StaffView{ID: a.ID, Username: a.Username, DisplayName: a.DisplayName, Role: string(a.Role),
		Jurisdiction: a.JurisdictionCode.String, Disabled: a.Disabled}
}

// ListStaff lists staff accounts in scope.
func (h *Handler) ListStaff(w http.ResponseWriter, r *http.Request) {
	after, err := queryInt(r, "after")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	as, err := h.Accounts.Accounts.ListStaff(r.Context(), auth.From(r.Context()).Actor.ScopePath, after, 200)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]StaffView, len(as))
	for i, a := range as {
		out[i] = staffView(a)
	}
	h.write(w, r, http.StatusOK, map[string]any{"staff": out})
}

// CreateStaff creates a staff account.
func (h *Handler) CreateStaff(w http.ResponseWriter, r *http.Request) {
	var n account.NewStaff
	if err := jsonio.Decode(w, r, &n); err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := h.Accounts.CreateStaff(r.Context(), auth.From(r.Context()).Actor, n)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusCreated, staffView(a))
}

// UpdateStaff changes a staff account's role, jurisdiction or state.
func (h *Handler) UpdateStaff(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var c account.StaffChange
	if err := jsonio.Decode(w, r, &c); err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := h.Accounts.UpdateStaff(r.Context(), auth.From(r.Context()).Actor, id, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, staffView(a))
}

// ListTokens lists API tokens in scope.
func (h *Handler) ListTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := h.Accounts.Accounts.ListTokens(r.Context(), auth.From(r.Context()).Actor.ScopePath)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, map[string]any{"tokens": ts})
}

// CreateToken issues a token; the secret is in this response only.
func (h *Handler) CreateToken(w http.ResponseWriter, r *http.Request) {
	var n account.NewToken
	if err := jsonio.Decode(w, r, &n); err != nil {
		h.fail(w, r, err)
		return
	}
	secret, t, err := h.Accounts.IssueToken(r.Context(), auth.From(r.Context()).Actor, n)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusCreated, map[string]any{"token": t, "secret": secret})
}

// RevokeToken revokes a token in scope.
func (h *Handler) RevokeToken(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.Accounts.Accounts.RevokeToken(r.Context(), auth.From(r.Context()).Actor.ScopePath, id); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// WhoAmI tells a machine client what its token allows.
func (h *Handler) WhoAmI(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context()).Actor
	h.write(w, r, http.StatusOK, map[string]any{"name": a.Name, "role": a.Role, "token": a.TokenID != 0, "scope": a.ScopePath})
}
