package healthcode

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/rules"
)

// ReasonIn returns an audit entry's reason for a reader of language lang.
// The reason of a colour change the rules made is recorded in English, with
// the facts each rule matched; it is told again from those facts by the
// rule set that made it, in lang. Any other reason — a person's words, or
// an entry recorded before the facts were — is returned as recorded. Pages
// show Why, which words the entry's cause too.
func (s *Service) ReasonIn(ctx context.Context, e audit.Entry, lang string) string {
	if lang == string(rules.LangEN) {
		return e.Reason
	}
	if t, ok := s.rulesIn(ctx, e, rules.Lang(lang), Holder); ok {
		return t
	}
	return e.Reason
}

// rulesIn tells the reasons of colour change e again in lang, from the facts
// it recorded, with the rule set that made it; ok is false when e records
// none (not a colour change, an override, an older entry) or the rule set
// is not known. The evidence is about the person for staff.
func (s *Service) rulesIn(ctx context.Context, e audit.Entry, lang rules.Lang, reader Reader) (string, bool) {
	if e.Kind != audit.ColourChange {
		return "", false
	}
	var after struct {
		Rules   []string            `json:"rules"`
		Facts   []map[string]string `json:"facts"` // null: not recorded (an override, an older entry)
		Version string              `json:"rule_version"`
	}
	if err := json.Unmarshal([]byte(e.After), &after); err != nil || after.Facts == nil || len(after.Facts) != len(after.Rules) {
		return "", false
	}
	if len(after.Rules) == 0 {
		return rules.NoRuleText(lang), true
	}
	rs, err := s.rulesOf(ctx, after.Version)
	if err != nil || rs == nil {
		return "", false
	}
	texts := make([]string, len(after.Rules))
	for i, id := range after.Rules {
		facts := after.Facts[i]
		if reader == Staff {
			facts = staffFacts(facts)
		}
		t, ok := rs.Explain(id, lang, facts)
		if !ok {
			return "", false
		}
		texts[i] = t
	}
	sep := "; "
	if lang == rules.LangZH {
		sep = "；"
	}
	return strings.Join(texts, sep), true
}

// rulesOf returns the rule set of a version: the one in force, one applied
// to the store before, or the default; nil when none is known.
func (s *Service) rulesOf(ctx context.Context, version string) (*rules.RuleSet, error) {
	if rs := s.Rules.Get(); rs.Version() == version {
		return rs, nil
	}
	s.mu.Lock()
	rs, ok := s.ruleSets[version]
	s.mu.Unlock()
	if ok {
		return rs, nil
	}
	rs, err := storedRules(ctx, s.DB, version)
	if err != nil {
		return nil, err
	}
	if rs.Version() != version { // not stored, and not the default
		rs = nil
	}
	s.mu.Lock()
	if s.ruleSets == nil {
		s.ruleSets = map[string]*rules.RuleSet{}
	}
	s.ruleSets[version] = rs
	s.mu.Unlock()
	return rs, nil
}
