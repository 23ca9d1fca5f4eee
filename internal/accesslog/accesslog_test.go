package accesslog_test

import (
	"context"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/accesslog"
	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction/jurisdictiontest"
	"github.com/outbreak-platform/outbreak/internal/nationalid"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/validation"
	"github.com/outbreak-platform/outbreak/internal/vault"
)

func TestValidPurpose(t *testing.T) {
	for _, p := range accesslog.Purposes {
		if !accesslog.ValidPurpose(p) {
			t.Errorf("ValidPurpose(%q) = false", p)
		}
	}
	for _, p := range []string{"", "curiosity", "Case_Investigation", " case_investigation"} {
		if accesslog.ValidPurpose(p) {
			t.Errorf("ValidPurpose(%q) = true", p)
		}
	}
}

type world struct {
	js        map[string]jurisdiction.Jurisdiction
	residents map[string]resident.Resident // by community code
	actor     rbac.Actor
	other     rbac.Actor
}

// build makes province 42 > city 4201 > districts 420106, 420102 > one
// community each, one resident per community, and two staff actors.
func build(t *testing.T, d *db.DB) world {
	t.Helper()
	ctx := context.Background()
	w := world{js: jurisdictiontest.Region(t, d), residents: map[string]resident.Resident{}}
	v, err := vault.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	rs := resident.NewStore(d, v)
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
		w.residents[c] = r
	}
	as := account.NewStore(d)
	staff := func(name string, role rbac.Role) rbac.Actor {
		j := w.js["4201"]
		a := account.Account{Username: name, PasswordHash: "unused", Role: role, DisplayName: "显示 " + name, Lang: "zh"}
		a.JurisdictionID.Int64, a.JurisdictionID.Valid = j.ID, true
		id, err := as.Create(ctx, d.W, a)
		if err != nil {
			t.Fatal(err)
		}
		return rbac.Actor{AccountID: id, Name: a.DisplayName, Role: role, JurisdictionID: j.ID, ScopePath: j.Path}
	}
	w.actor = staff("epi", rbac.Epidemiologist)
	w.other = staff("clin", rbac.Clinician)
	return w
}

func entryIDs(es []accesslog.Entry) []int64 {
	out := []int64{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func TestStore(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := build(t, d)
		s := accesslog.NewStore(d)
		r106, r102 := w.residents["420106001"], w.residents["420102001"]

		t.Run("unknown purposes are refused", func(t *testing.T) {
			for _, p := range []string{"", "curiosity", "CASE_INVESTIGATION"} {
				err := s.Record(ctx, d.W, w.actor, r106.ID, r106.CommunityID, "read", p)
				ve, ok := validation.As(err)
				if !ok || len(ve.Fields) != 1 || ve.Fields[0].Field != "purpose" || ve.Fields[0].Code != "accesslog.purpose" {
					t.Errorf("Record purpose %q = %v, want field purpose", p, err)
				}
			}
			es, err := s.List(ctx, jurisdiction.All, accesslog.Filter{})
			if err != nil || len(es) != 0 {
				t.Fatalf("entries after refused records = %v, %v", entryIDs(es), err)
			}
		})

		// Five entries, alternating communities and actors.
		type rec struct {
			actor rbac.Actor
			r     resident.Resident
			p     string
		}
		recs := []rec{
			{w.actor, r106, "case_investigation"},
			{w.actor, r102, "contact_tracing"},
			{w.other, r106, "clinical_care"},
			{w.other, r102, "clinical_care"},
			{w.actor, r106, "data_correction"},
		}
		start := time.Now()
		for _, x := range recs {
			if err := s.Record(ctx, d.W, x.actor, x.r.ID, x.r.CommunityID, "read", x.p); err != nil {
				t.Fatal(err)
			}
		}

		all, err := s.List(ctx, jurisdiction.All, accesslog.Filter{})
		if err != nil || len(all) != len(recs) {
			t.Fatalf("List all = %v, %v", entryIDs(all), err)
		}

		t.Run("newest first with every field", func(t *testing.T) {
			for i := 1; i < len(all); i++ {
				if all[i-1].ID <= all[i].ID {
					t.Fatalf("not newest first: %v", entryIDs(all))
				}
			}
			for i, e := range all {
				x := recs[len(recs)-1-i]
				if e.ActorID != x.actor.AccountID || e.ActorRole != x.actor.Role || e.ActorName != x.actor.Name ||
					e.ResidentID != x.r.ID || e.JurisdictionID != x.r.CommunityID || e.Action != "read" || e.Purpose != x.p {
					t.Errorf("entry %d = %+v, want %+v", i, e, x)
				}
				if e.At.Before(start.Add(-time.Minute)) || e.At.After(time.Now().Add(time.Minute)) {
					t.Errorf("entry %d at %v", i, e.At)
				}
			}
		})

		t.Run("scoped by jurisdiction", func(t *testing.T) {
			cases := []struct {
				scope string
				want  []int64
			}{
				{w.js["420106"].Path, []int64{all[0].ID, all[2].ID, all[4].ID}},
				{w.js["420106001"].Path, []int64{all[0].ID, all[2].ID, all[4].ID}},
				{w.js["420102"].Path, []int64{all[1].ID, all[3].ID}},
				{w.js["4201"].Path, entryIDs(all)},
				{"", nil},
				{"/43/", nil},
			}
			for _, c := range cases {
				es, err := s.List(ctx, c.scope, accesslog.Filter{})
				if err != nil {
					t.Fatal(err)
				}
				got := entryIDs(es)
				if len(got) != len(c.want) {
					t.Errorf("List(%q) = %v, want %v", c.scope, got, c.want)
					continue
				}
				for i := range got {
					if got[i] != c.want[i] {
						t.Errorf("List(%q) = %v, want %v", c.scope, got, c.want)
						break
					}
				}
			}
		})

		t.Run("filters", func(t *testing.T) {
			es, _ := s.List(ctx, jurisdiction.All, accesslog.Filter{ResidentID: r102.ID})
			if got := entryIDs(es); len(got) != 2 || got[0] != all[1].ID || got[1] != all[3].ID {
				t.Errorf("by resident = %v", got)
			}
			es, _ = s.List(ctx, jurisdiction.All, accesslog.Filter{ActorID: w.other.AccountID})
			if got := entryIDs(es); len(got) != 2 || got[0] != all[1].ID || got[1] != all[2].ID {
				t.Errorf("by actor = %v", got)
			}
			es, _ = s.List(ctx, jurisdiction.All, accesslog.Filter{Limit: 2})
			if got := entryIDs(es); len(got) != 2 || got[0] != all[0].ID || got[1] != all[1].ID {
				t.Errorf("limit 2 = %v", got)
			}
			es, _ = s.List(ctx, jurisdiction.All, accesslog.Filter{BeforeID: all[1].ID, Limit: 2})
			if got := entryIDs(es); len(got) != 2 || got[0] != all[2].ID || got[1] != all[3].ID {
				t.Errorf("before %d = %v", all[1].ID, got)
			}
			es, _ = s.List(ctx, w.js["420106"].Path, accesslog.Filter{ResidentID: r102.ID})
			if len(es) != 0 {
				t.Errorf("out-of-scope resident filter = %v", entryIDs(es))
			}
		})

		t.Run("record inside a transaction rolls back", func(t *testing.T) {
			err := d.InTx(ctx, func(tx *db.Tx) error {
				if err := s.Record(ctx, tx, w.actor, r106.ID, r106.CommunityID, "lookup", "resident_services"); err != nil {
					return err
				}
				return context.Canceled
			})
			if err != context.Canceled {
				t.Fatalf("InTx = %v", err)
			}
			es, _ := s.List(ctx, jurisdiction.All, accesslog.Filter{})
			if len(es) != len(recs) {
				t.Fatalf("rolled-back entry kept: %v", entryIDs(es))
			}
		})
	})
}
