package rules

import (
	"errors"
	"sync/atomic"

	"github.com/outbreak-platform/outbreak/internal/fault"
)

// Active holds the rule set in force. Reading it is one atomic load; a new
// rule file replaces it only when the file is sound, so a broken file leaves
// the previous rules in force. Active keeps nothing but the pointer: where
// rule files are stored and who changed them is the caller's business.
type Active struct {
	p atomic.Pointer[RuleSet]
}

// ErrNoRuleSet is returned when an Active is given no rule set.
var ErrNoRuleSet = errors.New("rules: no rule set")

// ErrVersionInUse refuses a rule file whose version is already in use with
// other rules: every change to the rules must carry a new version, because
// every health code records the version that decided it. It is a conflict
// (409) and carries the version as Version.
var ErrVersionInUse = fault.New(fault.Conflict, "error.rules_version_in_use",
	"rules: the version is already in use with different rules; give the new file a new version")

// NewActive returns a holder with rs in force.
func NewActive(rs *RuleSet) (*Active, error) {
	if rs == nil {
		return nil, ErrNoRuleSet
	}
	a := &Active{}
	a.p.Store(rs)
	return a, nil
}

// Get returns the rule set in force.
func (a *Active) Get() *RuleSet { return a.p.Load() }

// Same reports whether rs and other are the same rules under the same
// version.
func (rs *RuleSet) Same(other *RuleSet) bool {
	return rs != nil && other != nil && rs.version == other.version && rs.digest == other.digest
}

// Clashes reports whether rs and other carry the same version with
// different rules.
func (rs *RuleSet) Clashes(other *RuleSet) bool {
	return rs != nil && other != nil && rs.version == other.version && rs.digest != other.digest
}

// Swap parses data and, if it is a sound rule file, puts it in force and
// returns the rule set it replaced. Otherwise it returns the *ParseError (or
// ErrVersionInUse) and the rule set in force is unchanged.
func (a *Active) Swap(data []byte) (previous *RuleSet, err error) {
	next, err := Parse(data)
	if err != nil {
		return nil, err
	}
	return a.Replace(next)
}

// Replace puts next in force and returns the rule set it replaced, unless
// the rule set in force has next's version with different rules
// (ErrVersionInUse).
func (a *Active) Replace(next *RuleSet) (previous *RuleSet, err error) {
	if next == nil {
		return nil, ErrNoRuleSet
	}
	for {
		cur := a.p.Load()
		if cur.Clashes(next) {
			return nil, ErrVersionInUse.With("Version", next.version)
		}
		if a.p.CompareAndSwap(cur, next) {
			return cur, nil
		}
	}
}
