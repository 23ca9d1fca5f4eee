package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/http/route"
	"github.com/outbreak-platform/outbreak/internal/rbac"
)

// overflowJS names what sticks out past the right edge of the window, or
// says "" when the page fits: a page that scrolls sideways on a phone.
const overflowJS = `(() => {
  const w = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= w + 1) return "";
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > w + 1 && getComputedStyle(el).position !== "fixed") {
      let name = el.tagName.toLowerCase();
      if (el.id) name += "#" + el.id;
      else if (el.getAttribute("data-testid")) name += "[" + el.getAttribute("data-testid") + "]";
      else if (el.className && typeof el.className === "string") name += "." + el.className.split(" ")[0];
      out.push(name + " to " + Math.round(r.right) + "px");
    }
  }
  return document.documentElement.scrollWidth + "px wide in " + w + "px: " + out.slice(-4).join(", ");
})()`

// TestBrowserPhoneWalk visits every page of every role in a 390 px wide
// window, in Chinese and in English, and fails on any page that scrolls
// sideways. OUTBREAK_SCREENSHOTS=dir keeps a screenshot of each page (and
// OUTBREAK_WALK_WIDTH another width) for a person to look at.
func TestBrowserPhoneWalk(t *testing.T) {
	base := browserFor(t, 5*time.Minute)
	width := int64(390)
	if w, err := strconv.Atoi(os.Getenv("OUTBREAK_WALK_WIDTH")); err == nil && w > 0 {
		width = int64(w)
	}
	shots := os.Getenv("OUTBREAK_SCREENSHOTS")
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 40)
		// Rows for the record, tracing and place pages.
		res, me := ts.login(t, "resident-1", demoPassword)
		res.post("/api/v1/me/declarations", map[string]any{"temperature_c": 38.2, "location_code": me.Resident.CommunityCode,
			"symptoms": []string{"fever"}}).want(t, http.StatusCreated, "declare")
		place := registerPlace(t, res, shopBody("汉正街小吃", me.Resident.CommunityCode), "a place")
		ts.demoLogin(t, "epidemiologist-1").post("/api/v1/residents/"+strconv.FormatInt(me.Resident.ID, 10)+"/case-status",
			map[string]any{"status": "confirmed", "since": time.Now().Format("2006-01-02"),
				"onset": time.Now().Add(-48 * time.Hour).Format("2006-01-02"), "reason": "核酸阳性",
				"legal_basis": "传染病防治法"}).want(t, http.StatusOK, "confirm the case")
		ids := []*scopeMarker{{residentID: me.Resident.ID, placeID: place.ID}}

		walk := walkPaths(ts.Server.Routes(), ids)
		// pagesOf lists the pages a role may open (anonymous: the public
		// ones); the rest only redirect or answer 403.
		pagesOf := func(role rbac.Role) []string {
			var p *auth.Principal
			if role != "" {
				p = &auth.Principal{Actor: rbac.Actor{Role: role, ResidentID: me.Resident.ID, JurisdictionID: 1}, Account: &account.Account{Role: role}}
			}
			var out []string
			for _, w := range walk {
				path, _, _ := strings.Cut(w.Path, "?")
				if w.Kind != route.Page || w.CSV || strings.HasSuffix(path, ".svg") || strings.HasSuffix(path, ".pdf") ||
					!w.Guard.Allows(p) || (role != "" && w.Guard.Name == route.Anyone.Name && path != "/") {
					continue
				}
				out = append(out, w.Path)
			}
			return out
		}
		users := []struct {
			login string
			role  rbac.Role
		}{{"", ""}, {"resident-1", rbac.Resident}, {"admin-1", rbac.Admin}, {"commander-1", rbac.Commander},
			{"epidemiologist-1", rbac.Epidemiologist}, {"auditor-1", rbac.Auditor}, {"lab-1", rbac.LabTechnician},
			{"clinician-1", rbac.Clinician}, {"checkpoint-1", rbac.Checkpoint}, {"community-1", rbac.CommunityWorker}}
		langs := []string{"zh", "en"}
		if d.Dialect == db.Postgres {
			langs = langs[:1] // the pages are the same; the rows come from the other store
		}
		visited := 0
		for _, lang := range langs {
			for _, user := range users {
				u := user.login
				ctx, cancel := chromedp.NewContext(base, chromedp.WithNewBrowserContext())
				steps := []chromedp.Action[chromedp.Void]{chromedp.EmulateViewport(width, 844)}
				if lang == "en" {
					steps = append(steps, chromedp.Navigate(ts.URL+"/login"), chromedp.Evaluate[chromedp.Void](`document.cookie = "lang=en; path=/"`))
				}
				if u != "" {
					steps = append(steps, signIn(ts.URL, u), chromedp.WaitNotPresent(css(`#f-password`)))
					if lang == "en" { // the account's own language wins over the cookie
						steps = append(steps, chromedp.Click(css(`button[name=lang][value=en]`)), chromedp.WaitVisible(css(`button[name=lang][value=zh]`)))
					}
				}
				if err := chromedp.Do(ctx); err != nil { // the tab lives as long as ctx, not a step's timeout
					t.Fatal(err)
				}
				sctx, scancel := context.WithTimeout(ctx, 15*time.Second)
				err := chromedp.Do(sctx, steps...)
				scancel()
				if err != nil {
					loc, _ := chromedp.Run(ctx, chromedp.Location())
					body, _ := chromedp.Run(ctx, chromedp.Text(css("body")))
					t.Fatalf("%s (%s): sign-in: %v at %s: %.300s", who(u), lang, err, loc, body)
				}
				for _, path := range pagesOf(user.role) {
					start := time.Now()
					nctx, ncancel := context.WithTimeout(ctx, 10*time.Second)
					err := chromedp.Do(nctx, chromedp.Navigate(ts.URL+path))
					ncancel()
					if err != nil {
						t.Fatalf("%s: %s: %v", who(u), path, err)
					}
					overflow, err := chromedp.Run(ctx, chromedp.Evaluate[string](overflowJS))
					if err != nil {
						t.Fatalf("%s: %s: %v", u, path, err)
					}
					visited++
					if took := time.Since(start); took > time.Second {
						t.Logf("%s: %s took %v", who(u), path, took)
					}
					if overflow != "" {
						t.Errorf("%s (%s) at %d px: %s scrolls sideways: %s", who(u), lang, width, path, overflow)
					}
					if shots != "" {
						png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
						if err == nil {
							name := fmt.Sprintf("%s-%s-%s-%d.png", who(u), lang, strings.NewReplacer("/", "_", "?", "_", "&", "_", "=", "-").Replace(path), width)
							_ = os.WriteFile(filepath.Join(shots, name), png, 0o644)
						}
					}
				}
				cancel()
			}
		}
		if visited < 50*len(langs) {
			t.Fatalf("the walk visited only %d pages", visited)
		}
		t.Logf("%d page visits at %d px", visited, width)
	})
}

func who(u string) string {
	if u == "" {
		return "anonymous"
	}
	return u
}
