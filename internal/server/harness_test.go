package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/config"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/demo"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/server"
	"github.com/outbreak-platform/outbreak/internal/tracing"
	"github.com/outbreak-platform/outbreak/internal/vault"
)

// testServer is the whole platform serving a demo region on a loopback port.
type testServer struct {
	URL   string
	DB    *db.DB
	Vault *vault.Vault
	// CheckIns is the server's check-in store: check-ins written through
	// another would be missed by its in-memory index.
	CheckIns *tracing.Store
	// Server is the platform itself, for its route table.
	Server *server.Server
}

// cheap password hashing keeps the tests fast; production costs are in config.
var testArgon = account.Params{Memory: 1024, Time: 1, Threads: 1}

// startServer generates a demo region of n residents into d (seed 2020) and
// serves it until the test ends.
func startServer(t testing.TB, d *db.DB, residents int) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	v, err := vault.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	if residents > 0 {
		_, err := demo.Generate(ctx, demo.Stores{DB: d, Jurisdictions: jurisdiction.NewStore(d), Residents: resident.NewStore(d, v),
			Accounts: account.NewStore(d), Params: testArgon}, demo.Options{Residents: residents, Seed: 2020})
		if err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.Default()
	cfg.Argon2 = testArgon
	cfg.LoginPerMinute = 1000
	_, ts := serveOn(t, ctx, cancel, cfg, d, v)
	return ts
}

// serveOn serves the platform on d with cfg on a loopback port until the
// test ends (or cancel is called), and returns the server and its address.
func serveOn(t testing.TB, ctx context.Context, cancel context.CancelFunc, cfg config.Config, d *db.DB, v *vault.Vault) (*server.Server, *testServer) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	s, err := server.New(ctx, cfg, log, d, v, server.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s, &testServer{URL: "http://" + ln.Addr().String(), DB: d, Vault: v, CheckIns: s.CheckIns(), Server: s}
}

// tracingIndex waits up to 10 s for the tracer's in-memory index to load
// (on SQLite) and returns what /readyz says the tracer reads.
func (ts *testServer) tracingIndex(t testing.TB) string {
	t.Helper()
	var ready struct {
		Index string `json:"tracing_index"`
	}
	for range 200 {
		resp, err := http.Get(ts.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&ready)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if ready.Index != "loading" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return ready.Index
}
