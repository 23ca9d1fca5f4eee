package pass

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaskName returns the form of a name a pass shows: enough for a checkpoint
// to match it against the person in front of it, too little to identify them.
//
// A Chinese (Han) name keeps its first and last characters with one '*' for
// each character between ("张三伟" → "张*伟", "欧阳娜娜" → "欧**娜"); a
// two-character name keeps its first ("张伟" → "张*"). Separators such as
// the middle dot in transliterated names are kept.
//
// Any other name keeps the first letter of each word and stars the rest
// ("Wei Li" → "W** L*", "Jean-Luc Picard" → "J***-L** P*****").
//
// Surrounding and repeated spaces are dropped, control characters removed,
// and the result is cut to MaxMaskedNameRunes characters.
func MaskName(name string) string {
	name = strings.Join(strings.FieldsFunc(name, func(r rune) bool {
		return unicode.IsSpace(r) || !unicode.IsPrint(r) || r == utf8.RuneError
	}), " ")
	if name == "" {
		return ""
	}
	var b strings.Builder
	if isHanName(name) {
		maskHan(&b, name)
	} else {
		maskWords(&b, name)
	}
	return truncateRunes(b.String(), MaxMaskedNameRunes)
}

// isHanName reports whether name is written in Chinese characters, with no
// spaces.
func isHanName(name string) bool {
	han := false
	for _, r := range name {
		switch {
		case unicode.Is(unicode.Han, r):
			han = true
		case r == ' ':
			return false
		}
	}
	return han
}

// isSeparator reports whether r separates parts of a name and is shown as is.
func isSeparator(r rune) bool {
	return r == ' ' || r == '-' || r == '\'' || r == '’' || r == '.' || r == '·' || r == '•' || r == '・'
}

func maskHan(b *strings.Builder, name string) {
	rs := []rune(name)
	if len(rs) == 1 {
		b.WriteRune(rs[0])
		return
	}
	last := len(rs) - 1
	if len(rs) == 2 {
		last = -1 // two characters: the surname alone
	}
	for i, r := range rs {
		switch {
		case i == 0 || i == last || isSeparator(r):
			b.WriteRune(r)
		default:
			b.WriteByte('*')
		}
	}
}

func maskWords(b *strings.Builder, name string) {
	first := true
	for _, r := range name {
		switch {
		case isSeparator(r):
			b.WriteRune(r)
			first = true
		case first:
			b.WriteRune(r)
			first = false
		default:
			b.WriteByte('*')
		}
	}
}

// truncateRunes cuts s to at most n runes.
func truncateRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
