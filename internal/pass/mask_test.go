package pass

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMaskName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"张三伟", "张*伟"},
		{"张伟", "张*"},
		{"张", "张"},
		{"欧阳娜娜", "欧**娜"},
		{"司马相如", "司**如"},
		{" 张三伟 ", "张*伟"},
		{"阿依古丽·买买提", "阿***·**提"},
		{"Wei Li", "W** L*"},
		{"Wang Li", "W*** L*"},
		{"  Wei   Li ", "W** L*"},
		{"Jean-Luc Picard", "J***-L** P*****"},
		{"O'Brien", "O'B****"},
		{"X", "X"},
		{"Zoë Ångström", "Z** Å*******"},
		{"Li\tWei", "L* W**"},
		{"Wei\u0000Li", "W** L*"},
		{"", ""},
		{"   ", ""},
		{"李 Wei", "李 W**"},
		{"\xff\xfe", ""},
	} {
		if got := MaskName(tc.in); got != tc.want {
			t.Errorf("MaskName(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestMaskNameFitsClaims(t *testing.T) {
	for _, name := range []string{
		strings.Repeat("Alexander ", 10),
		strings.Repeat("张", 100),
		"Maria del Carmen Fernández de la Concepción y Rodríguez",
	} {
		m := MaskName(name)
		if n := utf8.RuneCountInString(m); n > MaxMaskedNameRunes || n == 0 {
			t.Errorf("MaskName(%q) = %q, %d characters", name, m, n)
		}
		c := testClaims()
		c.MaskedName, c.Version = m, CurrentVersion
		if err := c.Validate(); err != nil {
			t.Errorf("masked %q: %v", m, err)
		}
	}
}
