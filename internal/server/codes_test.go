package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/rules"
)

// ruleFiles counts the stored rule files and their audit entries.
func ruleFiles(t *testing.T, d *db.DB) (files, entries int) {
	t.Helper()
	files = count(t, d, "rule_sets")
	if err := db.Get(t.Context(), d.R, &entries, "SELECT count(*) FROM audit_log WHERE kind = 'rule_set'"); err != nil {
		t.Fatal(err)
	}
	return files, entries
}

// TestRuleFileRefused: on the API and the control page, a rule file whose
// version is taken is a 409 and a broken one a 422 with the reason beside the
// source; neither writes anything. The rules in force applied again are a
// 200 that writes nothing.
func TestRuleFileRefused(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 60)
		cmd := ts.demoLogin(t, "commander-1")
		def := string(rules.DefaultYAML())
		clash := strings.Replace(def, "declaration_overdue_hours: 36", "declaration_overdue_hours: 24", 1)

		p := cmd.post("/api/v1/rules", map[string]string{"source": clash}).problem(t, http.StatusConflict, "the version in force with other rules")
		if !strings.Contains(p.Type, "rules-version-in-use") {
			t.Errorf("problem type %q", p.Type)
		}
		cmd.post("/api/v1/rules", map[string]string{"source": "version: x\nrules: [\n"}).invalid(t, "source", "a broken file")
		var same struct {
			Version   string `json:"version"`
			Unchanged bool   `json:"unchanged"`
		}
		cmd.post("/api/v1/rules", map[string]string{"source": def}).want(t, http.StatusOK, "the rules in force again").json(t, &same)
		if !same.Unchanged || same.Version != "default-2020.1" {
			t.Errorf("the rules in force again: %+v", same)
		}
		if f, e := ruleFiles(t, d); f != 0 || e != 0 {
			t.Fatalf("after refused files: %d files, %d entries stored", f, e)
		}

		v2 := strings.Replace(def, `version: "default-2020.1"`, `version: "v2"`, 1)
		cmd.post("/api/v1/rules", map[string]string{"source": v2}).want(t, http.StatusAccepted, "v2")
		cmd.post("/api/v1/rules", map[string]string{"source": v2}).want(t, http.StatusOK, "v2 again")
		if f, e := ruleFiles(t, d); f != 1 || e != 1 {
			t.Fatalf("after v2 twice: %d files, %d entries stored", f, e)
		}

		// The control page's form, in the commander's language.
		page := ts.formLogin(t, "commander-1")
		form := func(src string) url.Values {
			body := page.page(t, "/staff/control", http.StatusOK)
			return url.Values{"csrf": {page.csrfField(t, body)}, "source": {src}, "apply": {"1"}, "reason": {"test"}, "legal_basis": {"test"}}
		}
		v2clash := strings.Replace(v2, "declaration_overdue_hours: 36", "declaration_overdue_hours: 24", 1)
		body := page.postForm("/staff/control/rules", form(v2clash)).html(t, http.StatusConflict, "the page: version in force with other rules")
		mustContain(t, "the page keeps the file", body, "declaration_overdue_hours: 24")
		page.postForm("/staff/control/rules", form(clash)).html(t, http.StatusConflict, "the page: the default's version")
		page.postForm("/staff/control/rules", form("version: x\nrules: [\n")).html(t, http.StatusUnprocessableEntity, "the page: a broken file")
		page.postForm("/staff/control/rules", form(v2)).redirect(t, "/staff/control", "the page: the rules in force again")
		if f, e := ruleFiles(t, d); f != 1 || e != 1 {
			t.Fatalf("after the page's refused files: %d files, %d entries stored", f, e)
		}
	})
}
