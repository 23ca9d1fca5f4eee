package resident

import "github.com/outbreak-platform/outbreak/internal/civil"

// View is a person as the API shows them. Staff listings and guardians see
// masked numbers; the holder and a logged staff read see all (full).
type View struct {
	ID            int64      `json:"id"`
	Name          string     `json:"name"`
	IDKind        string     `json:"id_kind"`
	IDNumber      string     `json:"id_number"`
	Phone         string     `json:"phone,omitempty"`
	BirthDate     civil.Date `json:"birth_date"`
	Sex           string     `json:"sex"`
	CommunityCode string     `json:"community_code"`
	Community     string     `json:"community"`
	District      string     `json:"district"`
	GuardianID    int64      `json:"guardian_id,omitempty"`
	HouseholdID   int64      `json:"household_id,omitempty"`
}

// View returns r as the API shows it in lang, with its numbers in full or
// masked.
func (r Resident) View(lang string, full bool) View {
	v := View{ID: r.ID, Name: r.Name, IDKind: r.IDKind, IDNumber: r.MaskedIDNumber(), Phone: r.MaskedPhone(),
		BirthDate: r.BirthDate, Sex: r.Sex, CommunityCode: r.CommunityCode, Community: r.CommunityName(lang), District: r.DistrictName(lang),
		GuardianID: r.GuardianID.Int64, HouseholdID: r.HouseholdID.Int64}
	if full {
		v.IDNumber, v.Phone = r.IDNumber, r.Phone
	}
	return v
}

// Views returns each of rs as the API shows it.
func Views(rs []Resident, lang string, full bool) []View {
	out := make([]View, len(rs))
	for i, r := range rs {
		out[i] = r.View(lang, full)
	}
	return out
}
