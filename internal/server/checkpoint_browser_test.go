package server_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	cphttp "github.com/outbreak-platform/outbreak/internal/http/checkpoint"
	"github.com/outbreak-platform/outbreak/internal/i18n"
	"github.com/outbreak-platform/outbreak/internal/issuer"
	"github.com/outbreak-platform/outbreak/internal/pass"
)

// passageQueueKey is where the checkpoint page keeps passages not yet sent
// (web/checkpoint/src/queue.js).
const passageQueueKey = "outbreak.checkpoint.passages.v1"

type passJSON struct {
	Text       string `json:"text"`
	Colour     string `json:"colour"`
	MaskedName string `json:"masked_name"`
	Region     string `json:"region"`
}

// residentPass has resident-1 declare and returns a freshly signed pass.
func residentPass(t *testing.T, ts *testServer) passJSON {
	t.Helper()
	r := ts.demoLogin(t, "resident-1")
	r.post("/api/v1/me/declarations", map[string]any{"temperature_c": 36.5, "location_code": "420106001"}).want(t, http.StatusCreated, "declare")
	var p passJSON
	r.get("/api/v1/me/pass").want(t, http.StatusOK, "pass").json(t, &p)
	if !strings.HasPrefix(p.Text, pass.Prefix) || p.MaskedName == "" {
		t.Fatalf("pass = %+v", p)
	}
	return p
}

// serverTrustList is the server's trust list, checked with its root key
// the way any verifier would.
func serverTrustList(t *testing.T, ts *testServer) *pass.TrustList {
	t.Helper()
	c := ts.client(t)
	var root struct {
		PublicKey string `json:"public_key"`
	}
	c.get("/api/v1/trust-list/root").want(t, http.StatusOK, "trust root").json(t, &root)
	pub, err := base64.RawURLEncoding.DecodeString(root.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	tl, err := pass.ParseTrustList(c.get("/api/v1/trust-list").want(t, http.StatusOK, "trust list").Body, pub)
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

// setNetwork cuts Chromium off the network, or restores it: the page's
// requests and navigator.onLine, and the requests of every service worker
// running — the page's emulation leaves its worker's own fetches alone, so
// each worker is attached to and cut off as well.
func setNetwork(online bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		// The workers first, the page last: the page's "online" event
		// sends what waits through its worker at once, which must be
		// online by then (and offline before the page can notice).
		targets, err := chromedp.Targets(ctx)
		if err != nil {
			return err
		}
		for _, info := range targets {
			if info.Type != "service_worker" {
				continue
			}
			// One session per worker, kept until the browser closes:
			// cancelling it would stop the worker.
			v, _ := workerSessions.LoadOrStore(info.TargetID, sync.OnceValue(func() context.Context {
				wctx, _ := chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID))
				return wctx
			}))
			wctx := v.(func() context.Context)()
			if err := chromedp.Do(wctx, chromedp.Func(func(ctx context.Context, w *chromedp.Target) error {
				return emulateNetwork(ctx, w, online)
			})); err != nil {
				return fmt.Errorf("the service worker %s: %w", info.URL, err)
			}
		}
		if err := emulateNetwork(ctx, t, online); err != nil {
			return err
		}
		if !online {
			// A phone may have evicted its HTTP cache by the time it
			// loses signal: what the pages need offline must come from
			// their workers' caches alone (an asset answered by the HTTP
			// cache would hide a worker that does not keep it).
			if _, err := cdp.Call(ctx, t, network.ClearBrowserCache, cdp.Empty{}); err != nil {
				return err
			}
		}
		_, err = cdp.Call(ctx, t, network.OverrideNetworkState, network.OverrideNetworkStateParams{
			Offline: !online, DownloadThroughput: -1, UploadThroughput: -1,
		})
		return err
	})
}

// workerSessions holds the context attached to each service worker
// target, by target id.
var workerSessions sync.Map

// emulateNetwork cuts the target's requests off the network, or restores
// them.
func emulateNetwork(ctx context.Context, t *chromedp.Target, online bool) error {
	if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
		return err
	}
	offline := !online
	var rules []*network.Conditions
	if offline {
		rules = append(rules, &network.Conditions{Offline: true, DownloadThroughput: -1, UploadThroughput: -1})
	}
	_, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		EmulateOfflineServiceWorker: &offline, MatchedNetworkConditions: rules,
	})
	return err
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func poll(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, expr, err)
	}
}

// check pastes a pass into the page, checks it and returns the result
// screen's colour (or "refused"), the masked name and the reason shown.
func check(t *testing.T, ctx context.Context, passText string) (colour, name, reason string) {
	t.Helper()
	do(t, ctx,
		chromedp.SetValue(css(`#cp-text`), passText),
		chromedp.Click(css(`#cp-check`)),
		chromedp.WaitVisible(css(`[data-testid=result]`)),
	)
	res := eval[map[string]string](t, ctx, `({colour: document.getElementById("cp-result").dataset.colour,
		name: document.getElementById("cp-name").textContent, reason: document.getElementById("cp-reason").textContent})`)
	if clock := text(t, ctx, `[data-testid=clock]`); !strings.Contains(clock, ":") {
		t.Errorf("no live clock on the result screen: %q", clock)
	}
	do(t, ctx, chromedp.Click(css(`[data-testid=next]`)), chromedp.WaitNotVisible(css(`[data-testid=result]`)))
	return res["colour"], res["name"], res["reason"]
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestBrowserCheckpointOffline follows a checkpoint operator whose network
// fails: the page, opened once online, opens again from its service
// worker; a resident's pass shows green with the masked name; passes
// changed by one character, truncated, signed by an unknown key or issued
// for another region are refused, with the reason in the operator's
// language, and never show green; and once the network is back the
// passages reach the server exactly once, even when the page sends them
// all again.
func TestBrowserCheckpointOffline(t *testing.T) {
	ctx := browser(t)
	d := dbtest.SQLite(t)
	ts := startServer(t, d, 300)
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	zh := cat.For("zh")

	p := residentPass(t, ts)
	if p.Colour != "green" {
		t.Fatalf("resident-1's pass is %s after a normal declaration; want green", p.Colour)
	}
	tl := serverTrustList(t, ts)
	claims, err := tl.Verify(p.Text, time.Now(), p.Region)
	if err != nil {
		t.Fatal(err)
	}

	// Online: the page, its worker in control, the trust list loaded.
	do(t, ctx,
		signIn(ts.URL, "checkpoint-1"),
		chromedp.WaitVisible(css(`[data-testid=who]`)),
		chromedp.Navigate(ts.URL+"/checkpoint"),
		chromedp.WaitVisible(css(`#cp-text`)),
	)
	poll(t, ctx, "the service worker to control the page", `navigator.serviceWorker.controller !== null && document.body.dataset.trust === "ready"`)

	// Cut the network, and open the page again: the worker's copy answers.
	do(t, ctx, setNetwork(false))
	if got := eval[string](t, ctx, `fetch("/healthz", {cache: "no-store"}).then(() => "reached", () => "unreachable")`); got != "unreachable" {
		t.Fatalf("the server is %s with the network cut", got)
	}
	do(t, ctx, chromedp.Reload(), chromedp.WaitVisible(css(`#cp-text`)))
	poll(t, ctx, "the trust list from the worker's copy", `document.body.dataset.trust === "ready"`)
	if state := eval[string](t, ctx, `document.getElementById("cp-net").dataset.state`); state != "offline" {
		t.Errorf("network state shown = %q, want offline", state)
	}

	// The resident's pass: green, with the masked name.
	colour, name, reason := check(t, ctx, p.Text)
	if colour != "green" || name != p.MaskedName || reason != "" {
		t.Fatalf("valid pass offline: colour %q, name %q (want %q), reason %q", colour, name, p.MaskedName, reason)
	}

	// Passes changed by one character: refused, with the reason in the
	// operator's language, and the screen never turns green meanwhile.
	eval[bool](t, ctx, `(() => {
		window.seenColours = [];
		const el = document.getElementById("cp-result");
		new MutationObserver(() => window.seenColours.push(el.dataset.colour)).observe(el, {attributes: true});
		return true;
	})()`)
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	type refusal struct{ what, text string }
	var refusals []refusal
	for _, i := range []int{len(p.Text) - 5, len(p.Text) / 2, 20} {
		j := strings.IndexByte(alphabet, p.Text[i])
		refusals = append(refusals, refusal{"changed at " + strconv.Itoa(i), p.Text[:i] + string(alphabet[(j+7)%len(alphabet)]) + p.Text[i+1:]})
	}
	refusals = append(refusals, refusal{"truncated", p.Text[:len(p.Text)-12]})
	// A green pass of another region, signed with a key of this region's
	// issuer; and one signed by a key no trust list holds.
	other := &issuer.Issuer{DB: d, Vault: ts.Vault, Region: "4202", Now: time.Now}
	if err := other.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	foreign, _, err := other.Issue(1, "张三丰", pass.Green)
	if err != nil {
		t.Fatal(err)
	}
	refusals = append(refusals, refusal{"of another region", foreign})
	_, stranger, _ := ed25519.GenerateKey(nil)
	unknown, err := pass.Sign(pass.Claims{Region: p.Region, Holder: "MFRGGZDFMZTWQ2LK", MaskedName: "张*丰", Colour: pass.Green,
		IssuedAt: time.Now(), Expires: time.Now().Add(time.Hour)}, stranger)
	if err != nil {
		t.Fatal(err)
	}
	refusals = append(refusals, refusal{"signed by an unknown key", unknown})
	var refusedReasons []string
	for _, r := range refusals {
		_, err := tl.Verify(r.text, time.Now(), p.Region)
		want := string(pass.ReasonOf(err))
		if want == "" {
			t.Fatalf("the Go verifier accepts the pass %s", r.what)
		}
		colour, name, reason := check(t, ctx, r.text)
		if colour != "refused" || name != "" || reason != zh.T("checkpoint.reason."+want) {
			t.Errorf("pass %s: colour %q, name %q, reason %q; want refused for %s (%q)", r.what, colour, name, reason, want,
				zh.T("checkpoint.reason."+want))
		}
		refusedReasons = append(refusedReasons, want)
	}
	if !slices.Contains(refusedReasons, "wrong_region") || !slices.Contains(refusedReasons, "unknown_key") ||
		!slices.Contains(refusedReasons, "malformed") || !slices.Contains(refusedReasons, "bad_signature") {
		t.Errorf("reasons %v: want each of malformed, bad_signature, unknown_key and wrong_region", refusedReasons)
	}
	if seen := eval[[]string](t, ctx, `window.seenColours`); len(seen) == 0 || strings.Contains(strings.Join(seen, ","), "green") {
		t.Errorf("colours shown for the changed passes: %v; never green", seen)
	}

	// The passages wait on the phone; the server has none.
	queued := eval[string](t, ctx, `localStorage.getItem("`+passageQueueKey+`")`)
	var items []map[string]any
	if err := json.Unmarshal([]byte(queued), &items); err != nil || len(items) != 1+len(refusals) {
		t.Fatalf("queued passages: %v, %s", err, queued)
	}
	if n := count(t, d, "passages"); n != 0 {
		t.Fatalf("%d passages reached the server while it was unreachable", n)
	}

	// The network is back: the queue drains into the server, once.
	do(t, ctx, setNetwork(true))
	poll(t, ctx, "the queue to drain", `(JSON.parse(localStorage.getItem("`+passageQueueKey+`") || "[]")).length === 0`)
	wantPassages(t, d, claims.Holder, refusedReasons)

	// Send everything again, as a phone would whose answer was lost: the
	// server keeps each passage once.
	eval[bool](t, ctx, `(localStorage.setItem("`+passageQueueKey+`", `+jsString(queued)+`), true)`)
	do(t, ctx, chromedp.Reload(), chromedp.WaitVisible(css(`#cp-text`)))
	poll(t, ctx, "the queue sent again to drain", `(JSON.parse(localStorage.getItem("`+passageQueueKey+`") || "[]")).length === 0`)
	wantPassages(t, d, claims.Holder, refusedReasons)
	if rejected := eval[string](t, ctx, `localStorage.getItem("outbreak.checkpoint.rejected.v1") || "0"`); rejected != "0" {
		t.Errorf("%s passages rejected by the server", rejected)
	}

	// Today's figures for checkpoint-1's district.
	var sum struct{ Green, Yellow, Red, Refused, Total int }
	ts.demoLogin(t, "checkpoint-1").get("/api/v1/passages/summary").want(t, http.StatusOK, "summary").json(t, &sum)
	if sum.Green != 1 || sum.Refused != len(refusals) || sum.Total != 1+len(refusals) {
		t.Errorf("summary = %+v; want 1 green, %d refused", sum, len(refusals))
	}
	figures := strings.NewReplacer("{green}", "1", "{yellow}", "0", "{red}", "0", "{refused}", strconv.Itoa(len(refusals))).
		Replace(zh.T("checkpoint.summary"))
	poll(t, ctx, "today's figures on the page", `document.getElementById("cp-summary").textContent === `+jsString(figures))
}

// TestBrowserCheckpointTrustListExpired follows a checkpoint phone that
// stayed offline past its trust list's expiry: the page says the list has
// expired and to reconnect, and refuses the resident's genuine pass with
// that reason rather than verify it against keys that may have been
// withdrawn since; once the network is back, the page gets a fresh list by
// itself and the same pass shows green.
func TestBrowserCheckpointTrustListExpired(t *testing.T) {
	ctx := browser(t)
	d := dbtest.SQLite(t)
	ts := startServer(t, d, 300)
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	zh := cat.For("zh")
	p := residentPass(t, ts)

	do(t, ctx,
		signIn(ts.URL, "checkpoint-1"),
		chromedp.WaitVisible(css(`[data-testid=who]`)),
		chromedp.Navigate(ts.URL+"/checkpoint"),
		chromedp.WaitVisible(css(`#cp-text`)),
	)
	poll(t, ctx, "the service worker to control the page", `navigator.serviceWorker.controller !== null && document.body.dataset.trust === "ready"`)
	if shown := eval[bool](t, ctx, `!document.getElementById("cp-trust-alert").hidden`); shown {
		t.Errorf("a fresh list shows the alert: %q", text(t, ctx, `[data-testid=trust-alert]`))
	}

	// The region's list as the phone got it two hours ago, from a server
	// that issues lists good for an hour: signed by the same root key, and
	// expired an hour ago. It is what the worker and the page's storage
	// hold when the phone has been offline since.
	old := &issuer.Issuer{DB: d, Vault: ts.Vault, Region: p.Region, Now: func() time.Time { return time.Now().Add(-2 * time.Hour) },
		TrustListMaxAge: time.Hour}
	if err := old.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	expired, err := old.TrustList(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, setNetwork(false))
	eval[bool](t, ctx, `(async () => {
		const doc = `+jsString(string(expired))+`;
		localStorage.setItem("outbreak.checkpoint.trust-list.v1", doc);
		let kept = 0;
		for (const key of await caches.keys()) {
			if (!key.startsWith("outbreak-checkpoint-")) continue;
			const cache = await caches.open(key);
			await cache.put("`+cphttp.TrustListURL+`", new Response(doc, {headers: {"Content-Type": "application/json"}}));
			kept++;
		}
		return kept === 1;
	})()`)
	do(t, ctx, chromedp.Reload(), chromedp.WaitVisible(css(`#cp-text`)))
	poll(t, ctx, "the expired list to be noticed", `document.body.dataset.trust === "expired"`)
	alert := text(t, ctx, `[data-testid=trust-alert]`)
	before, after, _ := strings.Cut(zh.T("checkpoint.trust_expired_alert"), "{until}")
	if !strings.HasPrefix(alert, before) || !strings.HasSuffix(alert, after) || len(alert) <= len(before)+len(after) {
		t.Errorf("the alert says %q; want %q with the date", alert, zh.T("checkpoint.trust_expired_alert"))
	}
	if cls := eval[string](t, ctx, `document.getElementById("cp-trust").className`); !strings.Contains(cls, "bad") {
		t.Errorf("the trust list pill is %q, not marked bad", cls)
	}

	colour, name, reason := check(t, ctx, p.Text)
	if colour != "refused" || name != "" || reason != zh.T("checkpoint.reason.trust_list_expired") {
		t.Fatalf("a genuine pass against an expired list: colour %q, name %q, reason %q; want it refused for the expired list",
			colour, name, reason)
	}

	// Online again: a fresh list, the alert gone, the pass green; both
	// passages reach the server, the refusal with its reason.
	do(t, ctx, setNetwork(true))
	poll(t, ctx, "a fresh trust list", `document.body.dataset.trust === "ready"`)
	if shown := eval[bool](t, ctx, `!document.getElementById("cp-trust-alert").hidden`); shown {
		t.Errorf("the alert stays with a fresh list: %q", text(t, ctx, `[data-testid=trust-alert]`))
	}
	if colour, name, _ := check(t, ctx, p.Text); colour != "green" || name != p.MaskedName {
		t.Fatalf("the pass with a fresh list: %q, %q", colour, name)
	}
	poll(t, ctx, "the passages to reach the server", `(JSON.parse(localStorage.getItem("`+passageQueueKey+`") || "[]")).length === 0`)
	var reasons []string
	if err := db.Select(context.Background(), d.R, &reasons, `SELECT COALESCE(reason, result) FROM passages ORDER BY seen_at, id`); err != nil {
		t.Fatal(err)
	}
	if strings.Join(reasons, ",") != "trust_list_expired,accepted" {
		t.Errorf("passages on the server: %v", reasons)
	}
}

// wantPassages checks that the server holds exactly the passages of the
// test: the accepted pass with its holder id, then the refusals, which keep
// the claims only of a pass whose signature verified.
func wantPassages(t *testing.T, d *db.DB, holder string, reasons []string) {
	t.Helper()
	var rows []struct {
		Holder  *string `db:"holder"`
		Colour  *string `db:"colour"`
		Result  string  `db:"result"`
		Reason  *string `db:"reason"`
		Account string  `db:"username"`
	}
	if err := db.Select(context.Background(), d.R, &rows, `SELECT p.holder, p.colour, p.result, p.reason, a.username
		FROM passages p JOIN accounts a ON a.id = p.checkpoint_account ORDER BY p.seen_at, p.id`); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(reasons) {
		t.Fatalf("%d passages on the server, want %d", len(rows), 1+len(reasons))
	}
	first := rows[0]
	if first.Result != "accepted" || first.Holder == nil || *first.Holder != holder || first.Colour == nil || *first.Colour != "green" ||
		first.Account != "checkpoint-1" {
		t.Errorf("accepted passage: %+v", first)
	}
	for i, r := range rows[1:] {
		signed := reasons[i] == "wrong_region" // the others did not verify
		if r.Result != "refused" || r.Reason == nil || *r.Reason != reasons[i] || (r.Holder != nil) != signed || (r.Colour != nil) != signed {
			t.Errorf("refused passage %d: %+v, want reason %s", i, r, reasons[i])
		}
	}
}

// TestCheckpointAccess checks who may open the checkpoint page and use the
// passages API.
func TestCheckpointAccess(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 300)
		anon := ts.client(t)
		anon.get("/checkpoint").redirect(t, "/login?next=%2Fcheckpoint", "page, anonymous")
		anon.get("/api/v1/passages/summary").problem(t, http.StatusUnauthorized, "summary, anonymous")
		anon.post("/api/v1/passages", `{"passages":[]}`).problem(t, http.StatusUnauthorized, "passages, anonymous")
		sw := anon.get("/checkpoint/sw.js").want(t, http.StatusOK, "worker, anonymous")
		if sw.Header.Get("Service-Worker-Allowed") != "/checkpoint" || !strings.HasPrefix(sw.String(), "const MANIFEST = ") {
			t.Fatalf("worker: %v %.100s", sw.Header, sw)
		}

		resident := ts.formLogin(t, "resident-1")
		resident.get("/checkpoint").html(t, http.StatusForbidden, "page, resident")
		rc, _ := ts.login(t, "resident-1", demoPassword)
		rc.post("/api/v1/passages", `{"passages":[]}`).problem(t, http.StatusForbidden, "passages, resident")
		rc.get("/api/v1/passages/summary").problem(t, http.StatusForbidden, "summary, resident")

		cp, me := ts.login(t, "checkpoint-1", demoPassword)
		body := ts.formLogin(t, "checkpoint-1").get("/checkpoint").html(t, http.StatusOK, "page, checkpoint")
		mustContain(t, "checkpoint page", body, `id="cp-config"`, `"root_key":"`, `"region":"4201"`, "/checkpoint/static/", "签名无效")
		// The operator's language: the refusals' reasons come in it too.
		cp.send(http.MethodPut, "/api/v1/me/lang", map[string]string{"lang": "en"}).want(t, http.StatusNoContent, "language")
		body = ts.formLogin(t, "checkpoint-1").get("/checkpoint").html(t, http.StatusOK, "page in English")
		mustContain(t, "checkpoint page in English", body, `<html lang="en">`, "The signature does not match")
		mustNotContain(t, "checkpoint page in English", body, "签名无效")
		var session struct {
			CSRF    string `json:"csrf_token"`
			Account int64  `json:"account_id"`
		}
		cp.get("/api/v1/checkpoint/session").want(t, http.StatusOK, "session").json(t, &session)
		if session.CSRF != me.CSRFToken || session.Account == 0 {
			t.Fatalf("session = %+v", session)
		}
		batch := map[string]any{"passages": []map[string]any{{"client_id": "0b0e3a52-9f3c-4e7b-8a59-1d1f2a3b4c5d",
			"seen_at": time.Now().UTC().Format(time.RFC3339), "result": "refused", "reason": "malformed", "holder": "", "region": "",
			"colour": "", "kid": ""}}}
		noCSRF := *cp
		noCSRF.csrf = ""
		noCSRF.post("/api/v1/passages", batch).problem(t, http.StatusForbidden, "passages without a CSRF token")
		cp.post("/api/v1/passages", batch).want(t, http.StatusOK, "passages")
		var rec struct{ New, Duplicates int }
		cp.post("/api/v1/passages", batch).want(t, http.StatusOK, "passages again").json(t, &rec)
		if rec.New != 0 || rec.Duplicates != 1 || count(t, d, "passages") != 1 {
			t.Fatalf("sent twice: %+v, %d rows", rec, count(t, d, "passages"))
		}
		cp.post("/api/v1/passages", `{"passages":[{"client_id":"x"}]}`).invalid(t, "passages[0].client_id", "bad passage")

		// Staff with aggregate figures see the summary of their scope, and record nothing.
		commander := ts.demoLogin(t, "commander-1")
		var sum struct{ Refused, Total int }
		commander.get("/api/v1/passages/summary").want(t, http.StatusOK, "summary, commander").json(t, &sum)
		if sum.Refused != 1 || sum.Total != 1 {
			t.Errorf("commander's summary = %+v", sum)
		}
		commander.post("/api/v1/passages", batch).problem(t, http.StatusForbidden, "passages, commander")
	})
}

// cameraVideo writes the pass's QR code, as the holder's phone shows it,
// as one frame of a Y4M video that Chromium's fake camera plays in a loop.
func cameraVideo(t *testing.T, text string, colour pass.Colour) string {
	t.Helper()
	b, err := pass.PNG(text, colour, 420)
	if err != nil {
		t.Fatal(err)
	}
	qr, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	const w, h = 640, 480
	frame := image.NewGray(image.Rect(0, 0, w, h))
	draw.Draw(frame, frame.Bounds(), image.White, image.Point{}, draw.Src)
	at := image.Pt((w-qr.Bounds().Dx())/2, (h-qr.Bounds().Dy())/2)
	draw.Draw(frame, qr.Bounds().Add(at), qr, qr.Bounds().Min, draw.Src)
	var out bytes.Buffer
	fmt.Fprintf(&out, "YUV4MPEG2 W%d H%d F10:1 Ip A1:1 C420jpeg\nFRAME\n", w, h)
	out.Write(frame.Pix)
	out.Write(bytes.Repeat([]byte{128}, w*h/2)) // no colour: U and V at their midpoint
	path := filepath.Join(t.TempDir(), "pass.y4m")
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBrowserCheckpointCamera scans a pass with the camera: Chromium's fake
// camera shows the resident's QR code, and the page reads it (with jsQR,
// or the browser's own detector) and shows it green.
func TestBrowserCheckpointCamera(t *testing.T) {
	ts := startServer(t, dbtest.SQLite(t), 300)
	p := residentPass(t, ts)
	video := cameraVideo(t, p.Text, pass.Colour(p.Colour))

	ctx := browser(t, camera(video)...)

	do(t, ctx,
		signIn(ts.URL, "checkpoint-1"),
		chromedp.WaitVisible(css(`[data-testid=who]`)),
		chromedp.Navigate(ts.URL+"/checkpoint"),
		chromedp.WaitVisible(css(`[data-testid=scan]`)),
	)
	poll(t, ctx, "the trust list", `document.body.dataset.trust === "ready"`)
	do(t, ctx, chromedp.Click(css(`[data-testid=scan]`)), chromedp.WaitVisible(css(`[data-testid=result]`)))
	res := eval[map[string]string](t, ctx, `({colour: document.getElementById("cp-result").dataset.colour,
		name: document.getElementById("cp-name").textContent})`)
	if res["colour"] != "green" || res["name"] != p.MaskedName {
		t.Fatalf("scanned pass: %v, want green for %s", res, p.MaskedName)
	}
	// Next: the same code, still before the camera, is not read again at once.
	do(t, ctx, chromedp.Click(css(`[data-testid=next]`)), chromedp.WaitNotVisible(css(`[data-testid=result]`)), chromedp.Sleep(time.Second))
	if shown := eval[bool](t, ctx, `!document.getElementById("cp-result").hidden`); shown {
		t.Error("the code just checked was read again at once")
	}
	do(t, ctx, chromedp.Click(css(`[data-testid=scan]`)))
	poll(t, ctx, "the passage to reach the server", `(JSON.parse(localStorage.getItem("`+passageQueueKey+`") || "[]")).length === 0`)
	if n := count(t, ts.DB, "passages"); n != 1 {
		t.Errorf("%d passages recorded for one scan", n)
	}
}
