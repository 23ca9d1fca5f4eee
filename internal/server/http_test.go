package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/nationalid"
)

// ---------------------------------------------------------------------------
// A tiny HTTP client. Session cookies are Secure, so net/http/cookiejar would
// not send them to http://127.0.0.1; this client keeps cookies itself.

type client struct {
	t       *testing.T
	base    string
	hc      *http.Client
	cookies map[string]string
	csrf    string // the session's CSRF token, sent as X-CSRF-Token when set
	bearer  string // an API token, sent as Authorization: Bearer when set
	header  http.Header
}

var httpClient = &http.Client{
	Timeout:       15 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func (ts *testServer) client(t *testing.T) *client {
	return &client{t: t, base: ts.URL, hc: httpClient, cookies: map[string]string{}, header: http.Header{}}
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *response) String() string { return string(r.Body) }

// do sends a request and reads the whole response. A 5xx fails the test:
// nothing these tests send may make the server fail.
func (c *client) do(method, path, contentType string, body io.Reader) *response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, vs := range c.header {
		req.Header[k] = vs
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.csrf != "" && req.Header.Get("X-CSRF-Token") == "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	if len(c.cookies) > 0 {
		names := make([]string, 0, len(c.cookies))
		for n := range c.cookies {
			names = append(names, n)
		}
		sort.Strings(names)
		parts := make([]string, len(names))
		for i, n := range names {
			parts[i] = n + "=" + c.cookies[n]
		}
		req.Header.Set("Cookie", strings.Join(parts, "; "))
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	for _, ck := range res.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	if res.StatusCode >= 500 {
		c.t.Errorf("%s %s = %d (server error): %s", method, path, res.StatusCode, b)
	}
	return &response{Status: res.StatusCode, Header: res.Header, Body: b}
}

func (c *client) get(path string) *response {
	c.t.Helper()
	return c.do(http.MethodGet, path, "", nil)
}

// send sends v as JSON; a string or []byte is sent as it is.
func (c *client) send(method, path string, v any) *response {
	c.t.Helper()
	var body []byte
	switch v := v.(type) {
	case string:
		body = []byte(v)
	case []byte:
		body = v
	default:
		var err error
		if body, err = json.Marshal(v); err != nil {
			c.t.Fatal(err)
		}
	}
	return c.do(method, path, "application/json", bytes.NewReader(body))
}

func (c *client) post(path string, v any) *response {
	c.t.Helper()
	return c.send(http.MethodPost, path, v)
}

func (c *client) postForm(path string, vals url.Values) *response {
	c.t.Helper()
	return c.do(http.MethodPost, path, "application/x-www-form-urlencoded", strings.NewReader(vals.Encode()))
}

// want fails the test unless the response has the status.
func (r *response) want(t *testing.T, status int, what string) *response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d; body: %.600s", what, r.Status, status, r.Body)
	}
	return r
}

// json decodes the body, which must be JSON.
func (r *response) json(t *testing.T, v any) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("Content-Type %q, want JSON; body: %.300s", ct, r.Body)
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %T: %v; body: %.300s", v, err, r.Body)
	}
}

type fieldError struct {
	Field string `json:"field"`
	Code  string `json:"code"`
}

type problemBody struct {
	Type     string            `json:"type"`
	Title    string            `json:"title"`
	Status   int               `json:"status"`
	Detail   string            `json:"detail"`
	Errors   []fieldError      `json:"errors"`
	Messages map[string]string `json:"messages"`
}

// problem checks that the response is RFC 9457 problem details of status.
func (r *response) problem(t *testing.T, status int, what string) problemBody {
	t.Helper()
	r.want(t, status, what)
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%s: Content-Type %q, want application/problem+json", what, ct)
	}
	var p problemBody
	r.json(t, &p)
	if p.Status != status || p.Detail == "" || p.Title != http.StatusText(status) {
		t.Fatalf("%s: problem = %+v, want status %d with a title and a detail", what, p, status)
	}
	return p
}

// invalid checks a 422 naming field among its errors, worded in messages.
func (r *response) invalid(t *testing.T, field, what string) problemBody {
	t.Helper()
	p := r.problem(t, http.StatusUnprocessableEntity, what)
	found := false
	for _, e := range p.Errors {
		if e.Field == field && e.Code != "" {
			found = true
		}
	}
	if !found {
		t.Fatalf("%s: errors %+v do not name field %q", what, p.Errors, field)
	}
	if msg := p.Messages[field]; msg == "" || strings.HasPrefix(msg, "err.") {
		t.Fatalf("%s: messages %v: no wording for %q", what, p.Messages, field)
	}
	return p
}

// ---------------------------------------------------------------------------
// Sign-in helpers and the shapes the API answers with.

type residentJSON struct {
	ID            int64  `json:"id"`
	Name          string `json:"name"`
	IDNumber      string `json:"id_number"`
	Phone         string `json:"phone"`
	BirthDate     string `json:"birth_date"`
	Sex           string `json:"sex"`
	CommunityCode string `json:"community_code"`
	Community     string `json:"community"`
	GuardianID    int64  `json:"guardian_id"`
}

type meJSON struct {
	Username     string        `json:"username"`
	Role         string        `json:"role"`
	DisplayName  string        `json:"display_name"`
	Lang         string        `json:"lang"`
	Jurisdiction string        `json:"jurisdiction"`
	CSRFToken    string        `json:"csrf_token"`
	Resident     *residentJSON `json:"resident"`
}

const demoPassword = "demo"

// login signs in through the API and returns a client holding the session.
func (ts *testServer) login(t *testing.T, username, password string) (*client, meJSON) {
	t.Helper()
	c := ts.client(t)
	r := c.post("/api/v1/login", map[string]string{"username": username, "password": password})
	r.want(t, http.StatusOK, "login "+username)
	var me meJSON
	r.json(t, &me)
	if me.Username != username || me.CSRFToken == "" {
		t.Fatalf("login %s: answer %+v", username, me)
	}
	if c.cookies["outbreak_session"] == "" {
		t.Fatalf("login %s: no session cookie", username)
	}
	c.csrf = me.CSRFToken
	return c, me
}

func (ts *testServer) demoLogin(t *testing.T, username string) *client {
	t.Helper()
	c, _ := ts.login(t, username, demoPassword)
	return c
}

// listResidents lists every resident c may see, following the pages.
func listResidents(t *testing.T, c *client) []residentJSON {
	t.Helper()
	var all []residentJSON
	path := "/api/v1/residents"
	for range 100 {
		var page struct {
			Residents []residentJSON `json:"residents"`
			NextAfter int64          `json:"next_after"`
		}
		c.get(path).want(t, http.StatusOK, "list residents").json(t, &page)
		all = append(all, page.Residents...)
		if page.NextAfter == 0 {
			return all
		}
		path = fmt.Sprintf("/api/v1/residents?after=%d", page.NextAfter)
	}
	t.Fatal("list residents: too many pages")
	return nil
}

// cnID builds a valid resident ID number from its region, birth date and
// sequence.
func cnID(region, birth, seq string) string {
	first17 := region + birth + seq
	return first17 + string(nationalid.CNCheckChar(first17))
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func count(t *testing.T, d *db.DB, table string) int {
	t.Helper()
	var n int
	if err := db.Get(t.Context(), d.R, &n, "SELECT count(*) FROM "+table); err != nil {
		t.Fatal(err)
	}
	return n
}

// rows counts residents and accounts, to prove a refused request wrote nothing.
type rows struct{ residents, accounts int }

func countRows(t *testing.T, d *db.DB) rows {
	t.Helper()
	return rows{count(t, d, "residents"), count(t, d, "accounts")}
}

// cookie returns the Set-Cookie of name in r, or nil.
func (r *response) cookie(name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

var csrfFieldRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfField returns the hidden csrf value of the first form in an HTML page.
func (r *response) csrfField(t *testing.T) string {
	t.Helper()
	m := csrfFieldRE.FindSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no csrf field in page: %.400s", r.Body)
	}
	return string(m[1])
}

// html checks the response is an HTML page of status and returns its text.
func (r *response) html(t *testing.T, status int, what string) string {
	t.Helper()
	r.want(t, status, what)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("%s: Content-Type %q, want text/html", what, ct)
	}
	return string(r.Body)
}

// redirect checks a 303 to location.
func (r *response) redirect(t *testing.T, location, what string) {
	t.Helper()
	r.want(t, http.StatusSeeOther, what)
	if got := r.Header.Get("Location"); got != location {
		t.Fatalf("%s: Location %q, want %q", what, got, location)
	}
}

func mustContain(t *testing.T, what, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body, s) {
			t.Fatalf("%s: %q not found in: %.1500s", what, s, body)
		}
	}
}

func mustNotContain(t *testing.T, what, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(body, s) {
			t.Fatalf("%s: %q must not appear in: %.1500s", what, s, body)
		}
	}
}

type staffJSON struct {
	ID           int64  `json:"id"`
	Username     string `json:"username"`
	DisplayName  string `json:"display_name"`
	Role         string `json:"role"`
	Jurisdiction string `json:"jurisdiction"`
	Disabled     bool   `json:"disabled"`
}

// staffByUsername lists the staff an admin sees, by username.
func staffByUsername(t *testing.T, admin *client) map[string]staffJSON {
	t.Helper()
	out := map[string]staffJSON{}
	var total int64 = -1
	for offset := 0; offset < 10000; offset += 100 {
		var page struct {
			Staff []staffJSON `json:"staff"`
			Total int64       `json:"total"`
		}
		admin.get(fmt.Sprintf("/api/v1/staff?limit=100&offset=%d", offset)).want(t, http.StatusOK, "list staff").json(t, &page)
		if total >= 0 && page.Total != total {
			t.Fatalf("the staff total changed from %d to %d between pages", total, page.Total)
		}
		total = page.Total
		for _, s := range page.Staff {
			out[s.Username] = s
		}
		if len(page.Staff) < 100 {
			if int64(len(out)) != total {
				t.Fatalf("paging reached %d staff of a total of %d", len(out), total)
			}
			return out
		}
	}
	t.Fatal("list staff: too many pages")
	return nil
}

// communityName returns the Chinese name of a community from the public hierarchy.
func communityName(t *testing.T, ts *testServer, code string) string {
	t.Helper()
	var out struct {
		Jurisdictions []struct {
			Code   string `json:"code"`
			Level  string `json:"level"`
			NameZH string `json:"name_zh"`
		} `json:"jurisdictions"`
	}
	ts.client(t).get("/api/v1/jurisdictions?parent="+code[:6]).want(t, http.StatusOK, "jurisdictions").json(t, &out)
	for _, j := range out.Jurisdictions {
		if j.Code == code {
			return j.NameZH
		}
	}
	t.Fatalf("community %s not among %+v", code, out.Jurisdictions)
	return ""
}

// ---------------------------------------------------------------------------
// 1. Operations.

func TestHealthReadyMetrics(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 300)
		c := ts.client(t)

		var health map[string]string
		for range 3 {
			c.get("/healthz").want(t, http.StatusOK, "healthz").json(t, &health)
		}
		if health["status"] != "ok" {
			t.Fatalf("healthz = %v", health)
		}
		var ready map[string]string
		c.get("/readyz").want(t, http.StatusOK, "readyz").json(t, &ready)
		if ready["status"] != "ready" || ready["store"] != d.Dialect.String() {
			t.Fatalf("readyz = %v, want ready on %s", ready, d.Dialect)
		}
		if id := c.get("/healthz").Header.Get("X-Request-ID"); len(id) != 16 {
			t.Fatalf("X-Request-ID = %q, want a generated id", id)
		}
		c.header.Set("X-Request-ID", "trace-me-123")
		if id := c.get("/healthz").Header.Get("X-Request-ID"); id != "trace-me-123" {
			t.Fatalf("X-Request-ID = %q, want the caller's", id)
		}
		c.header.Del("X-Request-ID")

		// A few more requests to see in the counters: an unknown API route,
		// an unknown page, a refused sign-in.
		c.get("/api/v1/no-such-thing").problem(t, http.StatusNotFound, "unknown API route")
		c.get("/no/such/page").want(t, http.StatusNotFound, "unknown page")
		c.post("/api/v1/login", map[string]string{"username": "nobody", "password": "nothing!"}).problem(t, http.StatusUnauthorized, "bad login")

		m := c.get("/metrics").want(t, http.StatusOK, "metrics")
		if ct := m.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Fatalf("metrics Content-Type = %q", ct)
		}
		text := m.String()
		for _, want := range []string{
			`outbreak_http_requests_total{blame="none",code="200",method="GET",route="GET /healthz"} 5`,
			`outbreak_http_requests_total{blame="none",code="200",method="GET",route="GET /readyz"} 1`,
			`outbreak_http_requests_total{blame="client",code="404",method="GET",route="/api/"} 1`,
			`outbreak_http_requests_total{blame="client",code="404",method="GET",route="/"} 1`,
			`outbreak_http_requests_total{blame="client",code="401",method="POST",route="POST /api/v1/login"} 1`,
			`outbreak_http_request_duration_seconds_count{route="GET /healthz"} 5`,
			"go_goroutines ",
		} {
			mustContain(t, "metrics", text, want)
		}
		mustNotContain(t, "metrics", text, `blame="server"`)
	})
}

// ---------------------------------------------------------------------------
// 2. Sign-in and sign-out.

func TestSignIn(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 300)

		// Right password: 200, the account, a Secure HttpOnly session cookie.
		c := ts.client(t)
		r := c.post("/api/v1/login", map[string]string{"username": "resident-1", "password": demoPassword})
		r.want(t, http.StatusOK, "login resident-1")
		var me meJSON
		r.json(t, &me)
		if me.Username != "resident-1" || me.Role != "resident" || me.CSRFToken == "" || me.Resident == nil {
			t.Fatalf("login answer = %+v", me)
		}
		if me.Resident.ID != 1 || me.Resident.CommunityCode != "420106001" || len(me.Resident.IDNumber) != 18 ||
			strings.Contains(me.Resident.IDNumber, "*") {
			t.Fatalf("own record = %+v, want resident 1 in 420106001 with the full ID number", me.Resident)
		}
		ck := r.cookie("outbreak_session")
		if ck == nil || ck.Value == "" || !ck.Secure || !ck.HttpOnly || ck.Path != "/" || ck.SameSite != http.SameSiteLaxMode {
			t.Fatalf("session cookie = %+v", ck)
		}
		c.csrf = me.CSRFToken
		var again meJSON
		c.get("/api/v1/me").want(t, http.StatusOK, "me").json(t, &again)
		if again.Username != "resident-1" || again.CSRFToken != me.CSRFToken {
			t.Fatalf("me = %+v", again)
		}

		// Usernames are case- and space-insensitive; staff get their jurisdiction.
		_, staff := ts.login(t, "epidemiologist-2", demoPassword)
		if staff.Role != "epidemiologist" || staff.Jurisdiction != "420106" || staff.Resident != nil {
			t.Fatalf("epidemiologist-2 = %+v", staff)
		}
		r = ts.client(t).post("/api/v1/login", map[string]string{"username": "  Resident-1 ", "password": demoPassword})
		r.want(t, http.StatusOK, "login with a spaced, capitalised username")

		// Wrong password and unknown user: the same 401, no cookie.
		var details []string
		for _, cred := range []map[string]string{
			{"username": "resident-1", "password": "wrong-password"},
			{"username": "no-such-user", "password": demoPassword},
			{"username": "resident-1", "password": strings.Repeat("x", 300)},
		} {
			r := ts.client(t).post("/api/v1/login", cred)
			p := r.problem(t, http.StatusUnauthorized, "login "+cred["username"]+"/"+cred["password"][:3])
			if r.cookie("outbreak_session") != nil {
				t.Fatalf("refused login set a session cookie")
			}
			details = append(details, p.Detail)
		}
		if details[0] != details[1] {
			t.Fatalf("wrong password says %q, unknown user says %q: they must not differ", details[0], details[1])
		}
		ts.client(t).post("/api/v1/login", map[string]string{"username": "resident-1"}).invalid(t, "password", "login without password")
		ts.client(t).post("/api/v1/login", map[string]string{"password": "x"}).invalid(t, "username", "login without username")

		// Logout needs the CSRF header; then the session is over, even for
		// someone who kept the old cookie.
		old := c.cookies["outbreak_session"]
		c.csrf = ""
		c.post("/api/v1/logout", "").problem(t, http.StatusForbidden, "logout without CSRF header")
		c.get("/api/v1/me").want(t, http.StatusOK, "me after refused logout")
		c.csrf = me.CSRFToken
		r = c.post("/api/v1/logout", "")
		r.want(t, http.StatusNoContent, "logout")
		if ck := r.cookie("outbreak_session"); ck == nil || ck.MaxAge >= 0 {
			t.Fatalf("logout did not clear the cookie: %+v", ck)
		}
		c.get("/api/v1/me").problem(t, http.StatusUnauthorized, "me after logout")
		stale := ts.client(t)
		stale.cookies["outbreak_session"] = old
		stale.get("/api/v1/me").problem(t, http.StatusUnauthorized, "me with the old cookie after logout")
		stale.cookies["outbreak_session"] = "forged-session-token"
		stale.get("/api/v1/me").problem(t, http.StatusUnauthorized, "me with a forged cookie")

		// A real (non-demo) account, to show that only demo logins are refused.
		reg := ts.client(t).post("/api/v1/register", map[string]string{"name": "真实居民", "id_number": cnID("420106", "19850203", "931"),
			"phone": "13900009999", "community_code": "420106001", "username": "real-person", "password": "a real password"})
		reg.want(t, http.StatusCreated, "register a real resident")

		// The store is no longer a demo: the same demo logins are refused.
		if err := db.SetMeta(t.Context(), d.W, "demo", "false"); err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"resident-1", "admin-1", "community-1"} {
			r := ts.client(t).post("/api/v1/login", map[string]string{"username": u, "password": demoPassword})
			r.problem(t, http.StatusUnauthorized, "demo login "+u+" on a store that is not a demo")
		}
		ts.login(t, "real-person", "a real password")
	})
}

// ---------------------------------------------------------------------------
// 3. Bad input is refused with the right status, never a 500, and writes nothing.

func TestBadInput(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 300)
		anon := ts.client(t)
		anon.header.Set("Accept-Language", "en") // the details below are English; zh is checked after
		before := countRows(t, d)

		big := `{"name":"` + strings.Repeat("x", 70<<10) + `"}`
		for _, tc := range []struct {
			name, contentType, body string
			status                  int
			detail                  string // in the problem's detail
		}{
			{"malformed JSON", "application/json", `{"name" "x"}`, 400, "Malformed JSON"},
			{"truncated JSON", "application/json", `{"name": "x"`, 400, "Malformed JSON"},
			{"unknown field", "application/json", `{"nmae": "x"}`, 400, `"nmae"`},
			{"wrong type", "application/json", `{"name": 5}`, 400, "name"},
			{"wrong type of body", "application/json", `[1, 2]`, 400, "type"},
			{"malformed date", "application/json", `{"birth_date": "2020-13-45"}`, 400, "Invalid JSON value"},
			{"two objects", "application/json", `{"name": "a"} {"name": "b"}`, 400, "single JSON object"},
			{"empty body", "application/json", ``, 400, "empty"},
			{"text/plain", "text/plain", `{"name": "x"}`, 415, "application/json"},
			{"form", "application/x-www-form-urlencoded", `name=x`, 415, "application/json"},
			{"no Content-Type", "", `{"name": "x"}`, 415, "application/json"},
			{"over 64 KiB", "application/json", big, 413, "larger than"},
		} {
			r := anon.do(http.MethodPost, "/api/v1/register", tc.contentType, strings.NewReader(tc.body))
			p := r.problem(t, tc.status, tc.name)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("%s: detail %q, want it to mention %q", tc.name, p.Detail, tc.detail)
			}
			// The same refusal in Chinese holds no message key and no English.
			zh := ts.client(t).do(http.MethodPost, "/api/v1/register", tc.contentType, strings.NewReader(tc.body)).problem(t, tc.status, tc.name+" (zh)")
			if zh.Detail == "" || strings.Contains(zh.Detail, "error.") || strings.Contains(zh.Detail, "JSON value") || zh.Detail == p.Detail {
				t.Errorf("%s: Chinese detail %q", tc.name, zh.Detail)
			}
			if got := countRows(t, d); got != before {
				t.Fatalf("%s: rows %+v, were %+v", tc.name, got, before)
			}
		}
		// A charset parameter is fine: the body reaches validation.
		r := anon.do(http.MethodPost, "/api/v1/register", "application/json; charset=utf-8", strings.NewReader(`{}`))
		r.invalid(t, "name", "empty registration with a charset")
		// The same rules hold for sign-in and for signed-in requests.
		anon.do(http.MethodPost, "/api/v1/login", "application/json", strings.NewReader(`{"username":`)).problem(t, 400, "malformed login")
		anon.do(http.MethodPost, "/api/v1/login", "text/plain", strings.NewReader(`{}`)).problem(t, 415, "login as text")
		res := ts.demoLogin(t, "resident-1")
		res.send(http.MethodPut, "/api/v1/me/lang", `{"lang": 1}`).problem(t, 400, "lang of the wrong type")
		res.send(http.MethodPut, "/api/v1/me/lang", `{"lang": "fr"}`).invalid(t, "lang", "unknown language")
		res.post("/api/v1/me/dependents", `{"name": "x", "guardian_id": 7}`).problem(t, 400, "dependent with an unknown field")
		epi := ts.demoLogin(t, "epidemiologist-1")
		epi.get("/api/v1/residents/abc?purpose=case_investigation").problem(t, 404, "resident id that is not a number")
		epi.get("/api/v1/residents/-1?purpose=case_investigation").problem(t, 404, "negative resident id")
		epi.get("/api/v1/residents/999999?purpose=case_investigation").problem(t, 404, "no such resident")
		epi.get("/api/v1/residents?after=-1").invalid(t, "after", "negative page cursor")
		epi.get("/api/v1/residents?after=x").invalid(t, "after", "page cursor that is not a number")
		epi.get("/api/v1/residents?community=999999999").invalid(t, "community", "unknown community filter")
		epi.get("/api/v1/residents/lookup?purpose=case_investigation").invalid(t, "q", "lookup without a query")

		// Text no store can hold — a NUL character, bytes that are not UTF-8
		// (PostgreSQL refuses both) — is refused up front, in a body, a form
		// or a query string, wherever it would go.
		admin := ts.demoLogin(t, "admin-1")
		staff := map[string]string{"username": "nul-staff", "display_name": "Nul Staff", "role": "clinician", "jurisdiction_code": "4201", "password": "long password"}
		with := func(m map[string]string, k, v string) map[string]string {
			out := map[string]string{}
			for k, v := range m {
				out[k] = v
			}
			out[k] = v
			return out
		}
		reg := map[string]string{"name": "某人", "id_number": cnID("420106", "19800101", "941"), "phone": "13911112222",
			"community_code": "420106001", "username": "nul-resident", "password": "long password"}
		for _, tc := range []struct {
			name   string
			c      *client
			method string
			path   string
			body   any
		}{
			{"NUL in a query", anon, "GET", "/api/v1/jurisdictions?parent=4201%00", nil},
			{"non-UTF-8 query", anon, "GET", "/api/v1/jurisdictions?parent=%FF", nil},
			{"NUL in a name prefix", epi, "GET", "/api/v1/residents?name=%00", nil},
			{"non-UTF-8 name prefix", epi, "GET", "/api/v1/residents?name=%E7%8E", nil},
			{"NUL in a username", anon, "POST", "/api/v1/login", map[string]string{"username": "resident-1\x00", "password": "demo"}},
			{"NUL in a community code", anon, "POST", "/api/v1/register", with(reg, "community_code", "420106\x00001")},
			{"NUL in a staff name", admin, "POST", "/api/v1/staff", with(staff, "display_name", "Nul\x00Staff")},
			{"NUL in a staff jurisdiction", admin, "POST", "/api/v1/staff", with(staff, "jurisdiction_code", "42\x0001")},
			{"NUL in a token name", admin, "POST", "/api/v1/tokens", map[string]any{"name": "Lab\x00", "role": "clinician", "jurisdiction_code": "4201"}},
			{"NUL in a jurisdiction name", admin, "POST", "/api/v1/jurisdictions",
				map[string]string{"code": "420106077", "name_zh": "新\x00", "name_en": "New", "parent_code": "420106"}},
			{"NUL in a new name", admin, "PATCH", "/api/v1/jurisdictions/420106", map[string]string{"name_zh": "武昌\x00", "name_en": "Wuchang"}},
			{"NUL in a dependent's community", res, "POST", "/api/v1/me/dependents",
				map[string]string{"name": "某某", "id_number": cnID("420106", "20200101", "943"), "community_code": "\x00"}},
		} {
			var r *response
			if tc.body == nil {
				r = tc.c.get(tc.path)
			} else {
				r = tc.c.send(tc.method, tc.path, tc.body) // a NUL goes as \u0000
				if !strings.Contains(string(mustJSON(t, tc.body)), `\u0000`) {
					t.Fatalf("%s: the body holds no NUL", tc.name)
				}
			}
			r.problem(t, http.StatusBadRequest, tc.name)
		}
		for _, path := range []string{"/api/v1/jurisdictions?parent=420106", "/api/v1/jurisdictions?parent=4201"} {
			mustNotContain(t, "jurisdictions", anon.get(path).want(t, http.StatusOK, path).String(), `\u0000`, "420106077")
		}
		for _, tc := range []struct {
			name, path, form string
			status           int
			says             string
		}{
			// A form that is not UTF-8 text cannot be read at all.
			{"non-UTF-8 name in the registration form", "/register", "name=%FF%FE&id_number=" + cnID("420106", "19800101", "945") +
				"&phone=13911112223&community_code=420106001&username=bad-utf8&password=long+password", http.StatusBadRequest, "请求无效"},
			{"NUL in the registration form", "/register", "name=ab&id_number=" + cnID("420106", "19800101", "947") +
				"&phone=13911112224&community_code=420106%00001&username=nul-form&password=long+password", http.StatusBadRequest, "请求无效"},
			{"NUL in the sign-in form", "/login", "username=resident-1%00&password=demo", http.StatusBadRequest, "请求无效"},
		} {
			page := ts.client(t)
			token := page.get("/register").csrfField(t)
			body := page.do(http.MethodPost, tc.path, "application/x-www-form-urlencoded", strings.NewReader("csrf="+token+"&"+tc.form)).
				html(t, tc.status, tc.name)
			mustContain(t, tc.name, body, tc.says)
			if page.cookies["outbreak_session"] != "" {
				t.Fatalf("%s: started a session", tc.name)
			}
		}
		if got := countRows(t, d); got != before {
			t.Fatalf("rows %+v, were %+v", got, before)
		}
	})
}

func TestRegistration(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 300)
		valid := func() map[string]string {
			return map[string]string{"name": "新居民", "id_number": cnID("420106", "19900517", "915"), "phone": "139 0000-1234",
				"community_code": "420106001", "username": "new-resident", "password": "correct horse"}
		}
		goodID := valid()["id_number"]
		badSum := goodID[:17] + string("0123456789X"[(strings.IndexByte("0123456789X", goodID[17])+1)%11])
		before := countRows(t, d)

		for _, tc := range []struct {
			name   string
			change map[string]string
			field  string
		}{
			{"bad ID checksum", map[string]string{"id_number": badSum}, "id_number"},
			{"future birth date in the ID", map[string]string{"id_number": cnID("420106", "20991231", "915")}, "id_number"},
			{"impossible birth date in the ID", map[string]string{"id_number": cnID("420106", "19900230", "915")}, "id_number"},
			{"short ID", map[string]string{"id_number": "4201061990"}, "id_number"},
			{"missing phone", map[string]string{"phone": ""}, "phone"},
			{"bad phone", map[string]string{"phone": "call me"}, "phone"},
			{"missing name", map[string]string{"name": " "}, "name"},
			{"markup in the name", map[string]string{"name": "<script>"}, "name"},
			{"unknown community", map[string]string{"community_code": "429999001"}, "community_code"},
			{"a district, not a community", map[string]string{"community_code": "420106"}, "community_code"},
			{"missing community", map[string]string{"community_code": ""}, "community_code"},
			{"short password", map[string]string{"password": "short"}, "password"},
			{"bad username", map[string]string{"username": "a b"}, "username"},
			{"username taken", map[string]string{"username": "resident-1"}, "username"},
			{"staff username taken", map[string]string{"username": "admin-1"}, "username"},
			{"unknown ID kind", map[string]string{"id_kind": "MARS-ID"}, "id_kind"},
		} {
			body := valid()
			for k, v := range tc.change {
				body[k] = v
			}
			ts.client(t).post("/api/v1/register", body).invalid(t, tc.field, tc.name)
			if got := countRows(t, d); got != before {
				t.Fatalf("%s: refused registration wrote rows: %+v, were %+v", tc.name, got, before)
			}
		}

		// A valid registration: 201, the account, a session; the phone is normalised.
		c := ts.client(t)
		r := c.post("/api/v1/register", valid())
		r.want(t, http.StatusCreated, "valid registration")
		var me meJSON
		r.json(t, &me)
		if me.Username != "new-resident" || me.Role != "resident" || me.CSRFToken == "" || me.Resident == nil ||
			me.Resident.IDNumber != goodID || me.Resident.Phone != "13900001234" || me.Resident.CommunityCode != "420106001" ||
			me.Resident.BirthDate != "1990-05-17" || me.Resident.Sex != "M" || me.Resident.Name != "新居民" {
			t.Fatalf("registration answer = %+v (resident %+v)", me, me.Resident)
		}
		if got, want := countRows(t, d), (rows{before.residents + 1, before.accounts + 1}); got != want {
			t.Fatalf("rows after registration = %+v, want %+v", got, want)
		}
		if r.cookie("outbreak_session") == nil {
			t.Fatal("registration started no session")
		}
		var self meJSON
		c.get("/api/v1/me").want(t, http.StatusOK, "me after registration").json(t, &self)
		if self.Resident == nil || self.Resident.ID != me.Resident.ID {
			t.Fatalf("me after registration = %+v", self)
		}
		// The new resident signs in with the password.
		_, in := ts.login(t, "new-resident", "correct horse")
		if in.Resident == nil || in.Resident.ID != me.Resident.ID {
			t.Fatalf("sign-in of the new resident = %+v", in)
		}
		ts.client(t).post("/api/v1/login", map[string]string{"username": "new-resident", "password": "wrong horse"}).
			problem(t, http.StatusUnauthorized, "new resident, wrong password")

		// The same person twice, or the same username twice: refused, nothing written.
		after := countRows(t, d)
		dup := valid()
		dup["username"] = "someone-else"
		ts.client(t).post("/api/v1/register", dup).invalid(t, "id_number", "the same ID number twice")
		dup = valid()
		dup["id_number"] = cnID("420106", "19900517", "917")
		ts.client(t).post("/api/v1/register", dup).invalid(t, "username", "the same username twice")
		if got := countRows(t, d); got != after {
			t.Fatalf("refused duplicate wrote rows: %+v, were %+v", got, after)
		}
	})
}

// ---------------------------------------------------------------------------
// 4. Staff see and read only what lies in their jurisdiction, and every read
// of a record is logged with its purpose.

type accessEntry struct {
	ID         int64  `json:"id"`
	ActorID    int64  `json:"actor_id"`
	ActorRole  string `json:"actor_role"`
	ActorName  string `json:"actor_name"`
	ResidentID int64  `json:"resident_id"`
	Action     string `json:"action"`
	Purpose    string `json:"purpose"`
}

func accessLog(t *testing.T, auditor *client, query string) []accessEntry {
	t.Helper()
	var out struct {
		Entries []accessEntry `json:"entries"`
	}
	auditor.get("/api/v1/access-log"+query).want(t, http.StatusOK, "access log").json(t, &out)
	return out.Entries
}

func TestScope(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 300)
		city := ts.demoLogin(t, "epidemiologist-1")
		everyone := listResidents(t, city)
		if len(everyone) != 300 {
			t.Fatalf("the city-wide epidemiologist sees %d residents, want 300", len(everyone))
		}
		for _, r := range everyone {
			if !strings.Contains(r.IDNumber, "*") || len(r.IDNumber) != 18 || (r.Phone != "" && !strings.Contains(r.Phone, "*")) {
				t.Fatalf("a listing shows %+v: numbers must be masked", r)
			}
		}
		in := func(code string) map[int64]bool {
			out := map[int64]bool{}
			for _, r := range everyone {
				if strings.HasPrefix(r.CommunityCode, code) {
					out[r.ID] = true
				}
			}
			return out
		}

		cw, me := ts.login(t, "community-1", demoPassword)
		if me.Jurisdiction != "420102001" || me.Role != "community_worker" {
			t.Fatalf("community-1 = %+v", me)
		}
		// community-1 registers someone in its own community (the demo may
		// leave it empty), and may not register anyone elsewhere.
		newcomer := map[string]string{"name": "江岸新人", "id_number": cnID("420102", "19700101", "953"), "community_code": "420102001"}
		var created residentJSON
		cw.post("/api/v1/residents", newcomer).want(t, http.StatusCreated, "community worker registers a resident").json(t, &created)
		if created.ID == 0 || created.CommunityCode != "420102001" || created.IDNumber != newcomer["id_number"] {
			t.Fatalf("created = %+v", created)
		}
		elsewhere := map[string]string{"name": "武昌新人", "id_number": cnID("420106", "19700101", "953"), "community_code": "420106001"}
		cw.post("/api/v1/residents", elsewhere).invalid(t, "community_code", "community worker registers outside its community")
		everyone = append(everyone, created)

		// Listings: exactly the residents of the worker's own community. The
		// check runs for community-1 and for the worker of a community the
		// demo filled, so that it is never vacuous.
		admin := ts.demoLogin(t, "admin-1")
		staff := staffByUsername(t, admin)
		var other residentJSON // a demo resident in district 420102, outside community 420102001
		for _, r := range everyone {
			if strings.HasPrefix(r.CommunityCode, "420102") && r.CommunityCode != "420102001" {
				other = r
				break
			}
		}
		if other.ID == 0 {
			t.Fatal("the demo has nobody in district 420102 outside 420102001")
		}
		workerOf := map[string]string{}
		for _, s := range staff {
			if s.Role == "community_worker" {
				workerOf[s.Jurisdiction] = s.Username
			}
		}
		if workerOf["420102001"] != "community-1" || workerOf[other.CommunityCode] == "" {
			t.Fatalf("community workers: %v", workerOf)
		}
		for code, c := range map[string]*client{"420102001": cw, other.CommunityCode: ts.demoLogin(t, workerOf[other.CommunityCode])} {
			got := listResidents(t, c)
			want := in(code)
			if len(got) == 0 || len(got) != len(want) {
				t.Fatalf("worker of %s lists %d residents, want %d", code, len(got), len(want))
			}
			for _, r := range got {
				if r.CommunityCode != code || !want[r.ID] {
					t.Fatalf("worker of %s lists %+v", code, r)
				}
			}
		}
		cw.get("/api/v1/residents?community=420106001").invalid(t, "community", "community filter outside the scope")
		var stats struct {
			Communities []struct {
				Residents int64 `json:"residents"`
			} `json:"communities"`
		}
		cw.get("/api/v1/stats/residents").want(t, http.StatusOK, "stats").json(t, &stats)
		if len(stats.Communities) != 1 || stats.Communities[0].Residents != 1 {
			t.Fatalf("community-1 stats = %+v, want its one community with its one resident", stats)
		}

		// Reads: outside the community 404 (with or without a valid purpose
		// nothing leaks), inside without a purpose 422, with one the full record.
		for _, id := range []int64{1, other.ID} {
			cw.get(fmt.Sprintf("/api/v1/residents/%d?purpose=quarantine_follow_up", id)).problem(t, http.StatusNotFound, "read outside the community")
		}
		_, r1 := ts.login(t, "resident-1", demoPassword)
		var found struct {
			Residents []residentJSON `json:"residents"`
		}
		cw.get("/api/v1/residents/lookup?purpose=quarantine_follow_up&id_number="+r1.Resident.IDNumber).
			want(t, http.StatusOK, "lookup outside the scope").json(t, &found)
		if len(found.Residents) != 0 {
			t.Fatalf("community-1 finds %+v outside its community", found.Residents)
		}
		path := fmt.Sprintf("/api/v1/residents/%d", created.ID)
		cw.get(path).invalid(t, "purpose", "read without a purpose")
		cw.get(path+"?purpose=curiosity").invalid(t, "purpose", "read with an unknown purpose")
		var rec residentJSON
		cw.get(path+"?purpose=quarantine_follow_up").want(t, http.StatusOK, "read with a purpose").json(t, &rec)
		if rec.ID != created.ID || rec.IDNumber != newcomer["id_number"] || rec.Name != newcomer["name"] {
			t.Fatalf("record = %+v, want the full record of %+v", rec, newcomer)
		}

		// The auditor sees that read, and only it: the refused ones left nothing.
		auditor := ts.demoLogin(t, "auditor-1")
		es := accessLog(t, auditor, fmt.Sprintf("?actor=%d", staff["community-1"].ID))
		if len(es) != 1 {
			t.Fatalf("access log of community-1 = %+v, want exactly the one read", es)
		}
		e := es[0]
		if e.ActorID != staff["community-1"].ID || e.ActorName != "community-1" || e.ActorRole != "community_worker" ||
			e.ResidentID != created.ID || e.Purpose != "quarantine_follow_up" || e.Action != "read" {
			t.Fatalf("access log entry = %+v", e)
		}
		if es := accessLog(t, auditor, fmt.Sprintf("?resident=%d", created.ID)); len(es) != 1 || es[0].ID != e.ID {
			t.Fatalf("access log of resident %d = %+v", created.ID, es)
		}
		if es := accessLog(t, auditor, "?resident=1"); len(es) != 0 {
			t.Fatalf("refused reads of resident 1 were logged: %+v", es)
		}
		auditor.get(path+"?purpose=quarantine_follow_up").problem(t, http.StatusForbidden, "the auditor reads a record")
		cw.get("/api/v1/access-log").problem(t, http.StatusForbidden, "a community worker reads the access log")

		// A district epidemiologist reads in its district only.
		epi2 := ts.demoLogin(t, "epidemiologist-2")
		epi2.get(fmt.Sprintf("/api/v1/residents/%d?purpose=case_investigation", other.ID)).problem(t, http.StatusNotFound, "epidemiologist-2 reads in 420102")
		epi2.get(path+"?purpose=case_investigation").problem(t, http.StatusNotFound, "epidemiologist-2 reads in 420102001")
		var one residentJSON
		epi2.get("/api/v1/residents/1?purpose=case_investigation").want(t, http.StatusOK, "epidemiologist-2 reads in 420106").json(t, &one)
		if one.ID != 1 || one.CommunityCode != "420106001" || strings.Contains(one.IDNumber, "*") {
			t.Fatalf("resident 1 = %+v", one)
		}
		for _, r := range listResidents(t, epi2) {
			if !strings.HasPrefix(r.CommunityCode, "420106") {
				t.Fatalf("epidemiologist-2 lists %+v", r)
			}
		}
		// That read of resident 1 is the only one logged: the refused reads
		// and the empty lookup by community-1 left nothing.
		if es := accessLog(t, auditor, "?resident=1"); len(es) != 1 || es[0].ActorName != "epidemiologist-2" || es[0].Purpose != "case_investigation" {
			t.Fatalf("access log of resident 1 = %+v", es)
		}
	})
}

// ---------------------------------------------------------------------------
// 5. Roles: each route refuses the wrong role (403) and the anonymous (401);
// admins manage staff only in their subtree.

func TestRoles(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 300)
		anon := ts.client(t)
		r := anon.get("/api/v1/residents")
		r.problem(t, http.StatusUnauthorized, "anonymous lists residents")
		if got := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
			t.Fatalf("401 without a WWW-Authenticate challenge: %q", got)
		}
		anon.get("/api/v1/me").problem(t, http.StatusUnauthorized, "anonymous me")
		anon.post("/api/v1/staff", map[string]string{}).problem(t, http.StatusUnauthorized, "anonymous creates staff")
		anon.get("/staff").redirect(t, "/login?next=%2Fstaff", "anonymous opens a staff page")
		anon.get("/me").redirect(t, "/login?next=%2Fme", "anonymous opens the resident page")

		res := ts.demoLogin(t, "resident-1")
		check := ts.demoLogin(t, "checkpoint-1")
		epi := ts.demoLogin(t, "epidemiologist-1")
		auditor := ts.demoLogin(t, "auditor-1")
		for _, tc := range []struct {
			who    string
			c      *client
			method string
			path   string
		}{
			{"resident", res, "GET", "/api/v1/residents"},
			{"resident", res, "GET", "/api/v1/residents/1?purpose=resident_services"},
			{"resident", res, "GET", "/api/v1/whoami"},
			{"resident", res, "GET", "/api/v1/access-log"},
			{"resident", res, "POST", "/api/v1/staff"},
			{"checkpoint", check, "GET", "/api/v1/residents"},
			{"checkpoint", check, "GET", "/api/v1/residents/1?purpose=resident_services"},
			{"checkpoint", check, "GET", "/api/v1/me/dependents"},
			{"epidemiologist", epi, "POST", "/api/v1/residents"},
			{"epidemiologist", epi, "GET", "/api/v1/staff"},
			{"epidemiologist", epi, "GET", "/api/v1/access-log"},
			{"epidemiologist", epi, "POST", "/api/v1/me/dependents"},
			{"auditor", auditor, "GET", "/api/v1/residents"},
			{"auditor", auditor, "POST", "/api/v1/tokens"},
		} {
			tc.c.send(tc.method, tc.path, `{}`).problem(t, http.StatusForbidden, tc.who+" "+tc.method+" "+tc.path)
		}
		res.get("/staff").html(t, http.StatusForbidden, "resident opens a staff page")
		check.get("/staff/residents/1?purpose=resident_services").html(t, http.StatusForbidden, "checkpoint opens a record")
		epi.get("/me").html(t, http.StatusForbidden, "staff opens the resident page")

		// Staff accounts: an admin creates them in its subtree only.
		admin1 := ts.demoLogin(t, "admin-1")
		admin2 := ts.demoLogin(t, "admin-2")
		before := countRows(t, d)
		newStaff := map[string]string{"username": "clinician-new", "display_name": "New Clinician", "role": "clinician",
			"jurisdiction_code": "420102", "password": "a good long password"}
		admin2.post("/api/v1/staff", newStaff).invalid(t, "jurisdiction_code", "admin-2 creates staff in 420102")
		for field, value := range map[string]string{"role": "resident", "username": "x", "password": "short", "jurisdiction_code": "999999"} {
			bad := map[string]string{}
			for k, v := range newStaff {
				bad[k] = v
			}
			bad[field] = value
			admin1.post("/api/v1/staff", bad).invalid(t, field, "create staff with a bad "+field)
		}
		if got := countRows(t, d); got != before {
			t.Fatalf("refused staff creations wrote rows: %+v, were %+v", got, before)
		}
		var created staffJSON
		admin1.post("/api/v1/staff", newStaff).want(t, http.StatusCreated, "admin-1 creates staff in 420102").json(t, &created)
		if created.ID == 0 || created.Username != "clinician-new" || created.Role != "clinician" || created.Jurisdiction != "420102" || created.Disabled {
			t.Fatalf("created staff = %+v", created)
		}
		admin1.post("/api/v1/staff", newStaff).invalid(t, "username", "the same staff username twice")
		if got := staffByUsername(t, admin2); got["clinician-new"].ID != 0 || got["admin-2"].ID == 0 {
			t.Fatalf("admin-2 lists staff outside its district, or not itself: %d accounts", len(got))
		}

		// The new account signs in and works in its district.
		clin, me := ts.login(t, "clinician-new", "a good long password")
		if me.Role != "clinician" || me.Jurisdiction != "420102" {
			t.Fatalf("clinician-new = %+v", me)
		}
		clin.get("/api/v1/residents").want(t, http.StatusOK, "clinician lists residents")
		clin.get("/api/v1/residents/1?purpose=clinical_care").problem(t, http.StatusNotFound, "clinician in 420102 reads in 420106")

		// admin-2 cannot touch it; admin-1 disables it, which ends its session.
		staffPath := fmt.Sprintf("/api/v1/staff/%d", created.ID)
		admin2.send(http.MethodPatch, staffPath, map[string]any{"disabled": true}).problem(t, http.StatusNotFound, "admin-2 disables staff in 420102")
		clin.get("/api/v1/me").want(t, http.StatusOK, "me after refused disable")
		saved := admin1.csrf
		admin1.csrf = ""
		admin1.send(http.MethodPatch, staffPath, map[string]any{"disabled": true}).problem(t, http.StatusForbidden, "disable without CSRF header")
		admin1.csrf = saved
		clin.get("/api/v1/me").want(t, http.StatusOK, "me after disable without CSRF")
		var changed staffJSON
		admin1.send(http.MethodPatch, staffPath, map[string]any{"disabled": true}).want(t, http.StatusOK, "disable").json(t, &changed)
		if !changed.Disabled || changed.Role != "clinician" || changed.Jurisdiction != "420102" || changed.DisplayName != "New Clinician" {
			t.Fatalf("disabled staff = %+v", changed)
		}
		clin.get("/api/v1/me").problem(t, http.StatusUnauthorized, "me of a disabled account")
		clin.get("/api/v1/residents").problem(t, http.StatusUnauthorized, "disabled account lists residents")
		ts.client(t).post("/api/v1/login", map[string]string{"username": "clinician-new", "password": "a good long password"}).
			problem(t, http.StatusUnauthorized, "sign-in of a disabled account")
		// Enabling it again lets it sign in anew, but does not revive the old session.
		admin1.send(http.MethodPatch, staffPath, map[string]any{"disabled": false}).want(t, http.StatusOK, "enable").json(t, &changed)
		if changed.Disabled {
			t.Fatalf("enabled staff = %+v", changed)
		}
		clin.get("/api/v1/me").problem(t, http.StatusUnauthorized, "the old session of a re-enabled account")
		ts.login(t, "clinician-new", "a good long password")

		// An admin cannot disable itself, nor make someone an admin outside its reach.
		self := staffByUsername(t, admin1)["admin-1"]
		admin1.send(http.MethodPatch, fmt.Sprintf("/api/v1/staff/%d", self.ID), map[string]any{"disabled": true}).
			invalid(t, "role", "admin disables itself")
		admin1.get("/api/v1/me").want(t, http.StatusOK, "admin after refused self-disable")
		admin1.send(http.MethodPatch, "/api/v1/staff/999999", map[string]any{"disabled": true}).problem(t, http.StatusNotFound, "disable nobody")
		resident1 := staffByUsername(t, admin1)["resident-1"]
		if resident1.ID != 0 {
			t.Fatalf("the staff list shows a resident account: %+v", resident1)
		}
	})
}

// ---------------------------------------------------------------------------
// 6. CSRF: an unsafe request from a cookie session needs the session's token.

func TestCSRF(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 300)
		res, me := ts.login(t, "resident-1", demoPassword)
		dep := map[string]string{"name": "许小宝", "id_number": cnID("420106", "20230301", "961")}
		before := countRows(t, d)

		res.csrf = ""
		res.post("/api/v1/me/dependents", dep).problem(t, http.StatusForbidden, "add dependent without X-CSRF-Token")
		res.header.Set("X-CSRF-Token", "not-the-token")
		res.post("/api/v1/me/dependents", dep).problem(t, http.StatusForbidden, "add dependent with a wrong X-CSRF-Token")
		res.header.Del("X-CSRF-Token")
		// The API takes the token from the header only, not from a JSON field
		// nor a query string.
		res.post("/api/v1/me/dependents?csrf="+url.QueryEscape(me.CSRFToken), dep).problem(t, http.StatusForbidden, "CSRF token in the query")
		// Another session's token does not do either.
		other, _ := ts.login(t, "resident-2", demoPassword)
		res.header.Set("X-CSRF-Token", other.csrf)
		res.post("/api/v1/me/dependents", dep).problem(t, http.StatusForbidden, "add dependent with another session's token")
		res.header.Del("X-CSRF-Token")
		if got := countRows(t, d); got != before {
			t.Fatalf("refused requests wrote rows: %+v, were %+v", got, before)
		}
		var list struct {
			Dependents []residentJSON `json:"dependents"`
		}
		res.get("/api/v1/me/dependents").want(t, http.StatusOK, "dependents").json(t, &list)
		if len(list.Dependents) != 2 {
			t.Fatalf("resident-1 has %d dependents, want the demo's 2", len(list.Dependents))
		}

		res.csrf = me.CSRFToken
		var added residentJSON
		res.post("/api/v1/me/dependents", dep).want(t, http.StatusCreated, "add dependent with X-CSRF-Token").json(t, &added)
		if added.Name != dep["name"] || added.IDNumber != dep["id_number"] || added.GuardianID != 1 || added.CommunityCode != "420106001" ||
			added.BirthDate != "2023-03-01" || added.Sex != "M" {
			t.Fatalf("dependent = %+v", added)
		}
		if got, want := countRows(t, d), (rows{before.residents + 1, before.accounts}); got != want {
			t.Fatalf("rows = %+v, want %+v (a dependent has no login)", got, want)
		}
		res.get("/api/v1/me/dependents").want(t, http.StatusOK, "dependents").json(t, &list)
		if len(list.Dependents) != 3 || list.Dependents[2].ID != added.ID {
			t.Fatalf("dependents = %+v, want 3 with the new one last", list.Dependents)
		}
		for _, dp := range list.Dependents {
			if dp.GuardianID != 1 {
				t.Fatalf("dependent %+v of another guardian", dp)
			}
		}

		// A cross-site browser request is refused whatever it carries.
		cross := ts.client(t)
		cross.header.Set("Sec-Fetch-Site", "cross-site")
		r := cross.post("/api/v1/login", map[string]string{"username": "resident-1", "password": demoPassword})
		r.want(t, http.StatusForbidden, "cross-site sign-in")
		if r.cookie("outbreak_session") != nil {
			t.Fatal("cross-site sign-in started a session")
		}
		res.header.Set("Origin", "https://evil.example")
		res.header.Set("Sec-Fetch-Site", "cross-site")
		res.post("/api/v1/me/dependents", map[string]string{"name": "x", "id_number": cnID("420106", "20230302", "961")}).
			want(t, http.StatusForbidden, "cross-site add dependent")
		res.header = http.Header{}

		// Pages: a form without its csrf field is refused.
		page := ts.client(t)
		form := page.get("/login")
		token := form.csrfField(t)
		if page.cookies["outbreak_csrf"] != token {
			t.Fatalf("login form csrf %q, cookie %q: want the same (double submit)", token, page.cookies["outbreak_csrf"])
		}
		creds := url.Values{"username": {"resident-1"}, "password": {demoPassword}}
		body := page.postForm("/login", creds).html(t, http.StatusForbidden, "form sign-in without csrf")
		mustContain(t, "CSRF refusal page", body, "表单已过期")
		creds.Set("csrf", "x"+token)
		page.postForm("/login", creds).html(t, http.StatusForbidden, "form sign-in with a wrong csrf")
		nocookie := ts.client(t)
		creds.Set("csrf", token)
		nocookie.postForm("/login", creds).html(t, http.StatusForbidden, "form sign-in with csrf but no cookie")
		if page.cookies["outbreak_session"] != "" || nocookie.cookies["outbreak_session"] != "" {
			t.Fatal("a refused form started a session")
		}
		page.postForm("/login", creds).redirect(t, "/", "form sign-in with csrf")
		// Sign-in returns to the page that asked for it, and only on this site.
		for next, want := range map[string]string{"/me/contacts": "/me/contacts", "//evil.example/": "/", "https://evil.example/": "/"} {
			back := ts.client(t)
			f := back.get("/login?next=" + url.QueryEscape(next))
			_ = f.String()
			creds := url.Values{"username": {"resident-1"}, "password": {demoPassword}, "csrf": {f.csrfField(t)}, "next": {next}}
			back.postForm("/login", creds).redirect(t, want, "sign-in with next "+next)
		}
		if page.cookies["outbreak_session"] == "" {
			t.Fatal("form sign-in started no session")
		}
		// Signed in, forms carry the session's token: the anonymous one no longer does.
		page.postForm("/logout", url.Values{"csrf": {token}}).html(t, http.StatusForbidden, "logout with the anonymous token")
		page.get("/me").html(t, http.StatusOK, "me after refused logout")
		home := page.get("/me")
		sessionToken := home.csrfField(t)
		page.postForm("/logout", url.Values{"csrf": {sessionToken}}).redirect(t, "/login", "logout")
		page.get("/me").redirect(t, "/login?next=%2Fme", "me after logout")
	})
}

// ---------------------------------------------------------------------------
// 7. API tokens for machine clients.

func TestAPITokens(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 300)
		admin1 := ts.demoLogin(t, "admin-1")
		admin2 := ts.demoLogin(t, "admin-2")
		req := map[string]any{"name": "Lab system", "role": "lab_technician", "jurisdiction_code": "4201", "expires_in_days": 0}

		admin2.post("/api/v1/tokens", req).invalid(t, "jurisdiction_code", "admin-2 issues a city token")
		bad := map[string]any{"name": "Lab system", "role": "admin", "jurisdiction_code": "4201", "expires_in_days": 0}
		admin1.post("/api/v1/tokens", bad).invalid(t, "role", "token with the admin role")
		bad = map[string]any{"name": "", "role": "lab_technician", "jurisdiction_code": "4201", "expires_in_days": 0}
		admin1.post("/api/v1/tokens", bad).invalid(t, "name", "token without a name")
		bad = map[string]any{"name": "Lab", "role": "lab_technician", "jurisdiction_code": "4201", "expires_in_days": 9999}
		admin1.post("/api/v1/tokens", bad).invalid(t, "expires_in_days", "token for 27 years")

		r := admin1.post("/api/v1/tokens", req)
		r.want(t, http.StatusCreated, "issue token")
		var issued struct {
			Secret string `json:"secret"`
			Token  struct {
				ID               int64  `json:"id"`
				PublicID         string `json:"public_id"`
				Name             string `json:"name"`
				Role             string `json:"role"`
				JurisdictionCode string `json:"jurisdiction_code"`
			} `json:"token"`
		}
		r.json(t, &issued)
		if !strings.HasPrefix(issued.Secret, "obk_"+issued.Token.PublicID+"_") || len(issued.Secret) < 40 || issued.Token.ID == 0 ||
			issued.Token.Role != "lab_technician" || issued.Token.JurisdictionCode != "4201" || issued.Token.Name != "Lab system" {
			t.Fatalf("issued = %+v", issued)
		}
		mustNotContain(t, "issued token", r.String(), "secret_hash")
		// The secret is shown once: the listing does not hold it.
		list := admin1.get("/api/v1/tokens").want(t, http.StatusOK, "list tokens")
		mustContain(t, "token list", list.String(), issued.Token.PublicID)
		// The secret's random part may itself hold '_', so cut the known prefix.
		secretPart := strings.TrimPrefix(issued.Secret, "obk_"+issued.Token.PublicID+"_")
		mustNotContain(t, "token list", list.String(), secretPart, "secret")

		lab := ts.client(t)
		lab.bearer = issued.Secret
		var who struct {
			Name  string `json:"name"`
			Role  string `json:"role"`
			Token bool   `json:"token"`
			Scope string `json:"scope"`
		}
		lab.get("/api/v1/whoami").want(t, http.StatusOK, "whoami with the token").json(t, &who)
		if who.Role != "lab_technician" || !who.Token || !strings.Contains(who.Name, "Lab system") || !strings.Contains(who.Scope, "4201") {
			t.Fatalf("whoami = %+v", who)
		}
		var staffWho struct {
			Token bool `json:"token"`
		}
		admin1.get("/api/v1/whoami").want(t, http.StatusOK, "whoami of a session").json(t, &staffWho)
		if staffWho.Token {
			t.Fatal("a session says it is a token")
		}
		// The token holds its role's permissions only, and opens no page.
		lab.get("/api/v1/residents").problem(t, http.StatusForbidden, "lab token lists residents")
		lab.post("/api/v1/tokens", req).problem(t, http.StatusForbidden, "lab token issues a token")
		lab.get("/staff").redirect(t, "/login?next=%2Fstaff", "token opens a staff page")

		// admin-2 may not revoke a city token; admin-1 may, and then it is dead.
		tokenPath := fmt.Sprintf("/api/v1/tokens/%d", issued.Token.ID)
		admin2.send(http.MethodDelete, tokenPath, "").problem(t, http.StatusNotFound, "admin-2 revokes a city token")
		lab.get("/api/v1/whoami").want(t, http.StatusOK, "whoami after refused revoke")
		admin1.csrf, admin2.csrf = "", admin1.csrf
		admin1.send(http.MethodDelete, tokenPath, "").problem(t, http.StatusForbidden, "revoke without CSRF header")
		admin1.csrf = admin2.csrf
		lab.get("/api/v1/whoami").want(t, http.StatusOK, "whoami after revoke without CSRF")
		r = admin1.send(http.MethodDelete, tokenPath, "")
		r.want(t, http.StatusNoContent, "revoke")
		if len(r.Body) != 0 {
			t.Fatalf("204 with a body: %q", r.Body)
		}
		r = lab.get("/api/v1/whoami")
		p := r.problem(t, http.StatusUnauthorized, "whoami with a revoked token")
		if !strings.Contains(r.Header.Get("WWW-Authenticate"), "invalid_token") || !strings.Contains(p.Detail, "revoked") {
			t.Fatalf("revoked token: WWW-Authenticate %q, detail %q", r.Header.Get("WWW-Authenticate"), p.Detail)
		}
		admin1.send(http.MethodDelete, tokenPath, "").problem(t, http.StatusNotFound, "revoke twice")
		admin1.send(http.MethodDelete, "/api/v1/tokens/abc", "").problem(t, http.StatusNotFound, "revoke a token id that is not a number")

		// Garbage is refused at once, even on routes anyone may use.
		for _, secret := range []string{"garbage", "obk_", "obk_0123456789abcdef_wrong", issued.Secret + "x",
			"obk_" + issued.Token.PublicID + "_" + strings.Repeat("A", len(secretPart))} {
			g := ts.client(t)
			g.bearer = secret
			g.get("/api/v1/whoami").problem(t, http.StatusUnauthorized, "whoami with bearer "+secret)
			g.get("/api/v1/jurisdictions").problem(t, http.StatusUnauthorized, "public route with bearer "+secret)
		}
		basic := ts.client(t)
		basic.header.Set("Authorization", "Basic YWRtaW4tMTpkZW1v")
		basic.get("/api/v1/whoami").problem(t, http.StatusUnauthorized, "whoami with basic auth")
	})
}

// ---------------------------------------------------------------------------
// 8. Pages.

// formLogin signs in through the sign-in form.
func (ts *testServer) formLogin(t *testing.T, username string) *client {
	t.Helper()
	c := ts.client(t)
	body := c.get("/login").html(t, http.StatusOK, "login form")
	token := c.csrfField(t, body)
	c.postForm("/login", url.Values{"csrf": {token}, "username": {username}, "password": {demoPassword}}).redirect(t, "/", "form sign-in "+username)
	if c.cookies["outbreak_session"] == "" {
		t.Fatalf("form sign-in of %s set no session cookie", username)
	}
	return c
}

func (c *client) csrfField(t *testing.T, page string) string {
	t.Helper()
	return (&response{Body: []byte(page)}).csrfField(t)
}

func TestPages(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 300)
		r1c, r1 := ts.login(t, "resident-1", demoPassword)

		// The sign-in form, in Chinese by default.
		anon := ts.client(t)
		r := anon.get("/login")
		body := r.html(t, http.StatusOK, "login form")
		mustContain(t, "login form", body, `<html lang="zh-CN">`, `<form method="post" action="/login"`, `name="username"`, `name="password"`,
			`type="password"`, "登录")
		for h, want := range map[string]string{"X-Frame-Options": "DENY", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
			if got := r.Header.Get(h); got != want {
				t.Fatalf("login form %s = %q, want %q", h, got, want)
			}
		}
		if ck := r.cookie("outbreak_csrf"); ck == nil || !ck.Secure || !ck.HttpOnly || ck.Value != anon.csrfField(t, body) {
			t.Fatalf("login form CSRF cookie = %+v", ck)
		}
		// A wrong password shows the form again with the error.
		token := anon.csrfField(t, body)
		body = anon.postForm("/login", url.Values{"csrf": {token}, "username": {"resident-1"}, "password": {"nope"}}).
			html(t, http.StatusUnauthorized, "form sign-in with a wrong password")
		mustContain(t, "refused sign-in", body, "用户名或密码错误", `value="resident-1"`)
		body = anon.postForm("/login", url.Values{"csrf": {token}, "username": {""}, "password": {""}}).
			html(t, http.StatusUnprocessableEntity, "form sign-in with nothing")
		mustContain(t, "empty sign-in", body, `class="field-error" id="e-username"`, `class="field-error" id="e-password"`)

		// A resident signs in through the form and sees their page, numbers masked.
		res := ts.formLogin(t, "resident-1")
		res.get("/").redirect(t, "/me", "a resident's home")
		res.get("/login").redirect(t, "/", "sign-in form when signed in")
		body = res.get("/me").html(t, http.StatusOK, "resident page")
		mustContain(t, "resident page", body, r1.Resident.Name, r1.Resident.Community, "/me/dependents/new",
			r1.Resident.IDNumber[:3]+"***********"+r1.Resident.IDNumber[14:])
		mustNotContain(t, "resident page", body, r1.Resident.IDNumber)
		if n := strings.Count(body, `<li class="dependent">`); n != 2 {
			t.Fatalf("resident page lists %d dependents, want 2", n)
		}

		// Staff home: the worker's community by name.
		cw := ts.formLogin(t, "community-1")
		cw.get("/").redirect(t, "/staff", "a staff member's home")
		body = cw.get("/staff").html(t, http.StatusOK, "staff home")
		name := communityName(t, ts, "420102001")
		mustContain(t, "staff home", body, name+" (420102001)", "community-1", `action="/staff/residents/find"`)
		body = ts.formLogin(t, "admin-1").get("/staff").html(t, http.StatusOK, "admin home")
		mustContain(t, "admin home", body, "/admin/staff", "/admin/tokens", "武汉市 (4201)")
		mustNotContain(t, "admin home", body, `action="/staff/residents/find"`)

		// A record: first the purpose, then the full record, logged once. It
		// lists the dependents in the reader's jurisdiction only: resident-1
		// now has one in another district.
		var deps struct {
			Dependents []residentJSON `json:"dependents"`
		}
		r1c.get("/api/v1/me/dependents").want(t, http.StatusOK, "dependents").json(t, &deps)
		away := map[string]string{"name": "江岸外孙", "id_number": cnID("420102", "20200101", "971"), "community_code": "420102001"}
		var awayDep residentJSON
		r1c.post("/api/v1/me/dependents", away).want(t, http.StatusCreated, "add a dependent in another district").json(t, &awayDep)
		epi := ts.formLogin(t, "epidemiologist-2")
		body = epi.get("/staff/residents/1").html(t, http.StatusOK, "record without a purpose")
		mustContain(t, "purpose form", body, `name="purpose"`, "resident_services")
		mustNotContain(t, "purpose form", body, r1.Resident.IDNumber, r1.Resident.Name)
		body = epi.get("/staff/residents/1?purpose=resident_services").html(t, http.StatusOK, "record")
		mustContain(t, "record", body, r1.Resident.IDNumber, r1.Resident.Name, r1.Resident.Phone)
		if len(deps.Dependents) != 2 {
			t.Fatalf("resident-1 has %d dependents, want the demo's 2", len(deps.Dependents))
		}
		for _, dp := range deps.Dependents {
			mustContain(t, "record", body, dp.Name, fmt.Sprintf(`href="/staff/residents/%d"`, dp.ID))
		}
		mustNotContain(t, "record (dependent outside the jurisdiction)", body, away["name"], fmt.Sprintf("/staff/residents/%d", awayDep.ID))
		epi.get(fmt.Sprintf("/staff/residents/%d?purpose=resident_services", awayDep.ID)).html(t, http.StatusNotFound, "dependent outside the jurisdiction")
		cw.get("/staff/residents/1?purpose=resident_services").html(t, http.StatusNotFound, "record outside the scope")
		epi.get("/staff/residents/abc?purpose=resident_services").html(t, http.StatusNotFound, "record id that is not a number")
		var log struct {
			Entries []accessEntry `json:"entries"`
		}
		ts.demoLogin(t, "auditor-1").get("/api/v1/access-log?resident=1").want(t, http.StatusOK, "access log").json(t, &log)
		if len(log.Entries) != 1 || log.Entries[0].ActorName != "epidemiologist-2" || log.Entries[0].Purpose != "resident_services" {
			t.Fatalf("access log of resident 1 = %+v, want the one page read", log.Entries)
		}

		// Registration form: errors beside their fields, the input kept, nothing written.
		reg := ts.client(t)
		body = reg.get("/register").html(t, http.StatusOK, "register form")
		mustContain(t, "register form", body, `<option value="420106001"`, `name="id_number"`)
		before := countRows(t, d)
		id := cnID("420106", "19920304", "935")
		form := url.Values{"csrf": {reg.csrfField(t, body)}, "name": {"表单居民"}, "id_number": {id[:17] + "Y"}, "phone": {"13900004321"},
			"community_code": {"420106001"}, "username": {"form-resident"}, "password": {"a long password"}}
		body = reg.postForm("/register", form).html(t, http.StatusUnprocessableEntity, "register with a bad ID")
		mustContain(t, "register errors", body, `class="field-error" id="e-id_number"`, `aria-invalid="true"`, `value="表单居民"`, `value="form-resident"`)
		mustNotContain(t, "register errors", body, `id="e-name"`, `id="e-phone"`, "a long password")
		form.Set("id_number", id)
		form.Set("community_code", "")
		body = reg.postForm("/register", form).html(t, http.StatusUnprocessableEntity, "register without a community")
		mustContain(t, "register errors", body, `<span class="field-error">`)
		if got := countRows(t, d); got != before {
			t.Fatalf("refused form registrations wrote rows: %+v, were %+v", got, before)
		}
		form.Set("community_code", "420106001")
		reg.postForm("/register", form).redirect(t, "/me", "register")
		body = reg.get("/me").html(t, http.StatusOK, "new resident's page")
		mustContain(t, "new resident's page", body, "表单居民")

		// Language: anonymous in a cookie, signed in on the account.
		lang := ts.client(t)
		body = lang.get("/login").html(t, http.StatusOK, "login form")
		mustContain(t, "Chinese sign-in", body, "登录")
		mustNotContain(t, "Chinese sign-in", body, "Sign in")
		lang.postForm("/lang", url.Values{"lang": {"en"}}).html(t, http.StatusForbidden, "switch language without csrf")
		lang.header.Set("Referer", ts.URL+"/register")
		lang.postForm("/lang", url.Values{"csrf": {lang.csrfField(t, body)}, "lang": {"en"}}).redirect(t, "/register", "switch to English")
		lang.header.Del("Referer")
		body = lang.get("/login").html(t, http.StatusOK, "login form in English")
		mustContain(t, "English sign-in", body, `<html lang="en">`, "Sign in", "Password")
		mustNotContain(t, "English sign-in", body, "登录")
		lang.postForm("/lang", url.Values{"csrf": {lang.csrfField(t, body)}, "lang": {"fr"}}).html(t, http.StatusUnprocessableEntity, "switch to French")
		lang.header.Set("Referer", "https://evil.example/phish")
		lang.postForm("/lang", url.Values{"csrf": {lang.csrfField(t, body)}, "lang": {"zh"}}).redirect(t, "/", "switch back, foreign referer")
		lang.header.Del("Referer")
		mustContain(t, "Chinese again", lang.get("/login").html(t, http.StatusOK, "login form"), "登录")

		body = res.get("/me").html(t, http.StatusOK, "resident page")
		mustContain(t, "resident page in Chinese", body, "您好，"+r1.Resident.Name)
		res.postForm("/lang", url.Values{"csrf": {res.csrfField(t, body)}, "lang": {"en"}}).redirect(t, "/", "resident switches to English")
		body = res.get("/me").html(t, http.StatusOK, "resident page in English")
		mustContain(t, "resident page in English", body, "Hello, "+r1.Resident.Name, "Sign out")
		var me meJSON
		res.get("/api/v1/me").want(t, http.StatusOK, "me").json(t, &me)
		if me.Lang != "en" {
			t.Fatalf("account language = %q after switching to English", me.Lang)
		}
	})
}

// untranslatedRE finds a message id shown as text, which is what the
// catalogue shows for a message it lacks.
var untranslatedRE = regexp.MustCompile(`>[^<]*\b((?:accesslog|admin|app|dependent|err|error|flash|form|level|list|login|me|nav|person|purpose|record|register|role|roster|sex|staff|tokens)\.[a-z_]+(?:\.[a-z_]+)*)\b[^<]*<`)

// page checks an HTML page of status, with every text translated.
func (c *client) page(t *testing.T, path string, status int) string {
	t.Helper()
	body := c.get(path).html(t, status, "GET "+path)
	if m := untranslatedRE.FindStringSubmatch(body); m != nil {
		t.Fatalf("GET %s shows the message id %q", path, m[1])
	}
	return body
}

// TestPageTour opens every page and submits every form once, as the role
// that may, and checks what each shows.
func TestPageTour(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 300)
		_, r1 := ts.login(t, "resident-1", demoPassword)

		// A resident adds a family member through the form.
		res := ts.formLogin(t, "resident-1")
		body := res.page(t, "/me/dependents/new", http.StatusOK)
		mustContain(t, "dependent form", body, `<option value="420106001" selected>`, `action="/me/dependents"`)
		form := url.Values{"csrf": {res.csrfField(t, body)}, "name": {"许小妹"}, "id_number": {"123"}, "community_code": {"420106001"}}
		body = res.postForm("/me/dependents", form).html(t, http.StatusUnprocessableEntity, "dependent with a bad ID")
		mustContain(t, "dependent errors", body, `class="field-error" id="e-id_number"`, `value="许小妹"`)
		form.Set("id_number", cnID("420106", "20210606", "982"))
		res.postForm("/me/dependents", form).redirect(t, "/me", "add dependent through the form")
		body = res.page(t, "/me", http.StatusOK)
		mustContain(t, "resident page after adding", body, "已添加家人。", "许小妹")
		if n := strings.Count(body, `<li class="dependent">`); n != 3 {
			t.Fatalf("resident page lists %d dependents, want 3", n)
		}
		mustNotContain(t, "resident page, second view", res.page(t, "/me", http.StatusOK), "已添加家人。")

		// The community worker of resident-1's community: roster, lookups.
		admin := ts.formLogin(t, "admin-1")
		var worker string
		for _, s := range staffByUsername(t, ts.demoLogin(t, "admin-1")) {
			if s.Role == "community_worker" && s.Jurisdiction == "420106001" {
				worker = s.Username
			}
		}
		cw := ts.formLogin(t, worker)
		body = cw.page(t, "/staff", http.StatusOK)
		mustContain(t, "worker home", body, `href="/staff/roster?community=420106001"`)
		body = cw.page(t, "/staff/roster?community=420106001", http.StatusOK)
		mustContain(t, "roster", body, r1.Resident.Name, "许小妹", r1.Resident.IDNumber[:3]+"***********"+r1.Resident.IDNumber[14:])
		mustNotContain(t, "roster", body, r1.Resident.IDNumber)
		cw.page(t, "/staff/roster?community=420102002", http.StatusNotFound)
		cw.page(t, "/staff/roster", http.StatusNotFound)
		body = cw.page(t, "/staff/residents/find?purpose=contact_tracing&id_number="+strings.ToLower(r1.Resident.IDNumber), http.StatusOK)
		mustContain(t, "found by ID number", body, r1.Resident.Name, "/staff/residents/1?purpose=contact_tracing")
		body = cw.page(t, "/staff/residents/find?purpose=contact_tracing&phone="+url.QueryEscape(r1.Resident.Phone[:3]+" "+r1.Resident.Phone[3:]), http.StatusOK)
		mustContain(t, "found by phone", body, r1.Resident.Name)
		body = cw.page(t, "/staff/residents/find?purpose=contact_tracing&phone=10000000000", http.StatusOK)
		mustContain(t, "nobody found", body, `data-testid="found-none"`)
		cw.page(t, "/staff/residents/find?id_number="+r1.Resident.IDNumber, http.StatusUnprocessableEntity)
		cw.page(t, "/staff/access-log", http.StatusForbidden)

		// The auditor sees both lookups, and nothing for the refused one.
		auditor := ts.formLogin(t, "auditor-1")
		body = auditor.page(t, "/staff/access-log", http.StatusOK)
		mustContain(t, "access log", body, "次查阅", `data-testid="csv"`, "查找")
		auditor.page(t, "/staff/access-log?purpose=gossip", http.StatusUnprocessableEntity)
		if csvLog := auditor.get("/staff/access-log?format=csv"); !strings.Contains(csvLog.String(), worker) ||
			!strings.HasPrefix(csvLog.Header.Get("Content-Type"), "text/csv") {
			t.Errorf("the access log's CSV lacks the worker's reads: %.300s", csvLog.String())
		}
		if n := strings.Count(body, worker+" ("); n != 2 {
			t.Fatalf("access log page shows %d entries by %s, want 2: %.2000s", n, worker, body)
		}
		mustContain(t, "access log page", body, "#1</td><td>查找</td>")

		// Admin: staff.
		body = admin.page(t, "/admin/staff", http.StatusOK)
		mustContain(t, "staff admin", body, `<option value="420102001">`, `data-testid="total"`, `rel="next"`)
		mustContain(t, "epidemiologists", admin.page(t, "/admin/staff?role=epidemiologist", http.StatusOK), "epidemiologist-2", "epidemiologist-1")
		mustNotContain(t, "epidemiologists", admin.page(t, "/admin/staff?role=epidemiologist", http.StatusOK), "community-1<")
		mustContain(t, "workers", admin.page(t, "/admin/staff?role=community_worker&limit=500", http.StatusOK), "community-1<")
		admin.page(t, "/admin/staff?role=wizard", http.StatusUnprocessableEntity)
		staffForm := url.Values{"csrf": {admin.csrfField(t, body)}, "username": {"form-clinician"}, "display_name": {"Form Clinician"},
			"role": {"clinician"}, "jurisdiction_code": {"420102"}, "password": {"short"}}
		body = admin.postForm("/admin/staff", staffForm).html(t, http.StatusUnprocessableEntity, "staff form with a short password")
		mustContain(t, "staff form errors", body, `class="field-error" id="e-password"`, `value="form-clinician"`)
		staffForm.Set("password", "a long enough password")
		admin.postForm("/admin/staff", staffForm).redirect(t, "/admin/staff", "create staff through the form")
		body = admin.page(t, "/admin/staff", http.StatusOK)
		mustContain(t, "staff admin after creating", body, "form-clinician", "工作人员账号已创建。")
		created := staffByUsername(t, ts.demoLogin(t, "admin-1"))["form-clinician"]
		clin, _ := ts.login(t, "form-clinician", "a long enough password")
		path := fmt.Sprintf("/admin/staff/%d", created.ID)
		admin.postForm(path, url.Values{"csrf": {admin.csrfField(t, body)}, "disabled": {"maybe"}}).html(t, http.StatusUnprocessableEntity, "disable: maybe")
		ts.formLogin(t, "admin-2").postForm(path, url.Values{"csrf": {admin.csrfField(t, body)}, "disabled": {"true"}}).
			html(t, http.StatusForbidden, "admin-2 posts admin-1's token")
		admin.postForm(path, url.Values{"csrf": {admin.csrfField(t, body)}, "disabled": {"true"}}).redirect(t, "/admin/staff", "disable through the form")
		clin.get("/api/v1/me").problem(t, http.StatusUnauthorized, "me of an account disabled through the form")
		mustContain(t, "staff admin after disabling", admin.page(t, "/admin/staff", http.StatusOK), `class="disabled"`, "已保存。")

		// Admin: jurisdictions, in the admin's subtree.
		admin2 := ts.formLogin(t, "admin-2")
		body = admin2.page(t, "/admin/jurisdictions", http.StatusOK)
		mustContain(t, "jurisdictions", body, "420106001", "武昌区")
		mustNotContain(t, "jurisdictions", body, "420102001", "江岸区")
		jform := url.Values{"csrf": {admin2.csrfField(t, body)}, "parent_code": {"420102"}, "code": {"420102009"}, "name_zh": {"新社区"}, "name_en": {"New Community"}}
		body = admin2.postForm("/admin/jurisdictions", jform).html(t, http.StatusUnprocessableEntity, "jurisdiction outside the subtree")
		mustContain(t, "jurisdiction errors", body, `<span class="field-error">`)
		jform.Set("parent_code", "420106")
		jform.Set("code", "420106009")
		admin2.postForm("/admin/jurisdictions", jform).redirect(t, "/admin/jurisdictions", "create a community")
		if name := communityName(t, ts, "420106009"); name != "新社区" {
			t.Fatalf("new community named %q", name)
		}
		admin2.postForm("/admin/jurisdictions", jform).html(t, http.StatusUnprocessableEntity, "the same code twice")
		mustContain(t, "register form", ts.client(t).page(t, "/register", http.StatusOK), `<option value="420106009"`)

		// Admin: tokens; the secret is shown once.
		body = admin.page(t, "/admin/tokens", http.StatusOK)
		tform := url.Values{"csrf": {admin.csrfField(t, body)}, "name": {"Hospital"}, "role": {"clinician"}, "jurisdiction_code": {"420106"},
			"expires_in_days": {"x"}}
		body = admin.postForm("/admin/tokens", tform).html(t, http.StatusUnprocessableEntity, "token for x days")
		mustContain(t, "token errors", body, `id="e-expires_in_days"`)
		tform.Set("expires_in_days", "30")
		body = admin.postForm("/admin/tokens", tform).html(t, http.StatusOK, "issue a token through the form")
		m := regexp.MustCompile(`<pre data-testid="token-secret">(obk_[0-9a-f]+_[^<]+)</pre>`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no secret on the page: %.2000s", body)
		}
		hospital := ts.client(t)
		hospital.bearer = m[1]
		var who struct {
			Role  string `json:"role"`
			Token bool   `json:"token"`
		}
		hospital.get("/api/v1/whoami").want(t, http.StatusOK, "whoami with the token from the page").json(t, &who)
		if who.Role != "clinician" || !who.Token {
			t.Fatalf("whoami = %+v", who)
		}
		var one residentJSON
		hospital.get("/api/v1/residents/1?purpose=clinical_care").want(t, http.StatusOK, "hospital token reads in 420106").json(t, &one)
		if one.ID != 1 || one.IDNumber != r1.Resident.IDNumber {
			t.Fatalf("resident 1 = %+v", one)
		}
		body = admin.page(t, "/admin/tokens", http.StatusOK)
		mustNotContain(t, "token list", body, m[1])
		rm := regexp.MustCompile(`action="(/admin/tokens/\d+/revoke)"`).FindStringSubmatch(body)
		if rm == nil {
			t.Fatalf("no revoke form: %.2000s", body)
		}
		admin.postForm(rm[1], url.Values{"csrf": {admin.csrfField(t, body)}}).redirect(t, "/admin/tokens", "revoke through the form")
		hospital.get("/api/v1/whoami").problem(t, http.StatusUnauthorized, "whoami with a token revoked through the form")
		mustContain(t, "token list after revoking", admin.page(t, "/admin/tokens", http.StatusOK), "令牌已吊销。")

		// Every staff role has a home page; logout leaves with a flash.
		for _, u := range []string{"checkpoint-1", "clinician-1", "lab-1", "commander-1", "epidemiologist-1"} {
			ts.formLogin(t, u).page(t, "/staff", http.StatusOK)
		}
		body = res.page(t, "/me", http.StatusOK)
		res.postForm("/logout", url.Values{"csrf": {res.csrfField(t, body)}}).redirect(t, "/login", "logout")
		mustContain(t, "after logout", res.page(t, "/login", http.StatusOK), "您已退出。")
		res.page(t, "/", http.StatusSeeOther)
		res.get("/nowhere").want(t, http.StatusNotFound, "no such page")
	})
}
