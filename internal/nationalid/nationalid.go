// Package nationalid validates identity-document numbers. Each country's
// format is a Validator; a deployment picks its default by kind in config,
// and arrivals from abroad use the passport validator.
package nationalid

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"golang.org/x/text/unicode/norm"
)

// Info is what a valid number says about its holder. BirthDate and Sex are
// zero when the format does not carry them.
type Info struct {
	Kind      string
	Number    string // as Normalize returns it
	BirthDate civil.Date
	Sex       string // "F", "M" or ""
}

// Error says why a number is invalid; Code is a message-catalogue key.
type Error struct{ Code string }

func (e *Error) Error() string { return "nationalid: " + e.Code }

// Normalize returns number as every validator reads it and every store
// finds it: compatibility characters folded (NFKC: full-width digits and
// letters become ASCII), white space and invisible format characters
// removed wherever they stand, letters in upper case. Registration, the lab API and the
// staff search all read numbers through it.
func Normalize(number string) string {
	number = norm.NFKC.String(number)
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r), unicode.Is(unicode.Cf, r):
			return -1
		}
		return unicode.ToUpper(r)
	}, number)
}

// Parse checks number against the validator of kind.
func Parse(kind, number string, today civil.Date) (Info, error) {
	v, err := Lookup(kind)
	if err != nil {
		return Info{}, err
	}
	return v.Parse(number, today)
}

// Validator checks numbers of one kind of document. Parse reads the number
// through Normalize.
type Validator interface {
	Kind() string
	Parse(number string, today civil.Date) (Info, error)
}

var validators = map[string]Validator{}

func register(v Validator) { validators[v.Kind()] = v }

func init() {
	register(CNResidentID{})
	register(Passport{})
}

// Lookup returns the validator for kind.
func Lookup(kind string) (Validator, error) {
	v, ok := validators[kind]
	if !ok {
		return nil, fmt.Errorf("nationalid: unknown kind %q (known: %s)", kind, strings.Join(Kinds(), ", "))
	}
	return v, nil
}

// Kinds lists the registered kinds.
func Kinds() []string {
	var ks []string
	for k := range validators {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// CNResidentID is the 18-character resident identity card number of the
// People's Republic of China (GB 11643-1999): a 6-digit region code, the
// birth date YYYYMMDD, a 3-digit sequence whose parity gives the sex (odd for
// male), and an ISO 7064 MOD 11-2 check character (0-9 or X).
type CNResidentID struct{}

func (CNResidentID) Kind() string { return "CN-RIC" }

var cnWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// CNCheckChar returns the check character for the first 17 digits.
func CNCheckChar(first17 string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(first17[i]-'0') * cnWeights[i]
	}
	return "10X98765432"[sum%11]
}

func (CNResidentID) Parse(number string, today civil.Date) (Info, error) {
	n := Normalize(number)
	if len(n) != 18 {
		return Info{}, &Error{"id.length"}
	}
	for i := 0; i < 17; i++ {
		if n[i] < '0' || n[i] > '9' {
			return Info{}, &Error{"id.digits"}
		}
	}
	if c := n[17]; (c < '0' || c > '9') && c != 'X' {
		return Info{}, &Error{"id.digits"}
	}
	if n[0] == '0' || n[0] == '9' || n[:2] == "10" || n[:2] == "20" {
		return Info{}, &Error{"id.region"}
	}
	t, err := time.Parse("20060102", n[6:14])
	if err != nil {
		return Info{}, &Error{"id.birthdate"}
	}
	born := civil.Of(t)
	if born.Year < 1900 || (!today.IsZero() && born.After(today)) {
		return Info{}, &Error{"id.birthdate"}
	}
	if CNCheckChar(n[:17]) != n[17] {
		return Info{}, &Error{"id.checksum"}
	}
	sex := "F"
	if (n[16]-'0')%2 == 1 {
		sex = "M"
	}
	return Info{Kind: "CN-RIC", Number: n, BirthDate: born, Sex: sex}, nil
}

// Passport accepts a machine-readable passport number: 5 to 20 letters and
// digits, with at least one digit. It carries no birth date or sex.
type Passport struct{}

func (Passport) Kind() string { return "PASSPORT" }

func (Passport) Parse(number string, _ civil.Date) (Info, error) {
	n := Normalize(number)
	if len(n) < 5 || len(n) > 20 {
		return Info{}, &Error{"id.length"}
	}
	digits := 0
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'A' && c <= 'Z':
		default:
			return Info{}, &Error{"id.digits"}
		}
	}
	if digits == 0 {
		return Info{}, &Error{"id.digits"}
	}
	return Info{Kind: "PASSPORT", Number: n}, nil
}
