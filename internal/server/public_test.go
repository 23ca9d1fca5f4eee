package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/config"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/server"
	"github.com/outbreak-platform/outbreak/internal/vault"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

// exposed is what publicWorld made: places, the cases that were there, and
// what no public answer may show.
type exposed struct {
	region                                *time.Location
	yesterday                             civil.Date
	market, cafe, far, gone, old, quiet   venue.Place
	g1234, d5678                          venue.Place
	inForce, withdrawn                    int64    // trace ids
	secrets                               []string // case names and pseudonyms
	marketWindow, cafeWindow, trainWindow string   // "10:05–12:40"
}

// publicWorld registers places near (30.54, 114.31) and traces two cases
// there yesterday — one in force, one withdrawn — plus a visit 15 days ago,
// the way the tracer records them: a trace per case, an exposure site per
// check-in.
func publicWorld(t *testing.T, ts *testServer) *exposed {
	t.Helper()
	ctx := context.Background()
	d := ts.DB
	loc := config.Default().Loc()
	now := time.Now().In(loc)
	accounts := account.NewStore(d)
	actor := func(username string) rbac.Actor {
		a, err := accounts.GetByUsername(ctx, username)
		if err != nil {
			t.Fatalf("account %s: %v", username, err)
		}
		got, err := accounts.Get(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Actor()
	}
	admin, owner := actor("admin-1"), actor("resident-1")
	var community string
	if err := db.Get(ctx, d.R, &community, `SELECT j.code FROM residents r JOIN jurisdictions j ON j.id = r.community_id
		WHERE r.id = ?`, owner.ResidentID); err != nil {
		t.Fatal(err)
	}
	places := venue.NewStore(d, func() time.Time { return now })
	shop := func(name string, lat, lon float64) venue.Place {
		p, err := places.Create(ctx, d.W, owner, venue.New{Type: venue.Restaurant, Name: name, Address: "解放路 1 号",
			Latitude: &lat, Longitude: &lon, JurisdictionCode: community})
		if err != nil {
			t.Fatalf("place %s: %v", name, err)
		}
		return p
	}
	w := &exposed{region: loc, yesterday: civil.Of(now).AddDays(-1)}
	w.market = shop("解放路菜市场", 30.5400, 114.3100)
	w.cafe = shop("Lakeside Cafe", 30.5450, 114.3150) // about 700 m from the market
	w.far = shop("Riverside Bookshop", 30.5800, 114.2900)
	w.gone = shop("Retracted Restaurant", 30.5402, 114.3102)
	w.old = shop("Old Tea House", 30.5401, 114.3101)
	w.quiet = shop("Quiet Noodles", 30.5403, 114.3103)
	trip := func(number string) venue.Place {
		p, err := places.Create(ctx, d.W, admin, venue.New{Type: venue.Train, Name: number + " 武汉—北京西", JurisdictionCode: "4201",
			ServiceNumber: number, ServiceDate: w.yesterday})
		if err != nil {
			t.Fatalf("trip %s: %v", number, err)
		}
		return p
	}
	w.g1234, w.d5678 = trip("G1234"), trip("D5678")

	var cases []struct {
		ID   int64  `db:"id"`
		Name string `db:"name"`
	}
	if err := db.Select(ctx, d.R, &cases, "SELECT id, name FROM residents WHERE id <> ? AND guardian_id IS NULL ORDER BY id DESC LIMIT 2",
		owner.ResidentID); err != nil || len(cases) != 2 {
		t.Fatalf("cases: %v, %v", cases, err)
	}
	trace := func(i int, withdrawn bool) int64 {
		pseudonym := fmt.Sprintf("C-4201-%04d", 7+i)
		w.secrets = append(w.secrets, cases[i].Name, pseudonym)
		var at, reason any
		if withdrawn {
			at, reason = now.UTC(), "retracted"
		}
		id, err := db.InsertID(ctx, d.W, `INSERT INTO traces (case_id, pseudonym, infectious_from, infectious_until, quarantine_at,
			traced_at, withdrawn_at, withdrawn_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			cases[i].ID, pseudonym, now.AddDate(0, 0, -20).Unix(), now.Unix(), now.Unix(), now.UTC(), at, reason)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	w.inForce, w.withdrawn = trace(0, false), trace(1, true)
	y := w.yesterday
	clock := func(daysBefore, hh, mm int) int64 {
		return time.Date(y.Year, y.Month, y.Day-daysBefore, hh, mm, 0, 0, loc).Unix()
	}
	for _, s := range []struct {
		trace, place int64
		from, to     int64
	}{
		{w.inForce, w.market.ID, clock(0, 10, 5), clock(0, 10, 40)},
		{w.inForce, w.cafe.ID, clock(0, 15, 0), clock(0, 15, 30)},
		{w.inForce, w.far.ID, clock(0, 17, 0), clock(0, 17, 45)},
		{w.inForce, w.g1234.ID, clock(0, 10, 5) + 30, clock(0, 12, 40)},
		{w.inForce, w.old.ID, clock(14, 9, 0), clock(14, 10, 0)},
		{w.withdrawn, w.market.ID, clock(0, 13, 0), clock(0, 14, 0)},
		{w.withdrawn, w.gone.ID, clock(0, 12, 0), clock(0, 13, 0)},
		{w.withdrawn, w.d5678.ID, clock(0, 8, 0), clock(0, 9, 0)},
	} {
		if _, err := db.Exec(ctx, d.W, "INSERT INTO exposure_sites (trace_id, place_id, t_from, t_to) VALUES (?, ?, ?, ?)",
			s.trace, s.place, s.from, s.to); err != nil {
			t.Fatal(err)
		}
	}
	w.marketWindow, w.cafeWindow, w.trainWindow = "10:05–10:40", "15:00–15:30", "10:05–12:40"
	return w
}

// english is an anonymous client that reads English.
func english(t *testing.T, ts *testServer) *client {
	c := ts.client(t)
	c.header.Set("Accept-Language", "en")
	return c
}

type publicWindowJSON struct {
	Date string `json:"date"`
	From string `json:"from"`
	To   string `json:"to"`
	Text string `json:"text"`
}

type publicPlaceJSON struct {
	ID       int64              `json:"id"`
	Name     string             `json:"name"`
	Type     string             `json:"type"`
	TypeName string             `json:"type_name"`
	Lat      float64            `json:"latitude"`
	Lon      float64            `json:"longitude"`
	Distance *float64           `json:"distance_m"`
	Windows  []publicWindowJSON `json:"windows"`
}

func exposures(t *testing.T, c *client, query string) []publicPlaceJSON {
	t.Helper()
	var out struct {
		Days   int               `json:"days"`
		Places []publicPlaceJSON `json:"places"`
	}
	c.get("/api/v1/public/exposures"+query).want(t, http.StatusOK, "exposures "+query).json(t, &out)
	if out.Days != 14 || out.Places == nil {
		t.Fatalf("exposures %s: %+v", query, out)
	}
	return out.Places
}

func placeIDs(ps []publicPlaceJSON) []int64 {
	var out []int64
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

// TestPublicLookups asks what the public may ask, without signing in: trips,
// places by name and by poster code, the map and its JSON. Answers show the
// place, date and time window of traces in force within 14 days, and
// nothing about the cases.
//
// Every request comes from 127.0.0.1, so the test spends one address's
// look-ups: keep it under the 60 a minute of the default config.
func TestPublicLookups(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 200)
		w := publicWorld(t, ts)
		en := english(t, ts)
		zh := ts.client(t)
		zh.header.Set("Accept-Language", "zh-CN")
		noSecrets := func(what, body string) {
			t.Helper()
			mustNotContain(t, what, body, w.secrets...)
			mustNotContain(t, what, body, "C-4201", "pseudonym", "trace")
		}

		// Anonymous visitors find the look-ups from the sign-in page.
		en.get("/").redirect(t, "/login", "root")
		login := en.get("/login").html(t, http.StatusOK, "sign-in page")
		mustContain(t, "sign-in page", login, `href="/public/trips"`, `href="/public/places"`, `href="/public/map"`)
		mustContain(t, "index", en.get("/public").html(t, http.StatusOK, "index"), "Was a confirmed case on my train, flight or bus?")

		// Trips.
		form := en.get("/public/trips").html(t, http.StatusOK, "trip form")
		mustContain(t, "trip form", form, `name="service_number"`, `value="`+w.yesterday.AddDays(1).String()+`"`)
		y := w.yesterday.String()
		yes := en.get("/public/trips?service_number=g+1234&date="+y).html(t, http.StatusOK, "trip yes")
		day := w.yesterday.Time().Format("2 Jan")
		mustContain(t, "trip yes", yes, `data-found="yes"`, "On "+day+", "+w.trainWindow+" a confirmed case was on G1234.")
		noSecrets("trip yes", yes)
		yesZH := zh.get("/public/trips?service_number=G1234&date="+y).html(t, http.StatusOK, "trip yes zh")
		mustContain(t, "trip yes zh", yesZH, fmt.Sprintf("%d月%d日 %s，有确诊病例在 G1234 上。", w.yesterday.Month, w.yesterday.Day, w.trainWindow))
		no := en.get("/public/trips?service_number=D5678&date="+y).html(t, http.StatusOK, "trip of a withdrawn trace")
		mustContain(t, "trip of a withdrawn trace", no, `data-found="no"`, "No confirmed case has been reported on D5678 on "+day+" (as of ")
		mustNotContain(t, "trip of a withdrawn trace", no, "08:00")
		no = en.get("/public/trips?service_number=G1234&date="+w.yesterday.AddDays(-1).String()).html(t, http.StatusOK, "trip the day before")
		mustContain(t, "trip the day before", no, `data-found="no"`)

		for _, tc := range []struct {
			query, field, message string
		}{
			{"service_number=&date=", "service_number", "This field is required."},
			{"service_number=&date=", "date", "This field is required."},
			{"service_number=G-12%21&date=" + y, "service_number", "letters or digits"},
			{"service_number=G12345678901&date=" + y, "service_number", "letters or digits"},
			{"service_number=G1234&date=" + w.yesterday.AddDays(2).String(), "date", "in the future"},
			{"service_number=G1234&date=" + w.yesterday.AddDays(-30).String(), "date", "30 days"},
			{"service_number=G1234&date=2026-02-30", "date", "YYYY-MM-DD"},
			{"service_number=G1234&date=yesterday", "date", "YYYY-MM-DD"},
		} {
			page := en.get("/public/trips?"+tc.query).html(t, http.StatusUnprocessableEntity, "trip "+tc.query)
			mustContain(t, "trip "+tc.query, page, `id="e-`+tc.field+`"`, tc.message)
			mustNotContain(t, "trip "+tc.query, page, `data-testid="answer"`)
		}

		// Places by name: substring, visited within 14 days, traces in force.
		found := en.get("/public/places?q="+url.QueryEscape("菜市")).html(t, http.StatusOK, "by name")
		mustContain(t, "by name", found, `data-found="yes"`, "解放路菜市场", day+", "+w.marketWindow)
		mustNotContain(t, "by name", found, "13:00") // the withdrawn trace's window
		noSecrets("by name", found)
		for _, q := range []string{"restaurant", "old tea", "quiet", "%"} {
			page := en.get("/public/places?q="+url.QueryEscape(q)).html(t, http.StatusOK, "by name "+q)
			mustContain(t, "by name "+q, page, `data-found="no"`, "No place whose name contains")
		}
		mustContain(t, "by name LAKESIDE", en.get("/public/places?q=LAKESIDE").html(t, http.StatusOK, "by name"), "Lakeside Cafe", w.cafeWindow)
		page := en.get("/public/places?q=+").html(t, http.StatusUnprocessableEntity, "empty name")
		mustContain(t, "empty name", page, `id="e-q"`)
		page = en.get("/public/places?q="+strings.Repeat("长", 51)).html(t, http.StatusUnprocessableEntity, "long name")
		mustContain(t, "long name", page, `id="e-q"`, "at most 50")

		// Places by poster code: verified first.
		region, err := server.IssuingRegion(context.Background(), config.Default(), jurisdiction.NewStore(d))
		if err != nil {
			t.Fatal(err)
		}
		codes := &venue.Codes{DB: d, Vault: ts.Vault, Region: region, Now: time.Now}
		if err := codes.Ensure(context.Background()); err != nil {
			t.Fatal(err)
		}
		code := func(p venue.Place) string {
			s, err := codes.SignPlaceCode(p)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		scanned := en.get("/public/places?code="+url.QueryEscape(code(w.market))).html(t, http.StatusOK, "market poster")
		mustContain(t, "market poster", scanned, `data-found="yes"`, "A confirmed case was at 解放路菜市场:", day+", "+w.marketWindow)
		mustNotContain(t, "market poster", scanned, "13:00")
		noSecrets("market poster", scanned)
		linked := en.get("/public/places?code="+url.QueryEscape("https://example.org/checkin?code="+url.QueryEscape(code(w.cafe)))).html(t, http.StatusOK, "cafe link")
		mustContain(t, "cafe link", linked, `data-found="yes"`, "Lakeside Cafe", w.cafeWindow)
		for _, p := range []venue.Place{w.quiet, w.gone, w.old} {
			page := en.get("/public/places?code="+url.QueryEscape(code(p))).html(t, http.StatusOK, "poster of "+p.Name)
			mustContain(t, "poster of "+p.Name, page, `data-found="no"`, "No confirmed case has been reported at "+p.Name+" in the last 14 days")
		}
		forged := code(w.market)
		forged = forged[:len(forged)-3] + map[bool]string{true: "AAA", false: "BBB"}[!strings.HasSuffix(forged, "AAA")]
		for _, bad := range []string{forged, "OBP1:", "hello", strings.Repeat("A", 600)} {
			page := en.get("/public/places?code="+url.QueryEscape(bad)).html(t, http.StatusUnprocessableEntity, "bad code")
			mustContain(t, "bad code", page, `id="e-code"`, "not a genuine place code")
		}
		mustContain(t, "empty code", en.get("/public/places?code=").html(t, http.StatusUnprocessableEntity, "empty code"), `id="e-code"`)
		for path, field := range map[string]string{"/public/places?q=%ff": "q", "/public/places?q=a%00b": "q", "/public/places?code=%00": "code",
			"/public/trips?service_number=%00&date=%ff": "service_number", "/public/trips?service_number=G1&date=%ff": "date"} {
			mustContain(t, path, en.get(path).html(t, http.StatusUnprocessableEntity, path), `id="e-`+field+`"`)
		}

		// The map's JSON: venues only, last 14 days, traces in force.
		all := exposures(t, en, "")
		if got := placeIDs(all); !slices.Equal(got, []int64{w.market.ID, w.cafe.ID, w.far.ID}) {
			t.Fatalf("exposures = %v, want market, cafe, far", got)
		}
		m := all[0]
		if m.Name != "解放路菜市场" || m.Type != "restaurant" || m.TypeName != "Restaurant" || m.Lat != 30.54 || m.Lon != 114.31 || m.Distance != nil ||
			len(m.Windows) != 1 || m.Windows[0].Date != y || m.Windows[0].Text != day+", "+w.marketWindow ||
			!strings.HasSuffix(m.Windows[0].From, "+08:00") {
			t.Errorf("market = %+v", m)
		}
		near := exposures(t, en, "?lat=30.5401&lon=114.3101&radius=1000&lang=zh")
		if got := placeIDs(near); !slices.Equal(got, []int64{w.market.ID, w.cafe.ID}) {
			t.Fatalf("near = %v, want market, cafe", got)
		}
		if d := *near[1].Distance; d < 600 || d > 800 || near[1].TypeName != "餐馆" {
			t.Errorf("near cafe = %+v", near[1])
		}
		if got := placeIDs(exposures(t, en, "?lat=30.5401&lon=114.3101&radius=100")); !slices.Equal(got, []int64{w.market.ID}) {
			t.Errorf("within 100 m = %v", got)
		}
		raw := en.get("/api/v1/public/exposures?lat=30.54&lon=114.31").want(t, http.StatusOK, "raw exposures").String()
		noSecrets("exposures JSON", raw)
		for _, key := range []string{`"id"`, `"name"`, `"windows"`, `"distance_m"`} {
			mustContain(t, "exposures JSON", raw, key)
		}
		for _, tc := range []struct{ query, field string }{
			{"?lat=abc&lon=114", "lat"}, {"?lat=30", "lon"}, {"?lon=114", "lat"}, {"?lat=91&lon=0", "lat"}, {"?lat=0&lon=181", "lon"},
			{"?lat=NaN&lon=0", "lat"}, {"?lat=30&lon=114&radius=0", "radius"}, {"?lat=30&lon=114&radius=50000", "radius"},
			{"?radius=-1", "radius"}, {"?lang=fr", "lang"},
		} {
			en.get("/api/v1/public/exposures"+tc.query).invalid(t, tc.field, "exposures "+tc.query)
		}

		// The map page: the list beneath it, the bundle, no third-party tiles.
		mapPage := en.get("/public/map")
		text := mapPage.html(t, http.StatusOK, "map page")
		mustContain(t, "map page", text, "解放路菜市场", "Lakeside Cafe", "Riverside Bookshop", w.marketWindow, `id="map-config"`, "/map.js", "/map.css")
		mustNotContain(t, "map page", text, "Retracted Restaurant", "Old Tea House", "Quiet Noodles", "http://", "https://")
		noSecrets("map page", text)
		if csp := mapPage.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data:;") {
			t.Errorf("map page CSP = %q", csp)
		}
		for _, asset := range []string{"map.js", "map.css"} {
			src := regexp.MustCompile(`/static/[0-9a-f]{12}/` + regexp.QuoteMeta(asset)).FindString(text)
			if src == "" {
				t.Fatalf("map page: no link to %s", asset)
			}
			if body := en.get(src).want(t, http.StatusOK, src); len(body.Body) < 10000 {
				t.Errorf("%s: only %d bytes", src, len(body.Body))
			}
		}

		// Signed in, the same; the resident's home links to the look-ups.
		me := ts.formLogin(t, "resident-1")
		mustContain(t, "resident home", me.get("/me").html(t, http.StatusOK, "resident home"), `data-testid="public-links"`, `href="/public/map"`)
		mustContain(t, "signed-in trip", me.get("/public/trips?service_number=G1234&date="+y).html(t, http.StatusOK, "signed-in trip"), `data-found="yes"`)

		// A retracted case leaves the answers at once.
		if _, err := db.Exec(context.Background(), d.W, "UPDATE traces SET withdrawn_at = ?, withdrawn_reason = 'retracted' WHERE id = ?",
			time.Now().UTC(), w.inForce); err != nil {
			t.Fatal(err)
		}
		if got := exposures(t, en, ""); len(got) != 0 {
			t.Errorf("after the retraction: %v", placeIDs(got))
		}
		mustContain(t, "trip after the retraction", en.get("/public/trips?service_number=G1234&date="+y).html(t, http.StatusOK, "trip"), `data-found="no"`)
		mustContain(t, "map after the retraction", en.get("/public/map").html(t, http.StatusOK, "map"), `data-testid="map-none"`)
	})
}

// TestPublicRateLimit spends a client address's look-ups: after 60 (the
// default per minute) the pages answer 429 with Retry-After and a page that
// says how long to wait, and the JSON endpoint problem details.
func TestPublicRateLimit(t *testing.T) {
	ts := startServer(t, dbtest.SQLite(t), 0)
	c := english(t, ts)
	allowed := 0
	for range 200 {
		r := c.get("/api/v1/public/exposures")
		if r.Status == http.StatusTooManyRequests {
			p := r.problem(t, http.StatusTooManyRequests, "over the limit")
			if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 60 || p.Detail == "" {
				t.Errorf("Retry-After %q, detail %q", r.Header.Get("Retry-After"), p.Detail)
			}
			break
		}
		r.want(t, http.StatusOK, "within the limit")
		allowed++
	}
	if allowed < 60 || allowed > 65 {
		t.Fatalf("%d look-ups allowed before 429; want 60 (and a refill of at most a few)", allowed)
	}
	for _, path := range []string{"/public/trips?service_number=G1234&date=" + civil.Of(time.Now()).String(), "/public/places?q=x", "/public/map"} {
		r := c.get(path)
		page := r.html(t, http.StatusTooManyRequests, path)
		mustContain(t, path, page, "Too many look-ups from your address. Please wait")
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("%s: no Retry-After", path)
		}
	}
	// The rest of the site is not limited by the look-ups.
	c.get("/login").want(t, http.StatusOK, "sign-in page")
	c.get("/public").want(t, http.StatusOK, "look-ups index")
}

// TestMapBundleIsFresh builds the map's script and stylesheet from web/map
// and fails when the committed internal/http/render/static/map.js or map.css
// differs: someone changed the source and forgot `make assets`. Without
// node or the npm packages (make assets installs them) it is skipped, loudly.
func TestMapBundleIsFresh(t *testing.T) {
	dir := filepath.Join("..", "..", "web", "map")
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("!!! node not found: the committed map bundle is NOT compared with a fresh build")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "esbuild")); err != nil {
		t.Skip("!!! web/map/node_modules missing (run make assets): the committed map bundle is NOT compared with a fresh build")
	}
	out := t.TempDir()
	cmd := exec.Command(node, "build.mjs", out)
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, msg)
	}
	for _, name := range []string{"map.js", "map.css"} {
		fresh, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		committed, err := os.ReadFile(filepath.Join("..", "http", "render", "static", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fresh, committed) {
			t.Errorf("internal/http/render/static/%s is not built from web/map as it is now: run make assets", name)
		}
	}
}

// startConfigured serves an empty store with cfg (startServer's defaults
// otherwise) until the test ends.
func startConfigured(t *testing.T, cfg config.Config) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := dbtest.SQLite(t)
	v, err := vault.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Argon2 = testArgon
	_, ts := serveOn(t, ctx, cancel, cfg, d, v)
	return ts
}

// TestPublicMapTiles: a tile URL in the config reaches the map's script,
// and the page's Content-Security-Policy lets its images load.
func TestPublicMapTiles(t *testing.T) {
	for _, tc := range []struct{ tiles, imgSrc string }{
		{"https://{s}.tiles.example.org/{z}/{x}/{y}.png", "img-src 'self' data: https://*.tiles.example.org;"},
		{"http://10.0.0.5:8081/osm/{z}/{x}/{y}.png", "img-src 'self' data: http://10.0.0.5:8081;"},
		{"/tiles/{z}/{x}/{y}.png", "img-src 'self' data:;"},
	} {
		cfg := config.Default()
		cfg.MapTiles = tc.tiles
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		ts := startConfigured(t, cfg)
		r := ts.client(t).get("/public/map")
		page := r.html(t, http.StatusOK, "map with tiles "+tc.tiles)
		mustContain(t, "map config", page, `"tiles":"`+tc.tiles+`"`)
		if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, tc.imgSrc) {
			t.Errorf("tiles %s: CSP %q, want %q", tc.tiles, csp, tc.imgSrc)
		}
	}
}
