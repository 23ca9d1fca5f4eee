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
	"github.com/outbreak-platform/outbreak/internal/api"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/checkin"
	"github.com/outbreak-platform/outbreak/internal/checkpoint"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/config"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/exposure"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
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
	"github.com/outbreak-platform/outbreak/internal/web"
)

// Server is the platform's HTTP side.
type Server struct {
	cfg      config.Config
	log      *slog.Logger
	db       *db.DB
	registry *prometheus.Registry
	web      *web.Handler
	api      *api.Handler
	cp       *checkpoint.Handler
	sessions *auth.Sessions
	accounts *account.Service
	codes    *healthcode.Service
	traces   *tracing.Service
	sender   notify.Sender

	// Check-ins (issue 4): the pages, the API and its gate, and the
	// issuer's record of pass holders (purged in housekeeping).
	checkinPages *web.CheckIns
	checkinAPI   *api.CheckIns
	holders      *issuer.Issuer

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	inFlight chan struct{}
}

// New builds the server on an open, migrated store.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, d *db.DB, v *vault.Vault, reg *prometheus.Registry) (*Server, error) {
	cat, err := i18n.Load()
	if err != nil {
		return nil, err
	}
	loc := cfg.Loc()
	now := func() time.Time { return time.Now().In(loc) }
	juris := jurisdiction.NewStore(d)
	residents := resident.NewStore(d, v)
	accounts := account.NewStore(d)
	access := accesslog.NewStore(d)
	accSvc := account.NewService(d, accounts, residents, juris, cfg.Argon2, cfg.IDKind, cfg.MaxHashing)
	resSvc := &resident.Service{DB: d, Residents: residents, Access: access, IDKind: cfg.IDKind}
	sessions := &auth.Sessions{Accounts: accounts, Log: log, TTL: cfg.SessionTTL, StaffTTL: cfg.StaffTTL}
	per := time.Minute / time.Duration(cfg.LoginPerMinute)
	byIP, byUser := auth.NewLimiter(per, cfg.LoginPerMinute), auth.NewLimiter(per, cfg.LoginPerMinute)
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

	// Public look-ups (issue 4): anyone, limited per client address.
	exposures := exposure.NewStore(d, now)
	publicByIP := auth.NewLimiter(time.Minute/time.Duration(cfg.PublicPerMinute), cfg.PublicPerMinute)

	w := &web.Handler{Log: log, Catalog: cat, Sessions: sessions, Accounts: accSvc, Residents: resSvc, Jurisdictions: juris,
		Access: access, LoginByIP: byIP, LoginByUser: byUser, ClientIP: clientIP, Now: now, Codes: codes, Issuer: iss,
		Places: places, PlaceCodes: placeCodes, CheckIns: checkins, Tracing: traces}
	w.Exposures, w.PublicByIP, w.MapTiles = exposures, publicByIP, cfg.MapTiles
	if err := w.Init(cfg.DevAssets); err != nil {
		return nil, err
	}
	a := &api.Handler{Log: log, Catalog: cat, Sessions: sessions, Accounts: accSvc, Residents: resSvc, Jurisdictions: juris,
		Access: access, LoginByIP: byIP, LoginByUser: byUser, ClientIP: clientIP, Now: now, Codes: codes, Issuer: iss,
		Places: places, PlaceCodes: placeCodes, CheckIns: checkins, Tracing: traces}
	a.Exposures, a.PublicByIP = exposures, publicByIP

	cp := &checkpoint.Handler{Log: log, Catalog: cat, Store: checkpoint.NewStore(d), Issuer: iss, Jurisdictions: juris, Now: now}
	cp.Places, cp.Holders, cp.CheckIns = places, iss, checkins // passages at a place are check-ins
	if err := cp.Init(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, db: d, registry: reg, web: w, api: a, cp: cp, sessions: sessions, accounts: accSvc, codes: codes, traces: traces,
		sender:   &notify.LogSender{Log: log, Keep: 100},
		inFlight: make(chan struct{}, cfg.MaxInFlight)}
	checkinSvc := &checkin.Service{DB: d, Places: places, Codes: placeCodes, CheckIns: checkins, Writer: &tracing.Coalescer{Store: checkins}, Residents: resSvc, Now: now,
		Retention: time.Duration(cfg.RetentionDays) * 24 * time.Hour}
	gate := cfg.CheckInConcurrency
	if gate == 0 {
		gate = max(4, 2*runtime.GOMAXPROCS(0))
	}
	s.checkinPages = &web.CheckIns{Handler: w, Service: checkinSvc}
	s.checkinAPI = &api.CheckIns{Handler: a, Service: checkinSvc, Gate: api.NewGate(gate, 16*gate, 100*time.Millisecond),
		PerAccount: auth.NewLimiter(time.Minute/time.Duration(cfg.CheckInsPerMinute), min(60, cfg.CheckInsPerMinute))}
	s.holders = iss
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

// Handler returns the whole HTTP handler.
func (s *Server) Handler() http.Handler { return s.routes() }

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
	go s.tracingHousekeeping(ctx)
	go s.loadIndex(ctx)
	errc := make(chan error, 1)
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
		(&venue.Visitors{DB: s.db, Now: s.codes.Now}).Housekeep(ctx, s.log)
		s.purgeHolders(ctx)
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
func (s *Server) CheckInGate() *api.Gate { return s.checkinAPI.Gate }

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
func (s *Server) observe(next http.Handler) http.Handler {
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
		var route string
		r = r.WithContext(withRoute(r.Context(), &route))
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
			route = s.count(r, rec.status, start, route)
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("request_id", id), slog.String("method", r.Method),
				slog.String("route", route), slog.Int("status", rec.status), slog.Duration("took", time.Since(start)))
		}()
		next.ServeHTTP(rec, r)
	})
}

func (s *Server) count(r *http.Request, status int, start time.Time, route string) string {
	if route == "" {
		route = "unmatched"
	}
	blame := "none"
	switch {
	case status >= 500:
		blame = "server"
	case status >= 400:
		blame = "client"
	}
	s.requests.WithLabelValues(route, r.Method, strconv.Itoa(status), blame).Inc()
	s.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	return route
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
