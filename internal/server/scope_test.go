package server_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/http/route"
)

// scopeMarker is a person of one district whose traces (name, numbers,
// appeal, place) no staff member of the other district may read.
type scopeMarker struct {
	district, community   string
	name, idNumber, phone string
	appeal, place         string
	residentID, placeID   int64
	staff                 map[string]*client // by role, scoped to the district (a community for workers)
	seenBy                map[string]bool    // roles that read the marker's name somewhere in their scope
	residentLogin         string
}

func (m *scopeMarker) secrets() []string {
	return []string{m.name, m.idNumber, m.phone, m.appeal, m.place}
}

// scopeRoles are the staff roles, each made at both districts.
var scopeRoles = []string{"admin", "commander", "epidemiologist", "auditor", "lab_technician", "clinician", "checkpoint", "community_worker"}

// TestScopeWalk walks every staff page and API route that reads (GET), for
// every staff role at two scopes (two districts; a worker at a community of
// each) — routes a role may not use answer 403, which reads nothing — with
// every path id set to each district's person and place, as a
// list (all rows) and as CSV: no answer to a member of one district may hold
// the other district's person — name, ID number, phone, appeal text, place.
// City-wide readers must see both, so the walk can fail.
func TestScopeWalk(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 60)
		admin := ts.demoLogin(t, "admin-1")
		epi := ts.demoLogin(t, "epidemiologist-1")
		markers := []*scopeMarker{
			{district: "420106", community: "420106001", name: "司马甲辰", idNumber: cnID("420106", "19810304", "951"),
				phone: "13977770001", appeal: "甲辰申诉的内容", place: "甲辰小吃店"},
			{district: "420102", community: "420102001", name: "欧阳乙巳", idNumber: cnID("420102", "19820405", "962"),
				phone: "13977770002", appeal: "乙巳申诉的内容", place: "乙巳小吃店"},
		}
		for i, m := range markers {
			m.residentLogin = fmt.Sprintf("scope-resident-%d", i)
			ts.client(t).post("/api/v1/register", map[string]string{"name": m.name, "id_number": m.idNumber, "phone": m.phone,
				"community_code": m.community, "username": m.residentLogin, "password": "a scope password"}).
				want(t, http.StatusCreated, "register "+m.name)
			res, me := ts.login(t, m.residentLogin, "a scope password")
			m.residentID = me.Resident.ID
			res.post("/api/v1/me/declarations", map[string]any{"temperature_c": 38.4, "location_code": m.community,
				"symptoms": []string{"fever", "cough"}}).want(t, http.StatusCreated, "declare "+m.name)
			res.post("/api/v1/me/appeals", map[string]string{"message": m.appeal}).want(t, http.StatusCreated, "appeal "+m.name)
			m.placeID = registerPlace(t, res, shopBody(m.place, m.community), "place of "+m.name).ID
			epi.post("/api/v1/residents/"+strconv.FormatInt(m.residentID, 10)+"/case-status", map[string]any{"status": "confirmed",
				"since": time.Now().Format("2006-01-02"), "onset": time.Now().Add(-24 * time.Hour).Format("2006-01-02"),
				"reason": "PCR positive", "legal_basis": "Law on the Prevention and Control of Infectious Diseases"}).
				want(t, http.StatusOK, "confirm "+m.name)

			m.staff, m.seenBy = map[string]*client{}, map[string]bool{}
			for _, role := range scopeRoles {
				code := m.district
				if role == "community_worker" {
					code = m.community
				}
				username := fmt.Sprintf("scope-%s-%s", role, code)
				admin.post("/api/v1/staff", map[string]string{"username": username, "display_name": username, "role": role,
					"jurisdiction_code": code, "password": "a scope password"}).want(t, http.StatusCreated, "staff "+username)
				m.staff[role], _ = ts.login(t, username, "a scope password")
			}
		}

		city := map[string]*client{"auditor": ts.demoLogin(t, "auditor-1"), "epidemiologist": epi}
		citySeen := map[string]int{}
		routes := ts.Server.Routes()
		walked := 0
		for i, m := range markers {
			other := markers[1-i]
			for _, role := range scopeRoles {
				c := m.staff[role]
				for _, path := range scopePaths(routes, markers) {
					r := c.get(path) // a 5xx fails the test in do
					walked++
					body := r.String()
					// A search form shows what was searched for: that echo
					// is the reader's own input, not a row read.
					if u, err := url.Parse(path); err == nil {
						for _, vs := range u.Query() {
							for _, v := range vs {
								body = strings.ReplaceAll(body, `value="`+html.EscapeString(v)+`"`, "")
							}
						}
					}
					for _, s := range other.secrets() {
						if strings.Contains(body, s) {
							t.Errorf("%s of %s reads %q of %s at GET %s (status %d)", role, m.district, s, other.district, path, r.Status)
						}
					}
					if r.Status == http.StatusOK && strings.Contains(body, m.name) {
						m.seenBy[role] = true
					}
				}
			}
			for _, role := range []string{"epidemiologist", "auditor", "community_worker"} {
				if !m.seenBy[role] {
					t.Errorf("the %s of %s never read %s of their own scope: the walk reads nothing", role, m.district, m.name)
				}
			}
		}
		for role, c := range city {
			for _, path := range scopePaths(routes, markers) {
				body := c.get(path).String()
				for _, m := range markers {
					if strings.Contains(body, m.name) {
						citySeen[role+" "+m.name]++
					}
				}
			}
			for _, m := range markers {
				if citySeen[role+" "+m.name] == 0 {
					t.Errorf("the city's %s never read %s: the walk cannot see a leak", role, m.name)
				}
			}
		}
		t.Logf("%d reads by %d scoped staff", walked, 2*len(scopeRoles))
	})
}

// walkPath is one address a walk GETs.
type walkPath struct {
	Path  string
	Kind  route.Kind
	Guard route.Guard
	CSV   bool
}

// scopePaths lists what to GET: every page and API route (public ones too:
// they must not show people), with path ids set to each marker's person or
// place, lists asked for all their rows, and CSV exports.
func scopePaths(routes []route.Route, markers []*scopeMarker) []string {
	var out []string
	for _, w := range walkPaths(routes, markers) {
		out = append(out, w.Path)
	}
	return out
}

// walkPaths is scopePaths with each address's kind.
func walkPaths(routes []route.Route, markers []*scopeMarker) []walkPath {
	var out []walkPath
	for _, rt := range routes {
		method, path, ok := strings.Cut(rt.Pattern, " ")
		if !ok || method != http.MethodGet || rt.Kind == route.Raw {
			continue
		}
		path = strings.TrimSuffix(path, "{$}")
		if strings.HasPrefix(path, "/staff/jobs/") || strings.HasPrefix(path, "/api/v1/jobs/") {
			continue // jobs are the reader's own, by a random id
		}
		var ids []string
		switch {
		case strings.Contains(path, "{id}") && (strings.HasPrefix(path, "/places") || strings.HasPrefix(path, "/api/v1/places")),
			strings.Contains(path, "{placeID}"):
			for _, m := range markers {
				ids = append(ids, strconv.FormatInt(m.placeID, 10))
			}
		case strings.Contains(path, "{id}"):
			for _, m := range markers {
				ids = append(ids, strconv.FormatInt(m.residentID, 10))
			}
		default:
			ids = []string{""}
		}
		for _, id := range ids {
			p := strings.NewReplacer("{id}", id, "{placeID}", id).Replace(path)
			if strings.Contains(p, "{") {
				continue
			}
			q := url.Values{"purpose": {"contact_tracing"}, "limit": {"500"}}
			out = append(out, walkPath{p + "?" + q.Encode(), rt.Kind, rt.Guard, false})
			q.Set("format", "csv")
			out = append(out, walkPath{p + "?" + q.Encode(), rt.Kind, rt.Guard, true})
			if strings.HasSuffix(p, "/find") || strings.HasSuffix(p, "/lookup") {
				for _, m := range markers {
					for k, v := range map[string]string{"id_number": m.idNumber, "phone": m.phone, "name": m.name, "q": m.name} {
						if v != "" {
							out = append(out, walkPath{p + "?" + url.Values{"purpose": {"contact_tracing"}, k: {v}}.Encode(), rt.Kind, rt.Guard, false})
						}
					}
				}
			}
		}
	}
	return out
}

// latinWord is a run of Latin letters: on a Chinese page, system text in
// English (a leaked message, a developer's word) shows as one.
var latinWord = regexp.MustCompile(`[A-Za-z][A-Za-z0-9_'’-]{2,}`)

// loginName is an account's login ("admin-1"): the reader's data, shown as
// typed.
var loginName = regexp.MustCompile(`^[a-z_]+-[0-9]+$`)

// latinAllowed are the Latin words a Chinese page may show: names of
// formats and standards that Chinese text writes in Latin letters too.
var latinAllowed = map[string]bool{"CSV": true, "PDF": true, "SVG": true, "API": true, "PCR": true, "JSON": true,
	"CDC": true, "URL": true, "Bearer": true, "Outbreak": true, "HTTP": true, "HTTPS": true, "CBOR": true, "COSE": true,
	"Ed25519": true, "YAML": true, "SHA-256": true, "BASE45": true, "Base45": true, "RIC": true, "PASSPORT": true,
	"OBP1": true, "WGS": true, "JavaScript": true}

// pageText is what a reader sees of an HTML page as system text: its text
// without tags, scripts and styles, with the titles and placeholders of
// elements; code shown as code (a rule file in a <textarea> or <pre>) and
// text marked as English (lang="en": a place's English name, the
// language switch) are left out.
func pageText(html string) string {
	html = regexp.MustCompile(`(?is)<(script|style|textarea|pre|code)[^>]*>.*?</(script|style|textarea|pre|code)>`).ReplaceAllString(html, " ")
	html = regexp.MustCompile(`(?is)<(span|button|option|td)[^>]*\slang="en"[^>]*>[^<]*</(span|button|option|td)>`).ReplaceAllString(html, " ")
	var b strings.Builder
	for _, m := range regexp.MustCompile(`(?i)(?:placeholder|title|aria-label|alt)="([^"]*)"`).FindAllStringSubmatch(html, -1) {
		b.WriteString(m[1] + " ")
	}
	b.WriteString(regexp.MustCompile(`(?s)<[^>]*>`).ReplaceAllString(html, " "))
	return b.String()
}

// TestChinesePagesSpeakChinese: every page of every role, in Chinese, holds
// no system text in English and no message key. User data (names typed in
// Latin letters) is kept out of the walk's fixtures, so any Latin word is
// ours.
func TestChinesePagesSpeakChinese(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 40)
		routes := ts.Server.Routes()
		// A confirmed case with a declaration, a test and contacts, and a
		// place, so that the record, history and tracing pages have rows.
		res, me := ts.login(t, "resident-1", demoPassword)
		res.post("/api/v1/me/declarations", map[string]any{"temperature_c": 38.2, "location_code": me.Resident.CommunityCode,
			"symptoms": []string{"fever"}}).want(t, http.StatusCreated, "declare")
		place := registerPlace(t, res, shopBody("汉正街小吃", me.Resident.CommunityCode), "a place")
		ts.demoLogin(t, "epidemiologist-1").post("/api/v1/residents/"+strconv.FormatInt(me.Resident.ID, 10)+"/case-status",
			map[string]any{"status": "confirmed", "since": time.Now().Format("2006-01-02"),
				"onset": time.Now().Add(-48 * time.Hour).Format("2006-01-02"), "reason": "核酸阳性",
				"legal_basis": "传染病防治法"}).want(t, http.StatusOK, "confirm the case")
		ids := []*scopeMarker{{residentID: me.Resident.ID, placeID: place.ID}, {residentID: 2, placeID: place.ID}}
		users := []string{"resident-1", "admin-1", "commander-1", "epidemiologist-1", "auditor-1", "lab-1", "clinician-1",
			"checkpoint-1", "community-1"}
		leaks := map[string][]string{}
		for _, u := range users {
			c := ts.formLogin(t, u)
			for _, path := range scopePaths(routes, ids) {
				r := c.get(path)
				if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
					continue
				}
				for _, w := range latinWord.FindAllString(pageText(r.String()), -1) {
					if !latinAllowed[w] && !loginName.MatchString(w) && strings.IndexFunc(w, unicode.IsDigit) < 0 { // G1234: a code
						p, _, _ := strings.Cut(path, "?")
						leaks[p] = append(leaks[p], w)
					}
				}
			}
		}
		for p, ws := range leaks {
			t.Errorf("the Chinese page %s shows Latin words: %s", p, strings.Join(uniq(ws), " "))
		}
	})
}

func uniq(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
