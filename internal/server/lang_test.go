package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
)

// TestNewAccountTakesBrowserLanguage: an account that has no language of
// its own (the demo's, a staff account just made) takes the browser's at
// its first sign-in, and keeps it; a registration takes the browser's
// language; a language the person chose is never replaced.
func TestNewAccountTakesBrowserLanguage(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 300)
		browser := func(lang string) *client {
			c := ts.client(t)
			c.header.Set("Accept-Language", lang)
			return c
		}
		formSignIn := func(c *client, username string) {
			t.Helper()
			token := c.csrfField(t, c.get("/login").html(t, http.StatusOK, "login form"))
			c.postForm("/login", url.Values{"csrf": {token}, "username": {username}, "password": {demoPassword}}).redirect(t, "/", "sign-in "+username)
		}
		htmlLang := func(c *client, path string) string {
			t.Helper()
			page := c.get(path).html(t, http.StatusOK, path)
			_, rest, _ := strings.Cut(page, `<html lang="`)
			l, _, _ := strings.Cut(rest, `"`)
			return l
		}

		// A demo resident signing in from an English browser reads English.
		en := browser("en-GB,en;q=0.9")
		formSignIn(en, "resident-1")
		if l := htmlLang(en, "/me"); l != "en" {
			t.Fatalf("resident-1 signed in with Accept-Language en reads a %q page", l)
		}
		// The account keeps it: from a Chinese browser too.
		zh := browser("zh-CN,zh;q=0.9")
		formSignIn(zh, "resident-1")
		if l := htmlLang(zh, "/me"); l != "en" {
			t.Errorf("resident-1, whose first sign-in was in English, reads a %q page later", l)
		}
		// And a demo staff account from a Chinese browser reads Chinese.
		zh2 := browser("zh-CN,zh;q=0.9,en;q=0.5")
		formSignIn(zh2, "community-1")
		if l := htmlLang(zh2, "/staff"); l != "zh-CN" {
			t.Errorf("community-1 signed in with Accept-Language zh reads a %q page", l)
		}

		// The API sign-in does the same.
		api := browser("en")
		r := api.post("/api/v1/login", map[string]string{"username": "admin-1", "password": demoPassword})
		var me meJSON
		r.want(t, http.StatusOK, "API sign-in").json(t, &me)
		var stored string
		if err := db.Get(t.Context(), d.R, &stored, "SELECT lang FROM accounts WHERE username = ?", "admin-1"); err != nil || stored != "en" || me.Lang != "en" {
			t.Errorf("admin-1 signed in by API from an English browser: answer lang %q, stored %q, %v", me.Lang, stored, err)
		}

		// A staff account an administrator makes (from a Chinese browser)
		// takes its own holder's browser's language at its first sign-in.
		admin, _ := ts.login(t, "admin-1", demoPassword)
		admin.header.Set("Accept-Language", "zh-CN")
		admin.post("/api/v1/staff", map[string]string{"username": "new-clinician", "display_name": "New Clinician", "role": "clinician",
			"jurisdiction_code": "4201", "password": "long password"}).want(t, http.StatusCreated, "create staff")
		r = browser("en").post("/api/v1/login", map[string]string{"username": "new-clinician", "password": "long password"})
		r.want(t, http.StatusOK, "new staff sign-in").json(t, &me)
		if me.Lang != "en" {
			t.Errorf("a new staff account signed in from an English browser: lang %q", me.Lang)
		}

		// A language chosen is kept whatever the browser says.
		c, _ := ts.login(t, "resident-2", demoPassword)
		c.send(http.MethodPut, "/api/v1/me/lang", map[string]string{"lang": "zh"}).want(t, http.StatusNoContent, "choose zh")
		en2 := browser("en")
		formSignIn(en2, "resident-2")
		if l := htmlLang(en2, "/me"); l != "zh-CN" {
			t.Errorf("resident-2, who chose Chinese, reads a %q page from an English browser", l)
		}

		// Registering from an English browser without saying a language.
		reg := browser("en-US")
		r = reg.post("/api/v1/register", map[string]string{"name": "新居民", "id_number": cnID("420106", "19900517", "915"),
			"phone": "13900001234", "community_code": "420106001", "username": "new-resident", "password": "correct horse"})
		r.want(t, http.StatusCreated, "registration").json(t, &me)
		if me.Lang != "en" {
			t.Errorf("registered from an English browser: lang %q", me.Lang)
		}
		if err := db.Get(t.Context(), d.R, &stored, "SELECT lang FROM accounts WHERE username = ?", "new-resident"); err != nil || stored != "en" {
			t.Errorf("registered from an English browser: stored lang %q, %v", stored, err)
		}
	})
}
