package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

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
	h.fail(w, r, h.newPage(w, r, "error.title"), "", errNotFound)
}

// LoginForm shows the sign-in form.
func (h *Handler) LoginForm(w http.ResponseWriter, r *http.Request) {
	if p := auth.From(r.Context()); p != nil && p.Account != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	p := h.newPage(w, r, "login.title")
	if next := r.URL.Query().Get("next"); LocalPath(next) {
		p.Form.Set("next", next)
	}
	h.render(w, r, http.StatusOK, "login", p)
}

// LocalPath reports whether s is a path on this site (and nothing that a
// browser would take to another one), where sign-in may return.
func LocalPath(s string) bool {
	if len(s) == 0 || len(s) > 2000 || s[0] != '/' || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\\x00\r\n\t") {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil
}

// Login checks the credentials, within the rate limits, and starts a session.
func (h *Handler) Login(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "login.title")
	p.Form = r.PostForm
	username := account.NormalizeUsername(r.PostFormValue("username"))
	if username == "" {
		p.Errors["username"] = p.L.T("err.required")
	}
	if r.PostFormValue("password") == "" {
		p.Errors["password"] = p.L.T("err.required")
	}
	if len(p.Errors) > 0 {
		h.render(w, r, http.StatusUnprocessableEntity, "login", p)
		return
	}
	ok1, wait1 := h.LoginByIP.Allow(h.ClientIP.Of(r))
	ok2, wait2 := h.LoginByUser.Allow(username)
	if !ok1 || !ok2 {
		w.Header().Set("Retry-After", strconv.Itoa(int(max(wait1, wait2).Seconds())+1))
		p.Error = p.L.T("login.too_many")
		h.render(w, r, http.StatusTooManyRequests, "login", p)
		return
	}
	a, err := h.Accounts.Authenticate(r.Context(), username, r.PostFormValue("password"))
	if errors.Is(err, account.ErrBadCredentials) {
		p.Error = p.L.T("login.failed")
		h.render(w, r, http.StatusUnauthorized, "login", p)
		return
	}
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	if _, err := h.Sessions.Start(r.Context(), w, a); err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	if next := r.PostFormValue("next"); LocalPath(next) {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// Logout ends the session.
func (h *Handler) Logout(w http.ResponseWriter, r *http.Request) {
	if err := h.Sessions.End(r.Context(), w, auth.From(r.Context())); err != nil {
		h.Log.ErrorContext(r.Context(), "logout", "err", err)
	}
	// Forget what this browser kept: the checkpoint's offline copy of its page.
	w.Header().Set("Clear-Site-Data", `"cache", "storage"`)
	redirect(w, r, "/login", "flash.logged_out")
}

type registerData struct{ Communities []option }

func (h *Handler) registerPage(w http.ResponseWriter, r *http.Request) (*page, error) {
	p := h.newPage(w, r, "register.title")
	cs, err := h.communityOptions(r, jurisdiction.All, p.L.Lang)
	p.Data = registerData{Communities: cs}
	return p, err
}

// RegisterForm shows the resident sign-up form.
func (h *Handler) RegisterForm(w http.ResponseWriter, r *http.Request) {
	p, err := h.registerPage(w, r)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	h.render(w, r, http.StatusOK, "register", p)
}

// Register signs a resident up and signs them in.
func (h *Handler) Register(w http.ResponseWriter, r *http.Request) {
	p, err := h.registerPage(w, r)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	p.Form = r.PostForm
	if ok, wait := h.LoginByIP.Allow(h.ClientIP.Of(r)); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		p.Error = p.L.T("login.too_many")
		h.render(w, r, http.StatusTooManyRequests, "register", p)
		return
	}
	reg := account.Registration{
		New: resident.New{Name: r.PostFormValue("name"), IDNumber: r.PostFormValue("id_number"), Phone: r.PostFormValue("phone"),
			CommunityCode: r.PostFormValue("community_code")},
		Username: r.PostFormValue("username"), Password: r.PostFormValue("password"), Lang: p.L.Lang,
	}
	a, err := h.Accounts.Register(r.Context(), reg, h.today())
	if err != nil {
		h.fail(w, r, p, "register", err)
		return
	}
	if _, err := h.Sessions.Start(r.Context(), w, a); err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	redirect(w, r, "/me", "flash.registered")
}

// Lang switches the language, for the account or, anonymously, in a cookie.
func (h *Handler) Lang(w http.ResponseWriter, r *http.Request) {
	lang := r.PostFormValue("lang")
	if lang != "zh" && lang != "en" {
		h.fail(w, r, h.newPage(w, r, "error.title"), "", validation.Field("lang", "account.lang"))
		return
	}
	if p := auth.From(r.Context()); p != nil && p.Account != nil {
		if err := h.Accounts.SetLang(r.Context(), p.Account.ID, lang); err != nil {
			h.fail(w, r, h.newPage(w, r, "error.title"), "", err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: "lang", Value: lang, Path: "/", MaxAge: 365 * 24 * 3600, Secure: true, SameSite: http.SameSiteLaxMode})
	back := "/"
	if u, err := url.Parse(r.Referer()); err == nil && u.Host == r.Host && strings.HasPrefix(u.Path, "/") {
		back = u.RequestURI()
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
