package tracing_test

import (
	"context"
	"strings"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
)

// A tracing run's contacts are audited by one entry that commits to them:
// no entry a contact, yet each holder's history shows their contact, and
// verification finds a contact row edited, deleted or forged afterwards.
func TestTracedContactsCommittedByOneEntry(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newSvcWorld(t, d)
		const caseID, a, b, c = 1, 2, 3, 4
		w.checkIn(t, caseID, "shop", feb(8, 10, 0), feb(8, 11, 0), "")
		for _, id := range []int64{a, b, c} {
			w.checkIn(t, id, "shop", feb(8, 10, 0), feb(8, 11, 0), "") // close contacts
		}
		if _, err := w.codes.SetCaseStatus(ctx, w.epi, caseID, healthcode.CaseStatus{Status: "confirmed", Since: civil.Of(w.now),
			Onset: civil.Date{Year: 2020, Month: 2, Day: 8}, Change: healthcode.Change{Reason: "PCR positive",
				LegalBasis: "Law on the Prevention and Control of Infectious Diseases"}}); err != nil {
			t.Fatal(err)
		}
		var perContact, commitments int
		db.Get(ctx, d.R, &perContact, `SELECT count(*) FROM audit_log WHERE kind = 'trace' AND resident_id IN (2, 3, 4)`)
		db.Get(ctx, d.R, &commitments, `SELECT count(*) FROM audit_log WHERE kind = 'trace' AND resident_id IS NULL`)
		if perContact != 0 || commitments != 1 {
			t.Errorf("%d entries about the contacts, %d committing to them; want 0 and 1", perContact, commitments)
		}
		// The holder's history shows the contact, with its evidence, as
		// the entry that committed to it.
		hist, err := healthcode.History(ctx, d, a, 50)
		if err != nil {
			t.Fatal(err)
		}
		var contact, colour *audit.Entry
		for i, e := range hist {
			switch {
			case e.Kind == audit.Trace && strings.Contains(e.After, `"contact":"close"`):
				contact = &hist[i]
			case e.Kind == audit.ColourChange && colour == nil:
				colour = &hist[i]
			}
		}
		if contact == nil || !strings.Contains(contact.After, "Jiefang Road Market") || contact.Reason == "" || contact.ActorName == "" {
			t.Fatalf("history of a contact shows no contact entry: %+v", hist)
		}
		if colour == nil || colour.ID < contact.ID {
			t.Errorf("history: the colour change should come after (above) the contact: %+v", hist)
		}
		rep, err := healthcode.VerifyContacts(ctx, d)
		if err != nil || !rep.OK || rep.Entries != 1 || rep.Contacts != 3 {
			t.Fatalf("verify contacts = %+v, %v", rep, err)
		}
		if rep, err := audit.Verify(ctx, d, nil); err != nil || !rep.OK {
			t.Fatalf("audit chain: %+v %v", rep, err)
		}
		var evidence string
		db.Get(ctx, d.R, &evidence, "SELECT evidence FROM contacts WHERE resident_id = 3")
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.Exec(ctx, d.W, q, args...); err != nil {
				t.Fatal(err)
			}
		}
		// Each tampering is undone before the next; the last is not.
		for _, tc := range []struct {
			name         string
			tamper, undo func()
		}{
			{"edited", func() { exec("UPDATE contacts SET evidence = 'nowhere' WHERE resident_id = 3") },
				func() { exec("UPDATE contacts SET evidence = ? WHERE resident_id = 3", evidence) }},
			{"forged", func() {
				exec(`INSERT INTO contacts (resident_id, kind, exposed_on, evidence, evidence_zh, detail, source_case, trace_id, created_at, audit_id)
					SELECT 5, kind, exposed_on, evidence, evidence_zh, detail, source_case, trace_id, created_at, audit_id FROM contacts WHERE resident_id = 2`)
			}, func() { exec("DELETE FROM contacts WHERE resident_id = 5") }},
			{"deleted", func() {
				exec("DELETE FROM contact_followups WHERE contact_id IN (SELECT id FROM contacts WHERE resident_id = 4)")
				exec("DELETE FROM contacts WHERE resident_id = 4")
			}, nil},
		} {
			tc.tamper()
			if rep, err := healthcode.VerifyContacts(ctx, d); err != nil || rep.OK || rep.Problem == "" {
				t.Errorf("verify contacts after a contact was %s = %+v, %v", tc.name, rep, err)
			}
			if tc.undo != nil {
				tc.undo()
				if rep, err := healthcode.VerifyContacts(ctx, d); err != nil || !rep.OK {
					t.Fatalf("verify contacts once the %s contact was put back = %+v, %v", tc.name, rep, err)
				}
			}
		}
	})
}
