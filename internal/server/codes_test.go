package server_test

import (
	"fmt"
	"html"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/rbac"
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

// written counts the rows a staff input may write.
func written(t *testing.T, d *db.DB) map[string]int {
	t.Helper()
	m := map[string]int{}
	for _, table := range []string{"case_status", "contacts", "test_results", "quarantine_orders", "risk_areas", "codes", "rule_sets", "audit_log", "traces"} {
		m[table] = count(t, d, table)
	}
	var answered int
	if err := db.Get(t.Context(), d.R, &answered, "SELECT count(*) FROM appeals WHERE answered_at IS NOT NULL"); err != nil {
		t.Fatal(err)
	}
	m["answered appeals"] = answered
	return m
}

// TestStaffInputsForbidden walks every staff input, on the API and on the
// pages' forms, as every role that lacks its permission: each is a 403 —
// whether the input is sound or not, never a 422 or a 500 — and writes
// nothing.
func TestStaffInputsForbidden(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 60)
		_, me := ts.login(t, "resident-1", demoPassword)
		// An appeal to answer, so that answering reaches the permission check
		// with a real appeal.
		res, _ := ts.login(t, "resident-1", demoPassword)
		res.post("/api/v1/me/declarations", map[string]any{"temperature_c": 36.6, "location_code": "420106001"}).want(t, http.StatusCreated, "declaration")
		res.post("/api/v1/me/appeals", map[string]string{"message": "I was never at that market."}).want(t, http.StatusCreated, "appeal")
		var appeal int64
		if err := db.Get(t.Context(), d.R, &appeal, "SELECT id FROM appeals"); err != nil {
			t.Fatal(err)
		}

		today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
		later := time.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, 14).Format("2006-01-02")
		rid := strconv.FormatInt(me.Resident.ID, 10)
		why := map[string]any{"reason": "test", "legal_basis": "test"}
		with := func(kv ...any) map[string]any {
			m := map[string]any{"reason": "test", "legal_basis": "test"}
			for i := 0; i < len(kv); i += 2 {
				m[kv[i].(string)] = kv[i+1]
			}
			return m
		}
		v2 := strings.Replace(string(rules.DefaultYAML()), `version: "default-2020.1"`, `version: "v2"`, 1)
		type input struct {
			method, path string
			body         map[string]any
			perms        []rbac.Permission // any of them lets in
		}
		api := []input{
			{"POST", "/api/v1/residents/" + rid + "/case-status", with("status", "confirmed", "since", today), []rbac.Permission{rbac.CaseWrite}},
			{"POST", "/api/v1/residents/" + rid + "/contacts", with("kind", "close", "exposed_on", today, "evidence", "market"), []rbac.Permission{rbac.CaseWrite}},
			{"POST", "/api/v1/residents/" + rid + "/tests", with("kind", "pcr", "result", "negative", "sampled_on", today), []rbac.Permission{rbac.LabResultWrite}},
			{"POST", "/api/v1/residents/" + rid + "/quarantine", with("kind", "home", "start", today, "end", later), []rbac.Permission{rbac.CaseWrite, rbac.ResidentWrite}},
			{"POST", "/api/v1/residents/" + rid + "/override", with("colour", "green", "until", today), []rbac.Permission{rbac.CaseWrite}},
			{"DELETE", "/api/v1/residents/" + rid + "/override", why, []rbac.Permission{rbac.CaseWrite}},
			{"POST", "/api/v1/test-results", map[string]any{"id_number": me.Resident.IDNumber, "kind": "pcr", "result": "negative", "sampled_on": today}, []rbac.Permission{rbac.LabResultWrite}},
			{"POST", "/api/v1/appeals/" + strconv.FormatInt(appeal, 10) + "/answer", map[string]any{"answer": "You were seen there."}, []rbac.Permission{rbac.CaseWrite}},
			{"POST", "/api/v1/risk-areas", with("jurisdiction_code", "420106", "level", "high", "from", today), []rbac.Permission{rbac.AreaRiskWrite}},
			{"POST", "/api/v1/rules", map[string]any{"source": v2}, []rbac.Permission{rbac.AreaRiskWrite}},
		}
		inputs := "/staff/residents/" + rid + "/inputs"
		page := []input{
			{"POST", inputs, with("action", "case_status", "status", "confirmed", "since", today), []rbac.Permission{rbac.CaseWrite}},
			{"POST", inputs, with("action", "contact", "kind", "close", "exposed_on", today, "evidence", "market"), []rbac.Permission{rbac.CaseWrite}},
			{"POST", inputs, with("action", "test", "kind", "pcr", "result", "negative", "sampled_on", today), []rbac.Permission{rbac.LabResultWrite}},
			{"POST", inputs, with("action", "quarantine", "kind", "home", "start", today, "end", later), []rbac.Permission{rbac.CaseWrite, rbac.ResidentWrite}},
			{"POST", inputs, with("action", "override", "colour", "green", "until", today), []rbac.Permission{rbac.CaseWrite}},
			{"POST", inputs, with("action", "clear_override"), []rbac.Permission{rbac.CaseWrite}},
			{"POST", inputs, with("action", "retrace"), []rbac.Permission{rbac.CaseWrite}},
			{"POST", "/staff/appeals/" + strconv.FormatInt(appeal, 10), map[string]any{"answer": "You were seen there."}, []rbac.Permission{rbac.CaseWrite}},
			{"POST", "/staff/control/risk", with("jurisdiction_code", "420106", "level", "high", "from", today), []rbac.Permission{rbac.AreaRiskWrite}},
			{"POST", "/staff/control/rules", map[string]any{"source": v2, "apply": "1"}, []rbac.Permission{rbac.AreaRiskWrite}},
		}
		lacks := func(role rbac.Role, perms []rbac.Permission) bool {
			for _, p := range perms {
				if role.Can(p) {
					return false
				}
			}
			return true
		}
		accounts := map[rbac.Role]string{rbac.Resident: "resident-2", rbac.Checkpoint: "checkpoint-1", rbac.CommunityWorker: "community-1",
			rbac.Clinician: "clinician-1", rbac.LabTechnician: "lab-1", rbac.Epidemiologist: "epidemiologist-1", rbac.Commander: "commander-1",
			rbac.Auditor: "auditor-1", rbac.Admin: "admin-1"}
		before := written(t, d)
		tried := 0
		for _, role := range append([]rbac.Role{rbac.Resident}, rbac.StaffRoles...) {
			name := accounts[role]
			apiClient := ts.demoLogin(t, name)
			for _, in := range api {
				if !lacks(role, in.perms) {
					continue
				}
				for _, body := range []map[string]any{in.body, {}} {
					what := fmt.Sprintf("%s as %s: %s %s %v", "API", role, in.method, in.path, body)
					apiClient.send(in.method, in.path, body).problem(t, http.StatusForbidden, what)
					tried++
				}
			}
			pageClient := ts.formLogin(t, name)
			home := pageClient.get("/")
			if loc := home.Header.Get("Location"); loc != "" {
				home = pageClient.get(loc)
			}
			csrf := pageClient.csrfField(t, home.String())
			for _, in := range page {
				if !lacks(role, in.perms) {
					continue
				}
				for _, body := range []map[string]any{in.body, {"action": in.body["action"]}} {
					vals := url.Values{"csrf": {csrf}}
					for k, v := range body {
						if v != nil {
							vals.Set(k, fmt.Sprint(v))
						}
					}
					what := fmt.Sprintf("%s as %s: %s %s %v", "page", role, in.method, in.path, body)
					pageClient.postForm(in.path, vals).html(t, http.StatusForbidden, what)
					tried++
				}
			}
		}
		if after := written(t, d); !maps.Equal(before, after) {
			t.Errorf("forbidden inputs wrote rows: before %v, after %v", before, after)
		}
		if tried < 50 {
			t.Errorf("only %d forbidden inputs tried", tried)
		}
	})
}

// TestCodesBadInput: bad input is a 4xx, never a 500 — a pass before the
// first declaration is a 404 (no code yet) on the page and the API, and a
// contact naming a source case that does not exist is a 422 beside
// source_case, with nothing written.
func TestCodesBadInput(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 60)
		res, me := ts.login(t, "resident-1", demoPassword)
		for _, path := range []string{"/api/v1/me/pass", "/api/v1/me/pass?format=png", "/api/v1/me/pass?format=svg", "/api/v1/me/code"} {
			if p := res.get(path).problem(t, http.StatusNotFound, path+" before the first declaration"); !strings.HasSuffix(p.Type, "/no-code") {
				t.Errorf("%s: problem type %q, want no-code", path, p.Type)
			}
		}
		page := ts.formLogin(t, "resident-1")
		page.get("/me/pass.svg").html(t, http.StatusNotFound, "/me/pass.svg before the first declaration")
		page.page(t, "/me", http.StatusOK)
		var deps struct {
			Dependents []residentJSON `json:"dependents"`
		}
		res.get("/api/v1/me/dependents").want(t, http.StatusOK, "dependents").json(t, &deps)
		if len(deps.Dependents) == 0 {
			t.Error("resident-1 has no dependents; the demo changed")
		} else {
			dep := strconv.FormatInt(deps.Dependents[0].ID, 10)
			page.get("/me/pass.svg?resident="+dep).html(t, http.StatusNotFound, "a dependent's pass before their first declaration")
			res.get("/api/v1/me/pass?resident="+dep).problem(t, http.StatusNotFound, "a dependent's pass on the API")
		}

		epi := ts.demoLogin(t, "epidemiologist-1")
		today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
		path := "/api/v1/residents/" + strconv.FormatInt(me.Resident.ID, 10) + "/contacts"
		before := written(t, d)
		for _, src := range []int64{999999, -1, me.Resident.ID} {
			epi.post(path, map[string]any{"kind": "close", "exposed_on": today, "evidence": "market", "source_case": src,
				"reason": "traced", "legal_basis": "law"}).invalid(t, "source_case", fmt.Sprintf("source case %d", src))
		}
		if after := written(t, d); !maps.Equal(before, after) {
			t.Errorf("refused contacts wrote rows: before %v, after %v", before, after)
		}
		epi.post(path, map[string]any{"kind": "close", "exposed_on": today, "evidence": "market", "source_case": me.Resident.ID + 1,
			"reason": "traced", "legal_basis": "law"}).want(t, http.StatusOK, "a contact of a case that exists")
	})
}

// historyCells are the summary and reason of each history row of a page.
var historyCells = regexp.MustCompile(`<td>([^<]*)<br><span class="muted">([^<]*)</span></td></tr>`)

// TestHistoryPagesInChinese: on the holder's page and on the staff record in
// Chinese, the history tells what changed and why in Chinese — no English
// the platform recorded, no stored field names or colour codes.
func TestHistoryPagesInChinese(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 60)
		res, me := ts.login(t, "resident-1", demoPassword)
		res.post("/api/v1/me/declarations", map[string]any{"temperature_c": 36.6, "symptoms": []string{"cough"}, "location_code": "420106001"}).
			want(t, http.StatusCreated, "declaration")
		epi := ts.demoLogin(t, "epidemiologist-1")
		today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
		path := "/api/v1/residents/" + strconv.FormatInt(me.Resident.ID, 10)
		epi.post(path+"/contacts", map[string]any{"kind": "close", "exposed_on": today, "evidence": "解放路市场，10:05–10:40",
			"reason": "流调发现", "legal_basis": "传染病防治法第三十一条"}).want(t, http.StatusOK, "contact")
		epi.post(path+"/quarantine", map[string]any{"kind": "home", "start": today, "end": time.Now().AddDate(0, 0, 14).In(time.FixedZone("CST", 8*3600)).Format("2006-01-02"),
			"reason": "密接隔离", "legal_basis": "传染病防治法第三十一条"}).want(t, http.StatusOK, "quarantine")
		pages := map[string]string{
			"the holder's page": ts.formLogin(t, "resident-1").page(t, "/me", http.StatusOK),
			"the staff record":  ts.formLogin(t, "epidemiologist-1").page(t, "/staff/residents/"+strconv.FormatInt(me.Resident.ID, 10)+"?purpose=case_investigation", http.StatusOK),
		}
		for what, page := range pages {
			rows := historyCells.FindAllStringSubmatch(page, -1)
			if len(rows) < 4 {
				t.Fatalf("%s: %d history rows:\n%s", what, len(rows), page)
			}
			for _, row := range rows {
				for _, cell := range row[1:] {
					if w := regexp.MustCompile(`[A-Za-z]{2,}`).FindString(html.UnescapeString(cell)); w != "" {
						t.Errorf("%s: history shows %q: %q", what, w, cell)
					}
				}
			}
		}
	})
}
