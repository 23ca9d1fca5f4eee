package rules

import (
	"errors"
	"fmt"
	"sync/atomic"
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

// Swap parses data and, if it is a sound rule file, puts it in force and
// returns the rule set it replaced. Otherwise it returns the *ParseError (or
// a version conflict) and the rule set in force is unchanged.
//
// A file whose version is already in force but whose content differs is
// refused: every change to the rules must carry a new version, because
// every health code records the version that decided it.
func (a *Active) Swap(data []byte) (previous *RuleSet, err error) {
	next, err := Parse(data)
	if err != nil {
		return nil, err
	}
	for {
		cur := a.p.Load()
		if cur != nil && cur.version == next.version && cur.digest != next.digest {
			return nil, fmt.Errorf("rules: version %q is already in force with different rules; give the new file a new version", next.version)
		}
		if a.p.CompareAndSwap(cur, next) {
			return cur, nil
		}
	}
}
