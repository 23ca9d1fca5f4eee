package healthcode

import (
	"testing"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

var today = civil.Date{Year: 2020, Month: 2, Day: 10}

func known(code string) bool { return code == "420106" || code == "420102001" || code == "4201" }

func fields(err error) map[string]bool {
	out := map[string]bool{}
	if ve, ok := validation.As(err); ok {
		for _, f := range ve.Fields {
			out[f.Field] = true
		}
	}
	return out
}

func TestDeclarationValidate(t *testing.T) {
	good := func() Declaration {
		return Declaration{TemperatureC: 36.6, LocationCode: "420102001", Symptoms: []string{"cough"},
			Visits: []Visit{{RegionCode: "420106", On: today.AddDays(-3)}}}
	}
	d := good()
	if err := d.Validate(today, known); err != nil || d.Kind != "daily" {
		t.Fatalf("good declaration: %v (kind %q)", err, d.Kind)
	}
	for name, tc := range map[string]struct {
		mut   func(*Declaration)
		field string
	}{
		"impossible temperature": {func(d *Declaration) { d.TemperatureC = 45 }, "temperature_c"},
		"unknown symptom":        {func(d *Declaration) { d.Symptoms = []string{"itch"} }, "symptoms"},
		"unknown location":       {func(d *Declaration) { d.LocationCode = "999" }, "location_code"},
		"future visit":           {func(d *Declaration) { d.Visits[0].On = today.AddDays(1) }, "visits"},
		"visit outside window":   {func(d *Declaration) { d.Visits[0].On = today.AddDays(-15) }, "visits"},
		"unknown region visited": {func(d *Declaration) { d.Visits[0].RegionCode = "X" }, "visits"},
		"arrival without origin": {func(d *Declaration) { d.Kind = "arrival"; d.ArrivalDate = today; d.Transport = "train" }, "origin"},
		"arrival in the future": {func(d *Declaration) {
			d.Kind, d.Origin, d.Transport, d.ArrivalDate = "arrival", "Beijing", "flight", today.AddDays(2)
		}, "arrival_date"},
		"arrival fields on a daily declaration": {func(d *Declaration) { d.Transport = "car" }, "kind"},
	} {
		d := good()
		tc.mut(&d)
		if f := fields(d.Validate(today, known)); !f[tc.field] {
			t.Errorf("%s: fields %v, want %s", name, f, tc.field)
		}
	}
}

func TestOverrideNeedsReason(t *testing.T) {
	o := Override{Colour: "red", Until: today.AddDays(3), Change: Change{Reason: "because", LegalBasis: "x"}}
	if f := fields(o.Validate(today)); !f["reason"] {
		t.Errorf("short reason accepted: %v", f)
	}
	o.Reason = "confirmed case in the household, awaiting the lab's record"
	if err := o.Validate(today); err != nil {
		t.Errorf("valid override refused: %v", err)
	}
	o.Until = today.AddDays(40)
	if f := fields(o.Validate(today)); !f["until"] {
		t.Errorf("override of 40 days accepted")
	}
}

func TestRiskMap(t *testing.T) {
	js := []jurisdiction.Jurisdiction{
		{Code: "4201", Path: "/42/4201/"}, {Code: "420106", Path: "/42/4201/420106/"},
		{Code: "420106001", Path: "/42/4201/420106/420106001/"}, {Code: "420102", Path: "/42/4201/420102/"},
	}
	m := NewRiskMap([]RiskSetting{
		{Path: "/42/4201/420106/", Level: "high", From: civil.Date{Year: 2020, Month: 1, Day: 23}},
		{Path: "/42/4201/420106/", Level: "medium", From: civil.Date{Year: 2020, Month: 2, Day: 20}},
		{Path: "/42/4201/", Level: "low", From: civil.Date{Year: 2020, Month: 1, Day: 1}},
	}, js)
	for _, tc := range []struct {
		code string
		on   civil.Date
		want string
	}{
		{"420106001", civil.Date{Year: 2020, Month: 2, Day: 3}, "high"},    // inherits the district's level
		{"420106001", civil.Date{Year: 2020, Month: 2, Day: 21}, "medium"}, // the later setting
		{"420106", civil.Date{Year: 2020, Month: 1, Day: 22}, "low"},       // before the district's: the city's
		{"420102", civil.Date{Year: 2020, Month: 2, Day: 3}, "low"},
		{"nowhere", civil.Date{Year: 2020, Month: 2, Day: 3}, ""},
	} {
		if got := m.Level(tc.code, tc.on); got != tc.want {
			t.Errorf("Level(%s, %s) = %q, want %q", tc.code, tc.on, got, tc.want)
		}
	}
}
