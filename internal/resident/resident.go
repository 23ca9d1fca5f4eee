// Package resident holds the people a deployment serves: residents, the
// households they live in, and dependents (an elder, a child) for whom a
// guardian acts. National ID numbers and phone numbers are sealed at the
// repository boundary and found again through keyed hashes.
package resident

import (
	"database/sql"
	"errors"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/nationalid"
	"github.com/outbreak-platform/outbreak/internal/validation"
	"golang.org/x/text/unicode/norm"
)

// Resident is one person. IDNumber and Phone are plaintext in memory only.
type Resident struct {
	ID          int64         `json:"id"`
	Name        string        `json:"name"`
	IDKind      string        `json:"id_kind"`
	IDNumber    string        `json:"id_number"`
	Phone       string        `json:"phone,omitempty"`
	BirthDate   civil.Date    `json:"birth_date"`
	Sex         string        `json:"sex"`
	CommunityID int64         `json:"community_id"`
	HouseholdID sql.NullInt64 `json:"-"`
	GuardianID  sql.NullInt64 `json:"-"`
	CreatedAt   time.Time     `json:"created_at"`

	// From the community it lives in.
	CommunityCode   string `json:"community_code"`
	CommunityNameZH string `json:"community_name_zh"`
	CommunityNameEN string `json:"community_name_en"`
	CommunityPath   string `json:"-"`
	// From the district the community lies in ("" when it has no parent).
	DistrictNameZH string `json:"district_name_zh"`
	DistrictNameEN string `json:"district_name_en"`
}

// CommunityName returns the community's name in lang.
func (r Resident) CommunityName(lang string) string {
	if lang == "en" {
		return r.CommunityNameEN
	}
	return r.CommunityNameZH
}

// DistrictName returns the name in lang of the district r's community lies
// in.
func (r Resident) DistrictName(lang string) string {
	if lang == "en" {
		return r.DistrictNameEN
	}
	return r.DistrictNameZH
}

// CommunityLabel names r's community for a person in lang, with its
// district: several communities share a name ("Jianshe Road Community").
func (r Resident) CommunityLabel(lang string) string {
	return jurisdiction.Label(r.DistrictName(lang), r.CommunityName(lang))
}

// IsDependent reports whether a guardian acts for r.
func (r Resident) IsDependent() bool { return r.GuardianID.Valid }

// MaskedIDNumber shows the first and last few characters of the ID number.
func (r Resident) MaskedIDNumber() string { return Mask(r.IDNumber, 3, 4) }

// MaskedPhone shows the first three and last four digits of the phone number.
func (r Resident) MaskedPhone() string { return Mask(r.Phone, 3, 4) }

// Mask replaces all but the first head and last tail characters of s with *.
func Mask(s string, head, tail int) string {
	n := utf8.RuneCountInString(s)
	if n <= head+tail {
		return strings.Repeat("*", n)
	}
	rs := []rune(s)
	return string(rs[:head]) + strings.Repeat("*", n-head-tail) + string(rs[n-tail:])
}

// New is the input to register a resident or a dependent.
type New struct {
	Name          string     `json:"name"`
	IDKind        string     `json:"id_kind"`
	IDNumber      string     `json:"id_number"`
	Phone         string     `json:"phone"`
	BirthDate     civil.Date `json:"birth_date"`
	Sex           string     `json:"sex"`
	CommunityCode string     `json:"community_code"`
}

var phoneRE = regexp.MustCompile(`^\+?[0-9]{7,15}$`)

// NormalizePhone returns a phone number as it is stored and found:
// compatibility characters folded (full-width digits become ASCII), white
// space and hyphens removed.
func NormalizePhone(phone string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '-' || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, norm.NFKC.String(phone))
}

// Validate checks n against the ID validator of its kind (defaultKind when
// empty) and normalises it. A number that carries a birth date and sex must
// agree with the ones given; when they are left empty, the number's are used.
// phoneRequired is false for dependents, who may have no phone.
func (n *New) Validate(defaultKind string, today civil.Date, phoneRequired bool) error {
	var e validation.Errors
	n.Phone = NormalizePhone(n.Phone)
	n.CommunityCode = strings.TrimSpace(n.CommunityCode)
	if n.IDKind == "" {
		n.IDKind = defaultKind
	}
	n.Name = validation.Name(&e, "name", n.Name, validation.MaxNameRunes)
	if info, err := CheckIDNumber("id_number", n.IDKind, n.IDNumber, today); err != nil {
		ve, _ := validation.As(err)
		e.Fields = append(e.Fields, ve.Fields...)
	} else {
		n.IDNumber = info.Number
		if !info.BirthDate.IsZero() {
			if n.BirthDate.IsZero() {
				n.BirthDate = info.BirthDate
			} else if n.BirthDate != info.BirthDate {
				e.Add("birth_date", "resident.birth_date_mismatch")
			}
		}
		if info.Sex != "" {
			if n.Sex == "" {
				n.Sex = info.Sex
			} else if n.Sex != info.Sex {
				e.Add("sex", "resident.sex_mismatch")
			}
		}
	}
	switch {
	case n.Phone == "" && phoneRequired:
		e.Add("phone", "required")
	case n.Phone != "" && !phoneRE.MatchString(n.Phone):
		e.Add("phone", "resident.phone")
	}
	switch {
	case n.BirthDate.IsZero() && !e.Has("birth_date") && !e.Has("id_number"):
		e.Add("birth_date", "required")
	case !n.BirthDate.IsZero() && (n.BirthDate.After(today) || n.BirthDate.Year < 1900):
		e.Add("birth_date", "resident.birth_date")
	}
	if n.Sex != "F" && n.Sex != "M" && !e.Has("sex") && !e.Has("id_number") {
		e.Add("sex", "resident.sex")
	}
	if n.CommunityCode == "" {
		e.Add("community_code", "required")
	}
	return e.Err()
}

// CheckIDNumber reads an ID number of kind the one way registration, the
// lab API and the staff search all do: normalised (nationalid.Normalize)
// and checked by the kind's validator. A number that is not valid is a
// field error on field with the validator's code (id.checksum,
// id.birthdate...); an unknown kind is one on id_kind.
func CheckIDNumber(field, kind, number string, today civil.Date) (nationalid.Info, error) {
	v, err := nationalid.Lookup(kind)
	if err != nil {
		return nationalid.Info{}, validation.Field("id_kind", "resident.id_kind")
	}
	info, err := v.Parse(number, today)
	if err != nil {
		var ie *nationalid.Error
		if errors.As(err, &ie) {
			return nationalid.Info{}, validation.Field(field, ie.Code)
		}
		return nationalid.Info{}, validation.Field(field, "invalid")
	}
	return info, nil
}
