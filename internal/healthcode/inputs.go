// Package healthcode turns what is known about a person — their own health
// declarations and the authoritative inputs staff enter (case status,
// contacts, test results, quarantine orders, risk areas) — into their health
// code: a colour computed by the rule set, with its reasons and the day it
// turns green, kept current as inputs change, and every change recorded in
// the audit chain.
package healthcode

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// Symptoms a declaration may list; an empty list means none.
var Symptoms = []string{"fever", "cough", "fatigue", "sore_throat", "loss_of_taste_smell", "shortness_of_breath", "diarrhoea"}

// Transports an arrival declaration may name.
var Transports = []string{"train", "flight", "coach", "car", "ship", "other"}

// Window is how far back a declaration may report visits, in days.
const Window = 14

// Visit is a region visited on a day.
type Visit struct {
	RegionCode string     `json:"region_code"`
	On         civil.Date `json:"on"`
}

// Declaration is a health declaration: daily, or on arrival from elsewhere.
type Declaration struct {
	Kind            string     `json:"kind"` // "daily" or "arrival"
	TemperatureC    float64    `json:"temperature_c"`
	Symptoms        []string   `json:"symptoms"`
	ContactWithCase bool       `json:"contact_with_case"`
	LocationCode    string     `json:"location_code"`
	Visits          []Visit    `json:"visits"`
	Origin          string     `json:"origin,omitempty"`
	Route           string     `json:"route,omitempty"`
	ArrivalDate     civil.Date `json:"arrival_date,omitzero"`
	Transport       string     `json:"transport,omitempty"`
}

// Fever reports whether the declaration shows a fever.
func (d Declaration) Fever() bool {
	return d.TemperatureC >= 37.3 || slices.Contains(d.Symptoms, "fever")
}

// text checks free text typed into field with the one rule for people's
// text (validation.Text) and returns it as it is stored.
func text(e *validation.Errors, field, s string, max int, required bool) string {
	return validation.Text(e, field, s, max, required, true)
}

// Validate checks d on day today; known reports whether a region code exists.
func (d *Declaration) Validate(today civil.Date, known func(code string) bool) error {
	var e validation.Errors
	if d.Kind == "" {
		d.Kind = "daily"
	}
	if d.Kind != "daily" && d.Kind != "arrival" {
		e.Add("kind", "invalid")
	}
	if d.TemperatureC < 34 || d.TemperatureC > 43 {
		e.Add("temperature_c", "healthcode.temperature")
	}
	seen := map[string]bool{}
	for _, s := range d.Symptoms {
		if !slices.Contains(Symptoms, s) || seen[s] {
			e.Add("symptoms", "healthcode.symptom", "symptom", s)
			break
		}
		seen[s] = true
	}
	if d.LocationCode = strings.TrimSpace(d.LocationCode); d.LocationCode == "" {
		e.Add("location_code", "required")
	} else if !known(d.LocationCode) {
		e.Add("location_code", "healthcode.region")
	}
	if len(d.Visits) > 50 {
		e.Add("visits", "healthcode.too_many_visits", "max", 50)
	}
	earliest := today.AddDays(-Window)
	for i := range d.Visits {
		v := &d.Visits[i]
		v.RegionCode = strings.TrimSpace(v.RegionCode)
		switch {
		case !known(v.RegionCode):
			e.Add("visits", "healthcode.region")
		case v.On.IsZero() || v.On.After(today):
			e.Add("visits", "healthcode.future_date")
		case v.On.Before(earliest):
			e.Add("visits", "healthcode.outside_window", "days", Window)
		default:
			continue
		}
		break
	}
	if d.Kind == "arrival" {
		d.Origin = text(&e, "origin", d.Origin, 100, true)
		d.Route = text(&e, "route", d.Route, 200, false)
		switch {
		case d.ArrivalDate.IsZero():
			e.Add("arrival_date", "required")
		case d.ArrivalDate.After(today):
			e.Add("arrival_date", "healthcode.future_date")
		case d.ArrivalDate.Before(earliest):
			e.Add("arrival_date", "healthcode.outside_window", "days", Window)
		}
		if !slices.Contains(Transports, d.Transport) {
			e.Add("transport", "healthcode.transport")
		}
	} else if d.Origin != "" || d.Route != "" || d.Transport != "" || !d.ArrivalDate.IsZero() {
		e.Add("kind", "healthcode.arrival_fields")
	}
	return e.Err()
}

// Case statuses.
var CaseStatuses = []string{"suspected", "confirmed", "asymptomatic", "recovered", "ruled_out"}

// Change carries the why of a staff change: every one needs both.
type Change struct {
	Reason     string `json:"reason"`
	LegalBasis string `json:"legal_basis"`
}

func (c *Change) validate(e *validation.Errors) {
	c.Reason = text(e, "reason", c.Reason, 500, true)
	c.LegalBasis = text(e, "legal_basis", c.LegalBasis, 200, true)
}

// CaseStatus is what the CDC knows of a person as a case.
type CaseStatus struct {
	Status string     `json:"status" db:"status"`
	Since  civil.Date `json:"since" db:"since"`
	Onset  civil.Date `json:"onset,omitzero" db:"onset"` // symptom onset, if any
	Change `db:"-"`
}

// Validate checks c on day today.
func (c *CaseStatus) Validate(today civil.Date) error {
	var e validation.Errors
	if !slices.Contains(CaseStatuses, c.Status) {
		e.Add("status", "invalid")
	}
	pastDate(&e, "since", c.Since, today, true)
	pastDate(&e, "onset", c.Onset, today, false)
	c.Change.validate(&e)
	return e.Err()
}

func pastDate(e *validation.Errors, field string, d, today civil.Date, required bool) {
	switch {
	case d.IsZero():
		if required {
			e.Add(field, "required")
		}
	case d.After(today):
		e.Add(field, "healthcode.future_date")
	case d.Before(today.AddDays(-366)):
		e.Add(field, "healthcode.outside_window", "days", 366)
	}
}

// Contact marks a person as a close or secondary contact, with the evidence.
type Contact struct {
	Kind       string     `json:"kind"` // "close" or "secondary"
	ExposedOn  civil.Date `json:"exposed_on"`
	Evidence   string     `json:"evidence"`
	SourceCase int64      `json:"source_case,omitempty"`
	Change
}

// Validate checks c on day today.
func (c *Contact) Validate(today civil.Date) error {
	var e validation.Errors
	if c.Kind != "close" && c.Kind != "secondary" {
		e.Add("kind", "invalid")
	}
	pastDate(&e, "exposed_on", c.ExposedOn, today, true)
	c.Evidence = text(&e, "evidence", c.Evidence, 300, true)
	if c.SourceCase < 0 {
		e.Add("source_case", "invalid")
	}
	c.Change.validate(&e)
	return e.Err()
}

// TestResult is a lab result.
type TestResult struct {
	Kind      string     `json:"kind"`   // "pcr" or "antibody"
	Result    string     `json:"result"` // "negative" or "positive"
	SampledOn civil.Date `json:"sampled_on"`
	Change
}

// Validate checks t on day today. A lab's machine client gives no reason;
// the lab's token is the basis.
func (t *TestResult) Validate(today civil.Date) error {
	var e validation.Errors
	if t.Kind != "pcr" && t.Kind != "antibody" {
		e.Add("kind", "invalid")
	}
	if t.Result != "negative" && t.Result != "positive" {
		e.Add("result", "invalid")
	}
	pastDate(&e, "sampled_on", t.SampledOn, today, true)
	if t.Reason == "" {
		t.Reason = "laboratory result"
	}
	if t.LegalBasis == "" {
		t.LegalBasis = "mandatory reporting of test results"
	}
	t.Change.validate(&e)
	return e.Err()
}

// Quarantine is a quarantine order.
type Quarantine struct {
	Kind  string     `json:"kind"` // "home" or "centralised"
	Start civil.Date `json:"start"`
	End   civil.Date `json:"end"`
	Change
}

// Validate checks q on day today.
func (q *Quarantine) Validate(today civil.Date) error {
	var e validation.Errors
	if q.Kind != "home" && q.Kind != "centralised" {
		e.Add("kind", "invalid")
	}
	switch {
	case q.Start.IsZero():
		e.Add("start", "required")
	case q.Start.Before(today.AddDays(-60)) || q.Start.After(today.AddDays(30)):
		e.Add("start", "healthcode.outside_window", "days", 60)
	}
	switch {
	case q.End.IsZero():
		e.Add("end", "required")
	case !q.Start.IsZero() && (q.End.Before(q.Start) || q.End.After(q.Start.AddDays(60))):
		e.Add("end", "healthcode.quarantine_end")
	}
	q.Change.validate(&e)
	return e.Err()
}

// RiskArea sets a jurisdiction's risk level from a day on.
type RiskArea struct {
	JurisdictionCode string     `json:"jurisdiction_code"`
	Level            string     `json:"level"` // low, medium, high
	From             civil.Date `json:"from"`
	Change
}

// Validate checks r on day today.
func (r *RiskArea) Validate(today civil.Date) error {
	var e validation.Errors
	if r.JurisdictionCode = strings.TrimSpace(r.JurisdictionCode); r.JurisdictionCode == "" {
		e.Add("jurisdiction_code", "required")
	}
	if r.Level != "low" && r.Level != "medium" && r.Level != "high" {
		e.Add("level", "invalid")
	}
	switch {
	case r.From.IsZero():
		e.Add("from", "required")
	case r.From.Before(today.AddDays(-Window)) || r.From.After(today.AddDays(30)):
		e.Add("from", "healthcode.outside_window", "days", Window)
	}
	r.Change.validate(&e)
	return e.Err()
}

// Override sets a colour by hand, outside the rules, until a day. It needs a
// written reason and a legal basis, and the holder sees it.
type Override struct {
	Colour string     `json:"colour"`
	Until  civil.Date `json:"until"`
	Change
}

// Validate checks o on day today.
func (o *Override) Validate(today civil.Date) error {
	var e validation.Errors
	if o.Colour != "green" && o.Colour != "yellow" && o.Colour != "red" {
		e.Add("colour", "invalid")
	}
	if o.Until.IsZero() || o.Until.Before(today) || o.Until.After(today.AddDays(28)) {
		e.Add("until", "healthcode.override_until", "days", 28)
	}
	c := o.Change
	c.validate(&e)
	if utf8.RuneCountInString(strings.TrimSpace(o.Reason)) < 10 && !e.Has("reason") {
		e.Add("reason", "healthcode.reason_too_short", "min", 10)
	}
	o.Change = c
	return e.Err()
}
