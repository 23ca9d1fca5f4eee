package rules

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/civil"
)

// fixedFacts are evaluated under every rule set FuzzParse manages to parse.
var fixedFacts = []Facts{
	{Now: at(0)},
	{Now: at(3), CaseStatus: CaseConfirmed, CaseSince: on(0)},
	{Now: at(14), CaseStatus: CaseSuspected, CaseSince: on(0), LatestDeclaration: declaredOn(14), Tests: []Test{pcr(12, TestNegative)}},
	{Now: at(5), Contacts: []Contact{closeContact(0), secondaryContact(1), {}}, LatestDeclaration: feverOn(5, 38.1, SymptomCough, "x")},
	{Now: at(9), Visits: []Visit{visit(0, RiskHigh), visit(2, RiskMedium), {}}, DeclarationDueHours: 100},
	{Now: at(20), CaseStatus: CaseRecovered, Quarantine: &Quarantine{Kind: QuarantineCentralised, Start: on(0), End: on(13)},
		Tests: []Test{{Kind: TestAntibody, Result: TestNegative, SampledOn: on(5)}, {}}},
}

// checkOutcome checks what every outcome must satisfy.
func checkOutcome(t *testing.T, rs *RuleSet, f Facts, o Outcome) {
	t.Helper()
	switch o.Colour {
	case Green:
		if len(o.Reasons) != 0 || !o.GreenOn.IsZero() || len(o.Conditions) != 0 {
			t.Fatalf("green with reasons %v, GreenOn %v, conditions %v", ruleIDs(o), o.GreenOn, o.Conditions)
		}
	case Yellow, Red:
		if len(o.Reasons) == 0 || o.Reasons[0].Colour != o.Colour {
			t.Fatalf("%s with reasons %v", o.Colour, o.Reasons)
		}
		if dayOf(o.GreenOn) < dayOf(o.On) {
			t.Fatalf("GreenOn %v before On %v", o.GreenOn, o.On)
		}
	default:
		t.Fatalf("colour %q", o.Colour)
	}
	for i, r := range o.Reasons {
		if i > 0 && r.Colour.severity() > o.Reasons[i-1].Colour.severity() {
			t.Fatalf("reasons not most severe first: %v", ruleIDs(o))
		}
		if r.Text[LangZH] == "" || r.Text[LangEN] == "" {
			t.Fatalf("reason %s without text: %v", r.RuleID, r.Text)
		}
		for _, l := range Langs {
			if got, _ := rs.Explain(r.RuleID, l, r.Facts); got != r.Text[l] {
				t.Fatalf("reason %s told again from its facts in %s: %q, want %q", r.RuleID, l, got, r.Text[l])
			}
		}
		if dayOf(r.GreenOn) > dayOf(o.GreenOn) {
			t.Fatalf("reason %s green on %v after the outcome's %v", r.RuleID, r.GreenOn, o.GreenOn)
		}
	}
	if c := colourOf(rs, &f); c != o.Colour {
		t.Fatalf("colourOf = %s, Evaluate = %s", c, o.Colour)
	}
	if o.RuleSetVersion != rs.Version() {
		t.Fatalf("version %q", o.RuleSetVersion)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	for _, name := range append(files, "default.yaml") {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("version: 1\nquarantine_days: {red: 1, yellow: 0}\nrules: [{id: a, colour: red, when: {any: [{fever: false}, {not: {symptoms: cough}}]}, release: {from: declaration_date}, explain: {zh: '{symptoms}', en: '{green_on}{date}'}}]\n"))
	f.Add([]byte("version: 1\nquarantine_days: {red: 1, yellow: 0}\nrules: [{id: a, colour: yellow, when: {exposure: true}, release: {from: exposure_date, days: 0}, explain: {zh: '{contact}', en: '{evidence}{exposed_on}'}}]\n"))
	f.Add([]byte("a: [\n"))
	f.Add([]byte("{\"version\": 1}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := Parse(data)
		if err != nil {
			pe, ok := errors.AsType[*ParseError](err)
			if !ok || len(pe.Problems) == 0 {
				t.Fatalf("Parse error %v is not a *ParseError with problems", err)
			}
			// Lines as YAML counts them: \r\n, \n or a lone \r ends one.
			lines := strings.Count(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n") +
				strings.Count(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r") + 1
			for _, p := range pe.Problems {
				if p.Message == "" || p.Line < 0 || p.Line > lines+1 {
					t.Fatalf("problem %+v in a %d-line file", p, lines)
				}
			}
			if rs != nil {
				t.Fatal("Parse returned a rule set with an error")
			}
			return
		}
		if rs.Version() == "" || len(rs.rules) == 0 || len(rs.order) != len(rs.rules) {
			t.Fatalf("parsed set: version %q, %d rules, %d ordered", rs.Version(), len(rs.rules), len(rs.order))
		}
		for _, facts := range fixedFacts {
			checkOutcome(t, rs, facts, Evaluate(rs, facts))
		}
	})
}

// factsFrom builds facts from fuzzer bytes, four bytes a record.
func factsFrom(now int64, status uint8, caseOff int16, recs []byte, temp float64, due int32) Facts {
	base := at(0)
	f := Facts{
		Now:                 base.Add(time.Duration(now%(400*24)) * time.Hour),
		CaseStatus:          []CaseStatus{CaseNone, CaseSuspected, CaseConfirmed, CaseAsymptomatic, CaseRecovered, "other"}[int(status)%6],
		CaseSince:           on(int(caseOff)),
		DeclarationDueHours: int(due),
	}
	if status&0x80 != 0 {
		f.CaseSince = civil.Date{}
	}
	date := func(b byte) civil.Date {
		if b == 0xff {
			return civil.Date{}
		}
		return on(int(int8(b)))
	}
	for i := 0; i+3 < len(recs) && i < 4*64; i += 4 {
		kind, sub, d, x := recs[i], recs[i+1], recs[i+2], recs[i+3]
		switch kind % 7 {
		case 0:
			f.Contacts = append(f.Contacts, Contact{Kind: []ContactKind{ContactClose, ContactSecondary, ""}[int(sub)%3], ExposedOn: date(d), Evidence: string(recs[i : i+4])})
		case 1:
			f.Visits = append(f.Visits, Visit{RegionCode: "r", RegionName: string(rune(x)), Risk: []RiskLevel{RiskLow, RiskMedium, RiskHigh, "?"}[int(sub)%4], On: date(d)})
		case 2:
			f.Tests = append(f.Tests, Test{Kind: []TestKind{TestPCR, TestAntibody, ""}[int(sub)%3], Result: []TestResult{TestNegative, TestPositive, ""}[int(x)%3], SampledOn: date(d)})
		case 3:
			if f.LatestDeclaration == nil {
				f.LatestDeclaration = &Declaration{At: base.Add(time.Duration(int8(d)) * 24 * time.Hour), TemperatureC: temp}
			}
			f.LatestDeclaration.ContactWithCase = x&1 != 0
			f.LatestDeclaration.Symptoms = append(f.LatestDeclaration.Symptoms, append(symptomWords.words, "unknown", "")[int(sub)%9])
		case 4:
			f.Quarantine = &Quarantine{Kind: []QuarantineKind{QuarantineHome, QuarantineCentralised, ""}[int(sub)%3], Start: date(d), End: date(x)}
		case 5:
			f.Visits = append(f.Visits, Visit{Risk: RiskHigh, On: date(d)})
		case 6:
			f.Contacts = append(f.Contacts, Contact{Kind: ContactClose})
		}
	}
	return f
}

func FuzzEvaluate(f *testing.F) {
	rs := defaultRules(f)
	f.Add(int64(0), uint8(0), int16(0), []byte{}, 36.6, int32(0))
	f.Add(int64(24*14), uint8(1), int16(0), []byte{3, 1, 14, 0, 2, 0, 13, 0}, 36.6, int32(0))
	f.Add(int64(24*5), uint8(2), int16(-3), []byte{0, 0, 0, 1, 1, 2, 3, 0}, 38.5, int32(40))
	f.Add(int64(-100), uint8(0x82), int16(9000), []byte{4, 1, 0xff, 13, 5, 0, 0, 0, 6, 0, 0, 0}, -1.0, int32(-5))
	f.Fuzz(func(t *testing.T, now int64, status uint8, caseOff int16, recs []byte, temp float64, due int32) {
		facts := factsFrom(now, status, caseOff, recs, temp, due)
		o := Evaluate(rs, facts)
		checkOutcome(t, rs, facts, o)
		if facts.CaseStatus == CaseConfirmed && o.Colour != Red {
			t.Fatalf("confirmed case is %s", o.Colour)
		}
		if again := Evaluate(rs, facts); !reflect.DeepEqual(o, again) {
			t.Fatalf("not deterministic:\n%+v\n%+v", o, again)
		}
	})
}
