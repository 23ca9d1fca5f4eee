package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMakeRun runs the commands of the Makefile's run target as make would,
// with ADDR set: the server listens there, and the demo logins are printed
// once (by the server), not by the demo as well.
func TestMakeRun(t *testing.T) {
	t.Setenv("OUTBREAK_ARGON2_MEMORY_KIB", "1024")
	t.Setenv("OUTBREAK_LOG_FORMAT", "text")
	dir := t.TempDir()
	t.Setenv("OUTBREAK_KEY_FILE", filepath.Join(dir, "k"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	vars := map[string]string{"$(BIN)": "outbreak", "$(DB)": "sqlite:" + filepath.Join(dir, "o.db"), "$(RESIDENTS)": "200", "$(ADDR)": addr}

	recipe := makeRecipe(t, "run")
	if len(recipe) != 2 || !strings.Contains(recipe[1], "--addr $(ADDR)") {
		t.Fatalf("make run = %q; want the demo, then serve --addr $(ADDR)", recipe)
	}
	var printed strings.Builder
	for i, line := range recipe {
		for k, v := range vars {
			line = strings.ReplaceAll(line, k, v)
		}
		args := strings.Fields(line)
		if args[0] != "./outbreak" {
			t.Fatalf("make run line %q does not run the binary", recipe[i])
		}
		if args[1] != "serve" {
			out, err := run(t, args[1:]...)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			printed.WriteString(out)
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			defer cancel()
			deadline := time.Now().Add(60 * time.Second)
			for time.Now().Before(deadline) {
				if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
					res.Body.Close()
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			t.Errorf("the server did not answer on ADDR %s", addr)
		}()
		out, err := runCtx(t, ctx, args[1:]...)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		printed.WriteString(out)
	}
	text := printed.String()
	if n := strings.Count(text, "Demo logins"); n != 1 {
		t.Errorf("make run printed the demo logins %d times:\n%s", n, text)
	}
	if !strings.Contains(text, "open http://"+addr+"/") {
		t.Errorf("make run did not say where to open the platform at %s:\n%s", addr, text)
	}
}

// makeRecipe returns the command lines of a Makefile target.
func makeRecipe(t *testing.T, target string) []string {
	t.Helper()
	b, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	in := false
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(l, target+":"):
			in = true
		case in && strings.HasPrefix(l, "\t"):
			lines = append(lines, strings.TrimSpace(l))
		case in:
			return lines
		}
	}
	return lines
}
