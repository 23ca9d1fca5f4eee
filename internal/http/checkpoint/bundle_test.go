package checkpoint

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestBundleIsFresh builds the page's script from web/checkpoint/src and
// fails when the committed static/checkpoint.js differs: someone changed
// the source and forgot `make assets`. It needs the npm packages (make
// assets installs them); without them it is skipped, loudly.
func TestBundleIsFresh(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "web", "checkpoint")
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("!!! node not found: the committed bundle is NOT compared with a fresh build")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "esbuild")); err != nil {
		t.Skip("!!! web/checkpoint/node_modules missing (run make assets): the committed bundle is NOT compared with a fresh build")
	}
	out := filepath.Join(t.TempDir(), "checkpoint.js")
	cmd := exec.Command(node, "build.mjs", out)
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, msg)
	}
	fresh, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join("static", "checkpoint.js"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, committed) {
		t.Fatal("internal/http/checkpoint/static/checkpoint.js is not built from web/checkpoint/src as it is now: run make assets")
	}
}
