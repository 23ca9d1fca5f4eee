package rules

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/civil"
)

// Days in these tests are counted from day 0, 2020-02-03, in China
// Standard Time.
var (
	cst  = time.FixedZone("CST", 8*60*60)
	day0 = civil.Date{Year: 2020, Month: time.February, Day: 3}
)

func on(n int) civil.Date { return day0.AddDays(n) }

// at is 10:00 on day n.
func at(n int) time.Time {
	d := on(n)
	return time.Date(d.Year, d.Month, d.Day, 10, 0, 0, 0, cst)
}

// declaredOn is an unremarkable declaration sent on day n.
func declaredOn(n int) *Declaration { return &Declaration{At: at(n), TemperatureC: 36.6} }

func feverOn(n int, c float64, symptoms ...string) *Declaration {
	return &Declaration{At: at(n), TemperatureC: c, Symptoms: symptoms}
}

func pcr(n int, r TestResult) Test { return Test{Kind: TestPCR, Result: r, SampledOn: on(n)} }

func closeContact(n int) Contact {
	return Contact{Kind: ContactClose, ExposedOn: on(n), Evidence: "Jiefang Road Market on 2020-02-03 10:05–10:40"}
}

func secondaryContact(n int) Contact {
	return Contact{Kind: ContactSecondary, ExposedOn: on(n), Evidence: "household of a close contact"}
}

func visit(n int, risk RiskLevel) Visit {
	return Visit{RegionCode: "420106", RegionName: "Wuchang", Risk: risk, On: on(n)}
}

type evalCase struct {
	name    string
	facts   Facts
	colour  Colour
	rules   []string        // rule ids of the reasons, in order
	greenOn civil.Date      // zero when green
	conds   []ConditionKind // kinds of the conditions, in order
	check   func(*testing.T, Outcome)
}

func runEvalCases(t *testing.T, rs *RuleSet, cases []evalCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := Evaluate(rs, tc.facts)
			if o.Colour != tc.colour {
				t.Errorf("colour = %s, want %s (reasons %v)", o.Colour, tc.colour, ruleIDs(o))
			}
			if got := ruleIDs(o); !slices.Equal(got, tc.rules) {
				t.Errorf("reasons = %v, want %v", got, tc.rules)
			}
			if o.GreenOn != tc.greenOn {
				t.Errorf("GreenOn = %s, want %s", o.GreenOn, tc.greenOn)
			}
			var kinds []ConditionKind
			for _, c := range o.Conditions {
				kinds = append(kinds, c.Kind)
			}
			if !slices.Equal(kinds, tc.conds) {
				t.Errorf("conditions = %v, want %v", kinds, tc.conds)
			}
			if c := colourOf(rs, &tc.facts); c != o.Colour {
				t.Errorf("colourOf = %s, Evaluate = %s", c, o.Colour)
			}
			if o.RuleSetVersion != rs.Version() {
				t.Errorf("RuleSetVersion = %q, want %q", o.RuleSetVersion, rs.Version())
			}
			if tc.check != nil {
				tc.check(t, o)
			}
		})
	}
}

func ruleIDs(o Outcome) []string {
	var ids []string
	for _, r := range o.Reasons {
		ids = append(ids, r.RuleID)
	}
	return ids
}

func defaultRules(t testing.TB) *RuleSet {
	t.Helper()
	rs, err := Default()
	if err != nil {
		t.Fatalf("default rule set: %v", err)
	}
	return rs
}

const (
	declare  = ConditionDeclare
	negTest  = ConditionNegativeTest
	whileTru = ConditionWhileTrue
)

// TestDefaultPolicy has one case per clause of the default policy and per
// release condition.
func TestDefaultPolicy(t *testing.T) {
	cases := []evalCase{
		// Green otherwise.
		{name: "no facts: green", facts: Facts{Now: at(0)}, colour: Green},
		{name: "typical resident: green", colour: Green, facts: Facts{Now: at(0),
			LatestDeclaration: declaredOn(0), Visits: []Visit{visit(-1, RiskLow)}, Tests: []Test{pcr(-3, TestNegative)}}},

		// Red: confirmed case.
		{name: "confirmed case: red whatever the dates and tests", colour: Red, greenOn: on(30),
			rules: []string{"confirmed-case"}, conds: []ConditionKind{whileTru},
			facts: Facts{Now: at(30), CaseStatus: CaseConfirmed, CaseSince: on(0),
				LatestDeclaration: declaredOn(30), Tests: []Test{pcr(20, TestNegative)}}},

		// Red: suspected case; released by 14 days, a declaration and a negative PCR.
		{name: "suspected case: red during quarantine", colour: Red, greenOn: on(14),
			rules: []string{"suspected-case"}, conds: []ConditionKind{declare, negTest},
			facts: Facts{Now: at(5), CaseStatus: CaseSuspected, CaseSince: on(0)}},
		{name: "suspected case: green on day 14 with declaration and negative PCR", colour: Green,
			facts: Facts{Now: at(14), CaseStatus: CaseSuspected, CaseSince: on(0),
				LatestDeclaration: declaredOn(14), Tests: []Test{pcr(13, TestNegative)}}},
		{name: "suspected case: red on day 14 without a test", colour: Red, greenOn: on(14),
			rules: []string{"suspected-case"}, conds: []ConditionKind{negTest},
			facts: Facts{Now: at(14), CaseStatus: CaseSuspected, CaseSince: on(0), LatestDeclaration: declaredOn(14)}},
		{name: "suspected case: a test sampled on the case date does not count", colour: Red, greenOn: on(14),
			rules: []string{"suspected-case"}, conds: []ConditionKind{negTest},
			facts: Facts{Now: at(14), CaseStatus: CaseSuspected, CaseSince: on(0),
				LatestDeclaration: declaredOn(14), Tests: []Test{pcr(0, TestNegative)}}},
		{name: "suspected case: a later positive test outweighs a negative one", colour: Red, greenOn: on(14),
			rules: []string{"suspected-case"}, conds: []ConditionKind{negTest},
			facts: Facts{Now: at(14), CaseStatus: CaseSuspected, CaseSince: on(0),
				LatestDeclaration: declaredOn(14), Tests: []Test{pcr(10, TestNegative), pcr(12, TestPositive)}}},
		{name: "suspected case: a positive test the same day as the negative keeps it red", colour: Red, greenOn: on(14),
			rules: []string{"suspected-case"}, conds: []ConditionKind{negTest},
			facts: Facts{Now: at(14), CaseStatus: CaseSuspected, CaseSince: on(0),
				LatestDeclaration: declaredOn(14), Tests: []Test{pcr(12, TestNegative), pcr(12, TestPositive)}}},
		{name: "suspected case: an antibody test is not a PCR test", colour: Red, greenOn: on(14),
			rules: []string{"suspected-case"}, conds: []ConditionKind{negTest},
			facts: Facts{Now: at(14), CaseStatus: CaseSuspected, CaseSince: on(0), LatestDeclaration: declaredOn(14),
				Tests: []Test{{Kind: TestAntibody, Result: TestNegative, SampledOn: on(12)}}}},
		{name: "asymptomatic infection: not in the default policy", colour: Green,
			facts: Facts{Now: at(1), CaseStatus: CaseAsymptomatic, CaseSince: on(0)}},
		{name: "recovered: green", colour: Green,
			facts: Facts{Now: at(1), CaseStatus: CaseRecovered, CaseSince: on(0)}},

		// Red: close contact within 14 days; released by 14 days, a
		// declaration and a negative PCR.
		{name: "close contact exposed on day 0: red on day 0", colour: Red, greenOn: on(14),
			rules: []string{"close-contact"}, conds: []ConditionKind{declare, negTest},
			facts: Facts{Now: at(0), Contacts: []Contact{closeContact(0)}}},
		{name: "close contact: red on day 13 even when tested and declared", colour: Red, greenOn: on(14),
			rules: []string{"close-contact"}, conds: []ConditionKind{declare},
			facts: Facts{Now: at(13), Contacts: []Contact{closeContact(0)},
				LatestDeclaration: declaredOn(13), Tests: []Test{pcr(12, TestNegative)}}},
		{name: "close contact: green on day 14 when declared and tested negative", colour: Green,
			facts: Facts{Now: at(14), Contacts: []Contact{closeContact(0)},
				LatestDeclaration: declaredOn(14), Tests: []Test{pcr(12, TestNegative)}}},
		{name: "close contact: red on day 14 without a negative test", colour: Red, greenOn: on(14),
			rules: []string{"close-contact"}, conds: []ConditionKind{negTest},
			facts: Facts{Now: at(14), Contacts: []Contact{closeContact(0)}, LatestDeclaration: declaredOn(14)}},
		{name: "close contact: red on day 14 without a declaration since day 14", colour: Red, greenOn: on(14),
			rules: []string{"close-contact"}, conds: []ConditionKind{declare},
			facts: Facts{Now: at(14), Contacts: []Contact{closeContact(0)},
				LatestDeclaration: declaredOn(13), Tests: []Test{pcr(12, TestNegative)}}},
		{name: "close contact: still red on day 40 when never tested", colour: Red, greenOn: on(40),
			rules: []string{"close-contact"}, conds: []ConditionKind{negTest},
			facts: Facts{Now: at(40), Contacts: []Contact{closeContact(0)}, LatestDeclaration: declaredOn(40)}},
		{name: "close contact: quarantine counts from the latest exposure", colour: Red, greenOn: on(19),
			rules: []string{"close-contact"}, conds: []ConditionKind{declare},
			facts: Facts{Now: at(14), Contacts: []Contact{closeContact(0), closeContact(5)},
				LatestDeclaration: declaredOn(14), Tests: []Test{pcr(13, TestNegative)}}},
		{name: "close contact without a date: counted from today", colour: Red, greenOn: on(24),
			rules: []string{"close-contact"}, conds: []ConditionKind{declare, negTest},
			facts: Facts{Now: at(10), Contacts: []Contact{{Kind: ContactClose}}}},
		{name: "close contact: today is the day of Now in Now's zone", colour: Green,
			// 2020-02-16 23:30 UTC is 2020-02-17 (day 14) in China.
			facts: Facts{Now: time.Date(2020, 2, 16, 23, 30, 0, 0, time.UTC).In(cst), Contacts: []Contact{closeContact(0)},
				LatestDeclaration: &Declaration{At: time.Date(2020, 2, 16, 17, 0, 0, 0, time.UTC), TemperatureC: 36.5},
				Tests:             []Test{pcr(12, TestNegative)}}},
		{name: "close contact: the same moment in UTC is still day 13", colour: Red, greenOn: on(14),
			rules: []string{"close-contact"}, conds: []ConditionKind{declare},
			facts: Facts{Now: time.Date(2020, 2, 16, 23, 30, 0, 0, time.UTC), Contacts: []Contact{closeContact(0)},
				LatestDeclaration: &Declaration{At: time.Date(2020, 2, 16, 17, 0, 0, 0, time.UTC), TemperatureC: 36.5},
				Tests:             []Test{pcr(12, TestNegative)}}},

		// Red: fever with an exposure.
		{name: "fever 37.3 with a secondary contact: red", colour: Red, greenOn: on(16),
			rules: []string{"fever-with-exposure", "secondary-contact"}, conds: []ConditionKind{declare},
			facts: Facts{Now: at(4), Contacts: []Contact{secondaryContact(2)}, LatestDeclaration: feverOn(4, 37.3)}},
		{name: "fever symptom with declared contact with a case: red", colour: Red, greenOn: on(18),
			rules: []string{"fever-with-exposure"}, conds: []ConditionKind{declare},
			facts: Facts{Now: at(4), LatestDeclaration: &Declaration{At: at(4), TemperatureC: 36.8,
				Symptoms: []string{SymptomFever}, ContactWithCase: true}}},
		{name: "37.2 is not a fever: secondary contact alone is yellow", colour: Yellow, greenOn: on(9),
			rules: []string{"secondary-contact"}, conds: []ConditionKind{declare},
			facts: Facts{Now: at(4), Contacts: []Contact{secondaryContact(2)}, LatestDeclaration: feverOn(4, 37.2)}},
		{name: "fever after a released exposure: yellow, symptoms without exposure", colour: Yellow, greenOn: on(27),
			rules: []string{"symptoms-without-exposure"}, conds: []ConditionKind{declare},
			facts: Facts{Now: at(20), Contacts: []Contact{secondaryContact(0)}, LatestDeclaration: feverOn(20, 38)}},

		// Yellow: secondary contact; released by 7 days and a declaration.
		{name: "secondary contact: yellow for 7 days", colour: Yellow, greenOn: on(7),
			rules: []string{"secondary-contact"}, conds: []ConditionKind{declare},
			facts: Facts{Now: at(3), Contacts: []Contact{secondaryContact(0)}}},
		{name: "secondary contact: green on day 7 once declared, no test needed", colour: Green,
			facts: Facts{Now: at(7), Contacts: []Contact{secondaryContact(0)}, LatestDeclaration: declaredOn(7)}},
		{name: "secondary contact: yellow after day 7 until declared", colour: Yellow, greenOn: on(9),
			rules: []string{"secondary-contact"}, conds: []ConditionKind{declare},
			facts: Facts{Now: at(9), Contacts: []Contact{secondaryContact(0)}, LatestDeclaration: declaredOn(6)}},

		// Yellow: high-risk area in the last 7 days, medium-risk in the last 14.
		{name: "visited a high-risk area 3 days ago: yellow until visit+7", colour: Yellow, greenOn: on(7),
			rules: []string{"visited-high-risk"}, conds: []ConditionKind{declare},
			facts: Facts{Now: at(3), Visits: []Visit{visit(0, RiskHigh)}, LatestDeclaration: declaredOn(3)}},
		{name: "visited a high-risk area 8 days ago: green", colour: Green,
			facts: Facts{Now: at(8), Visits: []Visit{visit(0, RiskHigh)}, LatestDeclaration: declaredOn(8)}},
		{name: "visited a high-risk area 8 days ago, not declared since: yellow", colour: Yellow, greenOn: on(8),
			rules: []string{"visited-high-risk"}, conds: []ConditionKind{declare},
			facts: Facts{Now: at(8), Visits: []Visit{visit(0, RiskHigh)}, LatestDeclaration: declaredOn(5)}},
		{name: "visited a medium-risk area 10 days ago: yellow until visit+14", colour: Yellow, greenOn: on(14),
			rules: []string{"visited-medium-risk"}, conds: []ConditionKind{declare},
			facts: Facts{Now: at(10), Visits: []Visit{visit(0, RiskMedium)}, LatestDeclaration: declaredOn(10)}},
		{name: "visited a medium-risk area 14 days ago: green", colour: Green,
			facts: Facts{Now: at(14), Visits: []Visit{visit(0, RiskMedium)}, LatestDeclaration: declaredOn(14)}},
		{name: "visited a high-risk area 10 days ago: green, high risk counts 7 days", colour: Green,
			facts: Facts{Now: at(10), Visits: []Visit{visit(0, RiskHigh)}, LatestDeclaration: declaredOn(10)}},
		{name: "visited a low-risk area yesterday: green", colour: Green,
			facts: Facts{Now: at(1), Visits: []Visit{visit(0, RiskLow)}, LatestDeclaration: declaredOn(1)}},
		{name: "the latest of several visits decides", colour: Yellow, greenOn: on(16),
			rules: []string{"visited-medium-risk"}, conds: []ConditionKind{declare},
			facts: Facts{Now: at(10), Visits: []Visit{visit(2, RiskMedium), visit(0, RiskMedium), visit(1, RiskMedium)}}},

		// Yellow: fever or respiratory symptoms without an exposure.
		{name: "cough without exposure: yellow for 7 days from the declaration", colour: Yellow, greenOn: on(12),
			rules: []string{"symptoms-without-exposure"}, conds: []ConditionKind{declare},
			facts: Facts{Now: at(5), LatestDeclaration: feverOn(5, 36.6, SymptomCough)}},
		{name: "fever 38 without exposure: yellow", colour: Yellow, greenOn: on(12),
			rules: []string{"symptoms-without-exposure"}, conds: []ConditionKind{declare},
			facts: Facts{Now: at(5), LatestDeclaration: feverOn(5, 38)}},
		{name: "cough 13 days after an exposure: the exposure still counts, green", colour: Green,
			facts: Facts{Now: at(13), Contacts: []Contact{secondaryContact(0)}, LatestDeclaration: feverOn(13, 36.6, SymptomCough)}},
		{name: "cough 14 days after an exposure: the exposure no longer counts, yellow", colour: Yellow, greenOn: on(21),
			rules: []string{"symptoms-without-exposure"}, conds: []ConditionKind{declare},
			facts: Facts{Now: at(14), Contacts: []Contact{secondaryContact(0)}, LatestDeclaration: feverOn(14, 36.6, SymptomCough)}},
		// Symptoms hold their 7 days when later declarations report none.
		{name: "cough on day 1, none on day 2: still yellow until day 8", colour: Yellow, greenOn: on(8),
			rules: []string{"symptoms-without-exposure"}, conds: []ConditionKind{declare},
			facts: Facts{Now: at(2), LatestDeclaration: declaredOn(2), Declarations: []Declaration{*declaredOn(2), *feverOn(1, 36.6, SymptomCough)}},
			check: func(t *testing.T, o Outcome) {
				if f := o.Reasons[0].Facts; f["declared_on"] != on(1).String() || f["symptoms"] != SymptomCough {
					t.Errorf("facts of the reason: %v; want the day-1 declaration", f)
				}
				if txt := o.Reasons[0].Text[LangEN]; !strings.Contains(txt, "cough") || !strings.Contains(txt, on(1).String()) {
					t.Errorf("reason: %q", txt)
				}
			}},
		{name: "cough on day 1, none since: yellow on day 7", colour: Yellow, greenOn: on(8),
			rules: []string{"symptoms-without-exposure"}, conds: []ConditionKind{declare},
			facts: Facts{Now: at(7), LatestDeclaration: declaredOn(7), Declarations: []Declaration{*declaredOn(7), *declaredOn(2), *feverOn(1, 36.6, SymptomCough)}}},
		{name: "cough on day 1, none since: green on day 8 once declared", colour: Green,
			facts: Facts{Now: at(8), LatestDeclaration: declaredOn(8), Declarations: []Declaration{*declaredOn(8), *declaredOn(2), *feverOn(1, 36.6, SymptomCough)}}},
		{name: "fever 38 on day 1 by temperature, 36.6 on day 3: yellow until day 8", colour: Yellow, greenOn: on(8),
			rules: []string{"symptoms-without-exposure"}, conds: []ConditionKind{declare},
			facts: Facts{Now: at(3), LatestDeclaration: declaredOn(3), Declarations: []Declaration{*declaredOn(3), *feverOn(1, 38)}}},
		{name: "cough on days 1 and 4: the latest counts, yellow until day 11", colour: Yellow, greenOn: on(11),
			rules: []string{"symptoms-without-exposure"}, conds: []ConditionKind{declare},
			facts: Facts{Now: at(9), LatestDeclaration: declaredOn(9), Declarations: []Declaration{*declaredOn(9), *feverOn(4, 36.6, SymptomCough), *feverOn(1, 36.6, SymptomCough)}}},
		{name: "fatigue and diarrhoea are not respiratory: green", colour: Green,
			facts: Facts{Now: at(5), LatestDeclaration: feverOn(5, 36.6, SymptomFatigue, SymptomDiarrhoea)}},
		{name: "loss of taste and smell alone: green", colour: Green,
			facts: Facts{Now: at(5), LatestDeclaration: feverOn(5, 36.6, SymptomLossOfTasteSmell, "headache")}},

		// Yellow: declaration overdue; lasts exactly while overdue.
		{name: "declaration 36 hours overdue: yellow", colour: Yellow, greenOn: on(5),
			rules: []string{"declaration-overdue"}, conds: []ConditionKind{whileTru},
			facts: Facts{Now: at(5), DeclarationDueHours: 36}},
		{name: "declaration 35 hours overdue: green", colour: Green,
			facts: Facts{Now: at(5), DeclarationDueHours: 35}},

		// Several rules: most severe first, file order within a colour.
		{name: "close contact, medium-risk visit and overdue declaration", colour: Red, greenOn: on(15),
			rules: []string{"close-contact", "visited-medium-risk", "declaration-overdue"},
			conds: []ConditionKind{declare, negTest, whileTru},
			facts: Facts{Now: at(3), Contacts: []Contact{closeContact(1)}, Visits: []Visit{visit(1, RiskMedium)},
				DeclarationDueHours: 40}},
	}
	runEvalCases(t, defaultRules(t), cases)
}

// TestReleaseKeys covers the release keys the default file does not use.
func TestReleaseKeys(t *testing.T) {
	rs, err := Load("testdata/valid/after-quarantine.yaml")
	if err != nil {
		t.Fatal(err)
	}
	centralised := &Quarantine{Kind: QuarantineCentralised, Start: on(0), End: on(13)}
	cases := []evalCase{
		{name: "counted from the quarantine end, days set by the rule", colour: Yellow, greenOn: on(20),
			rules: []string{"after-centralised-quarantine"}, conds: []ConditionKind{negTest},
			facts: Facts{Now: at(15), Quarantine: centralised},
			check: func(t *testing.T, o Outcome) {
				c := o.Conditions[0]
				if c.TestKind != "any" || c.Date != on(0) {
					t.Errorf("test condition = %s after %s, want any after the quarantine start %s", c.TestKind, c.Date, on(0))
				}
			}},
		{name: "any kind of negative test sampled after the quarantine start releases", colour: Green,
			facts: Facts{Now: at(20), Quarantine: centralised,
				Tests: []Test{{Kind: TestAntibody, Result: TestNegative, SampledOn: on(5)}}}},
		{name: "served but no test: still yellow", colour: Yellow, greenOn: on(20),
			rules: []string{"after-centralised-quarantine"}, conds: []ConditionKind{negTest},
			facts: Facts{Now: at(20), Quarantine: centralised}},
		{name: "home quarantine is not listed", colour: Green,
			facts: Facts{Now: at(15), Quarantine: &Quarantine{Kind: QuarantineHome, Start: on(0), End: on(13)}}},
		{name: "recovered: monitored 14 days", colour: Yellow, greenOn: on(14),
			rules: []string{"recovered-monitoring"}, conds: []ConditionKind{declare, negTest},
			facts: Facts{Now: at(10), CaseStatus: CaseRecovered, CaseSince: on(0)}},
		{name: "recovered: released on day 14", colour: Green,
			facts: Facts{Now: at(14), CaseStatus: CaseRecovered, CaseSince: on(0),
				LatestDeclaration: declaredOn(14), Tests: []Test{pcr(12, TestNegative)}}},
		{name: "fever threshold set by the file: 37.4 is no fever", colour: Green,
			facts: Facts{Now: at(3), Visits: []Visit{visit(1, RiskHigh)}, LatestDeclaration: feverOn(3, 37.4)}},
		{name: "fever 37.5 after a high-risk visit: red for 3 days", colour: Red, greenOn: on(6),
			rules: []string{"fever-and-travel"},
			facts: Facts{Now: at(3), Visits: []Visit{visit(1, RiskHigh)}, LatestDeclaration: feverOn(3, 37.5)}},
		{name: "not/exposure false: fever with a declared contact", colour: Red, greenOn: on(6),
			rules: []string{"fever-and-travel"},
			facts: Facts{Now: at(3), LatestDeclaration: &Declaration{At: at(3), TemperatureC: 38, ContactWithCase: true}},
			check: func(t *testing.T, o Outcome) {
				// The visit branch did not match, so {region} has no value.
				if want := "Fever (38.0 °C) after visiting ?."; o.Reasons[0].Text[LangEN] != want {
					t.Errorf("text = %q, want %q", o.Reasons[0].Text[LangEN], want)
				}
			}},
		{name: "fever rule ends 3 days after the declaration", colour: Green,
			facts: Facts{Now: at(6), Visits: []Visit{visit(1, RiskHigh)}, LatestDeclaration: feverOn(3, 37.5)}},
	}
	runEvalCases(t, rs, cases)
}

func TestExplanations(t *testing.T) {
	rs := defaultRules(t)
	tests := []struct {
		name   string
		facts  Facts
		facts2 map[string]string // expected Reasons[0].Facts
		zh, en string
	}{
		{
			name:  "visit",
			facts: Facts{Now: at(3), Visits: []Visit{visit(0, RiskHigh)}},
			facts2: map[string]string{"region": "Wuchang", "region_code": "420106", "risk": "high",
				"visited_on": "2020-02-03", "date": "2020-02-03", "days": "7", "green_on": "2020-02-10"},
			zh: "您于2020-02-03到访Wuchang（高风险地区）。隔离期至2020-02-10。",
			en: "You visited Wuchang, high risk, on 2020-02-03. Quarantine until 2020-02-10.",
		},
		{
			name:  "close contact",
			facts: Facts{Now: at(1), Contacts: []Contact{closeContact(0)}},
			facts2: map[string]string{"contact": "close", "exposed_on": "2020-02-03", "date": "2020-02-03", "days": "14",
				"evidence": "Jiefang Road Market on 2020-02-03 10:05–10:40", "green_on": "2020-02-17"},
			zh: "您是病例的密切接触者（Jiefang Road Market on 2020-02-03 10:05–10:40），接触日期2020-02-03。隔离期至2020-02-17，期满后需有核酸阴性结果并完成申报。",
			en: "You are a close contact of a case (Jiefang Road Market on 2020-02-03 10:05–10:40), exposed on 2020-02-03. Quarantine until 2020-02-17; after that a negative PCR test and your health declaration are needed.",
		},
		{
			name:  "symptoms in the reader's language",
			facts: Facts{Now: at(0), LatestDeclaration: feverOn(0, 36.5, SymptomShortnessOfBreath, SymptomCough)},
			facts2: map[string]string{"symptoms": "cough,shortness_of_breath", "temperature": "36.5", "declared_on": "2020-02-03",
				"date": "2020-02-03", "days": "7", "green_on": "2020-02-10"},
			zh: "您2020-02-03申报了症状：咳嗽、呼吸困难。请居家观察至2020-02-10，每日申报，必要时就医。",
			en: "You declared symptoms on 2020-02-03: cough, shortness of breath. Stay at home until 2020-02-10, declare daily and see a doctor if needed.",
		},
		{
			name:  "declared contact with a case",
			facts: Facts{Now: at(0), LatestDeclaration: &Declaration{At: at(0), TemperatureC: 38.2, ContactWithCase: true}},
			facts2: map[string]string{"contact": "declared", "exposed_on": "2020-02-03", "evidence": "declared contact with a case",
				"symptoms": "fever", "temperature": "38.2", "declared_on": "2020-02-03", "date": "2020-02-03", "days": "14", "green_on": "2020-02-17"},
			zh: "您2020-02-03申报发热（体温38.2°C），且2020-02-03有暴露史（本人申报接触过病例）。隔离期至2020-02-17。",
			en: "You declared a fever on 2020-02-03 (temperature 38.2 °C) after an exposure on 2020-02-03 (declared contact with a case). Quarantine until 2020-02-17.",
		},
		{
			name:   "confirmed case",
			facts:  Facts{Now: at(2), CaseStatus: CaseConfirmed, CaseSince: on(0)},
			facts2: map[string]string{"status": "confirmed", "since": "2020-02-03", "green_on": "2020-02-05"},
			zh:     "您自2020-02-03起登记为确诊病例。医疗机构登记治愈出院前，健康码保持红色。",
			en:     "You have been registered as a confirmed case since 2020-02-03. The code stays red until a clinician records your recovery.",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := Evaluate(rs, tc.facts)
			if len(o.Reasons) == 0 {
				t.Fatalf("no reasons, colour %s", o.Colour)
			}
			r := o.Reasons[0]
			if !reflect.DeepEqual(r.Facts, tc.facts2) {
				t.Errorf("facts = %v\nwant    %v", r.Facts, tc.facts2)
			}
			if r.Text[LangZH] != tc.zh {
				t.Errorf("zh = %q\nwant %q", r.Text[LangZH], tc.zh)
			}
			if r.Text[LangEN] != tc.en {
				t.Errorf("en = %q\nwant %q", r.Text[LangEN], tc.en)
			}
			// Told again later, from the facts alone (a code's history).
			for _, l := range Langs {
				if got, ok := rs.Explain(r.RuleID, l, r.Facts); !ok || got != r.Text[l] {
					t.Errorf("Explain(%s, %s) = %q, %v; want %q", r.RuleID, l, got, ok, r.Text[l])
				}
			}
		})
	}
	if got, ok := rs.Explain("no-such-rule", LangZH, nil); ok {
		t.Errorf("Explain of an unknown rule = %q", got)
	}
	if got, ok := rs.Explain("confirmed-case", "fr", nil); ok {
		t.Errorf("Explain in an unknown language = %q", got)
	}
}

func TestConditionTexts(t *testing.T) {
	o := Evaluate(defaultRules(t), Facts{Now: at(3), Contacts: []Contact{closeContact(0)}})
	want := []Condition{
		{Kind: ConditionDeclare, Date: on(14), Text: map[Lang]string{
			LangZH: "请每日申报健康状况，直至2020-02-17，并于当日或之后再申报一次。",
			LangEN: "Send a health declaration every day until 2020-02-17, and once on or after that day.",
		}},
		{Kind: ConditionNegativeTest, Date: on(0), TestKind: "pcr", Text: map[Lang]string{
			LangZH: "需有2020-02-03之后采样的核酸检测阴性结果。",
			LangEN: "A negative PCR (nucleic acid) test sampled after 2020-02-03 must be on record.",
		}},
	}
	if !reflect.DeepEqual(o.Conditions, want) {
		t.Errorf("conditions = %+v\nwant %+v", o.Conditions, want)
	}
}

func TestEvaluateIsDeterministic(t *testing.T) {
	rs := defaultRules(t)
	f := Facts{Now: at(3), Contacts: []Contact{closeContact(1), secondaryContact(2)},
		Visits: []Visit{visit(1, RiskMedium), visit(2, RiskHigh)}, LatestDeclaration: feverOn(3, 38, SymptomCough),
		DeclarationDueHours: 50}
	first := Evaluate(rs, f)
	for range 20 {
		if again := Evaluate(rs, f); !reflect.DeepEqual(first, again) {
			t.Fatalf("second evaluation differs:\n%+v\n%+v", first, again)
		}
	}
}

func TestDayArithmetic(t *testing.T) {
	for _, d := range []civil.Date{{Year: 1970, Month: 1, Day: 1}, {Year: 2020, Month: 2, Day: 29},
		{Year: 2000, Month: 12, Day: 31}, {Year: 1600, Month: 3, Day: 1}, {Year: -1, Month: 1, Day: 1}, {Year: 9999, Month: 12, Day: 31}} {
		for _, n := range []int{-400, -1, 0, 1, 30, 365, 1000} {
			want := d.AddDays(n)
			got := (dayOf(d) + day(n)).date()
			if got != want {
				t.Errorf("%v + %d = %v, want %v", d, n, got, want)
			}
		}
	}
	if got := formatDay(dayOf(civil.Date{Year: 2020, Month: 2, Day: 3})); got != "2020-02-03" {
		t.Errorf("formatDay = %q", got)
	}
}

// TestRulesDoc keeps docs/RULES.md in step with the vocabulary.
func TestRulesDoc(t *testing.T) {
	doc, err := os.ReadFile("../../docs/RULES.md")
	if err != nil {
		t.Fatal(err)
	}
	var words []string
	words = append(words, predicates...)
	words = append(words, combinators...)
	words = append(words, releaseKeys...)
	words = append(words, anchorNames[1:]...)
	words = append(words, keyNames[1:]...)
	words = append(words, symptomWords.words...)
	words = append(words, "within_days", "fever_threshold_c", "quarantine_days", "version")
	for _, w := range words {
		if !strings.Contains(string(doc), "`"+w+"`") && !strings.Contains(string(doc), "`{"+w+"}`") {
			t.Errorf("docs/RULES.md does not describe `%s`", w)
		}
	}
	for _, r := range defaultRules(t).Rules() {
		if !strings.Contains(string(doc), "`"+r.ID+"`") {
			t.Errorf("docs/RULES.md does not describe the default rule `%s`", r.ID)
		}
	}
}
