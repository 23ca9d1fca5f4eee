package tracing_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/rules"
	"github.com/outbreak-platform/outbreak/internal/tracing"
)

// The default rule file states the default policy, threshold by threshold.
func TestPolicyFromDefaultRules(t *testing.T) {
	rs, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	if rs.Tracing() == nil {
		t.Fatal("the default rule file has no tracing section")
	}
	p, err := tracing.PolicyFrom(rs.Tracing())
	if err != nil {
		t.Fatal(err)
	}
	if want := tracing.DefaultPolicy(); !reflect.DeepEqual(p, want) {
		t.Errorf("policy from the default rules\n%+v\nwant DefaultPolicy\n%+v", p, want)
	}
	if p, err := tracing.PolicyFrom(nil); err != nil || !reflect.DeepEqual(p, tracing.DefaultPolicy()) {
		t.Errorf("no tracing section: %+v, %v", p, err)
	}
}

// A rule file changes a threshold; mistakes in the section are refused
// with their line.
func TestPolicyFromRuleFile(t *testing.T) {
	base := string(rules.DefaultYAML())
	changed := strings.NewReplacer("shop: {dwell_minutes: 30, max_stay_minutes: 240}",
		"shop: {min_overlap_minutes: 5, dwell_minutes: 20, max_stay_minutes: 240, secondary: false}",
		"bus: {contact: vehicle,", "bus: {secondary: false, contact: vehicle,").Replace(base)
	rs, err := rules.Parse([]byte(changed))
	if err != nil {
		t.Fatal(err)
	}
	p, err := tracing.PolicyFrom(rs.Tracing())
	if err != nil {
		t.Fatal(err)
	}
	if kp := p.For(tracing.Shop); kp.MinOverlap.Minutes() != 5 || kp.Dwell.Minutes() != 20 || kp.Rule != tracing.SamePlace || !kp.NoSecondary {
		t.Errorf("shop policy %+v", kp)
	}
	if !p.For(tracing.Bus).NoSecondary || p.For(tracing.Office).NoSecondary || p.For(tracing.Restaurant).NoSecondary {
		t.Errorf("secondary: false set for %+v", p.Kinds)
	}
	for _, bad := range []struct{ from, to, want string }{
		{"shop: {dwell_minutes: 30,", "shopp: {dwell_minutes: 30,", `unknown place type "shopp"`},
		{"contact: rows, rows: 3", "contact: seats, rows: 3", `contact "seats" is not one of`},
		{"bus: {contact: vehicle, min_overlap_minutes: 0, dwell_minutes: 30, max_stay_minutes: 240}",
			"bus: {contact: vehicle, min_overlap_minutes: 0, dwell_minutes: 300, max_stay_minutes: 240}", "shorter than dwell_minutes"},
		{"onset_lead_hours: 48", "onset_lead_hours: -1", "onset_lead_hours"},
		{"bus: {contact: vehicle,", "bus: {secondary: maybe, contact: vehicle,", "secondary"},
		{"bus: {contact: vehicle,", "bus: {secundary: false, contact: vehicle,", `"secundary"`},
		{"default: {contact: place, min_overlap_minutes: 15, dwell_minutes: 30, max_stay_minutes: 720}",
			"default: {contact: place, min_overlap_minutes: 15, max_stay_minutes: 720}", "has no dwell_minutes"},
	} {
		src := strings.Replace(base, bad.from, bad.to, 1)
		if src == base {
			t.Fatalf("test case %q does not change the file", bad.from)
		}
		_, err := rules.Parse([]byte(src))
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: got %v, want an error containing %q", bad.to, err, bad.want)
		}
	}
}
