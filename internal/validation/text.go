package validation

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxNameRunes is the longest name of a person, in characters.
const MaxNameRunes = 60

// Codes of the problems Name and Text report, each a catalogue key under
// "err.".
const (
	CodeRequired  = "required"
	CodeTooLong   = "required_max"   // args: max
	CodeEncoding  = "text.encoding"  // not valid UTF-8, or U+FFFD
	CodeInvisible = "text.invisible" // a control, format or unassigned character
	CodeMarkup    = "text.markup"    // < or >
	CodeLetter    = "name.letter"    // no letter at all
	CodeMark      = "name.mark"      // a word starts with a combining mark
)

// Name checks a person's name typed into field — a resident, a dependent,
// a staff member, the person a visitor comes to see — and returns it as it
// is stored: NFC, every run of white space one space, none around it. A
// name is valid UTF-8 of at most max characters with at least one letter,
// no control, format (zero-width, byte-order mark) or unassigned characters,
// no angle brackets, and no word that starts with a combining mark. Such a
// name always has a visible masked form on a pass. Problems are added to e.
func Name(e *Errors, field, s string, max int) string {
	s, ok := clean(e, field, s, max, true, false)
	if !ok || s == "" {
		return s
	}
	if strings.IndexFunc(s, unicode.IsLetter) < 0 {
		e.Add(field, CodeLetter)
		return s
	}
	prev := ' '
	for _, r := range s {
		if unicode.Is(unicode.M, r) && prev == ' ' {
			e.Add(field, CodeMark)
			break
		}
		prev = r
	}
	return s
}

// Text checks free text a person typed into field (a reason, evidence, an
// appeal) and returns it as it is stored: NFC, trimmed, with line breaks
// kept as "\n" when multiline and other runs of white space left as typed.
// It is valid UTF-8 of at most max characters without control, format or
// unassigned characters or angle brackets; required text must hold a
// letter, digit or symbol, not only spaces. Problems are added to e.
func Text(e *Errors, field, s string, max int, required, multiline bool) string {
	s, _ = clean(e, field, s, max, required, multiline)
	return s
}

// clean normalises s and reports the problems every kind of text shares;
// ok is false when one was added.
func clean(e *Errors, field, s string, max int, required, multiline bool) (string, bool) {
	// A JSON decoder turns invalid UTF-8 into U+FFFD: that is refused too.
	if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
		e.Add(field, CodeEncoding)
		return s, false
	}
	s = norm.NFC.String(s)
	if multiline {
		s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
		s = strings.TrimFunc(s, unicode.IsSpace)
	} else {
		s = strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
	}
	switch {
	case s == "":
		if required {
			e.Add(field, CodeRequired)
			return s, false
		}
		return s, true
	case utf8.RuneCountInString(s) > max:
		e.Add(field, CodeTooLong, "max", max)
		return s, false
	case strings.ContainsAny(s, "<>"):
		e.Add(field, CodeMarkup)
		return s, false
	case strings.IndexFunc(s, func(r rune) bool { return !visible(r, multiline) }) >= 0:
		e.Add(field, CodeInvisible)
		return s, false
	}
	return s, true
}

// visible reports whether r may stand in typed text: a letter, mark,
// number, punctuation, symbol or space (unicode.IsGraphic), or in
// multi-line text a line break or tab. That leaves out controls, format
// characters (U+200B, U+2060, U+FEFF), private-use, unassigned code points
// and the line and paragraph separators.
func visible(r rune, multiline bool) bool {
	if multiline && (r == '\n' || r == '\t') {
		return true
	}
	return unicode.IsGraphic(r)
}
