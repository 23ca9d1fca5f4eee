package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/config"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/demo"
	"github.com/outbreak-platform/outbreak/internal/i18n"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/server"
	"github.com/outbreak-platform/outbreak/internal/vault"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

// ciEnv is a demo region served with places to check in at, and posters
// of every kind the check-in page must refuse.
type ciEnv struct {
	*testServer
	srv    *server.Server
	codes  *venue.Codes // the server's place key: signs genuine posters
	places venue.Store
	loc    *time.Location

	shop, grocer, entrance, train, oldTrain, bus, closed venue.Place
	// Posters signed with a key revoked before the server started, with a
	// key of another region (4403) the store holds, and with a key of
	// another deployment altogether.
	revokedCode, foreignCode, forgedCode string
}

// ciActor is the actor of a demo account.
func ciActor(t *testing.T, d *db.DB, username string) rbac.Actor {
	t.Helper()
	var row struct {
		ID         int64          `db:"id"`
		Role       string         `db:"role"`
		ResidentID sql.NullInt64  `db:"resident_id"`
		JID        sql.NullInt64  `db:"jurisdiction_id"`
		Path       sql.NullString `db:"path"`
	}
	if err := db.Get(context.Background(), d.R, &row, `SELECT a.id, a.role, a.resident_id, a.jurisdiction_id, j.path
		FROM accounts a LEFT JOIN jurisdictions j ON j.id = a.jurisdiction_id WHERE a.username = ?`, username); err != nil {
		t.Fatalf("account %s: %v", username, err)
	}
	return rbac.Actor{AccountID: row.ID, Name: username, Role: rbac.Role(row.Role), ResidentID: row.ResidentID.Int64,
		JurisdictionID: row.JID.Int64, ScopePath: row.Path.String}
}

// ciWorker is the community worker of a community.
func ciWorker(t *testing.T, d *db.DB, community string) rbac.Actor {
	t.Helper()
	var name string
	if err := db.Get(context.Background(), d.R, &name, `SELECT a.username FROM accounts a JOIN jurisdictions j ON j.id = a.jurisdiction_id
		WHERE a.role = 'community_worker' AND j.code = ? ORDER BY a.id LIMIT 1`, community); err != nil {
		t.Fatalf("community worker of %s: %v", community, err)
	}
	return ciActor(t, d, name)
}

// ciResidents returns the usernames of n resident accounts other than
// resident-1 and resident-2 (who check in, and own the shops).
func ciResidents(t *testing.T, d *db.DB, n int) []string {
	t.Helper()
	var names []string
	if err := db.Select(context.Background(), d.R, &names, `SELECT username FROM accounts WHERE role = 'resident'
		AND username NOT IN ('resident-1', 'resident-2') ORDER BY id LIMIT ?`, n); err != nil || len(names) < n {
		t.Fatalf("%d resident accounts: %v, %v", n, names, err)
	}
	return names
}

// ciDependents returns the ids of a resident's dependents.
func ciDependents(t *testing.T, d *db.DB, residentID int64) []int64 {
	t.Helper()
	var ids []int64
	if err := db.Select(context.Background(), d.R, &ids, "SELECT id FROM residents WHERE guardian_id = ? ORDER BY id", residentID); err != nil {
		t.Fatal(err)
	}
	return ids
}

// ciStart generates a demo region of 300 residents into d, registers the
// places, signs the posters that must be refused, and serves it all until
// the test ends.
func ciStart(t *testing.T, d *db.DB) *ciEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	v, err := vault.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Generate(ctx, demo.Stores{DB: d, Jurisdictions: jurisdiction.NewStore(d), Residents: resident.NewStore(d, v),
		Accounts: account.NewStore(d), Params: testArgon}, demo.Options{Residents: 300, Seed: 2020}); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Argon2 = testArgon
	cfg.LoginPerMinute = 1000
	loc := cfg.Loc()
	now := func() time.Time { return time.Now().In(loc) }
	today := civil.Of(now())
	e := &ciEnv{places: venue.NewStore(d, now), loc: loc}

	lat, lon := 30.54, 114.31
	owner := ciActor(t, d, "resident-2")
	mk := func(a rbac.Actor, n venue.New) venue.Place {
		t.Helper()
		p, err := e.places.Create(ctx, d.W, a, n)
		if err != nil {
			t.Fatalf("register %s: %v", n.Name, err)
		}
		return p
	}
	shop := func(name string) venue.New {
		return venue.New{Type: venue.Shop, Name: name, Address: "武昌区解放路 88 号", Latitude: &lat, Longitude: &lon, JurisdictionCode: "420106001"}
	}
	e.shop = mk(owner, shop("解放路菜市场"))
	e.grocer = mk(owner, shop("中南路超市"))
	e.closed = mk(owner, shop("已关闭的店"))
	if _, err := (&venue.Registry{DB: d, Store: e.places}).SetDisabled(ctx, owner, e.closed.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	e.entrance = mk(ciWorker(t, d, "420106001"), venue.New{Type: venue.CompoundEntrance, Name: "中南小区东门", Address: "中南路 1 号",
		Latitude: &lat, Longitude: &lon, JurisdictionCode: "420106001"})
	admin := ciActor(t, d, "admin-1")
	e.train = mk(admin, venue.New{Type: venue.Train, Name: "G1234 武汉—北京西", JurisdictionCode: "4201", ServiceNumber: "G1234", ServiceDate: today})
	e.oldTrain = mk(admin, venue.New{Type: venue.Train, Name: "D5 武汉—上海", JurisdictionCode: "4201", ServiceNumber: "D5", ServiceDate: today.AddDays(-3)})
	e.bus = mk(admin, venue.New{Type: venue.Bus, Name: "526 路", JurisdictionCode: "4201", ServiceNumber: "526"})

	// The region's first place key signs a poster, then is revoked (a new
	// one takes its place); a key of another region is in the store.
	first := &venue.Codes{DB: d, Vault: v, Region: "4201"}
	if err := first.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if e.revokedCode, err = first.SignPlaceCode(e.shop); err != nil {
		t.Fatal(err)
	}
	claims, err := first.VerifyPlaceCode(e.revokedCode, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Revoke(ctx, claims.KeyID); err != nil {
		t.Fatal(err)
	}
	foreign := &venue.Codes{DB: d, Vault: v, Region: "4403"}
	if err := foreign.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if e.foreignCode, err = foreign.SignPlaceCode(e.shop); err != nil {
		t.Fatal(err)
	}
	// Another deployment's key, for the same region and place: a forgery.
	other := dbtest.SQLite(t)
	ov, _ := vault.New(bytes.Repeat([]byte{9}, 32))
	forger := &venue.Codes{DB: other, Vault: ov, Region: "4201"}
	if err := forger.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if e.forgedCode, err = forger.SignPlaceCode(e.shop); err != nil {
		t.Fatal(err)
	}

	e.srv, e.testServer = serveOn(t, ctx, cancel, cfg, d, v)
	e.codes = &venue.Codes{DB: d, Vault: v, Region: "4201"}
	if err := e.codes.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

// code signs the poster of p with the server's key, as printed a day ago:
// a check-in may be sent hours after the scan, and its code must have been
// issued before it.
func (e *ciEnv) code(t *testing.T, p venue.Place) string {
	t.Helper()
	return e.codeAt(t, p, time.Now().Add(-24*time.Hour))
}

// codeAt signs the poster of p with the server's key as it would have been
// signed at at: an ended trip's poster is signed before the trip ends.
func (e *ciEnv) codeAt(t *testing.T, p venue.Place, at time.Time) string {
	t.Helper()
	signer := &venue.Codes{DB: e.DB, Vault: e.Vault, Region: "4201", Now: func() time.Time { return at }}
	if err := signer.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, err := signer.SignPlaceCode(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// oldTrainCode is the poster of the train that ran three days ago,
// signed that morning.
func (e *ciEnv) oldTrainCode(t *testing.T) string {
	t.Helper()
	d := e.oldTrain.ServiceDate
	return e.codeAt(t, e.oldTrain, time.Date(d.Year, d.Month, d.Day, 6, 0, 0, 0, e.loc))
}

// ciCheckIn is a check-in as stored.
type ciCheckIn struct {
	ClientID   string         `db:"client_id"`
	ResidentID int64          `db:"resident_id"`
	PlaceID    int64          `db:"place_id"`
	TIn        int64          `db:"t_in"`
	TOut       int64          `db:"t_out"`
	Carriage   sql.NullString `db:"carriage"`
	Seat       sql.NullString `db:"seat"`
	Source     string         `db:"source"`
}

func ciStored(t *testing.T, d *db.DB, where string, args ...any) []ciCheckIn {
	t.Helper()
	var cs []ciCheckIn
	if where != "" {
		where = " WHERE " + where
	}
	if err := db.Select(context.Background(), d.R, &cs, "SELECT client_id, resident_id, place_id, t_in, t_out, carriage, seat, source FROM checkins"+
		where+" ORDER BY t_in, id", args...); err != nil {
		t.Fatal(err)
	}
	return cs
}

// ciResult is one result of a batch.
type ciResult struct {
	ClientID   string `json:"client_id"`
	TIn        int64  `json:"t_in"`
	Status     string `json:"status"`
	Reason     string `json:"reason"`
	Field      string `json:"field"`
	Message    string `json:"message"`
	ResidentID int64  `json:"resident_id"`
	TOut       int64  `json:"t_out"`
	Carriage   string `json:"carriage"`
	Source     string `json:"source"`
	Place      *struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"place"`
}

type ciBatchResult struct {
	Results   []ciResult `json:"results"`
	Accepted  int        `json:"accepted"`
	Duplicate int        `json:"duplicate"`
	Refused   int        `json:"refused"`
}

func ciSend(t *testing.T, c *client, items []map[string]any, what string) ciBatchResult {
	t.Helper()
	var res ciBatchResult
	c.post("/api/v1/checkins", map[string]any{"checkins": items}).want(t, http.StatusOK, what).json(t, &res)
	if len(res.Results) != len(items) {
		t.Fatalf("%s: %d results for %d check-ins", what, len(res.Results), len(items))
	}
	return res
}

var ciHiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)

// ciForm returns the hidden fields of the confirm form on a check-in page.
func ciForm(t *testing.T, page string) url.Values {
	t.Helper()
	i := strings.Index(page, `id="ci-form"`)
	if i < 0 {
		t.Fatalf("no confirm form on the page: %.1500s", page)
	}
	form := page[i:]
	form = form[:strings.Index(form, "</form>")]
	vals := url.Values{}
	for _, m := range ciHiddenRE.FindAllStringSubmatch(form, -1) {
		vals.Set(m[1], html.UnescapeString(m[2]))
	}
	return vals
}

// TestCheckInPages follows a resident through the pages, without the
// page's script: scan a poster, confirm, see the check-in, check out;
// scan another place; bring a dependent; the compound entrance's visitor
// link; the list of their check-ins.
func TestCheckInPages(t *testing.T) {
	t.Parallel()
	e := ciStart(t, dbtest.SQLite(t))
	d := e.DB
	me := ciActor(t, d, "resident-1")
	deps := ciDependents(t, d, me.ResidentID)
	if len(deps) != 2 {
		t.Fatalf("resident-1 has %d dependents; the demo gives two", len(deps))
	}

	anon := e.client(t)
	anon.get("/checkin").redirect(t, "/login?next=%2Fcheckin", "check-in page, anonymous")
	e.formLogin(t, "commander-1").get("/checkin").html(t, http.StatusForbidden, "check-in page, staff")

	c := e.formLogin(t, "resident-1")
	home := c.page(t, "/me", http.StatusOK)
	mustContain(t, "home", home, `href="/checkin"`, `href="/me/checkins"`)
	idle := c.page(t, "/checkin", http.StatusOK)
	mustContain(t, "check-in page", idle, `data-testid="idle"`, `id="ci-config"`, "/static/", "checkin.js")

	// The poster: the place, its type and address, to confirm.
	shopCode := e.code(t, e.shop)
	page := c.page(t, "/checkin?code="+url.QueryEscape(shopCode), http.StatusOK)
	mustContain(t, "confirm page", page, "解放路菜市场", "商店", "武昌区解放路 88 号", `data-testid="confirm-button"`)
	form := ciForm(t, page)
	selfID := fmt.Sprint(me.ResidentID)
	if form.Get("code") != shopCode || !regexp.MustCompile(`^[0-9a-f-]{36}$`).MatchString(form.Get("client_id_"+selfID)) ||
		form.Get("client_id_"+fmt.Sprint(deps[0])) == "" || form.Get("csrf") == "" {
		t.Fatalf("confirm form fields: %v", form)
	}
	before := time.Now().Unix()
	c.postForm("/checkin", form).redirect(t, "/checkin", "confirm")
	c.postForm("/checkin", form).redirect(t, "/checkin", "confirm sent twice")
	cs := ciStored(t, d, "resident_id = ?", me.ResidentID)
	if len(cs) != 1 || cs[0].PlaceID != e.shop.ID || cs[0].Source != "scan" || cs[0].ClientID != form.Get("client_id_"+selfID) ||
		cs[0].TIn < before-5 || cs[0].TOut != cs[0].TIn+30*60 {
		t.Fatalf("stored after confirming twice: %+v; want one scan at the shop with the shop's 30-minute dwell", cs)
	}
	since := time.Unix(cs[0].TIn, 0).In(e.loc).Format("15:04")
	cur := c.page(t, "/checkin", http.StatusOK)
	mustContain(t, "current check-in", cur, `data-testid="current"`, "已在解放路菜市场登记，自 "+since+" 起", `action="/checkin/checkout"`,
		`data-client-id="`+cs[0].ClientID+`"`)
	mustNotContain(t, "current check-in at a shop", cur, `data-testid="visit-link"`)

	// Scanning the same poster again offers the check-out.
	again := c.page(t, "/checkin?code="+url.QueryEscape(shopCode), http.StatusOK)
	mustContain(t, "the same poster again", again, `data-testid="here"`)
	mustNotContain(t, "the same poster again", again, `data-testid="confirm-button"`)
	c.postForm("/checkin/checkout", url.Values{"csrf": {form.Get("csrf")}, "client_id": {cs[0].ClientID}, "t_in": {fmt.Sprint(cs[0].TIn)}}).
		redirect(t, "/checkin", "check out")
	out := ciStored(t, d, "resident_id = ?", me.ResidentID)[0]
	if out.TOut <= out.TIn || out.TOut > time.Now().Unix()+1 {
		t.Fatalf("checked out: %+v; want the check-out now", out)
	}
	mustNotContain(t, "after checking out", c.page(t, "/checkin", http.StatusOK), `data-testid="current"`)
	// Without the session's token, nothing happens.
	c.postForm("/checkin/checkout", url.Values{"client_id": {cs[0].ClientID}, "t_in": {fmt.Sprint(cs[0].TIn)}}).
		html(t, http.StatusForbidden, "check-out without a CSRF token")

	// Another place while checked in: out of the first, into the second,
	// with a dependent.
	page = c.page(t, "/checkin?code="+url.QueryEscape(shopCode), http.StatusOK)
	c.postForm("/checkin", ciForm(t, page)).redirect(t, "/checkin", "check in at the shop again")
	page = c.page(t, "/checkin?code="+url.QueryEscape(e.code(t, e.entrance)), http.StatusOK)
	mustContain(t, "another place", page, "中南小区东门", `data-testid="switch"`, "将同时登记离开解放路菜市场", `name="for" value="`+fmt.Sprint(deps[0])+`"`)
	form = ciForm(t, page)
	form.Set("for", fmt.Sprint(deps[0]))
	c.postForm("/checkin", form).redirect(t, "/checkin", "check in at the entrance with a dependent")
	mine := ciStored(t, d, "resident_id = ?", me.ResidentID)
	if len(mine) != 3 || mine[1].PlaceID != e.shop.ID || mine[1].TOut > max(mine[2].TIn, mine[1].TIn+1) || mine[2].PlaceID != e.entrance.ID {
		t.Fatalf("after scanning the entrance: %+v; want the shop checked out at the entrance's check-in", mine)
	}
	dep := ciStored(t, d, "resident_id = ?", deps[0])
	if len(dep) != 1 || dep[0].PlaceID != e.entrance.ID || dep[0].TIn != mine[2].TIn || dep[0].ClientID == mine[2].ClientID ||
		dep[0].ClientID != form.Get("client_id_"+fmt.Sprint(deps[0])) {
		t.Fatalf("dependent's check-in: %+v; want one at the entrance with its own client id", dep)
	}
	if n := len(ciStored(t, d, "resident_id = ?", deps[1])); n != 0 {
		t.Fatalf("the dependent not ticked has %d check-ins", n)
	}
	cur = c.page(t, "/checkin", http.StatusOK)
	mustContain(t, "at the compound entrance", cur, `href="/visit/`+fmt.Sprint(e.entrance.ID)+`"`, `data-testid="current-with"`)
	// Checking out checks the dependent out too.
	c.postForm("/checkin/checkout", url.Values{"csrf": {form.Get("csrf")}, "client_id": {mine[2].ClientID}, "t_in": {fmt.Sprint(mine[2].TIn)}}).
		redirect(t, "/checkin", "check out with a dependent")
	if dep := ciStored(t, d, "resident_id = ?", deps[0]); dep[0].TOut > time.Now().Unix()+1 || dep[0].TOut == dep[0].TIn+60 {
		t.Fatalf("dependent after checking out: %+v; want checked out now, not at the default dwell", dep)
	}

	// Posters that must be refused say why, and record nothing.
	n := count(t, d, "checkins")
	for _, tc := range []struct{ what, code, reason string }{
		{"revoked", e.revokedCode, "unknown_key"},
		{"forged", e.forgedCode, "unknown_key"},
		{"of another region", e.foreignCode, "wrong_region"},
		{"of a trip that has ended", e.oldTrainCode(t), "expired"},
		{"of a closed place", func() string { p := e.closed; p.Disabled = false; return e.code(t, p) }(), "place_disabled"},
		{"not a place code", "OB1:NOT-A-PLACE", "malformed"},
	} {
		page := c.page(t, "/checkin?code="+url.QueryEscape(tc.code), http.StatusOK)
		cat, _ := i18n.Load()
		mustContain(t, tc.what, page, `data-testid="refused"`, cat.For("zh").T("err.checkin."+tc.reason))
		mustNotContain(t, tc.what, page, `data-testid="confirm-button"`)
		vals := url.Values{"csrf": {form.Get("csrf")}, "code": {tc.code}, "t_in": {fmt.Sprint(time.Now().Unix())},
			"client_id_" + selfID: {uuid.NewString()}}
		c.postForm("/checkin", vals).html(t, http.StatusUnprocessableEntity, "confirm a poster "+tc.what)
	}
	if got := count(t, d, "checkins"); got != n {
		t.Fatalf("refused posters stored %d check-ins", got-n)
	}

	// The list of my check-ins: each place by name; no deletion, and it says so.
	list := c.page(t, "/me/checkins", http.StatusOK)
	mustContain(t, "my check-ins", list, "解放路菜市场", "中南小区东门", `data-testid="no-delete"`, "登记记录不能删除", "扫码登记")
	mustNotContain(t, "my check-ins", list, "删除</button>", `action="/me/checkins`, `action="/checkin/delete`)
	depList := c.page(t, fmt.Sprintf("/me/checkins?resident=%d", deps[0]), http.StatusOK)
	mustContain(t, "a dependent's check-ins", depList, "中南小区东门")
	mustNotContain(t, "a dependent's check-ins", depList, "解放路菜市场")
	other := ciActor(t, d, ciResidents(t, d, 1)[0])
	c.get(fmt.Sprintf("/me/checkins?resident=%d", other.ResidentID)).html(t, http.StatusNotFound, "someone else's check-ins")

	// Trips, by form: an unknown service number and an impossible date
	// are shown beside their fields; a real one is stored once.
	tripPage := c.page(t, "/me/trips/new", http.StatusOK)
	tripForm := url.Values{}
	for _, m := range ciHiddenRE.FindAllStringSubmatch(tripPage, -1) {
		tripForm.Set(m[1], html.UnescapeString(m[2]))
	}
	tripForm.Set("service_number", "Z9999")
	tripForm.Set("date", civil.Of(time.Now().In(e.loc)).String())
	body := c.postForm("/me/trips", tripForm).html(t, http.StatusUnprocessableEntity, "unknown service number")
	mustContain(t, "unknown service number", body, `id="e-service_number"`, "该日期没有此车次")
	tripForm.Set("service_number", "g 1234")
	tripForm.Set("date", civil.Of(time.Now().In(e.loc)).AddDays(3).String())
	body = c.postForm("/me/trips", tripForm).html(t, http.StatusUnprocessableEntity, "a trip in the future")
	mustContain(t, "a trip in the future", body, `id="e-date"`)
	tripForm.Set("date", "2019-02-30")
	c.postForm("/me/trips", tripForm).html(t, http.StatusUnprocessableEntity, "no such date")
	tripForm.Set("date", civil.Of(time.Now().In(e.loc)).String())
	tripForm.Set("carriage", "05")
	tripForm.Set("seat", "12f")
	tripForm.Set("for", fmt.Sprint(deps[1]))
	c.postForm("/me/trips", tripForm).redirect(t, "/me/checkins", "register a trip")
	c.postForm("/me/trips", tripForm).redirect(t, "/me/checkins", "register a trip twice")
	trips := ciStored(t, d, "source = 'trip'")
	start := time.Date(time.Now().In(e.loc).Year(), time.Now().In(e.loc).Month(), time.Now().In(e.loc).Day(), 0, 0, 0, 0, e.loc).Unix()
	if len(trips) != 2 || trips[0].PlaceID != e.train.ID || trips[0].TIn != start || trips[0].Carriage.String != "5" || trips[0].Seat.String != "12F" {
		t.Fatalf("trips: %+v; want the resident and a dependent on G1234 from the day's start, carriage 5, seat 12F", trips)
	}
	mustContain(t, "my trips", c.page(t, "/me/checkins", http.StatusOK), "G1234", "登记行程")
}

// TestCheckInAPI sends a phone's batches: genuine, forged, revoked,
// foreign, expired and future check-ins, dependents, trips; re-sending a
// batch stores nothing twice; check-out; the history.
func TestCheckInAPI(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := ciStart(t, d)
		me := ciActor(t, d, "resident-1")
		deps := ciDependents(t, d, me.ResidentID)
		strangerName := ciResidents(t, d, 1)[0]
		stranger := ciActor(t, d, strangerName)
		c, _ := e.login(t, "resident-1", demoPassword)
		now := time.Now().Unix()

		// Access.
		e.client(t).post("/api/v1/checkins", `{"checkins":[]}`).problem(t, http.StatusUnauthorized, "anonymous")
		staffC, _ := e.login(t, "commander-1", demoPassword)
		staffC.post("/api/v1/checkins", `{"checkins":[]}`).problem(t, http.StatusForbidden, "staff")
		noCSRF := *c
		noCSRF.csrf = ""
		noCSRF.post("/api/v1/checkins", `{"checkins":[]}`).problem(t, http.StatusForbidden, "no CSRF token")

		// Bad bodies.
		c.post("/api/v1/checkins", `{"checkins":[]}`).invalid(t, "checkins", "empty batch")
		many := make([]map[string]any, 501)
		for i := range many {
			many[i] = map[string]any{"client_id": uuid.NewString(), "code": "x", "t_in": now}
		}
		c.post("/api/v1/checkins", map[string]any{"checkins": many}).invalid(t, "checkins", "501 check-ins")
		c.post("/api/v1/checkins", `{"checkins":[{"client_id":"x","extra":1}]}`).problem(t, http.StatusBadRequest, "unknown field")
		c.post("/api/v1/checkins", `{"checkins":[{"t_in":"soon"}]}`).problem(t, http.StatusBadRequest, "a string for a time")
		c.do(http.MethodPost, "/api/v1/checkins", "text/plain", strings.NewReader(`{}`)).problem(t, http.StatusUnsupportedMediaType, "not JSON")

		// A code with its signature altered: refused as forged.
		shopCode := e.code(t, e.shop)
		const b45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
		altered := ""
		for i := len(shopCode) - 2; i > len(venue.Prefix) && altered == ""; i-- {
			j := strings.IndexByte(b45, shopCode[i])
			cand := shopCode[:i] + string(b45[(j+1)%len(b45)]) + shopCode[i+1:]
			if _, err := e.codes.VerifyPlaceCode(cand, time.Now()); venue.ReasonOf(err) == venue.ReasonBadSignature {
				altered = cand
			}
		}
		if altered == "" {
			t.Fatal("no one-character change of the code makes a bad signature")
		}
		carriageCode, err := e.codes.SignCarriageCode(e.train, 7) // signed now: scanned a minute later
		if err != nil {
			t.Fatal(err)
		}
		oldStart := time.Date(e.oldTrain.ServiceDate.Year, e.oldTrain.ServiceDate.Month, e.oldTrain.ServiceDate.Day, 9, 0, 0, 0, e.loc).Unix()
		closed := e.closed
		closed.Disabled = false
		type want struct{ status, reason string }
		cases := []struct {
			what string
			item map[string]any
			want want
		}{
			{"at a shop", map[string]any{"code": shopCode, "t_in": now - 600}, want{"accepted", ""}},
			{"a poster URL", map[string]any{"code": e.URL + "/checkin#" + url.PathEscape(e.code(t, e.grocer)), "t_in": now - 500, "t_out": now - 100}, want{"accepted", ""}},
			{"a dependent", map[string]any{"code": shopCode, "t_in": now - 600, "for": deps[0]}, want{"accepted", ""}},
			{"a carriage", map[string]any{"code": carriageCode, "t_in": now - 60, "carriage": "9", "seat": "3a"}, want{"accepted", ""}},
			{"a trip by place id", map[string]any{"place_id": e.bus.ID, "t_in": now - 3600}, want{"accepted", ""}},
			{"an ended trip's code at the time of the trip", map[string]any{"code": e.oldTrainCode(t), "t_in": oldStart}, want{"accepted", ""}},
			{"an ended trip's code now", map[string]any{"code": e.oldTrainCode(t), "t_in": now}, want{"refused", "expired"}},
			{"forged", map[string]any{"code": e.forgedCode, "t_in": now}, want{"refused", "unknown_key"}},
			{"altered", map[string]any{"code": altered, "t_in": now}, want{"refused", "bad_signature"}},
			{"revoked", map[string]any{"code": e.revokedCode, "t_in": now}, want{"refused", "unknown_key"}},
			{"of another region", map[string]any{"code": e.foreignCode, "t_in": now}, want{"refused", "wrong_region"}},
			{"not a place code", map[string]any{"code": "OB1:ABC", "t_in": now}, want{"refused", "malformed"}},
			{"a closed place", map[string]any{"code": e.code(t, closed), "t_in": now}, want{"refused", "place_disabled"}},
			{"in the future", map[string]any{"code": shopCode, "t_in": now + 3600}, want{"refused", "future"}},
			{"older than the retention window", map[string]any{"code": shopCode, "t_in": now - 40*86400}, want{"refused", "too_old"}},
			{"a check-out before the check-in", map[string]any{"code": shopCode, "t_in": now - 60, "t_out": now - 120}, want{"refused", "t_out"}},
			{"someone else's dependent", map[string]any{"code": shopCode, "t_in": now, "for": stranger.ResidentID}, want{"refused", "not_dependent"}},
			{"a shop as a trip", map[string]any{"place_id": e.shop.ID, "t_in": now}, want{"refused", "not_a_trip"}},
			{"a trip far from its date", map[string]any{"place_id": e.oldTrain.ID, "t_in": now}, want{"refused", "trip_date"}},
			{"a seat in a shop", map[string]any{"code": shopCode, "t_in": now, "seat": "1A"}, want{"refused", "seat"}},
			{"both a code and a place", map[string]any{"code": shopCode, "place_id": e.bus.ID, "t_in": now}, want{"refused", "invalid"}},
			{"no client id", map[string]any{"client_id": "", "code": shopCode, "t_in": now}, want{"refused", "invalid"}},
		}
		items := make([]map[string]any, len(cases))
		for i, tc := range cases {
			items[i] = map[string]any{"client_id": uuid.NewString()}
			for k, v := range tc.item {
				items[i][k] = v
			}
		}
		cat, _ := i18n.Load()
		res := ciSend(t, c, items, "a batch")
		accepted := 0
		for i, tc := range cases {
			r := res.Results[i]
			if r.Status != tc.want.status || r.Reason != tc.want.reason || r.ClientID != items[i]["client_id"] {
				t.Errorf("%s: %+v; want %s %s", tc.what, r, tc.want.status, tc.want.reason)
			}
			if r.Status == "refused" && (r.Message == "" || r.Message == "err.checkin."+r.Reason) {
				t.Errorf("%s: refused without words: %+v", tc.what, r)
			}
			if tc.want.status == "accepted" {
				accepted++
			}
		}
		if res.Results[0].Place == nil || res.Results[0].Place.Name != "解放路菜市场" || res.Results[0].ResidentID != me.ResidentID ||
			res.Results[2].ResidentID != deps[0] || res.Results[3].Carriage != "7" || res.Results[4].Source != "trip" {
			t.Errorf("accepted results: %+v", res.Results[:5])
		}
		if m := res.Results[7].Message; m != cat.For("zh").T("err.checkin.unknown_key") { // resident-1 reads Chinese
			t.Errorf("forged poster's message %q", m)
		}
		if res.Accepted != accepted || res.Refused != len(cases)-accepted || res.Duplicate != 0 {
			t.Errorf("summary %+v", res)
		}
		stored := ciStored(t, d, "")
		if len(stored) != accepted {
			t.Fatalf("%d check-ins stored, want %d", len(stored), accepted)
		}
		byID := map[string]ciCheckIn{}
		for _, s := range stored {
			byID[s.ClientID] = s
		}
		if s := byID[items[1]["client_id"].(string)]; s.TOut != now-100 || s.PlaceID != e.grocer.ID {
			t.Errorf("check-in with its check-out: %+v", s)
		}
		if s := byID[items[3]["client_id"].(string)]; s.Carriage.String != "7" || s.Seat.String != "3A" || s.PlaceID != e.train.ID {
			t.Errorf("carriage check-in: %+v; the poster's carriage wins over the one typed", s)
		}
		if s := byID[items[4]["client_id"].(string)]; s.Source != "trip" || s.TOut != s.TIn+30*60 {
			t.Errorf("bus trip: %+v; want the bus's default dwell", s)
		}

		// The same batch again, as a phone whose answer was lost: nothing
		// stored twice; the same check-ins, now as duplicates.
		again := ciSend(t, c, items, "the batch again")
		for i, r := range again.Results {
			first := res.Results[i]
			want := first.Status
			if want == "accepted" {
				want = "duplicate"
			}
			if r.Status != want || r.Reason != first.Reason || r.ResidentID != first.ResidentID || (first.Place == nil) != (r.Place == nil) {
				t.Errorf("%s sent again: %+v; first %+v", cases[i].what, r, first)
			}
		}
		if again.Duplicate != accepted || again.Accepted != 0 || count(t, d, "checkins") != accepted {
			t.Fatalf("the batch again: %d accepted, %d duplicates, %d rows; want %d duplicates and no new row", again.Accepted, again.Duplicate,
				count(t, d, "checkins"), accepted)
		}
		// Twice in one batch: once. Another resident reusing an id and time: refused.
		twice := map[string]any{"client_id": uuid.NewString(), "code": shopCode, "t_in": now - 30}
		r2 := ciSend(t, c, []map[string]any{twice, twice}, "the same check-in twice in a batch")
		if r2.Results[0].Status != "accepted" || r2.Results[1].Status != "duplicate" || count(t, d, "checkins") != accepted+1 {
			t.Fatalf("twice in a batch: %+v", r2.Results)
		}
		thief, _ := e.login(t, strangerName, demoPassword)
		if r := ciSend(t, thief, []map[string]any{items[0]}, "another resident's id").Results[0]; r.Status != "refused" || r.Reason != "conflict" {
			t.Fatalf("another resident's client id and time: %+v", r)
		}

		// Check-out through the API.
		first := byID[items[0]["client_id"].(string)]
		c.post("/api/v1/checkins/"+first.ClientID+"/checkout", map[string]any{"t_in": first.TIn}).want(t, http.StatusOK, "check out")
		if s := ciStored(t, d, "client_id = ?", first.ClientID)[0]; s.TOut < now || s.TOut > time.Now().Unix()+1 {
			t.Fatalf("after check-out: %+v", s)
		}
		thief.post("/api/v1/checkins/"+first.ClientID+"/checkout", map[string]any{"t_in": first.TIn}).problem(t, http.StatusNotFound, "someone else's check-out")
		c.post("/api/v1/checkins/"+uuid.NewString()+"/checkout", map[string]any{"t_in": now}).problem(t, http.StatusNotFound, "no such check-in")
		c.post("/api/v1/checkins/"+first.ClientID+"/checkout", map[string]any{"t_in": first.TIn, "t_out": now + 3600}).invalid(t, "t_out", "a check-out in the future")

		// Trips: an unknown service number, impossible dates; a real trip.
		today := civil.Of(time.Now().In(e.loc))
		trip := func(body map[string]any) *response {
			body["client_id"] = uuid.NewString()
			return c.post("/api/v1/me/trips", body)
		}
		trip(map[string]any{"service_number": "Z9999", "date": today}).invalid(t, "service_number", "unknown service number")
		trip(map[string]any{"service_number": "G1234", "date": today.AddDays(400)}).invalid(t, "date", "a trip next year")
		trip(map[string]any{"service_number": "G1234", "date": today.AddDays(-60)}).invalid(t, "date", "a trip before the retention window")
		trip(map[string]any{"service_number": "G1234", "date": "2026-02-30"}).problem(t, http.StatusBadRequest, "no such date")
		trip(map[string]any{"service_number": "G1234", "date": today, "time": "25:00"}).invalid(t, "time", "no such time")
		trip(map[string]any{"service_number": "G1234", "date": today, "for": stranger.ResidentID}).invalid(t, "for", "someone else's trip")
		var tr ciResult
		trip(map[string]any{"service_number": "526", "date": today.AddDays(-1), "time": "07:45"}).want(t, http.StatusOK, "a bus ride").json(t, &tr)
		y := today.AddDays(-1)
		if tr.Status != "accepted" || tr.Place.ID != e.bus.ID || tr.TIn != time.Date(y.Year, y.Month, y.Day, 7, 45, 0, 0, e.loc).Unix() {
			t.Fatalf("bus ride: %+v", tr)
		}

		// The history: mine, newest first, places by name; a dependent's.
		var hist struct {
			CheckIns []struct {
				ClientID string `json:"client_id"`
				Source   string `json:"source"`
				Place    struct {
					Name string `json:"name"`
				} `json:"place"`
			} `json:"checkins"`
		}
		c.get("/api/v1/me/checkins").want(t, http.StatusOK, "history").json(t, &hist)
		// The batch's, less the dependent's, with the one sent twice and the bus ride.
		if len(hist.CheckIns) != accepted+1 || hist.CheckIns[0].ClientID != twice["client_id"] {
			t.Fatalf("history: %+v; want %d, newest first", hist.CheckIns, accepted+1)
		}
		c.get(fmt.Sprintf("/api/v1/me/checkins?resident=%d", deps[0])).want(t, http.StatusOK, "a dependent's history").json(t, &hist)
		if len(hist.CheckIns) != 1 || hist.CheckIns[0].Place.Name != "解放路菜市场" {
			t.Fatalf("a dependent's history: %+v", hist.CheckIns)
		}
		c.get(fmt.Sprintf("/api/v1/me/checkins?resident=%d", stranger.ResidentID)).problem(t, http.StatusNotFound, "someone else's history")
	})
}

// TestCheckInLoadShedding saturates the check-in API's gate: a request
// that cannot get in within its wait is turned away with 503, Retry-After
// and problem details, and stores nothing; the requests that got in are
// all stored. One account sending too fast gets 429 with Retry-After.
func TestCheckInLoadShedding(t *testing.T) {
	t.Parallel()
	e := ciStart(t, dbtest.SQLite(t))
	d := e.DB
	gate := e.srv.CheckInGate()
	shopCode := e.code(t, e.shop)
	item := func() map[string]any {
		return map[string]any{"client_id": uuid.NewString(), "code": shopCode, "t_in": time.Now().Unix() - 60}
	}

	// Hold every slot.
	var held []func()
	for {
		release, ok := gate.Enter(context.Background())
		if !ok {
			break
		}
		held = append(held, release)
		if len(held) > 1000 {
			t.Fatal("the gate admits without bound")
		}
	}
	c, _ := e.login(t, "resident-1", demoPassword)
	start := time.Now()
	r := ciPost(t, c, "/api/v1/checkins", map[string]any{"checkins": []map[string]any{item()}})
	p := r.problem(t, http.StatusServiceUnavailable, "a check-in with the gate full")
	if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" || !strings.Contains(p.Detail, "再试") {
		t.Errorf("shed: Retry-After %q, %+v", ra, p)
	}
	if took := time.Since(start); took < 90*time.Millisecond || took > 2*time.Second {
		t.Errorf("shed after %v; want after the gate's wait of about 100 ms", took)
	}
	if n := count(t, d, "checkins"); n != 0 {
		t.Fatalf("a shed request stored %d check-ins", n)
	}

	// Many phones at once while the gate is full, more than it lets wait
	// (16 a slot): those that get in within the wait (the gate opens after
	// 40 ms) are stored, the rest are shed at once.
	phones := 16*len(held) + 20
	var accounts int
	if err := db.Get(context.Background(), d.R, &accounts, "SELECT count(*) FROM accounts WHERE role = 'resident'"); err != nil {
		t.Fatal(err)
	}
	phones = min(phones, accounts-3)
	names := ciResidents(t, d, phones+1)
	clients := make([]*client, phones)
	for i := range clients {
		clients[i], _ = e.login(t, names[i], demoPassword)
	}
	type outcome struct {
		status int
		ids    []string
		retry  string
	}
	outcomes := make([]outcome, phones)
	var wg sync.WaitGroup
	for i := range phones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			items := []map[string]any{item(), item()}
			r := ciPost(t, clients[i], "/api/v1/checkins", map[string]any{"checkins": items})
			outcomes[i] = outcome{status: r.Status, retry: r.Header.Get("Retry-After")}
			for _, it := range items {
				outcomes[i].ids = append(outcomes[i].ids, it["client_id"].(string))
			}
		}()
	}
	time.Sleep(40 * time.Millisecond)
	for _, release := range held {
		release()
	}
	wg.Wait()
	ok, shed := 0, 0
	for _, o := range outcomes {
		stored := 0
		for _, id := range o.ids {
			stored += len(ciStored(t, d, "client_id = ?", id))
		}
		switch o.status {
		case http.StatusOK:
			ok++
			if stored != 2 {
				t.Errorf("an accepted batch has %d of its 2 check-ins stored", stored)
			}
		case http.StatusServiceUnavailable:
			shed++
			if stored != 0 || o.retry == "" {
				t.Errorf("a shed batch: %d stored, Retry-After %q", stored, o.retry)
			}
		default:
			t.Errorf("status %d under load", o.status)
		}
	}
	if ok == 0 || (shed == 0 && phones > 17*len(held)) {
		t.Errorf("%d accepted, %d shed; want some of each", ok, shed)
	}
	t.Logf("%d accepted, %d shed", ok, shed)

	// One account, too fast: 429 with Retry-After before the gate.
	fast, _ := e.login(t, names[phones], demoPassword)
	limited := false
	for range 100 {
		r := fast.post("/api/v1/checkins", map[string]any{"checkins": []map[string]any{item()}})
		if r.Status == http.StatusTooManyRequests {
			p := r.problem(t, http.StatusTooManyRequests, "too fast")
			if ra := r.Header.Get("Retry-After"); ra == "" || p.Detail == "" {
				t.Errorf("429 without Retry-After: %v", r.Header)
			}
			limited = true
			break
		}
		r.want(t, http.StatusOK, "a check-in within the rate")
	}
	if !limited {
		t.Error("100 requests at once from one account were never limited")
	}
}

// ciPost posts v as JSON with c's session like c.post, but takes a 503 as
// an answer rather than a failure: the gate sheds with it.
func ciPost(t *testing.T, c *client, path string, v any) *response {
	t.Helper()
	body, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", c.csrf)
	for n, v := range c.cookies {
		req.AddCookie(&http.Cookie{Name: n, Value: v})
	}
	res, err := c.hc.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode >= 500 && res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("POST %s = %d: %s", path, res.StatusCode, b)
	}
	return &response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// TestPassagesAsCheckIns follows a resident's pass to a checkpoint that
// stands at a compound entrance: the accepted passage becomes the
// resident's check-in there, once however often it is sent; a place out
// of the operator's scope is refused; refused passes and passages without
// a place are no check-ins.
func TestPassagesAsCheckIns(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := ciStart(t, d)
		me := ciActor(t, d, "resident-1")
		p := residentPass(t, e.testServer)
		res, err := serverTrustList(t, e.testServer).Verify(p.Text, time.Now(), p.Region)
		if err != nil {
			t.Fatal(err)
		}
		var holders int
		if err := db.Get(context.Background(), d.R, &holders, "SELECT count(*) FROM pass_holders WHERE holder = ? AND resident_id = ?",
			res.Holder, me.ResidentID); err != nil || holders != 1 {
			t.Fatalf("pass_holders rows for the pass: %d, %v", holders, err)
		}

		// The places checkpoint-1 (district 420106) may stand at.
		cp, _ := e.login(t, "checkpoint-1", demoPassword)
		var list struct {
			Places []struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			} `json:"places"`
		}
		cp.get("/api/v1/checkpoint/places").want(t, http.StatusOK, "places").json(t, &list)
		names := map[int64]string{}
		for _, pl := range list.Places {
			names[pl.ID] = pl.Name
		}
		if names[e.entrance.ID] != "中南小区东门" || names[e.shop.ID] == "" || names[e.train.ID] != "" || names[e.closed.ID] != "" {
			t.Fatalf("places of checkpoint-1: %v", names)
		}
		cp.get("/api/v1/checkpoint/places?q="+url.QueryEscape("中南小区")).want(t, http.StatusOK, "places by name").json(t, &list)
		if len(list.Places) != 1 || list.Places[0].ID != e.entrance.ID {
			t.Fatalf("places named 中南小区…: %+v", list.Places)
		}
		other, _ := e.login(t, "checkpoint-2", demoPassword) // district 420102
		other.get("/api/v1/checkpoint/places").want(t, http.StatusOK, "places of another district").json(t, &list)
		if len(list.Places) != 0 {
			t.Fatalf("checkpoint-2 sees places of 420106: %+v", list.Places)
		}
		rc, _ := e.login(t, "resident-2", demoPassword)
		rc.get("/api/v1/checkpoint/places").problem(t, http.StatusForbidden, "places, resident")

		seen := time.Now().Add(-2 * time.Minute).UTC().Truncate(time.Second)
		passage := func(result string, place int64) map[string]any {
			m := map[string]any{"client_id": uuid.NewString(), "seen_at": seen.Format(time.RFC3339), "result": result,
				"holder": "", "region": "", "colour": "", "kid": "", "reason": "malformed"}
			if result == "accepted" {
				m["holder"], m["region"], m["colour"], m["kid"], m["reason"] = res.Holder, res.Region, string(res.Colour),
					base64.RawURLEncoding.EncodeToString(res.KeyID), ""
			}
			if place != 0 {
				m["place_id"] = place
			}
			return m
		}
		at := passage("accepted", e.entrance.ID)
		batch := map[string]any{"passages": []map[string]any{at, passage("refused", e.entrance.ID), passage("accepted", 0)}}
		var rec struct{ New, Duplicates, CheckIns int }
		cp.post("/api/v1/passages", batch).want(t, http.StatusOK, "passages").json(t, &rec)
		if rec.New != 3 || rec.CheckIns != 1 {
			t.Fatalf("recorded %+v; want 3 passages, 1 check-in", rec)
		}
		cs := ciStored(t, d, "source = 'passage'")
		if len(cs) != 1 || cs[0].ResidentID != me.ResidentID || cs[0].PlaceID != e.entrance.ID || cs[0].TIn != seen.Unix() ||
			cs[0].TOut != seen.Unix()+60 {
			t.Fatalf("check-ins from passages: %+v; want resident-1 at the entrance at the time seen, for the entrance's minute", cs)
		}
		var placed int
		if err := db.Get(context.Background(), d.R, &placed, "SELECT count(*) FROM passages WHERE place_id = ?", e.entrance.ID); err != nil || placed != 2 {
			t.Fatalf("passages with the place: %d, %v", placed, err)
		}
		// Sent again (the answer was lost): one check-in still.
		rec.New, rec.CheckIns = -1, -1 // "checkins" is left out when none
		cp.post("/api/v1/passages", batch).want(t, http.StatusOK, "passages again").json(t, &rec)
		if rec.New != 0 || rec.Duplicates != 3 || rec.CheckIns != -1 || len(ciStored(t, d, "source = 'passage'")) != 1 {
			t.Fatalf("sent again: %+v; %+v", rec, ciStored(t, d, ""))
		}
		// A place out of the operator's scope, or no venue: refused, nothing recorded.
		n := count(t, d, "passages")
		other.post("/api/v1/passages", map[string]any{"passages": []map[string]any{passage("accepted", e.entrance.ID)}}).
			invalid(t, "passages[0].place_id", "a place of another district")
		cp.post("/api/v1/passages", map[string]any{"passages": []map[string]any{passage("accepted", e.train.ID)}}).
			invalid(t, "passages[0].place_id", "a train")
		cp.post("/api/v1/passages", map[string]any{"passages": []map[string]any{passage("accepted", 1<<40)}}).
			invalid(t, "passages[0].place_id", "no such place")
		if count(t, d, "passages") != n {
			t.Fatal("refused batches recorded passages")
		}

		// The resident sees it among their check-ins.
		mine := e.formLogin(t, "resident-1").page(t, "/me/checkins", http.StatusOK)
		mustContain(t, "my check-ins", mine, "中南小区东门", "入口查验通行码")
	})
}

// TestCheckInScript runs the check-in page script's tests (web/checkin)
// and checks that the committed bundle is built from its source.
func TestCheckInScript(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", "web", "checkin")
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("OUTBREAK_REQUIRE_BROWSER") == "1" {
			t.Fatal("node not found: the check-in page's script cannot be tested (install Node.js)")
		}
		t.Skip("!!! node not found: the check-in page's script is NOT tested")
	}
	cmd := exec.Command(node, "--test", "test/queue.test.mjs", "test/place.test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_NO_WARNINGS=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "esbuild")); err != nil {
		t.Skip("!!! web/checkin/node_modules missing (run make assets): the committed bundle is NOT compared with a fresh build")
	}
	fresh := filepath.Join(t.TempDir(), "checkin.js")
	build := exec.Command(node, "build.mjs", fresh)
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	want, err := os.ReadFile(fresh)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("..", "http", "render", "static", "checkin.js"))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("internal/http/render/static/checkin.js is not built from web/checkin/src as it is now (%v): run make assets", err)
	}
}
