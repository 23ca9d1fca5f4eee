package rules

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestDryRun(t *testing.T) {
	current := defaultRules(t)
	// Proposed: a medium-risk visit counts for 7 days only, and an
	// asymptomatic infection is red like a confirmed case.
	data := withVersion(t, "2020.2")
	data = edit(t, data, "visited_risk: medium\n      within_days: 14", "visited_risk: medium\n      within_days: 7")
	data = edit(t, data, "case_status: [confirmed]", "case_status: [confirmed, asymptomatic]")
	proposed, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	population := []Facts{
		{Now: at(10), Visits: []Visit{visit(0, RiskMedium)}, LatestDeclaration: declaredOn(10)}, // yellow → green
		{Now: at(10), Visits: []Visit{visit(5, RiskMedium)}, LatestDeclaration: declaredOn(10)}, // yellow → yellow
		{Now: at(1), CaseStatus: CaseAsymptomatic, CaseSince: on(0)},                            // green → red
		{Now: at(1), CaseStatus: CaseAsymptomatic, CaseSince: on(0), DeclarationDueHours: 40},   // yellow → red
		{Now: at(1), Contacts: []Contact{closeContact(0)}},                                      // red → red
		{Now: at(1)}, // green → green
		{Now: at(2)}, // green → green
	}
	rep := DryRun(current, proposed, slices.Values(population))
	want := map[Change]int{{Yellow, Green}: 1, {Green, Red}: 1, {Yellow, Red}: 1}
	if !maps.Equal(rep.Changes, want) {
		t.Errorf("changes = %v, want %v", rep.Changes, want)
	}
	if rep.Total != 7 || rep.Changed != 3 {
		t.Errorf("total %d, changed %d; want 7, 3", rep.Total, rep.Changed)
	}
	if !maps.Equal(rep.Before, map[Colour]int{Green: 3, Yellow: 3, Red: 1}) {
		t.Errorf("before = %v", rep.Before)
	}
	if !maps.Equal(rep.After, map[Colour]int{Green: 3, Yellow: 1, Red: 3}) {
		t.Errorf("after = %v", rep.After)
	}
	s := rep.String()
	for _, line := range []string{"default-2020.1 → 2020.2: 3 of 7 codes would change colour", "green → red: 1", "yellow → red: 1", "yellow → green: 1"} {
		if !strings.Contains(s, line) {
			t.Errorf("report %q lacks %q", s, line)
		}
	}
	if strings.Index(s, "green → red") > strings.Index(s, "yellow → green") {
		t.Errorf("report does not list changes to red first:\n%s", s)
	}

	same := DryRun(current, current, slices.Values(population))
	if same.Changed != 0 || len(same.Changes) != 0 {
		t.Errorf("dry run against itself changed %d codes", same.Changed)
	}
}
