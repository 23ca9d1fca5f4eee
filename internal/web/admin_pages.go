package web

import (
	"net/http"
	"strconv"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

type staffAdmin struct {
	Staff         []account.Account
	Next          int64
	Roles         []rbac.Role
	Jurisdictions []option
}

func (h *Handler) staffPage(w http.ResponseWriter, r *http.Request) (*page, error) {
	p := h.newPage(w, r, "admin.staff")
	a := auth.From(r.Context()).Actor
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	const per = 200
	staff, err := h.Accounts.Accounts.ListStaff(r.Context(), a.ScopePath, after, per)
	if err != nil {
		return p, err
	}
	js, err := h.Jurisdictions.Subtree(r.Context(), a.ScopePath)
	if err != nil {
		return p, err
	}
	d := staffAdmin{Staff: staff, Jurisdictions: jurisdictionOptions(js, p.L.Lang, jurisdiction.Levels...)}
	for _, role := range rbac.StaffRoles {
		if rbac.CanGrant(a.Role, role) {
			d.Roles = append(d.Roles, role)
		}
	}
	if len(staff) == per {
		d.Next = staff[len(staff)-1].ID
	}
	p.Data = d
	return p, nil
}

// StaffList shows the staff accounts in scope and the form to add one.
func (h *Handler) StaffList(w http.ResponseWriter, r *http.Request) {
	p, err := h.staffPage(w, r)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	h.render(w, r, http.StatusOK, "admin_staff", p)
}

// StaffCreate creates a staff account.
func (h *Handler) StaffCreate(w http.ResponseWriter, r *http.Request) {
	p, err := h.staffPage(w, r)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	p.Form = r.PostForm
	_, err = h.Accounts.CreateStaff(r.Context(), auth.From(r.Context()).Actor, account.NewStaff{
		Username: r.PostFormValue("username"), DisplayName: r.PostFormValue("display_name"), Role: rbac.Role(r.PostFormValue("role")),
		JurisdictionCode: r.PostFormValue("jurisdiction_code"), Password: r.PostFormValue("password")})
	if err != nil {
		h.fail(w, r, p, "admin_staff", err)
		return
	}
	redirect(w, r, "/admin/staff", "flash.staff_created")
}

// StaffUpdate enables or disables a staff account.
func (h *Handler) StaffUpdate(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "admin.staff")
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.fail(w, r, p, "", errNotFound)
		return
	}
	disabled, err := strconv.ParseBool(r.PostFormValue("disabled"))
	if err != nil {
		h.fail(w, r, p, "", validation.Field("disabled", "invalid"))
		return
	}
	if _, err := h.Accounts.UpdateStaff(r.Context(), auth.From(r.Context()).Actor, id, account.StaffChange{Disabled: &disabled}); err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	redirect(w, r, "/admin/staff", "flash.saved")
}

type jurisdictionAdmin struct {
	Jurisdictions []jurisdiction.Jurisdiction
	Parents       []option
}

func (h *Handler) jurisdictionPage(w http.ResponseWriter, r *http.Request) (*page, error) {
	p := h.newPage(w, r, "admin.jurisdictions")
	js, err := h.Jurisdictions.Subtree(r.Context(), auth.From(r.Context()).Actor.ScopePath)
	p.Data = jurisdictionAdmin{Jurisdictions: js,
		Parents: jurisdictionOptions(js, p.L.Lang, jurisdiction.Province, jurisdiction.City, jurisdiction.District)}
	return p, err
}

// JurisdictionList shows the hierarchy in scope and the form to extend it.
func (h *Handler) JurisdictionList(w http.ResponseWriter, r *http.Request) {
	p, err := h.jurisdictionPage(w, r)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	h.render(w, r, http.StatusOK, "admin_jurisdictions", p)
}

// JurisdictionCreate adds a jurisdiction below one in scope.
func (h *Handler) JurisdictionCreate(w http.ResponseWriter, r *http.Request) {
	p, err := h.jurisdictionPage(w, r)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	p.Form = r.PostForm
	_, err = h.Jurisdictions.Create(r.Context(), h.Accounts.DB.W, auth.From(r.Context()).Actor.ScopePath, jurisdiction.New{
		Code: r.PostFormValue("code"), NameZH: r.PostFormValue("name_zh"), NameEN: r.PostFormValue("name_en"), ParentCode: r.PostFormValue("parent_code")})
	if err != nil {
		h.fail(w, r, p, "admin_jurisdictions", err)
		return
	}
	redirect(w, r, "/admin/jurisdictions", "flash.saved")
}

type tokenAdmin struct {
	Tokens        []account.Token
	Roles         []rbac.Role
	Jurisdictions []option
	Secret        string
}

func (h *Handler) tokenPage(w http.ResponseWriter, r *http.Request) (*page, error) {
	p := h.newPage(w, r, "admin.tokens")
	a := auth.From(r.Context()).Actor
	ts, err := h.Accounts.Accounts.ListTokens(r.Context(), a.ScopePath)
	if err != nil {
		return p, err
	}
	js, err := h.Jurisdictions.Subtree(r.Context(), a.ScopePath)
	p.Data = &tokenAdmin{Tokens: ts, Roles: rbac.TokenRoles, Jurisdictions: jurisdictionOptions(js, p.L.Lang, jurisdiction.Levels...)}
	return p, err
}

// Tokens lists API tokens in scope and the form to issue one.
func (h *Handler) Tokens(w http.ResponseWriter, r *http.Request) {
	p, err := h.tokenPage(w, r)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	h.render(w, r, http.StatusOK, "admin_tokens", p)
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
	secret, _, err := h.Accounts.IssueToken(r.Context(), auth.From(r.Context()).Actor, account.NewToken{
		Name: r.PostFormValue("name"), Role: rbac.Role(r.PostFormValue("role")), JurisdictionCode: r.PostFormValue("jurisdiction_code"), ExpiresInDays: days})
	p, perr := h.tokenPage(w, r)
	if perr != nil {
		h.fail(w, r, p, "", perr)
		return
	}
	p.Form = r.PostForm
	if err != nil {
		h.fail(w, r, p, "admin_tokens", err)
		return
	}
	p.Data.(*tokenAdmin).Secret = secret
	h.render(w, r, http.StatusOK, "admin_tokens", p)
}

// TokenRevoke revokes a token in scope.
func (h *Handler) TokenRevoke(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "admin.tokens")
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.fail(w, r, p, "", errNotFound)
		return
	}
	if err := h.Accounts.Accounts.RevokeToken(r.Context(), auth.From(r.Context()).Actor.ScopePath, id); err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	redirect(w, r, "/admin/tokens", "flash.token_revoked")
}
