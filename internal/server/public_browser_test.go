package server_test

import (
	"context"
	"strings"
	"testing"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
)

// geolocation grants (or denies) the page's origin the browser's location
// and places the browser at (lat, lon).
func geolocation(origin string, granted bool, lat, lon float64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		setting := cdpbrowser.PermissionSettingDenied
		if granted {
			setting = cdpbrowser.PermissionSettingGranted
		}
		if _, err := cdp.Call(ctx, chromedp.FromContext(ctx).Browser, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: "geolocation"}, Setting: setting, Origin: origin,
		}); err != nil {
			return err
		}
		accuracy := 10.0
		_, err := cdp.Call(ctx, t, emulation.SetGeolocationOverride, emulation.SetGeolocationOverrideParams{
			Latitude: &lat, Longitude: &lon, Accuracy: &accuracy,
		})
		return err
	})
}

// placesShown counts what the map shows of the places: its markers (and
// any other shape one can click) plus the places inside its clusters.
const placesShown = `document.querySelectorAll("#exposure-map path.leaflet-interactive").length +
	[...document.querySelectorAll("#exposure-map .marker-cluster")].reduce((n, e) => n + Number(e.textContent), 0)`

// TestBrowserPublicLookups follows someone who is not signed in: they ask
// whether a confirmed case was on their train and read the answer; then
// they open the map, which draws the places without any tile server, and
// ask what is within 1 km of where they stand — and, when the browser
// refuses their location, are told so and sent to the list.
func TestBrowserPublicLookups(t *testing.T) {
	ctx := browser(t)
	ts := startServer(t, dbtest.SQLite(t), 200)
	w := publicWorld(t, ts)
	// Two districts' outlines, around the places.
	for code, ring := range map[string][]jurisdiction.Point{
		"420102": {{114.25, 30.50}, {114.32, 30.50}, {114.32, 30.60}, {114.25, 30.60}, {114.25, 30.50}},
		"420106": {{114.32, 30.50}, {114.40, 30.50}, {114.40, 30.60}, {114.32, 30.60}, {114.32, 30.50}},
	} {
		var id int64
		if err := db.Get(t.Context(), ts.DB.R, &id, "SELECT id FROM jurisdictions WHERE code = ?", code); err != nil {
			t.Fatal(err)
		}
		if err := jurisdiction.SetArea(t.Context(), ts.DB.W, id, ring); err != nil {
			t.Fatal(err)
		}
	}

	// The train look-up, from the sign-in page's link.
	do(t, ctx,
		chromedp.Navigate(ts.URL+"/login"),
		chromedp.Click(css(`[data-testid=public-links] a[href="/public/trips"]`)),
		chromedp.WaitVisible(css(`#f-service_number`)),
		chromedp.SendKeys(css(`#f-service_number`), "g1234"),
		chromedp.SetValue(css(`#f-date`), w.yesterday.String()),
		chromedp.Submit(css(`#f-service_number`)),
		chromedp.WaitVisible(css(`[data-testid=answer]`)),
	)
	if answer := text(t, ctx, `[data-testid=answer]`); !strings.Contains(answer, "G1234") || !strings.Contains(answer, w.trainWindow) {
		t.Errorf("answer = %q; want G1234 at %s", answer, w.trainWindow)
	}
	if found := eval[string](t, ctx, `document.querySelector("[data-testid=answer]").dataset.found`); found != "yes" {
		t.Errorf("answer found = %q", found)
	}
	// A date in the future: the message beside the field.
	do(t, ctx,
		chromedp.SetValue(css(`#f-date`), w.yesterday.AddDays(3).String()),
		chromedp.Submit(css(`#f-service_number`)),
		chromedp.WaitVisible(css(`#e-date`)),
	)

	// The map, with the browser standing at the market.
	do(t, ctx,
		geolocation(ts.URL, true, 30.5401, 114.3101),
		chromedp.Navigate(ts.URL+"/public/map"),
		chromedp.WaitVisible(css(`[data-testid=map]`)),
	)
	poll(t, ctx, "the map's places", `document.getElementById("exposure-map").dataset.loaded === "3"`)
	// The region is drawn under the places: its districts, by name.
	if n := eval[string](t, ctx, `document.getElementById("exposure-map").dataset.areas`); n != "2" {
		t.Errorf("%q districts drawn, want 2", n)
	}
	names := text(t, ctx, `#exposure-map`)
	for _, want := range []string{"江岸区", "武昌区"} {
		if !strings.Contains(names, want) {
			t.Errorf("the map does not name the district %s: %q", want, names)
		}
	}
	if n := eval[int](t, ctx, placesShown); n != 3 {
		t.Errorf("%d places on the map (markers and clusters), want 3: %s", n, eval[string](t, ctx, `document.querySelectorAll("#exposure-map path.leaflet-interactive").length + " paths, clusters " + [...document.querySelectorAll("#exposure-map .marker-cluster")].map(e => e.textContent).join(",")`))
	}
	// A place's popup stays on a phone's screen.
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => {
		const m = document.querySelector("#exposure-map path.leaflet-interactive") || document.querySelector("#exposure-map .marker-cluster");
		m.dispatchEvent(new MouseEvent("click", { bubbles: true }));
	})()`))
	poll(t, ctx, "a popup or a zoom into a cluster", `!!document.querySelector(".leaflet-popup") || document.querySelectorAll("#exposure-map path.leaflet-interactive").length > 0`)
	if !eval[bool](t, ctx, `(() => { const p = document.querySelector(".leaflet-popup"); if (!p) return true;
		const r = p.getBoundingClientRect(); return r.left >= 0 && r.right <= window.innerWidth; })()`) {
		t.Errorf("a place's popup runs off the %d px screen", 390)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#exposure-map .leaflet-control-scale-line").length`); n != 1 {
		t.Errorf("%d scale bars", n)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#exposure-map img.leaflet-tile").length`); n != 0 {
		t.Errorf("%d tiles loaded without a tile URL", n)
	}
	if others := eval[[]string](t, ctx, `performance.getEntriesByType("resource").map(e => e.name).filter(u => !u.startsWith(location.origin))`); len(others) > 0 {
		t.Errorf("the map fetched from elsewhere: %v", others)
	}
	list := text(t, ctx, `#list`)
	if !strings.Contains(list, "Riverside Bookshop") || strings.Contains(list, "Retracted Restaurant") {
		t.Errorf("list beneath the map = %q", list)
	}

	do(t, ctx, chromedp.Click(css(`[data-testid=near-me]`)), chromedp.WaitVisible(css(`[data-testid=near-list]`)))
	near := text(t, ctx, `[data-testid=near-list]`)
	if !strings.Contains(near, "解放路菜市场") || !strings.Contains(near, "Lakeside Cafe") || strings.Contains(near, "Riverside Bookshop") ||
		!strings.Contains(near, w.cafeWindow) {
		t.Errorf("within 1 km = %q; want the market and the cafe with their windows, not the bookshop", near)
	}
	if n := eval[int](t, ctx, placesShown); n != 5 {
		t.Errorf("%d shapes after locating; want 3 places, the 1 km circle and the user", n)
	}

	// Location refused: said so, with the way to the list.
	do(t, ctx,
		geolocation(ts.URL, false, 0, 0),
		chromedp.Navigate(ts.URL+"/public/map"),
		chromedp.WaitVisible(css(`[data-testid=near-me]`)),
		chromedp.Click(css(`[data-testid=near-me]`)),
		chromedp.WaitVisible(css(`[data-testid=near-message]`)),
	)
	poll(t, ctx, "the refusal", `document.querySelector("[data-testid=near-message]").textContent.length > 20 &&
		!!document.querySelector('#near a[href="#list"]')`)
	if msg := text(t, ctx, `[data-testid=near-message]`); strings.Contains(msg, "…") {
		t.Errorf("still locating after a refusal: %q", msg)
	}
}
