package server_test

import (
	"net/http"
	"net/url"
	"testing"

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
