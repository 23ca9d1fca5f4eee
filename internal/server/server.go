// Package server wires the platform together: it builds the stores and
// services on an open database, mounts the pages and the API behind their
// guards, and runs the HTTP server with timeouts and a graceful shutdown.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/outbreak-platform/outbreak/internal/accesslog"
	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/checkin"
	"github.com/outbreak-platform/outbreak/internal/checkpoint"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/config"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/exposure"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	accounthttp "github.com/outbreak-platform/outbreak/internal/http/account"
	audithttp "github.com/outbreak-platform/outbreak/internal/http/audit"
	checkinhttp "github.com/outbreak-platform/outbreak/internal/http/checkin"
	checkpointhttp "github.com/outbreak-platform/outbreak/internal/http/checkpoint"
	exposurehttp "github.com/outbreak-platform/outbreak/internal/http/exposure"
	healthcodehttp "github.com/outbreak-platform/outbreak/internal/http/healthcode"
	homehttp "github.com/outbreak-platform/outbreak/internal/http/home"
	jurisdictionhttp "github.com/outbreak-platform/outbreak/internal/http/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/http/render"
	residenthttp "github.com/outbreak-platform/outbreak/internal/http/resident"
	"github.com/outbreak-platform/outbreak/internal/http/route"
	tracinghttp "github.com/outbreak-platform/outbreak/internal/http/tracing"
	venuehttp "github.com/outbreak-platform/outbreak/internal/http/venue"
	"github.com/outbreak-platform/outbreak/internal/i18n"
	"github.com/outbreak-platform/outbreak/internal/issuer"
	"github.com/outbreak-platform/outbreak/internal/jsonio"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/notify"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/rules"
	"github.com/outbreak-platform/outbreak/internal/tracing"
	"github.com/outbreak-platform/outbreak/internal/vault"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

// Server is the platform's HTTP side.
type Server struct {
	cfg      config.Config
	log      *slog.Logger
	db       *db.DB
	registry *prometheus.Registry
	mux      *route.Mux
	sessions *auth.Sessions
	codes    *healthcode.Service
	traces   *tracing.Service
	sender   notify.Sender
	// holders is the issuer's record of pass holders (purged in
	// housekeeping); visitors, the compound entrances' visitors.
	holders *issuer.Issuer
	// heads signs the audit chain's head every cfg.AuditHeadInterval.
	heads    *audit.HeadLog
	visitors *venue.Visitors
	// checkinGate admits the check-in API's writes.
	checkinGate *checkinhttp.Gate
	// rd renders the check-in gate's refusals; clientIP finds a request's
	// client address, anonByAddr bounds each address's anonymous requests.
	rd         *render.Renderer
	clientIP   auth.ClientIP
	anonByAddr *auth.InFlight

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	inFlight chan struct{}
}

// New builds the server on an open, migrated store: every domain service
// once, then every area's pages and API on the services it uses.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, d *db.DB, v *vault.Vault, reg *prometheus.Registry) (*Server, error) {
	cat, err := i18n.Load()
	if err != nil {
		return nil, err
	}
	loc := cfg.Loc()
	now := func() time.Time { return time.Now().In(loc) }

	// The domain: stores and services.
	juris := jurisdiction.NewStore(d)
	residents := resident.NewStore(d, v)
	// Every signed-in request looks its session up: from memory (see
	// account.SessionCache), not from the reader pool the admitted work
	// waits on.
	accounts := account.NewSessionCache(account.NewStore(d), sessionCacheTTL, sessionCacheMax)
	access := accesslog.NewStore(d)
	accSvc := account.NewService(d, accounts, residents, juris, cfg.Argon2, cfg.IDKind, cfg.MaxHashing)
	resSvc := &resident.Service{DB: d, Residents: residents, Access: access, IDKind: cfg.IDKind}
	sessions := &auth.Sessions{Accounts: accounts, Log: log, TTL: cfg.SessionTTL, StaffTTL: cfg.StaffTTL}
	per := time.Minute / time.Duration(cfg.LoginPerMinute)
	clientIP := auth.ClientIP{Trusted: cfg.TrustedProxies}

	ruleSet, err := healthcode.LoadRules(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("server: rules in force: %w", err)
	}
	active, err := rules.NewActive(ruleSet)
	if err != nil {
		return nil, err
	}
	codes := &healthcode.Service{DB: d, Store: healthcode.NewStore(d), Residents: residents, Jurisdictions: juris, Log: log,
		Rules: active, Now: now}
	region, err := IssuingRegion(ctx, cfg, juris)
	if err != nil {
		return nil, err
	}
	if cfg.RulesFile != "" {
		applyRulesFile(ctx, log, codes, cfg.RulesFile)
	}
	headKey, err := audit.NewHeadKey(v.Derive(audit.KeyPurpose, 32))
	if err != nil {
		return nil, err
	}
	heads := &audit.HeadLog{DB: d, Key: headKey}
	iss := &issuer.Issuer{DB: d, Vault: v, Region: region, Now: now, TrustListMaxAge: cfg.TrustListMaxAge}
	if err := iss.Ensure(ctx); err != nil {
		return nil, err
	}

	places := venue.NewStore(d, now)
	placeCodes := &venue.Codes{DB: d, Vault: v, Region: region, Now: now, Catalog: cat}
	if cfg.PublicURL != "" {
		placeCodes.CheckInURL = cfg.PublicURL + "/checkin"
	}
	if err := placeCodes.Ensure(ctx); err != nil {
		return nil, err
	}
	placeKinds := &tracing.PlaceKinds{DB: d}
	policy, err := tracing.PolicyFrom(active.Get().Tracing())
	if err != nil {
		return nil, fmt.Errorf("server: the rule set's tracing section: %w", err)
	}
	checkins, err := tracing.NewStore(d, placeKinds, policy)
	if err != nil {
		return nil, err
	}
	if cfg.TracingIndex == "memory" || cfg.TracingIndex == "" && d.Dialect == db.SQLite {
		// Loaded by Serve; the tracer reads the store until then.
		if err := checkins.UseIndex(tracing.NewIndex()); err != nil {
			return nil, err
		}
	}
	traces, err := tracing.NewService(d, checkins, codes, placeKinds, policy, log, now)
	if err != nil {
		return nil, err
	}
	codes.Tracer = traces
	registry := &venue.Registry{DB: d, Store: places}
	visitors := &venue.Visitors{DB: d, Access: access, Now: now}
	checkinSvc := &checkin.Service{DB: d, Places: places, Codes: placeCodes, CheckIns: checkins, Writer: &tracing.Coalescer{Store: checkins},
		Residents: resSvc, Now: now, Retention: time.Duration(cfg.RetentionDays) * 24 * time.Hour}
	passages := &checkpoint.Service{Store: checkpoint.NewStore(d), Region: region, Now: now, Places: places, Holders: iss, CheckIns: checkins}

	// The areas: each area's pages and API, built once on what it uses.
	rd, err := render.New(log, cat, now, cfg.DevAssets)
	if err != nil {
		return nil, err
	}
	gate := cfg.CheckInConcurrency
	if gate == 0 {
		gate = max(4, 2*runtime.GOMAXPROCS(0))
	}
	checkinGate := checkinhttp.NewGate(gate, 16*gate, 100*time.Millisecond)
	perAccount := auth.NewLimiter(time.Minute/time.Duration(cfg.CheckInsPerMinute), min(60, cfg.CheckInsPerMinute))
	publicByIP := auth.NewLimiter(time.Minute/time.Duration(cfg.PublicPerMinute), cfg.PublicPerMinute)
	loginLimits := accounthttp.Limits{ByIP: auth.NewLimiter(per, cfg.LoginPerMinute), ByUser: auth.NewLimiter(per, cfg.LoginPerMinute), ClientIP: clientIP}

	areaList := []func() (route.Area, error){
		func() (route.Area, error) { return homehttp.New(rd, juris, residents) },
		func() (route.Area, error) { return accounthttp.New(rd, accSvc, sessions, resSvc, juris, loginLimits) },
		func() (route.Area, error) {
			return jurisdictionhttp.New(rd, &jurisdiction.Service{DB: d, Store: juris})
		},
		func() (route.Area, error) { return residenthttp.New(rd, resSvc, juris, codes, traces) },
		func() (route.Area, error) { return healthcodehttp.New(rd, codes, resSvc, iss, juris) },
		func() (route.Area, error) { return audithttp.New(rd, d, access, heads) },
		func() (route.Area, error) { return tracinghttp.New(rd, traces, resSvc, access) },
		func() (route.Area, error) { return venuehttp.New(rd, registry, placeCodes, visitors, checkins, juris) },
		func() (route.Area, error) {
			return exposurehttp.New(rd, exposure.NewStore(d, now), placeCodes, publicByIP, clientIP, cfg.MapTiles,
				func(ctx context.Context) ([]jurisdiction.Area, error) {
					return jurisdiction.Areas(ctx, d, jurisdiction.District)
				})
		},
		func() (route.Area, error) {
			return checkinhttp.New(rd, checkinSvc, resSvc, sessions, region, checkinGate, perAccount)
		},
		func() (route.Area, error) { return checkpointhttp.New(rd, passages, iss, juris) },
	}
	s := &Server{cfg: cfg, log: log, db: d, registry: reg, sessions: sessions, codes: codes, traces: traces,
		sender: &notify.LogSender{Log: log, Keep: 100}, holders: iss, heads: heads, visitors: visitors, checkinGate: checkinGate,
		rd: rd, clientIP: clientIP, anonByAddr: auth.NewInFlight(anonPerAddress), inFlight: make(chan struct{}, cfg.MaxInFlight)}
	s.mux = route.NewMux(rd)
	s.mux.Add(s.operations(rd)...)
	for _, build := range areaList {
		a, err := build()
		if err != nil {
			return nil, err
		}
		s.mux.Mount(a)
	}
	s.mux.Add(route.A("/api/", route.Anyone, func(w http.ResponseWriter, r *http.Request) { rd.Problem(w, r, errNoSuchRoute) }))

	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "outbreak_http_requests_total", Help: "HTTP requests by route, method, status code and who is to blame for failures.",
	}, []string{"route", "method", "code", "blame"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "outbreak_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
	}, []string{"route"})
	for _, c := range []prometheus.Collector{s.requests, s.latency} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("server: register metrics: %w", err)
		}
	}
	return s, nil
}

// NewRegistry returns a metrics registry with the Go and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// The limits in front of every request.
const (
	// sessionCacheTTL is how long a session looked up stays in memory at
	// most (what another process changes is seen after it);
	// sessionCacheMax, how many sessions are kept.
	sessionCacheTTL = time.Minute
	sessionCacheMax = 1 << 18
	// anonPerAddress is how many requests without credentials one client
	// address may have in flight; anonBodyTime, how long such a request's
	// body may take to arrive.
	anonPerAddress = 32
	anonBodyTime   = 5 * time.Second
	// connsPerPeer is how many connections one peer (not a trusted proxy)
	// may hold open.
	connsPerPeer = 256
)

// Handler returns the whole HTTP handler. In front, cheapest first: the
// whole server's in-flight bound (which /healthz and /readyz pass by), a
// bound per client address on anonymous requests, the check-in gate; only
// then the session look-up and the areas.
func (s *Server) Handler() http.Handler {
	var h http.Handler = s.mux
	h = http.NewCrossOriginProtection().Handler(h)
	h = s.sessions.Load(h)
	h = s.checkinGate.Shed(s.rd, h)
	h = s.perAddress(h)
	return s.observe(h, s.mux)
}

// exempt reports whether r is a health or readiness probe: never shed, never
// limited, never waiting on a session look-up, so that an orchestrator does
// not restart a node that is only busy.
func exempt(r *http.Request) bool {
	return r.Method == http.MethodGet && (r.URL.Path == "/healthz" || r.URL.Path == "/readyz")
}

// perAddress bounds the anonymous requests (no session cookie, no bearer
// token) each client address has in flight, before their bodies are read,
// and gives their bodies anonBodyTime to arrive: one address sending slow
// sign-in bodies holds at most anonPerAddress of the server's slots, the
// rest are answered 429 at once.
func (s *Server) perAddress(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth.Credentialed(r) {
			next.ServeHTTP(w, r)
			return
		}
		leave, ok := s.anonByAddr.Enter(s.clientIP.Of(r))
		if !ok {
			h := w.Header()
			h["Retry-After"] = []string{"1"}
			h["Content-Type"] = []string{"application/problem+json"}
			h["Connection"] = []string{"close"} // its body is not waited for
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write(tooManyFromAddress)
			return
		}
		defer leave()
		if r.ContentLength != 0 {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(anonBodyTime))
		}
		next.ServeHTTP(w, r)
	})
}

var tooManyFromAddress = []byte(`{"type":"about:blank","title":"Too Many Requests","status":429,"detail":"Too many requests in flight from this address."}` + "\n")

// Routes lists every route the server serves, with its guard: the
// access-control map (docs/ROUTES.md is written from it).
func (s *Server) Routes() []route.Route { return s.mux.Routes() }

// Serve accepts connections on ln until ctx is done, then stops accepting,
// lets requests in flight finish (up to 20 s) and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	go s.housekeeping(ctx)
	go s.signHeads(ctx)
	go s.tracingHousekeeping(ctx)
	go s.loadIndex(ctx)
	errc := make(chan error, 1)
	ln = &auth.PeerConns{Listener: ln, Max: connsPerPeer, Trusted: s.cfg.TrustedProxies}
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down: finishing requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// housekeeping purges expired sessions, and declarations past the
// retention window (the purge is recorded in the audit chain), every hour,
// and once a day from 08:00 reminds those whose declaration is due.
func (s *Server) housekeeping(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := s.sessions.Accounts.PurgeSessions(ctx, time.Now())
		if err != nil && ctx.Err() == nil {
			s.log.Error("purge sessions", "err", err)
		} else if n > 0 {
			s.log.Info("purged expired sessions", "count", n)
		}
		s.remindOnce(ctx)
		n, err = s.codes.Purge(ctx, time.Duration(s.cfg.RetentionDays)*24*time.Hour)
		if err != nil && ctx.Err() == nil {
			s.log.Error("purge declarations", "err", err)
		} else if n > 0 {
			s.log.Info("purged declarations past the retention window", "count", n, "days", s.cfg.RetentionDays)
		}
		s.visitors.Housekeep(ctx, s.log)
		s.purgeHolders(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// signHeads signs the audit chain's head every AuditHeadInterval when the
// chain grew. A chain that no longer extends its last signed head is not
// signed again: that is logged as an error every time, for someone to
// investigate.
func (s *Server) signHeads(ctx context.Context) {
	t := time.NewTicker(s.cfg.AuditHeadInterval)
	defer t.Stop()
	for {
		if h, created, err := s.heads.Sign(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("sign the audit chain's head", "err", err)
		} else if created {
			s.log.Debug("signed the audit chain's head", "size", h.Size)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// tracingHousekeeping traces, every minute, the cases whose tracing did not
// run (tracing.Service.Sweep), and every hour drops the check-ins past the
// retention window.
func (s *Server) tracingHousekeeping(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	var purgedAt time.Time
	for {
		if n, err := s.traces.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("contact-tracing sweep", "err", err)
		} else if n > 0 {
			s.log.Info("contact-tracing sweep traced cases", "count", n)
		}
		if time.Since(purgedAt) >= time.Hour {
			purgedAt = time.Now()
			before := time.Now().Add(-time.Duration(s.cfg.RetentionDays) * 24 * time.Hour).Unix()
			if n, err := s.traces.CheckIns.Purge(ctx, before); err != nil && ctx.Err() == nil {
				s.log.Error("purge check-ins", "err", err)
			} else if n > 0 {
				s.log.Info("purged check-ins past the retention window", "count", n, "days", s.cfg.RetentionDays)
			}
			sitesBefore := time.Now().Add(-tracing.SiteDays * 24 * time.Hour).Unix()
			if n, err := s.traces.PurgeSites(ctx, sitesBefore); err != nil && ctx.Err() == nil {
				s.log.Error("purge exposure sites", "err", err)
			} else if n > 0 {
				s.log.Info("purged exposure sites", "count", n, "days", tracing.SiteDays)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// loadIndex loads the tracer's in-memory index of the check-ins, if it
// has one; tracing reads the store until it is done.
func (s *Server) loadIndex(ctx context.Context) {
	ix := s.traces.CheckIns.Index()
	if ix == nil {
		return
	}
	start := time.Now()
	s.log.Info("loading the check-ins into the tracer's in-memory index")
	if err := ix.Load(ctx, s.db); err != nil {
		if ctx.Err() == nil {
			s.log.Error("the tracer's in-memory index did not load; tracing reads the store", "err", err)
		}
		return
	}
	s.log.Info("the tracer's in-memory index is loaded", "checkins", ix.Len(), "took", time.Since(start).Round(time.Millisecond))
}

// indexState says what the tracer reads: "store" (no index), "loading",
// "memory", or "store (index stopped)".
func (s *Server) indexState() string {
	ix := s.traces.CheckIns.Index()
	switch {
	case ix == nil:
		return "store"
	case ix.Err() != nil:
		return "store (index stopped)"
	case !ix.Ready():
		return "loading"
	}
	return "memory"
}

// purgeHolders forgets the pass holder ids of the days past the retention
// window (see issuer.IssueTo).
func (s *Server) purgeHolders(ctx context.Context) {
	before := civil.Of(s.codes.Now()).AddDays(-s.cfg.RetentionDays)
	if n, err := s.holders.PurgeHolders(ctx, before); err != nil && ctx.Err() == nil {
		s.log.Error("purge pass holders", "err", err)
	} else if n > 0 {
		s.log.Info("purged pass holder ids past the retention window", "count", n, "days", s.cfg.RetentionDays)
	}
}

// CheckIns is the check-in store the server writes through (and keeps
// its in-memory index in step with).
func (s *Server) CheckIns() *tracing.Store { return s.traces.CheckIns }

// CheckInGate is the admission in front of the check-in API's writes; the
// tests hold it to see the API shed load.
func (s *Server) CheckInGate() *checkinhttp.Gate { return s.checkinGate }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	jsonio.Write(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		jsonio.Write(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "store unreachable"})
		return
	}
	pending, err := s.db.Pending(ctx)
	if err != nil || pending {
		jsonio.Write(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "migrations pending"})
		return
	}
	jsonio.Write(w, http.StatusOK, map[string]string{"status": "ready", "store": s.db.Dialect.String(), "tracing_index": s.indexState()})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// observe logs and counts every request, labels it with its route pattern,
// turns a panic into a 500, and sheds load with 503 when too many requests
// are in flight.
func (s *Server) observe(next, health http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if id == "" || len(id) > 64 {
			b := make([]byte, 8)
			rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-ID", id)
		rec := &statusRecorder{ResponseWriter: w}
		var label string
		r = r.WithContext(route.WithLabel(r.Context(), &label))
		h := next
		if exempt(r) {
			h = health
		} else {
			select {
			case s.inFlight <- struct{}{}:
				defer func() { <-s.inFlight }()
			default:
				rec.Header().Set("Retry-After", "1")
				rec.Header().Set("Content-Type", "application/problem+json")
				rec.WriteHeader(http.StatusServiceUnavailable)
				rec.Write([]byte(`{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"The server is at capacity; retry shortly."}` + "\n"))
				s.count(r, rec.status, start, "shed")
				return
			}
		}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(r.Context(), "panic", "request_id", id, "panic", p)
				if rec.status == 0 {
					http.Error(rec, "internal error", http.StatusInternalServerError)
				}
			}
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			label = s.count(r, rec.status, start, label)
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("request_id", id), slog.String("method", r.Method),
				slog.String("route", label), slog.Int("status", rec.status), slog.Duration("took", time.Since(start)))
		}()
		h.ServeHTTP(rec, r)
	})
}

func (s *Server) count(r *http.Request, status int, start time.Time, label string) string {
	if label == "" {
		label = "unmatched"
	}
	blame := "none"
	switch {
	case status >= 500:
		blame = "server"
	case status >= 400:
		blame = "client"
	}
	s.requests.WithLabelValues(label, r.Method, strconv.Itoa(status), blame).Inc()
	s.latency.WithLabelValues(label).Observe(time.Since(start).Seconds())
	return label
}

// IssuingRegion is the configured region, or the store's first city (the
// demo's Wuhan), or its first province.
func IssuingRegion(ctx context.Context, cfg config.Config, juris jurisdiction.Store) (string, error) {
	if cfg.Region != "" {
		return cfg.Region, nil
	}
	all, err := juris.Subtree(ctx, jurisdiction.All)
	if err != nil {
		return "", err
	}
	for _, j := range all {
		if j.Level == jurisdiction.City {
			return j.Code, nil
		}
	}
	if len(all) > 0 {
		return all[0].Code, nil
	}
	return "LOCAL", nil
}

// applyRulesFile puts the configured rule file in force when its version is
// new. A broken file is refused, with its lines and reasons in the log, and
// the rules in force stay.
func applyRulesFile(ctx context.Context, log *slog.Logger, codes *healthcode.Service, path string) {
	src, err := os.ReadFile(path)
	if err == nil {
		var set *rules.RuleSet
		if set, err = rules.Parse(src); err == nil && set.Version() == codes.Rules.Get().Version() {
			return // already in force
		}
	}
	if err == nil {
		_, err = codes.ApplyRuleSet(ctx, rbac.Actor{Name: "config: " + path, Role: rbac.Admin}, src,
			healthcode.Change{Reason: "rule file " + path + " given at start", LegalBasis: "decision of the health authority"})
	}
	if err != nil {
		log.Error("rule file refused; the rules in force stay", "file", path, "err", err, "in_force", codes.Rules.Get().Version())
		return
	}
	log.Info("rule file applied; recomputing every code", "file", path, "version", codes.Rules.Get().Version())
}

// remindOnce sends the day's declaration reminders once a day from 08:00,
// remembering in the store that it did, so that a restart sends none twice.
func (s *Server) remindOnce(ctx context.Context) {
	now := s.codes.Now()
	day := now.Format("2006-01-02")
	if now.Hour() < 8 {
		return
	}
	if last, _, err := s.db.Meta(ctx, "reminders_sent_on"); err != nil || last == day {
		return
	}
	if err := db.SetMeta(ctx, s.db.W, "reminders_sent_on", day); err != nil {
		s.log.Error("declaration reminders", "err", err)
		return
	}
	n, err := s.codes.Remind(ctx, s.sender)
	if err != nil && ctx.Err() == nil {
		s.log.Error("declaration reminders", "err", err)
		return
	}
	s.log.Info("declaration reminders sent", "count", n)
}
