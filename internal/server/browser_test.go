package server_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
)

// browser starts headless Chromium (Debian's package; scripts/ensure-test-tools.sh
// installs it), with extra options if any, and returns a context to drive
// it. Without Chromium the test fails when OUTBREAK_REQUIRE_BROWSER=1 (as
// make test sets) and is skipped, loudly, otherwise.
func browser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	return browserFor(t, 60*time.Second, extra...)
}

// browserFor is browser for a test of up to limit.
func browserFor(t *testing.T, limit time.Duration, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := os.Getenv("OUTBREAK_CHROMIUM")
	if path == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		if os.Getenv("OUTBREAK_REQUIRE_BROWSER") == "1" {
			t.Fatal("Chromium not found: run scripts/ensure-test-tools.sh (make test does)")
		}
		t.Skip("!!! Chromium not found: browser tests NOT run (make test installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Headless,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(390, 844), // a phone's screen
		// A phone set to Chinese, as the region's people's are: accounts
		// without a language of their own take the browser's.
		chromedp.Flag("lang", "zh-CN"), chromedp.Flag("accept-lang", "zh-CN,zh"),
	)
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, limit)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// camera makes Chromium's fake camera show a video (a .y4m file).
func camera(video string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.Flag("use-fake-device-for-media-stream", true), chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-video-capture", video),
	}
}

func signIn(base, user string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(css(`#f-username`)),
		chromedp.SendKeys(css(`#f-username`), user),
		chromedp.SendKeys(css(`#f-password`), "demo"),
		chromedp.Submit(css(`#f-password`)),
	)
}

func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// text returns the text of the first element matching sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func TestBrowserResident(t *testing.T) {
	ctx := browser(t)
	ts := startServer(t, dbtest.SQLite(t), 300)
	do(t, ctx, signIn(ts.URL, "resident-1"), chromedp.WaitVisible(css(`[data-testid=dependents]`)))
	location, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	who, deps := text(t, ctx, `[data-testid=who]`), text(t, ctx, `[data-testid=dependents]`)
	if !strings.HasSuffix(location, "/me") || !strings.Contains(who, "居民") {
		t.Errorf("after sign-in at %s as %q", location, who)
	}
	if strings.Count(deps, "*") == 0 || len(strings.Split(strings.TrimSpace(deps), "\n")) != 2 {
		t.Errorf("dependents list = %q; want two, with masked ID numbers", deps)
	}

	// Switch to English: the same page in the other language.
	do(t, ctx, chromedp.Click(css(`button[name=lang][value=en]`)), chromedp.WaitVisible(css(`button[name=lang][value=zh]`)))
	if h := text(t, ctx, `[data-testid=dependents-heading]`); h != "Family members I act for" {
		t.Errorf("English heading = %q", h)
	}

	// Adding a dependent with a wrong check digit shows the message beside the field.
	do(t, ctx,
		chromedp.Navigate(ts.URL+"/me/dependents/new"),
		chromedp.WaitVisible(css(`#f-name`)),
		chromedp.SendKeys(css(`#f-name`), "李小明"),
		chromedp.SendKeys(css(`#f-id_number`), "110105201503070011"),
		chromedp.Submit(css(`#f-name`)),
		chromedp.WaitVisible(css(`#e-id_number`)),
	)
	if e := text(t, ctx, `#e-id_number`); !strings.Contains(e, "check digit") {
		t.Errorf("field error = %q", e)
	}
}

func TestBrowserCommunityWorker(t *testing.T) {
	ctx := browser(t)
	d := dbtest.SQLite(t)
	ts := startServer(t, d, 3000)
	do(t, ctx, signIn(ts.URL, "community-1"), chromedp.WaitVisible(css(`[data-testid=scope]`)))
	if scope := text(t, ctx, `[data-testid=scope]`); !strings.Contains(scope, "420102001") {
		t.Errorf("scope = %q; community-1 works in 420102001", scope)
	}
	do(t, ctx, chromedp.Click(css(`[data-testid=counts] a`)), chromedp.WaitVisible(css(`[data-testid=roster]`)))
	roster := text(t, ctx, `[data-testid=roster]`)
	// Opening a record asks why, then logs the read.
	do(t, ctx,
		chromedp.Click(css(`[data-testid=roster] tbody tr a`)),
		chromedp.WaitVisible(css(`#f-purpose`)),
		chromedp.SetValue(css(`#f-purpose`), "quarantine_follow_up"),
		chromedp.Submit(css(`#f-purpose`)),
		chromedp.WaitVisible(css(`[data-testid=record-name]`)),
	)
	name := text(t, ctx, `[data-testid=record-name]`)
	if !strings.Contains(roster, "*") || name == "" || !strings.Contains(roster, name) {
		t.Errorf("roster %q should list masked numbers and %q", roster, name)
	}
	var logged int
	if err := db.Get(context.Background(), d.R, &logged,
		"SELECT count(*) FROM access_log a JOIN accounts s ON s.id = a.actor_id WHERE s.username = 'community-1' AND a.purpose = 'quarantine_follow_up'"); err != nil || logged != 1 {
		t.Errorf("access log entries = %d, %v; want 1", logged, err)
	}
}
