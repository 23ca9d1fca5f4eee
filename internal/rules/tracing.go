package rules

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Tracing is the tracing section of a rule file: every threshold of contact
// tracing, which internal/tracing turns into its policy. Durations are
// whole minutes (hours for the onset lead), as a health authority writes
// them.
type Tracing struct {
	// OnsetLeadHours is how long before symptom onset a case is taken to
	// be infectious.
	OnsetLeadHours int
	// Default applies to a place type the file does not name.
	Default PlaceRule
	// Places holds the rule of each place type named, its unset keys taken
	// from Default.
	Places map[string]PlaceRule
}

// PlaceRule is how contacts are found at one type of place.
type PlaceRule struct {
	// Contact is what makes two people there contacts: "place" (their
	// stays overlap by MinOverlapMinutes), "carriage" (the same carriage),
	// "rows" (seats at most Rows rows apart) or "vehicle" (the same ride).
	Contact              string
	MinOverlapMinutes    int
	Rows                 int
	UnknownSeatIsContact bool
	// Excluded types are never a place of contact (compound entrances,
	// outdoor checkpoints: people pass each other there).
	Excluded bool
	// NoSecondary types make close contacts of a case but not secondary
	// contacts of a close contact (key "secondary: false"; China's 9th
	// protocol counts only household, workplace, meals and the like).
	NoSecondary bool
	// DwellMinutes is the stay recorded when nobody checks out;
	// MaxStayMinutes the longest stay recorded.
	DwellMinutes   int
	MaxStayMinutes int
}

// Tracing returns the file's tracing section, or nil when it has none (the
// platform's defaults apply).
func (rs *RuleSet) Tracing() *Tracing { return rs.tracing }

// PlaceTypes are the place types a tracing section may name: the place
// registry's types.
var PlaceTypes = []string{"shop", "restaurant", "office", "school", "hospital", "station",
	"compound_entrance", "village_checkpoint", "train", "flight", "coach", "bus"}

var contactRules = []string{"place", "carriage", "rows", "vehicle"}

const maxStayLimit = 7 * 24 * 60 // minutes

func (p *parser) tracing(n *yaml.Node) *Tracing {
	t := &Tracing{OnsetLeadHours: 48, Places: map[string]PlaceRule{}}
	var placesNode, defaultNode *yaml.Node
	for _, kv := range p.pairs(n, "tracing") {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "onset_lead_hours":
			if h, ok := p.whole(v, "tracing: onset_lead_hours", 0, 14*24); ok {
				t.OnsetLeadHours = h
			}
		case "default":
			defaultNode = v
		case "places":
			placesNode = v
		default:
			p.unknownKey(k, "in tracing", "onset_lead_hours", "default", "places")
		}
	}
	if defaultNode == nil {
		p.add(n.Line, "tracing has no default (the rule for place types not named)")
		return t
	}
	t.Default = p.placeRule(defaultNode, "tracing: default", PlaceRule{}, true)
	if placesNode == nil {
		return t
	}
	for _, kv := range p.pairs(placesNode, "tracing: places") {
		k, v := kv[0], kv[1]
		if !slices.Contains(PlaceTypes, k.Value) {
			p.add(k.Line, "unknown place type %q in tracing: places%s (expected %s)", k.Value, suggest(k.Value, PlaceTypes),
				strings.Join(PlaceTypes, ", "))
			continue
		}
		t.Places[k.Value] = p.placeRule(v, "tracing: places: "+k.Value, t.Default, false)
	}
	return t
}

// placeRule reads one place type's rule, its unset keys taken from base.
func (p *parser) placeRule(n *yaml.Node, what string, base PlaceRule, complete bool) PlaceRule {
	r := base
	set := map[string]bool{}
	for _, kv := range p.pairs(n, what) {
		k, v := kv[0], kv[1]
		set[k.Value] = true
		switch k.Value {
		case "contact":
			if w := p.text(v, what+": contact"); w != "" && !slices.Contains(contactRules, w) {
				p.add(v.Line, "%s: contact %q is not one of %s%s", what, w, strings.Join(contactRules, ", "), suggest(w, contactRules))
			} else {
				r.Contact = w
			}
		case "min_overlap_minutes":
			r.MinOverlapMinutes, _ = p.whole(v, what+": min_overlap_minutes", 0, maxStayLimit)
		case "rows":
			r.Rows, _ = p.whole(v, what+": rows", 0, 100)
		case "unknown_seat_is_contact":
			r.UnknownSeatIsContact, _ = p.boolean(v, what+": unknown_seat_is_contact")
		case "excluded":
			r.Excluded, _ = p.boolean(v, what+": excluded")
		case "secondary":
			if b, ok := p.boolean(v, what+": secondary"); ok {
				r.NoSecondary = !b
			}
		case "dwell_minutes":
			r.DwellMinutes, _ = p.whole(v, what+": dwell_minutes", 1, maxStayLimit)
		case "max_stay_minutes":
			r.MaxStayMinutes, _ = p.whole(v, what+": max_stay_minutes", 1, maxStayLimit)
		default:
			p.unknownKey(k, "in "+what, "contact", "min_overlap_minutes", "rows", "unknown_seat_is_contact", "excluded",
				"secondary", "dwell_minutes", "max_stay_minutes")
		}
	}
	if complete {
		for _, k := range []string{"contact", "dwell_minutes", "max_stay_minutes"} {
			if !set[k] {
				p.add(n.Line, "%s has no %s", what, k)
			}
		}
	}
	if r.DwellMinutes > 0 && r.MaxStayMinutes > 0 && r.MaxStayMinutes < r.DwellMinutes {
		p.add(n.Line, "%s: max_stay_minutes %d is shorter than dwell_minutes %d", what, r.MaxStayMinutes, r.DwellMinutes)
	}
	if r.MaxStayMinutes > 0 && r.MinOverlapMinutes > r.MaxStayMinutes {
		p.add(n.Line, "%s: min_overlap_minutes %d is longer than max_stay_minutes %d", what, r.MinOverlapMinutes, r.MaxStayMinutes)
	}
	return r
}
