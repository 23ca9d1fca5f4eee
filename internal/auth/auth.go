// Package auth authenticates requests — browser sessions in a cookie, API
// tokens in the Authorization header — and guards them: CSRF tokens on
// every form, rate limits on sign-in.
package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/rbac"
)

// SessionCookie names the session cookie.
const SessionCookie = "outbreak_session"

// OfflineAccountCookie names the account the browser last opened the
// check-in page as. The page's offline copy (kept by its service worker)
// holds no one's data, and files a check-in made with no network under
// this account, for the real page to send once that account is signed in
// again. Scripts read it; it says only an account id, which the page shows
// its own script anyway. Every sign-in and sign-out clears it, so that an
// offline copy never acts for the previous person on a shared phone.
const OfflineAccountCookie = "outbreak_offline_account"

// Principal is who a request comes from.
type Principal struct {
	Actor   rbac.Actor
	Account *account.Account // nil for API tokens
	CSRF    string           // the session's CSRF token; "" for API tokens
	Session string           // the session token, to end it
}

type ctxKey struct{}

// From returns the request's principal, or nil when it is anonymous.
func From(ctx context.Context) *Principal {
	p, _ := ctx.Value(ctxKey{}).(*Principal)
	return p
}

// With returns ctx carrying p.
func With(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// Sessions loads principals and issues session cookies.
type Sessions struct {
	Accounts account.Store
	Log      *slog.Logger
	// TTL of a session; staff sessions last StaffTTL.
	TTL, StaffTTL time.Duration
}

// Load attaches the principal of a session cookie or a bearer token, if
// any. An invalid bearer token is refused at once; an invalid cookie is
// treated as no session.
func (s *Sessions) Load(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := r.Header.Get("Authorization"); h != "" {
			secret, ok := strings.CutPrefix(h, "Bearer ")
			t, err := s.Accounts.AuthenticateToken(r.Context(), strings.TrimSpace(secret))
			if !ok || err != nil {
				if err != nil && !errors.Is(err, account.ErrBadToken) {
					s.Log.ErrorContext(r.Context(), "token lookup failed", "err", err)
				}
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(http.StatusUnauthorized)
				w.Write([]byte(`{"type":"about:blank","title":"Unauthorized","status":401,"detail":"The API token is malformed, unknown, revoked or expired."}` + "\n"))
				return
			}
			next.ServeHTTP(w, r.WithContext(With(r.Context(), &Principal{Actor: t.Actor()})))
			return
		}
		c, err := r.Cookie(SessionCookie)
		if err != nil || c.Value == "" {
			next.ServeHTTP(w, r)
			return
		}
		a, csrf, err := s.Accounts.Session(r.Context(), c.Value)
		if err != nil {
			if !errors.Is(err, db.ErrNotFound) {
				s.Log.ErrorContext(r.Context(), "session lookup failed", "err", err)
			}
			next.ServeHTTP(w, r)
			return
		}
		p := &Principal{Actor: a.Actor(), Account: &a, CSRF: csrf, Session: c.Value}
		next.ServeHTTP(w, r.WithContext(With(r.Context(), p)))
	})
}

// Start begins a session for a and sets its cookie.
func (s *Sessions) Start(ctx context.Context, w http.ResponseWriter, a account.Account) (*Principal, error) {
	ttl := s.TTL
	if a.Role.IsStaff() {
		ttl = s.StaffTTL
	}
	token, csrf, err := s.Accounts.CreateSession(ctx, a.ID, ttl)
	if err != nil {
		return nil, err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", MaxAge: int(ttl.Seconds()),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	clearOfflineAccount(w)
	return &Principal{Actor: a.Actor(), Account: &a, CSRF: csrf, Session: token}, nil
}

// End ends the request's session and clears its cookie.
func (s *Sessions) End(ctx context.Context, w http.ResponseWriter, p *Principal) error {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	clearOfflineAccount(w)
	if p == nil || p.Session == "" {
		return nil
	}
	return s.Accounts.DeleteSession(ctx, p.Session)
}

// SetOfflineAccount names p's account in OfflineAccountCookie, for as long
// as a session of its role lasts: the page that works offline (the check-in
// page) calls it each time it is shown.
func (s *Sessions) SetOfflineAccount(w http.ResponseWriter, p *Principal) {
	if s == nil || p == nil || p.Account == nil {
		return
	}
	ttl := s.TTL
	if p.Actor.Role.IsStaff() {
		ttl = s.StaffTTL
	}
	http.SetCookie(w, &http.Cookie{Name: OfflineAccountCookie, Value: strconv.FormatInt(p.Actor.AccountID, 10), Path: "/",
		MaxAge: int(ttl.Seconds()), Secure: true, SameSite: http.SameSiteLaxMode})
}

func clearOfflineAccount(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: OfflineAccountCookie, Value: "", Path: "/", MaxAge: -1, Secure: true, SameSite: http.SameSiteLaxMode})
}

// CheckCSRF reports whether an unsafe request from a cookie session carries
// the session's CSRF token, in the form field "csrf" or the X-CSRF-Token
// header. Requests with an API token need none: a browser never adds one.
func CheckCSRF(r *http.Request, p *Principal) bool {
	if p == nil || p.Account == nil {
		return true
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(p.CSRF)) == 1
}

// Credentialed reports whether r carries a session cookie or a bearer
// token — valid or not: that is for Load to say. What the limits in front
// of the session look-up take as "not anonymous".
func Credentialed(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return true
	}
	c, err := r.Cookie(SessionCookie)
	return err == nil && c.Value != ""
}
