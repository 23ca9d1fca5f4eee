package tracing_test

import (
	"testing"

	"github.com/outbreak-platform/outbreak/internal/tracing"
)

// TestContactsOrder checks that contacts come ordered by resident id with
// their evidence by time, whether or not the ids fit in 32 bits, and that
// a check-in found twice is shown once.
func TestContactsOrder(t *testing.T) {
	for _, tc := range []struct {
		name      string
		residents []int64
	}{
		{"narrow", []int64{9, 3, 9, 1 << 20, 3, 9}},
		{"wide", []int64{1 << 40, 3, 1 << 40, 1 << 33, 3, 1 << 40}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ins := []int64{3000, 2000, 1000, 500, 2000, 2000}
			cs := tracing.ContactsOfHits(tc.residents, ins)
			if len(cs) != 3 {
				t.Fatalf("%d contacts, want 3: %+v", len(cs), cs)
			}
			for i := 1; i < len(cs); i++ {
				if cs[i-1].ResidentID >= cs[i].ResidentID {
					t.Errorf("contacts out of order: %d before %d", cs[i-1].ResidentID, cs[i].ResidentID)
				}
			}
			var last, twice tracing.Contact
			for _, c := range cs {
				switch c.ResidentID {
				case tc.residents[0]:
					last = c
				case tc.residents[1]:
					twice = c
				}
			}
			if len(twice.Evidence) != 1 {
				t.Errorf("contact %d: a check-in found twice shown as %+v", twice.ResidentID, twice.Evidence)
			}
			// Three check-ins, at 3000, 1000 and 2000.
			var got []int64
			for _, e := range last.Evidence {
				got = append(got, e.In)
			}
			if len(got) != 3 || got[0] != 1000 || got[1] != 2000 || got[2] != 3000 || last.Exposure != 1000 {
				t.Errorf("contact %d: evidence from %v, exposure %d; want [1000 2000 3000], 1000", last.ResidentID, got, last.Exposure)
			}
		})
	}
}
