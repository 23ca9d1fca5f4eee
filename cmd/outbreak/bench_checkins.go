package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/outbreak-platform/outbreak/internal/bench"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/server"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

func init() { benches["checkins"] = benchCheckIns }

// errShed marks a request the server turned away (429 or 503 with
// Retry-After): shedding, not failing.
var errShed = errors.New("shed")

// benchCheckIns drives POST /api/v1/checkins — one poster scan per request,
// as phones send them — at a fixed rate over HTTP, and reports how many
// were accepted, how many the endpoint shed, and the latency of the
// accepted ones.
func benchCheckIns(ctx context.Context, args []string) error {
	fs := newFlags("bench checkins", "Serve a demo region on loopback and post poster scans (POST /api/v1/checkins, one\ncheck-in per request, signed place codes) at a fixed rate. Reports accepted and shed\nrequests and the latency of the accepted ones.")
	rate := fs.Float64("rate", 1000, "requests per second")
	dur := fs.Duration("duration", 10*time.Second, "how long to drive the load")
	residents := fs.Int("residents", 20000, "demo residents")
	sessions := fs.Int("sessions", 4000, "signed-in residents to spread the requests over")
	places := fs.Int("places", 200, "places to scan")
	fs.Bool("json", true, "print JSON (the only format)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the load to this file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *rate <= 0 || *dur <= 0 || *sessions < 1 || *places < 1 {
		return errUsage{errors.New("rate, duration, sessions and places must be positive")}
	}
	cfg, d, _, cleanup, err := benchRegion(ctx, "", *residents)
	if err != nil {
		return err
	}
	defer cleanup()
	base, stop, err := serveForBench(ctx, cfg, d)
	if err != nil {
		return err
	}
	defer stop()

	// Places, and their poster codes, signed with the server's place key.
	v, _, err := vaultFor(cfg)
	if err != nil {
		return err
	}
	region, err := server.IssuingRegion(ctx, cfg, jurisdiction.NewStore(d))
	if err != nil {
		return err
	}
	signer := &venue.Codes{DB: d, Vault: v, Region: region}
	if err := signer.Ensure(ctx); err != nil {
		return err
	}
	var jid, by int64
	if err := db.Get(ctx, d.R, &jid, "SELECT MIN(community_id) FROM residents"); err != nil {
		return err
	}
	if err := db.Get(ctx, d.R, &by, "SELECT MIN(id) FROM accounts"); err != nil {
		return err
	}
	codes := make([]string, *places)
	for i := range codes {
		id, err := db.InsertID(ctx, d.W, `INSERT INTO places (kind, type, name, address, latitude, longitude, jurisdiction_id,
			created_by, created_at) VALUES ('venue', 'shop', ?, '', 30.59, 114.3, ?, ?, ?) RETURNING id`,
			fmt.Sprintf("Bench shop %d", i+1), jid, by, time.Now().UTC())
		if err != nil {
			return err
		}
		if codes[i], err = signer.SignPlaceCode(venue.Place{ID: id, Kind: venue.Venue, Type: venue.Shop}); err != nil {
			return err
		}
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 4000, MaxIdleConnsPerHost: 4000}, Timeout: 30 * time.Second}
	ss, err := signInResidents(ctx, client, base, d, *sessions)
	if err != nil {
		return err
	}
	var shed429, shed503 atomic.Int64
	var firstErr atomic.Pointer[error]
	scan := func(ctx context.Context, i int, due time.Time) (map[string]time.Duration, error) {
		s := ss[i%len(ss)]
		body := fmt.Sprintf(`{"checkins":[{"client_id":%q,"code":%q,"t_in":%d}]}`, uuid.NewString(), codes[i%len(codes)], time.Now().Unix())
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/checkins", bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Cookie", "outbreak_session="+s.cookie)
		req.Header.Set("X-CSRF-Token", s.csrf)
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		var res struct {
			Accepted int `json:"accepted"`
			Results  []struct {
				Reason string `json:"reason"`
			} `json:"results"`
		}
		json.NewDecoder(resp.Body).Decode(&res)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK && res.Accepted == 1:
			return map[string]time.Duration{"accepted": time.Since(due)}, nil
		case resp.StatusCode == http.StatusOK:
			err := fmt.Errorf("check-in refused: %+v", res.Results)
			firstErr.CompareAndSwap(nil, &err)
			return nil, err
		case resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "":
			shed429.Add(1)
			return nil, errShed
		case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
			shed503.Add(1)
			return nil, errShed
		}
		err = fmt.Errorf("check-in: %s", resp.Status)
		firstErr.CompareAndSwap(nil, &err)
		return nil, err
	}
	before, err := count(ctx, d)
	if err != nil {
		return err
	}
	stopProfile, err := startProfile(*cpuProfile)
	if err != nil {
		return err
	}
	start := time.Now()
	lat, errs, dropped := bench.OpenLoop(ctx, *rate, *dur, 4000, scan)
	elapsed := time.Since(start)
	stopProfile()
	after, err := count(ctx, d)
	if err != nil {
		return err
	}
	l := bench.Summarise(lat["accepted"])
	if firstErr.Load() != nil {
		fmt.Fprintln(os.Stderr, "first failure:", *firstErr.Load())
	}
	failed := errs - int(shed429.Load()+shed503.Load())
	return printJSON(map[string]any{"benchmark": "checkins", "store": d.Dialect.String(), "requests_per_sec": *rate,
		"duration_s": dur.Seconds(), "accepted": l.Count, "accepted_per_sec": float64(l.Count) / elapsed.Seconds(),
		"stored": after - before, "shed_429": shed429.Load(), "shed_503": shed503.Load(), "failed": failed, "dropped": dropped,
		"latency_accepted": l,
		// What it accepted, it kept: every 200 is a stored check-in.
		"kept_all_accepted": after-before == int64(l.Count)})
}

func count(ctx context.Context, d *db.DB) (int64, error) {
	var n int64
	err := db.Get(ctx, d.R, &n, "SELECT COUNT(*) FROM checkins")
	return n, err
}

// session is a signed-in resident's session cookie and CSRF token.
type session struct{ cookie, csrf string }

// signInResidents signs in up to n demo residents at base, each from its
// own address (the sign-in limits are per address), and returns their
// sessions.
func signInResidents(ctx context.Context, client *http.Client, base string, d *db.DB, n int) ([]session, error) {
	var users []string
	if err := db.Select(ctx, d.R, &users, "SELECT username FROM accounts WHERE role = 'resident' ORDER BY id LIMIT ?", n); err != nil {
		return nil, err
	}
	var ss []session
	for i, u := range users {
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/login", bytes.NewReader([]byte(`{"username":"`+u+`","password":"demo"}`)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.18.%d.%d", i/250, i%250+1))
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		var me struct {
			CSRF string `json:"csrf_token"`
		}
		json.NewDecoder(resp.Body).Decode(&me)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		for _, c := range resp.Cookies() {
			if c.Name == "outbreak_session" {
				ss = append(ss, session{c.Value, me.CSRF})
			}
		}
	}
	if len(ss) == 0 {
		return nil, errors.New("bench: no resident could sign in")
	}
	return ss, nil
}
