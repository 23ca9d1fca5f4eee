package rules

import (
	"slices"
	"strconv"
	"strings"

	"github.com/outbreak-platform/outbreak/internal/civil"
)

// Outcome is a health code computed from facts: its colour and why.
type Outcome struct {
	Colour Colour `json:"colour"`
	// On is the day the facts were evaluated ("today").
	On civil.Date `json:"on"`
	// Reasons are the rules in force, most severe first; empty when green.
	Reasons []Reason `json:"reasons"`
	// GreenOn is the earliest day the code may turn green by itself: the
	// latest day on which a rule in force has its quarantine served, and
	// never before On. Zero when the code is green.
	GreenOn civil.Date `json:"green_on"`
	// Conditions are what must still happen, besides waiting for GreenOn.
	Conditions []Condition `json:"conditions"`
	// RuleSetVersion is the version of the rule file that decided.
	RuleSetVersion string `json:"rule_set_version"`
}

// Reason is one rule in force.
type Reason struct {
	RuleID string `json:"rule_id"`
	Colour Colour `json:"colour"`
	// GreenOn is the day this rule's quarantine is served (not before On).
	GreenOn civil.Date `json:"green_on"`
	// Facts are the facts that matched, by placeholder name (region,
	// exposed_on, evidence...), in the stores' own words and codes.
	Facts map[string]string `json:"facts"`
	// Text is the rule's explanation with the facts filled in.
	Text map[Lang]string `json:"text"`
}

// ConditionKind names what a Condition asks for.
type ConditionKind string

const (
	// ConditionDeclare: declare daily, and once on or after Date.
	ConditionDeclare ConditionKind = "declare"
	// ConditionNegativeTest: a negative test of TestKind sampled after Date.
	ConditionNegativeTest ConditionKind = "negative_test"
	// ConditionWhileTrue: the colour lasts as long as RuleID's condition.
	ConditionWhileTrue ConditionKind = "while_true"
)

// Condition is something that must still happen before the code turns
// green by itself.
type Condition struct {
	Kind     ConditionKind   `json:"kind"`
	Date     civil.Date      `json:"date,omitzero"`
	TestKind string          `json:"test_kind,omitempty"` // "pcr", "antibody" or "any", for ConditionNegativeTest
	RuleID   string          `json:"rule_id,omitempty"`   // for ConditionWhileTrue
	Text     map[Lang]string `json:"text"`
}

// Evaluate computes the health code for f under rs, which must not be nil.
// It is deterministic, reads nothing but its arguments and is safe for
// concurrent use.
func Evaluate(rs *RuleSet, f Facts) Outcome {
	var e evaluator
	e.start(rs, &f)
	out := Outcome{Colour: Green, On: e.today.date(), RuleSetVersion: rs.version}
	var (
		green     day
		declareBy day    = -1 << 62
		tests     [3]day // threshold per test kind; set when testSet
		testSet   [3]bool
	)
	for _, i := range rs.order {
		r := &rs.rules[i]
		in, g := e.inForce(r)
		if !in {
			continue
		}
		if len(out.Reasons) == 0 {
			out.Colour = r.colour
			out.Reasons = make([]Reason, 0, 2)
			green = g
		}
		green = max(green, g)
		rsn := e.reason(r, g)
		out.Reasons = append(out.Reasons, rsn)
		if r.rel.whileTrue {
			out.Conditions = append(out.Conditions, whileCondition(rsn))
			continue
		}
		if r.rel.declared && !e.declaredOnOrAfter(e.greenDay) {
			declareBy = max(declareBy, e.greenDay)
		}
		if r.rel.test != "" {
			th := e.testThreshold(e.anchorDay)
			if !e.negativeTestAfter(r.rel.test, th) {
				k := testIndex(r.rel.test)
				if !testSet[k] || th > tests[k] {
					tests[k], testSet[k] = th, true
				}
			}
		}
	}
	if len(out.Reasons) == 0 {
		return out
	}
	out.GreenOn = green.date()
	var conds []Condition
	if declareBy > -1<<62 {
		d := e.formatDay(declareBy)
		conds = append(conds, Condition{Kind: ConditionDeclare, Date: declareBy.date(), Text: map[Lang]string{
			LangZH: "请每日申报健康状况，直至" + d + "，并于当日或之后再申报一次。",
			LangEN: "Send a health declaration every day until " + d + ", and once on or after that day.",
		}})
	}
	for k, set := range testSet {
		if !set {
			continue
		}
		kind := testWords.words[k]
		d := e.formatDay(tests[k])
		conds = append(conds, Condition{Kind: ConditionNegativeTest, Date: tests[k].date(), TestKind: kind, Text: map[Lang]string{
			LangZH: "需有" + d + "之后采样的" + testWords.zh[k] + "检测阴性结果。",
			LangEN: "A negative " + testWords.en[k] + " test sampled after " + d + " must be on record.",
		}})
	}
	out.Conditions = append(conds, out.Conditions...)
	return out
}

// colourOf is Evaluate's colour alone, without explanations: the first rule
// in force in severity order decides.
func colourOf(rs *RuleSet, f *Facts) Colour {
	var e evaluator
	e.start(rs, f)
	for _, i := range rs.order {
		if in, _ := e.inForce(&rs.rules[i]); in {
			return rs.rules[i].colour
		}
	}
	return Green
}

func testIndex(kind string) int {
	switch kind {
	case "pcr":
		return 0
	case "antibody":
		return 1
	}
	return 2
}

// Binding bits: which facts the rule's condition matched.
const (
	bCase = 1 << iota
	bContact
	bDeclaredExposure
	bDeclaration
	bVisit
	bOverdue
	bQuarantine
)

type binding struct {
	has       uint8
	contact   int
	visit     int
	decl      int // the declaration matched, an index of the history (0: the latest)
	anchorSet bool
	anchorDay day
	anchorWin int // within_days of the predicate that gave the anchor
}

// evaluator holds one evaluation's facts, digested once, and the rule being
// evaluated with what its condition matched.
type evaluator struct {
	rs    *RuleSet
	f     Facts // a copy: a pointer to the caller's would move it to the heap
	today day

	caseBit  uint32
	caseDay  day
	hasDecl  bool
	declDay  day
	fever    bool
	symptoms uint32
	shown    uint32 // the symptoms {symptoms} shows: the matched declaration's

	dates [4]struct { // recently formatted days, as most reasons repeat them
		d day
		s string
	}

	r         *rule
	b         binding
	anchorDay day // of the rule in force, after inForce
	greenDay  day // of the rule in force, after inForce (not clamped to today)
}

func (e *evaluator) start(rs *RuleSet, f *Facts) {
	e.rs, e.f = rs, *f
	e.today = dayOf(civil.Of(f.Now))
	e.caseBit, _ = caseWords.bit(string(f.CaseStatus))
	e.caseDay = e.dayOr(f.CaseSince)
	if d := f.LatestDeclaration; d != nil {
		e.hasDecl = true
		e.declDay = dayOf(civil.Of(d.At.In(f.Now.Location())))
		e.symptoms = e.declBits(d)
		e.fever = e.symptoms&feverBit != 0
	}
}

// declBits is the symptoms d reports, fever among them from its
// temperature.
func (e *evaluator) declBits(d *Declaration) uint32 {
	var set uint32
	for _, s := range d.Symptoms {
		b, _ := symptomWords.bit(s)
		set |= b
	}
	if d.TemperatureC >= e.rs.feverC {
		set |= feverBit
	}
	return set
}

// history is how many declarations are known, newest first (declAt).
func (e *evaluator) history() int {
	if n := len(e.f.Declarations); n > 0 {
		return n
	}
	if e.hasDecl {
		return 1
	}
	return 0
}

// declAt is the i-th declaration of the history, the latest first.
func (e *evaluator) declAt(i int) *Declaration {
	if len(e.f.Declarations) > 0 {
		return &e.f.Declarations[i]
	}
	return e.f.LatestDeclaration
}

// declaredSymptoms matches a fever or symptoms predicate asking for any of
// set. Outside a rule counted from the declaration date, the latest
// declaration alone is read. Inside one, the latest declaration that
// reported any of set gives the anchor, so that the rule holds its days
// after later declarations without them, until it has let go.
func (e *evaluator) declaredSymptoms(o op, set uint32, positive bool) bool {
	if !e.counts(o, positive) {
		if e.symptoms&set == 0 {
			return false
		}
		e.b.has |= bDeclaration
		e.b.decl = 0
		return true
	}
	for i, n := 0, e.history(); i < n; i++ {
		d := e.declAt(i)
		if e.declBits(d)&set == 0 {
			continue
		}
		at := e.declDay
		if i > 0 {
			at = dayOf(civil.Of(d.At.In(e.f.Now.Location())))
			if e.released(at, 0) {
				return false // the latest that matched has let go; older ones did too
			}
		}
		e.b.has |= bDeclaration
		e.b.decl = i
		e.setAnchor(at, 0)
		return true
	}
	return false
}

// dayOr is d as a day, or today when d is missing.
func (e *evaluator) dayOr(d civil.Date) day {
	if d.IsZero() {
		return e.today
	}
	return dayOf(d)
}

// inForce reports whether r holds the code, and the day its quarantine is
// served (never before today).
func (e *evaluator) inForce(r *rule) (bool, day) {
	e.r = r
	e.b = binding{contact: -1, visit: -1}
	if !e.eval(&r.when, true) {
		return false, 0
	}
	if r.rel.whileTrue {
		e.anchorDay, e.greenDay = e.today, e.today
		return true, e.today
	}
	a, w := e.today, 0
	if e.b.anchorSet {
		a, w = e.b.anchorDay, e.b.anchorWin
	}
	if e.released(a, w) {
		return false, 0
	}
	e.anchorDay, e.greenDay = a, a+day(max(r.rel.days, w))
	return true, max(e.greenDay, e.today)
}

// released reports whether the current rule, counted from anchor a by a
// predicate with window w, has let go: its quarantine is served, and the
// declaration and negative test it asks for are on record.
func (e *evaluator) released(a day, w int) bool {
	rel := &e.r.rel
	g := a + day(max(rel.days, w))
	if e.today < g {
		return false
	}
	if rel.declared && !e.declaredOnOrAfter(g) {
		return false
	}
	if rel.test != "" && !e.negativeTestAfter(rel.test, e.testThreshold(a)) {
		return false
	}
	return true
}

func (e *evaluator) declaredOnOrAfter(g day) bool { return e.hasDecl && e.declDay >= g }

// testThreshold is the day after which a releasing test must be sampled:
// the anchor, or the start of the quarantine when counting from its end.
func (e *evaluator) testThreshold(a day) day {
	if e.r.rel.from == anchorQuarantine && e.f.Quarantine != nil {
		return e.dayOr(e.f.Quarantine.Start)
	}
	return a
}

// negativeTestAfter reports whether a negative test of kind was sampled
// after day th and no positive one of that kind on or after it.
func (e *evaluator) negativeTestAfter(kind string, th day) bool {
	var neg, pos day
	hasNeg, hasPos := false, false
	for i := range e.f.Tests {
		t := &e.f.Tests[i]
		if kind != "any" && string(t.Kind) != kind {
			continue
		}
		d := e.dayOr(t.SampledOn)
		if d <= th {
			continue
		}
		switch t.Result {
		case TestNegative:
			if !hasNeg || d > neg {
				neg, hasNeg = d, true
			}
		case TestPositive:
			if !hasPos || d > pos {
				pos, hasPos = d, true
			}
		}
	}
	return hasNeg && (!hasPos || pos < neg)
}

// counts reports whether a predicate of op, outside any not, gives the
// current rule its anchor: such a predicate keeps matching a dated record
// after its window until the rule has let go of it.
func (e *evaluator) counts(o op, positive bool) bool {
	if !positive || e.r.rel.whileTrue {
		return false
	}
	switch e.r.rel.from {
	case anchorCase:
		return o == opCase
	case anchorExposure:
		return o == opContact || o == opExposure
	case anchorVisit:
		return o == opVisit
	case anchorDeclaration:
		return o == opFever || o == opSymptoms
	case anchorQuarantine:
		return o == opQuarantine
	}
	return false
}

func (e *evaluator) setAnchor(d day, w int) {
	if !e.b.anchorSet || d > e.b.anchorDay {
		e.b.anchorSet, e.b.anchorDay, e.b.anchorWin = true, d, w
	}
}

// inWindow reports whether a record dated d is within w days back (w 0:
// no limit). Records dated in the future count.
func (e *evaluator) inWindow(d day, w int) bool { return w == 0 || e.today-d < day(w) }

func (e *evaluator) eval(c *cond, positive bool) bool {
	f := &e.f
	switch c.op {
	case opAll:
		saved := e.b
		for i := range c.kids {
			if !e.eval(&c.kids[i], positive) {
				e.b = saved
				return false
			}
		}
		return true
	case opAny:
		for i := range c.kids {
			saved := e.b
			if e.eval(&c.kids[i], positive) {
				return true
			}
			e.b = saved
		}
		return false
	case opNot:
		saved := e.b
		v := e.eval(&c.kids[0], false)
		e.b = saved
		return !v
	case opCase:
		if e.caseBit&c.set == 0 {
			return false
		}
		e.b.has |= bCase
		if e.counts(opCase, positive) {
			e.setAnchor(e.caseDay, 0)
		}
		return true
	case opContact:
		anchored := e.counts(opContact, positive)
		best, bestDay := -1, day(0)
		for i := range f.Contacts {
			ct := &f.Contacts[i]
			b, _ := contactWords.bit(string(ct.Kind))
			if b&c.set == 0 {
				continue
			}
			d := e.dayOr(ct.ExposedOn)
			if !anchored && !e.inWindow(d, c.window) {
				continue
			}
			if best < 0 || d > bestDay {
				best, bestDay = i, d
			}
		}
		if best < 0 || anchored && !e.inWindow(bestDay, c.window) && e.released(bestDay, c.window) {
			return false
		}
		e.b.has |= bContact
		e.b.contact = best
		if anchored {
			e.setAnchor(bestDay, c.window)
		}
		return true
	case opVisit:
		anchored := e.counts(opVisit, positive)
		best, bestDay := -1, day(0)
		for i := range f.Visits {
			v := &f.Visits[i]
			b, _ := riskWords.bit(string(v.Risk))
			if b&c.set == 0 {
				continue
			}
			d := e.dayOr(v.On)
			if !anchored && !e.inWindow(d, c.window) {
				continue
			}
			if best < 0 || d > bestDay {
				best, bestDay = i, d
			}
		}
		if best < 0 || anchored && !e.inWindow(bestDay, c.window) && e.released(bestDay, c.window) {
			return false
		}
		e.b.has |= bVisit
		e.b.visit = best
		if anchored {
			e.setAnchor(bestDay, c.window)
		}
		return true
	case opExposure:
		anchored := c.want && e.counts(opExposure, positive)
		best, bestDay, declared := -1, day(0), false
		for i := range f.Contacts {
			d := e.dayOr(f.Contacts[i].ExposedOn)
			if !anchored && !e.inWindow(d, c.window) {
				continue
			}
			if (best < 0 && !declared) || d > bestDay {
				best, bestDay = i, d
			}
		}
		if e.hasDecl && f.LatestDeclaration.ContactWithCase && (anchored || e.inWindow(e.declDay, c.window)) {
			if (best < 0 && !declared) || e.declDay > bestDay {
				best, bestDay, declared = -1, e.declDay, true
			}
		}
		found := best >= 0 || declared
		if !c.want {
			return !found
		}
		if !found || anchored && !e.inWindow(bestDay, c.window) && e.released(bestDay, c.window) {
			return false
		}
		if declared {
			e.b.has |= bDeclaredExposure
		} else {
			e.b.has |= bContact
			e.b.contact = best
		}
		if anchored {
			e.setAnchor(bestDay, c.window)
		}
		return true
	case opFever:
		if !c.want {
			return !e.fever
		}
		return e.declaredSymptoms(opFever, feverBit, positive)
	case opSymptoms:
		return e.declaredSymptoms(opSymptoms, c.set, positive)
	case opOverdue:
		if f.DeclarationDueHours < c.hours {
			return false
		}
		e.b.has |= bOverdue
		return true
	case opQuarantine:
		q := f.Quarantine
		if q == nil {
			return false
		}
		if b, _ := quarantineWords.bit(string(q.Kind)); b&c.set == 0 {
			return false
		}
		e.b.has |= bQuarantine
		if e.counts(opQuarantine, positive) {
			e.setAnchor(e.dayOr(q.End), 0)
		}
		return true
	}
	return false
}

// reason explains rule r, just found in force with green day g.
func (e *evaluator) reason(r *rule, g day) Reason {
	facts := e.facts(r, g)
	text := make(map[Lang]string, len(Langs))
	for i, l := range Langs {
		text[l] = e.render(r.explain[i], l, facts)
	}
	return Reason{RuleID: r.id, Colour: r.colour, GreenOn: g.date(), Facts: facts, Text: text}
}

// NoRuleText says, in language l, that no rule is in force: the reason of
// a code turning green.
func NoRuleText(l Lang) string {
	if l == LangZH {
		return "没有适用的规则：绿码"
	}
	return "no rule in force: green"
}

func whileCondition(r Reason) Condition {
	return Condition{Kind: ConditionWhileTrue, RuleID: r.RuleID, Text: map[Lang]string{
		LangZH: "以下情况持续期间不会自动解除：" + r.Text[LangZH],
		LangEN: "Lasts as long as this holds: " + r.Text[LangEN],
	}}
}

// facts lists what the current binding matched, by placeholder name.
func (e *evaluator) facts(r *rule, g day) map[string]string {
	f, b := &e.f, &e.b
	m := make(map[string]string, 8)
	if b.has&bCase != 0 {
		m["status"] = string(f.CaseStatus)
		m["since"] = e.formatDay(e.caseDay)
	}
	if b.has&bContact != 0 && b.contact >= 0 {
		c := &f.Contacts[b.contact]
		m["contact"] = string(c.Kind)
		m["exposed_on"] = e.formatDay(e.dayOr(c.ExposedOn))
		m["evidence"] = c.Evidence
		if c.EvidenceZH != "" {
			m["evidence@zh"] = c.EvidenceZH
		}
	}
	if b.has&bDeclaredExposure != 0 {
		m["contact"] = "declared"
		m["exposed_on"] = e.formatDay(e.declDay)
		m["evidence"] = "declared contact with a case"
	}
	e.shown = e.symptoms
	if b.has&bDeclaration != 0 {
		d, on := f.LatestDeclaration, e.declDay
		if b.decl > 0 {
			d = e.declAt(b.decl)
			on = dayOf(civil.Of(d.At.In(f.Now.Location())))
			e.shown = e.declBits(d)
		}
		m["temperature"] = strconv.FormatFloat(d.TemperatureC, 'f', 1, 64)
		m["symptoms"] = symptomCodes(e.shown)
		m["declared_on"] = e.formatDay(on)
	}
	if b.has&bVisit != 0 && b.visit >= 0 {
		v := &f.Visits[b.visit]
		m["region"] = v.RegionName
		m["region_code"] = v.RegionCode
		m["risk"] = string(v.Risk)
		m["visited_on"] = e.formatDay(e.dayOr(v.On))
	}
	if b.has&bOverdue != 0 {
		m["hours"] = strconv.Itoa(f.DeclarationDueHours)
	}
	if b.has&bQuarantine != 0 {
		q := f.Quarantine
		m["quarantine"] = string(q.Kind)
		m["quarantine_start"] = e.formatDay(e.dayOr(q.Start))
		m["quarantine_end"] = e.formatDay(e.dayOr(q.End))
	}
	if !r.rel.whileTrue {
		m["date"] = e.formatDay(e.anchorDay)
		m["days"] = strconv.Itoa(max(r.rel.days, int(e.greenDay-e.anchorDay)))
	}
	m["green_on"] = e.formatDay(g)
	return m
}

func symptomCodes(set uint32) string {
	var b strings.Builder
	for i, w := range symptomWords.words {
		if set&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(w)
		}
	}
	return b.String()
}

// Explain renders the explanation of the rule id in language l from facts,
// the Facts of a Reason this rule set gave, as Evaluate wrote it into the
// Reason's Text. It reports false when the rule set has no rule id, or
// does not speak l: a reason recorded under another rule set is explained
// by that one.
func (rs *RuleSet) Explain(id string, l Lang, facts map[string]string) (string, bool) {
	i := slices.IndexFunc(rs.rules, func(r rule) bool { return r.id == id })
	li := slices.Index(Langs, l)
	if i < 0 || li < 0 {
		return "", false
	}
	e := evaluator{rs: rs}
	for _, w := range strings.Split(facts["symptoms"], ",") {
		b, _ := symptomWords.bit(w)
		e.shown |= b
	}
	return e.render(rs.rules[i].explain[li], l, facts), true
}

// render fills t's placeholders from facts in language l; words from the
// vocabularies are shown in l. A fact the condition did not match shows as
// "?".
func (e *evaluator) render(t template, l Lang, facts map[string]string) string {
	var b strings.Builder
	size := 0
	for _, s := range t {
		size += len(s.lit)
		if s.key != keyNone {
			size += 24
		}
	}
	b.Grow(size)
	for _, s := range t {
		b.WriteString(s.lit)
		if s.key == keyNone {
			continue
		}
		v, ok := facts[keyNames[s.key]]
		if !ok {
			b.WriteByte('?')
			continue
		}
		switch s.key {
		case keyStatus:
			v = caseWords.label(v, l)
		case keyContact:
			if v == "declared" {
				v = map[Lang]string{LangZH: "本人申报接触过病例", LangEN: "declared contact with a case"}[l]
			} else {
				v = contactWords.label(v, l)
			}
		case keyEvidence:
			if facts["contact"] == "declared" {
				v = map[Lang]string{LangZH: "本人申报接触过病例", LangEN: "declared contact with a case"}[l]
			} else if zh, ok := facts["evidence@zh"]; ok && l == LangZH {
				v = zh
			}
		case keyRisk:
			v = riskWords.label(v, l)
		case keyQuarantine:
			v = quarantineWords.label(v, l)
		case keySymptoms:
			e.writeSymptoms(&b, l)
			continue
		}
		b.WriteString(v)
	}
	return b.String()
}

// formatDay is formatDay(n), remembered.
func (e *evaluator) formatDay(n day) string {
	i := int(n) & (len(e.dates) - 1)
	if c := &e.dates[i]; c.s != "" && c.d == n {
		return c.s
	}
	s := formatDay(n)
	e.dates[i].d, e.dates[i].s = n, s
	return s
}

// writeSymptoms writes the declared symptoms in language l.
func (e *evaluator) writeSymptoms(b *strings.Builder, l Lang) {
	sep := ", "
	if l == LangZH {
		sep = "、"
	}
	first := true
	for i := range symptomWords.words {
		if e.shown&(1<<i) == 0 {
			continue
		}
		if !first {
			b.WriteString(sep)
		}
		first = false
		if l == LangZH {
			b.WriteString(symptomWords.zh[i])
		} else {
			b.WriteString(symptomWords.en[i])
		}
	}
}

// formatDay writes n as YYYY-MM-DD without fmt.
func formatDay(n day) string {
	d := n.date()
	if d.Year < 0 || d.Year > 9999 {
		return d.String()
	}
	var buf [10]byte
	y := d.Year
	buf[0], buf[1], buf[2], buf[3] = byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10)
	buf[4] = '-'
	buf[5], buf[6] = byte('0'+int(d.Month)/10), byte('0'+int(d.Month)%10)
	buf[7] = '-'
	buf[8], buf[9] = byte('0'+d.Day/10), byte('0'+d.Day%10)
	return string(buf[:])
}
