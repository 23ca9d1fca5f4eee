package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
)

type auditEntryJSON struct {
	ID         int64  `json:"id"`
	ResidentID *int64 `json:"resident_id"`
	Kind       string `json:"kind"`
	Reason     string `json:"reason"`
	ActorName  string `json:"actor_name"`
}

type auditPageJSON struct {
	Items  []auditEntryJSON `json:"items"`
	Total  int64            `json:"total"`
	Offset int              `json:"offset"`
	Limit  int              `json:"limit"`
}

// auditAll walks every page of /api/v1/audit with the query q.
func auditAll(t *testing.T, c *client, q url.Values) []auditEntryJSON {
	t.Helper()
	var out []auditEntryJSON
	for offset := 0; ; {
		q.Set("offset", fmt.Sprint(offset))
		q.Set("limit", "7")
		var pg auditPageJSON
		c.get("/api/v1/audit?"+q.Encode()).want(t, http.StatusOK, "audit list").json(t, &pg)
		out = append(out, pg.Items...)
		offset += len(pg.Items)
		if len(pg.Items) == 0 || int64(offset) >= pg.Total {
			if int64(len(out)) != pg.Total {
				t.Fatalf("walked %d entries, total %d", len(out), pg.Total)
			}
			return out
		}
	}
}

// TestAuditChainScope: an auditor scoped to one district reads, on the
// page, the API and the CSV export, only the entries about its own people,
// never another district's appeal text; the city's auditor reads both; the
// list pages through everything with its total and filters.
func TestAuditChainScope(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 300)
		// Two residents in two districts appeal, each in words of their own.
		type who struct {
			id       int64
			district string
			appeal   string
		}
		var people []who
		for i := 1; len(people) < 2 && i < 100; i++ {
			c := ts.client(t)
			r := c.post("/api/v1/login", map[string]string{"username": fmt.Sprintf("resident-%d", i), "password": demoPassword})
			if r.Status != http.StatusOK {
				continue // a child, who has no account
			}
			var me meJSON
			r.json(t, &me)
			c.csrf = me.CSRFToken
			dist := me.Resident.CommunityCode[:6]
			if len(people) == 1 && people[0].district == dist {
				continue
			}
			c.post("/api/v1/me/declarations", map[string]any{"temperature_c": 36.6, "location_code": me.Resident.CommunityCode}).
				want(t, http.StatusCreated, "declaration")
			text := fmt.Sprintf("I was never at that market, says resident %d of %s", me.Resident.ID, dist)
			c.post("/api/v1/me/appeals", map[string]string{"message": text}).want(t, http.StatusCreated, "appeal")
			people = append(people, who{me.Resident.ID, dist, text})
		}
		if len(people) != 2 {
			t.Fatal("no two residents in different districts")
		}
		a, b := people[0], people[1]
		admin := ts.demoLogin(t, "admin-1")
		for _, p := range people {
			admin.post("/api/v1/staff", map[string]string{"username": "auditor-" + p.district, "display_name": "Auditor " + p.district,
				"role": "auditor", "jurisdiction_code": p.district, "password": "a good long password"}).want(t, http.StatusCreated, "auditor")
		}
		auditorA, _ := ts.login(t, "auditor-"+a.district, "a good long password")

		// The API.
		es := auditAll(t, auditorA, url.Values{})
		if len(es) == 0 {
			t.Fatal("district A's auditor reads nothing")
		}
		sawA := false
		for _, e := range es {
			if e.ResidentID == nil || *e.ResidentID == b.id || strings.Contains(e.Reason, b.appeal) {
				t.Errorf("district A's auditor reads an entry outside its district: %+v", e)
			}
			sawA = sawA || strings.Contains(e.Reason, a.appeal)
		}
		if !sawA {
			t.Error("district A's auditor does not read its own resident's appeal")
		}
		if es := auditAll(t, auditorA, url.Values{"resident": {fmt.Sprint(b.id)}}); len(es) != 0 {
			t.Errorf("filtering on B's resident, district A's auditor reads %d entries", len(es))
		}
		// The page (every page of it) and the export.
		for path := "/staff/audit?limit=5"; path != ""; {
			page := auditorA.get(path).html(t, http.StatusOK, "audit page")
			mustNotContain(t, "district A's audit page", page, b.appeal)
			path = ""
			if i := strings.Index(page, `rel="next"`); i > 0 {
				j := strings.LastIndex(page[:i], `href="`)
				path = strings.ReplaceAll(page[j+6:i-2], "&amp;", "&")
			}
		}
		csv := auditorA.get("/staff/audit?format=csv").want(t, http.StatusOK, "audit csv").String()
		mustContain(t, "district A's export", csv, a.appeal)
		mustNotContain(t, "district A's export", csv, b.appeal)

		// The city's auditor reads both, filtered by kind and resident.
		city := ts.demoLogin(t, "auditor-1")
		appeals := auditAll(t, city, url.Values{"kind": {"appeal"}})
		if len(appeals) != 2 {
			t.Errorf("the city's auditor reads %d appeals, want 2: %+v", len(appeals), appeals)
		}
		all := auditAll(t, city, url.Values{})
		if len(all) <= len(es) {
			t.Errorf("the city reads %d entries, district A %d", len(all), len(es))
		}
		page := city.get("/staff/audit?resident="+fmt.Sprint(b.id)).html(t, http.StatusOK, "city audit page")
		mustContain(t, "the city's page filtered on B", page, b.appeal, `data-testid="total"`)
		city.get("/api/v1/audit?kind=nonsense").invalid(t, "kind", "unknown kind")
		city.get("/staff/audit?from=2026-13-01").html(t, http.StatusUnprocessableEntity, "bad date")
	})
}

// TestAuditHeads: the signed heads and their key are public; an auditor
// signs one now; after the chain is cut in the database (its head row
// moved back, so that the hash chain alone still verifies) the auditor's
// check fails naming the signed head, on the API and the page, in the
// reader's language.
func TestAuditHeads(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 300)
		anon := ts.client(t)
		vkey := anon.get("/api/v1/audit/key").want(t, http.StatusOK, "key").String()
		key, err := audit.VerifierKey(vkey)
		if err != nil {
			t.Fatalf("the published key %q: %v", vkey, err)
		}
		anon.post("/api/v1/audit/heads", nil).problem(t, http.StatusUnauthorized, "anonymous signing")
		auditor := ts.demoLogin(t, "auditor-1")
		// The chain grows: a resident appeals; the auditor signs now.
		res := ts.demoLogin(t, "resident-1")
		res.post("/api/v1/me/declarations", map[string]any{"temperature_c": 36.6, "location_code": "420106001"}).want(t, http.StatusCreated, "declaration")
		res.post("/api/v1/me/appeals", map[string]string{"message": "I was never there."}).want(t, http.StatusCreated, "appeal")
		var signed audit.Head
		r := auditor.post("/api/v1/audit/heads", nil)
		if r.Status != http.StatusOK { // the server's own loop may have signed it first
			r.want(t, http.StatusCreated, "sign")
		}
		r.json(t, &signed)
		auditor.post("/api/v1/audit/heads", nil).want(t, http.StatusOK, "sign unchanged")
		note := anon.get("/api/v1/audit/head").want(t, http.StatusOK, "head").String()
		h, err := key.Open([]byte(note))
		if err != nil || h.Size != signed.Size || h.Size < 2 {
			t.Fatalf("the published head %q = %+v, %v; signed %+v", note, h, err, signed)
		}
		var pg struct {
			Heads []audit.Head `json:"heads"`
			Next  int64        `json:"next"`
		}
		anon.get("/api/v1/audit/heads?after=0&limit=1000").want(t, http.StatusOK, "heads").json(t, &pg)
		if len(pg.Heads) == 0 || pg.Heads[len(pg.Heads)-1].Size != h.Size || pg.Next != 0 {
			t.Fatalf("heads = %+v", pg)
		}
		anon.get("/api/v1/audit/heads?limit=5000").invalid(t, "limit", "too many heads")

		var rep struct {
			OK           bool        `json:"ok"`
			Entries      int64       `json:"entries"`
			HeadsChecked int         `json:"heads_checked"`
			Head         *audit.Head `json:"head"`
			Message      string      `json:"message"`
		}
		auditor.get("/api/v1/audit/verify").want(t, http.StatusOK, "verify").json(t, &rep)
		if !rep.OK || rep.HeadsChecked < 1 || rep.Entries != h.Size {
			t.Fatalf("verify an untouched chain = %+v", rep)
		}

		// Cut the last entry off, as whoever writes the database could.
		ctx := context.Background()
		cut := h.Size - 1
		var hash []byte
		if err := db.Get(ctx, d.R, &hash, "SELECT hash FROM audit_log WHERE id = ?", cut); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"DELETE FROM audit_log WHERE id > ?", "UPDATE audit_head SET last_id = ?, last_hash = ? WHERE id = 1"} {
			args := []any{cut}
			if strings.HasPrefix(q, "UPDATE") {
				args = append(args, hash)
			}
			if _, err := db.Exec(ctx, d.W, q, args...); err != nil {
				t.Fatal(err)
			}
		}
		if plain, err := audit.Verify(ctx, d, nil); err != nil || !plain.OK {
			t.Fatalf("the hash chain alone should still verify: %+v, %v", plain, err)
		}
		auditor.get("/api/v1/audit/verify").want(t, http.StatusOK, "verify").json(t, &rep)
		if rep.OK || rep.Head == nil || rep.Head.Size != h.Size || !strings.Contains(rep.Message, "截除") {
			t.Fatalf("verify a cut chain = %+v", rep)
		}
		page := auditor.get("/staff/audit?verify=1").html(t, http.StatusOK, "verify page")
		mustContain(t, "the verify page", page, `data-testid="chain-broken"`, fmt.Sprintf("涵盖 %d 条", h.Size))
		auditor.post("/api/v1/audit/heads", nil).problem(t, http.StatusConflict, "signing a cut chain")
	})
}
