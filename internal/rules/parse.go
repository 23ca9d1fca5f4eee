package rules

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Limits on a rule file, so that a mistaken or hostile file cannot exhaust
// the loader.
const (
	maxFileBytes = 1 << 20
	maxDepth     = 12   // nesting of all/any/not
	maxDays      = 3660 // ten years
	maxHours     = 24 * maxDays
)

// Problem is one thing wrong with a rule file. Line is 1-based; 0 means the
// problem concerns the file as a whole.
type Problem struct {
	Line    int    `json:"line"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Line == 0 {
		return p.Message
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Message)
}

// ParseError is a refused rule file: every problem found, in line order.
type ParseError struct {
	File     string // set by Load
	Problems []Problem
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("rules: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if len(e.Problems) == 1 {
		b.WriteString(e.Problems[0].String())
		return b.String()
	}
	fmt.Fprintf(&b, "%d problems:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Load reads and parses the rule file at path.
func Load(path string) (*RuleSet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules: load: %w", err)
	}
	rs, err := Parse(data)
	if pe, ok := errors.AsType[*ParseError](err); ok {
		pe.File = path
	}
	return rs, err
}

// Parse reads a rule file. A file with anything wrong in it is refused as a
// whole with a *ParseError listing every problem found and its line.
func Parse(data []byte) (*RuleSet, error) {
	p := &parser{}
	rs := p.parse(data)
	if len(p.problems) > 0 {
		slices.SortStableFunc(p.problems, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
		return nil, &ParseError{Problems: p.problems}
	}
	return rs, nil
}

type parser struct {
	problems []Problem
}

func (p *parser) add(line int, format string, args ...any) {
	p.problems = append(p.problems, Problem{Line: line, Message: fmt.Sprintf(format, args...)})
}

func (p *parser) parse(data []byte) *RuleSet {
	if len(data) > maxFileBytes {
		p.add(0, "the file is %d bytes; a rule file may be at most %d", len(data), maxFileBytes)
		return nil
	}
	if !p.checkText(data) {
		return nil
	}
	root := p.decode(data)
	if root == nil {
		return nil
	}
	rs := &RuleSet{digest: sha256.Sum256(data), feverC: DefaultFeverC}
	if root.Kind != yaml.MappingNode {
		p.add(root.Line, "the file must be a mapping with the keys version, quarantine_days and rules")
		return nil
	}
	var rulesNode *yaml.Node
	haveQuarantine, haveVersion := false, false
	for _, kv := range p.pairs(root, "the file") {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "version":
			haveVersion = true
			rs.version = p.text(v, "version")
		case "quarantine_days":
			haveQuarantine = p.quarantineDays(k.Line, v, rs)
		case "fever_threshold_c":
			if f, ok := p.number(v, "fever_threshold_c"); ok {
				if f < 35 || f > 42 {
					p.add(v.Line, "fever_threshold_c %g is not a plausible fever threshold (35 to 42 °C)", f)
				} else {
					rs.feverC = f
				}
			}
		case "rules":
			rulesNode = v
		case "tracing":
			rs.tracing = p.tracing(v)
		default:
			p.unknownKey(k, "at the top of the file", "version", "quarantine_days", "fever_threshold_c", "rules", "tracing")
		}
	}
	if !haveVersion {
		p.add(root.Line, "the file has no version; give it one, e.g. version: \"2020-02-15\"")
	}
	if !haveQuarantine && !p.hasKey(root, "quarantine_days") {
		p.add(root.Line, "the file has no quarantine_days (e.g. red: 14, yellow: 7)")
	}
	if rulesNode == nil {
		p.add(root.Line, "the file has no rules")
		return rs
	}
	p.rules(rulesNode, rs)
	return rs
}

// checkText refuses bytes a YAML parser would reject without saying where.
func (p *parser) checkText(data []byte) bool {
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			p.add(line, "the file is not valid UTF-8 text")
			return false
		case r == '\n':
			line++
		case r == '\uFEFF' && i == 0, r == '\t', r == '\r':
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\uFEFF' || r == '\uFFFE' || r == '\uFFFF':
			p.add(line, "the file contains the control character %U; rule files are plain text", r)
			return false
		}
		i += size
	}
	return true
}

var yamlLine = regexp.MustCompile(`line (\d+)(?:, column \d+)?: `)

// decode parses the YAML document, refusing more than one document and
// anchors/aliases, and returns its root node.
func (p *parser) decode(data []byte) (root *yaml.Node) {
	defer func() {
		// The YAML library is not ours; whatever it does with a hostile
		// file, the loader refuses the file rather than crash.
		if r := recover(); r != nil {
			root = nil
			p.add(0, "the file could not be read as YAML")
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.add(0, "the file is empty")
		} else {
			p.yamlError(data, err)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		p.add(extra.Line, "the file holds a second YAML document (---); a rule file is one document")
		return nil
	case !errors.Is(err, io.EOF):
		p.yamlError(data, err)
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		p.add(0, "the file is empty")
		return nil
	}
	if !p.plain(doc.Content[0], 0) {
		return nil
	}
	return doc.Content[0]
}

// yamlError reports a syntax error. The YAML library names the line where
// the enclosing block began, often well above the mistake, so the line is
// taken instead as the first line, from there on, at which the file cut
// there fails in the same way. The search is bounded; past the bound the
// library's line stands.
func (p *parser) yamlError(data []byte, err error) {
	msg, line := splitYAMLError(err)
	end, budget := 0, maxSearchBytes
	for k := 1; end < len(data) && budget > 0; k++ {
		next := bytes.IndexByte(data[end:], '\n')
		if next < 0 {
			end = len(data)
		} else {
			end += next + 1
		}
		if k < line {
			continue
		}
		budget -= end
		if m, ok := syntaxError(data[:end]); ok && m == msg {
			line = k
			break
		}
	}
	p.add(line, "not valid YAML: %s", msg)
}

// maxSearchBytes bounds the bytes parsed in search of a syntax error's line.
const maxSearchBytes = 1 << 20

// syntaxError parses data as one YAML document and returns the error's
// message without its line.
func syntaxError(data []byte) (msg string, failed bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var n yaml.Node
	err := dec.Decode(&n)
	if err == nil {
		err = dec.Decode(&n)
	}
	if err == nil || errors.Is(err, io.EOF) {
		return "", false
	}
	msg, _ = splitYAMLError(err)
	return msg, true
}

func splitYAMLError(err error) (msg string, line int) {
	msg = strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLine.FindStringSubmatchIndex(msg); m != nil {
		line, _ = strconv.Atoi(msg[m[2]:m[3]])
		msg = msg[:m[0]] + msg[m[1]:]
	}
	return msg, line
}

// plain reports whether the tree under n uses no anchors, aliases or
// explicit tags: a rule file says everything in the open.
func (p *parser) plain(n *yaml.Node, depth int) bool {
	ok := true
	if n.Kind == yaml.AliasNode {
		p.add(n.Line, "aliases (*%s) are not allowed; write the rule out in full", n.Value)
		return false
	}
	if n.Anchor != "" {
		p.add(n.Line, "anchors (&%s) are not allowed; write the rule out in full", n.Anchor)
		ok = false
	}
	if n.Style&yaml.TaggedStyle != 0 {
		p.add(n.Line, "explicit tags (%s) are not allowed", n.Tag)
		ok = false
	}
	if depth > 64 {
		p.add(n.Line, "the file is nested too deeply")
		return false
	}
	for _, c := range n.Content {
		if !p.plain(c, depth+1) {
			ok = false
		}
	}
	return ok
}

// pairs returns a mapping's key/value pairs, reporting duplicate and
// non-text keys.
func (p *parser) pairs(n *yaml.Node, what string) [][2]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, "%s must be a mapping of keys to values", what)
		return nil
	}
	out := make([][2]*yaml.Node, 0, len(n.Content)/2)
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.add(k.Line, "a key in %s must be a plain word", what)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.add(k.Line, "duplicate key %q in %s (first on line %d)", k.Value, what, first)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out
}

func (p *parser) hasKey(n *yaml.Node, key string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

func (p *parser) unknownKey(k *yaml.Node, where string, known ...string) {
	p.add(k.Line, "unknown key %q %s%s (expected %s)", k.Value, where, suggest(k.Value, known), strings.Join(known, ", "))
}

// text reads a non-empty scalar.
func (p *parser) text(n *yaml.Node, what string) string {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		p.add(n.Line, "%s must be a text value", what)
		return ""
	}
	s := strings.TrimSpace(n.Value)
	if s == "" {
		p.add(n.Line, "%s is empty", what)
	}
	return s
}

func (p *parser) boolean(n *yaml.Node, what string) (bool, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		switch strings.ToLower(n.Value) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	p.add(n.Line, "%s must be true or false, not %s", what, show(n))
	return false, false
}

// whole reads a whole number in [min, max].
func (p *parser) whole(n *yaml.Node, what string, min, max int) (int, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		p.add(n.Line, "%s must be a whole number, not %s", what, show(n))
		return 0, false
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil {
		p.add(n.Line, "%s must be a plain whole number like 14, not %s", what, show(n))
		return 0, false
	}
	if v < 0 {
		p.add(n.Line, "%s is negative (%d)", what, v)
		return 0, false
	}
	if v < min || v > max {
		p.add(n.Line, "%s must be between %d and %d, not %d", what, min, max, v)
		return 0, false
	}
	return v, true
}

func (p *parser) number(n *yaml.Node, what string) (float64, bool) {
	if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!float" || n.ShortTag() == "!!int") {
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f, true
		}
	}
	p.add(n.Line, "%s must be a number, not %s", what, show(n))
	return 0, false
}

// words reads one word or a list of words of v's vocabulary, as bits.
func (p *parser) words(n *yaml.Node, what string, v *vocabulary) uint32 {
	var items []*yaml.Node
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() != "!!null" {
			items = []*yaml.Node{n}
		}
	case yaml.SequenceNode:
		items = n.Content
	default:
		p.add(n.Line, "%s must be a %s or a list of them", what, v.name)
		return 0
	}
	if len(items) == 0 {
		p.add(n.Line, "%s lists no %s", what, v.name)
		return 0
	}
	var set uint32
	for _, it := range items {
		if it.Kind != yaml.ScalarNode {
			p.add(it.Line, "%s must list plain words", what)
			continue
		}
		b, ok := v.bit(it.Value)
		if !ok {
			p.add(it.Line, "unknown %s %q%s (expected one of %s)", v.name, it.Value, suggest(it.Value, v.words), strings.Join(v.words, ", "))
			continue
		}
		set |= b
	}
	return set
}

func (p *parser) quarantineDays(at int, n *yaml.Node, rs *RuleSet) bool {
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, "quarantine_days must give the days per colour, e.g. red: 14 and yellow: 7")
		return false
	}
	have := [3]bool{}
	for _, kv := range p.pairs(n, "quarantine_days") {
		k, v := kv[0], kv[1]
		c := Colour(k.Value)
		switch c {
		case Red, Yellow:
			if d, ok := p.whole(v, "quarantine_days."+k.Value, 0, maxDays); ok {
				rs.quarantine[c.severity()] = d
			}
			have[c.severity()] = true
		case Green:
			p.add(k.Line, "quarantine_days cannot give days for green: green means no quarantine")
		default:
			p.add(k.Line, "unknown colour %q in quarantine_days%s (expected red or yellow)", k.Value, suggest(k.Value, []string{"red", "yellow"}))
		}
	}
	for _, c := range []Colour{Red, Yellow} {
		if !have[c.severity()] {
			p.add(at, "quarantine_days gives no days for %s", c)
		}
	}
	return true
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

func (p *parser) rules(n *yaml.Node, rs *RuleSet) {
	if n.Kind != yaml.SequenceNode {
		p.add(n.Line, "rules must be a list, each rule starting with \"- id:\"")
		return
	}
	if len(n.Content) == 0 {
		p.add(n.Line, "rules is empty: with no rules every code would be green")
		return
	}
	ids := map[string]int{}
	for _, rn := range n.Content {
		r, ok := p.rule(rn, rs)
		if r.id != "" {
			if first, dup := ids[r.id]; dup {
				p.add(r.line, "duplicate rule id %q (first on line %d)", r.id, first)
				ok = false
			} else {
				ids[r.id] = r.line
			}
		}
		if ok {
			rs.rules = append(rs.rules, r)
		}
	}
	for _, sev := range []int{2, 1} {
		for i := range rs.rules {
			if rs.rules[i].colour.severity() == sev {
				rs.order = append(rs.order, i)
			}
		}
	}
}

// info is what a rule's condition can show and count from: which
// predicates appear outside any `not`.
type info struct {
	positive [opQuarantine + 1]bool
}

func (p *parser) rule(n *yaml.Node, rs *RuleSet) (rule, bool) {
	r := rule{line: n.Line}
	before := len(p.problems)
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, "each rule must be a mapping with id, colour, when, release and explain")
		return r, false
	}
	var whenN, releaseN, explainN, releaseK, explainK *yaml.Node
	for _, kv := range p.pairs(n, "a rule") {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "id":
			r.id = p.text(v, "id")
			r.line = v.Line
			if r.id != "" && !idPattern.MatchString(r.id) {
				p.add(v.Line, "rule id %q must be lower-case letters, digits, - and _ (at most 64)", r.id)
			}
		case "colour":
			switch c := Colour(p.text(v, "colour")); c {
			case Red, Yellow:
				r.colour = c
			case Green:
				p.add(v.Line, "a rule cannot make a code green: green is what remains when no rule applies")
			case "":
			default:
				p.add(v.Line, "unknown colour %q%s (expected red or yellow)", c, suggest(string(c), []string{"red", "yellow"}))
			}
		case "when":
			whenN = v
		case "release":
			releaseK, releaseN = k, v
		case "explain":
			explainK, explainN = k, v
		default:
			p.unknownKey(k, "in a rule", "id", "colour", "when", "release", "explain")
		}
	}
	name := "the rule"
	if r.id != "" {
		name = fmt.Sprintf("rule %q", r.id)
	}
	for _, m := range []struct {
		key  string
		seen bool
	}{{"id", r.id != "" || p.hasKey(n, "id")}, {"colour", p.hasKey(n, "colour")}, {"when", whenN != nil}, {"release", releaseN != nil}, {"explain", explainN != nil}} {
		if !m.seen {
			p.add(n.Line, "%s has no %s", name, m.key)
		}
	}
	var in info
	if whenN != nil {
		r.when = p.cond(whenN, 0, true, &in)
	}
	if releaseN != nil {
		r.rel = p.release(releaseK.Line, releaseN, r.colour, rs, &in)
	}
	if explainN != nil {
		p.explain(explainK.Line, explainN, &r, &in)
	}
	return r, len(p.problems) == before
}

var (
	predicates  = []string{"case_status", "contact", "exposure", "fever", "symptoms", "visited_risk", "declaration_overdue_hours", "quarantine"}
	combinators = []string{"all", "any", "not"}
	condKeys    = slices.Concat(predicates, combinators, []string{"within_days"})
)

// cond reads a condition: a mapping of predicates (all of which must hold),
// combinators and at most one within_days for the mapping's one dated
// predicate. positive is false under a `not`.
func (p *parser) cond(n *yaml.Node, depth int, positive bool, in *info) cond {
	if depth > maxDepth {
		p.add(n.Line, "conditions are nested more than %d deep", maxDepth)
		return cond{}
	}
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		p.add(n.Line, "a condition must be a mapping such as \"fever: true\" or \"any: [...]\", not %s", show(n))
		return cond{}
	}
	var (
		parts     []cond
		windowN   *yaml.Node
		dated     []int // indexes into parts of contact, visited_risk, exposure
		datedKeys []*yaml.Node
	)
	for _, kv := range p.pairs(n, "a condition") {
		k, v := kv[0], kv[1]
		c := cond{}
		switch k.Value {
		case "within_days":
			windowN = v
			continue
		case "all", "any":
			c.op = opAll
			if k.Value == "any" {
				c.op = opAny
			}
			if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
				p.add(v.Line, "%s must be a non-empty list of conditions", k.Value)
				continue
			}
			for _, item := range v.Content {
				c.kids = append(c.kids, p.cond(item, depth+1, positive, in))
			}
		case "not":
			c.op = opNot
			c.kids = []cond{p.cond(v, depth+1, false, in)}
		case "case_status":
			c.op, c.set = opCase, p.words(v, "case_status", &caseWords)
		case "contact":
			c.op, c.set = opContact, p.words(v, "contact", &contactWords)
		case "visited_risk":
			c.op, c.set = opVisit, p.words(v, "visited_risk", &riskWords)
		case "symptoms":
			c.op, c.set = opSymptoms, p.words(v, "symptoms", &symptomWords)
		case "quarantine":
			c.op, c.set = opQuarantine, p.words(v, "quarantine", &quarantineWords)
		case "fever":
			c.op = opFever
			c.want, _ = p.boolean(v, "fever")
		case "exposure":
			c.op = opExposure
			c.want, _ = p.boolean(v, "exposure")
		case "declaration_overdue_hours":
			c.op = opOverdue
			c.hours, _ = p.whole(v, "declaration_overdue_hours", 1, maxHours)
		default:
			p.add(k.Line, "unknown condition %q%s (the conditions are %s; combine them with all, any and not)",
				k.Value, suggest(k.Value, condKeys), strings.Join(predicates, ", "))
			continue
		}
		if positive && (c.op != opFever && c.op != opExposure || c.want) {
			in.positive[c.op] = true
		}
		if c.op == opContact || c.op == opVisit || c.op == opExposure {
			dated = append(dated, len(parts))
			datedKeys = append(datedKeys, k)
		}
		parts = append(parts, c)
	}
	switch {
	case windowN != nil && len(dated) == 0:
		p.add(windowN.Line, "within_days applies only beside contact, visited_risk or exposure")
	case windowN != nil && len(dated) > 1:
		p.add(windowN.Line, "within_days is ambiguous beside both %s and %s; put each in its own item of an all: list", datedKeys[0].Value, datedKeys[1].Value)
	case windowN != nil:
		if d, ok := p.whole(windowN, "within_days", 1, maxDays); ok {
			parts[dated[0]].window = d
		}
	}
	for i, j := range dated {
		if parts[j].op != opExposure && windowN == nil {
			p.add(datedKeys[i].Line, "%s needs within_days: how many days back a record counts", datedKeys[i].Value)
		}
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return cond{op: opAll, kids: parts}
}

var (
	releaseKeys = []string{"from", "days", "declared", "negative_test", "while_true"}
	anchorNeeds = map[anchor]struct {
		ops  []op
		what string
	}{
		anchorCase:        {[]op{opCase}, "case_status"},
		anchorExposure:    {[]op{opContact, opExposure}, "contact or exposure: true"},
		anchorVisit:       {[]op{opVisit}, "visited_risk"},
		anchorDeclaration: {[]op{opFever, opSymptoms}, "fever: true or symptoms"},
		anchorQuarantine:  {[]op{opQuarantine}, "quarantine"},
	}
)

func (p *parser) release(at int, n *yaml.Node, colour Colour, rs *RuleSet, in *info) release {
	rel := release{days: -1}
	var set []string
	for _, kv := range p.pairs(n, "release") {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "from":
			s := p.text(v, "release.from")
			if i := slices.Index(anchorNames[:], s); i > 0 {
				rel.from = anchor(i)
			} else if s != "" {
				p.add(v.Line, "unknown release.from %q%s (expected one of %s)", s, suggest(s, anchorNames[1:]), strings.Join(anchorNames[1:], ", "))
			}
		case "days":
			rel.days, _ = p.whole(v, "release.days", 0, maxDays)
		case "declared":
			rel.declared, _ = p.boolean(v, "release.declared")
		case "negative_test":
			s := p.text(v, "release.negative_test")
			if _, ok := testWords.bit(s); ok {
				rel.test = s
			} else if s != "" {
				p.add(v.Line, "unknown test kind %q%s (expected one of %s)", s, suggest(s, testWords.words), strings.Join(testWords.words, ", "))
			}
		case "while_true":
			rel.whileTrue, _ = p.boolean(v, "release.while_true")
			continue
		default:
			p.unknownKey(k, "in release", releaseKeys...)
			continue
		}
		set = append(set, k.Value)
	}
	if rel.whileTrue {
		if len(set) > 0 {
			p.add(at, "release.while_true cannot be combined with %s: the rule lasts exactly as long as its condition", strings.Join(set, ", "))
		}
		return rel
	}
	if rel.from == anchorNone {
		if !p.hasKey(n, "from") {
			p.add(at, "release needs from: the date the quarantine is counted from (%s), or while_true: true", strings.Join(anchorNames[1:], ", "))
		}
		return rel
	}
	need := anchorNeeds[rel.from]
	if !slices.ContainsFunc(need.ops, func(o op) bool { return in.positive[o] }) {
		p.add(at, "release.from %s needs a %s condition in when (outside any not)", anchorNames[rel.from], need.what)
	}
	if rel.days < 0 && colour != "" {
		rel.days = rs.quarantine[colour.severity()]
	}
	return rel
}

// placeholderNeeds says which predicate (outside any not) provides a fact.
var placeholderNeeds = map[key]struct {
	ops  []op
	what string
}{
	keyStatus:          {[]op{opCase}, "case_status"},
	keySince:           {[]op{opCase}, "case_status"},
	keyContact:         {[]op{opContact, opExposure}, "contact or exposure: true"},
	keyExposedOn:       {[]op{opContact, opExposure}, "contact or exposure: true"},
	keyEvidence:        {[]op{opContact, opExposure}, "contact or exposure: true"},
	keyTemperature:     {[]op{opFever, opSymptoms}, "fever: true or symptoms"},
	keySymptoms:        {[]op{opFever, opSymptoms}, "fever: true or symptoms"},
	keyDeclaredOn:      {[]op{opFever, opSymptoms}, "fever: true or symptoms"},
	keyRegion:          {[]op{opVisit}, "visited_risk"},
	keyRegionCode:      {[]op{opVisit}, "visited_risk"},
	keyRisk:            {[]op{opVisit}, "visited_risk"},
	keyVisitedOn:       {[]op{opVisit}, "visited_risk"},
	keyHours:           {[]op{opOverdue}, "declaration_overdue_hours"},
	keyQuarantine:      {[]op{opQuarantine}, "quarantine"},
	keyQuarantineStart: {[]op{opQuarantine}, "quarantine"},
	keyQuarantineEnd:   {[]op{opQuarantine}, "quarantine"},
}

func (p *parser) explain(at int, n *yaml.Node, r *rule, in *info) {
	have := [2]bool{}
	for _, kv := range p.pairs(n, "explain") {
		k, v := kv[0], kv[1]
		i := slices.Index(Langs, Lang(k.Value))
		if i < 0 {
			p.add(k.Line, "unknown language %q in explain (expected zh and en)", k.Value)
			continue
		}
		have[i] = true
		src := p.text(v, "explain."+k.Value)
		if src == "" {
			continue
		}
		r.explainSrc[i] = src
		r.explain[i] = p.template(src, v.Line, r, in)
	}
	for i, l := range Langs {
		if !have[i] {
			p.add(at, "explain has no %s text", l)
		}
	}
}

func (p *parser) template(src string, line int, r *rule, in *info) template {
	var t template
	rest := src
	for {
		open := strings.IndexAny(rest, "{}")
		if open < 0 {
			if rest != "" {
				t = append(t, segment{lit: rest})
			}
			return t
		}
		if rest[open] == '}' {
			p.add(line, "explain text has a } without a {")
			return nil
		}
		end := strings.IndexAny(rest[open+1:], "{}")
		if end < 0 || rest[open+1+end] == '{' {
			p.add(line, "explain text has a { without a closing }")
			return nil
		}
		name := rest[open+1 : open+1+end]
		i := slices.Index(keyNames[:], name)
		k := key(max(i, 0))
		switch {
		case name == "" || k == keyNone:
			known := keyNames[1:]
			p.add(line, "unknown placeholder {%s}%s (known: %s)", name, suggest(name, known), strings.Join(known, ", "))
		case (k == keyDate || k == keyDays) && r.rel.whileTrue:
			p.add(line, "placeholder {%s} needs a release with from; this rule lasts while its condition holds", name)
		default:
			if need, ok := placeholderNeeds[k]; ok && !slices.ContainsFunc(need.ops, func(o op) bool { return in.positive[o] }) {
				p.add(line, "placeholder {%s} needs a %s condition in when (outside any not)", name, need.what)
			}
		}
		t = append(t, segment{lit: rest[:open], key: k})
		rest = rest[open+1+end+1:]
	}
}

// show quotes a node's value for a message.
func show(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		return strconv.Quote(v)
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	return "that"
}

// suggest returns ` (did you mean "x"?)` for the closest known word, if one
// is close.
func suggest(word string, known []string) string {
	if len(word) > 64 {
		return ""
	}
	best, bestD := "", 3
	for _, k := range known {
		if d := distance(strings.ToLower(word), k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" || best == word {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
