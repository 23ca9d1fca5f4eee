package healthcode_test

import (
	"context"
	"errors"
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
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/list"
	"github.com/outbreak-platform/outbreak/internal/notify"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/rules"
	"github.com/outbreak-platform/outbreak/internal/validation"
	"github.com/outbreak-platform/outbreak/internal/vault"
)

type fixture struct {
	d        *db.DB
	svc      *healthcode.Service
	accounts account.Store
	now      time.Time
}

func setup(t *testing.T, d *db.DB) *fixture { return setupResidents(t, d, 200) }

func setupResidents(t *testing.T, d *db.DB, residents int) *fixture {
	t.Helper()
	ctx := context.Background()
	v, _ := vault.New(make([]byte, 32))
	js, rs, as := jurisdiction.NewStore(d), resident.NewStore(d, v), account.NewStore(d)
	if _, err := demo.Generate(ctx, demo.Stores{DB: d, Jurisdictions: js, Residents: rs, Accounts: as,
		Params: account.Params{Memory: 64, Time: 1, Threads: 1}}, demo.Options{Residents: residents, Seed: 2020}); err != nil {
		t.Fatal(err)
	}
	def, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	active, _ := rules.NewActive(def)
	f := &fixture{d: d, accounts: as, now: time.Date(2020, 2, 10, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))}
	f.svc = &healthcode.Service{DB: d, Store: healthcode.NewStore(d), Residents: rs, Jurisdictions: js, Rules: active,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return f.now }}
	return f
}

func (f *fixture) actor(t *testing.T, username string) rbac.Actor {
	t.Helper()
	a, err := f.accounts.GetByUsername(context.Background(), username)
	if err != nil {
		t.Fatal(err)
	}
	return a.Actor()
}

func (f *fixture) today() civil.Date { return civil.Of(f.now) }

func TestDeclareThenContactThenGreenAgain(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		me := f.actor(t, "resident-1")
		epi := f.actor(t, "epidemiologist-1")

		if _, err := f.svc.Code(ctx, me.ResidentID); !errors.Is(err, healthcode.ErrNoCode) {
			t.Fatalf("code before any declaration: %v", err)
		}
		// Bad input: nothing stored.
		_, err := f.svc.Declare(ctx, me, me.ResidentID, healthcode.Declaration{TemperatureC: 50, LocationCode: "420106001"})
		if ve, ok := validation.As(err); !ok || ve.Fields[0].Field != "temperature_c" {
			t.Fatalf("impossible temperature: %v", err)
		}
		c, err := f.svc.Declare(ctx, me, me.ResidentID, healthcode.Declaration{TemperatureC: 36.5, LocationCode: "420106001"})
		if err != nil || c.Colour != "green" {
			t.Fatalf("first declaration: %+v, %v", c, err)
		}

		// A resident cannot declare for a stranger, only for their dependents.
		if _, err := f.svc.Declare(ctx, me, me.ResidentID+50, healthcode.Declaration{TemperatureC: 36.5, LocationCode: "420106001"}); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("declaring for a stranger: %v", err)
		}

		exposed := f.today().AddDays(-2)
		c, err = f.svc.AddContact(ctx, epi, me.ResidentID, healthcode.Contact{Kind: "close", ExposedOn: exposed,
			Evidence: "Jiefang Road Market on 2020-02-08 10:05–10:40", Change: healthcode.Change{Reason: "traced from case 17", LegalBasis: "Infectious Diseases Law art. 31"}})
		if err != nil || c.Colour != "red" {
			t.Fatalf("close contact: %+v, %v", c, err)
		}
		e, err := healthcode.ExplanationOf(c)
		if err != nil || len(e.Reasons) == 0 || !strings.Contains(e.Reasons[0].Text[rules.LangEN], "Jiefang Road Market") {
			t.Fatalf("explanation: %+v, %v", e, err)
		}
		if c.GreenOn != exposed.AddDays(14) {
			t.Errorf("green on %s, want %s", c.GreenOn, exposed.AddDays(14))
		}

		// The audit chain holds the input change and both colour changes, and is intact.
		es, err := audit.About(ctx, d, me.ResidentID, 10)
		if err != nil || len(es) != 3 || es[0].Kind != audit.ColourChange || es[1].Kind != audit.InputChange || es[1].ActorName != "epidemiologist-1" {
			t.Fatalf("audit entries: %+v, %v", es, err)
		}
		if rep, err := audit.Verify(ctx, d, nil); err != nil || !rep.OK {
			t.Fatalf("chain: %+v, %v", rep, err)
		}

		// Fourteen days on, declaring daily and with a negative test, it is green by itself.
		for day := 1; day <= 14; day++ {
			f.now = f.now.Add(24 * time.Hour)
			if _, err := f.svc.Declare(ctx, me, me.ResidentID, healthcode.Declaration{TemperatureC: 36.6, LocationCode: "420106001"}); err != nil {
				t.Fatal(err)
			}
		}
		lab := f.actor(t, "lab-1")
		c, err = f.svc.AddTest(ctx, lab, me.ResidentID, healthcode.TestResult{Kind: "pcr", Result: "negative", SampledOn: f.today().AddDays(-1)})
		if err != nil {
			t.Fatal(err)
		}
		if c.Colour != "green" {
			e, _ := healthcode.ExplanationOf(c)
			t.Fatalf("after quarantine: %s, %+v", c.Colour, e)
		}
	})
}

func TestOverrideAppealAndScope(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		me := f.actor(t, "resident-1") // lives in Wuchang (420106)
		epi := f.actor(t, "epidemiologist-1")
		if _, err := f.svc.Declare(ctx, me, me.ResidentID, healthcode.Declaration{TemperatureC: 36.5, LocationCode: "420106001"}); err != nil {
			t.Fatal(err)
		}
		// An override needs a real reason.
		_, err := f.svc.SetOverride(ctx, epi, me.ResidentID, healthcode.Override{Colour: "red", Until: f.today().AddDays(3),
			Change: healthcode.Change{Reason: "travel", LegalBasis: "x"}})
		if _, ok := validation.As(err); !ok {
			t.Fatalf("override with a short reason: %v", err)
		}
		c, err := f.svc.SetOverride(ctx, epi, me.ResidentID, healthcode.Override{Colour: "red", Until: f.today().AddDays(3),
			Change: healthcode.Change{Reason: "positive result reported by phone, lab record pending", LegalBasis: "Infectious Diseases Law art. 39"}})
		if err != nil || c.Colour != "red" || c.RuleColour != "green" || c.OverrideReason.String == "" {
			t.Fatalf("override: %+v, %v", c, err)
		}
		// A community worker may not override; the checkpoint neither.
		if _, err := f.svc.SetOverride(ctx, f.actor(t, "checkpoint-1"), me.ResidentID, healthcode.Override{Colour: "green", Until: f.today(),
			Change: healthcode.Change{Reason: "let me through please", LegalBasis: "none"}}); !errors.Is(err, fault.ErrForbidden) {
			t.Fatalf("checkpoint override: %v", err)
		}
		// Out of scope: epidemiologist-2 works in Wuchang; a Jiang'an resident is not found.
		// The holder appeals; the epidemiologist answers; both are in the chain.
		id, err := f.svc.FileAppeal(ctx, me, me.ResidentID, "I was not called and have no symptoms.")
		if err != nil {
			t.Fatal(err)
		}
		opened, err := healthcode.Appeals(ctx, d, epi.ScopePath, true, list.Page{Limit: 10})
		open := opened.Items
		if err != nil || len(open) != 1 || opened.Total != 1 || open[0].ID != id || open[0].Colour != "red" {
			t.Fatalf("open appeals: %+v, %v", opened, err)
		}
		if err := f.svc.AnswerAppeal(ctx, epi, id, "The override ends when the lab record arrives."); err != nil {
			t.Fatal(err)
		}
		if answered, err := healthcode.Appeals(ctx, d, epi.ScopePath, false, list.First); err != nil || answered.Total != 1 {
			t.Fatalf("answered appeals: %+v, %v", answered, err)
		}
		if still, err := healthcode.Appeals(ctx, d, epi.ScopePath, true, list.First); err != nil || still.Total != 0 {
			t.Fatalf("open appeals after the answer: %+v, %v", still, err)
		}
		if err := f.svc.AnswerAppeal(ctx, epi, id, "twice answered"); err == nil {
			t.Fatal("answered twice")
		}
		// The override lapses after its last day.
		f.now = f.now.Add(4 * 24 * time.Hour)
		if _, err := f.svc.Declare(ctx, me, me.ResidentID, healthcode.Declaration{TemperatureC: 36.5, LocationCode: "420106001"}); err != nil {
			t.Fatal(err)
		}
		c, err = f.svc.Code(ctx, me.ResidentID)
		if err != nil || c.Colour != "green" || c.OverrideColour.Valid {
			t.Fatalf("after the override lapsed: %+v, %v", c, err)
		}
		kinds := map[string]int{}
		es, _ := audit.About(ctx, d, me.ResidentID, 50)
		for _, e := range es {
			kinds[e.Kind]++
		}
		if kinds[audit.Override] != 1 || kinds[audit.Appeal] != 2 || kinds[audit.ColourChange] != 2 {
			t.Fatalf("audit kinds = %v", kinds)
		}
	})
}

func TestRiskAreaRecomputesEveryone(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		me := f.actor(t, "resident-1")
		other := f.actor(t, "resident-5")
		for _, a := range []rbac.Actor{me, other} {
			if _, err := f.svc.Declare(ctx, a, a.ResidentID, healthcode.Declaration{TemperatureC: 36.5, LocationCode: "420106001",
				Visits: []healthcode.Visit{{RegionCode: "420102", On: f.today().AddDays(-1)}}}); err != nil {
				t.Fatal(err)
			}
		}
		commander := f.actor(t, "commander-1")
		if _, err := f.svc.SetRiskArea(ctx, f.actor(t, "epidemiologist-1"), healthcode.RiskArea{JurisdictionCode: "420102", Level: "high",
			From: f.today().AddDays(-3), Change: healthcode.Change{Reason: "cluster", LegalBasis: "b"}}); !errors.Is(err, fault.ErrForbidden) {
			t.Fatalf("epidemiologist sets risk: %v", err)
		}
		job, err := f.svc.SetRiskArea(ctx, commander, healthcode.RiskArea{JurisdictionCode: "420102", Level: "high",
			From: f.today().AddDays(-3), Change: healthcode.Change{Reason: "cluster at a market", LegalBasis: "Emergency Response Law art. 44"}})
		if err != nil {
			t.Fatal(err)
		}
		for job.Status().Finished == nil {
			time.Sleep(10 * time.Millisecond)
		}
		st := job.Status()
		if st.Error != "" || st.Changed != 2 || st.Percent != 100 {
			t.Fatalf("job = %+v", st)
		}
		if strings.Contains(st.Cause, "420102") || !strings.Contains(st.Cause, "risk level of ") {
			t.Fatalf("job cause %q: the area by its name, not its code", st.Cause)
		}
		c, _ := f.svc.Code(ctx, me.ResidentID)
		e, _ := healthcode.ExplanationOf(c)
		if c.Colour != "yellow" || len(e.Reasons) == 0 || !strings.Contains(e.Reasons[0].Text[rules.LangEN], "Jiang'an") {
			t.Fatalf("after the risk change: %s %+v", c.Colour, e.Reasons)
		}
	})
}

func TestPurge(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		me := f.actor(t, "resident-1")
		if _, err := f.svc.Declare(ctx, me, me.ResidentID, healthcode.Declaration{TemperatureC: 36.5, LocationCode: "420106001",
			Visits: []healthcode.Visit{{RegionCode: "420102", On: f.today()}}}); err != nil {
			t.Fatal(err)
		}
		f.now = f.now.Add(29 * 24 * time.Hour)
		n, err := f.svc.Purge(ctx, 28*24*time.Hour)
		if err != nil || n != 1 {
			t.Fatalf("purge = %d, %v", n, err)
		}
		var left int
		db.Get(ctx, d.R, &left, "SELECT (SELECT count(*) FROM declarations) + (SELECT count(*) FROM declaration_visits)")
		if left != 0 {
			t.Fatalf("%d rows left after purge", left)
		}
		var purges int
		db.Get(ctx, d.R, &purges, "SELECT count(*) FROM audit_log WHERE kind = 'purge'")
		if purges != 1 {
			t.Fatalf("purge entries = %d", purges)
		}
	})
}

func TestReminders(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		me := f.actor(t, "resident-1")
		sender := &notify.LogSender{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Keep: 10}
		if n, err := f.svc.Remind(ctx, sender); err != nil || n != 0 {
			t.Fatalf("nobody declared yet: %d, %v", n, err)
		}
		if _, err := f.svc.Declare(ctx, me, me.ResidentID, healthcode.Declaration{TemperatureC: 36.5, LocationCode: "420106001"}); err != nil {
			t.Fatal(err)
		}
		if due, err := f.svc.DeclarationDue(ctx, me.ResidentID); due || err != nil {
			t.Fatalf("due right after declaring: %v", err)
		}
		f.now = f.now.Add(30 * time.Hour)
		if due, err := f.svc.DeclarationDue(ctx, me.ResidentID); !due || err != nil {
			t.Fatalf("not due after 30 hours: %v", err)
		}
		n, err := f.svc.Remind(ctx, sender)
		if err != nil || n != 1 || len(sender.Sent()) != 1 || !strings.HasPrefix(sender.Sent()[0].To, "1") {
			t.Fatalf("remind = %d, %v, %+v", n, err, sender.Sent())
		}
	})
}

func TestRuleChange(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		me := f.actor(t, "resident-1")
		// A declaration with 37.1 °C: green under the default (fever from 37.3 °C).
		if c, err := f.svc.Declare(ctx, me, me.ResidentID, healthcode.Declaration{TemperatureC: 37.1, LocationCode: "420106001"}); err != nil || c.Colour != "green" {
			t.Fatalf("declare: %+v, %v", c, err)
		}
		stricter := strings.Replace(string(rules.DefaultYAML()), `version: "default-2020.1"`, "version: \"strict-1\"\nfever_threshold_c: 37.0", 1)
		rep, err := f.svc.DryRun(ctx, []byte(stricter))
		if err != nil || rep.Total != 1 || rep.Changed != 1 {
			t.Fatalf("dry run: %+v, %v", rep, err)
		}
		if c, _ := f.svc.Code(ctx, me.ResidentID); c.Colour != "green" {
			t.Fatal("a dry run changed a code")
		}
		commander := f.actor(t, "commander-1")
		_, err = f.svc.ApplyRuleSet(ctx, commander, []byte("version: broken\nrules:\n  - id: x\n    colour: purple\n"), healthcode.Change{})
		var pe *rules.ParseError
		if !errors.As(err, &pe) || f.svc.Rules.Get().Version() != "default-2020.1" {
			t.Fatalf("broken file: %v, in force %s", err, f.svc.Rules.Get().Version())
		}
		job, err := f.svc.ApplyRuleSet(ctx, commander, []byte(stricter), healthcode.Change{Reason: "fever from 37.0 °C", LegalBasis: "health commission notice"})
		if err != nil {
			t.Fatal(err)
		}
		for job.Status().Finished == nil {
			time.Sleep(10 * time.Millisecond)
		}
		c, _ := f.svc.Code(ctx, me.ResidentID)
		if c.Colour != "yellow" || c.RuleVersion != "strict-1" {
			t.Fatalf("after the rule change: %s under %s", c.Colour, c.RuleVersion)
		}
		if src, _ := healthcode.RuleSource(ctx, d); !strings.Contains(src, "strict-1") {
			t.Fatal("rule set not recorded")
		}
		// The rules in force again: nothing to do, nothing written.
		if job, err := f.svc.ApplyRuleSet(ctx, commander, []byte(stricter), healthcode.Change{}); err != nil || job != nil {
			t.Fatalf("the rules in force applied again: %v, %v", job, err)
		}
		wantRuleSets(t, d, 1, "strict-1")
	})
}

// wantRuleSets checks that the store holds n rule files, as many rule-set
// audit entries, and that version is what comes into force at a restart.
func wantRuleSets(t *testing.T, d *db.DB, n int, version string) {
	t.Helper()
	ctx := context.Background()
	var files, entries int
	if err := db.Get(ctx, d.R, &files, "SELECT count(*) FROM rule_sets"); err != nil {
		t.Fatal(err)
	}
	if err := db.Get(ctx, d.R, &entries, "SELECT count(*) FROM audit_log WHERE kind = 'rule_set'"); err != nil {
		t.Fatal(err)
	}
	if files != n || entries != n {
		t.Errorf("%d rule files and %d rule-set entries stored; want %d", files, entries, n)
	}
	if rs, err := healthcode.LoadRules(ctx, d); err != nil || rs.Version() != version {
		t.Errorf("at a restart: %v, %v; want %s", rs, err, version)
	}
}

// TestRefusedRuleFilesWriteNothing: a rule file that is refused is refused
// before anything is written — no rule file, no audit entry, nothing that
// comes into force at the next start — and as a conflict when its version is
// taken.
func TestRefusedRuleFilesWriteNothing(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		commander := f.actor(t, "commander-1")
		def := string(rules.DefaultYAML())
		// The default's version, with other rules, while the default is in force.
		sameVersion := strings.Replace(def, "declaration_overdue_hours: 36", "declaration_overdue_hours: 24", 1)
		if sameVersion == def {
			t.Fatal("the default file changed; adjust the test")
		}
		_, err := f.svc.ApplyRuleSet(ctx, commander, []byte(sameVersion), healthcode.Change{})
		if !errors.Is(err, rules.ErrVersionInUse) || fault.KindOf(err) != fault.Conflict {
			t.Fatalf("the version in force with other rules: %v", err)
		}
		wantRuleSets(t, d, 0, "default-2020.1")
		// The default's own file again is no change.
		if job, err := f.svc.ApplyRuleSet(ctx, commander, rules.DefaultYAML(), healthcode.Change{}); err != nil || job != nil {
			t.Fatalf("the default in force applied again: %v, %v", job, err)
		}
		wantRuleSets(t, d, 0, "default-2020.1")

		v2 := strings.Replace(def, `version: "default-2020.1"`, `version: "v2"`, 1)
		job, err := f.svc.ApplyRuleSet(ctx, commander, []byte(v2), healthcode.Change{})
		if err != nil || job == nil {
			t.Fatalf("v2: %v, %v", job, err)
		}
		for job.Status().Finished == nil {
			time.Sleep(10 * time.Millisecond)
		}
		wantRuleSets(t, d, 1, "v2")
		v3 := strings.Replace(def, `version: "default-2020.1"`, `version: "v3"`, 1)
		if _, err := f.svc.ApplyRuleSet(ctx, commander, []byte(v3), healthcode.Change{}); err != nil {
			t.Fatal(err)
		}
		wantRuleSets(t, d, 2, "v3")
		for _, tc := range []struct {
			what, src string
			want      error
		}{
			{"a version applied before, with its rules", v2, healthcode.ErrVersionUsed},
			{"a version applied before, with other rules", strings.Replace(v2, "declaration_overdue_hours: 36", "declaration_overdue_hours: 24", 1), healthcode.ErrVersionUsed},
			{"the built-in default's version, with other rules", sameVersion, healthcode.ErrVersionUsed},
			{"the version in force, with other rules", strings.Replace(v3, "declaration_overdue_hours: 36", "declaration_overdue_hours: 24", 1), rules.ErrVersionInUse},
		} {
			_, err := f.svc.ApplyRuleSet(ctx, commander, []byte(tc.src), healthcode.Change{})
			if !errors.Is(err, tc.want) || fault.KindOf(err) != fault.Conflict {
				t.Errorf("%s: %v; want %v", tc.what, err, tc.want)
			}
			if f.svc.Rules.Get().Version() != "v3" {
				t.Fatalf("%s: %s in force", tc.what, f.svc.Rules.Get().Version())
			}
		}
		// A broken file and one refused by the checks write nothing either.
		for _, src := range []string{"version: broken\nrules:\n  - id: x\n    colour: purple\n", "version: [\n", ""} {
			var pe *rules.ParseError
			if _, err := f.svc.ApplyRuleSet(ctx, commander, []byte(src), healthcode.Change{}); !errors.As(err, &pe) {
				t.Errorf("%q: %v, want a *rules.ParseError", src, err)
			}
		}
		wantRuleSets(t, d, 2, "v3")
		if _, err := f.svc.ApplyRuleSet(ctx, f.actor(t, "auditor-1"), []byte(v2), healthcode.Change{}); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("an auditor applying rules: %v", err)
		}
	})
}

func TestArrivalFeedsTheRules(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		commander := f.actor(t, "commander-1")
		job, err := f.svc.SetRiskArea(ctx, commander, healthcode.RiskArea{JurisdictionCode: "420102", Level: "high", From: f.today().AddDays(-10),
			Change: healthcode.Change{Reason: "cluster", LegalBasis: "b"}})
		if err != nil {
			t.Fatal(err)
		}
		for job.Status().Finished == nil {
			time.Sleep(10 * time.Millisecond)
		}
		me := f.actor(t, "resident-1")
		c, err := f.svc.Declare(ctx, me, me.ResidentID, healthcode.Declaration{Kind: "arrival", TemperatureC: 36.5, LocationCode: "420106001",
			Origin: "420102", Route: "Metro line 2", ArrivalDate: f.today().AddDays(-1), Transport: "other"})
		if err != nil || c.Colour != "yellow" {
			t.Fatalf("arrival from a high-risk district: %+v, %v", c, err)
		}
	})
}

func TestConfirmedCaseHasNoGreenDay(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		me := f.actor(t, "resident-1")
		c, err := f.svc.SetCaseStatus(ctx, f.actor(t, "epidemiologist-1"), me.ResidentID, healthcode.CaseStatus{Status: "confirmed",
			Since: f.today(), Change: healthcode.Change{Reason: "positive PCR", LegalBasis: "b"}})
		if err != nil || c.Colour != "red" || !c.GreenOn.IsZero() {
			t.Fatalf("confirmed case: %s, green on %s, %v", c.Colour, c.GreenOn, err)
		}
	})
}

// A contact of many cases is evaluated from each kind's latest record: the
// reason quotes the latest exposure, and an earlier one, or a withdrawn or
// older-than-the-window one, is not read.
func TestLatestContactOfEachKind(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		me := f.actor(t, "resident-2")
		epi := f.actor(t, "epidemiologist-1")
		why := healthcode.Change{Reason: "traced from a confirmed case", LegalBasis: "Infectious Diseases Law art. 31"}
		for _, c := range []healthcode.Contact{
			{Kind: "close", ExposedOn: f.today().AddDays(-20), Evidence: "outside the window", Change: why},
			{Kind: "close", ExposedOn: f.today().AddDays(-3), Evidence: "latest close, recorded first", Change: why},
			{Kind: "close", ExposedOn: f.today().AddDays(-6), Evidence: "earlier close", Change: why},
			{Kind: "close", ExposedOn: f.today().AddDays(-3), Evidence: "latest close, recorded last", Change: why},
			{Kind: "secondary", ExposedOn: f.today().AddDays(-1), Evidence: "latest secondary", Change: why},
			{Kind: "secondary", ExposedOn: f.today().AddDays(-4), Evidence: "earlier secondary", Change: why},
		} {
			if _, err := f.svc.AddContact(ctx, epi, me.ResidentID, c); err != nil && c.Evidence != "outside the window" {
				t.Fatal(err)
			}
		}
		in, err := f.svc.Store.InputsOf(ctx, d.R, []int64{me.ResidentID}, f.today().AddDays(-healthcode.Lookback))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range in[me.ResidentID].Contacts {
			got = append(got, c.Evidence)
		}
		if want := []string{"latest secondary", "latest close, recorded last"}; strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("contacts read: %q, want %q", got, want)
		}
		c, err := f.svc.Code(ctx, me.ResidentID)
		if err != nil {
			t.Fatal(err)
		}
		e, err := healthcode.ExplanationOf(c)
		if err != nil || c.Colour != "red" || len(e.Reasons) == 0 || !strings.Contains(e.Reasons[0].Text[rules.LangEN], "latest close, recorded last") {
			t.Fatalf("code %s, explanation %+v, %v", c.Colour, e, err)
		}
	})
}

// TestRecomputeManyInChunks records the contacts of two tracings in one
// transaction, as the tracing service's group commit does — more than a
// chunk of residents each, some contacts of both — and recomputes their
// codes at once: each person's code once, red, with the first tracing's
// cause.
func TestRecomputeManyInChunks(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setupResidents(t, d, 1300)
		epi := f.actor(t, "epidemiologist-1")
		var ids []int64
		if err := db.Select(ctx, d.R, &ids, "SELECT id FROM residents ORDER BY id"); err != nil || len(ids) < 1200 {
			t.Fatalf("%d residents, %v", len(ids), err)
		}
		caseA, caseB := ids[0], ids[1]
		a, b := ids[2:800], ids[600:1200] // 600 to 799 are contacts of both
		traced := func(ids []int64, evidence string) []healthcode.TracedContact {
			cs := make([]healthcode.TracedContact, len(ids))
			for i, id := range ids {
				cs[i] = healthcode.TracedContact{ResidentID: id, Kind: "close", ExposedOn: f.today().AddDays(-2),
					Evidence: evidence, EvidenceZH: evidence, Detail: []byte("{}")}
			}
			return cs
		}
		err := d.InTx(ctx, func(tx *db.Tx) error {
			var rs []healthcode.Recompute
			for _, tr := range []struct {
				caseID int64
				cs     []healthcode.TracedContact
				cause  healthcode.Cause
			}{{caseA, traced(a, "met case A"), healthcode.Cause{Text: "tracing A"}}, {caseB, traced(b, "met case B"), healthcode.Cause{Text: "tracing B"}}} {
				traceID, err := db.InsertID(ctx, tx, `INSERT INTO traces (case_id, pseudonym, infectious_from, infectious_until,
					quarantine_at, close_count, secondary_count, traced_at) VALUES (?, '', 0, 1, 1, ?, 0, ?) RETURNING id`,
					tr.caseID, len(tr.cs), f.now.UTC())
				if err != nil {
					return err
				}
				who, err := f.svc.AddTraced(ctx, tx, epi, tr.caseID, traceID, tr.cs, tr.cause)
				if err != nil {
					return err
				}
				rs = append(rs, healthcode.Recompute{Actor: epi, Cause: tr.cause, IDs: who})
			}
			return f.svc.RecomputeMany(ctx, tx, rs)
		})
		if err != nil {
			t.Fatal(err)
		}
		var changes []struct {
			ResidentID int64  `db:"resident_id"`
			Reason     string `db:"reason"`
		}
		if err := db.Select(ctx, d.R, &changes, "SELECT resident_id, reason FROM audit_log WHERE kind = ? ORDER BY id",
			audit.ColourChange); err != nil {
			t.Fatal(err)
		}
		cause := map[int64]string{}
		for _, c := range changes {
			if _, twice := cause[c.ResidentID]; twice {
				t.Errorf("resident %d: two colour changes", c.ResidentID)
			}
			cause[c.ResidentID], _, _ = strings.Cut(c.Reason, ":")
		}
		for i, id := range ids[2:1200] {
			want := "tracing A"
			if i+2 >= 800 {
				want = "tracing B"
			}
			if cause[id] != want {
				t.Errorf("resident %d: colour change for %q, want %q", id, cause[id], want)
			}
		}
		if len(cause) != 1198 {
			t.Errorf("%d colour changes, want 1198", len(cause))
		}
		for _, id := range []int64{ids[2], ids[700], ids[1199]} {
			c, err := f.svc.Store.Code(ctx, d.R, id)
			if err != nil || c.Colour != "red" {
				t.Errorf("resident %d: code %s, %v", id, c.Colour, err)
			}
		}
		if rep, err := audit.Verify(ctx, d, nil); err != nil || !rep.OK {
			t.Errorf("audit chain: %+v, %v", rep, err)
		}
	})
}

// TestSymptomsHoldTheirDays: symptoms declared without an exposure keep the
// code yellow for their 7 days though the next declaration reports none.
func TestSymptomsHoldTheirDays(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		me := f.actor(t, "resident-1")
		day1 := f.today()
		c, err := f.svc.Declare(ctx, me, me.ResidentID, healthcode.Declaration{TemperatureC: 36.6, Symptoms: []string{"cough"}, LocationCode: "420106001"})
		if err != nil || c.Colour != "yellow" || c.GreenOn != day1.AddDays(7) {
			t.Fatalf("cough on day 1: %+v, %v", c, err)
		}
		for n := 2; n <= 8; n++ {
			f.now = f.now.Add(24 * time.Hour)
			c, err := f.svc.Declare(ctx, me, me.ResidentID, healthcode.Declaration{TemperatureC: 36.6, LocationCode: "420106001"})
			if err != nil {
				t.Fatal(err)
			}
			want := "yellow"
			if n == 8 {
				want = "green"
			}
			if c.Colour != want {
				t.Fatalf("day %d, no symptoms since day 1: %s, want %s", n, c.Colour, want)
			}
			if want == "yellow" {
				e, _ := healthcode.ExplanationOf(c)
				if c.GreenOn != day1.AddDays(7) || len(e.Reasons) != 1 || e.Reasons[0].Facts["declared_on"] != day1.String() {
					t.Fatalf("day %d: green on %s, reasons %+v", n, c.GreenOn, e.Reasons)
				}
			}
		}
	})
}
