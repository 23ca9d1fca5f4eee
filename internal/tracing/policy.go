package tracing

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/rules"
)

// Rule says what makes two people at the same place close contacts.
type Rule string

// Rules of contact.
const (
	// SamePlace: their stays overlap by at least MinOverlap.
	SamePlace Rule = "place"
	// SameCarriage: their rides overlap and they were in the same carriage.
	SameCarriage Rule = "carriage"
	// NearbyRows: their rides overlap and their seats are at most Rows rows
	// apart.
	NearbyRows Rule = "rows"
	// SameVehicle: their rides on the same service overlap.
	SameVehicle Rule = "vehicle"
)

// KindPolicy is how one kind of place is traced.
type KindPolicy struct {
	Rule Rule
	// MinOverlap is the shortest overlap that makes a contact; any positive
	// overlap when zero.
	MinOverlap time.Duration
	// Rows is how many rows apart seats may be under NearbyRows.
	Rows int
	// UnknownSeatIsContact makes a passenger whose carriage (SameCarriage)
	// or seat (NearbyRows) is unknown, or who shared a ride with a case
	// whose seat is unknown, a contact of everyone on board at the time.
	UnknownSeatIsContact bool
	// Excluded kinds are never a place of contact (residential compound
	// entrances and outdoor checkpoints, where people pass each other).
	Excluded bool
	// NoSecondary kinds make close contacts of a case, but a close
	// contact's stays there make no secondary contacts.
	NoSecondary bool
	// Dwell is the stay recorded when a resident does not check out.
	Dwell time.Duration
	// MaxStay is the longest stay recorded: a later check-out is cut to it.
	// It bounds the range of the tracer's index scans, so keep it tight.
	MaxStay time.Duration
}

// Policy holds every threshold of contact tracing. The rule file of the
// health-code rules sets it; DefaultPolicy gives the defaults.
type Policy struct {
	// Default applies to a kind the policy does not name.
	Default KindPolicy
	Kinds   map[Kind]KindPolicy
	// OnsetLead is how long before symptom onset a case is infectious.
	OnsetLead time.Duration
}

// DefaultPolicy is 15 minutes at the same place (compound entrances and
// outdoor checkpoints excluded), the same carriage on trains, 3 rows on
// flights, the same service on coaches and buses, and infectious from 2
// days before symptom onset.
func DefaultPolicy() Policy {
	place := func(dwell, maxStay time.Duration) KindPolicy {
		return KindPolicy{Rule: SamePlace, MinOverlap: 15 * time.Minute, Dwell: dwell, MaxStay: maxStay}
	}
	return Policy{
		Default:   place(30*time.Minute, 12*time.Hour),
		OnsetLead: 48 * time.Hour,
		Kinds: map[Kind]KindPolicy{
			Shop:              place(30*time.Minute, 4*time.Hour),
			Restaurant:        place(time.Hour, 4*time.Hour),
			Office:            place(8*time.Hour, 14*time.Hour),
			School:            place(8*time.Hour, 12*time.Hour),
			Hospital:          place(2*time.Hour, 12*time.Hour),
			Station:           place(30*time.Minute, 6*time.Hour),
			CompoundEntrance:  {Rule: SamePlace, MinOverlap: 15 * time.Minute, Excluded: true, Dwell: time.Minute, MaxStay: 30 * time.Minute},
			VillageCheckpoint: {Rule: SamePlace, MinOverlap: 15 * time.Minute, Excluded: true, Dwell: time.Minute, MaxStay: 30 * time.Minute},
			Train:             {Rule: SameCarriage, UnknownSeatIsContact: true, Dwell: 3 * time.Hour, MaxStay: 48 * time.Hour},
			Flight:            {Rule: NearbyRows, Rows: 3, UnknownSeatIsContact: true, Dwell: 3 * time.Hour, MaxStay: 24 * time.Hour},
			Coach:             {Rule: SameVehicle, Dwell: 3 * time.Hour, MaxStay: 24 * time.Hour},
			Bus:               {Rule: SameVehicle, Dwell: 30 * time.Minute, MaxStay: 4 * time.Hour},
		},
	}
}

// For returns the policy of kind k.
func (p Policy) For(k Kind) KindPolicy {
	if kp, ok := p.Kinds[k]; ok {
		return kp
	}
	return p.Default
}

// LongestStay is the largest MaxStay of any kind.
func (p Policy) LongestStay() time.Duration {
	longest := p.Default.MaxStay
	for _, kp := range p.Kinds {
		longest = max(longest, kp.MaxStay)
	}
	return longest
}

// Validate reports every problem with p at once.
func (p Policy) Validate() error {
	var errs []error
	check := func(name string, kp KindPolicy) {
		if !slices.Contains([]Rule{SamePlace, SameCarriage, NearbyRows, SameVehicle}, kp.Rule) {
			errs = append(errs, fmt.Errorf("%s: unknown rule %q", name, kp.Rule))
		}
		if kp.MinOverlap < 0 || kp.MinOverlap%time.Second != 0 {
			errs = append(errs, fmt.Errorf("%s: min overlap %v must be whole seconds, not negative", name, kp.MinOverlap))
		}
		if kp.Rule == NearbyRows && (kp.Rows < 0 || kp.Rows > 100) {
			errs = append(errs, fmt.Errorf("%s: rows %d must be between 0 and 100", name, kp.Rows))
		}
		if kp.Dwell < time.Second || kp.Dwell%time.Second != 0 {
			errs = append(errs, fmt.Errorf("%s: dwell %v must be whole seconds, at least one", name, kp.Dwell))
		}
		if kp.MaxStay < kp.Dwell || kp.MaxStay > 7*24*time.Hour || kp.MaxStay%time.Second != 0 {
			errs = append(errs, fmt.Errorf("%s: longest stay %v must be whole seconds, at least the dwell %v and at most 7 days", name, kp.MaxStay, kp.Dwell))
		}
		if kp.MinOverlap > kp.MaxStay {
			errs = append(errs, fmt.Errorf("%s: min overlap %v is longer than the longest stay %v", name, kp.MinOverlap, kp.MaxStay))
		}
	}
	check("default", p.Default)
	kinds := make([]Kind, 0, len(p.Kinds))
	for k := range p.Kinds {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		if k == "" {
			errs = append(errs, errors.New("a kind has no name"))
		}
		check(string(k), p.Kinds[k])
	}
	if p.OnsetLead < 0 || p.OnsetLead > 14*24*time.Hour {
		errs = append(errs, fmt.Errorf("onset lead %v must be between 0 and 14 days", p.OnsetLead))
	}
	if len(errs) > 0 {
		return fmt.Errorf("tracing: policy: %w", errors.Join(errs...))
	}
	return nil
}

// InfectiousWindow is the window in which a case is taken to be infectious:
// from OnsetLead before the start of the day of symptom onset or, for an
// asymptomatic case (zero onset), from the start of the day the sample was
// taken; until isolation. Days start at midnight in loc, the region's time
// zone.
func (p Policy) InfectiousWindow(onset, sampled civil.Date, isolated time.Time, loc *time.Location) (from, until int64, err error) {
	day := func(d civil.Date) time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc) }
	switch {
	case !onset.IsZero():
		from = day(onset).Add(-p.OnsetLead).Unix()
	case !sampled.IsZero():
		from = day(sampled).Unix()
	default:
		return 0, 0, errors.New("tracing: infectious window: neither an onset nor a sample date")
	}
	until = isolated.Unix()
	if until <= from {
		return 0, 0, fmt.Errorf("tracing: infectious window: isolation %s is not after the window's start %s",
			isolated.In(loc).Format(time.RFC3339), time.Unix(from, 0).In(loc).Format(time.RFC3339))
	}
	return from, until, nil
}

func secs(d time.Duration) int64 { return int64(d / time.Second) }

// minOverlap is the overlap, in seconds, that a kind needs: at least one.
func (kp KindPolicy) minOverlap() int64 { return max(1, secs(kp.MinOverlap)) }

// PolicyFrom is the policy a rule file's tracing section sets; a rule
// file without one gives DefaultPolicy.
func PolicyFrom(t *rules.Tracing) (Policy, error) {
	if t == nil {
		return DefaultPolicy(), nil
	}
	kind := func(r rules.PlaceRule) KindPolicy {
		return KindPolicy{Rule: Rule(r.Contact), MinOverlap: time.Duration(r.MinOverlapMinutes) * time.Minute, Rows: r.Rows,
			UnknownSeatIsContact: r.UnknownSeatIsContact, Excluded: r.Excluded, NoSecondary: r.NoSecondary,
			Dwell: time.Duration(r.DwellMinutes) * time.Minute, MaxStay: time.Duration(r.MaxStayMinutes) * time.Minute}
	}
	p := Policy{Default: kind(t.Default), Kinds: make(map[Kind]KindPolicy, len(t.Places)),
		OnsetLead: time.Duration(t.OnsetLeadHours) * time.Hour}
	for name, r := range t.Places {
		p.Kinds[Kind(name)] = kind(r)
	}
	return p, p.Validate()
}
