package audit_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction/jurisdictiontest"
	"github.com/outbreak-platform/outbreak/internal/list"
	"github.com/outbreak-platform/outbreak/internal/nationalid"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/vault"
)

// twoDistricts makes the test region with one resident in each district's
// community and returns the jurisdictions and the residents by community.
func twoDistricts(t *testing.T, d *db.DB) (map[string]jurisdiction.Jurisdiction, map[string]resident.Resident) {
	t.Helper()
	ctx := context.Background()
	js := jurisdictiontest.Region(t, d)
	v, err := vault.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	rs := resident.NewStore(d, v)
	out := map[string]resident.Resident{}
	for _, c := range []string{"420106001", "420102001"} {
		first17 := c[:6] + "19900101" + "123"
		n := resident.New{Name: "居民" + c, IDNumber: first17 + string(nationalid.CNCheckChar(first17)), Phone: "13800138000", CommunityCode: c}
		if err := n.Validate("CN-RIC", civil.Date{Year: 2026, Month: 1, Day: 1}, true); err != nil {
			t.Fatal(err)
		}
		r, err := rs.Create(ctx, d.W, jurisdiction.All, n, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		out[c] = r
	}
	return js, out
}

func record(t *testing.T, d *db.DB, rs ...audit.Record) {
	t.Helper()
	ctx := context.Background()
	if err := d.InTx(ctx, func(tx *db.Tx) error { _, err := audit.AppendBatch(ctx, tx, rs); return err }); err != nil {
		t.Fatal(err)
	}
}

// all walks every page of the list.
func all(t *testing.T, d *db.DB, scope string, f audit.Filter) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	p := list.Page{Limit: 3}
	for {
		o, err := audit.List(context.Background(), d, scope, f, p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, o.Items...)
		if !o.More() {
			if int64(len(out)) != o.Total {
				t.Fatalf("walked %d entries, total says %d", len(out), o.Total)
			}
			return out
		}
		p = p.Next()
	}
}

func TestListReadsOnlyTheReadersScope(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		js, rs := twoDistricts(t, d)
		a, b := rs["420106001"], rs["420102001"]
		epi := rbac.Actor{Name: "流调员", Role: rbac.Epidemiologist}
		for range 4 {
			record(t, d,
				audit.Record{Actor: epi, ResidentID: a.ID, Kind: audit.Appeal, After: "appeal of A", Reason: "appeal", LegalBasis: "art. 1"},
				audit.Record{Actor: audit.System, ResidentID: b.ID, Kind: audit.Appeal, After: "I was never at that market (B)", Reason: "appeal", LegalBasis: "art. 1"},
			)
		}
		record(t, d, audit.Record{Actor: audit.System, Kind: audit.RuleSet, Reason: "rules v2", LegalBasis: "art. 2"})

		districtA := all(t, d, js["420106"].Path, audit.Filter{})
		if len(districtA) != 4 {
			t.Errorf("district A reads %d entries, want its 4", len(districtA))
		}
		for _, e := range districtA {
			if e.ResidentID.Int64 != a.ID || strings.Contains(e.After, "(B)") {
				t.Errorf("district A's auditor reads an entry outside its scope: %+v", e)
			}
		}
		if got := all(t, d, js["420102001"].Path, audit.Filter{}); len(got) != 4 || got[0].ResidentID.Int64 != b.ID {
			t.Errorf("community B reads %+v, want B's 4", got)
		}
		if got := all(t, d, js["4201"].Path, audit.Filter{}); len(got) != 9 {
			t.Errorf("the city reads %d entries, want all 9", len(got))
		}
		if got := all(t, d, "", audit.Filter{}); len(got) != 0 {
			t.Errorf("no scope reads %d entries", len(got))
		}

		// Filters narrow within the scope.
		city := js["4201"].Path
		for _, tc := range []struct {
			name string
			f    audit.Filter
			n    int
		}{
			{"kind", audit.Filter{Kind: audit.RuleSet}, 1},
			{"actor", audit.Filter{Actor: "流调员"}, 4},
			{"resident", audit.Filter{ResidentID: b.ID}, 4},
			{"from tomorrow", audit.Filter{From: time.Now().Add(24 * time.Hour)}, 0},
			{"until yesterday", audit.Filter{To: time.Now().Add(-24 * time.Hour)}, 0},
			{"today", audit.Filter{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour)}, 9},
		} {
			if got := all(t, d, city, tc.f); len(got) != tc.n {
				t.Errorf("filter %s: %d entries, want %d", tc.name, len(got), tc.n)
			}
		}
		if got := all(t, d, js["420106"].Path, audit.Filter{ResidentID: b.ID}); len(got) != 0 {
			t.Errorf("district A filtering on B's resident reads %d entries", len(got))
		}
		// Newest first, paged without overlap; the export reads the same.
		es := all(t, d, city, audit.Filter{})
		defer audit.SetExportBatch(2)()
		for _, scope := range []string{city, js["420106"].Path} {
			var got []int64
			if err := audit.Each(context.Background(), d, scope, audit.Filter{}, func(e audit.Entry) error { got = append(got, e.ID); return nil }); err != nil {
				t.Fatal(err)
			}
			var want []int64
			for _, e := range all(t, d, scope, audit.Filter{}) {
				want = append(want, e.ID)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("export of %s = %v, the list %v", scope, got, want)
			}
		}
		for i := 1; i < len(es); i++ {
			if es[i].ID >= es[i-1].ID {
				t.Fatalf("not newest first: %d after %d", es[i].ID, es[i-1].ID)
			}
		}
	})
}
