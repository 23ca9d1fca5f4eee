package server_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
)

// TestFollowUpListPages: the follow-up list is not cut at a count. With
// more contacts than the old cut of 200, the API and the page give the
// total and page through every one, filters narrow it, the CSV export
// holds them all, and a district's staff count only their district's.
func TestFollowUpListPages(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ts := startServer(t, d, 300)
		now := time.Now()
		var caseID int64
		if err := db.Get(ctx, d.R, &caseID, "SELECT min(id) FROM residents"); err != nil {
			t.Fatal(err)
		}
		traceID, err := db.InsertID(ctx, d.W, `INSERT INTO traces (case_id, pseudonym, infectious_from, infectious_until, quarantine_at,
			traced_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, caseID, "C0042", now.AddDate(0, 0, -5).Unix(), now.Unix(), now.Unix(), now.UTC())
		if err != nil {
			t.Fatal(err)
		}
		var people []int64
		if err := db.Select(ctx, d.R, &people, "SELECT id FROM residents WHERE id <> ? ORDER BY id LIMIT 260", caseID); err != nil || len(people) != 260 {
			t.Fatalf("residents: %d, %v", len(people), err)
		}
		err = d.InTx(ctx, func(tx *db.Tx) error {
			rows := make([][]any, len(people))
			for i, id := range people {
				kind := "close"
				if i%4 == 0 {
					kind = "secondary"
				}
				rows[i] = []any{id, kind, now.AddDate(0, 0, -(i % 5)).Format("2006-01-02"), "同一场所", caseID, traceID, now.UTC()}
			}
			if err := tx.BulkInsert(ctx, "contacts", []string{"resident_id", "kind", "exposed_on", "evidence", "source_case", "trace_id", "created_at"}, rows); err != nil {
				return err
			}
			_, err := db.Exec(ctx, tx, `INSERT INTO contact_followups (contact_id, status, note, updated_at)
				SELECT id, 'pending', '', ? FROM contacts WHERE trace_id = ?`, now.UTC(), traceID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		type page struct {
			Contacts []struct {
				ContactID int64  `json:"contact_id"`
				Kind      string `json:"kind"`
			} `json:"contacts"`
			Total  int64 `json:"total"`
			Offset int   `json:"offset"`
			Limit  int   `json:"limit"`
		}
		epi := ts.demoLogin(t, "epidemiologist-1")
		seen := map[int64]bool{}
		for offset := 0; ; offset += 100 {
			var p page
			epi.get("/api/v1/contacts?limit=100&offset="+strconv.Itoa(offset)).want(t, http.StatusOK, "a page").json(t, &p)
			if p.Total != 260 || p.Limit != 100 || p.Offset != offset {
				t.Fatalf("page at %d: total %d, limit %d, offset %d", offset, p.Total, p.Limit, p.Offset)
			}
			for _, c := range p.Contacts {
				seen[c.ContactID] = true
			}
			if len(p.Contacts) < 100 {
				break
			}
		}
		if len(seen) != 260 {
			t.Fatalf("paging through the list reached %d of 260 contacts", len(seen))
		}
		var sec page
		epi.get("/api/v1/contacts?kind=secondary&case=c0042&limit=500").want(t, http.StatusOK, "secondary").json(t, &sec)
		if sec.Total != 65 || len(sec.Contacts) != 65 || sec.Contacts[0].Kind != "secondary" {
			t.Errorf("secondary contacts of C0042: total %d, %d rows", sec.Total, len(sec.Contacts))
		}
		epi.get("/api/v1/contacts?from=2026-02-30").invalid(t, "from", "a date that does not exist")
		epi.get("/api/v1/contacts?limit=5000").invalid(t, "limit", "too many rows at once")

		body := ts.formLogin(t, "epidemiologist-1").get("/staff/contacts").html(t, http.StatusOK, "follow-up page")
		mustContain(t, "follow-up page", body, "共 260 条", `rel="next"`, `format=csv`)
		csvBody := ts.formLogin(t, "epidemiologist-1").get("/staff/contacts?format=csv&kind=close")
		recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(csvBody.String(), "\ufeff"))).ReadAll()
		if err != nil || len(recs) != 1+195 {
			t.Fatalf("CSV of close contacts: %d records, %v", len(recs), err)
		}
		if c := recs[1][1]; !strings.Contains(c, "区 · ") || !strings.HasSuffix(c, "社区") {
			t.Errorf("a contact's community %q is not named with its district", c)
		}

		// A district's epidemiologist counts only the district's contacts.
		var inDistrict int64
		if err := db.Get(ctx, d.R, &inDistrict, `SELECT count(*) FROM contacts c JOIN residents r ON r.id = c.resident_id
			JOIN jurisdictions j ON j.id = r.community_id WHERE c.trace_id = ? AND j.code LIKE '420106%'`, traceID); err != nil {
			t.Fatal(err)
		}
		var district page
		ts.demoLogin(t, "epidemiologist-2").get("/api/v1/contacts?limit=1").want(t, http.StatusOK, "district list").json(t, &district)
		if district.Total != inDistrict || inDistrict == 0 || inDistrict == 260 {
			t.Errorf("the district's epidemiologist counts %d contacts; the district holds %d of 260", district.Total, inDistrict)
		}
	})
}
