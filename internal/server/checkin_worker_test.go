package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
)

var manifestRE = regexp.MustCompile(`^const MANIFEST = (\{[^\n]*\});\n`)

// TestCheckInWorker checks the check-in page's service worker and the
// offline copy of the page it keeps: anyone may fetch both, the worker is
// revalidated at each visit and may control /checkin, and the copy carries
// nobody's data — a signed-in resident gets byte for byte what an
// anonymous visitor gets in the same language, and no cookie is set or
// consumed by it.
func TestCheckInWorker(t *testing.T) {
	t.Parallel()
	ts := startServer(t, dbtest.SQLite(t), 300)
	anon := ts.client(t)

	sw := anon.get("/checkin/sw.js").want(t, http.StatusOK, "worker, anonymous")
	for k, want := range map[string]string{"Content-Type": "text/javascript; charset=utf-8", "Service-Worker-Allowed": "/checkin",
		"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"} {
		if got := sw.Header.Get(k); got != want {
			t.Errorf("worker %s = %q, want %q", k, got, want)
		}
	}
	m := manifestRE.FindSubmatch(sw.Body)
	if m == nil {
		t.Fatalf("worker without its manifest: %.300s", sw.Body)
	}
	var manifest struct {
		Version string   `json:"version"`
		Page    string   `json:"page"`
		Shell   string   `json:"shell"`
		Assets  []string `json:"assets"`
	}
	if err := json.Unmarshal(m[1], &manifest); err != nil {
		t.Fatal(err)
	}
	if manifest.Page != "/checkin" || manifest.Shell != "/checkin/offline" || len(manifest.Assets) != 2 || manifest.Version == "" {
		t.Fatalf("manifest = %+v", manifest)
	}
	// The worker keeps the assets the page uses, under their hashed URLs.
	page := ts.formLogin(t, "resident-1").page(t, "/checkin", http.StatusOK)
	for _, a := range manifest.Assets {
		if !strings.Contains(page, `"`+a+`"`) {
			t.Errorf("the worker keeps %s, which the page does not use", a)
		}
		if res := anon.get(a).want(t, http.StatusOK, a); !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: Cache-Control %q", a, res.Header.Get("Cache-Control"))
		}
	}
	// resident-1 has two dependents: the page gives their ids and names to
	// keep for the offline copy.
	mustContain(t, "check-in page", page, `"worker":"/checkin/sw.js"`, `"scope":"/checkin"`, `"region":"4201"`, `"dependents":[{"id":`)
	// Revalidated by its ETag.
	tag := sw.Header.Get("ETag")
	if tag != `"`+manifest.Version+`"` {
		t.Errorf("worker ETag %q, version %q", tag, manifest.Version)
	}
	anon.header.Set("If-None-Match", tag)
	anon.get("/checkin/sw.js").want(t, http.StatusNotModified, "worker with its ETag")
	anon.header.Set("If-None-Match", `"stale"`)
	anon.get("/checkin/sw.js").want(t, http.StatusOK, "worker with another ETag")
	anon.header.Del("If-None-Match")

	// The offline copy: no header forms, no token, no cookie.
	res := anon.get("/checkin/offline")
	shell := res.html(t, http.StatusOK, "offline copy, anonymous")
	if cc := res.Header.Get("Cache-Control"); cc != "no-cache" || res.Header.Get("ETag") == "" {
		t.Errorf("offline copy: Cache-Control %q, ETag %q", cc, res.Header.Get("ETag"))
	}
	if c := res.Header.Values("Set-Cookie"); len(c) != 0 {
		t.Errorf("the offline copy sets cookies: %v", c)
	}
	mustContain(t, "offline copy", shell, `id="ci-config"`, `"offline":true`, `"account":0`, `"csrf":""`,
		`"account_cookie":"`+auth.OfflineAccountCookie+`"`, `data-testid="offline-page"`, manifest.Assets[0], manifest.Assets[1])
	mustNotContain(t, "offline copy", shell, `action="/logout"`, `name="csrf"`, `data-testid="who"`, `"dependents"`)
	anon.header.Set("If-None-Match", res.Header.Get("ETag"))
	anon.get("/checkin/offline").want(t, http.StatusNotModified, "offline copy with its ETag")
	anon.header.Del("If-None-Match")

	// Signed in: the same bytes, none of the resident's, and the flash
	// message waiting for the next page stays for it.
	c := ts.formLogin(t, "resident-1")
	c.cookies["flash"] = "Y2hlY2tpbi5mbGFzaC5jaGVja2VkX291dA" // checkin.flash.checked_out
	mine := c.get("/checkin/offline")
	if mine.String() != shell {
		t.Errorf("a resident's offline copy differs from an anonymous one:\n%s\n---\n%s", mine, shell)
	}
	if c.cookies["flash"] == "" {
		t.Error("fetching the offline copy consumed the flash message")
	}
	// In the resident's language.
	api, _ := ts.login(t, "resident-1", demoPassword)
	api.send(http.MethodPut, "/api/v1/me/lang", map[string]string{"lang": "en"}).want(t, http.StatusNoContent, "language")
	en := ts.formLogin(t, "resident-1").page(t, "/checkin/offline", http.StatusOK)
	mustContain(t, "offline copy in English", en, `<html lang="en">`, "Check in (offline)", "No network: this phone cannot check the poster")
}

// TestOfflineAccountCookie: the check-in page names the account in a
// cookie its offline copy reads; every sign-in and sign-out clears it, so
// that the copy never files a check-in under the previous person's account.
func TestOfflineAccountCookie(t *testing.T) {
	t.Parallel()
	ts := startServer(t, dbtest.SQLite(t), 300)
	c := ts.formLogin(t, "resident-1")
	if _, ok := c.cookies[auth.OfflineAccountCookie]; ok {
		t.Fatal("the cookie is set before the check-in page is opened")
	}
	res := c.get("/checkin")
	account := accountOf(t, res.html(t, http.StatusOK, "check-in page"))
	var set string
	for _, v := range res.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, auth.OfflineAccountCookie+"=") {
			set = v
		}
	}
	if c.cookies[auth.OfflineAccountCookie] != account || strings.Contains(set, "HttpOnly") ||
		!strings.Contains(set, "Path=/;") || !strings.Contains(set, "Max-Age=604800") || !strings.Contains(set, "Secure") {
		t.Fatalf("cookie %q; want account %s, for scripts, for a resident's session", set, account)
	}

	// Signing out clears it, with the site's storage.
	body := c.page(t, "/me", http.StatusOK)
	out := c.postForm("/logout", url.Values{"csrf": {c.csrfField(t, body)}})
	out.redirect(t, "/login", "sign out")
	if _, ok := c.cookies[auth.OfflineAccountCookie]; ok {
		t.Error("signing out left the cookie")
	}
	if got := out.Header.Get("Clear-Site-Data"); !strings.Contains(got, `"storage"`) {
		t.Errorf("Clear-Site-Data %q", got)
	}

	// Someone else signs in on the same phone: cleared too, until they
	// open the check-in page themselves.
	other := ts.client(t)
	other.cookies[auth.OfflineAccountCookie] = account
	login := other.get("/login").html(t, http.StatusOK, "login form")
	other.postForm("/login", url.Values{"csrf": {other.csrfField(t, login)}, "username": {"resident-2"}, "password": {demoPassword}}).
		redirect(t, "/", "sign-in of resident-2")
	if _, ok := other.cookies[auth.OfflineAccountCookie]; ok {
		t.Error("signing in left the previous account's cookie")
	}
	theirs := accountOf(t, other.page(t, "/checkin", http.StatusOK))
	if got := other.cookies[auth.OfflineAccountCookie]; got != theirs || got == account {
		t.Errorf("resident-2's cookie names account %q; theirs is %s", got, theirs)
	}
	// The API's sign-in clears it as well.
	api := ts.client(t)
	api.cookies[auth.OfflineAccountCookie] = "1"
	api.post("/api/v1/login", map[string]string{"username": "resident-2", "password": demoPassword}).want(t, http.StatusOK, "API sign-in")
	if _, ok := api.cookies[auth.OfflineAccountCookie]; ok {
		t.Error("the API's sign-in left the cookie")
	}
}

var accountRE = regexp.MustCompile(`"account":([1-9][0-9]*)`)

// accountOf returns the account id a check-in page gives its script.
func accountOf(t *testing.T, page string) string {
	t.Helper()
	m := accountRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no account in the page's config: %.500s", page)
	}
	return m[1]
}
