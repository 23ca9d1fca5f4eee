// Package route is how an area declares its pages and API: each route with
// the guard that says who may use it. The server collects every area's
// routes into one mux (and one access-control map, docs/ROUTES.md, made
// from the same list); the mux puts each route behind its guard — for a
// page: sign-in redirect, 403 page, CSRF token of forms; for the API: 401,
// 403, CSRF header of cookie sessions.
package route

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/http/render"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// Guard says whether a principal (nil when anonymous) may use a route.
// Its name words the rule in the access-control map.
type Guard struct {
	Name  string
	allow func(p *auth.Principal) bool
}

// Allows reports whether p may use a route behind g.
func (g Guard) Allows(p *auth.Principal) bool { return g.allow(p) }

// NewGuard is a guard of its own rule.
func NewGuard(name string, allow func(p *auth.Principal) bool) Guard {
	return Guard{Name: name, allow: allow}
}

// The guards every area uses.
var (
	Anyone   = NewGuard("anyone", func(p *auth.Principal) bool { return true })
	Browser  = NewGuard("signed in", func(p *auth.Principal) bool { return p != nil && p.Account != nil })
	Resident = NewGuard("resident", func(p *auth.Principal) bool {
		return p != nil && p.Account != nil && p.Actor.Role == rbac.Resident
	})
	Staff = NewGuard("staff", func(p *auth.Principal) bool { return p != nil && p.Actor.Role.IsStaff() })
)

// Can lets in whoever holds perm.
func Can(perm rbac.Permission) Guard {
	return NewGuard(perm.String(), func(p *auth.Principal) bool { return p != nil && p.Actor.Can(perm) })
}

// CanAny lets in whoever holds any of perms.
func CanAny(perms ...rbac.Permission) Guard {
	names := make([]string, len(perms))
	for i, perm := range perms {
		names[i] = perm.String()
	}
	return NewGuard(strings.Join(names, " or "), func(p *auth.Principal) bool {
		for _, perm := range perms {
			if p != nil && p.Actor.Can(perm) {
				return true
			}
		}
		return false
	})
}

// Or lets in whoever either guard lets in.
func Or(a, b Guard) Guard {
	return NewGuard(a.Name+" or "+b.Name, func(p *auth.Principal) bool { return a.allow(p) || b.allow(p) })
}

// Kind is how a route answers those it turns away.
type Kind uint8

const (
	// Page: anonymous visitors are sent to sign in, others see a 403
	// page; forms carry a CSRF token; API tokens do not open pages.
	Page Kind = iota
	// API: 401 or 403 problem details; unsafe requests of cookie
	// sessions carry the X-CSRF-Token header.
	API
	// Raw: no guard at all — static files, service workers, operations.
	Raw
)

func (k Kind) String() string { return [...]string{"page", "api", "raw"}[k] }

// Route is one pattern of the mux ("GET /me", "POST /api/v1/checkins")
// with its guard and handler.
type Route struct {
	Pattern string
	Kind    Kind
	Guard   Guard
	Handler http.Handler
}

// P declares a page.
func P(pattern string, g Guard, h http.HandlerFunc) Route {
	return Route{Pattern: pattern, Kind: Page, Guard: g, Handler: h}
}

// A declares an API route.
func A(pattern string, g Guard, h http.HandlerFunc) Route {
	return Route{Pattern: pattern, Kind: API, Guard: g, Handler: h}
}

// R declares a route without a guard.
func R(pattern string, h http.Handler) Route {
	return Route{Pattern: pattern, Kind: Raw, Guard: Anyone, Handler: h}
}

// Area is what an HTTP area gives the mux.
type Area interface{ Routes() []Route }

// Mux serves the routes of every area, each behind its guard.
type Mux struct {
	rd     *render.Renderer
	mux    *http.ServeMux
	routes []Route
}

// NewMux returns an empty mux whose guards answer through rd.
func NewMux(rd *render.Renderer) *Mux { return &Mux{rd: rd, mux: http.NewServeMux()} }

// Add mounts routes.
func (m *Mux) Add(rs ...Route) {
	for _, rt := range rs {
		var h http.Handler
		switch rt.Kind {
		case Page:
			h = m.page(rt.Guard, rt.Handler)
		case API:
			h = m.api(rt.Guard, rt.Handler)
		default:
			h = rt.Handler
		}
		m.mux.Handle(rt.Pattern, labelled(h))
		m.routes = append(m.routes, rt)
	}
}

// Mount adds the routes of areas.
func (m *Mux) Mount(areas ...Area) {
	for _, a := range areas {
		m.Add(a.Routes()...)
	}
}

// Routes lists every route mounted, in order.
func (m *Mux) Routes() []Route { return slices.Clone(m.routes) }

func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.mux.ServeHTTP(w, r) }

type labelKey struct{}

// WithLabel returns ctx in which the mux writes the matched route's
// pattern to *label, for the metrics and the request log.
func WithLabel(ctx context.Context, label *string) context.Context {
	return context.WithValue(ctx, labelKey{}, label)
}

func labelled(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l, ok := r.Context().Value(labelKey{}).(*string); ok {
			*l = r.Pattern
		}
		h.ServeHTTP(w, r)
	})
}

var (
	errSignIn    = fault.New(fault.Unauthenticated, "error.unauthenticated", "route: sign in or send an API token")
	errRole      = fault.New(fault.Forbidden, "error.forbidden", "route: the role may not use this route")
	errCSRF      = fault.New(fault.Forbidden, "error.csrf", "route: missing or wrong X-CSRF-Token header")
	errQueryText = fault.New(fault.Malformed, "error.query_text", "route: the query string is not storable text")
)

// page sends anonymous visitors to sign in, refuses the wrong role with a
// 403 page, and checks the CSRF token of every form.
func (m *Mux) page(g Guard, h http.Handler) http.Handler {
	return m.rd.CSRF(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.From(r.Context())
		if p != nil && p.Account == nil {
			p = nil // API tokens do not open pages
			r = r.WithContext(auth.With(r.Context(), nil))
		}
		if !g.allow(p) {
			if p == nil {
				// Back here after signing in, e.g. to a scanned poster.
				target := "/login"
				if r.Method == http.MethodGet && LocalPath(r.URL.RequestURI()) {
					target += "?next=" + url.QueryEscape(r.URL.RequestURI())
				}
				http.Redirect(w, r, target, http.StatusSeeOther)
				return
			}
			m.rd.Error(w, r, nil, errRole)
			return
		}
		h.ServeHTTP(w, r)
	}))
}

// api answers 401 to the anonymous and 403 to the wrong role, and checks
// the CSRF header of unsafe requests from cookie sessions.
func (m *Mux) api(g Guard, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !validation.StorableValues(r.URL.Query()) {
			m.rd.Problem(w, r, errQueryText)
			return
		}
		p := auth.From(r.Context())
		if !g.allow(p) {
			if p == nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="outbreak"`)
				m.rd.Problem(w, r, errSignIn)
				return
			}
			m.rd.Problem(w, r, errRole)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !auth.CheckCSRF(r, p) {
			m.rd.Problem(w, r, errCSRF)
			return
		}
		h.ServeHTTP(w, r)
	})
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

// Table writes routes as the markdown access-control map: each pattern,
// its kind and who may use it.
func Table(routes []Route) string {
	var b strings.Builder
	b.WriteString("| route | kind | who may use it |\n| --- | --- | --- |\n")
	for _, rt := range routes {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", rt.Pattern, rt.Kind, rt.Guard.Name)
	}
	return b.String()
}
