package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/config"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/issuer"
)

// run calls the command line as a user would and returns what it printed.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return runCtx(t, context.Background(), args...)
}

// runCtx is run with a context, which a signal would cancel.
func runCtx(t *testing.T, ctx context.Context, args ...string) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		var b bytes.Buffer
		io.Copy(&b, r)
		done <- b.String()
	}()
	err = realMain(ctx, args)
	w.Close()
	os.Stdout = stdout
	return <-done, err
}

// TestCommands drives the binary's commands on a demo store: a pass is
// printed and verifies; a tampered one does not; a key rotation keeps old
// passes valid; the audit chain verifies, and fails after an edit.
func TestCommands(t *testing.T) {
	t.Setenv("OUTBREAK_ARGON2_MEMORY_KIB", "1024")
	t.Setenv("OUTBREAK_LOG_FORMAT", "text")
	dir := t.TempDir()
	dsn := "sqlite:" + filepath.Join(dir, "o.db")
	store := []string{"--db", dsn, "--key-file", filepath.Join(dir, "k")}
	// with puts the store's flags after the command and before its other arguments.
	with := func(name string, args ...string) []string {
		return append(append([]string{name}, store...), args...)
	}

	if _, err := run(t, with("demo", "--residents", "200")...); err != nil {
		t.Fatal(err)
	}
	// The demo gives the region declarations and codes; resident-1 has one.
	d, err := db.Open(context.Background(), dsn, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	out, err := run(t, with("pass", "--demo-resident", "1")...)
	text := strings.TrimSpace(out)
	if err != nil || !strings.HasPrefix(text, "OB1:") {
		t.Fatalf("pass = %q, %v", out, err)
	}
	var res struct {
		Valid  bool   `json:"valid"`
		Colour string `json:"colour"`
		Reason string `json:"reason"`
	}
	out, err = run(t, with("verify", text)...)
	if json.Unmarshal([]byte(out), &res); err != nil || !res.Valid || res.Colour != "green" {
		t.Fatalf("verify = %s, %v", out, err)
	}
	tampered := text[:len(text)-3] + "AAA"
	if tampered == text {
		tampered = text[:len(text)-3] + "BBB"
	}
	out, err = run(t, with("verify", tampered)...)
	if json.Unmarshal([]byte(out), &res); !errors.Is(err, errInvalidPass) || res.Valid || res.Reason == "" {
		t.Fatalf("verify tampered = %s, %v", out, err)
	}
	if _, err := run(t, append([]string{"keys", "rotate"}, store...)...); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, with("verify", text)...); err != nil {
		t.Fatalf("a pass signed before the rotation: %s, %v", out, err)
	}
	// A rotation scheduled ahead says when; a second waits for none, and
	// --in out of range is a usage error.
	var rotated struct {
		NewKID    string `json:"new_kid"`
		SignsFrom string `json:"signs_from"`
	}
	out, err = run(t, append([]string{"keys", "rotate", "--in", "48h"}, store...)...)
	if json.Unmarshal([]byte(out), &rotated); err != nil || rotated.NewKID == "" {
		t.Fatalf("keys rotate --in 48h = %s, %v", out, err)
	}
	if at, err := time.Parse(time.RFC3339, rotated.SignsFrom); err != nil || time.Until(at) < 47*time.Hour || time.Until(at) > 48*time.Hour {
		t.Errorf("scheduled rotation signs from %q (%v)", rotated.SignsFrom, err)
	}
	if out, err := run(t, append([]string{"keys", "rotate"}, store...)...); err == nil || !strings.Contains(err.Error(), "already scheduled") {
		t.Errorf("a second rotation while one waits = %s, %v", out, err)
	}
	if _, err := run(t, append([]string{"keys", "rotate", "--in", "-1h"}, store...)...); exitCode(err) != 2 {
		t.Errorf("keys rotate --in -1h: exit %d", exitCode(err))
	}
	verifyByURL(t, dsn, filepath.Join(dir, "k"), text)

	auditHeads(t, d, store)
	// Edit the first entry of the chain.
	if _, err := d.W.ExecContext(context.Background(), `UPDATE audit_log SET after = '{"colour":"red"}' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, append([]string{"audit", "verify"}, store...)...); !errors.Is(err, errChainBroken) || !strings.Contains(out, `"broken_at": 1`) {
		t.Fatalf("audit verify after an edit = %s, %v", out, err)
	}
	if _, err := run(t, "no-such-command"); exitCode(err) != 2 {
		t.Fatalf("unknown command: exit %d", exitCode(err))
	}
}

// verifyByURL checks a pass against a trust list fetched from a URL, as a
// verifier elsewhere would: the command asks for version 2 of the list
// and for the root key beside it; a list past its expiry verifies nothing.
func verifyByURL(t *testing.T, dsn, keyFile, text string) {
	t.Helper()
	ctx := context.Background()
	cfg := config.Default()
	cfg.DB, cfg.KeyFile = dsn, keyFile
	_, is, done, err := openIssuer(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	fresh, err := is.TrustList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The same keys, in a list good for an hour signed two hours ago.
	old := &issuer.Issuer{DB: is.DB, Vault: is.Vault, Region: is.Region, Now: func() time.Time { return time.Now().Add(-2 * time.Hour) },
		TrustListMaxAge: time.Hour}
	if err := old.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	expired, err := old.TrustList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var serve atomic.Pointer[[]byte]
	serve.Store(&fresh)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/trust-list", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("version") != "2" {
			http.Error(w, "ask for version 2", http.StatusNotFound)
			return
		}
		w.Write(*serve.Load())
	})
	mux.HandleFunc("GET /api/v1/trust-list/root", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"public_key": base64.RawURLEncoding.EncodeToString(is.RootPublicKey())})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var res struct {
		Valid  bool   `json:"valid"`
		Reason string `json:"reason"`
	}
	out, err := run(t, "verify", "--trust-list", srv.URL+"/api/v1/trust-list", text)
	if json.Unmarshal([]byte(out), &res); err != nil || !res.Valid {
		t.Fatalf("verify against the URL = %s, %v", out, err)
	}
	serve.Store(&expired)
	out, err = run(t, "verify", "--trust-list", srv.URL+"/api/v1/trust-list", text)
	if json.Unmarshal([]byte(out), &res); !errors.Is(err, errInvalidPass) || res.Valid || res.Reason != "trust_list_expired" {
		t.Fatalf("verify against an expired list = %s, %v", out, err)
	}
}
