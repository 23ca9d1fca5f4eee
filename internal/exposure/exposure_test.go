package exposure_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/exposure"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

// cst is the region's time zone; now is the tests' clock.
var (
	cst   = time.FixedZone("CST", 8*3600)
	now   = time.Date(2026, 5, 15, 18, 30, 0, 0, cst)
	today = civil.Of(now)
)

func fp(v float64) *float64 { return &v }

// at returns the instant of clock time hh:mm, days days before today.
func at(daysAgo, hh, mm int) time.Time {
	return time.Date(now.Year(), now.Month(), now.Day()-daysAgo, hh, mm, 0, 0, cst)
}

// world is a small region: a city with one community, an admin who
// registers vehicles and a resident who registers shops, and cases.
type world struct {
	d      *db.DB
	places venue.Store
	admin  rbac.Actor
	owner  rbac.Actor
	cases  []int64 // resident ids
}

func newWorld(t testing.TB, d *db.DB, cases int) *world {
	t.Helper()
	ctx := context.Background()
	js := jurisdiction.NewStore(d)
	var community jurisdiction.Jurisdiction
	for _, n := range []jurisdiction.New{
		{Code: "42", NameZH: "湖北省", NameEN: "Hubei"},
		{Code: "4201", NameZH: "武汉市", NameEN: "Wuhan", ParentCode: "42"},
		{Code: "420106", NameZH: "武昌区", NameEN: "Wuchang", ParentCode: "4201"},
		{Code: "420106001", NameZH: "中南路社区", NameEN: "Zhongnan Road", ParentCode: "420106"},
	} {
		j, err := js.Create(ctx, d.W, jurisdiction.All, n)
		if err != nil {
			t.Fatalf("create %s: %v", n.Code, err)
		}
		community = j
	}
	w := &world{d: d, places: venue.NewStore(d, func() time.Time { return now })}
	resident := func(name string) int64 {
		var id int64
		if err := d.W.QueryRowxContext(ctx, d.W.Rebind(`INSERT INTO residents (name, id_kind, id_hash, id_sealed, birth_date, sex,
			community_id, created_at) VALUES (?, 'cn', ?, ?, '1980-01-01', 'F', ?, ?) RETURNING id`),
			name, []byte(name), []byte("sealed"), community.ID, time.Now().UTC()).Scan(&id); err != nil {
			t.Fatalf("create resident %s: %v", name, err)
		}
		return id
	}
	accounts := account.NewStore(d)
	mk := func(a account.Account) rbac.Actor {
		id, err := accounts.Create(ctx, d.W, a)
		if err != nil {
			t.Fatalf("create %s: %v", a.Username, err)
		}
		got, err := accounts.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return got.Actor()
	}
	var cityID int64
	if err := db.Get(ctx, d.R, &cityID, "SELECT id FROM jurisdictions WHERE code = '4201'"); err != nil {
		t.Fatal(err)
	}
	w.admin = mk(account.Account{Username: "admin", PasswordHash: "x", Role: rbac.Admin, DisplayName: "admin", Lang: "zh",
		JurisdictionID: sql.NullInt64{Int64: cityID, Valid: true}})
	w.owner = mk(account.Account{Username: "owner", PasswordHash: "x", Role: rbac.Resident, DisplayName: "owner", Lang: "zh",
		ResidentID: sql.NullInt64{Int64: resident("店主"), Valid: true}})
	for i := range cases {
		w.cases = append(w.cases, resident(fmt.Sprintf("病例%d", i)))
	}
	return w
}

func (w *world) shop(t testing.TB, name string, lat, lon float64) venue.Place {
	t.Helper()
	p, err := w.places.Create(context.Background(), w.d.W, w.owner, venue.New{Type: venue.Shop, Name: name, Address: "解放路 88 号",
		Latitude: fp(lat), Longitude: fp(lon), JurisdictionCode: "420106001"})
	if err != nil {
		t.Fatalf("create shop %s: %v", name, err)
	}
	return p
}

func (w *world) vehicle(t testing.TB, typ venue.Type, number string, date civil.Date) venue.Place {
	t.Helper()
	p, err := w.places.Create(context.Background(), w.d.W, w.admin, venue.New{Type: typ, Name: number + " 武汉—北京西",
		JurisdictionCode: "4201", ServiceNumber: number, ServiceDate: date})
	if err != nil {
		t.Fatalf("create vehicle %s: %v", number, err)
	}
	return p
}

// trace records a tracing of case i, withdrawn or in force, and returns its id.
func (w *world) trace(t testing.TB, i int, withdrawn bool) int64 {
	t.Helper()
	var wd any
	if withdrawn {
		wd = now.UTC()
	}
	id, err := db.InsertID(context.Background(), w.d.W, `INSERT INTO traces (case_id, pseudonym, infectious_from, infectious_until,
		quarantine_at, traced_at, withdrawn_at, withdrawn_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		w.cases[i], fmt.Sprintf("C-4201-%04d", i), at(20, 0, 0).Unix(), now.Unix(), now.Unix(), now.UTC(), wd,
		map[bool]any{true: "retracted", false: nil}[withdrawn])
	if err != nil {
		t.Fatalf("insert trace: %v", err)
	}
	return id
}

// site records that the case of trace was at place from..to.
func (w *world) site(t testing.TB, trace, place int64, from, to time.Time) {
	t.Helper()
	if _, err := db.Exec(context.Background(), w.d.W, "INSERT INTO exposure_sites (trace_id, place_id, t_from, t_to) VALUES (?, ?, ?, ?)",
		trace, place, from.Unix(), to.Unix()); err != nil {
		t.Fatalf("insert site: %v", err)
	}
}

// spans writes windows as "MM-DD HH:MM-HH:MM" for comparison.
func spans(ws []exposure.Window) []string {
	var out []string
	for _, w := range ws {
		s := w.Date.String()[5:] + " " + w.From.Format("15:04") + "-" + w.To.Format("15:04")
		if civil.Of(w.To) != w.Date {
			s += "+1"
		}
		out = append(out, s)
	}
	return out
}

func ids(ps []exposure.Place) []int64 {
	var out []int64
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

func TestLookups(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		t.Parallel()
		ctx := context.Background()
		w := newWorld(t, d, 4)
		s := exposure.NewStore(d, func() time.Time { return now })

		market := w.shop(t, "解放路菜市场", 30.5400, 114.3100)
		cafe := w.shop(t, "Lakeside CAFÉ", 30.5450, 114.3150)        // about 700 m from the market
		far := w.shop(t, "江汉路 Bookshop", 30.5800, 114.2900)          // about 5 km away
		old := w.shop(t, "Old Market", 30.5401, 114.3101)            // visited 15 days ago only
		gone := w.shop(t, "Retracted Restaurant", 30.5402, 114.3102) // visited by a retracted case only
		quiet := w.shop(t, "Quiet Tea House", 30.5403, 114.3103)     // never visited
		g1234 := w.vehicle(t, venue.Train, "G1234", today.AddDays(-3))
		w.vehicle(t, venue.Train, "G1234", today.AddDays(-2)) // the same train the next day: no case
		bus := w.vehicle(t, venue.Bus, "526", civil.Date{})
		flight := w.vehicle(t, venue.Flight, "CZ3101", today.AddDays(-20))

		c0, c1 := w.trace(t, 0, false), w.trace(t, 1, false)
		retracted := w.trace(t, 2, true)
		superseded, retraced := w.trace(t, 3, true), w.trace(t, 3, false)

		// Two cases at the market at once read as one window; seconds
		// widen to whole minutes.
		w.site(t, c0, market.ID, at(2, 10, 5), at(2, 10, 40))
		w.site(t, c1, market.ID, at(2, 10, 20), at(2, 11, 0))
		w.site(t, c0, market.ID, at(5, 9, 0).Add(30*time.Second), at(5, 9, 10).Add(10*time.Second))
		w.site(t, retracted, market.ID, at(2, 12, 0), at(2, 13, 0))
		w.site(t, c1, cafe.ID, at(1, 15, 0), at(1, 15, 30))
		w.site(t, superseded, cafe.ID, at(1, 18, 0), at(1, 19, 0))
		w.site(t, retraced, cafe.ID, at(1, 18, 30), at(1, 19, 0))
		// The first day shown starts at midnight 13 days ago.
		w.site(t, c0, far.ID, at(14, 23, 30), at(14, 23, 59))
		w.site(t, c0, far.ID, at(13, 0, 0), at(13, 0, 30))
		w.site(t, c0, far.ID, at(0, 8, 0), at(0, 9, 0))
		w.site(t, c0, old.ID, at(15, 10, 0), at(15, 11, 0))
		w.site(t, retracted, gone.ID, at(1, 12, 0), at(1, 13, 0))
		w.site(t, c0, g1234.ID, at(3, 10, 5), at(3, 12, 40))
		w.site(t, retracted, g1234.ID, at(3, 13, 0), at(3, 14, 0))
		w.site(t, c1, bus.ID, at(1, 7, 50), at(1, 8, 20))
		w.site(t, c1, bus.ID, at(2, 23, 50), at(1, 0, 10))
		w.site(t, c0, bus.ID, at(4, 9, 0), at(4, 9, 30))
		w.site(t, c0, flight.ID, at(20, 8, 0), at(20, 10, 0))

		wantMarket := []string{"05-10 09:00-09:11", "05-13 10:05-11:00"}
		wantCafe := []string{"05-14 15:00-15:30", "05-14 18:30-19:00"}
		wantFar := []string{"05-02 00:00-00:30", "05-15 08:00-09:00"}

		// The map: venues of the last 14 days, windows merged; not the
		// old, the retracted, the quiet, nor vehicles.
		all, err := s.Map(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(all); !slices.Equal(got, []int64{market.ID, cafe.ID, far.ID}) {
			t.Fatalf("map = %v, want market, cafe, far %v", got, []int64{market.ID, cafe.ID, far.ID})
		}
		for i, want := range [][]string{wantMarket, wantCafe, wantFar} {
			if got := spans(all[i].Windows); !slices.Equal(got, want) {
				t.Errorf("map: %s windows = %v, want %v", all[i].Name, got, want)
			}
		}
		if p := all[0]; p.Name != "解放路菜市场" || p.Type != venue.Shop || *p.Latitude != 30.54 || *p.Longitude != 114.31 {
			t.Errorf("map place = %+v", p)
		}
		if loc := all[0].Windows[0].From.Location(); loc != cst {
			t.Errorf("windows in %v, want the region's zone", loc)
		}

		// Near: within 1 km of the market, nearest first.
		near, err := s.Near(ctx, 30.5400, 114.3100, exposure.DefaultRadius)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(near); !slices.Equal(got, []int64{market.ID, cafe.ID}) {
			t.Fatalf("near = %v, want market, cafe", got)
		}
		if near[0].Distance > 1 || near[1].Distance < 600 || near[1].Distance > 800 {
			t.Errorf("distances %v, %v", near[0].Distance, near[1].Distance)
		}
		if got := spans(near[1].Windows); !slices.Equal(got, wantCafe) {
			t.Errorf("near: cafe windows = %v", got)
		}
		if near, err = s.Near(ctx, 30.5452, 114.3152, 100); err != nil || !slices.Equal(ids(near), []int64{cafe.ID}) {
			t.Errorf("within 100 m of the cafe = %v, %v", ids(near), err)
		}
		if near, err = s.Near(ctx, 0, 0, exposure.DefaultRadius); err != nil || len(near) != 0 {
			t.Errorf("near (0, 0) = %v, %v", ids(near), err)
		}
		if _, err = s.Near(ctx, 91, 0, 1000); err == nil {
			t.Error("near latitude 91: no error")
		}

		// By name: a substring, in any case or width; among places
		// visited lately only; wildcards are plain characters.
		for _, tc := range []struct {
			q    string
			want []int64
		}{
			{"菜市场", []int64{market.ID}},
			{"lakeside", []int64{cafe.ID}},
			{"  LAKESIDE ", []int64{cafe.ID}},
			{"ｌａｋｅ", []int64{cafe.ID}}, // full-width, as a Chinese input method types it
			{"café", []int64{cafe.ID}}, // case folded beyond ASCII
			{"CAFÉ", []int64{cafe.ID}},
			{"shop", []int64{far.ID}},
			{"market", nil},     // Old Market: 15 days ago
			{"restaurant", nil}, // a retracted case only
			{"quiet", nil},      // never visited
			{"%", nil},
			{"_", nil},
			{"g1234", []int64{g1234.ID}}, // a vehicle's name
			{"", nil},
		} {
			got, err := s.PlacesByName(ctx, tc.q)
			if err != nil {
				t.Fatalf("by name %q: %v", tc.q, err)
			}
			if !slices.Equal(ids(got), tc.want) {
				t.Errorf("by name %q = %v, want %v", tc.q, ids(got), tc.want)
			}
		}
		got, err := s.PlacesByName(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range got {
			want := map[int64][]string{market.ID: wantMarket, cafe.ID: wantCafe, far.ID: wantFar, g1234.ID: {"05-12 10:05-12:40"}}[p.ID]
			if !slices.Equal(spans(p.Windows), want) {
				t.Errorf("by name: %s windows = %v, want %v", p.Name, spans(p.Windows), want)
			}
		}

		// By id (a scanned poster).
		for _, tc := range []struct {
			id   int64
			want []string
		}{
			{market.ID, wantMarket}, {cafe.ID, wantCafe}, {old.ID, nil}, {gone.ID, nil}, {quiet.ID, nil},
			{g1234.ID, []string{"05-12 10:05-12:40"}},
		} {
			p, err := s.Place(ctx, tc.id)
			if err != nil {
				t.Fatalf("place %d: %v", tc.id, err)
			}
			if p.ID != tc.id || p.Name == "" || !slices.Equal(spans(p.Windows), tc.want) {
				t.Errorf("place %d = %q %v, want %v", tc.id, p.Name, spans(p.Windows), tc.want)
			}
		}
		if _, err := s.Place(ctx, 1<<40); err != db.ErrNotFound {
			t.Errorf("no such place: %v", err)
		}

		// Vehicles: the trip of that date; an undated line's windows
		// that overlap the day; a trip up to 30 days back.
		for _, tc := range []struct {
			number string
			on     civil.Date
			want   []string
		}{
			{"G1234", today.AddDays(-3), []string{"05-12 10:05-12:40"}},
			{"g 1234", today.AddDays(-3), []string{"05-12 10:05-12:40"}},
			{"Ｇ１２３４", today.AddDays(-3), []string{"05-12 10:05-12:40"}},
			{"G1234", today.AddDays(-2), nil},
			{"G1234", today.AddDays(-4), nil},
			{"526", today.AddDays(-1), []string{"05-13 23:50-00:10+1", "05-14 07:50-08:20"}},
			{"526", today.AddDays(-2), []string{"05-13 23:50-00:10+1"}},
			{"526", today.AddDays(-4), []string{"05-11 09:00-09:30"}},
			{"526", today, nil},
			{"CZ3101", today.AddDays(-20), []string{"04-25 08:00-10:00"}},
			{"D9999", today, nil},
			{"G-1234", today.AddDays(-3), nil},
			{"", today, nil},
		} {
			trip, err := s.Vehicle(ctx, tc.number, tc.on)
			if err != nil {
				t.Fatalf("vehicle %q on %s: %v", tc.number, tc.on, err)
			}
			if got := spans(trip.Windows); !slices.Equal(got, tc.want) || trip.Date != tc.on {
				t.Errorf("vehicle %q on %s = %v, want %v", tc.number, tc.on, got, tc.want)
			}
		}
		// The map follows the tracing results at once: a retracted case
		// leaves it, a new site joins it.
		if _, err := db.Exec(ctx, d.W, "UPDATE traces SET withdrawn_at = ?, withdrawn_reason = 'retracted' WHERE id = ?", now.UTC(), c1); err != nil {
			t.Fatal(err)
		}
		w.site(t, c0, quiet.ID, at(0, 9, 0), at(0, 9, 30))
		if all, err = s.Map(ctx); err != nil {
			t.Fatal(err)
		}
		if got := ids(all); !slices.Equal(got, []int64{market.ID, cafe.ID, far.ID, quiet.ID}) {
			t.Fatalf("map after changes = %v", got)
		}
		if got := spans(all[0].Windows); !slices.Equal(got, []string{"05-10 09:00-09:11", "05-13 10:05-10:40"}) {
			t.Errorf("market after a retraction = %v", got)
		}
		if got := spans(all[1].Windows); !slices.Equal(got, []string{"05-14 18:30-19:00"}) {
			t.Errorf("cafe after a retraction = %v", got)
		}

	})
}

func TestDistance(t *testing.T) {
	// Wuhan to Beijing: about 1,050 km; a degree of latitude: about 111 km.
	if d := exposure.Distance(30.5928, 114.3055, 39.9042, 116.4074); math.Abs(d-1052e3) > 10e3 {
		t.Errorf("Wuhan-Beijing = %.0f m", d)
	}
	if d := exposure.Distance(30, 114, 31, 114); math.Abs(d-111195) > 10 {
		t.Errorf("one degree = %.0f m", d)
	}
	if d := exposure.Distance(10, 179.9995, 10, -179.9995); d > 200 {
		t.Errorf("across the antimeridian = %.0f m", d)
	}
}

// BenchmarkLookups measures each look-up on 10,000 exposure sites over 14
// days at 2,000 venues and 200 trips, with 500 traces of which 50 are
// withdrawn. Run with -bench Lookups; OUTBREAK_TEST_POSTGRES for PostgreSQL.
func BenchmarkLookups(b *testing.B) {
	for _, store := range []struct {
		name string
		open func(testing.TB) *db.DB
	}{{"sqlite", dbtest.SQLite}, {"postgres", func(tb testing.TB) *db.DB {
		if _, err := dbtest.PostgresURL(); err != nil {
			tb.Skip("PostgreSQL unreachable")
		}
		return dbtest.Postgres(tb)
	}}} {
		b.Run(store.name, func(b *testing.B) {
			d := store.open(b)
			w, venues, trips := seed(b, d, 500, 2000, 200, 10000)
			s := exposure.NewStore(d, func() time.Time { return now })
			ctx := context.Background()
			_ = w
			b.Run("map_cold", func(b *testing.B) {
				for b.Loop() {
					if ps, err := exposure.NewStore(d, func() time.Time { return now }).Map(ctx); err != nil || len(ps) == 0 {
						b.Fatal(len(ps), err)
					}
				}
			})
			b.Run("map", func(b *testing.B) {
				for b.Loop() {
					if ps, err := s.Map(ctx); err != nil || len(ps) == 0 {
						b.Fatal(len(ps), err)
					}
				}
			})
			b.Run("near", func(b *testing.B) {
				i := 0
				for b.Loop() {
					v := venues[i%len(venues)]
					i++
					if ps, err := s.Near(ctx, *v.Latitude, *v.Longitude, exposure.DefaultRadius); err != nil {
						b.Fatal(len(ps), err)
					}
				}
			})
			b.Run("by_name", func(b *testing.B) {
				i := 0
				for b.Loop() {
					i++
					if _, err := s.PlacesByName(ctx, fmt.Sprintf("店%d", i%2000)); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("place", func(b *testing.B) {
				i := 0
				for b.Loop() {
					i++
					if _, err := s.Place(ctx, venues[i%len(venues)].ID); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("vehicle", func(b *testing.B) {
				i := 0
				for b.Loop() {
					i++
					v := trips[i%len(trips)]
					if _, err := s.Vehicle(ctx, v.ServiceNumber, v.ServiceDate); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// seed fills d with places and exposure sites spread over the last 14 days
// around Wuhan (deterministically).
func seed(b *testing.B, d *db.DB, traces, nVenues, nTrips, nSites int) (*world, []venue.Place, []venue.Place) {
	b.Helper()
	w := newWorld(b, d, traces)
	var venues, trips []venue.Place
	for i := range nVenues {
		venues = append(venues, w.shop(b, fmt.Sprintf("店%d", i), 30.45+float64(i%50)*0.004, 114.20+float64(i/50)*0.005))
	}
	for i := range nTrips {
		trips = append(trips, w.vehicle(b, venue.Train, fmt.Sprintf("G%d", 1000+i/14), today.AddDays(-(i%14))))
	}
	var ids []int64
	for i := range traces {
		ids = append(ids, w.trace(b, i, i%10 == 9))
	}
	ctx := context.Background()
	err := d.InTx(ctx, func(tx *db.Tx) error {
		var rows [][]any
		for i := range nSites {
			var place int64
			var from time.Time
			if i%10 == 0 {
				t := trips[(i/10)%len(trips)]
				place = t.ID
				from = time.Date(t.ServiceDate.Year, t.ServiceDate.Month, t.ServiceDate.Day, 8+i%10, 0, 0, 0, cst)
			} else {
				place = venues[(i*7919)%len(venues)].ID
				from = at(i%14, 7+i%12, i%60)
			}
			rows = append(rows, []any{ids[i%len(ids)], place, from.Unix(), from.Add(time.Duration(20+i%90) * time.Minute).Unix()})
		}
		return tx.BulkInsert(ctx, "exposure_sites", []string{"trace_id", "place_id", "t_from", "t_to"}, rows)
	})
	if err != nil {
		b.Fatal(err)
	}
	if d.Dialect == db.Postgres {
		if _, err := db.Exec(ctx, d.W, "ANALYZE"); err != nil { // as autovacuum would
			b.Fatal(err)
		}
	}
	return w, venues, trips
}
