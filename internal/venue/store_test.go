package venue_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction/jurisdictiontest"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/validation/validationtest"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

// cst is the region's time zone; now is the tests' clock.
var (
	cst = time.FixedZone("CST", 8*3600)
	now = time.Date(2026, 5, 1, 10, 0, 0, 0, cst)
)

func fp(v float64) *float64 { return &v }

// actors are the accounts of the fixture.
type actors struct {
	owner, neighbour        rbac.Actor // residents
	worker, farWorker       rbac.Actor // community workers in 420106, 420102
	admin, checkpoint, epid rbac.Actor
}

// fixture builds province 42 > city 4201 > districts 420106, 420102 > one
// community each, with two residents and staff.
func fixture(t *testing.T, d *db.DB) actors {
	t.Helper()
	ctx := context.Background()
	made := jurisdictiontest.Region(t, d)
	accounts := account.NewStore(d)
	mk := func(username string, role rbac.Role, j string) rbac.Actor {
		a := account.Account{Username: username, PasswordHash: "x", Role: role, DisplayName: username, Lang: "zh"}
		if role == rbac.Resident {
			var rid int64
			if err := d.W.QueryRowxContext(ctx, d.W.Rebind(`INSERT INTO residents (name, id_kind, id_hash, id_sealed, birth_date, sex,
				community_id, created_at) VALUES (?, 'cn', ?, ?, '1980-01-01', 'F', ?, ?) RETURNING id`),
				username, []byte(username), []byte("sealed"), made["420106001"].ID, time.Now().UTC()).Scan(&rid); err != nil {
				t.Fatalf("create resident %s: %v", username, err)
			}
			a.ResidentID = sql.NullInt64{Int64: rid, Valid: true}
		} else {
			a.JurisdictionID = sql.NullInt64{Int64: made[j].ID, Valid: true}
		}
		id, err := accounts.Create(ctx, d.W, a)
		if err != nil {
			t.Fatalf("create %s: %v", username, err)
		}
		got, err := accounts.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return got.Actor()
	}
	return actors{
		owner:      mk("owner", rbac.Resident, ""),
		neighbour:  mk("neighbour", rbac.Resident, ""),
		worker:     mk("worker", rbac.CommunityWorker, "420106"),
		farWorker:  mk("far-worker", rbac.CommunityWorker, "420102"),
		admin:      mk("admin", rbac.Admin, "4201"),
		checkpoint: mk("checkpoint", rbac.Checkpoint, "420106"),
		epid:       mk("epid", rbac.Epidemiologist, "4201"),
	}
}

func shop(name, community string) venue.New {
	return venue.New{Type: venue.Shop, Name: name, Address: "解放路 88 号", Latitude: fp(30.54), Longitude: fp(114.31), JurisdictionCode: community}
}

func trip(typ venue.Type, number string, date civil.Date) venue.New {
	return venue.New{Type: typ, Name: number + " 武汉—北京西", JurisdictionCode: "4201", ServiceNumber: number, ServiceDate: date}
}

func names(ps []venue.Place) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func TestStore(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		t.Parallel()
		ctx := context.Background()
		s := venue.NewStore(d, func() time.Time { return now })
		as := fixture(t, d)
		today := civil.Of(now)

		// Who may register what, where.
		market, err := s.Create(ctx, d.W, as.owner, shop("解放路菜市场", "420106001"))
		if err != nil {
			t.Fatalf("resident registers a shop: %v", err)
		}
		if market.ID == 0 || market.Kind != venue.Venue || !market.OwnerAccountID.Valid || market.OwnerAccountID.Int64 != as.owner.AccountID ||
			market.CreatedBy != as.owner.AccountID || market.JurisdictionCode != "420106001" {
			t.Fatalf("created %+v", market)
		}
		// A resident's shop may lie in another district than its home.
		if _, err := s.Create(ctx, d.W, as.owner, shop("大智路餐馆", "420102001")); err != nil {
			t.Fatalf("shop elsewhere: %v", err)
		}
		gate, err := s.Create(ctx, d.W, as.worker, venue.New{Type: venue.CompoundEntrance, Name: "中南花园北门", Address: "中南路 1 号",
			Latitude: fp(30.53), Longitude: fp(114.33), JurisdictionCode: "420106001"})
		if err != nil {
			t.Fatalf("worker registers a compound entrance: %v", err)
		}
		if gate.OwnerAccountID.Valid {
			t.Errorf("a staff-registered place has an owner: %+v", gate)
		}
		g1234, err := s.Create(ctx, d.W, as.admin, trip(venue.Train, "g1234", today))
		if err != nil {
			t.Fatalf("admin registers a train: %v", err)
		}
		if g1234.ServiceNumber != "G1234" || g1234.ServiceDate != today || g1234.Latitude != nil {
			t.Errorf("trip %+v", g1234)
		}
		bus, err := s.Create(ctx, d.W, as.admin, trip(venue.Bus, "526", civil.Date{}))
		if err != nil {
			t.Fatalf("admin registers a bus line: %v", err)
		}
		busToday, err := s.Create(ctx, d.W, as.admin, trip(venue.Bus, "526", today))
		if err != nil {
			t.Fatalf("admin registers a dated bus trip beside its line: %v", err)
		}

		for _, tc := range []struct {
			name string
			a    rbac.Actor
			n    venue.New
		}{
			{"resident registers a compound entrance", as.owner, venue.New{Type: venue.CompoundEntrance, Name: "x", Address: "x",
				Latitude: fp(1), Longitude: fp(1), JurisdictionCode: "420106001"}},
			{"resident registers a train", as.owner, trip(venue.Train, "D1", today)},
			{"worker registers a shop", as.worker, shop("店", "420106001")},
			{"admin registers a shop", as.admin, shop("店", "420106001")},
			{"checkpoint registers anything", as.checkpoint, shop("店", "420106001")},
			{"epidemiologist registers anything", as.epid, venue.New{}},
		} {
			if _, err := s.Create(ctx, d.W, tc.a, tc.n); !errors.Is(err, fault.ErrForbidden) {
				t.Errorf("%s: %v; want fault.ErrForbidden", tc.name, err)
			}
		}
		_, err = s.Create(ctx, d.W, as.farWorker, venue.New{Type: venue.CompoundEntrance, Name: "x", Address: "x",
			Latitude: fp(1), Longitude: fp(1), JurisdictionCode: "420106001"})
		validationtest.WantField(t, err, "jurisdiction_code", "not_found") // outside the worker's scope
		_, err = s.Create(ctx, d.W, as.owner, shop("店", "420106"))
		validationtest.WantField(t, err, "jurisdiction_code", "venue.community") // a district, not a community
		_, err = s.Create(ctx, d.W, as.owner, shop("店", "999"))
		validationtest.WantField(t, err, "jurisdiction_code", "not_found")
		_, err = s.Create(ctx, d.W, as.owner, shop("", "420106001"))
		validationtest.WantField(t, err, "name", "venue.name")
		_, err = s.Create(ctx, d.W, as.admin, trip(venue.Train, "G1234", today))
		validationtest.WantField(t, err, "service_number", "venue.trip_taken")
		_, err = s.Create(ctx, d.W, as.admin, trip(venue.Bus, "526", civil.Date{}))
		validationtest.WantField(t, err, "service_number", "venue.trip_taken") // the undated line once
		_, err = s.Create(ctx, d.W, as.admin, trip(venue.Train, "G1234", today.AddDays(-400)))
		validationtest.WantField(t, err, "service_date", "venue.service_date")
		if _, err := s.Create(ctx, d.W, as.admin, trip(venue.Train, "G1234", today.AddDays(1))); err != nil {
			t.Errorf("the same train the next day: %v", err)
		}

		// Get gives back what Create returned.
		got, err := s.Get(ctx, market.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != market.Name || got.Address != market.Address || *got.Latitude != 30.54 || *got.Longitude != 114.31 ||
			got.OwnerAccountID != market.OwnerAccountID || got.JurisdictionPath != market.JurisdictionPath ||
			got.JurisdictionNameEN != "Zhongnan Road" || !got.CreatedAt.Equal(market.CreatedAt) || got.Disabled || got.ServiceNumber != "" {
			t.Errorf("Get = %+v\nwant %+v", got, market)
		}
		if got, err := s.Get(ctx, g1234.ID); err != nil || got.ServiceDate != today || got.ServiceNumber != "G1234" || got.Latitude != nil {
			t.Errorf("Get trip = %+v, %v", got, err)
		}
		if _, err := s.Get(ctx, 1e9); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("Get missing: %v", err)
		}

		// Search by name prefix, within scope.
		for _, tc := range []struct {
			scope string
			f     venue.Filter
			want  []string
		}{
			{jurisdiction.All, venue.Filter{NamePrefix: "解放"}, []string{"解放路菜市场"}},
			{jurisdiction.All, venue.Filter{NamePrefix: "中南"}, []string{"中南花园北门"}},
			{as.worker.ScopePath, venue.Filter{Kind: venue.Venue}, []string{"中南花园北门", "解放路菜市场"}},
			{as.farWorker.ScopePath, venue.Filter{}, []string{"大智路餐馆"}},
			{as.farWorker.ScopePath, venue.Filter{NamePrefix: "解放"}, nil},
			{as.admin.ScopePath, venue.Filter{NamePrefix: "G1234"}, []string{"G1234 武汉—北京西"}}, // next day's
			{as.admin.ScopePath, venue.Filter{NamePrefix: "g12"}, []string{"g1234 武汉—北京西"}},   // names keep their case
			{as.admin.ScopePath, venue.Filter{Kind: venue.Vehicle, NamePrefix: "526"}, []string{"526 武汉—北京西", "526 武汉—北京西"}},
			{as.admin.ScopePath, venue.Filter{Kind: venue.Vehicle, Limit: 1}, []string{"526 武汉—北京西"}},
			{"", venue.Filter{}, nil},
			{jurisdiction.All, venue.Filter{NamePrefix: "\x00"}, nil},
		} {
			ps, err := s.Search(ctx, tc.scope, tc.f)
			if err != nil {
				t.Fatalf("search %q %+v: %v", tc.scope, tc.f, err)
			}
			if got := names(ps); !slices.Equal(got, tc.want) {
				t.Errorf("search %q %+v = %q; want %q", tc.scope, tc.f, got, tc.want)
			}
		}

		// ListOwned: the resident's own, newest first.
		owned, err := s.ListOwned(ctx, as.owner.AccountID)
		if err != nil || !slices.Equal(names(owned), []string{"大智路餐馆", "解放路菜市场"}) {
			t.Errorf("ListOwned = %q, %v", names(owned), err)
		}
		if owned, _ := s.ListOwned(ctx, as.neighbour.AccountID); len(owned) != 0 {
			t.Errorf("the neighbour owns %q", names(owned))
		}

		// FindTrip: the dated trip, else the undated line.
		for _, tc := range []struct {
			number string
			on     civil.Date
			want   int64
		}{
			{"G1234", today, g1234.ID},
			{" g1234", today, g1234.ID},
			{"526", today, busToday.ID},
			{"526", today.AddDays(3), bus.ID},
			{"G1234", today.AddDays(3), 0},
			{"CZ3101", today, 0},
			{"", today, 0},
			{"G1234", civil.Date{}, 0},
		} {
			p, err := s.FindTrip(ctx, tc.number, tc.on)
			switch {
			case tc.want == 0 && !errors.Is(err, db.ErrNotFound):
				t.Errorf("FindTrip(%q, %s) = %d, %v; want not found", tc.number, tc.on, p.ID, err)
			case tc.want != 0 && (err != nil || p.ID != tc.want):
				t.Errorf("FindTrip(%q, %s) = %d, %v; want %d", tc.number, tc.on, p.ID, err, tc.want)
			}
		}

		// SetDisabled: by whoever may manage the place.
		reg := &venue.Registry{DB: d, Store: s}
		if _, err := reg.SetDisabled(ctx, as.neighbour, market.ID, true, ""); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("neighbour disables the market: %v", err)
		}
		if _, err := reg.SetDisabled(ctx, as.farWorker, gate.ID, true, ""); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("far worker disables the gate: %v", err)
		}
		if _, err := reg.SetDisabled(ctx, as.worker, market.ID, true, ""); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("worker disables a shop: %v", err)
		}
		if _, err := reg.SetDisabled(ctx, as.owner, 1e9, true, ""); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("disable a missing place: %v", err)
		}
		if _, err := reg.SetDisabled(ctx, as.owner, market.ID, true, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.SetDisabled(ctx, as.admin, busToday.ID, true, ""); err != nil {
			t.Fatal(err)
		}
		if p, _ := s.Get(ctx, market.ID); !p.Disabled {
			t.Error("the market is not disabled")
		}
		if ps, _ := s.Search(ctx, jurisdiction.All, venue.Filter{NamePrefix: "解放"}); len(ps) != 0 {
			t.Errorf("search finds a disabled place: %q", names(ps))
		}
		if ps, _ := s.Search(ctx, jurisdiction.All, venue.Filter{NamePrefix: "解放", IncludeDisabled: true}); len(ps) != 1 {
			t.Errorf("search with disabled = %q", names(ps))
		}
		if p, err := s.FindTrip(ctx, "526", today); err != nil || p.ID != bus.ID {
			t.Errorf("FindTrip past a disabled trip = %d, %v; want the line %d", p.ID, err, bus.ID)
		}
		if _, err := reg.SetDisabled(ctx, as.owner, market.ID, false, ""); err != nil {
			t.Fatal(err)
		}
		if p, _ := s.Get(ctx, market.ID); p.Disabled {
			t.Error("the market is still disabled")
		}
	})
}

// TestCreateInTx checks that Create joins the caller's transaction.
func TestCreateInTx(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		t.Parallel()
		ctx := context.Background()
		s := venue.NewStore(d, func() time.Time { return now })
		as := fixture(t, d)
		boom := fmt.Errorf("boom")
		var id int64
		err := d.InTx(ctx, func(tx *db.Tx) error {
			p, err := s.Create(ctx, tx, as.owner, shop("回滚的店", "420106001"))
			id = p.ID
			if err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) || id == 0 {
			t.Fatalf("InTx = %v, id %d", err, id)
		}
		if _, err := s.Get(ctx, id); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("a rolled-back place is found: %v", err)
		}
	})
}
