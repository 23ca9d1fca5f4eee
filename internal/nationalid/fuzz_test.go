package nationalid

import (
	"errors"
	"strings"
	"testing"
)

// FuzzPassport: no input panics; what is refused is refused with a coded
// Error; what is accepted is canonical (upper-case letters and digits, 5 to
// 20, at least one digit, no birth date or sex), accepted again as itself,
// and accepted however it was spaced or cased.
func FuzzPassport(f *testing.F) {
	for _, s := range []string{"E12345678", "e1234 5678", "  G1234567 ", "ABCDE", "12345", "A1", strings.Repeat("9", 21),
		"E1234567\u00a0", "Е1234567" /* Cyrillic Е */, "E-1234567", "E1234567\x00", "ｅ1234567"} {
		f.Add(s)
	}
	v := Passport{}
	f.Fuzz(func(t *testing.T, s string) {
		info, err := v.Parse(s, today)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code == "" {
				t.Fatalf("Parse(%q): error %v is not a coded Error", s, err)
			}
			if info != (Info{}) {
				t.Fatalf("Parse(%q) refused but returned %+v", s, info)
			}
			return
		}
		n := info.Number
		if info.Kind != "PASSPORT" || len(n) < 5 || len(n) > 20 || !info.BirthDate.IsZero() || info.Sex != "" {
			t.Fatalf("Parse(%q) = %+v", s, info)
		}
		digits := 0
		for _, c := range n {
			switch {
			case c >= '0' && c <= '9':
				digits++
			case c >= 'A' && c <= 'Z':
			default:
				t.Fatalf("Parse(%q) accepted %q with %q in it", s, n, c)
			}
		}
		if digits == 0 {
			t.Fatalf("Parse(%q) accepted %q without a digit", s, n)
		}
		for _, variant := range []string{n, strings.ToLower(n), " " + n + " ", n[:len(n)/2] + " " + n[len(n)/2:]} {
			if again, err := v.Parse(variant, today); err != nil || again != info {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v as for %q", variant, again, err, info, s)
			}
		}
		// The CN-RIC validator never takes a passport number for an ID card's
		// unless it is one: 18 characters with the right check character.
		if ric, err := (CNResidentID{}).Parse(n, today); err == nil && (len(ric.Number) != 18 || CNCheckChar(ric.Number[:17]) != ric.Number[17]) {
			t.Fatalf("CN-RIC accepted passport number %q as %+v", n, ric)
		}
	})
}
