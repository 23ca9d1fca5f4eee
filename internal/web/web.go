// Package web serves the server-rendered pages: mobile-first HTML from
// embedded templates, every text from the message catalogue, every form
// guarded by a CSRF token and answered with its errors beside the fields.
package web

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/accesslog"
	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/assets"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/exposure"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/i18n"
	"github.com/outbreak-platform/outbreak/internal/issuer"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/tracing"
	"github.com/outbreak-platform/outbreak/internal/validation"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Handler serves the pages.
type Handler struct {
	Log           *slog.Logger
	Catalog       *i18n.Catalog
	Sessions      *auth.Sessions
	Accounts      *account.Service
	Residents     *resident.Service
	Jurisdictions jurisdiction.Store
	Access        accesslog.Store
	// LoginByIP and LoginByUser limit sign-in attempts.
	LoginByIP, LoginByUser *auth.Limiter
	ClientIP               auth.ClientIP
	Now                    func() time.Time
	Codes                  *healthcode.Service
	Issuer                 *issuer.Issuer
	// Places is the place registry, PlaceCodes signs and verifies its
	// poster codes, CheckIns keeps who was where (issue 4).
	Places     venue.Store
	PlaceCodes *venue.Codes
	CheckIns   *tracing.Store
	// Tracing traces cases and keeps their contacts' evidence.
	Tracing *tracing.Service
	// Exposures answers the public look-ups and the public map, each
	// limited per client address by PublicByIP; MapTiles is the map's tile
	// URL template ("" draws it without tiles).
	Exposures  exposure.Store
	PublicByIP *auth.Limiter
	MapTiles   string

	pages  map[string]*template.Template
	assets *assets.Set
	// checkinWorker is the check-in page's service worker.
	checkinWorker *assets.Worker
}

// Init parses the templates and indexes the assets. devDir, when not
// empty, serves assets from that folder instead of the embedded copy.
func (h *Handler) Init(devDir string) error {
	files, _ := fs.Sub(staticFS, "static")
	if devDir != "" {
		files = os.DirFS(devDir)
	}
	var err error
	if h.assets, err = assets.New(files, "/static/"); err != nil {
		return fmt.Errorf("web: %w", err)
	}
	if err := h.initCheckInWorker(); err != nil {
		return err
	}
	funcs := template.FuncMap{
		"asset": h.assets.URL,
		"seq":   func(n int) []int { return make([]int, n) },
		"list":  func(xs ...string) []string { return xs },
		"dict": func(kv ...any) map[string]any {
			m := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				m[fmt.Sprint(kv[i])] = kv[i+1]
			}
			return m
		},
		"field": func(name, label, typ, value, err, extra string) map[string]any {
			return map[string]any{"Name": name, "Label": label, "Type": typ, "Value": value, "Err": err,
				"Extra": template.HTMLAttr(extra)}
		},
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	h.pages = map[string]*template.Template{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" || base == "partials.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", n)
		if err != nil {
			return fmt.Errorf("web: parse %s: %w", n, err)
		}
		h.pages[strings.TrimSuffix(base, ".html")] = t
	}
	return nil
}

// Static serves the assets under /static/{hash}/{name}, cached for a year:
// the hash in the URL changes whenever the content does.
func (h *Handler) Static(w http.ResponseWriter, r *http.Request) { h.assets.Serve(w, r) }

// page is what every template gets.
type page struct {
	L        *i18n.Localizer
	P        *auth.Principal
	CSRF     string
	Title    string
	Flash    string
	Error    string
	Errors   map[string]string
	Form     url.Values
	Purposes []string
	Data     any
	// Bare leaves the forms out of the header (sign-out, language): a page
	// kept for use offline, which carries no session's token.
	Bare bool
}

func (h *Handler) lang(r *http.Request) string {
	if p := auth.From(r.Context()); p != nil && p.Account != nil {
		return p.Account.Lang
	}
	if c, err := r.Cookie("lang"); err == nil && (c.Value == "zh" || c.Value == "en") {
		return c.Value
	}
	return i18n.Negotiate(r)
}

func (h *Handler) newPage(w http.ResponseWriter, r *http.Request, titleKey string) *page {
	l := h.Catalog.For(h.lang(r))
	p := &page{L: l, P: auth.From(r.Context()), Title: l.T(titleKey), Errors: map[string]string{}, Form: url.Values{},
		Purposes: accesslog.Purposes}
	p.CSRF = h.csrfToken(w, r)
	if c, err := r.Cookie("flash"); err == nil {
		if b, err := base64.RawURLEncoding.DecodeString(c.Value); err == nil {
			p.Flash = l.T(string(b))
		}
		http.SetCookie(w, &http.Cookie{Name: "flash", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	}
	return p
}

// render executes a page into a buffer and writes it whole.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	body, err := h.execute(name, p)
	if err != nil {
		h.Log.ErrorContext(r.Context(), "render failed", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writePage(w, status, body)
}

// execute returns the page name made with p.
func (h *Handler) execute(name string, p *page) ([]byte, error) {
	t, ok := h.pages[name]
	if !ok {
		return nil, fmt.Errorf("no such template %q", name)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writePage writes a page made by execute with the headers every page has;
// the caller has set its Cache-Control.
func writePage(w http.ResponseWriter, status int, body []byte) {
	pageHeaders(w.Header())
	w.WriteHeader(status)
	w.Write(body)
}

// pageHeaders sets the headers of an HTML page.
func pageHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
}

// redirect sends the browser to target with a flash message (a catalogue key).
func redirect(w http.ResponseWriter, r *http.Request, target, flashKey string) {
	if flashKey != "" {
		http.SetCookie(w, &http.Cookie{Name: "flash", Value: base64.RawURLEncoding.EncodeToString([]byte(flashKey)), Path: "/",
			MaxAge: 60, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// fail shows an error page, or the form page again with the errors beside
// the fields when err carries validation errors.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, p *page, form string, err error) {
	if ve, ok := validation.As(err); ok && form != "" {
		for _, f := range ve.Fields {
			if _, dup := p.Errors[f.Field]; !dup {
				p.Errors[f.Field] = p.L.Field(f)
			}
		}
		p.Error = p.L.T("form.fix_errors")
		h.render(w, r, http.StatusUnprocessableEntity, form, p)
		return
	}
	status, key := http.StatusInternalServerError, "error.internal"
	switch {
	case errors.Is(err, db.ErrNotFound):
		status, key = http.StatusNotFound, "error.not_found"
	case errors.Is(err, fault.ErrForbidden), errors.Is(err, fault.ErrForbidden):
		status, key = http.StatusForbidden, "error.forbidden"
	case errors.Is(err, account.ErrBusy):
		status, key = http.StatusServiceUnavailable, "error.busy"
		w.Header().Set("Retry-After", "2")
	default:
		if _, ok := validation.As(err); ok {
			status, key = http.StatusBadRequest, "error.bad_request"
		} else {
			h.Log.ErrorContext(r.Context(), "page failed", "path", r.URL.Path, "err", err)
		}
	}
	p.Title = p.L.T("error.title")
	p.Data = p.L.T(key)
	h.render(w, r, status, "error", p)
}

// csrfToken returns the session's CSRF token, or for an anonymous visitor a
// token kept in a cookie of its own (double submit).
func (h *Handler) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if p := auth.From(r.Context()); p != nil {
		return p.CSRF
	}
	if c, err := r.Cookie("outbreak_csrf"); err == nil && len(c.Value) >= 20 {
		return c.Value
	}
	b := make([]byte, 18)
	rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: "outbreak_csrf", Value: tok, Path: "/", HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	// Make it visible to a later csrfToken call in the same request.
	r.AddCookie(&http.Cookie{Name: "outbreak_csrf", Value: tok})
	return tok
}

// CSRF refuses unsafe requests whose form lacks the right token.
func (h *Handler) CSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil || !validation.StorableValues(r.Form) {
			h.fail(w, r, h.newPage(w, r, "error.title"), "", validation.Field("form", "invalid"))
			return
		}
		p := auth.From(r.Context())
		ok := false
		if p != nil {
			ok = auth.CheckCSRF(r, p)
		} else if c, err := r.Cookie("outbreak_csrf"); err == nil {
			got := r.PostFormValue("csrf")
			ok = got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(c.Value)) == 1
		}
		if !ok {
			pg := h.newPage(w, r, "error.title")
			pg.Title, pg.Data = pg.L.T("error.title"), pg.L.T("error.csrf")
			h.render(w, r, http.StatusForbidden, "error", pg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) today() civil.Date { return civil.Of(h.Now()) }

// option is a choice in a select.
type option struct{ Code, Label string }

func (h *Handler) communityOptions(r *http.Request, scope, lang string) ([]option, error) {
	js, err := h.Jurisdictions.Subtree(r.Context(), scope)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	var out []option
	for _, j := range js {
		names[j.Path] = j.Name(lang)
		if j.Level == jurisdiction.Community {
			parent := names[strings.TrimSuffix(strings.TrimSuffix(j.Path, j.Code+"/"), "")]
			out = append(out, option{Code: j.Code, Label: strings.TrimSpace(parent + " · " + j.Name(lang))})
		}
	}
	return out, nil
}

func jurisdictionOptions(js []jurisdiction.Jurisdiction, lang string, levels ...jurisdiction.Level) []option {
	var out []option
	for _, j := range js {
		for _, l := range levels {
			if j.Level == l {
				out = append(out, option{Code: j.Code, Label: strings.Repeat("· ", strings.Count(j.Path, "/")-2) + j.Name(lang) + " (" + j.Code + ")"})
			}
		}
	}
	return out
}

// Forbidden shows the page for a signed-in account whose role may not open
// what it asked for.
func (h *Handler) Forbidden(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "error.title")
	p.Data = p.L.T("error.forbidden")
	h.render(w, r, http.StatusForbidden, "error", p)
}
