package i18n

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/language"
)

// FuzzNegotiate: no Accept-Language header panics; the answer is always
// one of Langs, the same every time; a header that does not parse, or
// names none of Langs, gets the default; any other answer is a language
// the header names with a weight above zero; a header naming exactly one
// of Langs gets it.
func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"", "en", "zh", "en-GB,en;q=0.9", "zh-CN,zh;q=0.9,en;q=0.8", "fr-FR,fr;q=0.9,en;q=0.5",
		"en;q=0", "en;q=0, zh;q=0", "*", "en;q=2", "en;q=abc", "zh-Hant-TW", "x-klingon", "EN", ",,,", "en,,zh",
		strings.Repeat("en-", 100), "de;q=0.5, en;q=0.4", "en\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		r := &http.Request{Header: http.Header{"Accept-Language": {h}}}
		got := Negotiate(r)
		if !slices.Contains(Langs, got) {
			t.Fatalf("Negotiate(%q) = %q, not one of %v", h, got, Langs)
		}
		if again := Negotiate(r); again != got {
			t.Fatalf("Negotiate(%q) = %q, then %q", h, got, again)
		}
		tags, q, err := language.ParseAcceptLanguage(h)
		named := map[string]bool{}
		for i, tag := range tags {
			if base, _ := tag.Base(); q[i] > 0 {
				named[base.String()] = true
			}
		}
		if err != nil && got != Langs[0] {
			t.Fatalf("Negotiate(%q), a header that does not parse (%v), = %q, not the default", h, err, got)
		}
		if got != Langs[0] && !named[got] {
			t.Fatalf("Negotiate(%q) = %q, which the header does not ask for (%v)", h, got, tags)
		}
		var only []string
		for _, l := range Langs {
			if named[l] {
				only = append(only, l)
			}
		}
		if err == nil && len(only) == 1 && got != only[0] {
			t.Fatalf("Negotiate(%q) = %q; the header names only %q of %v", h, got, only[0], Langs)
		}
	})
}
