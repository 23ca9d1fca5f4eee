package server_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/tracing"
)

// An epidemiologist confirms a case through the API: the resident who sat
// next to the case sees that they are a close contact, with the evidence,
// on the page and in the API; the community worker of the contact's
// community has them on the follow-up list and records the call.
func TestContactTracingEndToEnd(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ts := startServer(t, d, 200)
		var contactID int64
		var scopePath string
		if err := db.Get(ctx, d.R, &contactID, "SELECT resident_id FROM accounts WHERE username = 'resident-1'"); err != nil {
			t.Fatal(err)
		}
		if err := db.Get(ctx, d.R, &scopePath, `SELECT j.path FROM residents r JOIN jurisdictions j ON j.id = r.community_id WHERE r.id = ?`, contactID); err != nil {
			t.Fatal(err)
		}
		// The case: another resident; the place: a shop registered by SQL.
		var caseID, jid, by int64
		db.Get(ctx, d.R, &caseID, "SELECT MAX(id) FROM residents WHERE id <> ? AND guardian_id IS NULL", contactID)
		db.Get(ctx, d.R, &jid, "SELECT community_id FROM residents WHERE id = ?", contactID)
		db.Get(ctx, d.R, &by, "SELECT MIN(id) FROM accounts")
		placeID, err := db.InsertID(ctx, d.W, `INSERT INTO places (kind, type, name, address, latitude, longitude, jurisdiction_id,
			created_by, created_at) VALUES ('venue', 'restaurant', 'Lotus Noodles', '1 Jiefang Road', 30.59, 114.3, ?, ?, ?) RETURNING id`,
			jid, by, time.Now().UTC())
		if err != nil {
			t.Fatal(err)
		}
		store := ts.CheckIns
		noon := time.Now().Add(-24 * time.Hour).Truncate(time.Hour)
		if _, err := store.Ingest(ctx, []tracing.CheckIn{
			{ClientID: "case-1", ResidentID: caseID, PlaceID: placeID, TIn: noon.Unix(), TOut: noon.Add(time.Hour).Unix(), Source: tracing.Scan},
			{ClientID: "contact-1", ResidentID: contactID, PlaceID: placeID, TIn: noon.Add(10 * time.Minute).Unix(), TOut: noon.Add(50 * time.Minute).Unix(), Source: tracing.Scan},
		}); err != nil {
			t.Fatal(err)
		}

		// On SQLite the tracer reads its in-memory index, which must have
		// the check-ins the server's store wrote.
		want := map[db.Dialect]string{db.SQLite: "memory", db.Postgres: "store"}[d.Dialect]
		if got := ts.tracingIndex(t); got != want {
			t.Fatalf("/readyz: the tracer reads %q, want %q", got, want)
		}
		me := ts.demoLogin(t, "resident-1")
		var before struct {
			Contact bool `json:"contact"`
		}
		me.get("/api/v1/me/contacts").want(t, http.StatusOK, "my contacts before").json(t, &before)
		if before.Contact {
			t.Fatal("a contact before any case")
		}
		me.get("/api/v1/contacts").want(t, http.StatusForbidden, "a resident reads the follow-up list")

		epi := ts.demoLogin(t, "epidemiologist-1")
		epi.post("/api/v1/residents/"+strconv.FormatInt(contactID, 10)+"/trace", nil).invalid(t, "resident", "re-trace of a non-case")
		onset := time.Now().Add(-24 * time.Hour).Format("2006-01-02")
		epi.post("/api/v1/residents/"+strconv.FormatInt(caseID, 10)+"/case-status", map[string]any{"status": "confirmed",
			"since": time.Now().Format("2006-01-02"), "onset": onset, "reason": "PCR positive, confirmed by the CDC",
			"legal_basis": "Law on the Prevention and Control of Infectious Diseases"}).want(t, http.StatusOK, "confirm the case")

		var mine struct {
			Contact  bool `json:"contact"`
			Contacts []struct {
				Kind     string `json:"kind"`
				Evidence string `json:"evidence"`
				Detail   struct {
					Case     string `json:"case"`
					Evidence []struct {
						PlaceName string `json:"place_name"`
						From, To  int64
					} `json:"evidence"`
				} `json:"detail"`
			} `json:"contacts"`
		}
		// The record page says what the case status is now, and its form
		// starts from the onset tracing read.
		record := epi.get("/staff/residents/"+strconv.FormatInt(caseID, 10)+"?purpose=case_investigation").html(t, http.StatusOK, "case's record")
		mustContain(t, "case's record", record, "当前：确诊病例", `name="onset" value="`+onset+`"`, "流调追踪")
		mustNotContain(t, "case's record", record, "audit.trace")
		me.get("/api/v1/me/contacts").want(t, http.StatusOK, "my contacts").json(t, &mine)
		if !mine.Contact || len(mine.Contacts) != 1 || mine.Contacts[0].Kind != "close" || mine.Contacts[0].Detail.Evidence[0].PlaceName != "Lotus Noodles" ||
			mine.Contacts[0].Detail.Evidence[0].To-mine.Contacts[0].Detail.Evidence[0].From != 40*60 {
			t.Fatalf("my contacts: %+v", mine)
		}
		mustNotContain(t, "contact's evidence", mine.Contacts[0].Evidence+mine.Contacts[0].Detail.Case, strconv.FormatInt(caseID, 10)+" ")
		var code struct {
			Colour string `json:"colour"`
		}
		me.get("/api/v1/me/code").want(t, http.StatusOK, "my code").json(t, &code)
		if code.Colour != "red" {
			t.Errorf("close contact's code is %s", code.Colour)
		}
		page := me.get("/me/contacts").html(t, http.StatusOK, "my contacts page")
		mustContain(t, "my contacts page", page, "Lotus Noodles", "data-testid=\"contact\"", "（40分钟）", "您于")
		mustNotContain(t, "my contacts page", page, " min)")

		var traces struct {
			Traces []struct {
				Pseudonym string `json:"pseudonym"`
				Close     int    `json:"close"`
				Sites     int    `json:"sites"`
			} `json:"traces"`
		}
		epi.get("/api/v1/residents/"+strconv.FormatInt(caseID, 10)+"/traces").want(t, http.StatusOK, "traces").json(t, &traces)
		if len(traces.Traces) != 1 || traces.Traces[0].Close != 1 || traces.Traces[0].Sites != 1 {
			t.Fatalf("traces: %+v", traces)
		}
		epi.post("/api/v1/residents/"+strconv.FormatInt(caseID, 10)+"/trace", nil).want(t, http.StatusOK, "re-trace")

		// The community worker whose scope holds the contact.
		var worker string
		if err := db.Get(ctx, d.R, &worker, `SELECT a.username FROM accounts a JOIN jurisdictions j ON j.id = a.jurisdiction_id
			WHERE a.role = 'community_worker' AND ? LIKE j.path || '%' ORDER BY a.id LIMIT 1`, scopePath); err != nil {
			t.Fatalf("no community worker over %s: %v", scopePath, err)
		}
		cw := ts.demoLogin(t, worker)
		var list struct {
			Contacts []struct {
				ContactID  int64  `json:"contact_id"`
				ResidentID int64  `json:"resident_id"`
				Status     string `json:"status"`
				Case       string `json:"case"`
			} `json:"contacts"`
		}
		accessBefore := count(t, d, "access_log")
		cw.get("/api/v1/contacts?status=pending").want(t, http.StatusOK, "follow-up list").json(t, &list)
		if len(list.Contacts) != 1 || list.Contacts[0].ResidentID != contactID || list.Contacts[0].Case != traces.Traces[0].Pseudonym {
			t.Fatalf("follow-up list %+v", list)
		}
		if count(t, d, "access_log") != accessBefore+1 {
			t.Errorf("listing a contact was not logged")
		}
		cw.get("/api/v1/contacts?status=nonsense").invalid(t, "status", "bad status filter")
		id := strconv.FormatInt(list.Contacts[0].ContactID, 10)
		cw.post("/api/v1/contacts/"+id+"/follow-up", map[string]string{"status": "maybe"}).invalid(t, "status", "bad follow-up")
		cw.post("/api/v1/contacts/"+id+"/follow-up", map[string]string{"status": "called", "note": "at home, feels well"}).
			want(t, http.StatusNoContent, "follow-up")
		cw.get("/api/v1/contacts?status=called").want(t, http.StatusOK, "called").json(t, &list)
		if len(list.Contacts) != 1 {
			t.Errorf("after the call: %+v", list)
		}
		html := cw.get("/staff/contacts").html(t, http.StatusOK, "follow-up page")
		// Staff read the evidence about the person, not the words to them.
		mustContain(t, "follow-up page", html, "Lotus Noodles", "data-testid=\"followup\"", "此人于")
		mustNotContain(t, "follow-up page", html, "您于")
		// The auditor's check covers the contacts a tracing's entry commits
		// to: one edited in the database breaks it.
		var rep audit.Report
		auditor := ts.demoLogin(t, "auditor-1")
		auditor.get("/api/v1/audit/verify").want(t, http.StatusOK, "verify").json(t, &rep)
		if !rep.OK {
			t.Fatalf("chain: %+v", rep)
		}
		if _, err := db.Exec(ctx, d.W, "UPDATE contacts SET evidence = 'nowhere' WHERE resident_id = ?", contactID); err != nil {
			t.Fatal(err)
		}
		auditor.get("/api/v1/audit/verify").want(t, http.StatusOK, "verify").json(t, &rep)
		if rep.OK || rep.BrokenAt == 0 {
			t.Errorf("chain after a traced contact was edited: %+v", rep)
		}
	})
}
