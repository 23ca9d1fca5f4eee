package demo_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/demo"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rules"
	"github.com/outbreak-platform/outbreak/internal/tracing"
)

// TestMovement lays out the demo residents' movement: the same on both
// stores and twice for a seed; every check-in valid, by a resident, at a
// registered place of the right type; every community with its venues;
// and the scripted scene traced as scripted.
func TestMovement(t *testing.T) {
	ctx := context.Background()
	cst := time.FixedZone("CST", 8*3600)
	end := time.Date(2026, 2, 15, 0, 0, 0, 0, cst)
	var first []tracing.CheckIn
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := stores(t, d)
		if _, err := demo.Generate(ctx, s, demo.Options{Residents: 3000, Seed: 7}); err != nil {
			t.Fatal(err)
		}
		o := demo.MovementOptions{Days: 7, End: end, Seed: 7}
		m, err := demo.NewMovement(ctx, d, o)
		if err != nil {
			t.Fatal(err)
		}
		all := collect(m)
		again, err := demo.NewMovement(ctx, d, o)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(all, collect(again)) {
			t.Fatal("two movements of the same seed differ")
		}
		if first == nil {
			first = all
		} else if !slices.Equal(first, all) {
			t.Fatalf("seed 7 moved differently on %s", d.Dialect)
		}
		// About CheckInsPerResidentDay each, which sizes the benchmark's region.
		if perDay := float64(len(all)) / 3000 / 7; perDay < 0.85*demo.CheckInsPerResidentDay || perDay > 1.15*demo.CheckInsPerResidentDay {
			t.Fatalf("%d check-ins by 3,000 residents over 7 days: %.2f a day each, want about %.2f", len(all), perDay, demo.CheckInsPerResidentDay)
		}

		n, err := m.WritePlaces(ctx, d)
		if err != nil || n != len(m.Places) {
			t.Fatalf("WritePlaces = %d, %v; the movement has %d", n, err, len(m.Places))
		}
		if _, err := m.WritePlaces(ctx, d); !errors.Is(err, demo.ErrPlacesExist) {
			t.Fatalf("WritePlaces again = %v", err)
		}
		// Every community and district has an outline for the map, and a
		// district's outline holds its places.
		for _, level := range []jurisdiction.Level{jurisdiction.Community, jurisdiction.District} {
			as, err := jurisdiction.Areas(ctx, d, level)
			var want int
			if err2 := db.Get(ctx, d.R, &want, "SELECT count(*) FROM jurisdictions WHERE level = ?", level); err != nil || err2 != nil {
				t.Fatal(err, err2)
			}
			if len(as) != want || want == 0 {
				t.Fatalf("%d %s outlines for %d %ss", len(as), level, want, level)
			}
		}
		var places []struct {
			ID   int64  `db:"id"`
			Type string `db:"type"`
		}
		if err := db.Select(ctx, d.R, &places, "SELECT id, type FROM places"); err != nil {
			t.Fatal(err)
		}
		registered := map[int64]tracing.Kind{}
		for _, p := range places {
			registered[p.ID] = tracing.Kind(p.Type)
		}
		var maxResident int64
		if err := db.Get(ctx, d.R, &maxResident, "SELECT max(id) FROM residents"); err != nil {
			t.Fatal(err)
		}
		from, to := end.AddDate(0, 0, -7).Unix(), end.Unix()
		for i, c := range all {
			if err := c.Validate(); err != nil {
				t.Fatalf("check-in %d %+v: %v", i, c, err)
			}
			if k, ok := registered[c.PlaceID]; !ok || k != m.Places[c.PlaceID] {
				t.Fatalf("check-in %d at place %d: registered as %q, want %q", i, c.PlaceID, k, m.Places[c.PlaceID])
			}
			if c.ResidentID < 1 || c.ResidentID > maxResident {
				t.Fatalf("check-in %d by resident %d, who does not exist", i, c.ResidentID)
			}
			if c.TIn < from || c.TIn >= to {
				t.Fatalf("check-in %d at %s, outside the movement's days", i, time.Unix(c.TIn, 0).In(cst))
			}
		}
		// Every community has its gate, shops, restaurants, offices, school
		// and metro station, with coordinates in the region.
		var missing int
		if err := db.Get(ctx, d.R, &missing, `SELECT count(*) FROM jurisdictions j WHERE j.level = 'community' AND
			(SELECT count(DISTINCT type) FROM places p WHERE p.jurisdiction_id = j.id
				AND p.latitude BETWEEN 30.3 AND 30.9 AND p.longitude BETWEEN 114.0 AND 114.6) < 6`); err != nil {
			t.Fatal(err)
		}
		if missing > 0 {
			t.Errorf("%d communities lack a kind of venue", missing)
		}
		var trips int
		if err := db.Get(ctx, d.R, &trips, "SELECT count(*) FROM places WHERE type = 'train' AND service_date IS NOT NULL AND service_number LIKE 'G%'"); err != nil || trips == 0 {
			t.Errorf("%d trains, %v", trips, err)
		}

		// The scene: confirming the first suspect finds the scripted close
		// contacts, not the near misses, and the secondary contacts.
		sc := m.Scene
		if sc == nil {
			t.Fatal("no scene")
		}
		store, err := tracing.NewStore(d, &tracing.PlaceKinds{DB: d}, tracing.DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		if added, err := m.Load(ctx, d, store, 5000, false, nil); err != nil || added != int64(len(all)) {
			t.Fatalf("Load = %d, %v; want %d", added, err, len(all))
		}
		tr, err := tracing.NewTracer(d, &tracing.PlaceKinds{DB: d}, tracing.DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range [][]int64{sc.Close[:5], sc.Close[5:]} {
			s := sc.Suspects[i]
			from, err := time.ParseInLocation("2006-01-02", s.Onset.String(), cst)
			if err != nil {
				t.Fatal(err)
			}
			c := tracing.Case{ResidentID: s.ResidentID, From: from.Add(-48 * time.Hour).Unix(), Until: end.Unix(), QuarantineAt: end.Unix()}
			r, err := tr.Trace(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			closeIDs := ids(r.Close)
			for _, id := range want {
				if !slices.Contains(closeIDs, id) {
					t.Errorf("suspect %d: resident %d is not a close contact (close: %v)", s.ResidentID, id, closeIDs)
				}
			}
			for _, id := range sc.Near {
				if slices.Contains(closeIDs, id) {
					t.Errorf("suspect %d: resident %d is a close contact but only passed by", s.ResidentID, id)
				}
			}
			if i == 0 {
				for _, id := range sc.Secondary {
					if !slices.Contains(ids(r.Secondary), id) {
						t.Errorf("suspect %d: resident %d is not a secondary contact", s.ResidentID, id)
					}
				}
			}
		}
	})
}

func collect(m *demo.Movement) []tracing.CheckIn {
	var all []tracing.CheckIn
	for b := range m.Batches(10000) {
		all = append(all, b...)
	}
	return all
}

func ids(cs []tracing.Contact) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.ResidentID
	}
	return out
}

// TestSceneConfirmed plays the demo's tracing scene as the epidemiologist
// would: the first suspect, confirmed with their onset, gets their close
// contacts' codes turned red with the evidence and the secondary contacts'
// yellow; the near misses keep theirs.
func TestSceneConfirmed(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := stores(t, d)
		if _, err := demo.Generate(ctx, s, demo.Options{Residents: 2000, Seed: 11}); err != nil {
			t.Fatal(err)
		}
		now := time.Now().In(cstZone)
		midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, cstZone)
		m, err := demo.NewMovement(ctx, d, demo.MovementOptions{Days: 14, End: midnight, Seed: 11})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.WritePlaces(ctx, d); err != nil {
			t.Fatal(err)
		}
		kinds := &tracing.PlaceKinds{DB: d}
		store, err := tracing.NewStore(d, kinds, tracing.DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		if _, err := m.Load(ctx, d, store, 20000, true, nil); err != nil {
			t.Fatal(err)
		}
		def, _ := rules.Default()
		active, _ := rules.NewActive(def)
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		clock := func() time.Time { return now }
		codes := &healthcode.Service{DB: d, Store: healthcode.NewStore(d), Residents: s.Residents, Jurisdictions: jurisdiction.NewStore(d),
			Log: log, Rules: active, Now: clock}
		svc, err := tracing.NewService(d, store, codes, kinds, tracing.DefaultPolicy(), log, clock)
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.Accounts.GetByUsername(ctx, "epidemiologist-1")
		if err != nil {
			t.Fatal(err)
		}
		epi := a.Actor()
		sc := m.Scene
		if err := sc.MarkSuspects(ctx, codes, epi); err != nil {
			t.Fatal(err)
		}
		if id, ok, _ := d.Meta(ctx, demo.SceneMetaKey); !ok || id != strconv.FormatInt(sc.Suspects[0].ResidentID, 10) {
			t.Fatalf("scene meta = %q, %v", id, ok)
		}
		if _, err := demo.Declarations(ctx, d, 11, 1, now); err != nil {
			t.Fatal(err)
		}
		if err := codes.RecomputeAll(ctx, audit.System, healthcode.Cause{Text: "first codes"}, nil); err != nil {
			t.Fatal(err)
		}
		colour := func(id int64) string {
			c, err := codes.Code(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return c.Colour
		}
		before := map[int64]string{}
		for _, id := range slices.Concat(sc.Close, sc.Near, sc.Secondary) {
			before[id] = colour(id) // green, or yellow or red for a fever declared
		}
		codes.Tracer = svc
		su := sc.Suspects[0]
		if _, err := codes.SetCaseStatus(ctx, epi, su.ResidentID, healthcode.CaseStatus{Status: "confirmed", Since: civil.Of(now), Onset: su.Onset,
			Change: healthcode.Change{Reason: "positive PCR", LegalBasis: "Law on the Prevention and Treatment of Infectious Diseases"}}); err != nil {
			t.Fatal(err)
		}
		for _, id := range sc.Close[:5] {
			if c := colour(id); c != "red" {
				t.Errorf("close contact %d is %s", id, c)
			}
		}
		for _, id := range sc.Secondary {
			if c := colour(id); c != "yellow" && !(c == "red" && before[id] == "red") {
				t.Errorf("secondary contact %d is %s (was %s)", id, c, before[id])
			}
		}
		for _, id := range sc.Near {
			if c := colour(id); c == "red" && before[id] != "red" {
				t.Errorf("resident %d only passed by but turned red", id)
			}
		}
		var evidence string
		if err := db.Get(ctx, d.R, &evidence, "SELECT evidence FROM contacts WHERE resident_id = ? AND kind = 'close'", sc.Close[2]); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(evidence, "train G1001") || !strings.Contains(evidence, "carriage 5") {
			t.Errorf("the train passenger's evidence: %q", evidence)
		}
	})
}

var cstZone = time.FixedZone("CST", 8*3600)
