package server_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
)

// TestPeople covers what people type and what staff find (issue 14):
// names, ID numbers, the staff search and communities named with their
// district.
func TestPeople(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 300)
		t.Run("names", func(t *testing.T) { testPeopleNames(t, ts) })
		t.Run("ID numbers", func(t *testing.T) { testPeopleIDNumbers(t, ts) })
		t.Run("search", func(t *testing.T) { testPeopleSearch(t, ts) })
		t.Run("communities", func(t *testing.T) { testPeopleCommunities(t, ts) })
	})
}

// invisibleNames are names with nothing a checkpoint could read: accepted,
// their holder could never get a pass.
var invisibleNames = map[string]string{
	"zero-width space":      "\u200b",
	"word joiner and BOM":   "\u2060\ufeff",
	"combining marks alone": "\u0301\u0308",
	"spaces":                "\u3000 \u00a0",
	"zero-width in a name":  "张\u200b三",
	"invalid UTF-8":         "张\xff",
}

func testPeopleNames(t *testing.T, ts *testServer) {
	d := ts.DB
	reg := func(name, seq string) map[string]string {
		return map[string]string{"name": name, "id_number": cnID("420106", "19910101", seq), "phone": "13900007777",
			"community_code": "420106001", "username": "name-" + seq, "password": "correct horse"}
	}
	before := countRows(t, d)
	res := ts.demoLogin(t, "resident-1")
	cw := ts.demoLogin(t, "community-1")
	for what, name := range invisibleNames {
		ts.client(t).post("/api/v1/register", reg(name, "111")).invalid(t, "name", "register: "+what)
		res.post("/api/v1/me/dependents", map[string]string{"name": name, "id_number": cnID("420106", "20200101", "113")}).
			invalid(t, "name", "dependent: "+what)
		cw.post("/api/v1/residents", map[string]string{"name": name, "id_number": cnID("420102", "19700101", "115"),
			"community_code": "420102001"}).invalid(t, "name", "staff registration: "+what)
	}
	if got := countRows(t, d); got != before {
		t.Fatalf("refused names wrote rows: %+v, were %+v", got, before)
	}

	// The form: the message beside the name, in the page's language.
	page := ts.client(t)
	body := page.get("/register").html(t, http.StatusOK, "register form")
	form := url.Values{"csrf": {page.csrfField(t, body)}, "name": {"\u200b\u2060"}, "id_number": {cnID("420106", "19910101", "117")},
		"phone": {"13900007778"}, "community_code": {"420106001"}, "username": {"name-117"}, "password": {"a long password"}}
	body = page.postForm("/register", form).html(t, http.StatusUnprocessableEntity, "register form with an invisible name")
	mustContain(t, "register form errors", body, `class="field-error" id="e-name"`, "不可见字符")
	dep := ts.formLogin(t, "resident-1")
	body = dep.page(t, "/me/dependents/new", http.StatusOK)
	form = url.Values{"csrf": {dep.csrfField(t, body)}, "name": {"\u0301"}, "id_number": {cnID("420106", "20200101", "119")}, "community_code": {"420106001"}}
	body = dep.postForm("/me/dependents", form).html(t, http.StatusUnprocessableEntity, "dependent form with a mark alone")
	mustContain(t, "dependent form errors", body, `class="field-error" id="e-name"`)
	if got := countRows(t, d); got != before {
		t.Fatalf("refused names wrote rows: %+v, were %+v", got, before)
	}

	// A name typed decomposed is stored composed (NFC), and its holder gets
	// a pass.
	c := ts.client(t)
	var me meJSON
	c.post("/api/v1/register", reg("Jose\u0301  Li", "121")).want(t, http.StatusCreated, "register a decomposed name").json(t, &me)
	if me.Resident == nil || me.Resident.Name != "Jos\u00e9 Li" {
		t.Fatalf("registered = %+v, want the name in NFC", me.Resident)
	}
	c.csrf = me.CSRFToken
	c.post("/api/v1/me/declarations", map[string]any{"temperature_c": 36.5, "location_code": "420106001"}).want(t, http.StatusCreated, "declare")
	var p struct {
		MaskedName string `json:"masked_name"`
	}
	c.get("/api/v1/me/pass").want(t, http.StatusOK, "pass").json(t, &p)
	if p.MaskedName != "J*** L*" {
		t.Fatalf("masked name = %q, want J*** L*", p.MaskedName)
	}
}

// The ID number of issue 14, written the ways people and labs write it.
const exampleID = "42010619780502002X"

var exampleIDForms = map[string]string{
	"lower-case x":      "42010619780502002x",
	"spaces":            " 420106 19780502 002x ",
	"full-width digits": "４２０１０６１９７８０５０２００２Ｘ",
	"full-width spaced": "４２０１０６\u3000１９７８０５０２\u3000００２ｘ",
}

func testPeopleIDNumbers(t *testing.T, ts *testServer) {
	// The demo region holds that number: registering it in any form is the
	// same person again.
	for what, id := range exampleIDForms {
		body := map[string]string{"name": "范例", "id_number": id, "phone": "13900008888", "community_code": "420106001",
			"username": "example-dup", "password": "correct horse"}
		if p := ts.client(t).post("/api/v1/register", body).invalid(t, "id_number", "register the demo's number with "+what); p.Errors[0].Code != "resident.id_taken" {
			t.Fatalf("register the demo's number with %s: %+v, want resident.id_taken", what, p.Errors)
		}
	}
	// A new number ending in X, registered in one form, is the same person
	// in every other.
	var fresh string
	for seq := 100; seq < 1000 && fresh == ""; seq++ {
		if id := cnID("420106", "19800101", strconv.Itoa(seq)); strings.HasSuffix(id, "X") {
			fresh = id
		}
	}
	freshForms := []string{strings.ToLower(fresh), " " + fresh[:6] + " " + fresh[6:14] + " " + strings.ToLower(fresh[14:]) + " ", fullWidth(fresh)}
	for i, id := range freshForms {
		body := map[string]string{"name": "范例", "id_number": id, "phone": "13900008888", "community_code": "420106001",
			"username": "example-" + strconv.Itoa(i), "password": "correct horse"}
		r := ts.client(t).post("/api/v1/register", body)
		if i == 0 {
			var me meJSON
			r.want(t, http.StatusCreated, "register "+id).json(t, &me)
			if me.Resident == nil || me.Resident.IDNumber != fresh || me.Resident.BirthDate != "1980-01-01" {
				t.Fatalf("registered %q: %+v, want %s", id, me.Resident, fresh)
			}
			continue
		}
		if p := r.invalid(t, "id_number", "register again as "+id); p.Errors[0].Code != "resident.id_taken" {
			t.Fatalf("register again as %q: %+v, want resident.id_taken", id, p.Errors)
		}
	}

	// The lab API finds the person in each form; an invalid number is the
	// registration's own error, not "not found".
	admin := ts.demoLogin(t, "admin-1")
	var tok struct {
		Secret string `json:"secret"`
	}
	admin.post("/api/v1/tokens", map[string]any{"name": "ID lab", "role": "lab_technician", "jurisdiction_code": "4201"}).
		want(t, http.StatusCreated, "token").json(t, &tok)
	lab := ts.client(t)
	lab.bearer = tok.Secret
	today := time.Now().UTC().Format("2006-01-02")
	for what, id := range exampleIDForms {
		lab.post("/api/v1/test-results", map[string]any{"id_number": id, "kind": "pcr", "result": "negative", "sampled_on": today}).
			want(t, http.StatusCreated, "lab result with "+what)
	}
	for _, tc := range []struct{ what, id, code string }{
		{"wrong check digit", "420106197805020021", "id.checksum"},
		{"wrong check digit, full-width", "４２０１０６１９７８０５０２００２１", "id.checksum"},
		{"month 13, spaced", "420106 19781302 002x", "id.birthdate"},
		{"short", "4201061978", "id.length"},
		{"valid but nobody", "11010519491231002x", "not_found"},
	} {
		p := lab.post("/api/v1/test-results", map[string]any{"id_number": tc.id, "kind": "pcr", "result": "negative", "sampled_on": today}).
			invalid(t, "id_number", "lab result, "+tc.what)
		if p.Errors[0].Code != tc.code {
			t.Errorf("lab result, %s: errors %+v, want %s", tc.what, p.Errors, tc.code)
		}
		reg := map[string]string{"name": "范例", "id_number": tc.id, "phone": "13900008889", "community_code": "420106001",
			"username": "example-bad", "password": "correct horse"}
		if tc.code != "not_found" {
			if p := ts.client(t).post("/api/v1/register", reg).invalid(t, "id_number", "register, "+tc.what); p.Errors[0].Code != tc.code {
				t.Errorf("register, %s: errors %+v, want %s like the lab API", tc.what, p.Errors, tc.code)
			}
		}
	}

	// The staff look-up, API and page, finds the person in each form.
	epi := ts.demoLogin(t, "epidemiologist-1")
	page := ts.formLogin(t, "epidemiologist-1")
	for what, id := range exampleIDForms {
		var found struct {
			Residents []residentJSON `json:"residents"`
		}
		epi.get("/api/v1/residents/lookup?purpose=case_investigation&id_number="+url.QueryEscape(id)).
			want(t, http.StatusOK, "lookup with "+what).json(t, &found)
		if len(found.Residents) != 1 || found.Residents[0].IDNumber != exampleID {
			t.Fatalf("lookup with %s = %+v", what, found.Residents)
		}
		body := page.page(t, "/staff/residents/find?purpose=case_investigation&id_number="+url.QueryEscape(id), http.StatusOK)
		mustContain(t, "find page with "+what, body, ">"+found.Residents[0].Name+"</a>")
	}
	epi.get("/api/v1/residents/lookup?purpose=case_investigation&id_number=420106197805020021").
		invalid(t, "id_number", "lookup with a wrong check digit")
}

// fullWidth writes the ASCII digits and letters of s in their full-width
// forms, as a Chinese input method may.
func fullWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '!' && r <= '~' {
			return r - '!' + '\uff01'
		}
		return r
	}, s)
}

type foundJSON struct {
	Residents []struct {
		ID            int64  `json:"id"`
		Name          string `json:"name"`
		IDNumber      string `json:"id_number"`
		CommunityCode string `json:"community_code"`
		Community     string `json:"community"`
		District      string `json:"district"`
	} `json:"residents"`
	Total  int64 `json:"total"`
	Offset int   `json:"offset"`
	Limit  int   `json:"limit"`
}

func (f foundJSON) ids() map[int64]bool {
	out := map[int64]bool{}
	for _, r := range f.Residents {
		out[r.ID] = true
	}
	return out
}

func testPeopleSearch(t *testing.T, ts *testServer) {
	_, r1 := ts.login(t, "resident-1", demoPassword)
	me := r1.Resident
	epi := ts.demoLogin(t, "epidemiologist-2") // district 420106, where resident-1 lives
	cw := ts.demoLogin(t, "community-1")       // community 420102001, another district
	find := func(c *client, query string) foundJSON {
		t.Helper()
		var f foundJSON
		c.get("/api/v1/residents/lookup?purpose=case_investigation&"+query).want(t, http.StatusOK, "search "+query).json(t, &f)
		return f
	}

	// Each key finds resident-1, in the API and in the one box of the page;
	// staff of another district find nobody by it.
	for _, query := range []string{
		"q=" + url.QueryEscape(me.Name), "name=" + url.QueryEscape(me.Name),
		"q=" + strconv.FormatInt(me.ID, 10), "resident=" + strconv.FormatInt(me.ID, 10),
		"q=" + strings.ToLower(me.IDNumber), "id_number=" + url.QueryEscape(fullWidth(me.IDNumber)),
		"q=" + url.QueryEscape(me.Phone[:3]+" "+me.Phone[3:7]+"-"+me.Phone[7:]), "phone=" + me.Phone,
	} {
		f := find(epi, query)
		if !f.ids()[me.ID] || f.Total < 1 || f.Total != int64(len(f.Residents)) && len(f.Residents) != f.Limit {
			t.Fatalf("epidemiologist-2 searches %s: %+v, want resident-1 (%d) among them", query, f, me.ID)
		}
		for _, r := range f.Residents {
			if !strings.HasPrefix(r.CommunityCode, "420106") {
				t.Fatalf("epidemiologist-2 searches %s and sees %+v outside its district", query, r)
			}
			if r.District == "" || r.Community == "" {
				t.Fatalf("search %s: %+v has no community or district", query, r)
			}
		}
		if f := find(cw, query); len(f.Residents) != 0 || f.Total != 0 {
			t.Fatalf("community-1 searches %s and sees %+v outside its scope", query, f)
		}
	}

	// A name part shared across districts: every match in scope is counted,
	// none outside is shown, and the pages go through all of them.
	city := listResidents(t, ts.demoLogin(t, "epidemiologist-1"))
	inDistrict, outside := map[string]int{}, map[string]int{}
	for _, r := range city {
		first := string([]rune(r.Name)[:1])
		if strings.HasPrefix(r.CommunityCode, "420106") {
			inDistrict[first]++
		} else {
			outside[first]++
		}
	}
	part := ""
	for p, n := range inDistrict {
		if n >= 3 && outside[p] > 0 && (part == "" || n > inDistrict[part]) {
			part = p
		}
	}
	if part == "" {
		t.Fatal("the demo has no name part shared across districts")
	}
	want := 0
	for _, r := range city {
		if strings.HasPrefix(r.CommunityCode, "420106") && strings.Contains(r.Name, part) {
			want++
		}
	}
	seen := map[int64]bool{}
	for offset := 0; offset < want; offset += 2 {
		f := find(epi, "q="+url.QueryEscape(part)+"&limit=2&offset="+strconv.Itoa(offset))
		if f.Total != int64(want) || len(f.Residents) != min(2, want-offset) || f.Offset != offset || f.Limit != 2 {
			t.Fatalf("search %q at %d: total %d, %d rows, want total %d", part, offset, f.Total, len(f.Residents), want)
		}
		for _, r := range f.Residents {
			if !strings.Contains(r.Name, part) || !strings.HasPrefix(r.CommunityCode, "420106") || seen[r.ID] {
				t.Fatalf("search %q at %d shows %+v", part, offset, r)
			}
			seen[r.ID] = true
		}
	}

	// The page: the rows with their community and district, the total and
	// the link to page 2, which shows the rest.
	page := ts.formLogin(t, "epidemiologist-2")
	body := page.page(t, "/staff/residents/find?purpose=case_investigation&limit=2&q="+url.QueryEscape(part), http.StatusOK)
	mustContain(t, "search page", body, "第 1–2 条，共 "+strconv.Itoa(want)+" 条", `rel="next"`, "武昌区 · ")
	if n := strings.Count(body, `data-testid="community"`); n != 2 {
		t.Fatalf("search page shows %d rows, want 2", n)
	}
	body = page.page(t, "/staff/residents/find?purpose=case_investigation&limit=2&offset=2&q="+url.QueryEscape(part), http.StatusOK)
	mustContain(t, "search page 2", body, "第 3–", "共 "+strconv.Itoa(want)+" 条", `rel="prev"`)
	body = page.get("/staff/residents/find?purpose=case_investigation&q=420106197805020021").
		html(t, http.StatusUnprocessableEntity, "search page with a wrong check digit")
	mustContain(t, "search page with a wrong check digit", body, `id="e-q"`, "校验位不符")
	body = page.page(t, "/staff", http.StatusOK)
	mustContain(t, "staff home", body, `name="q"`, `action="/staff/residents/find"`)
	body = page.page(t, "/staff/residents/find", http.StatusOK)
	mustContain(t, "empty search page", body, `name="q"`)
	mustNotContain(t, "empty search page", body, `class="field-error"`)
	body = page.get("/staff/residents/find?purpose=case_investigation&q=+").html(t, http.StatusUnprocessableEntity, "search for nothing")
	mustContain(t, "search for nothing", body, `id="e-q"`)

	// Every row shown was a logged read with its purpose.
	staff := staffByUsername(t, ts.demoLogin(t, "admin-1"))
	es := accessLog(t, ts.demoLogin(t, "auditor-1"), "?actor="+strconv.FormatInt(staff["epidemiologist-2"].ID, 10))
	lookups := 0
	for _, e := range es {
		if e.Action != "lookup" || e.Purpose != "case_investigation" {
			t.Fatalf("access log entry %+v", e)
		}
		lookups++
	}
	if lookups < len(seen) {
		t.Fatalf("access log of epidemiologist-2 holds %d look-ups, want at least %d", lookups, len(seen))
	}
	if es := accessLog(t, ts.demoLogin(t, "auditor-1"), "?actor="+strconv.FormatInt(staff["community-1"].ID, 10)); len(es) != 0 {
		t.Fatalf("community-1 found nobody, yet its log holds %+v", es)
	}
}

var optionRE = regexp.MustCompile(`<option value="([0-9]+)"[^>]*>([^<]*)</option>`)

// options returns the labels of the options of a page's selects by code.
func options(body string) map[string]string {
	out := map[string]string{}
	for _, m := range optionRE.FindAllStringSubmatch(body, -1) {
		out[m[1]] = html.UnescapeString(m[2])
	}
	return out
}

func testPeopleCommunities(t *testing.T, ts *testServer) {
	// The demo's communities share names across districts: every select
	// where staff or residents pick one tells them apart by the district.
	var tree struct {
		Jurisdictions []struct {
			Code   string `json:"code"`
			Level  string `json:"level"`
			NameZH string `json:"name_zh"`
		} `json:"jurisdictions"`
	}
	districtOf := map[string]string{}
	ts.client(t).get("/api/v1/jurisdictions?parent=4201").want(t, http.StatusOK, "districts").json(t, &tree)
	for _, j := range tree.Jurisdictions {
		districtOf[j.Code] = j.NameZH
	}
	if districtOf["420102"] == "" || districtOf["420106"] == "" {
		t.Fatalf("districts = %v", districtOf)
	}
	shared := false
	named := map[string]bool{}
	for _, d := range []string{"420102", "420106"} {
		ts.client(t).get("/api/v1/jurisdictions?parent="+d).want(t, http.StatusOK, "communities").json(t, &tree)
		for _, j := range tree.Jurisdictions {
			if j.Level == "community" {
				shared = shared || named[j.NameZH]
				named[j.NameZH] = true
			}
		}
	}
	if !shared {
		t.Fatal("no community name is shared by 420102 and 420106: the check below would prove nothing")
	}
	admin := ts.formLogin(t, "admin-1")
	for _, page := range []struct {
		c    *client
		path string
	}{{ts.client(t), "/register"}, {admin, "/admin/staff"}, {admin, "/admin/tokens"}, {ts.formLogin(t, "resident-1"), "/me/dependents/new"}} {
		opts := options(page.c.page(t, page.path, http.StatusOK))
		seen := map[string]string{}
		for code, label := range opts {
			if len(code) != 9 {
				continue
			}
			label = strings.TrimLeft(label, "\u00a0")
			if !strings.HasPrefix(label, districtOf[code[:6]]+" · ") {
				t.Errorf("%s: community %s is labelled %q, without its district %s", page.path, code, label, districtOf[code[:6]])
			}
			if other, dup := seen[label]; dup {
				t.Errorf("%s: communities %s and %s are both %q", page.path, other, code, label)
			}
			seen[label] = code
		}
		if len(seen) == 0 {
			t.Errorf("%s: no community to pick", page.path)
		}
	}

	// Where staff read one: their accounts, the staff home, the roster and
	// a record name it with its district, not by its code.
	body := admin.page(t, "/admin/staff?limit=500", http.StatusOK)
	mustNotContain(t, "staff admin", body, `data-testid="staff-jurisdiction">420102001<`, `data-testid="staff-jurisdiction">4201<`)
	mustContain(t, "staff admin", body, `data-testid="staff-jurisdiction">`+districtOf["420102"]+" · ")
	cw := ts.formLogin(t, "community-1")
	body = cw.page(t, "/staff", http.StatusOK)
	mustContain(t, "community-1's home", body, districtOf["420102"]+" · ", "(420102001)")
	body = cw.page(t, "/staff/roster?community=420102001", http.StatusOK)
	mustContain(t, "roster", body, "<h1>"+districtOf["420102"]+" · ")
	epi := ts.formLogin(t, "epidemiologist-2")

	// The roster: its total, and pages through everyone of the community.
	inCommunity := map[int64]bool{}
	for _, r := range listResidents(t, ts.demoLogin(t, "epidemiologist-1")) {
		if r.CommunityCode == "420106001" {
			inCommunity[r.ID] = true
		}
	}
	if len(inCommunity) < 3 {
		t.Fatalf("community 420106001 has %d residents", len(inCommunity))
	}
	rowRE := regexp.MustCompile(`href="/staff/residents/([0-9]+)"`)
	listed := map[int64]bool{}
	for offset := 0; offset < len(inCommunity); offset += 2 {
		body = epi.page(t, "/staff/roster?community=420106001&limit=2&offset="+strconv.Itoa(offset), http.StatusOK)
		mustContain(t, "roster page", body, "共 "+strconv.Itoa(len(inCommunity))+" 条", "<h1>"+districtOf["420106"]+" · ")
		for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
			id, _ := strconv.ParseInt(m[1], 10, 64)
			if !inCommunity[id] || listed[id] {
				t.Fatalf("roster at %d lists resident %d", offset, id)
			}
			listed[id] = true
		}
	}
	if len(listed) != len(inCommunity) {
		t.Fatalf("the roster's pages list %d residents, the community has %d", len(listed), len(inCommunity))
	}

	body = epi.page(t, "/staff/residents/1?purpose=case_investigation", http.StatusOK)
	mustContain(t, "record", body, `data-testid="record-community">`+districtOf["420106"]+" · ")

	// The jurisdiction tree does not say "district" twice.
	lang := ts.formLogin(t, "admin-1")
	body = lang.page(t, "/admin/jurisdictions", http.StatusOK)
	lang.header.Set("Referer", ts.URL+"/admin/jurisdictions")
	lang.postForm("/lang", url.Values{"csrf": {lang.csrfField(t, body)}, "lang": {"en"}}).redirect(t, "/admin/jurisdictions", "switch to English")
	body = lang.page(t, "/admin/jurisdictions", http.StatusOK)
	text := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(body, " ")
	if m := regexp.MustCompile(`(?i)district\s+district`).FindString(text); m != "" {
		t.Fatalf("jurisdiction tree says %q", m)
	}
}
