package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/config"
	"github.com/outbreak-platform/outbreak/internal/db"
)

// auditHeads: `outbreak audit verify` checks the chain against the signed
// heads stored with it and those given with --heads (a file or a URL,
// verified with --verifier-key from `outbreak audit key`), and fails when
// the chain no longer extends one, though the hash chain alone verifies.
// It leaves the chain cut by one entry.
func auditHeads(t *testing.T, d *db.DB, store []string) {
	t.Helper()
	ctx := context.Background()
	verify := func(args ...string) (string, error) {
		return run(t, append(append([]string{"audit", "verify"}, store...), args...)...)
	}
	if out, err := verify(); err != nil || !strings.Contains(out, `"ok": true`) {
		t.Fatalf("audit verify = %s, %v", out, err)
	}
	vkey, err := run(t, append([]string{"audit", "key"}, store[2:]...)...)
	vkey = strings.TrimSpace(vkey)
	if err != nil || !strings.HasPrefix(vkey, audit.Origin+"+") {
		t.Fatalf("audit key = %q, %v", vkey, err)
	}
	cfg := config.Default()
	cfg.KeyFile = store[3]
	key, err := headKeyFrom(cfg)
	if err != nil || key.Verifier() != vkey {
		t.Fatalf("the server's head key %v, %v; printed %q", key, err, vkey)
	}
	l := &audit.HeadLog{DB: d, Key: key}
	h, created, err := l.Sign(ctx)
	if err != nil || !created || h.Size < 2 {
		t.Fatalf("Sign = %+v %v, %v", h, created, err)
	}
	file := filepath.Join(t.TempDir(), "head.txt")
	if err := os.WriteFile(file, []byte(h.Note), 0o600); err != nil {
		t.Fatal(err)
	}
	page, _ := json.Marshal(map[string]any{"heads": []audit.Head{h}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(page) }))
	defer srv.Close()
	if out, err := verify("--heads", file, "--heads", srv.URL+"/api/v1/audit/heads"); err != nil || !strings.Contains(out, `"heads_checked": 3`) {
		t.Fatalf("audit verify --heads = %s, %v", out, err)
	}
	// An outside auditor holds no master key, only the published key.
	if out, err := run(t, "audit", "verify", "--db", store[1], "--key-file", "/nonexistent", "--verifier-key", vkey, "--heads", file); err != nil {
		t.Fatalf("audit verify --verifier-key = %s, %v", out, err)
	}
	if _, err := run(t, "audit", "verify", "--db", store[1], "--verifier-key", "outbreak/audit+00000000+AQ=="); err == nil {
		t.Fatal("audit verify with a malformed verifier key passed")
	}

	// Cut the last entry, head row too, and remove the stored heads: the
	// hash chain verifies, the head kept elsewhere does not.
	var hash []byte
	if err := db.Get(ctx, d.R, &hash, "SELECT hash FROM audit_log WHERE id = ?", h.Size-1); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"DELETE FROM audit_log WHERE id > ?", []any{h.Size - 1}},
		{"UPDATE audit_head SET last_id = ?, last_hash = ? WHERE id = 1", []any{h.Size - 1, hash}},
	} {
		if _, err := db.Exec(ctx, d.W, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := verify(); !errors.Is(err, errChainBroken) || !strings.Contains(err.Error(), "cut from the end") {
		t.Fatalf("audit verify of a cut chain against its stored head = %s, %v", out, err)
	}
	if _, err := db.Exec(ctx, d.W, "DELETE FROM audit_heads"); err != nil {
		t.Fatal(err)
	}
	if out, err := verify(); err != nil {
		t.Fatalf("the cut chain without heads should verify alone: %s, %v", out, err)
	}
	out, err := verify("--heads", srv.URL)
	if !errors.Is(err, errChainBroken) || !strings.Contains(err.Error(), fmt.Sprintf("signed head for %d entries", h.Size)) || !strings.Contains(out, `"ok": false`) {
		t.Fatalf("audit verify of a cut chain against the kept head = %s, %v", out, err)
	}
}
