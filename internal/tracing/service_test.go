package tracing_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/demo"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/rules"
	"github.com/outbreak-platform/outbreak/internal/tracing"
	"github.com/outbreak-platform/outbreak/internal/vault"
)

var cst = time.FixedZone("CST", 8*3600)

type svcWorld struct {
	d      *db.DB
	codes  *healthcode.Service
	svc    *tracing.Service
	store  *tracing.Store
	epi    rbac.Actor
	now    time.Time
	places map[string]int64
}

func newSvcWorld(t *testing.T, d *db.DB) *svcWorld {
	t.Helper()
	ctx := context.Background()
	v, _ := vault.New(make([]byte, 32))
	js, rs, as := jurisdiction.NewStore(d), resident.NewStore(d, v), account.NewStore(d)
	if _, err := demo.Generate(ctx, demo.Stores{DB: d, Jurisdictions: js, Residents: rs, Accounts: as,
		Params: account.Params{Memory: 64, Time: 1, Threads: 1}}, demo.Options{Residents: 60, Seed: 2020}); err != nil {
		t.Fatal(err)
	}
	def, _ := rules.Default()
	active, _ := rules.NewActive(def)
	w := &svcWorld{d: d, now: time.Date(2020, 2, 10, 9, 0, 0, 0, cst), places: map[string]int64{}}
	now := func() time.Time { return w.now }
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w.codes = &healthcode.Service{DB: d, Store: healthcode.NewStore(d), Residents: rs, Jurisdictions: js, Rules: active, Log: log, Now: now}
	kinds := &tracing.PlaceKinds{DB: d}
	var err error
	if w.store, err = tracing.NewStore(d, kinds, tracing.DefaultPolicy()); err != nil {
		t.Fatal(err)
	}
	if w.svc, err = tracing.NewService(d, w.store, w.codes, kinds, tracing.DefaultPolicy(), log, now); err != nil {
		t.Fatal(err)
	}
	w.codes.Tracer = w.svc
	a, err := as.GetByUsername(ctx, "epidemiologist-1")
	if err != nil {
		t.Fatal(err)
	}
	w.epi = a.Actor()
	var jid, by int64
	if err := db.Get(ctx, d.R, &jid, "SELECT MIN(id) FROM jurisdictions"); err != nil {
		t.Fatal(err)
	}
	if err := db.Get(ctx, d.R, &by, "SELECT MIN(id) FROM accounts"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ typ, name, service string }{
		{"shop", "Jiefang Road Market", ""}, {"restaurant", "Lotus Noodles", ""},
		{"compound_entrance", "Donghu Garden gate", ""}, {"train", "G1234", "G1234"},
	} {
		kind, svc, lat := "venue", any(nil), any(30.59)
		if p.service != "" {
			kind, svc, lat = "vehicle", p.service, nil
		}
		id, err := db.InsertID(ctx, d.W, `INSERT INTO places (kind, type, name, address, latitude, longitude, jurisdiction_id,
			service_number, created_by, created_at) VALUES (?, ?, ?, '', ?, ?, ?, ?, ?, ?) RETURNING id`,
			kind, p.typ, p.name, lat, lat, jid, svc, by, w.now.UTC())
		if err != nil {
			t.Fatal(err)
		}
		w.places[p.typ] = id
	}
	return w
}

// feb is a time in February 2020, in the region.
func feb(day, hour, minute int) int64 { return time.Date(2020, 2, day, hour, minute, 0, 0, cst).Unix() }

func (w *svcWorld) checkIn(t *testing.T, resident int64, placeType string, in, out int64, carriage string) {
	t.Helper()
	_, err := w.store.Ingest(context.Background(), []tracing.CheckIn{{ClientID: fmt.Sprintf("c-%d-%d", in, resident),
		ResidentID: resident, PlaceID: w.places[placeType], TIn: in, TOut: out, Carriage: carriage, Source: tracing.Scan}})
	if err != nil {
		t.Fatal(err)
	}
}

func (w *svcWorld) colour(t *testing.T, id int64) (string, string) {
	t.Helper()
	c, err := w.codes.Code(context.Background(), id)
	if err != nil {
		return "none", ""
	}
	e, _ := healthcode.ExplanationOf(c)
	var texts []string
	for _, r := range e.Reasons {
		texts = append(texts, r.Text[rules.LangEN]+" | "+r.Text[rules.LangZH])
	}
	return c.Colour, strings.Join(texts, "; ")
}

// Confirming a case finds its contacts and turns their codes with the
// evidence; correcting its dates re-traces it; ruling it out withdraws
// everything.
func TestServiceConfirmRetraceWithdraw(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newSvcWorld(t, d)
		const caseID, a, b, dd, e, f, g = 1, 2, 3, 4, 5, 6, 7
		w.checkIn(t, caseID, "shop", feb(8, 10, 0), feb(8, 10, 40), "")
		w.checkIn(t, a, "shop", feb(8, 10, 5), feb(8, 10, 35), "") // 30 min together: close
		w.checkIn(t, b, "shop", feb(8, 10, 30), feb(8, 11, 0), "") // 10 min: not a contact
		w.checkIn(t, caseID, "compound_entrance", feb(8, 9, 0), feb(8, 9, 30), "")
		w.checkIn(t, dd, "compound_entrance", feb(8, 9, 0), feb(8, 9, 30), "") // excluded kind
		w.checkIn(t, a, "restaurant", feb(9, 12, 0), feb(9, 13, 0), "")
		w.checkIn(t, e, "restaurant", feb(9, 12, 10), feb(9, 12, 50), "") // met A: secondary
		w.checkIn(t, caseID, "train", feb(7, 8, 0), feb(7, 11, 0), "08")
		w.checkIn(t, f, "train", feb(7, 8, 0), feb(7, 11, 0), "8") // same carriage: close
		w.checkIn(t, g, "train", feb(7, 8, 0), feb(7, 11, 0), "9") // other carriage

		_, err := w.codes.SetCaseStatus(ctx, w.epi, caseID, healthcode.CaseStatus{Status: "confirmed", Since: civil.Of(w.now),
			Onset: civil.Date{Year: 2020, Month: 2, Day: 8}, Change: healthcode.Change{Reason: "PCR positive, confirmed by CDC", LegalBasis: "Law on the Prevention and Control of Infectious Diseases"}})
		if err != nil {
			t.Fatal(err)
		}
		want := map[int64]string{a: "red", f: "red", e: "yellow", b: "none", dd: "none", g: "none"}
		for id, colour := range want {
			if got, _ := w.colour(t, id); got != colour {
				t.Errorf("resident %d: %s, want %s", id, got, colour)
			}
		}
		_, why := w.colour(t, a)
		for _, s := range []string{"you were at Jiefang Road Market on 8 Feb from 10:05 to 10:35, at the same time as case C0001",
			"您于2月8日10:05至10:35在Jiefang Road Market"} {
			if !strings.Contains(why, s) {
				t.Errorf("close contact's reasons %q lack %q", why, s)
			}
		}
		if _, why := w.colour(t, f); !strings.Contains(why, "on train G1234 (carriage 8)") || !strings.Contains(why, "in the same carriage as case C0001") {
			t.Errorf("train contact's reasons %q", why)
		}
		if _, why := w.colour(t, e); !strings.Contains(why, "a close contact of case C0001") || strings.Contains(why, "resident") {
			t.Errorf("secondary contact's reasons %q", why)
		}
		ts, err := w.svc.Traces(ctx, caseID)
		if err != nil || len(ts) != 1 || ts[0].Close != 2 || ts[0].Secondary != 1 || ts[0].Pseudonym != "C0001" {
			t.Fatalf("traces %+v, %v", ts, err)
		}
		var sites int
		db.Get(ctx, d.R, &sites, "SELECT COUNT(*) FROM exposure_sites WHERE trace_id = ?", ts[0].ID)
		if sites != 2 { // the market and the train; not the compound entrance
			t.Errorf("%d exposure sites, want 2", sites)
		}
		var pending int
		db.Get(ctx, d.R, &pending, "SELECT COUNT(*) FROM contact_followups WHERE status = 'pending'")
		if pending != 3 {
			t.Errorf("%d follow-ups pending, want 3", pending)
		}

		// The same change again: nothing new.
		if err := w.svc.CaseChanged(ctx, w.epi, caseID); err != nil {
			t.Fatal(err)
		}
		if ts, _ := w.svc.Traces(ctx, caseID); len(ts) != 1 {
			t.Errorf("an unchanged case was traced again: %d traces", len(ts))
		}

		// Onset corrected to 10 Feb: the window starts on 8 Feb, after the
		// train ride.
		_, err = w.codes.SetCaseStatus(ctx, w.epi, caseID, healthcode.CaseStatus{Status: "confirmed", Since: civil.Of(w.now),
			Onset: civil.Date{Year: 2020, Month: 2, Day: 10}, Change: healthcode.Change{Reason: "onset date corrected after interview", LegalBasis: "Law on the Prevention and Control of Infectious Diseases"}})
		if err != nil {
			t.Fatal(err)
		}
		ts, _ = w.svc.Traces(ctx, caseID)
		if len(ts) != 2 || ts[1].WithdrawnReason.String != "re-traced" || ts[0].Close != 1 || ts[0].Pseudonym != "C0001" {
			t.Fatalf("after the correction: %+v", ts)
		}
		for id, colour := range map[int64]string{a: "red", f: "green", e: "yellow"} {
			if got, _ := w.colour(t, id); got != colour {
				t.Errorf("after the correction, resident %d: %s, want %s", id, got, colour)
			}
		}

		// Ruled out: every contact withdrawn, codes green, no public sites.
		_, err = w.codes.SetCaseStatus(ctx, w.epi, caseID, healthcode.CaseStatus{Status: "ruled_out", Since: civil.Of(w.now),
			Change: healthcode.Change{Reason: "the positive result was a laboratory mix-up", LegalBasis: "Law on the Prevention and Control of Infectious Diseases"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []int64{a, e, f} {
			if got, _ := w.colour(t, id); got != "green" {
				t.Errorf("after ruling out, resident %d: %s, want green", id, got)
			}
		}
		var live int
		db.Get(ctx, d.R, &live, `SELECT COUNT(*) FROM exposure_sites s JOIN traces t ON t.id = s.trace_id WHERE t.withdrawn_at IS NULL`)
		if live != 0 {
			t.Errorf("%d exposure sites still public after ruling out", live)
		}
		if n, err := w.svc.Sweep(ctx); err != nil || n != 0 {
			t.Errorf("sweep after ruling out traced %d, %v", n, err)
		}
		if n, err := w.svc.PurgeSites(ctx, feb(8, 0, 0)); err != nil || n != 1 { // the train ride, on the 7th
			t.Errorf("purge of sites ended before the market visit: %d, %v", n, err)
		}
		if n, err := w.svc.PurgeSites(ctx, feb(20, 0, 0)); err != nil || n != 2 {
			t.Errorf("purge of every site: %d, %v", n, err)
		}
		if rep, err := audit.Verify(ctx, d, nil); err != nil || !rep.OK {
			t.Errorf("audit chain: %+v %v", rep, err)
		}
		var entries int
		db.Get(ctx, d.R, &entries, "SELECT COUNT(*) FROM audit_log WHERE kind = 'trace'")
		if entries < 3+3+2 {
			t.Errorf("%d trace entries in the audit chain", entries)
		}
	})
}

// A positive test traces a person who is not (yet) a case; the sweep
// catches a case whose tracing never ran.
func TestServicePositiveTestAndSweep(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newSvcWorld(t, d)
		w.checkIn(t, 10, "shop", feb(9, 10, 0), feb(9, 11, 0), "")
		w.checkIn(t, 11, "shop", feb(9, 10, 0), feb(9, 11, 0), "")
		w.checkIn(t, 20, "restaurant", feb(9, 18, 0), feb(9, 19, 0), "")
		w.checkIn(t, 21, "restaurant", feb(9, 18, 0), feb(9, 19, 0), "")
		lab := w.epi
		lab.Role = rbac.LabTechnician
		if _, err := w.codes.AddTest(ctx, lab, 10, healthcode.TestResult{Kind: "pcr", Result: "positive",
			SampledOn: civil.Date{Year: 2020, Month: 2, Day: 9}}); err != nil {
			t.Fatal(err)
		}
		if got, _ := w.colour(t, 11); got != "red" {
			t.Errorf("contact of a positive test: %s", got)
		}
		// A case confirmed without the tracer (another node, an import).
		w.codes.Tracer = nil
		if _, err := w.codes.SetCaseStatus(ctx, w.epi, 20, healthcode.CaseStatus{Status: "confirmed", Since: civil.Of(w.now),
			Onset: civil.Date{Year: 2020, Month: 2, Day: 9}, Change: healthcode.Change{Reason: "confirmed by CDC", LegalBasis: "Law on the Prevention and Control of Infectious Diseases"}}); err != nil {
			t.Fatal(err)
		}
		if got, _ := w.colour(t, 21); got == "red" {
			t.Fatal("traced without a tracer")
		}
		if n, err := w.svc.Sweep(ctx); err != nil || n != 1 {
			t.Fatalf("sweep traced %d, %v", n, err)
		}
		if got, _ := w.colour(t, 21); got != "red" {
			t.Errorf("after the sweep, the contact is %s", got)
		}
		// A node stopped between the two steps: the sweep finds the
		// secondary contacts still pending.
		if _, err := db.Exec(ctx, d.W, "UPDATE traces SET secondary_count = -1"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		var pending int
		db.Get(ctx, d.R, &pending, "SELECT COUNT(*) FROM traces WHERE secondary_count < 0")
		if pending != 0 {
			t.Errorf("%d tracings still pending after the sweep", pending)
		}
	})
}

// A rule set with a new tracing section is followed by the check-in store
// too: a check-in without a check-out stored after the change lasts the new
// dwell, one stored before keeps its own.
func TestStoreFollowsRuleSet(t *testing.T) {
	ctx := context.Background()
	w := newSvcWorld(t, dbtest.SQLite(t))
	w.checkIn(t, 1, "shop", feb(9, 10, 0), 0, "")
	yaml := strings.NewReplacer("shop: {dwell_minutes: 30,", "shop: {dwell_minutes: 45,",
		`version: "default-2020.1"`, `version: "longer-shopping"`).Replace(string(rules.DefaultYAML()))
	if !strings.Contains(yaml, "dwell_minutes: 45") || !strings.Contains(yaml, "longer-shopping") {
		t.Fatal("the default rules have no shop dwell to change")
	}
	if _, err := w.codes.Rules.Swap([]byte(yaml)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Sweep(ctx); err != nil { // what the server runs every minute
		t.Fatal(err)
	}
	w.checkIn(t, 1, "shop", feb(9, 14, 0), 0, "")
	stays, err := w.store.ForResident(ctx, 1, feb(9, 0, 0), feb(10, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, s := range stays {
		got = append(got, (s.TOut-s.TIn)/60)
	}
	if len(got) != 2 || got[0] != 30 || got[1] != 45 {
		t.Fatalf("stays of %v minutes; want [30 45]", got)
	}
}

// Cases confirmed at once are traced side by side and their tracings
// written together: every contact recorded, a contact of two of them
// twice, and every contact's code turned with the evidence.
func TestServiceTraceCases(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newSvcWorld(t, d)
		const cases, shared = 8, 50
		var ids, contacts []int64
		for i := range int64(cases) {
			c, h := i+1, 9+int(i)
			ids = append(ids, c)
			w.checkIn(t, c, "shop", feb(8, h, 0), feb(8, h, 40), "")
			for _, r := range []int64{20 + 2*i, 21 + 2*i} {
				w.checkIn(t, r, "shop", feb(8, h, 5), feb(8, h, 35), "")
				contacts = append(contacts, r)
			}
		}
		w.checkIn(t, shared, "shop", feb(8, 9, 10), feb(8, 10, 35), "") // with cases 1 and 2
		w.codes.Tracer = nil                                            // confirmed, not traced yet
		for _, c := range ids {
			_, err := w.codes.SetCaseStatus(ctx, w.epi, c, healthcode.CaseStatus{Status: "confirmed", Since: civil.Of(w.now),
				Onset: civil.Date{Year: 2020, Month: 2, Day: 8}, Change: healthcode.Change{Reason: "confirmed in bulk by the CDC", LegalBasis: "Law on the Prevention and Control of Infectious Diseases"}})
			if err != nil {
				t.Fatal(err)
			}
		}
		w.codes.Tracer = w.svc
		br, err := w.svc.TraceCases(ctx, w.epi, ids, nil)
		if err != nil {
			t.Fatal(err)
		}
		if br.Traced != cases || br.Close != 2*cases+2 {
			t.Errorf("%+v, want %d cases traced, %d close contacts", br, cases, 2*cases+2)
		}
		for _, r := range append(contacts, shared) {
			if got, _ := w.colour(t, r); got != "red" {
				t.Errorf("contact %d: %s, want red", r, got)
			}
		}
		var pseudonyms []string
		if err := db.Select(ctx, d.R, &pseudonyms, `SELECT t.pseudonym FROM contacts c JOIN traces t ON t.id = c.trace_id
			WHERE c.resident_id = ? ORDER BY t.pseudonym`, shared); err != nil || len(pseudonyms) != 2 {
			t.Fatalf("the shared contact's records: %v, %v", pseudonyms, err)
		}
		if _, why := w.colour(t, shared); !strings.Contains(why, "case "+pseudonyms[0]) && !strings.Contains(why, "case "+pseudonyms[1]) {
			t.Errorf("the shared contact's reasons %q name neither of its cases %v", why, pseudonyms)
		}
		if rep, err := audit.Verify(ctx, d, nil); err != nil || !rep.OK {
			t.Errorf("audit chain: %+v %v", rep, err)
		}
	})
}
