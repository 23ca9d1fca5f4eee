package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/db"
)

// run calls the command line as a user would and returns what it printed.
func run(t *testing.T, args ...string) (string, error) {
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
	err = realMain(context.Background(), args)
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

	if out, err := run(t, "audit", "verify", "--db", dsn); err != nil || !strings.Contains(out, `"ok": true`) {
		t.Fatalf("audit verify = %s, %v", out, err)
	}
	// Edit the first entry of the chain.
	if _, err := d.W.ExecContext(context.Background(), `UPDATE audit_log SET after = '{"colour":"red"}' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, "audit", "verify", "--db", dsn); !errors.Is(err, errChainBroken) || !strings.Contains(out, `"broken_at": 1`) {
		t.Fatalf("audit verify after an edit = %s, %v", out, err)
	}
	if _, err := run(t, "no-such-command"); exitCode(err) != 2 {
		t.Fatalf("unknown command: exit %d", exitCode(err))
	}
}
