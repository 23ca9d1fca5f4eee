package demo_test

import (
	"context"
	"errors"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/demo"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/nationalid"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/vault"
)

func stores(t testing.TB, d *db.DB) demo.Stores {
	v, err := vault.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return demo.Stores{DB: d, Jurisdictions: jurisdiction.NewStore(d), Residents: resident.NewStore(d, v),
		Accounts: account.NewStore(d), Params: account.Params{Memory: 64, Time: 1, Threads: 1}}
}

func TestGenerate(t *testing.T) {
	ctx := context.Background()
	var firstNames []string
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := stores(t, d)
		res, err := demo.Generate(ctx, s, demo.Options{Residents: 3000, Seed: 7, Batch: 700})
		if err != nil {
			t.Fatal(err)
		}
		if res.Residents != 3000 || res.Dependents == 0 || res.Households == 0 || res.ResidentAccounts+res.Dependents != 3000 {
			t.Fatalf("result = %+v", res)
		}
		if res.Communities != 13*demo.CommunitiesPerDistrict || res.StaffAccounts < 11+res.Communities {
			t.Fatalf("region = %+v", res)
		}
		all, err := s.Residents.List(ctx, jurisdiction.All, resident.Filter{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		v := nationalid.CNResidentID{}
		var names []string
		for _, r := range all {
			info, err := v.Parse(r.IDNumber, civil.Date{Year: 2026, Month: 12, Day: 31})
			if err != nil || info.BirthDate != r.BirthDate || info.Sex != r.Sex {
				t.Fatalf("resident %d: ID %s = %+v, %v; record %s %s", r.ID, r.IDNumber, info, err, r.BirthDate, r.Sex)
			}
			names = append(names, r.Name+r.IDNumber)
		}
		// Deterministic: the same seed gives the same people on every store.
		if firstNames == nil {
			firstNames = names
		} else if len(names) != len(firstNames) || names[0] != firstNames[0] || names[len(names)-1] != firstNames[len(names)-1] {
			t.Fatalf("seed 7 gave different people on %s", d.Dialect)
		}
		// resident-1 is a guardian with dependents.
		a, err := s.Accounts.GetByUsername(ctx, "resident-1")
		if err != nil || !a.Demo {
			t.Fatalf("resident-1 = %+v, %v", a, err)
		}
		deps, err := s.Residents.Dependents(ctx, a.ResidentID.Int64)
		if err != nil || len(deps) < 2 {
			t.Fatalf("resident-1 dependents = %d, %v", len(deps), err)
		}
		if _, err := s.Accounts.GetByUsername(ctx, "community-1"); err != nil {
			t.Fatalf("community-1: %v", err)
		}
		if v, _, _ := d.Meta(ctx, account.DemoMetaKey); v != "true" {
			t.Fatal("store not marked as demo")
		}
		// A new resident gets the next id after the demo's.
		n := resident.New{Name: "新人", IDNumber: "11010519491231002X", Phone: "13912345678", CommunityCode: "420106001"}
		if err := n.Validate("CN-RIC", civil.Date{Year: 2026, Month: 1, Day: 1}, true); err != nil {
			t.Fatal(err)
		}
		r, err := s.Residents.Create(ctx, d.W, jurisdiction.All, n, 0, 0)
		if err != nil || r.ID != 3001 {
			t.Fatalf("create after demo = %d, %v; want id 3001", r.ID, err)
		}
		if _, err := demo.Generate(ctx, s, demo.Options{Residents: 10}); !errors.Is(err, demo.ErrNotEmpty) {
			t.Fatalf("second generate = %v, want ErrNotEmpty", err)
		}
	})
}
