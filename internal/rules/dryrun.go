package rules

import (
	"cmp"
	"fmt"
	"iter"
	"slices"
	"strings"
)

// Change is a code's colour before and after a new rule set.
type Change struct {
	From, To Colour
}

// DryRunReport counts how the codes of a population would change colour if
// a proposed rule set replaced the current one.
type DryRunReport struct {
	CurrentVersion, ProposedVersion string
	Total                           int
	Changed                         int
	// Changes counts codes by change of colour; only real changes appear.
	Changes map[Change]int
	// Before and After count codes per colour under each rule set.
	Before, After map[Colour]int
}

// DryRun evaluates every facts under both rule sets and counts the colour
// changes, without explanations. It is as deterministic as Evaluate.
func DryRun(current, proposed *RuleSet, facts iter.Seq[Facts]) DryRunReport {
	rep := DryRunReport{
		CurrentVersion: current.version, ProposedVersion: proposed.version,
		Changes: map[Change]int{}, Before: map[Colour]int{}, After: map[Colour]int{},
	}
	for f := range facts {
		from, to := colourOf(current, &f), colourOf(proposed, &f)
		rep.Total++
		rep.Before[from]++
		rep.After[to]++
		if from != to {
			rep.Changed++
			rep.Changes[Change{from, to}]++
		}
	}
	return rep
}

// String is the report as a few lines for a person deciding whether to
// apply the proposed rules, most severe changes first.
func (r DryRunReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s → %s: %d of %d codes would change colour\n", r.CurrentVersion, r.ProposedVersion, r.Changed, r.Total)
	changes := make([]Change, 0, len(r.Changes))
	for c := range r.Changes {
		changes = append(changes, c)
	}
	slices.SortFunc(changes, func(a, b Change) int {
		if c := cmp.Compare(b.To.severity(), a.To.severity()); c != 0 {
			return c
		}
		return cmp.Compare(b.From.severity(), a.From.severity())
	})
	for _, c := range changes {
		fmt.Fprintf(&b, "  %s → %s: %d\n", c.From, c.To, r.Changes[c])
	}
	return b.String()
}
