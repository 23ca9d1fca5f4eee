// Package rules is the health code's rule set: a versioned, declarative
// file that a health authority reads and changes without recompiling, and
// the evaluator that turns a person's facts into a colour, the reasons for
// it, the day it may turn green and what must happen before then.
//
// The file format and the default policy are described for officials in
// docs/RULES.md; the default file is default.yaml beside this package.
// Conditions are built only from a fixed vocabulary of predicates, so a rule
// file can be checked line by line when it is loaded and evaluated without
// I/O or an expression language.
package rules

import (
	"crypto/sha256"
	"encoding/hex"
)

// Colour is a health code's colour.
type Colour string

const (
	Green  Colour = "green"
	Yellow Colour = "yellow"
	Red    Colour = "red"
)

// severity orders colours: red is the most severe.
func (c Colour) severity() int {
	switch c {
	case Red:
		return 2
	case Yellow:
		return 1
	}
	return 0
}

// Lang is a language of explanations.
type Lang string

const (
	LangZH Lang = "zh"
	LangEN Lang = "en"
)

// Langs are the languages every explanation must be written in.
var Langs = []Lang{LangZH, LangEN}

// RuleSet is a parsed, checked rule file. It is immutable and safe for
// concurrent use; obtain one from Parse, Load or Default.
type RuleSet struct {
	version    string
	digest     [sha256.Size]byte
	quarantine [3]int // days per colour, indexed by severity
	feverC     float64
	rules      []rule // in file order
	order      []int  // indexes into rules, most severe first, file order within a colour
	tracing    *Tracing
}

// Version is the rule file's version string; every Outcome carries it.
func (rs *RuleSet) Version() string { return rs.version }

// Digest is the SHA-256 of the rule file's bytes, in hex.
func (rs *RuleSet) Digest() string { return hex.EncodeToString(rs.digest[:]) }

// QuarantineDays is the quarantine a colour means, in days.
func (rs *RuleSet) QuarantineDays(c Colour) int { return rs.quarantine[c.severity()] }

// FeverC is the temperature from which a declaration counts as fever.
func (rs *RuleSet) FeverC() float64 { return rs.feverC }

// RuleInfo describes one rule for display.
type RuleInfo struct {
	ID      string
	Colour  Colour
	Line    int
	Explain map[Lang]string // the templates as written
}

// Rules lists the rules in file order.
func (rs *RuleSet) Rules() []RuleInfo {
	out := make([]RuleInfo, len(rs.rules))
	for i := range rs.rules {
		r := &rs.rules[i]
		ex := make(map[Lang]string, len(Langs))
		for j, l := range Langs {
			ex[l] = r.explainSrc[j]
		}
		out[i] = RuleInfo{ID: r.id, Colour: r.colour, Line: r.line, Explain: ex}
	}
	return out
}

// rule is one compiled rule.
type rule struct {
	id         string
	colour     Colour
	line       int
	when       cond
	rel        release
	explain    [2]template // indexed like Langs
	explainSrc [2]string
}

// anchor is the fact date a quarantine is counted from.
type anchor uint8

const (
	anchorNone anchor = iota
	anchorCase
	anchorExposure
	anchorVisit
	anchorDeclaration
	anchorQuarantine
)

var anchorNames = [...]string{
	anchorCase:        "case_date",
	anchorExposure:    "exposure_date",
	anchorVisit:       "visit_date",
	anchorDeclaration: "declaration_date",
	anchorQuarantine:  "quarantine_end",
}

// release says how a rule lets go of a code by itself.
type release struct {
	whileTrue bool   // the rule lasts exactly as long as its condition
	from      anchor // the date the quarantine is counted from
	days      int    // quarantine length (the colour's unless the rule sets it)
	declared  bool   // a declaration on or after the day the quarantine is served
	test      string // "", "pcr", "antibody" or "any": a negative test sampled after the start
}

// op is a condition's predicate or combinator.
type op uint8

const (
	opAll op = iota
	opAny
	opNot
	opCase
	opContact
	opExposure
	opFever
	opSymptoms
	opVisit
	opOverdue
	opQuarantine
)

// cond is one node of a rule's `when`.
type cond struct {
	op     op
	kids   []cond
	set    uint32 // words of the predicate's vocabulary, as bits
	want   bool   // for fever and exposure: true or false
	window int    // within_days; 0 when the predicate has none
	hours  int    // declaration_overdue_hours
}

// key is a fact an explanation may show as {name}.
type key uint8

const (
	keyNone key = iota
	keyStatus
	keySince
	keyContact
	keyExposedOn
	keyEvidence
	keyTemperature
	keySymptoms
	keyDeclaredOn
	keyRegion
	keyRegionCode
	keyRisk
	keyVisitedOn
	keyHours
	keyQuarantine
	keyQuarantineStart
	keyQuarantineEnd
	keyDate
	keyDays
	keyGreenOn
	numKeys
)

var keyNames = [numKeys]string{
	keyStatus:          "status",
	keySince:           "since",
	keyContact:         "contact",
	keyExposedOn:       "exposed_on",
	keyEvidence:        "evidence",
	keyTemperature:     "temperature",
	keySymptoms:        "symptoms",
	keyDeclaredOn:      "declared_on",
	keyRegion:          "region",
	keyRegionCode:      "region_code",
	keyRisk:            "risk",
	keyVisitedOn:       "visited_on",
	keyHours:           "hours",
	keyQuarantine:      "quarantine",
	keyQuarantineStart: "quarantine_start",
	keyQuarantineEnd:   "quarantine_end",
	keyDate:            "date",
	keyDays:            "days",
	keyGreenOn:         "green_on",
}

// template is an explanation split at its placeholders.
type template []segment

type segment struct {
	lit string
	key key // keyNone: lit only
}
