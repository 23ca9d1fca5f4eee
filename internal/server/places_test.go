package server_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
)

// placeJSON is a place as the API answers it.
type placeJSON struct {
	ID               int64  `json:"id"`
	Kind             string `json:"kind"`
	Type             string `json:"type"`
	Name             string `json:"name"`
	ServiceNumber    string `json:"service_number"`
	JurisdictionCode string `json:"jurisdiction_code"`
	Disabled         bool   `json:"disabled"`
	PosterURL        string `json:"poster_url"`
}

func shopBody(name, community string) map[string]any {
	return map[string]any{"type": "shop", "name": name, "address": "解放路 88 号", "latitude": 30.54, "longitude": 114.31,
		"jurisdiction_code": community}
}

func entranceBody(name, community string) map[string]any {
	return map[string]any{"type": "compound_entrance", "name": name, "address": "中山路 1 号", "latitude": 30.6, "longitude": 114.3,
		"jurisdiction_code": community}
}

func trainBody(number string, on time.Time) map[string]any {
	return map[string]any{"type": "train", "name": number + " 武汉—北京西", "jurisdiction_code": "4201", "service_number": number,
		"service_date": on.Format("2006-01-02")}
}

func registerPlace(t *testing.T, c *client, body map[string]any, what string) placeJSON {
	t.Helper()
	var p placeJSON
	r := c.post("/api/v1/places", body).want(t, http.StatusCreated, what)
	r.json(t, &p)
	if p.ID == 0 || p.Name != body["name"] || r.Header.Get("Location") != fmt.Sprintf("/api/v1/places/%d", p.ID) {
		t.Fatalf("%s: answer %+v, Location %q", what, p, r.Header.Get("Location"))
	}
	return p
}

// placeAudit returns the actors of the place registry's audit entries, oldest first.
func placeAudit(t *testing.T, d *db.DB) []string {
	t.Helper()
	var names []string
	if err := db.Select(t.Context(), d.R, &names, "SELECT actor_name FROM audit_log WHERE kind = 'place' ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	return names
}

// wantPoster checks that r is an SVG poster of place, named for it.
func wantPoster(t *testing.T, r *response, place placeJSON, lang, what string, texts ...string) {
	t.Helper()
	r.want(t, http.StatusOK, what)
	if ct := r.Header.Get("Content-Type"); ct != "image/svg+xml" {
		t.Fatalf("%s: Content-Type %q", what, ct)
	}
	disp, params, err := mime.ParseMediaType(r.Header.Get("Content-Disposition"))
	if err != nil || disp != "attachment" || !strings.HasPrefix(params["filename"], fmt.Sprintf("place-%d-", place.ID)) ||
		!strings.HasSuffix(params["filename"], "-"+lang+".svg") {
		t.Fatalf("%s: Content-Disposition %q (%v)", what, r.Header.Get("Content-Disposition"), err)
	}
	dec := xml.NewDecoder(bytes.NewReader(r.Body))
	var root xml.StartElement
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: not well-formed XML: %v", what, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root.Name.Local == "" {
				root = tok
			}
		case xml.CharData:
			text.Write(tok)
		}
	}
	if root.Name.Local != "svg" {
		t.Fatalf("%s: root element %q, want svg", what, root.Name.Local)
	}
	for _, a := range root.Attr {
		if a.Name.Local == "width" && a.Value != "210mm" || a.Name.Local == "height" && a.Value != "297mm" {
			t.Fatalf("%s: %s = %q: not A4", what, a.Name.Local, a.Value)
		}
	}
	mustContain(t, what, text.String(), append([]string{place.Name}, texts...)...)
}

// workerOf returns the username of the community worker of community.
func workerOf(t *testing.T, ts *testServer, community string) string {
	t.Helper()
	for _, s := range staffByUsername(t, ts.demoLogin(t, "admin-1")) {
		if s.Role == "community_worker" && s.Jurisdiction == community {
			return s.Username
		}
	}
	t.Fatalf("no community worker in %s", community)
	return ""
}

// placeKeyRE finds a message id of the place pages shown as text.
var placeKeyRE = regexp.MustCompile(`>[^<]*\b((?:place|visit|visitors|venue|err)\.[a-z_]+(?:\.[a-z_]+)*)\b[^<]*<`)

func placePage(t *testing.T, c *client, path string, status int) string {
	t.Helper()
	body := c.get(path).html(t, status, "GET "+path)
	if m := placeKeyRE.FindStringSubmatch(body); m != nil {
		t.Fatalf("GET %s shows the message id %q", path, m[1])
	}
	return body
}

func TestPlacesAPI(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 300)
		res1, me1 := ts.login(t, "resident-1", demoPassword)
		res2 := ts.demoLogin(t, "resident-2")
		cw := ts.demoLogin(t, "community-1") // 420102001
		admin := ts.demoLogin(t, "admin-1")  // the city
		epi := ts.demoLogin(t, "epidemiologist-1")
		wuchang := ts.demoLogin(t, workerOf(t, ts, "420106001"))
		places, audited := count(t, d, "places"), len(placeAudit(t, d))

		// Who may register what.
		market := registerPlace(t, res1, shopBody("解放路菜市场", "420106001"), "a resident registers a shop")
		if market.Type != "shop" || market.Kind != "venue" || market.JurisdictionCode != "420106001" || market.PosterURL == "" {
			t.Fatalf("market = %+v", market)
		}
		registerPlace(t, res1, shopBody("大智路餐馆", "420102001"), "a resident's shop in another district")
		res1.post("/api/v1/places", trainBody("G1234", time.Now())).problem(t, http.StatusForbidden, "a resident registers a train")
		gate := registerPlace(t, cw, entranceBody("中山花园北门", "420102001"), "a worker registers a compound entrance in its community")
		cw.post("/api/v1/places", entranceBody("别处的门", "420106001")).invalid(t, "jurisdiction_code", "a worker registers outside its community")
		cw.post("/api/v1/places", shopBody("社区的店", "420102001")).problem(t, http.StatusForbidden, "a worker registers a shop")
		train := registerPlace(t, admin, trainBody("G1234", time.Now()), "an admin registers a train")
		if train.ServiceNumber != "G1234" || train.Kind != "vehicle" {
			t.Fatalf("train = %+v", train)
		}
		admin.post("/api/v1/places", trainBody("g 1234", time.Now())).invalid(t, "service_number", "the same train twice")
		admin.post("/api/v1/places", shopBody("店", "420106001")).problem(t, http.StatusForbidden, "an admin registers a shop")
		epi.post("/api/v1/places", shopBody("店", "420106001")).problem(t, http.StatusForbidden, "an epidemiologist registers a place")
		ts.client(t).post("/api/v1/places", shopBody("店", "420106001")).problem(t, http.StatusUnauthorized, "anonymous registers a place")

		// Bad input: problem details, nothing stored.
		bad := shopBody("", "420106001")
		bad["latitude"] = 100.0
		p := res1.post("/api/v1/places", bad).invalid(t, "name", "a nameless shop")
		res1.post("/api/v1/places", bad).invalid(t, "latitude", "latitude 100")
		if p.Messages["latitude"] == "" {
			t.Fatalf("no message for latitude: %+v", p)
		}
		noCoords := shopBody("无坐标", "420106001")
		delete(noCoords, "latitude")
		delete(noCoords, "longitude")
		res1.post("/api/v1/places", noCoords).invalid(t, "latitude", "a shop without coordinates")
		res1.post("/api/v1/places", shopBody("<b>店</b>", "420106001")).invalid(t, "name", "markup in the name")
		res1.post("/api/v1/places", map[string]any{"type": "castle", "name": "x"}).invalid(t, "type", "an unknown type")
		future := trainBody("D5", time.Now().AddDate(0, 3, 0))
		admin.post("/api/v1/places", future).invalid(t, "service_date", "a train three months ahead")
		admin.post("/api/v1/places", trainBody("G-1", time.Now())).invalid(t, "service_number", "a service number with a dash")
		res1.post("/api/v1/places", `{"type":"shop","name":"x","extra":1}`).problem(t, http.StatusBadRequest, "an unknown field")
		res1.post("/api/v1/places", `{"type":"shop",`).problem(t, http.StatusBadRequest, "broken JSON")
		res1.post("/api/v1/places", `{"service_date":"2026-02-30"}`).problem(t, http.StatusBadRequest, "an impossible date")
		res1.post("/api/v1/places", `{"type":"shop","name":"a\u0000b"}`).problem(t, http.StatusBadRequest, "a NUL in the name")
		res1.do(http.MethodPost, "/api/v1/places", "text/plain", strings.NewReader("x")).problem(t, http.StatusUnsupportedMediaType, "not JSON")
		if n := count(t, d, "places"); n != places+4 {
			t.Fatalf("places = %d, want %d: refused registrations stored something", n, places+4)
		}
		if got := placeAudit(t, d)[audited:]; strings.Join(got, ",") != me1.DisplayName+","+me1.DisplayName+",community-1,admin-1" {
			t.Fatalf("audit entries of the registrations = %q", got)
		}

		// Listing and reading: one's own, or in scope.
		type placeList struct {
			Places []placeJSON `json:"places"`
		}
		var list placeList
		list = placeList{}
		res1.get("/api/v1/places").want(t, http.StatusOK, "resident-1's places").json(t, &list)
		if len(list.Places) != 2 || list.Places[0].Name != "大智路餐馆" || list.Places[1].ID != market.ID {
			t.Fatalf("resident-1's places = %+v", list.Places)
		}
		list = placeList{}
		res2.get("/api/v1/places").want(t, http.StatusOK, "resident-2's places").json(t, &list)
		if len(list.Places) != 0 {
			t.Fatalf("resident-2's places = %+v", list.Places)
		}
		byID := func(ps []placeJSON) map[int64]placeJSON {
			m := map[int64]placeJSON{}
			for _, p := range ps {
				m[p.ID] = p
			}
			return m
		}
		list = placeList{}
		cw.get("/api/v1/places").want(t, http.StatusOK, "community-1's places").json(t, &list)
		seen := byID(list.Places)
		if g, ok := seen[gate.ID]; !ok || g.PosterURL == "" || seen[market.ID].ID != 0 {
			t.Fatalf("community-1's places = %+v; want its gate, with a poster, and not the market in 420106001", list.Places)
		}
		for _, p := range list.Places {
			if p.JurisdictionCode != "420102001" || p.ID != gate.ID && p.PosterURL != "" {
				t.Fatalf("community-1 lists %+v", p)
			}
		}
		list = placeList{}
		admin.get("/api/v1/places?kind=vehicle").want(t, http.StatusOK, "admin's vehicles").json(t, &list)
		if seen := byID(list.Places); seen[train.ID].PosterURL == "" || seen[market.ID].ID != 0 {
			t.Fatalf("admin's vehicles = %+v", list.Places)
		}
		list = placeList{}
		epi.get("/api/v1/places?name="+url.QueryEscape("解放路菜")).want(t, http.StatusOK, "an epidemiologist searches").json(t, &list)
		if seen := byID(list.Places); seen[market.ID].ID == 0 || seen[market.ID].PosterURL != "" {
			t.Fatalf("search 解放路菜 = %+v", list.Places)
		}
		admin.get("/api/v1/places?kind=boat").invalid(t, "kind", "an unknown kind")
		admin.get("/api/v1/places?limit=0").invalid(t, "limit", "limit 0")
		var paged struct {
			Places []placeJSON `json:"places"`
			Total  int64       `json:"total"`
		}
		admin.get("/api/v1/places?include_disabled=true").want(t, http.StatusOK, "every place").json(t, &paged)
		all := paged.Total
		admin.get("/api/v1/places?include_disabled=true&limit=1&offset=1").want(t, http.StatusOK, "the second place").json(t, &paged)
		if all < 2 || paged.Total != all || len(paged.Places) != 1 {
			t.Fatalf("page 2 of 1 place: %d places of %d, total %d", len(paged.Places), all, paged.Total)
		}
		admin.get("/api/v1/places?include_disabled=maybe").invalid(t, "include_disabled", "include_disabled=maybe")
		path := fmt.Sprintf("/api/v1/places/%d", market.ID)
		var got placeJSON
		res1.get(path).want(t, http.StatusOK, "the owner reads its shop").json(t, &got)
		if got.ID != market.ID || got.PosterURL == "" {
			t.Fatalf("the shop = %+v", got)
		}
		wuchang.get(path).want(t, http.StatusOK, "its community's worker reads the shop")
		res2.get(path).problem(t, http.StatusNotFound, "another resident reads the shop")
		cw.get(path).problem(t, http.StatusNotFound, "a worker reads a shop outside its community")
		res1.get("/api/v1/places/999999").problem(t, http.StatusNotFound, "a missing place")
		res1.get("/api/v1/places/x").problem(t, http.StatusNotFound, "a place id that is no number")

		// Posters: a valid A4 SVG with the place's name, for its manager.
		wantPoster(t, res1.get(path+"/poster.svg?lang=en"), market, "en", "the shop's poster in English", "Scan to check in")
		wantPoster(t, res1.get(path+"/poster.svg"), market, "zh", "the shop's poster in the reader's language")
		res2.get(path+"/poster.svg").problem(t, http.StatusForbidden, "another resident's poster")
		res1.get(path+"/poster.svg?lang=fr").invalid(t, "lang", "a poster in French")
		res1.get(path+"/poster.svg?carriage=3").invalid(t, "carriage", "a carriage of a shop")
		tpath := fmt.Sprintf("/api/v1/places/%d/poster.svg", train.ID)
		wantPoster(t, admin.get(tpath+"?carriage=8&lang=en"), train, "en", "a carriage poster", "Carriage 8", "G1234")
		admin.get(tpath+"?carriage=41").invalid(t, "carriage", "carriage 41")
		wantPoster(t, cw.get(fmt.Sprintf("/api/v1/places/%d/poster.svg?lang=zh", gate.ID)), gate, "zh", "the gate's poster")
		// The same posters as PDF (internal/venue reads them back with Poppler).
		for _, r := range []*response{res1.get(path + "/poster.pdf?lang=en"), admin.get(strings.Replace(tpath, ".svg", ".pdf", 1) + "?carriage=8")} {
			r.want(t, http.StatusOK, "a PDF poster")
			_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Disposition"))
			if r.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(r.Body, []byte("%PDF-")) || !strings.HasSuffix(params["filename"], ".pdf") {
				t.Errorf("PDF poster: %v, %.8q", r.Header, r.Body)
			}
		}
		res2.get(path+"/poster.pdf").problem(t, http.StatusForbidden, "another resident's PDF poster")
		res1.get(path+"/poster.pdf?lang=fr").invalid(t, "lang", "a PDF poster in French")

		// Disabling and enabling: by the manager, on record.
		audited = len(placeAudit(t, d))
		res2.post(path+"/disable", map[string]string{}).problem(t, http.StatusForbidden, "another resident disables the shop")
		wuchang.post(path+"/disable", map[string]string{}).problem(t, http.StatusForbidden, "a worker disables a shop")
		res1.post(path+"/disable", map[string]string{"reason": strings.Repeat("x", 201)}).invalid(t, "reason", "a long reason")
		res1.post(path+"/disable", map[string]string{"why": "x"}).problem(t, http.StatusBadRequest, "an unknown field")
		res1.post("/api/v1/places/999999/disable", map[string]string{}).problem(t, http.StatusNotFound, "disable a missing place")
		got = placeJSON{}
		res1.post(path+"/disable", map[string]string{"reason": "closed for the holiday"}).want(t, http.StatusOK, "the owner disables").json(t, &got)
		if !got.Disabled || got.PosterURL != "" {
			t.Fatalf("disabled shop = %+v", got)
		}
		res1.get(path+"/poster.svg").problem(t, http.StatusConflict, "the poster of a disabled shop")
		got = placeJSON{}
		res1.do(http.MethodPost, path+"/enable", "", nil).want(t, http.StatusOK, "the owner enables, without a body").json(t, &got)
		if got.Disabled {
			t.Fatalf("enabled shop = %+v", got)
		}
		if got := placeAudit(t, d)[audited:]; strings.Join(got, ",") != me1.DisplayName+","+me1.DisplayName {
			t.Fatalf("audit entries of disable and enable = %q", got)
		}
		var reason string
		if err := db.Get(t.Context(), d.R, &reason, "SELECT reason FROM audit_log WHERE kind = 'place' ORDER BY id DESC LIMIT 1 OFFSET 1"); err != nil || reason != "closed for the holiday" {
			t.Fatalf("the disable entry's reason = %q, %v", reason, err)
		}
		c := ts.demoLogin(t, "resident-1")
		c.csrf = ""
		c.post(path+"/disable", map[string]string{}).problem(t, http.StatusForbidden, "disable without the CSRF header")
		var rep struct {
			OK bool `json:"ok"`
		}
		ts.demoLogin(t, "auditor-1").get("/api/v1/audit/verify").want(t, http.StatusOK, "verify the chain").json(t, &rep)
		if !rep.OK {
			t.Fatal("the audit chain is broken")
		}
	})
}

func TestPlacePages(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 300)
		_, me := ts.login(t, "resident-1", demoPassword)
		res := ts.formLogin(t, "resident-1")
		mustContain(t, "resident home", placePage(t, res, "/me", http.StatusOK), `href="/places"`)
		body := placePage(t, res, "/places", http.StatusOK)
		mustContain(t, "no places yet", body, `data-testid="places-none"`, `href="/places/new"`)

		// The form offers a resident's types only, and shows errors beside the fields.
		body = placePage(t, res, "/places/new", http.StatusOK)
		mustContain(t, "place form", body, `<option value="shop"`, `<option value="420106001"`, `name="latitude"`, `data-locate`)
		mustNotContain(t, "place form", body, `<option value="train"`, `<option value="compound_entrance"`, `name="service_number"`)
		places, audited := count(t, d, "places"), len(placeAudit(t, d))
		form := url.Values{"csrf": {res.csrfField(t, body)}, "type": {"shop"}, "name": {""}, "address": {"解放路 88 号"},
			"latitude": {"north"}, "longitude": {"114.31"}, "jurisdiction_code": {"420106001"}}
		body = res.postForm("/places", form).html(t, http.StatusUnprocessableEntity, "a shop without a name, at latitude north")
		mustContain(t, "place form errors", body, `id="e-name"`, `id="e-latitude"`, `value="解放路 88 号"`, `<option value="420106001" selected>`)
		form.Set("name", "汉正街小吃")
		form.Set("latitude", "91")
		body = res.postForm("/places", form).html(t, http.StatusUnprocessableEntity, "latitude 91")
		mustContain(t, "latitude 91", body, `id="e-latitude"`, `value="汉正街小吃"`)
		mustNotContain(t, "latitude 91", body, `id="e-name"`)
		form.Set("jurisdiction_code", "420106")
		form.Set("latitude", "30.55")
		res.postForm("/places", form).html(t, http.StatusUnprocessableEntity, "a shop in a district")
		res.postForm("/places", url.Values{"csrf": form["csrf"], "type": {"train"}, "name": {"G1"}, "jurisdiction_code": {"4201"},
			"service_number": {"G1"}, "service_date": {time.Now().Format("2006-01-02")}}).html(t, http.StatusForbidden, "a resident posts a train")
		if count(t, d, "places") != places || len(placeAudit(t, d)) != audited {
			t.Fatal("a refused form stored something")
		}
		form.Set("jurisdiction_code", "420106001")
		r := res.postForm("/places", form)
		r.want(t, http.StatusSeeOther, "register a shop through the form")
		loc := r.Header.Get("Location")
		if !regexp.MustCompile(`^/places/\d+$`).MatchString(loc) {
			t.Fatalf("redirect to %q", loc)
		}
		body = placePage(t, res, loc, http.StatusOK)
		mustContain(t, "the new shop's page", body, `data-testid="place-name">汉正街小吃<`, "30.550000, 114.310000", loc+`/poster.svg?lang=zh"`,
			loc+`/print?lang=zh"`, `action="`+loc+`/disable"`, "场所已登记")
		mustContain(t, "my places", placePage(t, res, "/places", http.StatusOK), `href="`+loc+`"`, "汉正街小吃")
		id := strings.TrimPrefix(loc, "/places/")
		wantPoster(t, res.get(loc+"/poster.svg?lang=en"), placeJSON{ID: atoi(t, id), Name: "汉正街小吃"}, "en", "the poster from the page")
		mustContain(t, "print page", placePage(t, res, loc+"/print?lang=en", http.StatusOK), `src="`+loc+`/poster.svg?lang=en"`, "@page")
		res.get(loc+"/poster.svg?lang=xx").html(t, http.StatusUnprocessableEntity, "a poster in language xx")
		mustContain(t, "the new shop's page", body, loc+`/poster.pdf?lang=zh"`, loc+`/poster.pdf?lang=en"`)
		if r := res.get(loc + "/poster.pdf?lang=en"); r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/pdf" {
			t.Errorf("the PDF poster from the page: %d %v", r.Status, r.Header)
		}
		res.get(loc+"/poster.pdf?lang=xx").html(t, http.StatusUnprocessableEntity, "a PDF poster in language xx")

		// Another resident may not open, print or disable it.
		other := ts.formLogin(t, "resident-2")
		otherBody := placePage(t, other, "/places", http.StatusOK)
		other.get(loc).html(t, http.StatusForbidden, "another resident opens the shop")
		other.get(loc+"/poster.svg").html(t, http.StatusForbidden, "another resident prints the poster")
		other.postForm(loc+"/disable", url.Values{"csrf": {other.csrfField(t, otherBody)}}).html(t, http.StatusForbidden, "another resident disables")
		res.get("/places/999999").html(t, http.StatusNotFound, "a missing place")

		// Disable, with a reason too long beside its field, then enable.
		body = placePage(t, res, loc, http.StatusOK)
		csrf := res.csrfField(t, body)
		body = res.postForm(loc+"/disable", url.Values{"csrf": {csrf}, "reason": {strings.Repeat("长", 201)}}).
			html(t, http.StatusUnprocessableEntity, "disable with a long reason")
		mustContain(t, "long reason", body, `id="e-reason"`)
		res.postForm(loc+"/disable", url.Values{"csrf": {csrf}, "reason": {"装修"}}).redirect(t, loc, "disable through the form")
		body = placePage(t, res, loc, http.StatusOK)
		mustContain(t, "disabled shop", body, `data-testid="place-disabled"`, `action="`+loc+`/enable"`, "场所已停用")
		mustNotContain(t, "disabled shop", body, "/poster.svg")
		res.get(loc+"/poster.svg").html(t, http.StatusConflict, "the poster of a disabled shop")
		res.get(loc+"/poster.pdf").html(t, http.StatusConflict, "the PDF poster of a disabled shop")
		res.get(loc+"/print").html(t, http.StatusConflict, "print a disabled shop")
		res.postForm(loc+"/enable", url.Values{"csrf": {csrf}}).redirect(t, loc, "enable through the form")
		mustNotContain(t, "enabled shop", placePage(t, res, loc, http.StatusOK), `data-testid="place-disabled"`)
		if got := placeAudit(t, d)[audited:]; strings.Join(got, ",") != strings.Repeat(me.DisplayName+",", 2)+me.DisplayName {
			t.Fatalf("audit entries of the form's register, disable, enable = %q", got)
		}

		// A community worker registers its compound entrances; an admin its trains.
		cw := ts.formLogin(t, "community-1")
		mustContain(t, "worker home", placePage(t, cw, "/staff", http.StatusOK), `href="/places"`, `href="/staff/visitors"`)
		body = placePage(t, cw, "/places/new", http.StatusOK)
		mustContain(t, "worker's form", body, `<option value="compound_entrance"`, `<option value="village_checkpoint"`, `<option value="420102001" selected>`)
		mustNotContain(t, "worker's form", body, `<option value="shop"`, `<option value="420106001"`)
		wform := url.Values{"csrf": {cw.csrfField(t, body)}, "type": {"village_checkpoint"}, "name": {"光明村口"}, "address": {"光明村"},
			"latitude": {"30.7"}, "longitude": {"114.4"}, "jurisdiction_code": {"420106001"}}
		body = cw.postForm("/places", wform).html(t, http.StatusUnprocessableEntity, "a worker registers outside its community")
		mustContain(t, "outside the community", body, `id="e-jurisdiction_code"`)
		wform.Set("jurisdiction_code", "420102001")
		cw.postForm("/places", wform).want(t, http.StatusSeeOther, "a worker registers a village checkpoint")
		body = placePage(t, cw, "/places?q="+url.QueryEscape("光明"), http.StatusOK)
		mustContain(t, "worker's search", body, "光明村口")
		mustNotContain(t, "worker's search", body, "汉正街小吃")

		admin := ts.formLogin(t, "admin-1")
		mustContain(t, "admin home", placePage(t, admin, "/staff", http.StatusOK), `href="/places"`)
		body = placePage(t, admin, "/places/new", http.StatusOK)
		mustContain(t, "admin's form", body, `<option value="train"`, `name="service_number"`, `name="service_date"`, `<option value="4201">`)
		mustNotContain(t, "admin's form", body, `name="latitude"`, `<option value="shop"`)
		aform := url.Values{"csrf": {admin.csrfField(t, body)}, "type": {"train"}, "name": {"D5 武汉—上海"}, "service_number": {"d5"},
			"service_date": {"2026-13-01"}, "jurisdiction_code": {"4201"}}
		body = admin.postForm("/places", aform).html(t, http.StatusUnprocessableEntity, "a train on month 13")
		mustContain(t, "month 13", body, `id="e-service_date"`)
		aform.Set("service_date", time.Now().Format("2006-01-02"))
		r = admin.postForm("/places", aform)
		r.want(t, http.StatusSeeOther, "an admin registers a train")
		tloc := r.Header.Get("Location")
		body = placePage(t, admin, tloc, http.StatusOK)
		mustContain(t, "the train's page", body, "D5", `data-testid="carriage-form"`, `name="carriage"`)
		wantPoster(t, admin.get(tloc+"/poster.svg?carriage=12&lang=zh"), placeJSON{ID: atoi(t, strings.TrimPrefix(tloc, "/places/")), Name: "D5 武汉—上海"},
			"zh", "a carriage poster from the page", "12 号车厢")
		admin.get(tloc+"/poster.svg?carriage=0").html(t, http.StatusUnprocessableEntity, "carriage 0")

		// Roles without places are refused the pages.
		ts.formLogin(t, "epidemiologist-1").get("/places").html(t, http.StatusForbidden, "an epidemiologist opens the places")
		ts.client(t).get("/places/new").redirect(t, "/login?next=%2Fplaces%2Fnew", "anonymous opens the form")
	})
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

var clientIDRE = regexp.MustCompile(`name="client_id" value="([0-9a-f]+)"`)

func TestVisitors(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 300)
		_, r1 := ts.login(t, "resident-1", demoPassword)
		gate := registerPlace(t, ts.demoLogin(t, "community-1"), entranceBody("中山花园北门", "420102001"), "community-1's gate")
		shop := registerPlace(t, ts.demoLogin(t, "resident-2"), shopBody("小卖部", "420102001"), "a shop")
		gatePath := fmt.Sprintf("/visit/%d", gate.ID)

		// The visitor's form, for residents only.
		ts.client(t).get(gatePath).redirect(t, "/login?next="+url.QueryEscape(gatePath), "anonymous opens the visitor form")
		ts.formLogin(t, "community-1").get(gatePath).html(t, http.StatusForbidden, "a worker opens the visitor form")
		res := ts.formLogin(t, "resident-1")
		res.get(fmt.Sprintf("/visit/%d", shop.ID)).html(t, http.StatusNotFound, "the visitor form of a shop")
		res.get("/visit/999999").html(t, http.StatusNotFound, "the visitor form of a missing place")
		res.get("/visit/x").html(t, http.StatusNotFound, "the visitor form of no number")
		body := placePage(t, res, gatePath, http.StatusOK)
		mustContain(t, "visitor form", body, "中山花园北门", `name="host_unit"`, `name="host_name"`, `name="purpose"`)
		m := clientIDRE.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no client id in the form: %.1500s", body)
		}
		if m2 := clientIDRE.FindStringSubmatch(placePage(t, res, gatePath, http.StatusOK)); m2 == nil || m2[1] == m[1] {
			t.Fatal("a second form has the same client id")
		}
		checkins := count(t, d, "checkins")

		// Bad input: the message beside the field, nothing stored, the same client id.
		form := url.Values{"csrf": {res.csrfField(t, body)}, "client_id": {m[1]}, "host_unit": {""}, "host_name": {"王芳"},
			"purpose": {strings.Repeat("探", 101)}}
		body = res.postForm(gatePath, form).html(t, http.StatusUnprocessableEntity, "a visit without a unit")
		mustContain(t, "visit errors", body, `id="e-host_unit"`, `id="e-purpose"`, `value="王芳"`, `name="client_id" value="`+m[1]+`"`)
		mustNotContain(t, "visit errors", body, `id="e-host_name"`)
		if count(t, d, "visitor_registrations") != 0 || count(t, d, "checkins") != checkins {
			t.Fatal("a refused visit stored something")
		}

		// Sent twice, registered and checked in once.
		form.Set("host_unit", "3栋2单元501")
		form.Set("purpose", "探亲")
		res.postForm(gatePath, form).redirect(t, "/me", "register a visit")
		mustContain(t, "after the visit", placePage(t, res, "/me", http.StatusOK), "来访已登记")
		res.postForm(gatePath, form).redirect(t, "/me", "the same visit again")
		if n := count(t, d, "visitor_registrations"); n != 1 {
			t.Fatalf("visitor registrations = %d after sending twice, want 1", n)
		}
		if n := count(t, d, "checkins"); n != checkins+1 {
			t.Fatalf("check-ins = %d, want %d: the visit is one check-in", n, checkins+1)
		}
		var ci struct {
			ResidentID int64  `db:"resident_id"`
			PlaceID    int64  `db:"place_id"`
			ClientID   string `db:"client_id"`
			Source     string `db:"source"`
		}
		if err := db.Get(t.Context(), d.R, &ci, "SELECT resident_id, place_id, client_id, source FROM checkins ORDER BY id DESC LIMIT 1"); err != nil {
			t.Fatal(err)
		}
		if ci.ResidentID != r1.Resident.ID || ci.PlaceID != gate.ID || ci.ClientID != m[1] || ci.Source != "scan" {
			t.Fatalf("the visit's check-in = %+v", ci)
		}
		// Someone else's client id is refused.
		res2 := ts.formLogin(t, "resident-2")
		form.Set("csrf", res2.csrfField(t, placePage(t, res2, gatePath, http.StatusOK)))
		res2.postForm(gatePath, form).html(t, http.StatusUnprocessableEntity, "another resident sends the same client id")
		if n := count(t, d, "visitor_registrations"); n != 1 {
			t.Fatalf("visitor registrations = %d", n)
		}

		// The community worker sees the visit, having said why; the read is logged.
		cw := ts.formLogin(t, "community-1")
		body = placePage(t, cw, "/staff/visitors", http.StatusOK)
		mustContain(t, "visitors, before saying why", body, `name="purpose"`, `<option value="`+fmt.Sprint(gate.ID)+`">中山花园北门`)
		mustNotContain(t, "visitors, before saying why", body, r1.Resident.Name, `data-testid="visitors"`)
		today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
		body = placePage(t, cw, "/staff/visitors?purpose=contact_tracing&date="+today, http.StatusOK)
		mustContain(t, "visitors", body, `data-testid="visitors"`, r1.Resident.Name, "3栋2单元501", "王芳", "探亲", "中山花园北门", "当天共 1 次来访")
		body = placePage(t, cw, fmt.Sprintf("/staff/visitors?purpose=contact_tracing&date=%s&place=%d", today, gate.ID), http.StatusOK)
		mustContain(t, "visitors of the gate", body, r1.Resident.Name)
		body = placePage(t, cw, "/staff/visitors?purpose=contact_tracing&date=2020-01-01", http.StatusOK)
		mustContain(t, "visitors another day", body, `data-testid="visitors-none"`)
		body = cw.get("/staff/visitors?purpose=contact_tracing&date=tomorrow").html(t, http.StatusUnprocessableEntity, "a bad date")
		mustContain(t, "a bad date", body, `id="e-date"`)
		cw.get("/staff/visitors?purpose=curiosity").html(t, http.StatusUnprocessableEntity, "an unknown purpose")
		var logged int
		if err := db.Get(t.Context(), d.R, &logged, `SELECT count(*) FROM access_log a JOIN accounts s ON s.id = a.actor_id
			WHERE s.username = 'community-1' AND a.action = 'visitors' AND a.resident_id = ? AND a.purpose = 'contact_tracing'`, r1.Resident.ID); err != nil || logged != 2 {
			t.Fatalf("logged reads of the visitor = %d, %v; want 2", logged, err)
		}

		// Other workers do not see it; other roles may not look.
		body = placePage(t, ts.formLogin(t, "community-2"), "/staff/visitors?purpose=contact_tracing&date="+today, http.StatusOK)
		mustContain(t, "another community's visitors", body, `data-testid="visitors-none"`)
		mustNotContain(t, "another community's visitors", body, r1.Resident.Name)
		ts.formLogin(t, "epidemiologist-1").get("/staff/visitors?purpose=contact_tracing").html(t, http.StatusForbidden, "an epidemiologist lists visitors")
		res.get("/staff/visitors").html(t, http.StatusForbidden, "a resident lists visitors")
		if err := db.Get(t.Context(), d.R, &logged, "SELECT count(*) FROM access_log WHERE action = 'visitors'"); err != nil || logged != 2 {
			t.Fatalf("reads of visitors logged = %d, %v; want only community-1's 2", logged, err)
		}

		// A disabled gate takes no visitors.
		gc := ts.demoLogin(t, "community-1")
		gc.post(fmt.Sprintf("/api/v1/places/%d/disable", gate.ID), map[string]string{}).want(t, http.StatusOK, "disable the gate")
		res.get(gatePath).html(t, http.StatusConflict, "the visitor form of a disabled gate")
	})
}
