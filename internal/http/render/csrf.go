package render

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"

	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// maxForm caps a form body.
const maxForm = 64 << 10

var (
	errForm     = fault.New(fault.Malformed, "error.bad_request", "render: the form is not storable text")
	errNoSuchID = fault.New(fault.NotFound, "error.not_found", "render: no such id")
	errCSRF     = fault.New(fault.Forbidden, "error.csrf", "render: missing or wrong CSRF token")
)

// csrfToken returns the session's CSRF token, or for an anonymous visitor a
// token kept in a cookie of its own (double submit).
func csrfToken(w http.ResponseWriter, r *http.Request) string {
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

// CSRF refuses unsafe requests whose form lacks the right token, and forms
// that are not storable text.
func (rd *Renderer) CSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil || !validation.StorableValues(r.Form) {
			rd.Error(w, r, nil, errForm)
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
			rd.Error(w, r, nil, errCSRF)
			return
		}
		next.ServeHTTP(w, r)
	})
}
