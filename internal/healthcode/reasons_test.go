package healthcode_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/rules"
)

// TestReasonIn: a colour change the rules made is told in the reader's
// language, by the rule set that made it, even after the rules changed; a
// person's words are shown as they were written.
func TestReasonIn(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		me := f.actor(t, "resident-1")
		epi := f.actor(t, "epidemiologist-1")
		latest := func(kind string) audit.Entry {
			t.Helper()
			es, err := audit.About(ctx, d, me.ResidentID, 50)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es { // newest first
				if e.Kind == kind {
					return e
				}
			}
			t.Fatalf("no %s entry", kind)
			return audit.Entry{}
		}

		if _, err := f.svc.Declare(ctx, me, me.ResidentID, healthcode.Declaration{TemperatureC: 36.5, LocationCode: "420106001"}); err != nil {
			t.Fatal(err)
		}
		green := latest(audit.ColourChange)
		if got := f.svc.ReasonIn(ctx, green, "zh"); got != rules.NoRuleText(rules.LangZH) {
			t.Errorf("green, in zh: %q", got)
		}

		c, err := f.svc.AddContact(ctx, epi, me.ResidentID, healthcode.Contact{Kind: "close", ExposedOn: f.today().AddDays(-2),
			Evidence: "Jiefang Road Market on 2020-02-08 10:05–10:40",
			Change:   healthcode.Change{Reason: "traced from case 17", LegalBasis: "Infectious Diseases Law art. 31"}})
		if err != nil || c.Colour != "red" {
			t.Fatalf("close contact: %+v, %v", c, err)
		}
		x, err := healthcode.ExplanationOf(c)
		if err != nil || len(x.Reasons) != 1 {
			t.Fatalf("explanation: %+v, %v", x, err)
		}
		red := latest(audit.ColourChange)
		zh := x.Reasons[0].Text[rules.LangZH]
		if got := f.svc.ReasonIn(ctx, red, "zh"); got != zh || !strings.Contains(got, "您是病例的密切接触者") || !strings.Contains(got, "Jiefang Road Market") {
			t.Errorf("red, in zh: %q\nwant %q", got, zh)
		}
		// In English, as recorded: with its cause, the epidemiologist's
		// reason, which the contact's own entry shows in any language.
		if got := f.svc.ReasonIn(ctx, red, "en"); got != red.Reason || !strings.HasPrefix(got, "traced from case 17: You are a close contact") {
			t.Errorf("red, in en: %q, recorded %q", got, red.Reason)
		}

		// New rules, worded otherwise: the entry is still told by its own.
		reworded := strings.Replace(string(rules.DefaultYAML()), `version: "default-2020.1"`, `version: "reworded-1"`, 1)
		reworded = strings.Replace(reworded, "您是病例的密切接触者", "经流调判定，您为密切接触者", 1)
		job, err := f.svc.ApplyRuleSet(ctx, f.actor(t, "commander-1"), []byte(reworded), healthcode.Change{Reason: "clearer wording", LegalBasis: "health commission notice"})
		if err != nil {
			t.Fatal(err)
		}
		for job.Status().Finished == nil {
			time.Sleep(10 * time.Millisecond)
		}
		if got := f.svc.ReasonIn(ctx, red, "zh"); got != zh {
			t.Errorf("after the rules changed, the red entry in zh: %q\nwant %q", got, zh)
		}

		// An override's reason is a person's words, as written.
		if _, err := f.svc.SetOverride(ctx, epi, me.ResidentID, healthcode.Override{Colour: "yellow", Until: f.today().AddDays(3),
			Change: healthcode.Change{Reason: "疾控中心复核后降为黄码", LegalBasis: "Infectious Diseases Law art. 39"}}); err != nil {
			t.Fatal(err)
		}
		over := latest(audit.Override)
		if got := f.svc.ReasonIn(ctx, over, "en"); got != over.Reason || !strings.Contains(got, "疾控中心复核后降为黄码") {
			t.Errorf("the override's reason in en: %q, recorded %q", got, over.Reason)
		}
		if got := f.svc.ReasonIn(ctx, over, "zh"); got != over.Reason {
			t.Errorf("the override's reason in zh: %q, recorded %q", got, over.Reason)
		}
	})
}
