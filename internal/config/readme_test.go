package config

import (
	"time"

	"flag"
	"os"
	"strings"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/account"
)

var update = flag.Bool("update", false, "rewrite the README's table of settings from Settings")

const (
	readme     = "../../README.md"
	tableBegin = "<!-- settings: generated from internal/config/settings.go; go test ./internal/config -run TestREADMESettings -update -->\n"
	tableEnd   = "<!-- /settings -->\n"
)

// TestREADMESettings: the README's table of settings is the one made from
// Settings — no setting missing from it, no row without a setting, and
// every default and meaning as declared.
func TestREADMESettings(t *testing.T) {
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	before, rest, ok := strings.Cut(doc, tableBegin)
	table, after, ok2 := strings.Cut(rest, tableEnd)
	if !ok || !ok2 {
		t.Fatalf("README.md has no table of settings between %q and %q", strings.TrimSpace(tableBegin), strings.TrimSpace(tableEnd))
	}
	want := SettingsTable()
	if table == want {
		return
	}
	if *update {
		if err := os.WriteFile(readme, []byte(before+tableBegin+want+tableEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("rewrote the README's table of settings")
		return
	}
	rows := readRows(t, table)
	declared := map[string]Setting{}
	for _, s := range Settings {
		declared[s.Env] = s
		r, ok := rows[s.Env]
		switch {
		case !ok:
			t.Errorf("%s is not in the README's table of settings", s.Env)
		case r[0] != s.DefaultShown():
			t.Errorf("README: %s defaults to %s; declared %s", s.Env, r[0], s.DefaultShown())
		case r[1] != s.Meaning:
			t.Errorf("README: %s means %q; declared %q", s.Env, r[1], s.Meaning)
		}
	}
	for env := range rows {
		if _, ok := declared[env]; !ok {
			t.Errorf("README row %s names no setting", env)
		}
	}
	t.Errorf("the README's table of settings is not the one made from Settings; run go test ./internal/config -run TestREADMESettings -update")
}

// readRows reads a settings table: variable -> [default, meaning].
func readRows(t *testing.T, table string) map[string][2]string {
	rows := map[string][2]string{}
	for _, line := range strings.Split(strings.TrimSpace(table), "\n")[2:] {
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) < 3 {
			t.Errorf("README: settings row %q has not three cells", line)
			continue
		}
		meaning := strings.Join(cells[2:], " | ")
		for _, env := range strings.Split(cells[0], ",") {
			rows[strings.Trim(strings.TrimSpace(env), "`")] = [2]string{cells[1], meaning}
		}
	}
	return rows
}

// TestSettingsDeclaredOnce: one declaration per variable, each with a
// meaning, and a default either as a value or in words.
func TestSettingsDeclaredOnce(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Settings {
		if seen[s.Env] {
			t.Errorf("%s is declared twice", s.Env)
		}
		seen[s.Env] = true
		if !strings.HasPrefix(s.Env, "OUTBREAK_") || s.Meaning == "" || (s.Default == "") == (s.DefaultText == "") || s.set == nil {
			t.Errorf("%s: want an OUTBREAK_ name, a meaning, a setter, and exactly one of Default and DefaultText", s.Env)
		}
	}
	c := Default()
	if c.Argon2 != account.DefaultParams || c.Addr != "127.0.0.1:8080" || c.SessionTTL != 7*24*time.Hour || c.MaxInFlight != 1024 {
		t.Errorf("Default() = %+v", c)
	}
}
