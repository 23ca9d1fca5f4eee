package server

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/problem"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// A guard says whether a principal (nil when anonymous) may use a route.
type guard func(p *auth.Principal) bool

var (
	anyone       guard = func(p *auth.Principal) bool { return true }
	browser      guard = func(p *auth.Principal) bool { return p != nil && p.Account != nil }
	residentOnly guard = func(p *auth.Principal) bool { return p != nil && p.Account != nil && p.Actor.Role == rbac.Resident }
	staff        guard = func(p *auth.Principal) bool { return p != nil && p.Actor.Role.IsStaff() }
)

func can(perm rbac.Permission) guard {
	return func(p *auth.Principal) bool { return p != nil && p.Actor.Can(perm) }
}

func canAny(perms ...rbac.Permission) guard {
	return func(p *auth.Principal) bool {
		for _, perm := range perms {
			if p != nil && p.Actor.Can(perm) {
				return true
			}
		}
		return false
	}
}

// routes is the access-control map: every route, who may use it.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	w, a := s.web, s.api
	handle := func(pattern string, h http.Handler) {
		mux.Handle(pattern, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if rt, ok := r.Context().Value(routeKey{}).(*string); ok {
				*rt = r.Pattern
			}
			h.ServeHTTP(rw, r)
		}))
	}
	page := func(pattern string, g guard, h http.HandlerFunc) { handle(pattern, s.pageGuard(g, h)) }
	api := func(pattern string, g guard, h http.HandlerFunc) { handle(pattern, s.apiGuard(g, h)) }

	// Operations.
	handle("GET /healthz", http.HandlerFunc(s.healthz))
	handle("GET /readyz", http.HandlerFunc(s.readyz))
	handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	handle("GET /static/{hash}/{name...}", http.HandlerFunc(w.Static))

	// Pages anyone may open.
	page("GET /{$}", anyone, w.Root)
	page("/", anyone, w.NotFound)
	page("GET /login", anyone, w.LoginForm)
	page("POST /login", anyone, w.Login)
	page("GET /register", anyone, w.RegisterForm)
	page("POST /register", anyone, w.Register)
	page("POST /lang", anyone, w.Lang)
	page("POST /logout", browser, w.Logout)

	// Residents.
	page("GET /me", residentOnly, w.ResidentHome)
	page("GET /me/dependents/new", residentOnly, w.DependentForm)
	page("POST /me/dependents", residentOnly, w.AddDependent)
	page("GET /me/declare", residentOnly, w.DeclareForm)
	page("POST /me/declare", residentOnly, w.Declare)
	page("POST /me/appeal", residentOnly, w.FileAppeal)
	page("GET /me/pass.svg", residentOnly, w.PassSVG)

	// Staff, by permission.
	page("GET /staff", staff, w.StaffHome)
	page("GET /staff/residents/find", can(rbac.ResidentRead), w.Find)
	page("GET /staff/residents/{id}", can(rbac.ResidentRead), w.Record)
	page("GET /staff/roster", can(rbac.ResidentRead), w.Roster)
	page("GET /staff/access-log", can(rbac.AccessLogRead), w.AccessLog)
	page("POST /staff/residents/{id}/inputs", staff, w.StaffInput) // the service checks each input's permission
	page("GET /staff/appeals", can(rbac.CaseWrite), w.AppealQueue)
	page("POST /staff/appeals/{id}", can(rbac.CaseWrite), w.AnswerAppeal)
	page("GET /staff/control", can(rbac.AreaRiskWrite), w.Control)
	page("POST /staff/control/risk", can(rbac.AreaRiskWrite), w.SetRisk)
	page("POST /staff/control/rules", can(rbac.AreaRiskWrite), w.Rules)
	page("GET /staff/jobs/{id}", staff, w.JobPage)
	page("GET /staff/audit", can(rbac.AccessLogRead), w.AuditPage)
	page("GET /admin/staff", can(rbac.StaffManage), w.StaffList)
	page("POST /admin/staff", can(rbac.StaffManage), w.StaffCreate)
	page("POST /admin/staff/{id}", can(rbac.StaffManage), w.StaffUpdate)
	page("GET /admin/jurisdictions", can(rbac.JurisdictionManage), w.JurisdictionList)
	page("POST /admin/jurisdictions", can(rbac.JurisdictionManage), w.JurisdictionCreate)
	page("GET /admin/tokens", can(rbac.TokenManage), w.Tokens)
	page("POST /admin/tokens", can(rbac.TokenManage), w.TokenCreate)
	page("POST /admin/tokens/{id}/revoke", can(rbac.TokenManage), w.TokenRevoke)

	// API: sign-in and the public hierarchy.
	api("POST /api/v1/login", anyone, a.Login)
	api("POST /api/v1/logout", browser, a.Logout)
	api("POST /api/v1/register", anyone, a.Register)
	api("GET /api/v1/jurisdictions", anyone, a.ListJurisdictions)

	// API: the signed-in person.
	api("GET /api/v1/me", browser, a.GetMe)
	api("PUT /api/v1/me/lang", browser, a.SetLang)
	api("GET /api/v1/me/dependents", residentOnly, a.Dependents)
	api("POST /api/v1/me/dependents", residentOnly, a.AddDependent)
	api("GET /api/v1/whoami", staff, a.WhoAmI)

	// API: staff, by permission (session or API token).
	api("GET /api/v1/residents", can(rbac.ResidentRead), a.ListResidents)
	api("GET /api/v1/residents/lookup", can(rbac.ResidentRead), a.LookupResidents)
	api("GET /api/v1/residents/{id}", can(rbac.ResidentRead), a.GetResident)
	api("POST /api/v1/residents", can(rbac.ResidentWrite), a.CreateResident)
	api("GET /api/v1/stats/residents", can(rbac.StatsRead), a.ResidentCounts)
	api("GET /api/v1/access-log", can(rbac.AccessLogRead), a.AccessLog)
	api("POST /api/v1/jurisdictions", can(rbac.JurisdictionManage), a.CreateJurisdiction)
	api("PATCH /api/v1/jurisdictions/{code}", can(rbac.JurisdictionManage), a.RenameJurisdiction)
	api("GET /api/v1/staff", can(rbac.StaffManage), a.ListStaff)
	api("POST /api/v1/staff", can(rbac.StaffManage), a.CreateStaff)
	api("PATCH /api/v1/staff/{id}", can(rbac.StaffManage), a.UpdateStaff)
	api("GET /api/v1/tokens", can(rbac.TokenManage), a.ListTokens)
	api("POST /api/v1/tokens", can(rbac.TokenManage), a.CreateToken)
	api("DELETE /api/v1/tokens/{id}", can(rbac.TokenManage), a.RevokeToken)
	// API: health codes. The trust list is public: verifiers anywhere need it.
	api("GET /api/v1/trust-list", anyone, a.TrustList)
	api("GET /api/v1/trust-list/root", anyone, a.TrustRoot)
	api("GET /api/v1/me/code", residentOnly, a.MyCode)
	api("GET /api/v1/me/pass", residentOnly, a.MyPass)
	api("POST /api/v1/me/declarations", residentOnly, a.Declare)
	api("POST /api/v1/me/appeals", residentOnly, a.Appeal)
	api("GET /api/v1/residents/{id}/code", can(rbac.ResidentRead), a.ResidentCode)
	api("POST /api/v1/residents/{id}/case-status", can(rbac.CaseWrite), a.SetCaseStatus)
	api("POST /api/v1/residents/{id}/contacts", can(rbac.CaseWrite), a.AddContact)
	api("POST /api/v1/residents/{id}/tests", can(rbac.LabResultWrite), a.AddTest)
	api("POST /api/v1/residents/{id}/quarantine", canAny(rbac.CaseWrite, rbac.ResidentWrite), a.OrderQuarantine)
	api("POST /api/v1/residents/{id}/override", can(rbac.CaseWrite), a.SetOverride)
	api("DELETE /api/v1/residents/{id}/override", can(rbac.CaseWrite), a.ClearOverride)
	api("POST /api/v1/test-results", can(rbac.LabResultWrite), a.SubmitTestResult)
	api("GET /api/v1/appeals", can(rbac.CaseWrite), a.Appeals)
	api("POST /api/v1/appeals/{id}/answer", can(rbac.CaseWrite), a.AnswerAppeal)
	api("POST /api/v1/risk-areas", can(rbac.AreaRiskWrite), a.SetRiskArea)
	api("POST /api/v1/rules/dry-run", can(rbac.AreaRiskWrite), a.DryRunRules)
	api("POST /api/v1/rules", can(rbac.AreaRiskWrite), a.ApplyRules)
	api("GET /api/v1/jobs/{id}", staff, a.JobStatus)
	api("GET /api/v1/audit/verify", can(rbac.AccessLogRead), a.VerifyAudit)

	// Checkpoint: verification page, offline worker, passages (internal/checkpoint).
	// The page opens offline from its service worker's copy; the worker and
	// the hashed assets hold no secret, so anyone may fetch them.
	page("GET /checkpoint", can(rbac.PassVerify), s.cp.Page)
	handle("GET /checkpoint/sw.js", http.HandlerFunc(s.cp.ServiceWorker))
	handle("GET /checkpoint/static/{hash}/{name}", http.HandlerFunc(s.cp.Static))
	api("GET /api/v1/checkpoint/session", can(rbac.PassVerify), s.cp.Session)
	api("POST /api/v1/passages", can(rbac.PassVerify), s.cp.Record)
	api("GET /api/v1/passages/summary", canAny(rbac.PassVerify, rbac.StatsRead), s.cp.Summary)

	handle("/api/", http.HandlerFunc(a.NotFound))

	var h http.Handler = mux
	h = http.NewCrossOriginProtection().Handler(h)
	h = s.sessions.Load(h)
	return s.observe(h)
}

type routeKey struct{}

// pageGuard sends anonymous visitors to sign in, refuses the wrong role with
// a 403 page, and checks the CSRF token of every form.
func (s *Server) pageGuard(g guard, h http.HandlerFunc) http.Handler {
	return s.web.CSRF(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.From(r.Context())
		if p != nil && p.Account == nil {
			p = nil // API tokens do not open pages
			r = r.WithContext(auth.With(r.Context(), nil))
		}
		if !g(p) {
			if p == nil {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			s.web.Forbidden(w, r)
			return
		}
		h(w, r)
	}))
}

// apiGuard answers 401 to the anonymous and 403 to the wrong role, and
// checks the CSRF header of unsafe requests from cookie sessions.
func (s *Server) apiGuard(g guard, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !validation.StorableValues(r.URL.Query()) {
			problem.Write(w, r, s.log, problem.New(http.StatusBadRequest, "The query string must be UTF-8 text without NUL characters."), nil)
			return
		}
		p := auth.From(r.Context())
		if !g(p) {
			if p == nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="outbreak"`)
				problem.Write(w, r, s.log, problem.New(http.StatusUnauthorized, "Sign in or send an API token."), nil)
				return
			}
			problem.Write(w, r, s.log, problem.New(http.StatusForbidden, "Your role may not do this."), nil)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !auth.CheckCSRF(r, p) {
			problem.Write(w, r, s.log, problem.New(http.StatusForbidden, "Missing or wrong X-CSRF-Token header."), nil)
			return
		}
		h(w, r)
	})
}

func withRoute(ctx context.Context, rt *string) context.Context {
	return context.WithValue(ctx, routeKey{}, rt)
}
