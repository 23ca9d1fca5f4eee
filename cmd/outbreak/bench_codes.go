package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/bench"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/demo"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/pass"
	"github.com/outbreak-platform/outbreak/internal/rules"
)

func benchVerify(ctx context.Context, args []string) error {
	fs := newFlags("bench verify", "Full pass verification (decode + signature + checks) against bare ed25519.Verify\non the same bytes, in the same run.")
	dur := fs.Duration("duration", 5*time.Second, "how long to run each loop")
	fs.Bool("json", true, "print JSON (the only format)")
	if err := parse(fs, args); err != nil {
		return err
	}
	ops, base := pass.MeasureVerify(*dur)
	return printJSON(map[string]any{"benchmark": "verify", "ops_per_sec": ops, "baseline_ops_per_sec": base, "ratio": ops / base,
		"target_ratio": 0.8, "meets_target": ops/base >= 0.8})
}

func benchRecompute(ctx context.Context, args []string) error {
	fs := newFlags("bench recompute", "Generate N residents, give each a declaration and a code, then change the rule set\nand time the full recompute of every code (the batch a rule change starts).")
	n := fs.Int("residents", 1000000, "residents")
	dsn := fs.String("db", "", "an EMPTY store (default: a temporary SQLite file)")
	fs.Bool("json", true, "print JSON (the only format)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed recompute to this file")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, d, stores, cleanup, err := benchRegion(ctx, *dsn, *n)
	if err != nil {
		return err
	}
	defer cleanup()
	if _, err := demo.Declarations(ctx, d, 2020, 1, time.Now()); err != nil {
		return err
	}
	svc, err := codeService(ctx, cfg, d, stores.Residents)
	if err != nil {
		return err
	}
	svc.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	start := time.Now()
	if err := svc.RecomputeAll(ctx, audit.System, healthcode.Cause{Text: "initial codes"}, nil); err != nil {
		return err
	}
	initial := time.Since(start)
	var codes int
	if err := db.Get(ctx, d.R, &codes, "SELECT count(*) FROM codes"); err != nil {
		return err
	}
	// The rule change: fever from 37.0 °C instead of 37.3 °C, as a new version.
	src := string(rules.DefaultYAML())
	src = strings.Replace(src, `version: "default-2020.1"`, "version: \"bench-2020.2\"\nfever_threshold_c: 37.0", 1)
	if _, err := svc.Rules.Swap([]byte(src)); err != nil {
		return fmt.Errorf("bench: rule change: %w", err)
	}
	job := &healthcode.Job{}
	stopProfile, err := startProfile(*cpuProfile)
	if err != nil {
		return err
	}
	start = time.Now()
	err = svc.RecomputeAll(ctx, audit.System, healthcode.CauseRuleSet("bench-2020.2"), job)
	elapsed := time.Since(start)
	stopProfile()
	if err != nil {
		return err
	}
	st := job.Status()
	rate := float64(codes) / elapsed.Seconds()
	return printJSON(map[string]any{"benchmark": "recompute", "store": d.Dialect.String(), "residents": *n, "codes": codes,
		"initial_s": initial.Seconds(), "recompute_s": elapsed.Seconds(), "changed_colour": st.Changed, "codes_per_sec": rate,
		"target_per_sec": 20000, "meets_target": rate >= 20000})
}

func benchPass(ctx context.Context, args []string) error {
	fs := newFlags("bench pass", "Serve a demo region on loopback and fetch residents' own current passes\n(GET /api/v1/me/pass with a session) at a fixed rate. Reports latency percentiles.")
	rate := fs.Float64("rate", 2000, "requests per second")
	dur := fs.Duration("duration", 10*time.Second, "how long to drive the load")
	residents := fs.Int("residents", 20000, "demo residents")
	sessions := fs.Int("sessions", 2000, "signed-in residents to spread the requests over")
	fs.Bool("json", true, "print JSON (the only format)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *rate <= 0 || *dur <= 0 || *sessions < 1 {
		return errUsage{errors.New("rate, duration and sessions must be positive")}
	}
	cfg, d, stores, cleanup, err := benchRegion(ctx, "", *residents)
	if err != nil {
		return err
	}
	defer cleanup()
	if _, err := demo.Declarations(ctx, d, 2020, 1, time.Now()); err != nil {
		return err
	}
	svc, err := codeService(ctx, cfg, d, stores.Residents)
	if err != nil {
		return err
	}
	svc.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := svc.RecomputeAll(ctx, audit.System, healthcode.Cause{Text: "initial codes"}, nil); err != nil {
		return err
	}
	base, stop, err := serveForBench(ctx, cfg, d)
	if err != nil {
		return err
	}
	defer stop()
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 2000, MaxIdleConnsPerHost: 2000}, Timeout: 30 * time.Second}

	ss, err := signInResidents(ctx, client, base, d, *sessions)
	if err != nil {
		return err
	}
	fetchPass := func(ctx context.Context, i int, due time.Time) (map[string]time.Duration, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/me/pass", nil)
		req.Header.Set("Cookie", "outbreak_session="+ss[i%len(ss)].cookie)
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("pass: %s", resp.Status)
		}
		return map[string]time.Duration{"pass": time.Since(due)}, nil
	}
	start := time.Now()
	lat, errs, dropped := bench.OpenLoop(ctx, *rate, *dur, 4000, fetchPass)
	elapsed := time.Since(start)
	l := bench.Summarise(lat["pass"])
	return printJSON(map[string]any{"benchmark": "pass", "store": d.Dialect.String(), "requests_per_sec": *rate, "duration_s": dur.Seconds(),
		"achieved_requests_per_sec": float64(l.Count) / elapsed.Seconds(), "latency": l, "errors": errs, "dropped": dropped,
		"target_p99_ms": 20, "meets_target": l.P99 < 20 && errs == 0 && dropped == 0})
}
