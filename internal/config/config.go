// Package config holds the server's settings: typed, with defaults, read
// from flags and OUTBREAK_* environment variables, and checked all at once.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/nationalid"
)

// Config is everything serve needs.
type Config struct {
	DB      string // sqlite:PATH or postgres://...
	Addr    string // host:port to listen on
	KeyFile string // master key for personal data at rest

	IDKind         string         // default national ID kind
	Argon2         account.Params // password hashing cost
	MaxHashing     int            // concurrent password hashes
	MaxInFlight    int            // concurrent requests before shedding with 503
	SessionTTL     time.Duration  // resident sessions
	StaffTTL       time.Duration  // staff sessions
	TrustedProxies []netip.Prefix // peers whose X-Forwarded-For is believed
	LoginPerMinute int            // sign-in attempts per client address and per username
	LogFormat      string         // auto, json or text
	LogLevel       string         // debug, info, warn, error
	DevAssets      string         // serve web assets from this folder (development)

	// CheckInConcurrency is how many check-in requests are written at once
	// (16 times as many wait up to 100 ms for a turn; the rest get 503);
	// 0 picks twice the CPUs, at least 4. CheckInsPerMinute is what one
	// account may send, in requests a minute (429 beyond).
	CheckInConcurrency int
	CheckInsPerMinute  int
	// TracingIndex is "memory" (the tracer reads the check-ins from an
	// in-memory index, loaded at start: about 20 bytes a check-in) or "off"
	// (it reads the store). The default is memory on the embedded SQLite
	// store; PostgreSQL may have several nodes writing, so off there.
	TracingIndex string

	Region        string // code of the region passes are issued for; "" picks the store's city
	TimeZone      string // the region's time zone, for "today"
	RetentionDays int    // declarations older than this are purged
	RulesFile     string // a colour rule file to apply at start ("" keeps the rules in force)
	// TrustListMaxAge is how long a signed trust list stays good: a
	// checkpoint that has had no newer one by then verifies no pass until
	// it reconnects.
	TrustListMaxAge time.Duration
	// AuditHeadInterval is how often the server signs the audit chain's
	// head (when the chain grew) with the key derived from the master key.
	AuditHeadInterval time.Duration

	PublicPerMinute int    // public look-ups (trips, places, the map) per client address
	MapTiles        string // tile URL template for the public map ("" draws it without tiles)
	// PublicURL is where residents reach the platform (https://host[/path]);
	// when set, place posters hold a link to the check-in page that a
	// phone's own camera opens, instead of the bare place code.
	PublicURL string
}

// The bounds of TrustListMaxAge: a list is re-signed every minute, and a
// checkpoint fetches a fresh one every few minutes while online, so an hour
// leaves room for a short outage; beyond a month a withdrawn key would be
// trusted offline for too long.
const (
	MinTrustListMaxAge = time.Hour
	MaxTrustListMaxAge = 30 * 24 * time.Hour
)

// Default returns the defaults declared in Settings.
func Default() Config {
	c := Config{Argon2: account.DefaultParams}
	for _, s := range Settings {
		if s.Default == "" {
			continue
		}
		if err := s.set(&c, s.Default); err != nil {
			panic(fmt.Sprintf("config: default of %s: %v", s.Env, err)) // a declaration error, caught by every test
		}
	}
	return c
}

// FromEnv overlays the OUTBREAK_* variables of Settings on c; getenv is
// os.Getenv in real use. It reports every bad value at once.
func (c *Config) FromEnv(getenv func(string) string) error {
	var errs []error
	for _, s := range Settings {
		if v := getenv(s.Env); v != "" {
			if err := s.set(c, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", s.Env, v, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Loc returns the region's time zone (UTC if it cannot be loaded).
func (c Config) Loc() *time.Location {
	if l, err := time.LoadLocation(c.TimeZone); err == nil {
		return l
	}
	return time.UTC
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if !strings.HasPrefix(c.DB, "sqlite:") && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		errs = append(errs, errors.New("db: want sqlite:PATH or a postgres:// URL"))
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("addr %q: want HOST:PORT", c.Addr))
	}
	if c.KeyFile == "" {
		errs = append(errs, errors.New("key file: required"))
	}
	if _, err := nationalid.Lookup(c.IDKind); err != nil {
		errs = append(errs, err)
	}
	if c.Argon2.Memory < 1024 || c.Argon2.Memory > 1<<20 || c.Argon2.Time < 1 || c.Argon2.Time > 10 {
		errs = append(errs, fmt.Errorf("argon2: memory %d KiB (1024..1048576) and time %d (1..10) out of range", c.Argon2.Memory, c.Argon2.Time))
	}
	if c.MaxHashing < 1 || c.MaxInFlight < 1 || c.LoginPerMinute < 1 {
		errs = append(errs, errors.New("max hashing, max in flight and login per minute must be at least 1"))
	}
	if c.CheckInConcurrency < 0 || c.CheckInConcurrency > 1024 {
		errs = append(errs, fmt.Errorf("check-in concurrency %d: want 0 (automatic) to 1024", c.CheckInConcurrency))
	}
	if c.CheckInsPerMinute < 1 || c.CheckInsPerMinute > 60000 {
		errs = append(errs, fmt.Errorf("check-ins per minute %d: want 1 to 60000", c.CheckInsPerMinute))
	}
	switch c.TracingIndex {
	case "", "off":
	case "memory":
		if !strings.HasPrefix(c.DB, "sqlite:") {
			errs = append(errs, errors.New("tracing index memory: only on the embedded SQLite store (PostgreSQL may have several nodes writing)"))
		}
	default:
		errs = append(errs, fmt.Errorf("tracing index %q: want memory or off", c.TracingIndex))
	}
	if c.SessionTTL < time.Minute || c.StaffTTL < time.Minute {
		errs = append(errs, errors.New("session lifetimes must be at least a minute"))
	}
	if c.TrustListMaxAge < MinTrustListMaxAge || c.TrustListMaxAge > MaxTrustListMaxAge {
		errs = append(errs, fmt.Errorf("trust list max age %s: want %s to %s", c.TrustListMaxAge, MinTrustListMaxAge, MaxTrustListMaxAge))
	}
	if c.AuditHeadInterval < time.Second || c.AuditHeadInterval > 24*time.Hour {
		errs = append(errs, fmt.Errorf("audit head interval %s: want 1s to 24h", c.AuditHeadInterval))
	}
	switch c.LogFormat {
	case "auto", "json", "text":
	default:
		errs = append(errs, fmt.Errorf("log format %q: want auto, json or text", c.LogFormat))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log level %q: want debug, info, warn or error", c.LogLevel))
	}
	if c.RetentionDays < 1 || c.RetentionDays > 366 {
		errs = append(errs, fmt.Errorf("retention days %d: want 1..366", c.RetentionDays))
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		errs = append(errs, fmt.Errorf("time zone %q: %v", c.TimeZone, err))
	}
	if c.PublicPerMinute < 1 {
		errs = append(errs, fmt.Errorf("public per minute %d: want at least 1", c.PublicPerMinute))
	}
	if c.MapTiles != "" && !ValidTileURL(c.MapTiles) {
		errs = append(errs, fmt.Errorf("map tiles %q: want an http(s) URL or a /path with {z}, {x} and {y}, without spaces or quotes", c.MapTiles))
	}
	if c.PublicURL != "" && !ValidPublicURL(c.PublicURL) {
		errs = append(errs, fmt.Errorf("public URL %q: want http(s)://host[:port][/path], without a query, a fragment or a trailing slash", c.PublicURL))
	}
	if c.RulesFile != "" {
		if _, err := os.Stat(c.RulesFile); err != nil {
			errs = append(errs, fmt.Errorf("rules file: %v", err))
		}
	}
	if c.DevAssets != "" {
		if fi, err := os.Stat(c.DevAssets); err != nil || !fi.IsDir() {
			errs = append(errs, fmt.Errorf("dev assets %q: not a folder", c.DevAssets))
		}
	}
	return errors.Join(errs...)
}

// ValidTileURL reports whether u is a map tile URL template: an http or
// https URL, or a path on this server, with {z}, {x} and {y} in it, and
// nothing that could not go into a Content-Security-Policy header.
func ValidTileURL(u string) bool {
	if strings.ContainsAny(u, " \t\r\n\"';,\\") || len(u) > 500 {
		return false
	}
	for _, p := range []string{"{z}", "{x}", "{y}"} {
		if !strings.Contains(u, p) {
			return false
		}
	}
	if strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//") {
		return true
	}
	rest, ok := strings.CutPrefix(u, "https://")
	if !ok {
		rest, ok = strings.CutPrefix(u, "http://")
	}
	host, _, _ := strings.Cut(rest, "/")
	return ok && host != "" && !strings.ContainsAny(host, "@?#")
}

// ValidPublicURL reports whether u is an absolute http(s) URL of a host,
// with an optional path, and nothing a link could be built wrong from: no
// user, query, fragment, trailing slash, spaces or quotes.
func ValidPublicURL(u string) bool {
	if len(u) > 200 || strings.ContainsAny(u, " \t\r\n\"'<>\\") || strings.HasSuffix(u, "/") {
		return false
	}
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Host != "" && p.User == nil &&
		p.RawQuery == "" && p.Fragment == "" && !p.ForceQuery && !strings.Contains(u, "#") && p.Opaque == ""
}
