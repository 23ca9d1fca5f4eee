package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
)

// atPlace lets the page read the browser's location, which is lat, lon,
// and saves downloads into dir.
func atPlace(lat, lon float64, dir string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: "geolocation"}, Setting: cdpbrowser.PermissionSettingGranted,
		}); err != nil {
			return err
		}
		accuracy := 10.0
		if _, err := cdp.Call(ctx, t, emulation.SetGeolocationOverride, emulation.SetGeolocationOverrideParams{
			Latitude: &lat, Longitude: &lon, Accuracy: &accuracy,
		}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
			Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir,
		})
		return err
	})
}

// TestBrowserPlaces: a resident registers a shop on the page, its location
// from the phone's, and downloads and prints its poster.
func TestBrowserPlaces(t *testing.T) {
	ctx := browser(t)
	ts := startServer(t, dbtest.SQLite(t), 300)
	downloads := t.TempDir()
	do(t, ctx,
		atPlace(30.5452, 114.2711, downloads),
		signIn(ts.URL, "resident-1"),
		chromedp.WaitVisible(css(`[data-testid=my-places]`)),
		chromedp.Click(css(`[data-testid=my-places]`)),
		chromedp.WaitVisible(css(`[data-testid=place-new]`)),
		chromedp.Click(css(`[data-testid=place-new]`)),
		chromedp.WaitVisible(css(`[data-locate]`)), // shown by the script when the browser can locate
		chromedp.Click(css(`[data-locate]`)),
	)
	poll(t, ctx, "the location in the form", `document.getElementById("f-latitude").value === "30.545200" && document.getElementById("f-longitude").value === "114.271100"`)

	// A first try without a name shows the message beside the field.
	do(t, ctx,
		chromedp.SetValue(css(`#f-type`), "restaurant"),
		chromedp.SendKeys(css(`#f-address`), "汉正街 12 号"),
		chromedp.SetValue(css(`#f-jurisdiction_code`), "420106001"),
		chromedp.Click(css(`[data-testid=place-submit]`)),
		chromedp.WaitVisible(css(`#e-name`)),
	)
	if e := text(t, ctx, `#e-name`); !strings.Contains(e, "100") {
		t.Errorf("name error = %q", e)
	}
	do(t, ctx,
		chromedp.SendKeys(css(`#f-name`), "老通城豆皮"),
		chromedp.Click(css(`[data-testid=place-submit]`)),
		chromedp.WaitVisible(css(`[data-testid=place-name]`)),
	)
	if name := text(t, ctx, `[data-testid=place-name]`); name != "老通城豆皮" {
		t.Fatalf("place page of %q", name)
	}
	if facts := text(t, ctx, `[data-testid=place]`); !strings.Contains(facts, "30.545200, 114.271100") || !strings.Contains(facts, "餐馆") {
		t.Errorf("place facts = %q", facts)
	}

	// Download the poster: an A4 SVG file with the name on it.
	do(t, ctx, chromedp.Click(css(`[data-testid=poster-zh]`)))
	var svg []byte
	deadline := time.Now().Add(20 * time.Second)
	for svg == nil && time.Now().Before(deadline) {
		files, _ := filepath.Glob(filepath.Join(downloads, "*.svg"))
		if len(files) == 1 {
			if b, err := os.ReadFile(files[0]); err == nil && strings.HasSuffix(strings.TrimSpace(string(b)), "</svg>") {
				svg = b
				if base := filepath.Base(files[0]); !strings.HasPrefix(base, "place-") || !strings.HasSuffix(base, "老通城豆皮-zh.svg") {
					t.Errorf("downloaded as %q", base)
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if svg == nil {
		t.Fatal("no poster downloaded")
	}
	if s := string(svg); !strings.Contains(s, `width="210mm" height="297mm"`) || !strings.Contains(s, "老通城豆皮") || !strings.Contains(s, "扫码登记") {
		t.Errorf("poster = %.300s", s)
	}

	// The print page shows the poster, loaded, with a print button.
	do(t, ctx,
		chromedp.Click(css(`[data-testid=poster-print]`)),
		chromedp.WaitVisible(css(`[data-print]`)),
	)
	poll(t, ctx, "the poster on the print page", `(function () { var i = document.querySelector("[data-testid=poster-sheet]"); return i && i.complete && i.naturalWidth > 0; })()`)
}
