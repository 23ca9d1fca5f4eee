package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/skip2/go-qrcode"

	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/i18n"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

// checkInQueueKey is where the check-in page keeps check-ins not yet sent
// (web/checkin/src/queue.js).
const checkInQueueKey = "outbreak.checkin.queue.v1"

var (
	posterQRRE     = regexp.MustCompile(`(?s)<g id="qr"[^>]*>\s*<rect width="(\d+)"[^>]*/>\s*<path fill="#000000" d="([^"]*)"`)
	posterModuleRE = regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-\d+z`)
)

// posterCode reads the QR code of a place's A4 poster back, as a phone
// pointed at the poster would: what it holds is what the phone opens.
func posterCode(t *testing.T, svg []byte) string {
	t.Helper()
	m := posterQRRE.FindSubmatch(svg)
	if m == nil {
		t.Fatalf("no QR code in the poster: %.300s", svg)
	}
	n, _ := strconv.Atoi(string(m[1]))
	const px = 4
	img := image.NewGray(image.Rect(0, 0, n*px, n*px))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	for _, r := range posterModuleRE.FindAllSubmatch(m[2], -1) {
		x, _ := strconv.Atoi(string(r[1]))
		y, _ := strconv.Atoi(string(r[2]))
		run, _ := strconv.Atoi(string(r[3]))
		draw.Draw(img, image.Rect(x*px, y*px, (x+run)*px, (y+1)*px), image.NewUniform(color.Black), image.Point{}, draw.Src)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("the poster's QR code does not decode: %v", err)
	}
	return res.GetText()
}

// checkInURL is the link a poster's code opens: the check-in page with
// the code in its fragment.
func checkInURL(base, code string) string { return base + "/checkin#" + url.PathEscape(code) }

// TestBrowserCheckIn follows a resident with a phone: they open the link
// of a poster's QR code, see the place, confirm, see that they are checked
// in, and check out; leaving the page checks them out of their next
// visit; and with the network down a check-in waits on the phone and
// reaches the server, once, when it is back.
func TestBrowserCheckIn(t *testing.T) {
	ctx := browser(t)
	e := ciStart(t, dbtest.SQLite(t))
	d := e.DB
	me := ciActor(t, d, "resident-1")
	svg, err := e.codes.PosterAs(e.shop, 0, "zh", venue.SVG)
	if err != nil {
		t.Fatal(err)
	}
	code := posterCode(t, svg)
	if _, err := e.codes.VerifyPlaceCode(code, time.Now()); err != nil || !strings.HasPrefix(code, venue.Prefix) {
		t.Fatalf("the poster holds %q (%v)", code, err)
	}

	do(t, ctx, signIn(e.URL, "resident-1"), chromedp.WaitVisible(css(`[data-testid=checkin-button]`)))
	do(t, ctx, chromedp.Navigate(checkInURL(e.URL, code)), chromedp.WaitVisible(css(`[data-testid=place-name]`)))
	if name, typ, addr := text(t, ctx, `[data-testid=place-name]`), text(t, ctx, `[data-testid=place-type]`),
		text(t, ctx, `[data-testid=place-address]`); name != "解放路菜市场" || typ != "商店" || addr != "武昌区解放路 88 号" {
		t.Fatalf("the place shown: %q, %q, %q", name, typ, addr)
	}
	pageIDs := eval[[]string](t, ctx, `[...document.querySelectorAll("input[data-person]")].map((i) => i.value)`)
	if len(pageIDs) != 3 || pageIDs[0] == pageIDs[1] {
		t.Fatalf("client ids on the page: %v; want one for the resident and each dependent", pageIDs)
	}

	// Confirm: checked in, through the API, with the page's id.
	do(t, ctx, chromedp.Click(css(`[data-testid=confirm-button]`)), chromedp.WaitVisible(css(`[data-testid=current]`)))
	if cur := text(t, ctx, `[data-testid=current-text]`); !strings.HasPrefix(cur, "已在解放路菜市场登记，自 ") {
		t.Errorf("after confirming: %q", cur)
	}
	cs := ciStored(t, d, "resident_id = ?", me.ResidentID)
	if len(cs) != 1 || cs[0].PlaceID != e.shop.ID || cs[0].ClientID != pageIDs[0] || cs[0].TOut != cs[0].TIn+30*60 {
		t.Fatalf("stored: %+v; want one check-in at the shop with the page's client id %s", cs, pageIDs[0])
	}

	// Check out with the button.
	do(t, ctx, chromedp.Click(css(`[data-testid=checkout]`)), chromedp.WaitVisible(css(`[data-testid=idle]`)))
	if flash := text(t, ctx, `.flash`); flash != "已登记离开。" {
		t.Errorf("after check-out the page says %q", flash)
	}
	if c := ciStored(t, d, "resident_id = ?", me.ResidentID)[0]; c.TOut > time.Now().Unix()+1 {
		t.Errorf("after check-out: %+v", c)
	}

	// Check in at the grocer's, then leave the page: checked out.
	grocer := e.code(t, e.grocer)
	do(t, ctx, chromedp.Navigate(checkInURL(e.URL, grocer)), chromedp.WaitVisible(css(`[data-testid=confirm-button]`)),
		chromedp.Click(css(`[data-testid=confirm-button]`)), chromedp.WaitVisible(css(`[data-testid=current]`)))
	atGrocer := ciStored(t, d, "resident_id = ? AND place_id = ?", me.ResidentID, e.grocer.ID)
	if len(atGrocer) != 1 || atGrocer[0].TOut != atGrocer[0].TIn+30*60 {
		t.Fatalf("at the grocer's: %+v", atGrocer)
	}
	do(t, ctx, chromedp.Navigate(e.URL+"/me"), chromedp.WaitVisible(css(`[data-testid=checkin-button]`)))
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := ciStored(t, d, "resident_id = ? AND place_id = ?", me.ResidentID, e.grocer.ID)[0]
		if c.TOut < c.TIn+30*60 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leaving the page did not check out: %+v", c)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The network fails between the scan and the confirmation: the
	// check-in waits on the phone, then reaches the server once.
	before := count(t, d, "checkins")
	do(t, ctx, chromedp.Navigate(e.URL+"/checkin?code="+url.QueryEscape(e.code(t, e.entrance))), chromedp.WaitVisible(css(`[data-testid=confirm-button]`)))
	do(t, ctx, setNetwork(false), chromedp.Click(css(`[data-testid=confirm-button]`)), chromedp.WaitVisible(css(`[data-testid=offline]`)))
	poll(t, ctx, "the check-in to wait on the phone", `(JSON.parse(localStorage.getItem("`+checkInQueueKey+`") || "[]")).length === 1`)
	if got := text(t, ctx, `[data-testid=offline]`); !strings.Contains(got, "无网络") || !strings.Contains(got, "等待发送") {
		t.Errorf("offline, the page says %q", got)
	}
	if n := count(t, d, "checkins"); n != before {
		t.Fatalf("%d check-ins reached the server while it was unreachable", n-before)
	}
	// Back online, the page sends it, then shows the server's page.
	do(t, ctx, setNetwork(true))
	waitCheckIns(t, d, before)
	do(t, ctx, chromedp.WaitVisible(css(`[data-testid=current]`)))
	if q := eval[string](t, ctx, `localStorage.getItem("`+checkInQueueKey+`")`); q != "[]" {
		t.Errorf("queue after sending: %s", q)
	}
	if at := ciStored(t, d, "resident_id = ? AND place_id = ?", me.ResidentID, e.entrance.ID); len(at) != 1 || count(t, d, "checkins") != before+1 {
		t.Fatalf("after the network came back: %+v", at)
	}
	if link := eval[string](t, ctx, `document.querySelector("[data-testid=visit-link]").getAttribute("href")`); link != fmt.Sprintf("/visit/%d", e.entrance.ID) {
		t.Errorf("visitor link %q at a compound entrance", link)
	}
}

// TestBrowserCheckInCamera scans a poster with the page's own camera
// button: Chromium's fake camera shows the poster's QR code, and the page
// opens the place to confirm.
func TestBrowserCheckInCamera(t *testing.T) {
	e := ciStart(t, dbtest.SQLite(t))
	video := posterVideo(t, e.code(t, e.bus))

	ctx := browser(t, camera(video)...)

	do(t, ctx,
		signIn(e.URL, "resident-1"),
		chromedp.WaitVisible(css(`[data-testid=checkin-button]`)),
		chromedp.Navigate(e.URL+"/checkin"),
		chromedp.WaitVisible(css(`[data-testid=scan]`)),
		chromedp.Click(css(`[data-testid=scan]`)),
		chromedp.WaitVisible(css(`[data-testid=place-name]`)),
	)
	if name := text(t, ctx, `[data-testid=place-name]`); name != "526 路" {
		t.Fatalf("scanned %q, want the bus line", name)
	}
	do(t, ctx, chromedp.Click(css(`[data-testid=confirm-button]`)), chromedp.WaitVisible(css(`[data-testid=current]`)))
	if at := ciStored(t, e.DB, "place_id = ?", e.bus.ID); len(at) != 1 || at[0].Source != "scan" {
		t.Fatalf("on the bus: %+v", at)
	}
}

// posterVideo writes a place code's QR code as one frame of a Y4M video
// that Chromium's fake camera plays in a loop.
func posterVideo(t *testing.T, code string) string {
	t.Helper()
	q, err := qrcode.New(code, qrcode.High)
	if err != nil {
		t.Fatal(err)
	}
	qr := q.Image(440)
	const w, h = 640, 480
	frame := image.NewGray(image.Rect(0, 0, w, h))
	draw.Draw(frame, frame.Bounds(), image.White, image.Point{}, draw.Src)
	at := image.Pt((w-qr.Bounds().Dx())/2, (h-qr.Bounds().Dy())/2)
	draw.Draw(frame, qr.Bounds().Add(at), qr, qr.Bounds().Min, draw.Src)
	var out bytes.Buffer
	fmt.Fprintf(&out, "YUV4MPEG2 W%d H%d F10:1 Ip A1:1 C420jpeg\nFRAME\n", w, h)
	out.Write(frame.Pix)
	out.Write(bytes.Repeat([]byte{128}, w*h/2))
	p := filepath.Join(t.TempDir(), "poster.y4m")
	if err := os.WriteFile(p, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBrowserCheckpointPlace has a checkpoint operator choose, once, the
// compound entrance their page stands at; a resident's pass checked there
// becomes the resident's check-in at the entrance.
func TestBrowserCheckpointPlace(t *testing.T) {
	ctx := browser(t)
	e := ciStart(t, dbtest.SQLite(t))
	me := ciActor(t, e.DB, "resident-1")
	p := residentPass(t, e.testServer)

	do(t, ctx,
		signIn(e.URL, "checkpoint-1"),
		chromedp.WaitVisible(css(`[data-testid=who]`)),
		chromedp.Navigate(e.URL+"/checkpoint"),
		chromedp.WaitVisible(css(`#cp-text`)),
	)
	poll(t, ctx, "the trust list", `document.body.dataset.trust === "ready"`)
	if got := eval[string](t, ctx, `document.getElementById("cp-place").dataset.id`); got != "" {
		t.Fatalf("a place chosen before any was: %q", got)
	}
	do(t, ctx,
		chromedp.Click(css(`#cp-place-pick summary`)),
		chromedp.SendKeys(css(`#cp-place-q`), "中南小区"),
	)
	poll(t, ctx, "the entrance in the list", fmt.Sprintf(`[...document.querySelectorAll("#cp-place-list option")].map((o) => o.value).join() === "%d"`, e.entrance.ID))
	do(t, ctx,
		chromedp.SetValue(css(`#cp-place-list`), fmt.Sprint(e.entrance.ID)),
		chromedp.Click(css(`[data-testid=place-set]`)),
	)
	if at := text(t, ctx, `[data-testid=place]`); !strings.Contains(at, "中南小区东门") {
		t.Fatalf("the place shown: %q", at)
	}
	// Remembered on the phone: a reload keeps it.
	do(t, ctx, chromedp.Reload(), chromedp.WaitVisible(css(`#cp-text`)))
	poll(t, ctx, "the trust list", `document.body.dataset.trust === "ready"`)
	if id := eval[string](t, ctx, `document.getElementById("cp-place").dataset.id`); id != fmt.Sprint(e.entrance.ID) {
		t.Fatalf("after a reload the place is %q", id)
	}

	colour, _, _ := check(t, ctx, p.Text)
	if colour != "green" {
		t.Fatalf("the resident's pass shows %q", colour)
	}
	for deadline := time.Now().Add(20 * time.Second); len(ciStored(t, e.DB, "source = 'passage'")) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the passage never became a check-in")
		}
	}
	cs := ciStored(t, e.DB, "source = 'passage'")
	if len(cs) != 1 || cs[0].ResidentID != me.ResidentID || cs[0].PlaceID != e.entrance.ID {
		t.Fatalf("check-ins from passages: %+v", cs)
	}
}

// queued reads the check-ins kept on the phone.
func queued(t *testing.T, ctx context.Context) []map[string]any {
	t.Helper()
	var q []map[string]any
	if err := json.Unmarshal([]byte(eval[string](t, ctx, `localStorage.getItem("`+checkInQueueKey+`") || "[]"`)), &q); err != nil {
		t.Fatal(err)
	}
	return q
}

// TestBrowserCheckInOffline follows a resident with no signal who scans a
// poster: the check-in page, opened once online, opens from its service
// worker's copy — showing what the poster's code says and that the server
// will confirm the place — keeps the check-in on the phone, and once the
// network is back the check-in reaches the server exactly once. A forged
// poster scanned offline is refused by the server afterwards, and the page
// says so until the resident dismisses it.
func TestBrowserCheckInOffline(t *testing.T) {
	ctx := browser(t)
	e := ciStart(t, dbtest.SQLite(t))
	d := e.DB
	me := ciActor(t, d, "resident-1")
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	zh := cat.For("zh")
	code := e.code(t, e.shop)

	// Online, once: the page, its worker in control.
	do(t, ctx, signIn(e.URL, "resident-1"), chromedp.WaitVisible(css(`[data-testid=checkin-button]`)),
		chromedp.Navigate(e.URL+"/checkin"), chromedp.WaitVisible(css(`[data-testid=idle]`)))
	poll(t, ctx, "the service worker to control the page", `navigator.serviceWorker.controller !== null`)
	name, _, _ := strings.Cut(text(t, ctx, `[data-testid=who]`), " · ")
	do(t, ctx, chromedp.Navigate(e.URL+"/me"), chromedp.WaitVisible(css(`[data-testid=checkin-button]`)))

	// No signal: the poster's link opens the worker's copy of the page.
	do(t, ctx, setNetwork(false))
	if got := eval[string](t, ctx, `fetch("/healthz", {cache: "no-store"}).then(() => "reached", () => "unreachable")`); got != "unreachable" {
		t.Fatalf("the server is %s with the network cut", got)
	}
	before := count(t, d, "checkins")
	do(t, ctx, chromedp.Navigate(checkInURL(e.URL, code)), chromedp.WaitVisible(css(`[data-testid=offline-place-name]`)))
	if h := text(t, ctx, `[data-testid=offline-page] h1`); h != zh.T("checkin.offline.title") {
		t.Errorf("the offline page's title: %q", h)
	}
	place := fmt.Sprintf("%s · %s", zh.T("venue.type.shop"), strings.ReplaceAll(zh.T("checkin.js.place_no"), "{id}", fmt.Sprint(e.shop.ID)))
	if got := text(t, ctx, `[data-testid=offline-place-name]`); got != place {
		t.Errorf("the place shown offline: %q, want %q", got, place)
	}
	if got := text(t, ctx, `[data-testid=offline-unverified]`); got != zh.T("checkin.js.offline_unverified") {
		t.Errorf("offline, the page says %q", got)
	}
	if body := text(t, ctx, `body`); strings.Contains(body, name) || strings.Contains(body, "解放路菜市场") {
		t.Errorf("the offline copy shows the resident or the place's name, which it cannot know: %q", body)
	}
	// The family members the real page listed are offered, by name; the
	// resident takes one along.
	var deps []struct {
		ID   int64  `db:"id"`
		Name string `db:"name"`
	}
	if err := db.Select(context.Background(), d.R, &deps, "SELECT id, name FROM residents WHERE guardian_id = ? ORDER BY id", me.ResidentID); err != nil || len(deps) != 2 {
		t.Fatalf("resident-1's dependents: %v (%v)", deps, err)
	}
	offered := eval[[]string](t, ctx, `[...document.querySelectorAll("[data-testid=offline-place] label")].map((l) => l.textContent.trim())`)
	if len(offered) != 2 || offered[0] != deps[0].Name || offered[1] != deps[1].Name {
		t.Errorf("offline, the family offered: %q; want %q and %q", offered, deps[0].Name, deps[1].Name)
	}
	dep := deps[1]
	do(t, ctx, chromedp.Click(css(fmt.Sprintf(`[data-testid=offline-for-%d]`, dep.ID))),
		chromedp.Click(css(`[data-testid=offline-confirm]`)), chromedp.WaitVisible(css(`[data-testid=queued-item]`)))
	q := queued(t, ctx)
	if len(q) != 2 || q[0]["code"] != code || q[0]["label"] != place || q[0]["account"] != float64(me.AccountID) || q[0]["for"] != nil ||
		q[1]["for"] != float64(dep.ID) || q[1]["t_in"] != q[0]["t_in"] || q[1]["client_id"] == q[0]["client_id"] || q[1]["account"] != float64(me.AccountID) {
		t.Fatalf("queued offline: %v; want the resident's check-in and %d's", q, dep.ID)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("[data-testid=queued-item]").length`); n != 1 {
		t.Errorf("the family's visit shows as %d lines, want one", n)
	}
	if got := text(t, ctx, `[data-testid=offline]`); !strings.Contains(got, "等待发送") || !strings.Contains(got, place) {
		t.Errorf("offline, the queue shows %q", got)
	}
	if n := count(t, d, "checkins"); n != before {
		t.Fatalf("%d check-ins reached the server while it was unreachable", n-before)
	}

	// Signal again: the real page takes over, sends the check-in, and
	// shows it in progress; the server has it once, with the phone's id.
	do(t, ctx, setNetwork(true))
	waitCheckIns(t, d, before)
	do(t, ctx, chromedp.WaitVisible(css(`[data-testid=current]`)))
	if cur := text(t, ctx, `[data-testid=current-text]`); !strings.Contains(cur, "解放路菜市场") {
		t.Errorf("back online: %q", cur)
	}
	at := ciStored(t, d, "resident_id = ? AND place_id = ?", me.ResidentID, e.shop.ID)
	if len(at) != 1 || at[0].ClientID != q[0]["client_id"] || at[0].TIn != int64(q[0]["t_in"].(float64)) || count(t, d, "checkins") != before+2 {
		t.Fatalf("on the server: %+v (%d new); want the phone's check-ins once", at, count(t, d, "checkins")-before)
	}
	if with := ciStored(t, d, "resident_id = ? AND place_id = ?", dep.ID, e.shop.ID); len(with) != 1 || with[0].ClientID != q[1]["client_id"] || with[0].TIn != at[0].TIn {
		t.Fatalf("the dependent's check-in on the server: %+v", with)
	}
	if q := queued(t, ctx); len(q) != 0 {
		t.Errorf("queue after sending: %v", q)
	}

	// A forged poster, scanned with no signal: it reads like any other on
	// the phone; the server refuses it, and the page says so.
	do(t, ctx, chromedp.Navigate(e.URL+"/me"), chromedp.WaitVisible(css(`[data-testid=checkin-button]`)), setNetwork(false))
	do(t, ctx, chromedp.Navigate(checkInURL(e.URL, e.forgedCode)), chromedp.WaitVisible(css(`[data-testid=offline-confirm]`)),
		chromedp.Click(css(`[data-testid=offline-confirm]`)), chromedp.WaitVisible(css(`[data-testid=queued-item]`)))
	do(t, ctx, setNetwork(true), chromedp.WaitVisible(css(`[data-testid=refused-item]`)))
	refused := text(t, ctx, `[data-testid=refused-list]`)
	if !strings.Contains(refused, zh.T("err.checkin.unknown_key")) || !strings.Contains(refused, place) || !strings.Contains(refused, "未记录") {
		t.Errorf("the refusal shown: %q", refused)
	}
	if n := count(t, d, "checkins"); n != before+2 {
		t.Errorf("the forged poster's check-in was stored: %d new", n-before-2)
	}
	if q := queued(t, ctx); len(q) != 0 {
		t.Errorf("queue after the refusal: %v", q)
	}
	// Still shown after a reload, until dismissed.
	do(t, ctx, chromedp.Reload(), chromedp.WaitVisible(css(`[data-testid=refused-item]`)),
		chromedp.Click(css(`[data-testid=refused-dismiss]`)), chromedp.WaitNotVisible(css(`[data-testid=refused-list]`)))
	// (Leaving the page for /me above checked out of the shop: the page is idle.)
	do(t, ctx, chromedp.Reload(), chromedp.WaitVisible(css(`[data-testid=idle]`)))
	if shown := eval[bool](t, ctx, `!document.querySelector("[data-testid=refused-list]").hidden`); shown {
		t.Error("a dismissed refusal is shown again")
	}

	// Without the cookie naming the account (someone else signed in on this
	// phone since, and has not opened the page), the offline copy records
	// nothing; back online, the real page shows the poster's place.
	do(t, ctx, chromedp.Navigate(e.URL+"/me"), chromedp.WaitVisible(css(`[data-testid=checkin-button]`)), setNetwork(false))
	eval[bool](t, ctx, `(document.cookie = "`+auth.OfflineAccountCookie+`=; Max-Age=0; Path=/", !document.cookie.includes("`+auth.OfflineAccountCookie+`"))`)
	do(t, ctx, chromedp.Navigate(checkInURL(e.URL, code)), chromedp.WaitVisible(css(`[data-testid=offline-no-account]`)))
	if n := eval[int](t, ctx, `document.querySelectorAll("[data-testid=offline-confirm], [data-testid^=offline-for-]").length`); n != 0 {
		t.Error("the offline copy offers to check in for nobody, or their family")
	}
	do(t, ctx, setNetwork(true), chromedp.WaitVisible(css(`[data-testid=place-name]`)))
	if got := text(t, ctx, `[data-testid=place-name]`); got != "解放路菜市场" || count(t, d, "checkins") != before+2 {
		t.Errorf("back online: the place %q, %d new check-ins", got, count(t, d, "checkins")-before-2)
	}
}

// TestBrowserCheckInSignOutUnsent: signing out clears the phone's storage,
// so the check-in page warns before signing out with check-ins it could
// not send; once they are sent, signing out goes through.
func TestBrowserCheckInSignOutUnsent(t *testing.T) {
	ctx := browser(t)
	e := ciStart(t, dbtest.SQLite(t))
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, signIn(e.URL, "resident-1"), chromedp.WaitVisible(css(`[data-testid=checkin-button]`)),
		chromedp.Navigate(e.URL+"/checkin?code="+url.QueryEscape(e.code(t, e.shop))), chromedp.WaitVisible(css(`[data-testid=confirm-button]`)))
	do(t, ctx, setNetwork(false), chromedp.Click(css(`[data-testid=confirm-button]`)), chromedp.WaitVisible(css(`[data-testid=queued-item]`)))
	eval[bool](t, ctx, `(window.confirm = (m) => { window.asked = m; return false; }, true)`)
	do(t, ctx, chromedp.Click(css(`form[action="/logout"] button`)))
	poll(t, ctx, "the warning", `typeof window.asked === "string"`)
	if asked, want := eval[string](t, ctx, `window.asked`), strings.ReplaceAll(cat.For("zh").T("checkin.js.logout_unsent"), "{n}", "1"); asked != want {
		t.Errorf("asked %q, want %q", asked, want)
	}
	// Declined: still signed in, the check-in still waiting.
	if q := queued(t, ctx); len(q) != 1 || !strings.HasSuffix(eval[string](t, ctx, `location.pathname`), "/checkin") {
		t.Fatalf("after declining: queue %v at %s", q, eval[string](t, ctx, `location.href`))
	}
	// Back online the check-in goes, and signing out goes through.
	do(t, ctx, setNetwork(true), chromedp.WaitVisible(css(`[data-testid=current]`)),
		chromedp.Click(css(`form[action="/logout"] button`)), chromedp.WaitVisible(css(`#f-username`)))
	if at := ciStored(t, e.DB, "place_id = ?", e.shop.ID); len(at) != 1 {
		t.Errorf("at the shop: %+v", at)
	}
}

// TestBrowserSignOutUnsentElsewhere: on a resident's other pages, signing
// out with check-ins still on the phone (not sent by the check-in page)
// hands over to the check-in page, which sends them and signs out; with no
// network it asks first. Another account's do not count.
func TestBrowserSignOutUnsentElsewhere(t *testing.T) {
	ctx := browser(t)
	e := ciStart(t, dbtest.SQLite(t))
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, signIn(e.URL, "resident-1"), chromedp.WaitVisible(css(`[data-testid=checkin-button]`)))
	account := eval[int](t, ctx, `Number(document.querySelector('form[action="/logout"]').dataset.account)`)
	if account == 0 {
		t.Fatal("the sign-out form names no account")
	}
	stub := `(window.asked = undefined, window.confirm = (m) => { window.asked = m; return false; }, true)`
	code, err := json.Marshal(e.code(t, e.shop))
	if err != nil {
		t.Fatal(err)
	}
	left := func(account int) string {
		return fmt.Sprintf(`(localStorage.setItem(%q, JSON.stringify([{account: %d, client_id: crypto.randomUUID(), kind: "checkin", code: %s, t_in: Math.floor(Date.now() / 1000) - 120, label: "shop"}])), true)`,
			checkInQueueKey, account, code)
	}
	// Another account's check-in: this one signs out without a question,
	// from where it is. (Were it asked, it would decline, and the sign-in
	// form never show.)
	eval[bool](t, ctx, left(account+1))
	eval[bool](t, ctx, stub)
	do(t, ctx, chromedp.Click(css(`form[action="/logout"] button`)), chromedp.WaitVisible(css(`#f-username`)))
	if n := len(ciStored(t, e.DB, "place_id = ?", e.shop.ID)); n != 0 {
		t.Fatalf("another account's check-in was sent: %d at the shop", n)
	}

	// Its own, with no network: asked, and declined, still signed in.
	do(t, ctx, signIn(e.URL, "resident-1"), chromedp.WaitVisible(css(`[data-testid=checkin-button]`)))
	eval[bool](t, ctx, left(account))
	do(t, ctx, setNetwork(false))
	eval[bool](t, ctx, stub)
	do(t, ctx, chromedp.Click(css(`form[action="/logout"] button`)))
	poll(t, ctx, "the warning", `typeof window.asked === "string"`)
	if asked, want := eval[string](t, ctx, `window.asked`), strings.ReplaceAll(cat.For("zh").T("nav.logout_unsent"), "{n}", "1"); asked != want {
		t.Errorf("asked %q, want %q", asked, want)
	}
	if !eval[bool](t, ctx, `document.querySelector("[data-testid=who]") !== null`) || len(queued(t, ctx)) != 1 {
		t.Fatal("signed out after declining, or the check-in is gone")
	}

	// With the network: the check-in page sends it, and signs out without
	// asking (its confirm is the browser's own: a question would hold the
	// page, and the sign-in form never show).
	do(t, ctx, setNetwork(true), chromedp.Click(css(`form[action="/logout"] button`)), chromedp.WaitVisible(css(`#f-username`)))
	if at := ciStored(t, e.DB, "place_id = ?", e.shop.ID); len(at) != 1 || at[0].ResidentID != ciActor(t, e.DB, "resident-1").ResidentID {
		t.Errorf("at the shop after signing out: %+v", at)
	}
	if q := queued(t, ctx); len(q) != 0 {
		t.Errorf("signed out, the phone still holds %v", q)
	}
}

// waitCheckIns waits until the store holds more check-ins than before: the
// one kept on the phone has reached the server.
func waitCheckIns(t *testing.T, d *db.DB, before int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); count(t, d, "checkins") == before; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the check-in kept on the phone never reached the server")
		}
	}
}
