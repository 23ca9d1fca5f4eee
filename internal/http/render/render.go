// Package render is what every area's pages and API share: the layout and
// partials of the pages, the site's static assets, the responders that
// write a page, a JSON body or an RFC 9457 problem, the one classifier that
// turns a domain error into a status and a message (Classify), the pager
// and the CSV writer of every list, the CSRF check of forms, the language
// of a request and the region's clock.
//
// An area (internal/http/<area>) parses its own templates with Parse, which
// wraps each page in the shared layout, and calls the responders; it never
// decides a status for an error by itself.
package render

import (
	"bytes"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/accesslog"
	"github.com/outbreak-platform/outbreak/internal/assets"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/i18n"
	"github.com/outbreak-platform/outbreak/internal/jsonio"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// StaticPrefix is where the site's assets are served, under their hash.
const StaticPrefix = "/static/"

// Renderer holds what the responders need. Build it once with New and give
// it to every area.
type Renderer struct {
	Log     *slog.Logger
	Catalog *i18n.Catalog
	// Now is the clock; its location is the region's time zone, in which
	// every time shown to a person is written.
	Now func() time.Time

	assets *assets.Set
	own    *Templates // the error and problem pages
}

// New indexes the site's assets (from devAssets, a folder, when it is not
// empty: development) and parses the shared pages.
func New(log *slog.Logger, cat *i18n.Catalog, now func() time.Time, devAssets string) (*Renderer, error) {
	files, _ := fs.Sub(staticFS, "static")
	if devAssets != "" {
		files = os.DirFS(devAssets)
	}
	rd := &Renderer{Log: log, Catalog: cat, Now: now}
	var err error
	if rd.assets, err = assets.New(files, StaticPrefix); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	if rd.own, err = rd.Parse(templateFS); err != nil {
		return nil, err
	}
	return rd, nil
}

// Assets is the site's asset set, for an area's service worker.
func (rd *Renderer) Assets() *assets.Set { return rd.assets }

// Static serves the assets under /static/{hash}/{name}, cached for a year:
// the hash in the URL changes whenever the content does.
func (rd *Renderer) Static(w http.ResponseWriter, r *http.Request) { rd.assets.Serve(w, r) }

// Loc is the region's time zone.
func (rd *Renderer) Loc() *time.Location { return rd.Now().Location() }

// Today is the date in the region.
func (rd *Renderer) Today() civil.Date { return civil.Of(rd.Now()) }

// Lang is the language of the request: the signed-in account's, when it
// chose one, else the lang cookie's, else the browser's (Accept-Language).
func Lang(r *http.Request) string {
	if p := auth.From(r.Context()); p != nil && p.Account != nil && validLang(p.Account.Lang) {
		return p.Account.Lang
	}
	if c, err := r.Cookie("lang"); err == nil && validLang(c.Value) {
		return c.Value
	}
	return i18n.Negotiate(r)
}

func validLang(l string) bool {
	for _, x := range i18n.Langs {
		if l == x {
			return true
		}
	}
	return false
}

// L is the request's localizer.
func (rd *Renderer) L(r *http.Request) *i18n.Localizer { return rd.Catalog.For(Lang(r)) }

// Page is what every template gets.
type Page struct {
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

// NewPage starts the page of a request, titled by the catalogue key
// titleKey, with the flash message the previous request left, if any.
func (rd *Renderer) NewPage(w http.ResponseWriter, r *http.Request, titleKey string) *Page {
	l := rd.L(r)
	p := &Page{L: l, P: auth.From(r.Context()), Title: l.T(titleKey), Errors: map[string]string{}, Form: url.Values{},
		Purposes: accesslog.Purposes}
	p.CSRF = csrfToken(w, r)
	if c, err := r.Cookie("flash"); err == nil {
		if b, err := base64.RawURLEncoding.DecodeString(c.Value); err == nil {
			p.Flash = l.T(string(b))
		}
		http.SetCookie(w, &http.Cookie{Name: "flash", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	}
	return p
}

// BarePage is a page that holds nobody's data and no session's token: the
// offline copies service workers keep.
func (rd *Renderer) BarePage(r *http.Request, titleKey string) *Page {
	l := rd.L(r)
	return &Page{L: l, Title: l.T(titleKey), Errors: map[string]string{}, Form: url.Values{}, Bare: true}
}

// Templates are an area's pages, each wrapped in the shared layout.
type Templates struct {
	rd    *Renderer
	pages map[string]*template.Template
}

// Parse reads the pages of an area: every templates/*.html of fsys, each
// parsed with the shared layout and partials and with the area's own
// partials (the files whose names start with "_"). A page is named by its
// file name without ".html".
func (rd *Renderer) Parse(fsys fs.FS) (*Templates, error) {
	names, err := fs.Glob(fsys, "templates/*.html")
	if err != nil {
		return nil, err
	}
	var partials, pages []string
	for _, n := range names {
		switch base := path.Base(n); {
		case base == "layout.html" || base == "partials.html":
		case strings.HasPrefix(base, "_"):
			partials = append(partials, n)
		default:
			pages = append(pages, n)
		}
	}
	t := &Templates{rd: rd, pages: map[string]*template.Template{}}
	for _, n := range pages {
		tpl, err := template.New("layout.html").Funcs(rd.funcs()).ParseFS(templateFS, "templates/layout.html", "templates/partials.html")
		if err == nil {
			tpl, err = tpl.ParseFS(fsys, append(slicesClone(partials), n)...)
		}
		if err != nil {
			return nil, fmt.Errorf("render: parse %s: %w", n, err)
		}
		t.pages[strings.TrimSuffix(path.Base(n), ".html")] = tpl
	}
	return t, nil
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// funcs are the functions every template may call.
func (rd *Renderer) funcs() template.FuncMap {
	return template.FuncMap{
		"asset": rd.assets.URL,
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
		// at writes a time in the region's zone, to the minute; day, its date.
		"at":  func(t time.Time) string { return rd.At(t) },
		"day": func(t time.Time) string { return t.In(rd.Loc()).Format("2006-01-02") },
		// atsec is at to the second, for the auditor's logs.
		"atsec": func(t time.Time) string { return t.In(rd.Loc()).Format("2006-01-02 15:04:05") },
		"num":   Num,
	}
}

// At writes t in the region's time zone, to the minute, as every page does.
func (rd *Renderer) At(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(rd.Loc()).Format("2006-01-02 15:04")
}

// AtUnix is At of a unix time.
func (rd *Renderer) AtUnix(sec int64) string { return rd.At(time.Unix(sec, 0)) }

// Num writes an integer with thousands separators: 8,838.
func Num(v any) string {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	case int32:
		n = int64(x)
	default:
		return fmt.Sprint(v)
	}
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Has reports whether the area has the page name.
func (t *Templates) Has(name string) bool { _, ok := t.pages[name]; return ok }

// Execute makes the page name with p.
func (t *Templates) Execute(name string, p *Page) ([]byte, error) {
	tpl, ok := t.pages[name]
	if !ok {
		return nil, fmt.Errorf("render: no such page %q", name)
	}
	var buf bytes.Buffer
	if err := tpl.Execute(&buf, p); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Render executes a page into a buffer and writes it whole, or a plain 500
// when the template fails: never half a page.
func (t *Templates) Render(w http.ResponseWriter, r *http.Request, status int, name string, p *Page) {
	body, err := t.Execute(name, p)
	if err != nil {
		t.rd.Log.ErrorContext(r.Context(), "render failed", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	WritePage(w, status, body)
}

// WritePage writes a page made by Execute with the headers every page
// has; the caller has set its Cache-Control.
func WritePage(w http.ResponseWriter, status int, body []byte) {
	PageHeaders(w.Header())
	w.WriteHeader(status)
	w.Write(body)
}

// PageHeaders sets the headers of an HTML page.
func PageHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
}

// Redirect sends the browser to target (303) with a flash message, a
// catalogue key the next page shows once ("" for none).
func Redirect(w http.ResponseWriter, r *http.Request, target, flashKey string) {
	if flashKey != "" {
		http.SetCookie(w, &http.Cookie{Name: "flash", Value: base64.RawURLEncoding.EncodeToString([]byte(flashKey)), Path: "/",
			MaxAge: 60, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// JSON writes v whole, or logs why it could not.
func (rd *Renderer) JSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	if err := jsonio.Write(w, status, v); err != nil {
		rd.Log.ErrorContext(r.Context(), "write response", "err", err)
	}
}
