package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/account"
)

// A Setting is one setting of the server, declared once: its environment
// variable, its default (written as the variable would be), what it means,
// and how a value is read into a Config. Default and FromEnv read the
// declarations, and the README's table of settings is generated from them
// (TestREADMESettings).
type Setting struct {
	Env string
	// Default is the value a Config starts with, as the variable would set
	// it; "" leaves the field's zero value, which DefaultText describes.
	Default     string
	DefaultText string
	Meaning     string
	set         func(c *Config, v string) error
}

// Settings are every setting, in the order the README lists them.
var Settings = []Setting{
	{Env: "OUTBREAK_DB", Default: "sqlite:./data/outbreak.db", Meaning: "the store: `sqlite:PATH` or a `postgres://` URL (flag `--db`)",
		set: text(func(c *Config) *string { return &c.DB })},
	{Env: "OUTBREAK_ADDR", Default: "127.0.0.1:8080", Meaning: "listen address (flag `serve --addr`; `make run ADDR=:9090`)",
		set: text(func(c *Config) *string { return &c.Addr })},
	{Env: "OUTBREAK_KEY_FILE", Default: "./data/outbreak.key", Meaning: "master key sealing ID and phone numbers; created (0600) on first start — back it up, never commit it (flag `--key-file`)",
		set: text(func(c *Config) *string { return &c.KeyFile })},
	{Env: "OUTBREAK_ID_KIND", Default: "CN-RIC", Meaning: "default national ID format (`CN-RIC`, `PASSPORT`)",
		set: text(func(c *Config) *string { return &c.IDKind })},
	{Env: "OUTBREAK_ARGON2_MEMORY_KIB", Default: strconv.Itoa(int(account.DefaultParams.Memory)), Meaning: "password hashing memory in KiB (1024 to 1048576; see BENCHMARKS.md)",
		set: func(c *Config, v string) error {
			n, err := whole(v)
			c.Argon2.Memory = uint32(max(n, 0))
			return err
		}},
	{Env: "OUTBREAK_ARGON2_TIME", Default: strconv.Itoa(int(account.DefaultParams.Time)), Meaning: "password hashing passes (1 to 10)",
		set: func(c *Config, v string) error {
			n, err := whole(v)
			c.Argon2.Time = uint32(max(n, 0))
			return err
		}},
	{Env: "OUTBREAK_MAX_HASHING", Default: "8", Meaning: "password checks at once; more wait up to 2 s, then 503",
		set: number(func(c *Config) *int { return &c.MaxHashing })},
	{Env: "OUTBREAK_MAX_IN_FLIGHT", Default: "1024", Meaning: "requests at once; more are shed with 503 + Retry-After",
		set: number(func(c *Config) *int { return &c.MaxInFlight })},
	{Env: "OUTBREAK_CHECKIN_CONCURRENCY", DefaultText: "twice the CPUs, at least 4", Meaning: "check-in requests written at once (0: the default, up to 1024); 16 times as many wait up to 100 ms, the rest get 503 + Retry-After",
		set: number(func(c *Config) *int { return &c.CheckInConcurrency })},
	{Env: "OUTBREAK_CHECKINS_PER_MINUTE", Default: "120", Meaning: "check-in requests per account (bursts of up to 60); more get 429 + Retry-After",
		set: number(func(c *Config) *int { return &c.CheckInsPerMinute })},
	{Env: "OUTBREAK_LOGIN_PER_MINUTE", Default: "20", Meaning: "sign-in attempts per client address and per username",
		set: number(func(c *Config) *int { return &c.LoginPerMinute })},
	{Env: "OUTBREAK_TRUSTED_PROXIES", DefaultText: "none", Meaning: "comma-separated CIDR prefixes whose `X-Forwarded-For` is believed",
		set: func(c *Config, v string) error {
			c.TrustedProxies = nil
			var bad []string
			for _, s := range strings.Split(v, ",") {
				p, err := netip.ParsePrefix(strings.TrimSpace(s))
				if err != nil {
					bad = append(bad, fmt.Sprintf("%q is not a CIDR prefix", s))
					continue
				}
				c.TrustedProxies = append(c.TrustedProxies, p)
			}
			if bad != nil {
				return fmt.Errorf("%s", strings.Join(bad, "; "))
			}
			return nil
		}},
	{Env: "OUTBREAK_SESSION_TTL", Default: "168h", Meaning: "lifetime of a resident's session",
		set: duration(func(c *Config) *time.Duration { return &c.SessionTTL })},
	{Env: "OUTBREAK_STAFF_SESSION_TTL", Default: "12h", Meaning: "lifetime of a staff session",
		set: duration(func(c *Config) *time.Duration { return &c.StaffTTL })},
	{Env: "OUTBREAK_LOG_FORMAT", Default: "auto", Meaning: "`json`, `text`, or `auto`: JSON logs in production, text on a terminal",
		set: text(func(c *Config) *string { return &c.LogFormat })},
	{Env: "OUTBREAK_LOG_LEVEL", Default: "info", Meaning: "`debug`, `info`, `warn` or `error`",
		set: text(func(c *Config) *string { return &c.LogLevel })},
	{Env: "OUTBREAK_DEV_ASSETS", DefaultText: "none", Meaning: "serve web assets from this folder (development)",
		set: text(func(c *Config) *string { return &c.DevAssets })},
	{Env: "OUTBREAK_REGION", DefaultText: "the store's first city", Meaning: "the region code passes are issued for",
		set: text(func(c *Config) *string { return &c.Region })},
	{Env: "OUTBREAK_TRUST_LIST_MAX_AGE", Default: "168h", Meaning: "how long a signed trust list stays good (`1h` to `720h`): a checkpoint that has had no newer one by then verifies no pass until it reconnects",
		set: duration(func(c *Config) *time.Duration { return &c.TrustListMaxAge })},
	{Env: "OUTBREAK_AUDIT_HEAD_INTERVAL", Default: "1m", Meaning: "how often the audit chain's head is signed, when the chain grew (`1s` to `24h`); the heads are public at `/api/v1/audit/head(s)` and `outbreak audit verify` fails against any the chain no longer extends",
		set: duration(func(c *Config) *time.Duration { return &c.AuditHeadInterval })},
	{Env: "OUTBREAK_TIMEZONE", Default: "Asia/Shanghai", Meaning: "the region's time zone (\"today\" for the rules)",
		set: text(func(c *Config) *string { return &c.TimeZone })},
	{Env: "OUTBREAK_RETENTION_DAYS", Default: "28", Meaning: "declarations older than this are purged (hourly job, logged in the audit chain)",
		set: number(func(c *Config) *int { return &c.RetentionDays })},
	{Env: "OUTBREAK_RULES_FILE", DefaultText: "none", Meaning: "a colour rule file to put in force at start (refused with line and reason if broken)",
		set: text(func(c *Config) *string { return &c.RulesFile })},
	{Env: "OUTBREAK_PUBLIC_PER_MINUTE", Default: "60", Meaning: "public look-ups (trips, places, the map and its JSON) per client address; more get 429 + Retry-After",
		set: number(func(c *Config) *int { return &c.PublicPerMinute })},
	{Env: "OUTBREAK_MAP_TILES", DefaultText: "none", Meaning: "tile URL template for the public map, such as `https://tiles.example.org/{z}/{x}/{y}.png` or `/tiles/{z}/{x}/{y}.png`; without it the map draws the places on a plain background (works offline)",
		set: text(func(c *Config) *string { return &c.MapTiles })},
	{Env: "OUTBREAK_PUBLIC_URL", DefaultText: "none", Meaning: "where residents reach the platform, such as `https://jiankang.example.gov.cn`; with it, place posters hold a link to the check-in page (`…/checkin#OBP1:…`) that a phone's own camera opens; without it they hold the bare place code, which the check-in page's scanner reads",
		set: text(func(c *Config) *string { return &c.PublicURL })},
	{Env: "OUTBREAK_TRACING_INDEX", DefaultText: "`memory` on SQLite, `off` on PostgreSQL", Meaning: "`memory`: contact tracing reads an in-memory index of the check-ins (about 24 bytes each: 2.4 GB for 100 million), loaded in the background at start (`/readyz` says `\"tracing_index\": \"loading\"`, then `\"memory\"`; tracing reads the store meanwhile). It is right only when this process makes every write to the check-ins: one node on SQLite, and no other `outbreak` process writing to the same file. `off`: tracing reads the store",
		set: text(func(c *Config) *string { return &c.TracingIndex })},
}

func text(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *field(c) = v; return nil }
}

func number(field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := whole(v)
		if err == nil {
			*field(c) = n
		}
		return err
	}
}

func duration(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration (like 12h)", v)
		}
		*field(c) = d
		return nil
	}
}

func whole(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number", v)
	}
	return n, nil
}

// DefaultShown is the default as the README shows it.
func (s Setting) DefaultShown() string {
	if s.Default != "" {
		return "`" + s.Default + "`"
	}
	return s.DefaultText
}

// SettingsTable is the README's table of settings, made from Settings.
func SettingsTable() string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n| --- | --- | --- |\n")
	for _, s := range Settings {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", s.Env, s.DefaultShown(), s.Meaning)
	}
	return b.String()
}
