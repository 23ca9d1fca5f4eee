package healthcode

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/i18n"
	"github.com/outbreak-platform/outbreak/internal/rules"
)

// View is a code as its holder and staff see it, in one language: the
// colour, every reason in words, when and on what condition it turns
// green, an override in force, the history of what changed it and why, and
// the holder's appeals. Pages and the API both show this.
type View struct {
	Code           Code
	Reasons        []ReasonView
	Conditions     []string
	OverrideActive bool
	History        []HistoryView
	Appeals        []Appeal
}

// ReasonView is one rule in force, worded.
type ReasonView struct {
	RuleID  string
	Colour  string
	Text    string
	GreenOn civil.Date
	Facts   map[string]string
}

// HistoryView is one audit entry about the holder, worded for the reader:
// what changed (Summary) and why (Why), in the view's language.
type HistoryView struct {
	audit.Entry
	Summary string
	Why     string
}

// HistoryLimit is how many of the latest entries about a person a view
// shows.
const HistoryLimit = 50

// Reader is who reads a view: the holder (or their guardian), told "you",
// or staff, told "the person".
type Reader uint8

const (
	Holder Reader = iota
	Staff
)

// View builds the view of c for reader, worded by l.
func (s *Service) View(ctx context.Context, c Code, l *i18n.Localizer, reader Reader) (View, error) {
	e, err := ExplanationOf(c)
	if err != nil {
		return View{}, err
	}
	lang := rules.Lang(l.Lang)
	v := View{Code: c, OverrideActive: c.OverrideActive(s.today())}
	var rs *rules.RuleSet
	if reader == Staff {
		if rs, err = s.rulesOf(ctx, e.RuleSetVersion); err != nil {
			return View{}, err
		}
	}
	for _, r := range e.Reasons {
		text := r.Text[lang]
		if reader == Staff && rs != nil && r.Facts["evidence"] != "" {
			// The rule speaks to the holder; the evidence, to staff, is about the person.
			if t, ok := rs.Explain(r.RuleID, lang, staffFacts(r.Facts)); ok {
				text = t
			}
		}
		v.Reasons = append(v.Reasons, ReasonView{RuleID: r.RuleID, Colour: string(r.Colour), Text: text, GreenOn: r.GreenOn, Facts: r.Facts})
	}
	for _, cd := range e.Conditions {
		v.Conditions = append(v.Conditions, cd.Text[lang])
	}
	es, err := History(ctx, s.DB, c.ResidentID, HistoryLimit)
	if err != nil {
		return View{}, err
	}
	for _, a := range es {
		v.History = append(v.History, HistoryView{Entry: a, Summary: Summary(a, l, reader), Why: s.Why(ctx, a, l, reader)})
	}
	if v.Appeals, err = AppealsOf(ctx, s.DB, c.ResidentID); err != nil {
		return View{}, err
	}
	return v, nil
}

// Evidence a tracing wrote speaks to the holder (internal/tracing.Words):
// "you were at …" and "您于…". ThirdPerson turns it about the person, for
// staff; other text (evidence staff typed) is returned as it is.
func ThirdPerson(evidence string) string {
	switch {
	case strings.HasPrefix(evidence, "you were "):
		return "the person was " + strings.TrimPrefix(evidence, "you were ")
	case strings.HasPrefix(evidence, "您于"):
		return "此人于" + strings.TrimPrefix(evidence, "您于")
	}
	return evidence
}

// staffFacts is facts with the evidence about the person.
func staffFacts(facts map[string]string) map[string]string {
	out := make(map[string]string, len(facts))
	for k, v := range facts {
		if k == "evidence" || k == "evidence@zh" {
			v = ThirdPerson(v)
		}
		out[k] = v
	}
	return out
}

// Why words an audit entry's reason for a reader of l. A colour change the
// rules made is its cause, worded in l, and the rules' reasons told again in
// l from their facts; another entry the platform made is its cause worded in
// l; a person's own words, and an entry recorded before causes were, are
// shown as recorded (a colour change's reasons still told again).
func (s *Service) Why(ctx context.Context, e audit.Entry, l *i18n.Localizer, reader Reader) string {
	cause, hasCause := e.CauseOf()
	if e.Kind != audit.ColourChange {
		if hasCause {
			return l.Say(cause)
		}
		return e.Reason
	}
	told, ok := s.rulesIn(ctx, e, rules.Lang(l.Lang), reader)
	if !ok {
		if o := overrideReason(e); o != "" {
			told, ok = l.T("history.override_in_force", "Reason", o), true
		}
	}
	switch {
	case hasCause && ok:
		return l.T("history.why", "Cause", l.Say(cause), "Rules", told)
	case ok && l.Lang != string(rules.LangEN):
		return told // recorded before causes were: the English cause is left out
	}
	return e.Reason
}

// overrideReason is the reason of the manual override a colour change
// records as in force, "" when it records none.
func overrideReason(e audit.Entry) string {
	var after struct {
		Reason string `json:"override_reason"`
	}
	json.Unmarshal([]byte(e.After), &after)
	return after.Reason
}

// Summary words what an audit entry changed, for reader in l's language:
// a colour from and to, or the input recorded, with its values worded —
// never the stored field names and codes.
func Summary(e audit.Entry, l *i18n.Localizer, reader Reader) string {
	var before, after map[string]any
	json.Unmarshal([]byte(e.Before), &before)
	json.Unmarshal([]byte(e.After), &after)
	str := func(m map[string]any, k string) string {
		s, _ := m[k].(string)
		return s
	}
	word := func(prefix, v string) string {
		if v == "" || !l.Has(prefix+v) {
			return v
		}
		return l.T(prefix + v)
	}
	if a := str(after, "colour"); a != "" && (e.Kind == audit.ColourChange || e.Kind == audit.Override) {
		b := l.T("history.no_code")
		if c := str(before, "colour"); c != "" {
			b = word("colour.", c)
		}
		return l.T("history.summary.colour", "From", b, "To", word("colour.", a))
	}
	switch e.Kind {
	case audit.Trace:
		if _, ok := after["contact"]; !ok {
			return l.T("history.summary.traced") // the case's own tracing
		}
		kind := str(after, "contact")
		if kind == "" {
			return l.T("history.summary.contact_withdrawn")
		}
		evidence := str(after, "evidence")
		if l.Lang == string(rules.LangZH) {
			evidence = str(after, "evidence_zh") // "" for entries recorded before it was
		}
		if reader == Staff {
			evidence = ThirdPerson(evidence)
		}
		return l.T("history.summary.contact", "Kind", word("contact.", kind), "On", str(after, "exposed_on"), "Evidence", evidence)
	case audit.InputChange:
		switch {
		case after["case_status"] != nil:
			cs, _ := after["case_status"].(map[string]any)
			return l.T("history.summary.case_status", "Status", word("case.", str(cs, "status")), "Since", str(cs, "since"))
		case after["contact"] != nil:
			return l.T("history.summary.contact", "Kind", word("contact.", str(after, "kind")), "On", str(after, "exposed_on"),
				"Evidence", str(after, "evidence")) // typed by staff: shown as typed
		case after["test"] != nil:
			return l.T("history.summary.test", "Kind", word("history.test.", str(after, "kind")), "Result", word("test.", str(after, "result")),
				"On", str(after, "sampled_on"))
		case after["quarantine"] != nil:
			return l.T("history.summary.quarantine", "Kind", word("quarantine.", str(after, "kind")), "Start", str(after, "start"), "End", str(after, "end"))
		}
	case audit.Override:
		if _, ok := after["override"]; ok {
			return l.T("history.summary.override_cleared")
		}
	case audit.Appeal:
		if _, ok := after["answer"]; ok {
			return l.T("history.summary.appeal_answered")
		}
		return l.T("history.summary.appeal")
	case audit.RuleSet:
		return l.T("history.summary.rule_set", "Version", str(after, "version"))
	}
	return ""
}
