package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/bench"
	"github.com/outbreak-platform/outbreak/internal/config"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/demo"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/server"
)

var benches = map[string]func(ctx context.Context, args []string) error{
	"demo":      benchDemo,
	"signin":    benchSignin,
	"verify":    benchVerify,
	"recompute": benchRecompute,
	"pass":      benchPass,
}

func benchCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(os.Stderr, "usage: outbreak bench demo|signin|verify|recompute|pass|tracing|checkins|surge [flags] (--help for each)")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errUsage{errors.New("bench: name a benchmark")}
	}
	b, ok := benches[args[0]]
	if !ok {
		return errUsage{fmt.Errorf("bench: unknown benchmark %q (demo, signin, verify, recompute, pass, tracing, checkins, surge)", args[0])}
	}
	return b(ctx, args[1:])
}

// benchStore opens dsn, or a fresh SQLite file in a temporary folder when
// dsn is empty; cleanup removes what it made.
func benchStore(ctx context.Context, dsn string) (cfg config.Config, d *db.DB, stores demo.Stores, cleanup func(), err error) {
	cfg = config.Default()
	if err = cfg.FromEnv(os.Getenv); err != nil {
		return
	}
	dir, err := os.MkdirTemp("", "outbreak-bench-")
	if err != nil {
		return
	}
	cfg.KeyFile = filepath.Join(dir, "master.key")
	cfg.DB = "sqlite:" + filepath.Join(dir, "bench.db")
	if dsn != "" {
		cfg.DB = dsn
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d, v, err := openStore(ctx, cfg, log, db.Options{})
	if err != nil {
		os.RemoveAll(dir)
		return
	}
	stores = demo.Stores{DB: d, Jurisdictions: jurisdiction.NewStore(d), Residents: resident.NewStore(d, v),
		Accounts: account.NewStore(d), Params: cfg.Argon2}
	cleanup = func() { d.Close(); os.RemoveAll(dir) }
	return
}

// benchRegion is benchStore with the demo region of the given number of
// residents generated into it (seed 2020).
func benchRegion(ctx context.Context, dsn string, residents int) (cfg config.Config, d *db.DB, stores demo.Stores, cleanup func(), err error) {
	cfg, d, stores, cleanup, err = benchStore(ctx, dsn)
	if err != nil {
		return
	}
	if _, err = demo.Generate(ctx, stores, demo.Options{Residents: residents, Seed: 2020}); err != nil {
		cleanup()
	}
	return
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func benchDemo(ctx context.Context, args []string) error {
	fs := newFlags("bench demo", "Generate the demo region into an empty store and report residents per second.\nWithout --db, a fresh SQLite file in a temporary folder (removed afterwards).")
	n := fs.Int("residents", 1000000, "residents to generate")
	dsn := fs.String("db", "", "an EMPTY store to fill (default: a temporary SQLite file)")
	fs.Bool("json", true, "print JSON (the only format)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	if err := parse(fs, args); err != nil {
		return err
	}
	_, d, stores, cleanup, err := benchStore(ctx, *dsn)
	if err != nil {
		return err
	}
	defer cleanup()
	stopProfile, err := startProfile(*cpuProfile)
	if err != nil {
		return err
	}
	res, err := demo.Generate(ctx, stores, demo.Options{Residents: *n, Seed: 2020})
	stopProfile()
	if err != nil {
		return err
	}
	rate := float64(res.Residents) / res.Elapsed.Seconds()
	return printJSON(map[string]any{
		"benchmark": "demo", "store": d.Dialect.String(), "residents": res.Residents, "households": res.Households,
		"elapsed_s": res.Elapsed.Seconds(), "residents_per_sec": rate, "target_per_sec": 50000, "meets_target": rate >= 50000,
	})
}

func benchSignin(ctx context.Context, args []string) error {
	fs := newFlags("bench signin", "Serve a demo region on loopback and drive it at a fixed rate with sign-in + resident\nhome page flows (each flow: POST /login, then GET /me). Reports latency percentiles.")
	rate := fs.Float64("rate", 500, "requests per second (each flow is two requests)")
	dur := fs.Duration("duration", 10*time.Second, "how long to drive the load")
	residents := fs.Int("residents", 20000, "demo residents to sign in as (each flow uses the next)")
	dsn := fs.String("db", "", "an EMPTY store (default: a temporary SQLite file)")
	fs.Bool("json", true, "print JSON (the only format)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *rate <= 0 || *dur <= 0 || *residents < 1 {
		return errUsage{errors.New("rate, duration and residents must be positive")}
	}
	cfg, d, stores, cleanup, err := benchStore(ctx, *dsn)
	if err != nil {
		return err
	}
	defer cleanup()
	if _, err := demo.Generate(ctx, stores, demo.Options{Residents: *residents, Seed: 2020}); err != nil {
		return err
	}
	var accounts []string
	if err := db.Select(ctx, d.R, &accounts, "SELECT username FROM accounts WHERE role = 'resident' ORDER BY id"); err != nil {
		return err
	}
	base, stop, err := serveForBench(ctx, cfg, d)
	if err != nil {
		return err
	}
	defer stop()
	client := &http.Client{
		Transport:     &http.Transport{MaxIdleConns: 1000, MaxIdleConnsPerHost: 1000, IdleConnTimeout: time.Minute},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	hashStart := time.Now()
	account.HashPassword("benchmark", cfg.Argon2)
	hashMS := float64(time.Since(hashStart).Microseconds()) / 1000

	const csrf = "benchmarkcsrftokenbenchmark"
	flow := func(ctx context.Context, i int, due time.Time) (map[string]time.Duration, error) {
		form := url.Values{"username": {accounts[i%len(accounts)]}, "password": {demo.Password}, "csrf": {csrf}}
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Cookie", "outbreak_csrf="+csrf)
		// A distinct client address per flow, as behind a load balancer.
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.18.%d.%d", (i/250)%256, i%250+1))
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		signedIn := time.Since(due)
		var session string
		for _, c := range resp.Cookies() {
			if c.Name == "outbreak_session" {
				session = c.Value
			}
		}
		if resp.StatusCode != http.StatusSeeOther || session == "" {
			return nil, fmt.Errorf("sign-in: %s", resp.Status)
		}
		homeDue := time.Now()
		req, _ = http.NewRequestWithContext(ctx, "GET", base+"/me", nil)
		req.Header.Set("Cookie", "outbreak_session="+session)
		resp, err = client.Do(req)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("home: %s", resp.Status)
		}
		home := time.Since(homeDue)
		return map[string]time.Duration{"signin": signedIn, "home": home, "flow": signedIn + home}, nil
	}
	stopProfile, err := startProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	start := time.Now()
	lat, errs, dropped := bench.OpenLoop(ctx, *rate/2, *dur, 2000, flow)
	elapsed := time.Since(start)
	var all []time.Duration
	all = append(append(all, lat["signin"]...), lat["home"]...)
	p99 := bench.Summarise(all).P99
	return printJSON(map[string]any{
		"benchmark": "signin", "store": d.Dialect.String(), "requests_per_sec": *rate, "duration_s": dur.Seconds(),
		"achieved_requests_per_sec": float64(len(all)) / elapsed.Seconds(),
		"argon2":                    map[string]any{"memory_kib": cfg.Argon2.Memory, "time": cfg.Argon2.Time, "threads": cfg.Argon2.Threads, "one_hash_ms": hashMS},
		"signin":                    bench.Summarise(lat["signin"]), "home": bench.Summarise(lat["home"]), "all_requests": bench.Summarise(all),
		"errors": errs, "dropped": dropped, "target_p99_ms": 50, "meets_target": p99 < 50 && errs == 0 && dropped == 0,
	})
}

// startProfile writes a CPU profile to path until the returned function is
// called; an empty path profiles nothing.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// serveForBench serves the whole platform on d on a loopback port, trusting
// X-Forwarded-For from loopback (the load generator plays many clients
// behind a proxy). It returns the base URL and a function that stops it.
func serveForBench(ctx context.Context, cfg config.Config, d *db.DB) (string, func(), error) {
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	v, _, err := vaultFor(cfg)
	if err != nil {
		return "", nil, err
	}
	s, err := server.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), d, v, server.NewRegistry())
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srvCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Serve(srvCtx, ln) }()
	return "http://" + ln.Addr().String(), func() { stop(); <-done }, nil
}
