package server_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/http/route"
)

// TestRoutesDoc keeps docs/ROUTES.md, the access-control map, the same as
// the routes the server mounts: who may use each page and API route comes
// from the same list the mux is built from. OUTBREAK_UPDATE_ROUTES=1
// writes the file.
func TestRoutesDoc(t *testing.T) {
	ts := startServer(t, dbtest.SQLite(t), 0)
	const path = "../../docs/ROUTES.md"
	want := "# Routes\n\nEvery page and API route the server mounts, and who may use it. " +
		"Generated from the areas' route lists by `OUTBREAK_UPDATE_ROUTES=1 go test ./internal/server -run TestRoutesDoc`; " +
		"a test fails when it and the code disagree.\n\n" + route.Table(ts.Server.Routes())
	if os.Getenv("OUTBREAK_UPDATE_ROUTES") == "1" {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with OUTBREAK_UPDATE_ROUTES=1 to write it)", err)
	}
	if string(got) != want {
		t.Errorf("docs/ROUTES.md is out of date: run OUTBREAK_UPDATE_ROUTES=1 go test ./internal/server -run TestRoutesDoc\n%s", firstDiff(string(got), want))
	}
}

// firstDiff shows the first line where a and b differ.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + strconv.Itoa(i+1) + ":\n  file: " + x + "\n  code: " + y
		}
	}
	return ""
}
