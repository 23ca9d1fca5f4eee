package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/outbreak-platform/outbreak/internal/config"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/vault"
)

// fromAddr is an HTTP client whose connections leave from the loopback
// address ip (127.0.0.2 is another client than 127.0.0.1 to the server).
func fromAddr(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 2 * time.Second}
	return &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// TestSlowBodiesFromOneAddress: one address opens a thousand connections
// and sends anonymous sign-in requests whose bodies never finish. The
// server's in-flight bound is 200, so without a bound per address they
// would hold every slot; with it, another address still signs in (its
// wrong password answered, not shed) and /healthz still says ok, both
// within a second.
func TestSlowBodiesFromOneAddress(t *testing.T) {
	t.Parallel()
	d := dbtest.SQLite(t)
	ctx, cancel := context.WithCancel(context.Background())
	v, err := vault.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Argon2 = testArgon
	cfg.LoginPerMinute = 100000
	cfg.MaxInFlight = 200
	_, ts := serveOn(t, ctx, cancel, cfg, d, v)
	addr := strings.TrimPrefix(ts.URL, "http://")

	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	var wg sync.WaitGroup
	for range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			// Headers and the first byte of a body that never comes.
			fmt.Fprintf(c, "POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{")
		}()
	}
	wg.Wait()
	time.Sleep(300 * time.Millisecond) // let the server read every header it will

	other := fromAddr("127.0.0.2")
	for range 5 {
		start := time.Now()
		resp, err := other.Get(ts.URL + "/healthz")
		if err != nil {
			t.Fatalf("/healthz from another address: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || time.Since(start) > time.Second {
			t.Fatalf("/healthz from another address: %d after %v", resp.StatusCode, time.Since(start))
		}
		start = time.Now()
		resp, err = other.Post(ts.URL+"/api/v1/login", "application/json", strings.NewReader(`{"username":"nobody","password":"wrong"}`))
		if err != nil {
			t.Fatalf("sign-in from another address: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || time.Since(start) > time.Second {
			t.Fatalf("sign-in from another address: %d after %v; want a wrong password answered", resp.StatusCode, time.Since(start))
		}
	}
}

// TestHealthNeverShed: with every one of the server's in-flight slots
// held, /healthz and /readyz still answer 200 while other requests are
// shed with 503.
func TestHealthNeverShed(t *testing.T) {
	t.Parallel()
	d := dbtest.SQLite(t)
	ctx, cancel := context.WithCancel(context.Background())
	v, err := vault.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Argon2 = testArgon
	cfg.MaxInFlight = 4
	_, ts := serveOn(t, ctx, cancel, cfg, d, v)
	addr := strings.TrimPrefix(ts.URL, "http://")
	// Four slow requests, each from its own address, hold the four slots.
	for i := range 4 {
		dl := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(i+1))}}
		c, err := dl.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{")
	}
	time.Sleep(300 * time.Millisecond)
	hc := fromAddr("127.0.0.3")
	status := func(path string) int {
		resp, err := hc.Get(ts.URL + path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status("/login"); got != http.StatusServiceUnavailable {
		t.Fatalf("/login with every slot held = %d, want 503 (the slots are not held)", got)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if got := status(p); got != http.StatusOK {
			t.Errorf("%s with every slot held = %d, want 200", p, got)
		}
	}
}

// TestSameCheckInTwoAccountsAtOnce: the same check-in (same client id and
// time) sent by two accounts at the same moment is stored once, and only
// the account whose row it is hears it accepted; the other hears it
// refused as a conflict. Before, both were told "accepted" while one row
// was stored (the insert's "nothing written" was not looked at).
func TestSameCheckInTwoAccountsAtOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := ciStart(t, d)
		code := e.code(t, e.shop)
		a, _ := e.login(t, "resident-1", demoPassword)
		b, _ := e.login(t, ciResidents(t, d, 1)[0], demoPassword)
		residentOf := map[*client]int64{}
		both := 0
		for i := range 40 {
			item := map[string]any{"client_id": uuid.NewString(), "code": code, "t_in": time.Now().Unix() - 60 - int64(i)}
			var res [2]ciBatchResult
			var status [2]int
			var wg sync.WaitGroup
			start := make(chan struct{})
			for j, c := range []*client{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					r := c.do(http.MethodPost, "/api/v1/checkins", "application/json",
						strings.NewReader(fmt.Sprintf(`{"checkins":[{"client_id":%q,"code":%q,"t_in":%d}]}`, item["client_id"], code, item["t_in"])))
					status[j] = r.Status
					json.Unmarshal(r.Body, &res[j])
				}()
			}
			close(start)
			wg.Wait()
			rows := ciStored(t, d, "client_id = ?", item["client_id"])
			if len(rows) != 1 {
				t.Fatalf("pair %d: %d rows stored", i, len(rows))
			}
			accepted := 0
			for j, c := range []*client{a, b} {
				if status[j] != http.StatusOK || len(res[j].Results) != 1 {
					t.Fatalf("pair %d: status %d, %+v", i, status[j], res[j])
				}
				r := res[j].Results[0]
				switch r.Status {
				case "accepted", "duplicate":
					accepted++
					if residentOf[c] == 0 {
						residentOf[c] = r.ResidentID
					}
					if r.ResidentID != rows[0].ResidentID {
						t.Errorf("pair %d: account %d told %s, but the row stored is resident %d's", i, j, r.Status, rows[0].ResidentID)
					}
				case "refused":
					if r.Reason != "conflict" {
						t.Errorf("pair %d: refused for %s, want conflict", i, r.Reason)
					}
				}
			}
			if accepted == 2 {
				both++
			}
			if accepted != 1 {
				t.Errorf("pair %d: %d of 2 accounts told accepted for one stored row", i, accepted)
			}
		}
		t.Logf("pairs both told accepted: %d of 40", both)
	})
}

// TestGateBeforeSession: with the check-in gate full, a batch is turned
// away before its session is looked up or its body read — an unknown
// session and a body that is not JSON get the same short 503 with
// Retry-After, not a 401 or a 400 — and the answer is small.
func TestGateBeforeSession(t *testing.T) {
	t.Parallel()
	d := dbtest.SQLite(t)
	ctx, cancel := context.WithCancel(context.Background())
	v, err := vault.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Argon2 = testArgon
	srv, ts := serveOn(t, ctx, cancel, cfg, d, v)
	gate := srv.CheckInGate()
	var held []func()
	for {
		release, ok := gate.Enter(context.Background())
		if !ok {
			break
		}
		held = append(held, release)
	}
	defer func() {
		for _, r := range held {
			r()
		}
	}()
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/api/v1/checkins", strings.NewReader("not json"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Cookie", "outbreak_session=no-such-session")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || len(body) > 300 {
		t.Fatalf("gate full: %d, Retry-After %q, %d bytes: %s; want a short 503 before the session look-up",
			resp.StatusCode, resp.Header.Get("Retry-After"), len(body), body)
	}
	// Without credentials the guard answers, the gate is not asked.
	req, _ = http.NewRequest(http.MethodPost, ts.URL+"/api/v1/checkins", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no credentials, gate full: %d, want 401", resp.StatusCode)
	}
}
