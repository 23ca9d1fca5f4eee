package venue

import (
	"database/sql"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/i18n"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

func f(v float64) *float64 { return &v }

// fields returns "field:code" of every problem in err, sorted.
func fields(err error) []string {
	ve, ok := validation.As(err)
	if !ok {
		return nil
	}
	var out []string
	for _, fe := range ve.Fields {
		out = append(out, fe.Field+":"+fe.Code)
	}
	slices.Sort(out)
	return out
}

func TestValidate(t *testing.T) {
	t.Parallel()
	today := civil.Date{Year: 2026, Month: 5, Day: 1}
	shop := func(mod func(n *New)) New {
		n := New{Type: Shop, Name: "解放路菜市场", Address: "武昌区解放路 88 号", Latitude: f(30.54), Longitude: f(114.31), JurisdictionCode: "420106001"}
		if mod != nil {
			mod(&n)
		}
		return n
	}
	trip := func(mod func(n *New)) New {
		n := New{Type: Train, Name: "G1234 武汉—北京西", JurisdictionCode: "4201", ServiceNumber: " g 1234 ", ServiceDate: today}
		if mod != nil {
			mod(&n)
		}
		return n
	}
	for _, tc := range []struct {
		name string
		n    New
		want []string // sorted field:code; nil means valid
	}{
		{"shop", shop(nil), nil},
		{"trip", trip(nil), nil},
		{"bus line without a date", trip(func(n *New) { n.Type, n.ServiceNumber, n.ServiceDate = Bus, "526", civil.Date{} }), nil},
		{"vehicle with coordinates", trip(func(n *New) { n.Latitude, n.Longitude = f(30), f(114) }), nil},
		{"name of 100 runes", shop(func(n *New) { n.Name = strings.Repeat("店", 100) }), nil},
		{"edges of the world", shop(func(n *New) { n.Latitude, n.Longitude = f(-90), f(180) }), nil},
		{"trip a year ago", trip(func(n *New) { n.ServiceDate = today.AddDays(-TripDaysBack) }), nil},
		{"trip 30 days ahead", trip(func(n *New) { n.ServiceDate = today.AddDays(TripDaysAhead) }), nil},

		{"unknown type", shop(func(n *New) { n.Type = "bar" }), []string{"type:venue.type"}},
		{"empty name", shop(func(n *New) { n.Name = "  " }), []string{"name:venue.name"}},
		{"name of 101 runes", shop(func(n *New) { n.Name = strings.Repeat("店", 101) }), []string{"name:venue.name"}},
		{"name with markup", shop(func(n *New) { n.Name = "<b>shop</b>" }), []string{"name:venue.name"}},
		{"name with a control character", shop(func(n *New) { n.Name = "shop\x07" }), []string{"name:venue.name"}},
		{"name not UTF-8", shop(func(n *New) { n.Name = "shop\xff" }), []string{"name:venue.name"}},
		{"venue without address", shop(func(n *New) { n.Address = "" }), []string{"address:required"}},
		{"address too long", shop(func(n *New) { n.Address = strings.Repeat("路", 201) }), []string{"address:venue.address"}},
		{"venue without coordinates", shop(func(n *New) { n.Latitude, n.Longitude = nil, nil }), []string{"latitude:venue.coordinates_required"}},
		{"half coordinates", shop(func(n *New) { n.Longitude = nil }), []string{"latitude:venue.coordinates"}},
		{"latitude out of range", shop(func(n *New) { n.Latitude = f(90.5) }), []string{"latitude:venue.latitude"}},
		{"longitude out of range", shop(func(n *New) { n.Longitude = f(-181) }), []string{"longitude:venue.longitude"}},
		{"NaN", shop(func(n *New) { n.Latitude, n.Longitude = f(math.NaN()), f(math.NaN()) }),
			[]string{"latitude:venue.latitude", "longitude:venue.longitude"}},
		{"no jurisdiction", shop(func(n *New) { n.JurisdictionCode = "" }), []string{"jurisdiction_code:required"}},
		{"venue with a service", shop(func(n *New) { n.ServiceNumber, n.ServiceDate = "G1", today }),
			[]string{"service_date:venue.not_a_vehicle", "service_number:venue.not_a_vehicle"}},
		{"vehicle without service number", trip(func(n *New) { n.ServiceNumber = "" }), []string{"service_number:required"}},
		{"service number too long", trip(func(n *New) { n.ServiceNumber = "G12345678901" }), []string{"service_number:venue.service_number"}},
		{"service number with a dash", trip(func(n *New) { n.ServiceNumber = "G-1234" }), []string{"service_number:venue.service_number"}},
		{"full-width service number", trip(func(n *New) { n.ServiceNumber = "Ｇ１２３４" }), nil},
		{"service number not ASCII", trip(func(n *New) { n.ServiceNumber = "G一二" }), []string{"service_number:venue.service_number"}},
		{"train without a date", trip(func(n *New) { n.ServiceDate = civil.Date{} }), []string{"service_date:required"}},
		{"flight without a date", trip(func(n *New) { n.Type, n.ServiceDate = Flight, civil.Date{} }), []string{"service_date:required"}},
		{"trip more than a year ago", trip(func(n *New) { n.ServiceDate = today.AddDays(-TripDaysBack - 1) }), []string{"service_date:venue.service_date"}},
		{"trip too far ahead", trip(func(n *New) { n.ServiceDate = today.AddDays(TripDaysAhead + 1) }), []string{"service_date:venue.service_date"}},
		{"everything wrong at once", New{Type: Coach, Name: "", ServiceNumber: "?", ServiceDate: civil.Date{}},
			[]string{"jurisdiction_code:required", "name:venue.name", "service_date:required", "service_number:venue.service_number"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.n
			err := n.Validate(today)
			if got := fields(err); !slices.Equal(got, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Validate = %v (%v); want %v", got, err, tc.want)
			}
		})
	}
	n := trip(nil)
	if n.Validate(today); n.ServiceNumber != "G1234" {
		t.Errorf("service number normalised to %q; want G1234", n.ServiceNumber)
	}
}

// TestFieldCodesWorded checks that every code Validate and Create report
// has words in both languages.
func TestFieldCodesWorded(t *testing.T) {
	t.Parallel()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"venue.type", "venue.name", "venue.address", "venue.coordinates_required", "venue.coordinates",
		"venue.latitude", "venue.longitude", "venue.not_a_vehicle", "venue.service_number", "venue.service_date",
		"venue.community", "venue.trip_taken", "required", "not_found"} {
		for _, lang := range i18n.Langs {
			l := cat.For(lang)
			if got := l.Field(validation.FieldError{Code: code, Args: map[string]any{"max": 100, "back": 365, "ahead": 30}}); got == "err."+code || strings.Contains(got, "{{") {
				t.Errorf("%s: %s not worded: %q", lang, code, got)
			}
		}
	}
	for _, typ := range append(slices.Clone(VenueTypes), VehicleTypes...) {
		for _, lang := range i18n.Langs {
			if id := "venue.type." + string(typ); !cat.For(lang).Has(id) {
				t.Errorf("%s: no %s", lang, id)
			}
		}
	}
}

func TestMayRegister(t *testing.T) {
	t.Parallel()
	resident := rbac.Actor{AccountID: 1, Role: rbac.Resident, ResidentID: 9}
	worker := rbac.Actor{AccountID: 2, Role: rbac.CommunityWorker, ScopePath: "/42/4201/420106/"}
	admin := rbac.Actor{AccountID: 3, Role: rbac.Admin, ScopePath: "/42/4201/"}
	checkpoint := rbac.Actor{AccountID: 4, Role: rbac.Checkpoint, ScopePath: "/42/4201/420106/"}
	epi := rbac.Actor{AccountID: 5, Role: rbac.Epidemiologist, ScopePath: "/42/"}
	want := map[rbac.Role][]Type{
		rbac.Resident:        {Shop, Restaurant, Office, School, Hospital, Station},
		rbac.CommunityWorker: {CompoundEntrance, VillageCheckpoint},
		rbac.Admin:           {Train, Flight, Coach, Bus},
		rbac.Checkpoint:      nil,
		rbac.Epidemiologist:  nil,
	}
	for _, a := range []rbac.Actor{resident, worker, admin, checkpoint, epi} {
		if got := RegisterableTypes(a); !slices.Equal(got, want[a.Role]) {
			t.Errorf("%s may register %v; want %v", a.Role, got, want[a.Role])
		}
	}
	if MayRegister(rbac.Actor{Role: rbac.Resident}, Shop) {
		t.Error("a resident without an account may register")
	}
	if MayRegister(rbac.Actor{AccountID: 2, Role: rbac.CommunityWorker}, CompoundEntrance) {
		t.Error("a community worker without a scope may register")
	}
	if MayRegister(admin, "bar") {
		t.Error("an unknown type may be registered")
	}

	community := jurisdiction.Jurisdiction{ID: 10, Level: jurisdiction.Community, Path: "/42/4201/420106/420106001/"}
	elsewhere := jurisdiction.Jurisdiction{ID: 11, Level: jurisdiction.Community, Path: "/42/4201/420102/420102001/"}
	district := jurisdiction.Jurisdiction{ID: 12, Level: jurisdiction.District, Path: "/42/4201/420106/"}
	city := jurisdiction.Jurisdiction{ID: 13, Level: jurisdiction.City, Path: "/42/4201/"}
	for _, tc := range []struct {
		a    rbac.Actor
		t    Type
		j    jurisdiction.Jurisdiction
		want bool
	}{
		{resident, Shop, community, true},
		{resident, Shop, elsewhere, true}, // a shop need not be where its owner lives
		{resident, Shop, district, false}, // a venue lies in a community
		{resident, CompoundEntrance, community, false},
		{worker, CompoundEntrance, community, true},
		{worker, VillageCheckpoint, community, true},
		{worker, CompoundEntrance, elsewhere, false}, // out of scope
		{worker, Shop, community, false},
		{admin, Bus, city, true},
		{admin, Train, district, true},
		{admin, Train, jurisdiction.Jurisdiction{Level: jurisdiction.City, Path: "/42/4202/"}, false},
		{admin, Shop, community, false},
	} {
		if got := MayRegisterAt(tc.a, tc.t, tc.j); got != tc.want {
			t.Errorf("MayRegisterAt(%s, %s, %s) = %v; want %v", tc.a.Role, tc.t, tc.j.Path, got, tc.want)
		}
	}

	owned := Place{Type: Shop, OwnerAccountID: sql.NullInt64{Int64: 1, Valid: true}, JurisdictionPath: community.Path}
	gate := Place{Type: CompoundEntrance, JurisdictionPath: community.Path}
	farGate := Place{Type: CompoundEntrance, JurisdictionPath: elsewhere.Path}
	line := Place{Type: Bus, JurisdictionPath: city.Path}
	for _, tc := range []struct {
		a    rbac.Actor
		p    Place
		want bool
	}{
		{resident, owned, true},
		{rbac.Actor{AccountID: 99, Role: rbac.Resident}, owned, false},
		{worker, owned, false},
		{worker, gate, true},
		{worker, farGate, false},
		{resident, gate, false},
		{admin, line, true},
		{admin, gate, false},
		{checkpoint, gate, false},
	} {
		if got := MayManage(tc.a, tc.p); got != tc.want {
			t.Errorf("MayManage(%s %d, %s at %s) = %v; want %v", tc.a.Role, tc.a.AccountID, tc.p.Type, tc.p.JurisdictionPath, got, tc.want)
		}
	}
}

func TestWrap(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s     string
		size  float64
		width float64
		want  []string
	}{
		{"Jiefang Road Market", 10, 200, []string{"Jiefang Road Market"}},
		{"Jiefang Road Market", 10, 80, []string{"Jiefang Road", "Market"}},
		{"解放路菜市场", 10, 30, []string{"解放路", "菜市场"}},
		{"ABCDEFGHIJ", 10, 30, []string{"ABCD", "EFGH", "IJ"}},
		{"武汉 Wuhan", 10, 50, []string{"武汉", "Wuhan"}},
	} {
		if got := wrap(tc.s, tc.size, tc.width); !slices.Equal(got, tc.want) {
			t.Errorf("wrap(%q, %v, %v) = %q; want %q", tc.s, tc.size, tc.width, got, tc.want)
		}
		for _, l := range wrap(tc.s, tc.size, tc.width) {
			if w := textWidth(l) * tc.size; w > tc.width {
				t.Errorf("line %q is %v wide, over %v", l, w, tc.width)
			}
		}
	}
	if size, lines := fit(strings.Repeat("店", 100), 13, 7, textW, 2); size != 7 || len(lines) < 3 {
		t.Errorf("fit of 100 characters = %v, %d lines", size, len(lines))
	}
}
