package demo_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/demo"
)

// TestProgressNotATerminal: written to a pipe or a file, the demo's
// progress is plain lines with a percentage, not a bar redrawn with
// carriage returns and escape sequences.
func TestProgressNotATerminal(t *testing.T) {
	ctx := context.Background()
	d := dbtest.SQLite(t)
	var out bytes.Buffer
	if _, err := demo.Generate(ctx, stores(t, d), demo.Options{Residents: 2000, Seed: 1, Batch: 100, Progress: &out}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if strings.ContainsAny(text, "\r\x1b") {
		t.Fatalf("progress holds carriage returns or escapes: %q", text)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 5 || len(lines) > 11 {
		t.Fatalf("%d lines of progress, want one a tenth and one at the end:\n%s", len(lines), text)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "residents: ") || !strings.Contains(l, "% (") || !strings.Contains(l, " of 2,000)") {
			t.Errorf("progress line %q, want like \"residents: 40%% (800 of 2,000), 0.3s\"", l)
		}
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "residents: 100% (2,000 of 2,000)") {
		t.Errorf("last line %q, want 100%%", last)
	}
}
