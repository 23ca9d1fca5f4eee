package demo_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/demo"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/rules"
)

func TestHealth(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := stores(t, d)
		if _, err := demo.Generate(ctx, s, demo.Options{Residents: 3000, Seed: 7}); err != nil {
			t.Fatal(err)
		}
		def, _ := rules.Default()
		active, _ := rules.NewActive(def)
		svc := &healthcode.Service{DB: d, Store: healthcode.NewStore(d), Residents: s.Residents, Jurisdictions: jurisdiction.NewStore(d),
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Rules: active, Now: time.Now}
		actors := map[string]rbac.Actor{}
		for _, name := range []string{"epidemiologist-1", "commander-1"} {
			a, err := s.Accounts.GetByUsername(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			actors[name] = a.Actor()
		}
		if err := demo.Health(ctx, svc, actors, 7); err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		var rows []struct {
			Colour string `db:"colour"`
			N      int    `db:"n"`
		}
		if err := db.Select(ctx, d.R, &rows, "SELECT colour, count(*) AS n FROM codes GROUP BY colour"); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			counts[r.Colour] = r.N
		}
		// Every confirmed case and every close contact is red, nobody else.
		var cases, close int
		db.Get(ctx, d.R, &cases, "SELECT count(*) FROM case_status WHERE status = 'confirmed'")
		db.Get(ctx, d.R, &close, "SELECT count(DISTINCT resident_id) FROM contacts WHERE kind = 'close'")
		if cases == 0 || close != 3*cases || counts["red"] != cases+close || counts["yellow"] == 0 || counts["green"] < 500 {
			t.Fatalf("codes by colour = %v with %d cases and %d close contacts", counts, cases, close)
		}
		if c, err := svc.Code(ctx, 1); err != nil || c.Colour == "" {
			t.Fatalf("resident-1 has no code: %v", err)
		}
		if rep, err := audit.Verify(ctx, d, nil); err != nil || !rep.OK {
			t.Fatalf("chain: %+v, %v", rep, err)
		}
	})
}
