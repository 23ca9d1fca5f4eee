// Package account serves signing in and out, a resident's sign-up, the
// language switch, and the administrator's pages and API for staff
// accounts and API tokens.
package account

import (
	"embed"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/http/render"
	"github.com/outbreak-platform/outbreak/internal/http/route"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

//go:embed templates/*.html
var templates embed.FS

// Limits bound sign-in attempts per client address and per username.
type Limits struct {
	ByIP, ByUser *auth.Limiter
	ClientIP     auth.ClientIP
}

// Handler serves the account pages and API.
type Handler struct {
	rd        *render.Renderer
	t         *render.Templates
	accounts  *account.Service
	sessions  *auth.Sessions
	residents *resident.Service
	juris     jurisdiction.Store
	limits    Limits
}

// New builds the account area.
func New(rd *render.Renderer, accounts *account.Service, sessions *auth.Sessions, residents *resident.Service,
	juris jurisdiction.Store, limits Limits) (*Handler, error) {
	t, err := rd.Parse(templates)
	if err != nil {
		return nil, err
	}
	return &Handler{rd: rd, t: t, accounts: accounts, sessions: sessions, residents: residents, juris: juris, limits: limits}, nil
}

// Routes lists the account pages and API.
func (h *Handler) Routes() []route.Route {
	manage, tokens := route.Can(rbac.StaffManage), route.Can(rbac.TokenManage)
	return []route.Route{
		route.P("GET /login", route.Anyone, h.LoginForm),
		route.P("POST /login", route.Anyone, h.Login),
		route.P("GET /register", route.Anyone, h.t.Show("register", h.registerPage)),
		route.P("POST /register", route.Anyone, h.Register),
		route.P("POST /lang", route.Anyone, h.Lang),
		route.P("POST /logout", route.Browser, h.Logout),
		route.P("GET /admin/staff", manage, h.t.Show("admin_staff", h.staffPage)),
		route.P("POST /admin/staff", manage, h.StaffCreate),
		route.P("POST /admin/staff/{id}", manage, h.StaffUpdate),
		route.P("GET /admin/tokens", tokens, h.t.Show("admin_tokens", h.tokenPage)),
		route.P("POST /admin/tokens", tokens, h.TokenCreate),
		route.P("POST /admin/tokens/{id}/revoke", tokens, h.TokenRevoke),

		route.A("POST /api/v1/login", route.Anyone, h.APILogin),
		route.A("POST /api/v1/logout", route.Browser, h.APILogout),
		route.A("POST /api/v1/register", route.Anyone, h.APIRegister),
		route.A("GET /api/v1/me", route.Browser, h.GetMe),
		route.A("PUT /api/v1/me/lang", route.Browser, h.SetLang),
		route.A("GET /api/v1/whoami", route.Staff, h.WhoAmI),
		route.A("GET /api/v1/staff", manage, h.ListStaff),
		route.A("POST /api/v1/staff", manage, h.CreateStaff),
		route.A("PATCH /api/v1/staff/{id}", manage, h.UpdateStaff),
		route.A("GET /api/v1/tokens", tokens, h.ListTokens),
		route.A("POST /api/v1/tokens", tokens, h.CreateToken),
		route.A("DELETE /api/v1/tokens/{id}", tokens, h.RevokeToken),
	}
}

// signIn checks username and password within the limits per client address
// and per username: the one sign-in policy of the page and the API.
func (h *Handler) signIn(r *http.Request, username, password string) (account.Account, error) {
	ok1, wait1 := h.limits.ByIP.Allow(h.limits.ClientIP.Of(r))
	ok2, wait2 := h.limits.ByUser.Allow(username)
	if !ok1 || !ok2 {
		return account.Account{}, fault.Limited("login.too_many", max(wait1, wait2)+time.Second)
	}
	a, err := h.accounts.Authenticate(r.Context(), username, password)
	if err != nil {
		return a, err
	}
	// Before the session: Lang(r) is the cookie's or the browser's here.
	return a, h.accounts.AdoptLang(r.Context(), &a, render.Lang(r))
}

// allowSignUp spends one of the client address's attempts on a sign-up.
func (h *Handler) allowSignUp(r *http.Request) error {
	if ok, wait := h.limits.ByIP.Allow(h.limits.ClientIP.Of(r)); !ok {
		return fault.Limited("login.too_many", wait+time.Second)
	}
	return nil
}

var errBadCredentials = fault.Wrap(fault.Unauthenticated, "login.failed", account.ErrBadCredentials)

// LoginForm shows the sign-in form.
func (h *Handler) LoginForm(w http.ResponseWriter, r *http.Request) {
	if p := auth.From(r.Context()); p != nil && p.Account != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	p := h.rd.NewPage(w, r, "login.title")
	if next := r.URL.Query().Get("next"); route.LocalPath(next) {
		p.Form.Set("next", next)
	}
	h.t.Render(w, r, http.StatusOK, "login", p)
}

// Login checks the credentials, within the rate limits, and starts a session.
func (h *Handler) Login(w http.ResponseWriter, r *http.Request) {
	p := h.rd.NewPage(w, r, "login.title")
	p.Form = r.PostForm
	username := account.NormalizeUsername(r.PostFormValue("username"))
	var e validation.Errors
	if username == "" {
		e.Add("username", "required")
	}
	if r.PostFormValue("password") == "" {
		e.Add("password", "required")
	}
	if err := e.Err(); err != nil {
		h.t.Fail(w, r, p, "login", err)
		return
	}
	a, err := h.signIn(r, username, r.PostFormValue("password"))
	if err == nil {
		_, err = h.sessions.Start(r.Context(), w, a)
	}
	if errors.Is(err, account.ErrBadCredentials) {
		err = errBadCredentials
	}
	switch fault.KindOf(err) {
	case fault.Internal:
	case fault.Unauthenticated, fault.TooMany:
		// Say it on the form itself, which stays filled in.
		c := render.Classify(err)
		p.Error = p.L.T(c.Key, c.Args...)
		if c.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(c.RetryAfter.Seconds())))
		}
		h.t.Render(w, r, c.Status, "login", p)
		return
	}
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	if next := r.PostFormValue("next"); route.LocalPath(next) {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// Logout ends the session.
func (h *Handler) Logout(w http.ResponseWriter, r *http.Request) {
	if err := h.sessions.End(r.Context(), w, auth.From(r.Context())); err != nil {
		h.rd.Log.ErrorContext(r.Context(), "logout", "err", err)
	}
	// Forget what this browser kept: the checkpoint's offline copy of its page.
	w.Header().Set("Clear-Site-Data", `"cache", "storage"`)
	render.Redirect(w, r, "/login", "flash.logged_out")
}

type registerData struct{ Communities []render.Option }

func (h *Handler) registerPage(w http.ResponseWriter, r *http.Request) (*render.Page, error) {
	p := h.rd.NewPage(w, r, "register.title")
	js, err := h.juris.Subtree(r.Context(), jurisdiction.All)
	p.Data = registerData{Communities: render.CommunityOptions(js, p.L.Lang)}
	return p, err
}

// Register signs a resident up and signs them in.
func (h *Handler) Register(w http.ResponseWriter, r *http.Request) {
	p, err := h.registerPage(w, r)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	p.Form = r.PostForm
	if err := h.allowSignUp(r); err != nil {
		c := render.Classify(err)
		p.Error = p.L.T(c.Key, c.Args...)
		w.Header().Set("Retry-After", strconv.Itoa(int(c.RetryAfter.Seconds())))
		h.t.Render(w, r, c.Status, "register", p)
		return
	}
	reg := account.Registration{
		New: resident.New{Name: r.PostFormValue("name"), IDNumber: r.PostFormValue("id_number"), Phone: r.PostFormValue("phone"),
			CommunityCode: r.PostFormValue("community_code")},
		Username: r.PostFormValue("username"), Password: r.PostFormValue("password"), Lang: p.L.Lang,
	}
	a, err := h.accounts.Register(r.Context(), reg, h.rd.Today())
	if err != nil {
		h.t.Fail(w, r, p, "register", err)
		return
	}
	if _, err := h.sessions.Start(r.Context(), w, a); err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	render.Redirect(w, r, "/me", "flash.registered")
}

// Lang switches the language, for the account or, anonymously, in a cookie.
func (h *Handler) Lang(w http.ResponseWriter, r *http.Request) {
	lang := r.PostFormValue("lang")
	if lang != "zh" && lang != "en" {
		h.rd.Error(w, r, nil, validation.Field("lang", "account.lang"))
		return
	}
	if p := auth.From(r.Context()); p != nil && p.Account != nil {
		if err := h.accounts.SetLang(r.Context(), p.Account.ID, lang); err != nil {
			h.rd.Error(w, r, nil, err)
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
