package healthcode

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/civil"
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

// HistoryView is one audit entry about the holder, with its reason in the
// view's language (ReasonIn).
type HistoryView struct {
	audit.Entry
	Summary string
	Why     string
}

// HistoryLimit is how many of the latest entries about a person a view
// shows.
const HistoryLimit = 50

// View builds the view of c in lang.
func (s *Service) View(ctx context.Context, c Code, lang string) (View, error) {
	e, err := ExplanationOf(c)
	if err != nil {
		return View{}, err
	}
	l := rules.Lang(lang)
	v := View{Code: c, OverrideActive: c.OverrideActive(s.today())}
	for _, rs := range e.Reasons {
		v.Reasons = append(v.Reasons, ReasonView{RuleID: rs.RuleID, Colour: string(rs.Colour), Text: rs.Text[l], GreenOn: rs.GreenOn, Facts: rs.Facts})
	}
	for _, cd := range e.Conditions {
		v.Conditions = append(v.Conditions, cd.Text[l])
	}
	es, err := History(ctx, s.DB, c.ResidentID, HistoryLimit)
	if err != nil {
		return View{}, err
	}
	for _, a := range es {
		v.History = append(v.History, HistoryView{Entry: a, Summary: summary(a), Why: s.ReasonIn(ctx, a, lang)})
	}
	if v.Appeals, err = AppealsOf(ctx, s.DB, c.ResidentID); err != nil {
		return View{}, err
	}
	return v, nil
}

// summary words an audit entry's before and after in a line.
func summary(e audit.Entry) string {
	var before, after map[string]any
	json.Unmarshal([]byte(e.Before), &before)
	json.Unmarshal([]byte(e.After), &after)
	colour := func(m map[string]any) string {
		if s, ok := m["colour"].(string); ok {
			return s
		}
		return ""
	}
	if b, a := colour(before), colour(after); a != "" {
		if b == "" {
			b = "—"
		}
		return b + " → " + a
	}
	parts := []string{}
	for k, v := range after {
		if s, ok := v.(string); ok && s != "" && len(parts) < 4 {
			parts = append(parts, k+": "+s)
		}
	}
	return strings.Join(parts, ", ")
}
