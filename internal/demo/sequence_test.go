package demo_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/demo"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/rules"
	"github.com/outbreak-platform/outbreak/internal/tracing"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

// TestWritesRightAfterDemo: every bulk load of the demo (households,
// residents, accounts, declarations, places, check-ins) writes explicit
// ids, and the rows people make right after it — a declaration, an
// account, a place, a check-in — must not collide with them. On
// PostgreSQL that takes every sequence moved past the loaded ids.
func TestWritesRightAfterDemo(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := stores(t, d)
		if _, err := demo.Generate(ctx, s, demo.Options{Residents: 300, Seed: 3, Batch: 100}); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if n, err := demo.Declarations(ctx, d, 3, 1, now); err != nil || n == 0 {
			t.Fatalf("demo declarations = %d, %v", n, err)
		}
		m, err := demo.NewMovement(ctx, d, demo.MovementOptions{Days: 2, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.WritePlaces(ctx, d); err != nil {
			t.Fatal(err)
		}
		checkins, err := tracing.NewStore(d, m.Places, tracing.DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		defer checkins.Close()
		if n, err := m.Load(ctx, d, checkins, 500, true, nil); err != nil || n == 0 {
			t.Fatalf("demo check-ins = %d, %v", n, err)
		}

		a, err := s.Accounts.GetByUsername(ctx, "resident-1")
		if err != nil {
			t.Fatal(err)
		}
		me := a.Actor()
		def, err := rules.Default()
		if err != nil {
			t.Fatal(err)
		}
		active, _ := rules.NewActive(def)
		codes := &healthcode.Service{DB: d, Store: healthcode.NewStore(d), Residents: s.Residents, Jurisdictions: s.Jurisdictions,
			Rules: active, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now}
		if _, err := codes.Declare(ctx, me, me.ResidentID, healthcode.Declaration{TemperatureC: 36.6, LocationCode: "420106001"}); err != nil {
			t.Fatalf("declaring right after the demo: %v", err)
		}

		clin, err := s.Accounts.GetByUsername(ctx, "clinician-1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Accounts.Create(ctx, d.W, account.Account{Username: "new-clinician", PasswordHash: a.PasswordHash,
			Role: rbac.Clinician, DisplayName: "New", JurisdictionID: clin.JurisdictionID, Lang: "en", CreatedAt: now.UTC()}); err != nil {
			t.Fatalf("creating an account right after the demo: %v", err)
		}

		lat, lng := 30.58, 114.27
		p, err := venue.NewStore(d, time.Now).Create(ctx, d.W, me, venue.New{Type: venue.Shop, Name: "新店", Address: "解放大道1号",
			Latitude: &lat, Longitude: &lng, JurisdictionCode: "420106001"})
		if err != nil {
			t.Fatalf("registering a place right after the demo: %v", err)
		}
		if _, ok := m.Places[p.ID]; ok {
			t.Fatalf("new place got id %d, one of the demo's", p.ID)
		}

		ci := tracing.CheckIn{ClientID: "after-demo", ResidentID: me.ResidentID, PlaceID: 1, TIn: now.Unix(), TOut: now.Unix() + 600, Source: tracing.Scan}
		if n, err := checkins.Ingest(ctx, []tracing.CheckIn{ci}); err != nil || n != 1 {
			t.Fatalf("checking in right after the demo = %d, %v", n, err)
		}
	})
}
