package resident_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction/jurisdictiontest"
	"github.com/outbreak-platform/outbreak/internal/list"
	"github.com/outbreak-platform/outbreak/internal/nationalid"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/validation/validationtest"
	"github.com/outbreak-platform/outbreak/internal/vault"
)

const kind = "CN-RIC"

var today = civil.Date{Year: 2026, Month: 1, Day: 1}

// cnID makes a valid CN resident ID number: region code, birth date
// YYYYMMDD and a 3-digit sequence whose last digit is odd for a man.
func cnID(region, birth, seq string) string {
	first17 := region + birth + seq
	return first17 + string(nationalid.CNCheckChar(first17))
}

// badCheck returns id with a wrong check character.
func badCheck(id string) string {
	const chars = "0123456789X"
	return id[:17] + string(chars[(strings.IndexByte(chars, id[17])+1)%len(chars)])
}

func newVault(t *testing.T, fill byte) *vault.Vault {
	t.Helper()
	v, err := vault.New(bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

type fixture struct {
	d  *db.DB
	js map[string]jurisdiction.Jurisdiction
	rs resident.Store
}

// setup builds province 42 > city 4201 > districts 420106, 420102 > one
// community each, and a resident store with an all-zero vault key.
func setup(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	f := &fixture{d: d, js: jurisdictiontest.Region(t, d), rs: resident.NewStore(d, newVault(t, 0))}
	return f
}

// add validates and creates a resident with scope All.
func (f *fixture) add(t *testing.T, name, id, phone, community string, guardianID, householdID int64) resident.Resident {
	t.Helper()
	n := resident.New{Name: name, IDNumber: id, Phone: phone, CommunityCode: community}
	if err := n.Validate(kind, today, guardianID == 0); err != nil {
		t.Fatalf("validate %s: %v", name, err)
	}
	r, err := f.rs.Create(context.Background(), f.d.W, jurisdiction.All, n, guardianID, householdID)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return r
}

func (f *fixture) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := db.Get(context.Background(), f.d.R, &n, "SELECT count(*) FROM "+table); err != nil {
		t.Fatal(err)
	}
	return n
}

func ids(rs []resident.Resident) []int64 {
	out := []int64{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func sameIDs(got []resident.Resident, want ...resident.Resident) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i].ID != want[i].ID {
			return false
		}
	}
	return true
}

func TestValidate(t *testing.T) {
	id := cnID("420106", "19900101", "123") // a man born 1990-01-01
	t.Run("fills birth date and sex from the number and normalises", func(t *testing.T) {
		// A woman (even 17th digit) whose check character is X, written in
		// lower case, to exercise upper-casing.
		var lower string
		for s := 0; s < 1000 && lower == ""; s += 2 {
			seq := string([]byte{byte('0' + s/100), byte('0' + s/10%10), byte('0' + s%10)})
			if c := cnID("420106", "19850615", seq); strings.HasSuffix(c, "X") {
				lower = strings.ToLower(c)
			}
		}
		if lower == "" {
			t.Fatal("no sequence gives check character X")
		}
		n := resident.New{Name: "  李娜 ", IDNumber: " " + lower + " ", Phone: "138-0013 8000", CommunityCode: " 420106001 "}
		if err := n.Validate(kind, today, true); err != nil {
			t.Fatal(err)
		}
		if n.IDKind != kind || n.IDNumber != strings.ToUpper(lower) || n.Name != "李娜" || n.Phone != "13800138000" || n.CommunityCode != "420106001" {
			t.Fatalf("not normalised: %+v", n)
		}
		if n.BirthDate != (civil.Date{Year: 1985, Month: 6, Day: 15}) || n.Sex != "F" {
			t.Fatalf("birth date / sex = %s %s, want 1985-06-15 F", n.BirthDate, n.Sex)
		}
	})
	t.Run("agreeing birth date and sex are accepted", func(t *testing.T) {
		n := resident.New{Name: "张三", IDNumber: id, Phone: "13800138000", CommunityCode: "420106001",
			BirthDate: civil.Date{Year: 1990, Month: 1, Day: 1}, Sex: "M"}
		if err := n.Validate(kind, today, true); err != nil {
			t.Fatal(err)
		}
	})
	bad := badCheck(id)
	future := cnID("420106", "20300101", "123")
	cases := []struct {
		name        string
		n           resident.New
		kind        string
		phone       bool
		field, code string
	}{
		{"bad checksum", resident.New{Name: "张三", IDNumber: bad, Phone: "13800138000", CommunityCode: "420106001"}, "", true, "id_number", "id.checksum"},
		{"short number", resident.New{Name: "张三", IDNumber: id[:17], Phone: "13800138000", CommunityCode: "420106001"}, "", true, "id_number", "id.length"},
		{"birth date mismatch", resident.New{Name: "张三", IDNumber: id, Phone: "13800138000", CommunityCode: "420106001",
			BirthDate: civil.Date{Year: 1990, Month: 1, Day: 2}}, "", true, "birth_date", "resident.birth_date_mismatch"},
		{"sex mismatch", resident.New{Name: "张三", IDNumber: id, Phone: "13800138000", CommunityCode: "420106001", Sex: "F"}, "", true, "sex", "resident.sex_mismatch"},
		{"future birth date in the number", resident.New{Name: "张三", IDNumber: future, Phone: "13800138000", CommunityCode: "420106001"}, "", true, "id_number", "id.birthdate"},
		{"future birth date given", resident.New{Name: "Anna", IDNumber: "E12345678", Phone: "13800138000", CommunityCode: "420106001",
			BirthDate: today.AddDays(1), Sex: "F"}, "PASSPORT", true, "birth_date", "resident.birth_date"},
		{"birth date before 1900", resident.New{Name: "Anna", IDNumber: "E12345678", Phone: "13800138000", CommunityCode: "420106001",
			BirthDate: civil.Date{Year: 1899, Month: 12, Day: 31}, Sex: "F"}, "PASSPORT", true, "birth_date", "resident.birth_date"},
		{"passport needs a birth date", resident.New{Name: "Anna", IDNumber: "E12345678", Phone: "13800138000", CommunityCode: "420106001", Sex: "F"}, "PASSPORT", true, "birth_date", "required"},
		{"passport needs a sex", resident.New{Name: "Anna", IDNumber: "E12345678", Phone: "13800138000", CommunityCode: "420106001",
			BirthDate: civil.Date{Year: 1980, Month: 2, Day: 3}}, "PASSPORT", true, "sex", "resident.sex"},
		{"missing phone", resident.New{Name: "张三", IDNumber: id, CommunityCode: "420106001"}, "", true, "phone", "required"},
		{"bad phone", resident.New{Name: "张三", IDNumber: id, Phone: "call me", CommunityCode: "420106001"}, "", false, "phone", "resident.phone"},
		{"missing name", resident.New{Name: "  ", IDNumber: id, Phone: "13800138000", CommunityCode: "420106001"}, "", true, "name", "required"},
		{"markup in name", resident.New{Name: "<b>张三</b>", IDNumber: id, Phone: "13800138000", CommunityCode: "420106001"}, "", true, "name", "text.markup"},
		{"zero-width name", resident.New{Name: "\u200b\u2060\ufeff", IDNumber: id, Phone: "13800138000", CommunityCode: "420106001"}, "", true, "name", "text.invisible"},
		{"zero-width space in name", resident.New{Name: "张\u200b三", IDNumber: id, Phone: "13800138000", CommunityCode: "420106001"}, "", true, "name", "text.invisible"},
		{"combining marks alone", resident.New{Name: "\u0301\u0308", IDNumber: id, Phone: "13800138000", CommunityCode: "420106001"}, "", true, "name", "name.letter"},
		{"word starts with a mark", resident.New{Name: "Ann \u0301e", IDNumber: id, Phone: "13800138000", CommunityCode: "420106001"}, "", true, "name", "name.mark"},
		{"digits and dots", resident.New{Name: "12.34", IDNumber: id, Phone: "13800138000", CommunityCode: "420106001"}, "", true, "name", "name.letter"},
		{"ideographic spaces", resident.New{Name: "\u3000\u00a0 ", IDNumber: id, Phone: "13800138000", CommunityCode: "420106001"}, "", true, "name", "required"},
		{"invalid UTF-8", resident.New{Name: "张\xff三", IDNumber: id, Phone: "13800138000", CommunityCode: "420106001"}, "", true, "name", "text.encoding"},
		{"long name", resident.New{Name: strings.Repeat("张", 61), IDNumber: id, Phone: "13800138000", CommunityCode: "420106001"}, "", true, "name", "required_max"},
		{"unknown kind", resident.New{Name: "张三", IDKind: "MARS", IDNumber: id, Phone: "13800138000", CommunityCode: "420106001"}, "", true, "id_kind", "resident.id_kind"},
		{"missing community", resident.New{Name: "张三", IDNumber: id, Phone: "13800138000"}, "", true, "community_code", "required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := kind
			if c.kind != "" {
				k = c.kind
			}
			validationtest.WantField(t, c.n.Validate(k, today, c.phone), c.field, c.code)
		})
	}
	t.Run("names are stored in NFC with single spaces", func(t *testing.T) {
		n := resident.New{Name: " Jose\u0301 \u3000 Li ", IDNumber: id, Phone: "13800138000", CommunityCode: "420106001"}
		if err := n.Validate(kind, today, true); err != nil {
			t.Fatal(err)
		}
		if n.Name != "Jos\u00e9 Li" {
			t.Fatalf("name = %+q, want %+q", n.Name, "Jos\u00e9 Li")
		}
	})
	t.Run("a dependent needs no phone", func(t *testing.T) {
		n := resident.New{Name: "张小三", IDNumber: cnID("420106", "20200101", "123"), CommunityCode: "420106001"}
		if err := n.Validate(kind, today, false); err != nil {
			t.Fatal(err)
		}
	})
}

func TestMask(t *testing.T) {
	r := resident.Resident{IDNumber: "420106199001011234", Phone: "13800138000"}
	if got := r.MaskedIDNumber(); got != "420***********1234" {
		t.Errorf("MaskedIDNumber = %q", got)
	}
	if got := r.MaskedPhone(); got != "138****8000" {
		t.Errorf("MaskedPhone = %q", got)
	}
	if got := resident.Mask("abc", 3, 4); got != "***" {
		t.Errorf("Mask short = %q", got)
	}
}

func TestStore(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		idA := cnID("420106", "19900101", "123")
		a := f.add(t, "张三", idA, "13800138000", "420106001", 0, 0)
		b := f.add(t, "张四", cnID("420106", "19920202", "222"), "13800138000", "420106001", 0, 0) // shares a's phone
		c := f.add(t, "李五", cnID("420106", "19700303", "331"), "13900139000", "420106001", 0, 0)
		other := f.add(t, "王六", cnID("420102", "19800404", "441"), "13700137000", "420102001", 0, 0)
		hh, err := db.InsertID(ctx, d.W, "INSERT INTO households (community_id) VALUES (?) RETURNING id", f.js["420106001"].ID)
		if err != nil {
			t.Fatal(err)
		}
		dep1 := f.add(t, "张小一", cnID("420106", "20180101", "002"), "", "420106001", a.ID, hh)
		dep2 := f.add(t, "张小二", cnID("420106", "19400101", "011"), "", "420106001", a.ID, hh)
		district106, district102 := f.js["420106"].Path, f.js["420102"].Path

		t.Run("create returns the stored resident", func(t *testing.T) {
			if a.ID == 0 || a.CommunityID != f.js["420106001"].ID || a.CommunityCode != "420106001" || a.CommunityPath != f.js["420106001"].Path {
				t.Fatalf("created = %+v", a)
			}
			if a.IDKind != kind || a.IsDependent() || a.HouseholdID.Valid {
				t.Fatalf("created = %+v", a)
			}
			got, err := f.rs.Get(ctx, jurisdiction.All, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "张三" || got.IDNumber != idA || got.Phone != "13800138000" || got.Sex != "M" ||
				got.BirthDate != (civil.Date{Year: 1990, Month: 1, Day: 1}) || got.CommunityNameEN != "Zhongnan Road" ||
				got.CommunityName("zh") != "中南路社区" || got.IsDependent() {
				t.Fatalf("Get = %+v", got)
			}
			if !got.CreatedAt.Equal(a.CreatedAt) || time.Since(got.CreatedAt) > time.Minute {
				t.Fatalf("created_at = %v, want %v", got.CreatedAt, a.CreatedAt)
			}
		})

		t.Run("ID and phone are sealed at rest", func(t *testing.T) {
			var raw struct {
				IDHash      []byte `db:"id_hash"`
				IDSealed    []byte `db:"id_sealed"`
				PhoneHash   []byte `db:"phone_hash"`
				PhoneSealed []byte `db:"phone_sealed"`
			}
			if err := db.Get(ctx, d.R, &raw, "SELECT id_hash, id_sealed, phone_hash, phone_sealed FROM residents WHERE id = ?", a.ID); err != nil {
				t.Fatal(err)
			}
			if len(raw.IDSealed) == 0 || len(raw.IDHash) == 0 || len(raw.PhoneSealed) == 0 || len(raw.PhoneHash) == 0 {
				t.Fatalf("empty sealed columns: %+v", raw)
			}
			for _, col := range [][]byte{raw.IDHash, raw.IDSealed, raw.PhoneHash, raw.PhoneSealed} {
				if bytes.Contains(col, []byte(idA)) || bytes.Contains(col, []byte(idA[6:14])) || bytes.Contains(col, []byte("13800138000")) {
					t.Fatalf("a column holds plaintext: %q", col)
				}
			}
			// The same phone seals differently each time but hashes the same.
			var rawB struct {
				PhoneHash   []byte `db:"phone_hash"`
				PhoneSealed []byte `db:"phone_sealed"`
			}
			if err := db.Get(ctx, d.R, &rawB, "SELECT phone_hash, phone_sealed FROM residents WHERE id = ?", b.ID); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(rawB.PhoneHash, raw.PhoneHash) || bytes.Equal(rawB.PhoneSealed, raw.PhoneSealed) {
				t.Fatal("phone hash differs or sealed phone repeats across residents")
			}
			// A dependent without a phone stores none.
			var n int
			if err := db.Get(ctx, d.R, &n, "SELECT count(*) FROM residents WHERE id = ? AND phone_hash IS NULL AND phone_sealed IS NULL", dep1.ID); err != nil || n != 1 {
				t.Fatalf("dependent without phone has phone columns: %d, %v", n, err)
			}
		})

		t.Run("find by ID number through its hash", func(t *testing.T) {
			got, err := f.rs.FindByIDNumber(ctx, jurisdiction.All, kind, idA)
			if err != nil || got.ID != a.ID || got.IDNumber != idA {
				t.Fatalf("FindByIDNumber = %+v, %v", got, err)
			}
			got, err = f.rs.FindByIDNumber(ctx, district106, kind, idA)
			if err != nil || got.ID != a.ID {
				t.Fatalf("FindByIDNumber in district = %+v, %v", got, err)
			}
			if _, err := f.rs.FindByIDNumber(ctx, jurisdiction.All, "PASSPORT", idA); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("same number, other kind = %v, want ErrNotFound", err)
			}
			if _, err := f.rs.FindByIDNumber(ctx, jurisdiction.All, kind, cnID("420106", "19900101", "125")); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("unknown number = %v, want ErrNotFound", err)
			}
		})

		t.Run("another key neither finds nor opens", func(t *testing.T) {
			wrong := resident.NewStore(d, newVault(t, 7))
			if _, err := wrong.FindByIDNumber(ctx, jurisdiction.All, kind, idA); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("FindByIDNumber with another key = %v, want ErrNotFound", err)
			}
			r, err := wrong.Get(ctx, jurisdiction.All, a.ID)
			if err == nil || errors.Is(err, db.ErrNotFound) || r.IDNumber != "" {
				t.Errorf("Get with another key = %+v, %v; want an open error", r, err)
			}
		})

		t.Run("search by phone", func(t *testing.T) {
			got, err := f.rs.Search(ctx, jurisdiction.All, resident.Match{Phone: "13800138000"}, list.First)
			if err != nil || !sameIDs(got.Items, a, b) || got.Total != 2 {
				t.Fatalf("Search by phone = %v (total %d), %v; want %d, %d", ids(got.Items), got.Total, err, a.ID, b.ID)
			}
			got, err = f.rs.Search(ctx, jurisdiction.All, resident.Match{Phone: "13600000000"}, list.First)
			if err != nil || len(got.Items) != 0 || got.Total != 0 {
				t.Fatalf("Search by unknown phone = %v, %v", ids(got.Items), err)
			}
		})

		t.Run("reads outside the scope find nothing", func(t *testing.T) {
			for _, scope := range []string{district102, f.js["420102001"].Path, "", "/43/"} {
				if _, err := f.rs.Get(ctx, scope, a.ID); !errors.Is(err, db.ErrNotFound) {
					t.Errorf("Get(%q) = %v, want ErrNotFound", scope, err)
				}
				if _, err := f.rs.FindByIDNumber(ctx, scope, kind, idA); !errors.Is(err, db.ErrNotFound) {
					t.Errorf("FindByIDNumber(%q) = %v, want ErrNotFound", scope, err)
				}
				m := resident.Match{Phone: "13800138000", Name: a.Name, ResidentID: a.ID, IDKind: kind, IDNumber: idA}
				if got, err := f.rs.Search(ctx, scope, m, list.First); err != nil || len(got.Items) != 0 || got.Total != 0 {
					t.Errorf("Search(%q) = %v, %v; want nothing", scope, ids(got.Items), err)
				}
				got, err := f.rs.List(ctx, scope, resident.Filter{})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range got {
					if r.CommunityCode != "420102001" {
						t.Errorf("List(%q) returned %s of %s", scope, r.Name, r.CommunityCode)
					}
				}
			}
			got, err := f.rs.Get(ctx, district102, other.ID)
			if err != nil || got.ID != other.ID {
				t.Fatalf("Get in own scope = %+v, %v", got, err)
			}
			if _, err := f.rs.Get(ctx, district106, other.ID); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("Get from the sibling district = %v, want ErrNotFound", err)
			}
		})

		t.Run("list", func(t *testing.T) {
			all, err := f.rs.List(ctx, jurisdiction.All, resident.Filter{})
			if err != nil || !sameIDs(all, a, b, c, other, dep1, dep2) {
				t.Fatalf("List all = %v, %v", ids(all), err)
			}
			got, _ := f.rs.List(ctx, district106, resident.Filter{})
			if !sameIDs(got, a, b, c, dep1, dep2) {
				t.Errorf("List district 420106 = %v", ids(got))
			}
			got, _ = f.rs.List(ctx, jurisdiction.All, resident.Filter{CommunityID: f.js["420102001"].ID})
			if !sameIDs(got, other) {
				t.Errorf("List community 420102001 = %v", ids(got))
			}
			got, _ = f.rs.List(ctx, jurisdiction.All, resident.Filter{NamePrefix: "张"})
			if !sameIDs(got, a, b, dep1, dep2) {
				t.Errorf("List name 张 = %v", ids(got))
			}
			got, _ = f.rs.List(ctx, jurisdiction.All, resident.Filter{NamePrefix: "张小"})
			if !sameIDs(got, dep1, dep2) {
				t.Errorf("List name 张小 = %v", ids(got))
			}
			got, _ = f.rs.List(ctx, jurisdiction.All, resident.Filter{Limit: 2})
			if !sameIDs(got, a, b) {
				t.Errorf("List limit 2 = %v", ids(got))
			}
			got, _ = f.rs.List(ctx, jurisdiction.All, resident.Filter{AfterID: b.ID, Limit: 2})
			if !sameIDs(got, c, other) {
				t.Errorf("List after %d = %v", b.ID, ids(got))
			}
		})

		t.Run("dependents", func(t *testing.T) {
			got, err := f.rs.Dependents(ctx, a.ID)
			if err != nil || !sameIDs(got, dep1, dep2) {
				t.Fatalf("Dependents = %v, %v", ids(got), err)
			}
			for _, dep := range got {
				if !dep.IsDependent() || dep.GuardianID.Int64 != a.ID || !dep.HouseholdID.Valid || dep.HouseholdID.Int64 != hh || dep.Phone != "" {
					t.Errorf("dependent = %+v", dep)
				}
			}
			if dep2.Sex != "M" || dep1.Sex != "F" {
				t.Errorf("sex from ID: dep1 %s dep2 %s", dep1.Sex, dep2.Sex)
			}
			got, err = f.rs.Dependents(ctx, b.ID)
			if err != nil || len(got) != 0 {
				t.Fatalf("Dependents of b = %v, %v", ids(got), err)
			}
		})

		t.Run("count by community", func(t *testing.T) {
			got, err := f.rs.CountByCommunity(ctx, jurisdiction.All)
			if err != nil {
				t.Fatal(err)
			}
			want := []resident.Count{
				{CommunityID: f.js["420106001"].ID, Residents: 5, Dependents: 2},
				{CommunityID: f.js["420102001"].ID, Residents: 1, Dependents: 0},
			}
			if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
				t.Fatalf("CountByCommunity = %+v, want %+v", got, want)
			}
			got, err = f.rs.CountByCommunity(ctx, district102)
			if err != nil || len(got) != 1 || got[0] != want[1] {
				t.Fatalf("CountByCommunity(420102) = %+v, %v", got, err)
			}
			got, err = f.rs.CountByCommunity(ctx, "")
			if err != nil || len(got) != 0 {
				t.Fatalf("CountByCommunity(\"\") = %+v, %v", got, err)
			}
		})

		t.Run("create refuses", func(t *testing.T) {
			before := f.count(t, "residents")
			n := resident.New{Name: "赵七", IDNumber: cnID("420106", "19660606", "661"), Phone: "13500135000", CommunityCode: "420106001"}
			if err := n.Validate(kind, today, true); err != nil {
				t.Fatal(err)
			}
			// A community outside the creator's scope.
			_, err := f.rs.Create(ctx, d.W, district102, n, 0, 0)
			validationtest.WantField(t, err, "community_code", "resident.community")
			// Not a community.
			district := n
			district.CommunityCode = "420106"
			_, err = f.rs.Create(ctx, d.W, jurisdiction.All, district, 0, 0)
			validationtest.WantField(t, err, "community_code", "resident.community")
			unknown := n
			unknown.CommunityCode = "999999999"
			_, err = f.rs.Create(ctx, d.W, jurisdiction.All, unknown, 0, 0)
			validationtest.WantField(t, err, "community_code", "resident.community")
			// A duplicate ID number, even in another community.
			dup := resident.New{Name: "冒名", IDNumber: idA, Phone: "13500135001", CommunityCode: "420102001"}
			if err := dup.Validate(kind, today, true); err != nil {
				t.Fatal(err)
			}
			_, err = f.rs.Create(ctx, d.W, jurisdiction.All, dup, 0, 0)
			validationtest.WantField(t, err, "id_number", "resident.id_taken")
			if after := f.count(t, "residents"); after != before {
				t.Fatalf("residents %d -> %d after refused creates", before, after)
			}
			// In scope it works.
			r, err := f.rs.Create(ctx, d.W, district106, n, 0, 0)
			if err != nil || r.ID == 0 {
				t.Fatalf("create in scope = %+v, %v", r, err)
			}
		})
	})
}
