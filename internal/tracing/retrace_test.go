package tracing_test

import (
	"context"
	"database/sql"
	"maps"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/tracing"
)

// history is what a person's code shows of their history: their audit
// entries, and their code as computed.
type history struct {
	entries  int
	contacts []int64 // ids of their contact records not withdrawn
	code     healthcode.Code
}

func (w *svcWorld) history(t *testing.T, id int64) history {
	t.Helper()
	ctx := context.Background()
	var h history
	if err := db.Get(ctx, w.d.R, &h.entries, "SELECT COUNT(*) FROM audit_log WHERE resident_id = ?", id); err != nil {
		t.Fatal(err)
	}
	if err := db.Select(ctx, w.d.R, &h.contacts, "SELECT id FROM contacts WHERE resident_id = ? AND withdrawn_at IS NULL ORDER BY id", id); err != nil {
		t.Fatal(err)
	}
	c, err := w.codes.Store.Code(ctx, w.d.R, id)
	if err != nil {
		t.Fatal(err)
	}
	h.code = c
	return h
}

func (h history) same(o history) bool {
	return h.entries == o.entries && slicesEqual(h.contacts, o.contacts) && h.code.Colour == o.code.Colour &&
		h.code.Explanation == o.code.Explanation && h.code.ComputedAt.Equal(o.code.ComputedAt)
}

func slicesEqual(a, b []int64) bool { return maps.Equal(counts(a), counts(b)) }

func counts(xs []int64) map[int64]int {
	m := map[int64]int{}
	for _, x := range xs {
		m[x]++
	}
	return m
}

// TestRetraceChangesOnlyWhatChanged: a positive lab result for a case
// already confirmed traces it again over a longer window. The contacts found
// again are left as they were — no new history entry, no colour change, not
// even their code rewritten — the newly found one is added, and a forced
// re-trace with nothing new touches nobody; a re-trace that no longer finds
// a contact withdraws only that one.
func TestRetraceChangesOnlyWhatChanged(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newSvcWorld(t, d)
		const caseID, a, e, f = 1, 2, 5, 6
		w.checkIn(t, caseID, "shop", feb(8, 10, 0), feb(8, 10, 40), "")
		w.checkIn(t, a, "shop", feb(8, 10, 5), feb(8, 10, 35), "")                                               // close
		w.checkIn(t, a, "restaurant", feb(9, 12, 0), feb(9, 13, 0), "")                                          //
		w.checkIn(t, e, "restaurant", feb(9, 12, 10), feb(9, 12, 50), "")                                        // met A: secondary
		w.checkIn(t, caseID, "train", feb(7, 1, 0), feb(7, 4, 0), "08")                                          // before the first window
		w.checkIn(t, f, "train", feb(7, 1, 0), feb(7, 4, 0), "8")                                                // close once the window grows
		confirmed := healthcode.CaseStatus{Status: "confirmed", Since: civil.Date{Year: 2020, Month: 2, Day: 8}, // no onset, no test: from the 8th
			Change: healthcode.Change{Reason: "confirmed by CDC", LegalBasis: "Law on the Prevention and Control of Infectious Diseases"}}
		if _, err := w.codes.SetCaseStatus(ctx, w.epi, caseID, confirmed); err != nil {
			t.Fatal(err)
		}
		if got, _ := w.colour(t, f); got != "none" {
			t.Fatalf("the train contact before the window grows: %s", got)
		}
		before := map[int64]history{a: w.history(t, a), e: w.history(t, e)}
		if before[a].code.Colour != "red" || before[e].code.Colour != "yellow" {
			t.Fatalf("contacts: a %s, e %s", before[a].code.Colour, before[e].code.Colour)
		}
		w.now = w.now.Add(3600e9) // an hour later

		lab := w.epi
		lab.Role = rbac.LabTechnician
		if _, err := w.codes.AddTest(ctx, lab, caseID, healthcode.TestResult{Kind: "pcr", Result: "positive",
			SampledOn: civil.Date{Year: 2020, Month: 2, Day: 7}}); err != nil { // from the 7th
			t.Fatal(err)
		}
		ts, err := w.svc.Traces(ctx, caseID)
		if err != nil || len(ts) != 2 || ts[0].Close != 2 || ts[0].Secondary != 1 {
			t.Fatalf("the positive test did not trace the case again over a longer window: %+v, %v", ts, err)
		}
		for id, h := range before {
			if after := w.history(t, id); !h.same(after) {
				t.Errorf("resident %d, found again as before, changed: %+v → %+v", id, h, after)
			}
		}
		if got, _ := w.colour(t, f); got != "red" {
			t.Errorf("the contact the longer window found: %s", got)
		}
		var pending int
		db.Get(ctx, d.R, &pending, "SELECT COUNT(*) FROM contact_followups WHERE status = 'pending'")
		if pending != 3 {
			t.Errorf("%d follow-ups pending, want 3 (one each)", pending)
		}

		// Traced again by hand with nothing new: nobody's history moves.
		before = map[int64]history{a: w.history(t, a), e: w.history(t, e), f: w.history(t, f)}
		if _, err := w.svc.Retrace(ctx, w.epi, caseID); err != nil {
			t.Fatal(err)
		}
		for id, h := range before {
			if after := w.history(t, id); !h.same(after) {
				t.Errorf("resident %d, re-traced with nothing new, changed: %+v → %+v", id, h, after)
			}
		}

		// The onset is found to be 10 Feb: the window starts on the 8th,
		// after the train ride; the re-trace withdraws that contact alone.
		onset := confirmed
		onset.Onset = civil.Date{Year: 2020, Month: 2, Day: 10}
		onset.Reason = "onset date from the interview"
		before = map[int64]history{a: w.history(t, a), e: w.history(t, e)}
		if _, err := w.codes.SetCaseStatus(ctx, w.epi, caseID, onset); err != nil {
			t.Fatal(err)
		}
		if ts, _ := w.svc.Traces(ctx, caseID); len(ts) != 4 || ts[0].Close != 1 {
			t.Fatalf("the onset did not trace the case again: %+v", ts)
		}
		for id, h := range before {
			if after := w.history(t, id); !h.same(after) {
				t.Errorf("resident %d, re-traced without f, changed: %+v → %+v", id, h, after)
			}
		}
		if got, _ := w.colour(t, f); got != "green" {
			t.Errorf("the contact no longer found: %s", got)
		}
	})
}

// TestFollowUpEvidenceAboutThePerson: the staff who follow a contact up read
// the evidence about the person, not the words written to them.
func TestFollowUpEvidenceAboutThePerson(t *testing.T) {
	f := tracing.FollowUp{Evidence: "you were at Jiefang Road Market on 8 Feb from 10:05 to 10:35, at the same time as case C0001",
		EvidenceZH: sql.NullString{String: "您于2月8日10:05至10:35在解放路市场，与病例C0001同时在场", Valid: true}}
	if got := f.EvidenceIn("en"); got != "the person was at Jiefang Road Market on 8 Feb from 10:05 to 10:35, at the same time as case C0001" {
		t.Errorf("en: %q", got)
	}
	if got := f.EvidenceIn("zh"); got != "此人于2月8日10:05至10:35在解放路市场，与病例C0001同时在场" {
		t.Errorf("zh: %q", got)
	}
}
