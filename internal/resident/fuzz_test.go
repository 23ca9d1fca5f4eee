package resident_test

import (
	"strings"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/pass"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// FuzzName checks that every name registration accepts gives a pass: its
// masked form is never empty and passes the claims' own checks, so that an
// accepted resident never meets "masked name is empty".
func FuzzName(f *testing.F) {
	for _, s := range []string{"张三", "欧阳娜娜", "Jean-Luc Picard", "José Li", "\u200b", "\u2060\ufeff", "\u0301",
		"a\u0301", " \u3000 ", "\xff", "张\u200b三", "O'Brien", "·", "-", "*", "\u00a0Li\u00a0", "\u202e", "\U000e0041"} {
		f.Add(s)
	}
	iat := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		var e validation.Errors
		name := validation.Name(&e, "name", s, validation.MaxNameRunes)
		n := resident.New{Name: s}
		var fromNew bool
		if ve, ok := validation.As(n.Validate("CN-RIC", today, false)); !ok || !ve.Has("name") {
			fromNew = true
		}
		if fromNew != (e.Err() == nil) {
			t.Fatalf("resident.New and validation.Name disagree on %q: %v", s, e.Err())
		}
		if e.Err() != nil {
			return
		}
		if n.Name != name {
			t.Fatalf("resident.New stores %q, validation.Name %q", n.Name, name)
		}
		masked := pass.MaskName(name)
		if strings.TrimSpace(masked) == "" {
			t.Fatalf("accepted name %q (from %q) masks to %q", name, s, masked)
		}
		c := pass.Claims{Version: pass.CurrentVersion, Region: "4201", Holder: "MFRGGZDFMZTWQ2LK", MaskedName: masked,
			Colour: pass.Green, IssuedAt: iat, Expires: iat.Add(time.Hour)}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted name %q masks to %q, which a pass refuses: %v", name, masked, err)
		}
	})
}
