package healthcode_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/i18n"
)

// latinWord is a word of Latin letters: English, a field name, a code.
var latinWord = regexp.MustCompile(`[A-Za-z]{2,}`)

// TestHistoryInTheReadersLanguage: what the platform records about a
// person — its own causes (a declaration, a tracing, a rule set, a risk
// area), the colours, the inputs — is worded in the reader's language from
// message keys, never shown as the English recorded or as stored field
// names; traced evidence speaks to the holder ("you", "您") and about the
// person to staff ("the person", "此人").
func TestHistoryInTheReadersLanguage(t *testing.T) {
	ctx := context.Background()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	zh, en := cat.For("zh"), cat.For("en")
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		me := f.actor(t, "resident-1")
		epi := f.actor(t, "epidemiologist-1")
		if _, err := f.svc.Declare(ctx, me, me.ResidentID, healthcode.Declaration{TemperatureC: 36.6, Symptoms: []string{"cough"}, LocationCode: "420106001"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.AddTest(ctx, f.actor(t, "lab-1"), me.ResidentID, healthcode.TestResult{Kind: "pcr", Result: "negative", SampledOn: f.today(),
			Change: healthcode.Change{Reason: "例行检测", LegalBasis: "传染病防治法"}}); err != nil {
			t.Fatal(err)
		}
		// Traced by a case's tracing, with the evidence tracing words.
		err := d.InTx(ctx, func(tx *db.Tx) error {
			traceID, err := db.InsertID(ctx, tx, `INSERT INTO traces (case_id, pseudonym, infectious_from, infectious_until,
				quarantine_at, close_count, secondary_count, traced_at) VALUES (?, 'C0001', 0, 1, 1, 1, 0, ?) RETURNING id`, me.ResidentID+1, f.now.UTC())
			if err != nil {
				return err
			}
			cause := healthcode.Because("contact tracing of a case (confirmed) C0001", "history.cause.trace", "Case", "C0001")
			ids, err := f.svc.AddTraced(ctx, tx, epi, me.ResidentID+1, traceID, []healthcode.TracedContact{{ResidentID: me.ResidentID, Kind: "close",
				ExposedOn: f.today().AddDays(-2), Evidence: "you were at Jiefang Road Market on 8 Feb from 10:05 to 10:35, at the same time as case C0001",
				EvidenceZH: "您于2月8日10:05至10:35在解放路市场，与病例C0001同时在场", Detail: []byte("{}")}}, cause)
			if err != nil {
				return err
			}
			return f.svc.RecomputeIDs(ctx, tx, epi, ids, cause)
		})
		if err != nil {
			t.Fatal(err)
		}
		c, err := f.svc.Code(ctx, me.ResidentID)
		if err != nil || c.Colour != "red" {
			t.Fatalf("after the tracing: %+v, %v", c, err)
		}
		for _, tc := range []struct {
			l             *i18n.Localizer
			reader        healthcode.Reader
			person, other string
		}{
			{zh, healthcode.Holder, "您于2月8日", "此人于"},
			{zh, healthcode.Staff, "此人于2月8日", "您于2月8日"},
			{en, healthcode.Holder, "you were at Jiefang Road Market", "the person was"},
			{en, healthcode.Staff, "the person was at Jiefang Road Market", "you were at"},
		} {
			v, err := f.svc.View(ctx, c, tc.l, tc.reader)
			if err != nil {
				t.Fatal(err)
			}
			if len(v.History) < 4 {
				t.Fatalf("history: %+v", v.History)
			}
			var all []string
			for _, h := range v.History {
				if h.Summary == "" {
					t.Errorf("%s, %v: entry %s has no summary", tc.l.Lang, tc.reader, h.Kind)
				}
				all = append(all, h.Summary, h.Why)
				if tc.l.Lang == "zh" {
					for _, s := range []string{h.Summary, h.Why} {
						if w := latinWord.FindString(strings.ReplaceAll(s, "C0001", "")); w != "" {
							t.Errorf("zh history of a %s entry shows %q: %q", h.Kind, w, s)
						}
					}
				}
			}
			for _, r := range v.Reasons {
				all = append(all, r.Text)
			}
			text := strings.Join(all, "\n")
			if !strings.Contains(text, tc.person) || strings.Contains(text, tc.other) {
				t.Errorf("%s, reader %v: the evidence should read %q, not %q:\n%s", tc.l.Lang, tc.reader, tc.person, tc.other, text)
			}
			if tc.l.Lang == "en" && (!strings.Contains(text, "Green → Red") && !strings.Contains(text, "Yellow → Red")) {
				t.Errorf("en history lacks the colours worded:\n%s", text)
			}
			if tc.l.Lang == "zh" && !strings.Contains(text, "健康申报") {
				t.Errorf("zh history lacks the declaration's cause:\n%s", text)
			}
		}
	})
}
