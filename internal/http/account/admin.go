package account

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/http/render"
	"github.com/outbreak-platform/outbreak/internal/jsonio"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/list"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

type staffAdmin struct {
	Staff []account.Account
	Pager render.Pager
	// Filter is the role listed ("" for all); AllRoles those one can pick.
	Filter   string
	AllRoles []rbac.Role
	// Roles are those the reader may grant.
	Roles         []rbac.Role
	Jurisdictions []render.Option
	// Names are the jurisdictions' names by code, communities with their
	// district.
	Names map[string]string
}

func (h *Handler) staffPage(w http.ResponseWriter, r *http.Request) (*render.Page, error) {
	p := h.rd.NewPage(w, r, "admin.staff")
	a := auth.From(r.Context()).Actor
	role, pg, err := staffQuery(r)
	if err != nil {
		return p, err
	}
	staff, err := h.accounts.Accounts.StaffPage(r.Context(), a.ScopePath, role, pg)
	if err != nil {
		return p, err
	}
	js, err := h.juris.Subtree(r.Context(), a.ScopePath)
	if err != nil {
		return p, err
	}
	d := staffAdmin{Staff: staff.Items, Pager: render.Pages(r, staff), Filter: string(role), AllRoles: rbac.StaffRoles,
		Jurisdictions: render.JurisdictionOptions(js, p.L.Lang, jurisdiction.Levels...), Names: render.Labels(js, p.L.Lang)}
	for _, role := range rbac.StaffRoles {
		if rbac.CanGrant(a.Role, role) {
			d.Roles = append(d.Roles, role)
		}
	}
	p.Data = d
	return p, nil
}

// StaffCreate creates a staff account.
func (h *Handler) StaffCreate(w http.ResponseWriter, r *http.Request) {
	p, err := h.staffPage(w, r)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	p.Form = r.PostForm
	_, err = h.accounts.CreateStaff(r.Context(), auth.From(r.Context()).Actor, account.NewStaff{
		Username: r.PostFormValue("username"), DisplayName: r.PostFormValue("display_name"), Role: rbac.Role(r.PostFormValue("role")),
		JurisdictionCode: r.PostFormValue("jurisdiction_code"), Password: r.PostFormValue("password")})
	if err != nil {
		h.t.Fail(w, r, p, "admin_staff", err)
		return
	}
	render.Redirect(w, r, "/admin/staff", "flash.staff_created")
}

// StaffUpdate enables or disables a staff account.
func (h *Handler) StaffUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := render.PathID(r, "id")
	if err != nil {
		h.rd.Error(w, r, nil, err)
		return
	}
	disabled, err := strconv.ParseBool(r.PostFormValue("disabled"))
	if err != nil {
		h.rd.Error(w, r, nil, validation.Field("disabled", "invalid"))
		return
	}
	if _, err := h.accounts.UpdateStaff(r.Context(), auth.From(r.Context()).Actor, id, account.StaffChange{Disabled: &disabled}); err != nil {
		h.rd.Error(w, r, nil, err)
		return
	}
	render.Redirect(w, r, "/admin/staff", "flash.saved")
}

type tokenAdmin struct {
	Tokens        []account.Token
	Roles         []rbac.Role
	Jurisdictions []render.Option
	Names         map[string]string // by code, as staffAdmin.Names
	Secret        string
}

func (h *Handler) tokenPage(w http.ResponseWriter, r *http.Request) (*render.Page, error) {
	p := h.rd.NewPage(w, r, "admin.tokens")
	a := auth.From(r.Context()).Actor
	ts, err := h.accounts.Accounts.ListTokens(r.Context(), a.ScopePath)
	if err != nil {
		return p, err
	}
	js, err := h.juris.Subtree(r.Context(), a.ScopePath)
	p.Data = &tokenAdmin{Tokens: ts, Roles: rbac.TokenRoles, Jurisdictions: render.JurisdictionOptions(js, p.L.Lang, jurisdiction.Levels...),
		Names: render.Labels(js, p.L.Lang)}
	return p, err
}

// TokenCreate issues a token and shows its secret, once.
func (h *Handler) TokenCreate(w http.ResponseWriter, r *http.Request) {
	days := 0
	if v := r.PostFormValue("expires_in_days"); v != "" {
		var err error
		if days, err = strconv.Atoi(v); err != nil {
			days = -1 // reported by the service as out of range
		}
	}
	secret, _, err := h.accounts.IssueToken(r.Context(), auth.From(r.Context()).Actor, account.NewToken{
		Name: r.PostFormValue("name"), Role: rbac.Role(r.PostFormValue("role")), JurisdictionCode: r.PostFormValue("jurisdiction_code"), ExpiresInDays: days})
	p, perr := h.tokenPage(w, r)
	if perr != nil {
		h.rd.Error(w, r, p, perr)
		return
	}
	p.Form = r.PostForm
	if err != nil {
		h.t.Fail(w, r, p, "admin_tokens", err)
		return
	}
	p.Data.(*tokenAdmin).Secret = secret
	h.t.Render(w, r, http.StatusOK, "admin_tokens", p)
}

// TokenRevoke revokes a token in scope.
func (h *Handler) TokenRevoke(w http.ResponseWriter, r *http.Request) {
	id, err := render.PathID(r, "id")
	if err == nil {
		err = h.accounts.Accounts.RevokeToken(r.Context(), auth.From(r.Context()).Actor.ScopePath, id)
	}
	if err != nil {
		h.rd.Error(w, r, nil, err)
		return
	}
	render.Redirect(w, r, "/admin/tokens", "flash.token_revoked")
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

// staffQuery reads a staff list's role filter and page.
func staffQuery(r *http.Request) (rbac.Role, list.Page, error) {
	role := rbac.Role(r.URL.Query().Get("role"))
	if role != "" && !slices.Contains(rbac.StaffRoles, role) {
		return "", list.First, validation.Field("role", "invalid")
	}
	pg, err := render.PageOf(r)
	return role, pg, err
}

// ListStaff lists a page of the staff accounts in scope (?role=, ?offset=,
// ?limit=), with the total.
func (h *Handler) ListStaff(w http.ResponseWriter, r *http.Request) {
	role, pg, err := staffQuery(r)
	var as list.Of[account.Account]
	if err == nil {
		as, err = h.accounts.Accounts.StaffPage(r.Context(), auth.From(r.Context()).Actor.ScopePath, role, pg)
	}
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	out := make([]StaffView, len(as.Items))
	for i, a := range as.Items {
		out[i] = staffView(a)
	}
	h.rd.JSON(w, r, http.StatusOK, map[string]any{"staff": out, "total": as.Total, "offset": as.Offset, "limit": as.Limit})
}

// CreateStaff creates a staff account.
func (h *Handler) CreateStaff(w http.ResponseWriter, r *http.Request) {
	var n account.NewStaff
	if err := jsonio.Decode(w, r, &n); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	a, err := h.accounts.CreateStaff(r.Context(), auth.From(r.Context()).Actor, n)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusCreated, staffView(a))
}

// UpdateStaff changes a staff account's role, jurisdiction or state.
func (h *Handler) UpdateStaff(w http.ResponseWriter, r *http.Request) {
	id, err := render.PathID(r, "id")
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	var c account.StaffChange
	if err := jsonio.Decode(w, r, &c); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	a, err := h.accounts.UpdateStaff(r.Context(), auth.From(r.Context()).Actor, id, c)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusOK, staffView(a))
}

// ListTokens lists API tokens in scope.
func (h *Handler) ListTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := h.accounts.Accounts.ListTokens(r.Context(), auth.From(r.Context()).Actor.ScopePath)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusOK, map[string]any{"tokens": ts})
}

// CreateToken issues a token; the secret is in this response only.
func (h *Handler) CreateToken(w http.ResponseWriter, r *http.Request) {
	var n account.NewToken
	if err := jsonio.Decode(w, r, &n); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	secret, t, err := h.accounts.IssueToken(r.Context(), auth.From(r.Context()).Actor, n)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusCreated, map[string]any{"token": t, "secret": secret})
}

// RevokeToken revokes a token in scope.
func (h *Handler) RevokeToken(w http.ResponseWriter, r *http.Request) {
	id, err := render.PathID(r, "id")
	if err == nil {
		err = h.accounts.Accounts.RevokeToken(r.Context(), auth.From(r.Context()).Actor.ScopePath, id)
	}
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
