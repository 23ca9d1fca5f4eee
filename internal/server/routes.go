package server

import (
	"context"
	"net/http"
	"net/url"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/problem"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/validation"
	"github.com/outbreak-platform/outbreak/internal/venue"
	"github.com/outbreak-platform/outbreak/internal/web"
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

	// Contact tracing (issue 4): "Am I a close contact?", the community's
	// follow-up list, a case's tracings.
	page("GET /me/contacts", residentOnly, w.MyContacts)
	api("GET /api/v1/me/contacts", residentOnly, a.MyContacts)
	page("GET /staff/contacts", canAny(rbac.ResidentWrite, rbac.CaseWrite), w.FollowUps)
	page("POST /staff/contacts/{id}", canAny(rbac.ResidentWrite, rbac.CaseWrite), w.SetFollowUp)
	api("GET /api/v1/contacts", canAny(rbac.ResidentWrite, rbac.CaseWrite), a.FollowUps)
	api("POST /api/v1/contacts/{id}/follow-up", canAny(rbac.ResidentWrite, rbac.CaseWrite), a.SetFollowUp)
	api("GET /api/v1/residents/{id}/traces", can(rbac.CaseWrite), a.Traces)
	api("POST /api/v1/residents/{id}/trace", can(rbac.CaseWrite), a.Retrace)

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

	// Places (issue 4): residents register their own venues, community
	// workers compound entrances and village checkpoints, admins vehicles
	// (venue.MayRegister); each manages and prints what it registered, in
	// scope (venue.MayManage, checked by the registry). Any staff member
	// may search the places in scope through the API. A visitor at a
	// compound entrance says whom they visit; the community worker sees
	// the list (each visitor shown is a logged read).
	registrar := guard(func(p *auth.Principal) bool { return p != nil && len(venue.RegisterableTypes(p.Actor)) > 0 })
	placeReader := guard(func(p *auth.Principal) bool { return residentOnly(p) || staff(p) })
	page("GET /places", registrar, w.PlaceList)
	page("GET /places/new", registrar, w.PlaceForm)
	page("POST /places", registrar, w.PlaceCreate)
	page("GET /places/{id}", registrar, w.PlacePage)
	page("GET /places/{id}/poster.svg", registrar, w.PlacePoster)
	page("GET /places/{id}/poster.pdf", registrar, w.PlacePoster)
	page("GET /places/{id}/print", registrar, w.PlacePrint)
	page("POST /places/{id}/disable", registrar, w.PlaceDisable)
	page("POST /places/{id}/enable", registrar, w.PlaceEnable)
	page("GET /visit/{placeID}", residentOnly, w.VisitForm)
	page("POST /visit/{placeID}", residentOnly, w.Visit)
	page("GET /staff/visitors", can(rbac.ResidentRead), w.VisitorList) // community workers only: venue.MayListVisitors
	api("POST /api/v1/places", registrar, a.RegisterPlace)
	api("GET /api/v1/places", placeReader, a.ListPlaces)
	api("GET /api/v1/places/{id}", placeReader, a.GetPlace)
	api("GET /api/v1/places/{id}/poster.svg", registrar, a.PlacePoster)
	api("GET /api/v1/places/{id}/poster.pdf", registrar, a.PlacePoster)
	api("POST /api/v1/places/{id}/disable", registrar, a.DisablePlace)
	api("POST /api/v1/places/{id}/enable", registrar, a.EnablePlace)

	// Public look-ups (issue 4): anyone, signed in or not; each counts
	// against the client address's limit (PublicByIP) and answers with a
	// place, a date and a time window only.
	page("GET /public", anyone, w.PublicIndex)
	page("GET /public/trips", anyone, w.PublicTrips)
	page("GET /public/places", anyone, w.PublicPlaces)
	page("GET /public/map", anyone, w.PublicMap)
	api("GET /api/v1/public/exposures", anyone, a.PublicExposures)

	// Check-ins (issue 4): a resident checks in at the place a poster names
	// (with the family members they act for), checks out, registers trips
	// and reads their own check-ins; the API takes a phone's check-ins in
	// batches, behind a per-account limit and a gate that sheds load. A
	// checkpoint operator chooses the place the page stands at, so that
	// passes accepted there count as check-ins.
	ci, cia := s.checkinPages, s.checkinAPI
	page("GET /checkin", residentOnly, ci.Page)
	// The page's service worker and the offline copy it keeps hold nobody's
	// data (the copy reads whose phone it is from a cookie): anyone may
	// fetch them.
	handle("GET /checkin/sw.js", http.HandlerFunc(ci.ServiceWorker))
	handle("GET /checkin/offline", http.HandlerFunc(ci.Shell))
	page("POST /checkin", residentOnly, ci.Confirm)
	page("POST /checkin/checkout", residentOnly, ci.CheckOut)
	page("GET /me/checkins", residentOnly, ci.History)
	page("GET /me/trips/new", residentOnly, ci.TripForm)
	page("POST /me/trips", residentOnly, ci.RegisterTrip)
	api("POST /api/v1/checkins", residentOnly, cia.Ingest)
	api("POST /api/v1/checkins/{client_id}/checkout", residentOnly, cia.CheckOut)
	api("GET /api/v1/me/checkins", residentOnly, cia.History)
	api("POST /api/v1/me/trips", residentOnly, cia.Trip)
	api("GET /api/v1/checkpoint/places", can(rbac.PassVerify), s.cp.PlaceList)

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
				// Back here after signing in, e.g. to a scanned poster.
				target := "/login"
				if r.Method == http.MethodGet && web.LocalPath(r.URL.RequestURI()) {
					target += "?next=" + url.QueryEscape(r.URL.RequestURI())
				}
				http.Redirect(w, r, target, http.StatusSeeOther)
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
