package nationalid

import (
	"errors"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/civil"
)

var today = civil.Date{Year: 2026, Month: 11, Day: 24}

func TestCNResidentID(t *testing.T) {
	v, err := Lookup("CN-RIC")
	if err != nil {
		t.Fatal(err)
	}
	// 11010519491231002X is the example number of GB 11643-1999.
	info, err := v.Parse("11010519491231002x", today)
	if err != nil {
		t.Fatalf("standard example rejected: %v", err)
	}
	if info.Number != "11010519491231002X" || info.Sex != "F" || info.BirthDate.String() != "1949-12-31" {
		t.Errorf("info = %+v", info)
	}
	for _, tc := range []struct{ in, code string }{
		{"", "id.length"},
		{"11010519491231002", "id.length"},
		{"110105194912310021", "id.checksum"},
		{"11010519491331002X", "id.birthdate"},
		{"11010520991231002X", "id.birthdate"},
		{"1101051949123100AX", "id.digits"},
		{"01010519491231002X", "id.region"},
	} {
		_, err := v.Parse(tc.in, today)
		var e *Error
		if !errors.As(err, &e) || e.Code != tc.code {
			t.Errorf("Parse(%q) = %v, want %s", tc.in, err, tc.code)
		}
	}
}

func TestPassport(t *testing.T) {
	v, _ := Lookup("PASSPORT")
	if _, err := v.Parse("e12345678", today); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"ABCDEFG", "E1", "E123-4567"} {
		if _, err := v.Parse(bad, today); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	if _, err := Lookup("XX"); err == nil {
		t.Error("unknown kind accepted")
	}
}

// FuzzCNResidentID checks that no input panics, and that whatever is
// accepted is canonical, self-consistent and accepted again.
func FuzzCNResidentID(f *testing.F) {
	for _, s := range []string{"11010519491231002X", "420106199001011234", "", "XXXXXXXXXXXXXXXXXX", "110105194902300021", " 11010519491231002x "} {
		f.Add(s)
	}
	v := CNResidentID{}
	f.Fuzz(func(t *testing.T, s string) {
		info, err := v.Parse(s, today)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not a coded Error", err)
			}
			return
		}
		if len(info.Number) != 18 || CNCheckChar(info.Number[:17]) != info.Number[17] {
			t.Fatalf("accepted %q with a bad check character", info.Number)
		}
		if info.BirthDate.After(today) || (info.Sex != "F" && info.Sex != "M") {
			t.Fatalf("accepted %q as %+v", s, info)
		}
		again, err := v.Parse(info.Number, today)
		if err != nil || again != info {
			t.Fatalf("normalised %q not stable: %+v, %v", info.Number, again, err)
		}
	})
}

func TestNormalize(t *testing.T) {
	const want = "42010619780502002X"
	if c := CNCheckChar(want[:17]); c != 'X' {
		t.Fatalf("check character of %s = %c: the example is not valid", want[:17], c)
	}
	for _, in := range []string{
		"42010619780502002x",
		" 420106 19780502 002X ",
		"420106\u00a019780502\u3000002x",
		"４２０１０６１９７８０５０２００２Ｘ", // full-width digits and letter
		"４２０１０６ １９７８０５０２ ００２ｘ",
		"420106\u200b19780502002x",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
		v, _ := Lookup("CN-RIC")
		info, err := v.Parse(in, today)
		if err != nil || info.Number != want {
			t.Errorf("Parse(%q) = %+v, %v, want %s", in, info, err, want)
		}
	}
	if _, err := Parse("CN-RIC", "４２０１０６１９７８０５０２００２１", today); !isCode(err, "id.checksum") {
		t.Errorf("full-width number with a wrong check digit: %v, want id.checksum", err)
	}
	if _, err := Parse("CN-RIC", "420106 19781302 002x", today); !isCode(err, "id.birthdate") {
		t.Errorf("spaced number with month 13: %v, want id.birthdate", err)
	}
	if got := Normalize("ｅ１２３４５６７８"); got != "E12345678" {
		t.Errorf("Normalize(full-width passport) = %q", got)
	}
}

func isCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
