package rules

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestDefaultRuleSet(t *testing.T) {
	rs := defaultRules(t)
	if rs.Version() != "default-2020.1" {
		t.Errorf("version = %q", rs.Version())
	}
	if rs.QuarantineDays(Red) != 14 || rs.QuarantineDays(Yellow) != 7 || rs.QuarantineDays(Green) != 0 {
		t.Errorf("quarantine days = red %d, yellow %d, green %d", rs.QuarantineDays(Red), rs.QuarantineDays(Yellow), rs.QuarantineDays(Green))
	}
	if rs.FeverC() != 37.3 {
		t.Errorf("fever threshold = %g", rs.FeverC())
	}
	var ids []string
	for _, r := range rs.Rules() {
		ids = append(ids, string(r.Colour)+":"+r.ID)
		if r.Explain[LangZH] == "" || r.Explain[LangEN] == "" || r.Line == 0 {
			t.Errorf("rule %s: explain %v, line %d", r.ID, r.Explain, r.Line)
		}
	}
	want := []string{"red:confirmed-case", "red:suspected-case", "red:close-contact", "red:fever-with-exposure",
		"yellow:secondary-contact", "yellow:visited-high-risk", "yellow:visited-medium-risk",
		"yellow:symptoms-without-exposure", "yellow:declaration-overdue"}
	if !slices.Equal(ids, want) {
		t.Errorf("rules = %v\nwant %v", ids, want)
	}
	if len(rs.Digest()) != 64 {
		t.Errorf("digest = %q", rs.Digest())
	}
	b := DefaultYAML()
	b[0] = 'X'
	if DefaultYAML()[0] == 'X' {
		t.Error("DefaultYAML shares the embedded bytes")
	}
}

func TestParseValidFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*.yaml")
	files = append(files, "default.yaml")
	if len(files) < 2 {
		t.Fatal("no valid test files")
	}
	for _, f := range files {
		if _, err := Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

var wantMark = regexp.MustCompile(`# ERROR ([^#]+)`)

// TestParseInvalidFiles checks the files in testdata/invalid: every line
// marked "# ERROR text" must draw exactly the problems whose messages
// contain those texts, and no other line may draw a problem.
func TestParseInvalidFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	if len(files) == 0 {
		t.Fatal("no invalid test files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want := map[int][]string{}
			for i, line := range strings.Split(string(data), "\n") {
				for _, m := range wantMark.FindAllStringSubmatch(line, -1) {
					want[i+1] = append(want[i+1], strings.TrimSpace(m[1]))
				}
			}
			_, err = Load(f)
			pe, ok := errors.AsType[*ParseError](err)
			if !ok {
				t.Fatalf("Load = %v, want a *ParseError", err)
			}
			if pe.File != f || !strings.Contains(pe.Error(), f) {
				t.Errorf("error does not name the file: %v", pe)
			}
			got := map[int][]string{}
			for _, p := range pe.Problems {
				got[p.Line] = append(got[p.Line], p.Message)
			}
			for line, texts := range want {
				msgs := got[line]
				if len(msgs) != len(texts) {
					t.Errorf("line %d: problems %q, want %d containing %q", line, msgs, len(texts), texts)
					continue
				}
				for _, text := range texts {
					if !slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(m, text) }) {
						t.Errorf("line %d: problems %q, want one containing %q", line, msgs, text)
					}
				}
			}
			for line, msgs := range got {
				if _, ok := want[line]; !ok {
					t.Errorf("line %d: unexpected problems %q", line, msgs)
				}
			}
			if !slices.IsSortedFunc(pe.Problems, func(a, b Problem) int { return a.Line - b.Line }) {
				t.Errorf("problems are not in line order: %v", pe.Problems)
			}
		})
	}
}

func TestParseRefusals(t *testing.T) {
	head := "version: \"t\"\nquarantine_days: {red: 14, yellow: 7}\n"
	tests := []struct {
		name, yaml string
		line       int
		msg        string
	}{
		{"empty file", "", 0, "the file is empty"},
		{"comment only", "# nothing\n", 0, "the file is empty"},
		{"not a mapping", "- a\n- b\n", 1, "must be a mapping"},
		{"no version", "quarantine_days: {red: 14, yellow: 7}\nrules: []\n", 1, "no version"},
		{"no rules", head, 1, "the file has no rules"},
		{"no quarantine days", "version: x\nrules: [{id: a}]\n", 1, "no quarantine_days"},
		{"missing yellow days", "version: x\nquarantine_days: {red: 14}\n", 2, "no days for yellow"},
		{"second document", head + "---\nversion: 2\n", 3, "second YAML document"},
		{"alias", head + "x: &a 1\ny: *a\n", 3, "anchors (&a) are not allowed"},
		{"explicit tag", head + "rules: !!seq []\n", 3, "explicit tags"},
		{"control character", head + "rules:\x01\n", 3, "control character"},
		{"invalid utf-8", head + "rules: \xff\n", 3, "not valid UTF-8"},
		{"too large", strings.Repeat("#", maxFileBytes+1), 0, "at most"},
		{"tab indentation", head + "rules:\n\t- id: a\n", 4, "not valid YAML"},
		{"mapping on one line", "version: a: b\n", 1, "not valid YAML"},
		{"quoted number", head + "fever_threshold_c: \"37.5\"\nrules: []\n", 3, "must be a number"},
		{"implausible fever", head + "fever_threshold_c: 40.5e3\nrules: []\n", 3, "not a plausible fever threshold"},
		{"days not whole", head + "rules:\n  - id: a\n    colour: red\n    when: {contact: close, within_days: 14.5}\n", 6, "must be a whole number"},
		{"empty all", head + "rules:\n  - id: a\n    colour: red\n    when: {all: []}\n", 6, "non-empty list"},
		{"ambiguous window", head + "rules:\n  - id: a\n    colour: red\n    when: {contact: close, visited_risk: high, within_days: 3}\n", 6, "ambiguous"},
		{"too deep", head + "rules:\n  - id: a\n    colour: red\n    when: " + strings.Repeat("{not: ", 20) + "{fever: true}" + strings.Repeat("}", 20) + "\n", 6, "nested more than"},
		{"rule not a mapping", head + "rules:\n  - close-contact\n", 4, "each rule must be a mapping"},
		{"release from missing", head + "rules:\n  - id: a\n    colour: red\n    when: {fever: true}\n    release: {declared: true}\n", 7, "release needs from"},
		{"color spelling", head + "rules:\n  - id: a\n    color: red\n", 5, `did you mean "colour"`},
		{"unbalanced brace", head + "rules:\n  - id: a\n    explain: {zh: \"a}\"}\n", 5, "} without a {"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			pe, ok := errors.AsType[*ParseError](err)
			if !ok {
				t.Fatalf("Parse = %v, want a *ParseError", err)
			}
			if !slices.ContainsFunc(pe.Problems, func(p Problem) bool {
				return p.Line == tc.line && strings.Contains(p.Message, tc.msg)
			}) {
				t.Errorf("problems %v, want line %d: …%s…", pe.Problems, tc.line, tc.msg)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load = %v, want not-exist", err)
	}
}

func TestParseErrorText(t *testing.T) {
	e := &ParseError{File: "rules.yaml", Problems: []Problem{{Line: 3, Message: "a"}, {Line: 0, Message: "b"}}}
	if got, want := e.Error(), "rules: rules.yaml: 2 problems:\n  line 3: a\n  b"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	e.Problems = e.Problems[:1]
	if got, want := e.Error(), "rules: rules.yaml: line 3: a"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
