package jurisdiction_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction/jurisdictiontest"
	"github.com/outbreak-platform/outbreak/internal/validation/validationtest"
)

func codes(js []jurisdiction.Jurisdiction) string {
	var cs []string
	for _, j := range js {
		cs = append(cs, j.Code)
	}
	return strings.Join(cs, ",")
}

func TestLevelChild(t *testing.T) {
	want := map[jurisdiction.Level]jurisdiction.Level{
		jurisdiction.Province: jurisdiction.City, jurisdiction.City: jurisdiction.District,
		jurisdiction.District: jurisdiction.Community, jurisdiction.Community: "", "bogus": "",
	}
	for l, c := range want {
		if got := l.Child(); got != c {
			t.Errorf("%s.Child() = %q, want %q", l, got, c)
		}
	}
}

func TestInScopeAndRange(t *testing.T) {
	cases := []struct {
		scope, path string
		want        bool
	}{
		{"/", "/42/", true},
		{"/42/4201/", "/42/4201/420106/", true},
		{"/42/4201/", "/42/4201/", true},
		{"/42/4201/420106/", "/42/4201/420102/", false},
		{"/42/4201/", "/42/42010/", false},
		{"", "/42/", false},
	}
	for _, c := range cases {
		if got := jurisdiction.InScope(c.scope, c.path); got != c.want {
			t.Errorf("InScope(%q, %q) = %v, want %v", c.scope, c.path, got, c.want)
		}
		lo, hi := jurisdiction.Range(c.scope)
		if inRange := c.path >= lo && c.path < hi; inRange != c.want {
			t.Errorf("Range(%q) = [%q, %q): contains %q = %v, want %v", c.scope, lo, hi, c.path, inRange, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	n := jurisdiction.New{Code: " 4203 ", NameZH: " 十堰市 ", NameEN: " Shiyan "}
	if err := n.Validate(); err != nil {
		t.Fatal(err)
	}
	if n.Code != "4203" || n.NameZH != "十堰市" || n.NameEN != "Shiyan" {
		t.Fatalf("not normalised: %+v", n)
	}
	bad := jurisdiction.New{Code: "42-01", NameZH: "", NameEN: strings.Repeat("x", 101)}
	err := bad.Validate()
	validationtest.WantField(t, err, "code", "jurisdiction.code")
	validationtest.WantField(t, err, "name_zh", "required")
	validationtest.WantField(t, err, "name_en", "required_max")
	invisible := jurisdiction.New{Code: "42", NameZH: "\u200b", NameEN: "\u0301"}
	err = invisible.Validate()
	validationtest.WantField(t, err, "name_zh", "text.invisible")
	validationtest.WantField(t, err, "name_en", "name.letter")
	for _, code := range []string{"", "abc", "42 01", strings.Repeat("1", 21), "四二"} {
		n := jurisdiction.New{Code: code, NameZH: "名", NameEN: "n"}
		validationtest.WantField(t, n.Validate(), "code", "jurisdiction.code")
	}
	long := jurisdiction.New{Code: "42", NameZH: strings.Repeat("名", 101), NameEN: "n"}
	validationtest.WantField(t, long.Validate(), "name_zh", "required_max")
	// 100 characters of Chinese is 300 bytes but allowed: the limit is in characters.
	ok := jurisdiction.New{Code: "42", NameZH: strings.Repeat("名", 100), NameEN: "n"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("100-character name: %v", err)
	}
}

func TestStore(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := jurisdiction.NewStore(d)
		js := jurisdictiontest.Region(t, d)

		t.Run("levels and paths", func(t *testing.T) {
			want := map[string]struct {
				level  jurisdiction.Level
				path   string
				parent string
			}{
				"42":        {jurisdiction.Province, "/42/", ""},
				"4201":      {jurisdiction.City, "/42/4201/", "42"},
				"420106":    {jurisdiction.District, "/42/4201/420106/", "4201"},
				"420102":    {jurisdiction.District, "/42/4201/420102/", "4201"},
				"420106001": {jurisdiction.Community, "/42/4201/420106/420106001/", "420106"},
				"420102001": {jurisdiction.Community, "/42/4201/420102/420102001/", "420102"},
			}
			for code, w := range want {
				j, err := s.GetByCode(ctx, code)
				if err != nil {
					t.Fatalf("GetByCode %s: %v", code, err)
				}
				if j.ID != js[code].ID || j.Level != w.level || j.Path != w.path || j.Code != code {
					t.Errorf("%s = %+v, want level %s path %s id %d", code, j, w.level, w.path, js[code].ID)
				}
				if w.parent == "" {
					if j.ParentID.Valid {
						t.Errorf("%s has parent %d, want none", code, j.ParentID.Int64)
					}
				} else if !j.ParentID.Valid || j.ParentID.Int64 != js[w.parent].ID {
					t.Errorf("%s parent = %v, want %d", code, j.ParentID, js[w.parent].ID)
				}
				if j.CreatedAt.IsZero() {
					t.Errorf("%s has no created_at", code)
				}
			}
			g, err := s.Get(ctx, js["420106"].ID)
			if err != nil || g.Code != "420106" || g.NameEN != "Wuchang" || g.Name("en") != "Wuchang" || g.Name("zh") != "武昌区" {
				t.Fatalf("Get = %+v, %v", g, err)
			}
			if !js["4201"].Contains(js["420106001"]) || js["420102"].Contains(js["420106001"]) {
				t.Error("Contains wrong")
			}
		})

		t.Run("not found", func(t *testing.T) {
			if _, err := s.GetByCode(ctx, "999999"); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("GetByCode unknown = %v, want ErrNotFound", err)
			}
			if _, err := s.Get(ctx, 987654); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("Get unknown = %v, want ErrNotFound", err)
			}
		})

		t.Run("no level below community", func(t *testing.T) {
			_, err := s.Create(ctx, d.W, jurisdiction.All, jurisdiction.New{Code: "420106001001", NameZH: "楼", NameEN: "Block", ParentCode: "420106001"})
			validationtest.WantField(t, err, "parent_code", "jurisdiction.leaf")
		})

		t.Run("roots need the whole scope", func(t *testing.T) {
			_, err := s.Create(ctx, d.W, js["42"].Path, jurisdiction.New{Code: "43", NameZH: "湖南省", NameEN: "Hunan"})
			validationtest.WantField(t, err, "parent_code", "out_of_scope")
			if _, err := s.GetByCode(ctx, "43"); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("refused root was stored: %v", err)
			}
		})

		t.Run("parent must be in scope", func(t *testing.T) {
			n := jurisdiction.New{Code: "420106002", NameZH: "新社区", NameEN: "New", ParentCode: "420106"}
			_, err := s.Create(ctx, d.W, js["420102"].Path, n)
			validationtest.WantField(t, err, "parent_code", "not_found")
			_, err = s.Create(ctx, d.W, "", n)
			validationtest.WantField(t, err, "parent_code", "not_found")
			_, err = s.Create(ctx, d.W, jurisdiction.All, jurisdiction.New{Code: "420199", NameZH: "无", NameEN: "None", ParentCode: "4299"})
			validationtest.WantField(t, err, "parent_code", "not_found")

			// A district admin adds a community to their own district.
			j, err := s.Create(ctx, d.W, js["420106"].Path, n)
			if err != nil {
				t.Fatal(err)
			}
			if j.Level != jurisdiction.Community || j.Path != "/42/4201/420106/420106002/" || j.ID == 0 {
				t.Fatalf("created = %+v", j)
			}
		})

		t.Run("invalid input is refused before the store", func(t *testing.T) {
			_, err := s.Create(ctx, d.W, jurisdiction.All, jurisdiction.New{Code: "x y", NameZH: "", NameEN: "X", ParentCode: "42"})
			validationtest.WantField(t, err, "code", "jurisdiction.code")
			validationtest.WantField(t, err, "name_zh", "required")
		})

		t.Run("duplicate code is taken", func(t *testing.T) {
			_, err := s.Create(ctx, d.W, jurisdiction.All, jurisdiction.New{Code: "420106", NameZH: "重复", NameEN: "Dup", ParentCode: "4201"})
			validationtest.WantField(t, err, "code", "taken")
			// Also when the duplicate would sit elsewhere in the tree.
			_, err = s.Create(ctx, d.W, jurisdiction.All, jurisdiction.New{Code: "4201", NameZH: "重复", NameEN: "Dup"})
			validationtest.WantField(t, err, "code", "taken")
			j, err := s.GetByCode(ctx, "420106")
			if err != nil || j.NameZH != "武昌区" {
				t.Fatalf("original changed: %+v, %v", j, err)
			}
		})

		t.Run("create inside a transaction rolls back", func(t *testing.T) {
			boom := errors.New("boom")
			err := d.InTx(ctx, func(tx *db.Tx) error {
				if _, err := s.Create(ctx, tx, jurisdiction.All, jurisdiction.New{Code: "420102009", NameZH: "临时", NameEN: "Tmp", ParentCode: "420102"}); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("InTx = %v", err)
			}
			if _, err := s.GetByCode(ctx, "420102009"); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("rolled-back jurisdiction found: %v", err)
			}
		})

		// A city whose code extends 4201 must not fall in 4201's subtree.
		if _, err := s.Create(ctx, d.W, jurisdiction.All, jurisdiction.New{Code: "42010", NameZH: "邻市", NameEN: "Neighbour", ParentCode: "42"}); err != nil {
			t.Fatal(err)
		}

		t.Run("children", func(t *testing.T) {
			roots, err := s.Children(ctx, 0)
			if err != nil || codes(roots) != "42" {
				t.Fatalf("roots = %s, %v", codes(roots), err)
			}
			cs, err := s.Children(ctx, js["4201"].ID)
			if err != nil || codes(cs) != "420102,420106" {
				t.Fatalf("children of 4201 = %s, %v; want 420102,420106", codes(cs), err)
			}
			cs, err = s.Children(ctx, js["420102001"].ID)
			if err != nil || len(cs) != 0 {
				t.Fatalf("children of a community = %s, %v", codes(cs), err)
			}
		})

		t.Run("subtree", func(t *testing.T) {
			cases := []struct{ scope, want string }{
				{jurisdiction.All, "42,4201,420102,420102001,420106,420106001,420106002,42010"},
				{js["4201"].Path, "4201,420102,420102001,420106,420106001,420106002"},
				{js["420106"].Path, "420106,420106001,420106002"},
				{js["420102001"].Path, "420102001"},
				{"", ""},
				{"/43/", ""},
			}
			for _, c := range cases {
				got, err := s.Subtree(ctx, c.scope)
				if err != nil {
					t.Fatal(err)
				}
				if codes(got) != c.want {
					t.Errorf("Subtree(%q) = %s, want %s", c.scope, codes(got), c.want)
				}
				for i := 1; i < len(got); i++ {
					if got[i-1].Path >= got[i].Path {
						t.Errorf("Subtree(%q) not ordered by path: %s before %s", c.scope, got[i-1].Path, got[i].Path)
					}
				}
			}
		})

		t.Run("rename", func(t *testing.T) {
			if err := s.Rename(ctx, js["420102"].Path, "420106001", "改名", "Renamed"); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("rename out of scope = %v, want ErrNotFound", err)
			}
			if err := s.Rename(ctx, "", "420106001", "改名", "Renamed"); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("rename with empty scope = %v, want ErrNotFound", err)
			}
			j, _ := s.GetByCode(ctx, "420106001")
			if j.NameZH != "中南路社区" || j.NameEN != "Zhongnan Road" {
				t.Fatalf("out-of-scope rename changed names: %+v", j)
			}
			if err := s.Rename(ctx, js["420106"].Path, "420106001", " 中南社区 ", " Zhongnan "); err != nil {
				t.Fatalf("rename in scope: %v", err)
			}
			j, _ = s.GetByCode(ctx, "420106001")
			if j.NameZH != "中南社区" || j.NameEN != "Zhongnan" {
				t.Fatalf("after rename = %+v", j)
			}
			other, _ := s.GetByCode(ctx, "420102001")
			if other.NameEN != "Dazhi Road" {
				t.Fatalf("rename touched another jurisdiction: %+v", other)
			}
			validationtest.WantField(t, s.Rename(ctx, jurisdiction.All, "420106001", "", "x"), "name_zh", "required")
			if err := s.Rename(ctx, jurisdiction.All, "999999", "无", "None"); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("rename unknown = %v, want ErrNotFound", err)
			}
		})
	})
}
