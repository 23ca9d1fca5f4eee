package venue_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/validation/validationtest"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

// placeEntries returns the audit entries of kind place, oldest first.
func placeEntries(t *testing.T, d *db.DB) []audit.Entry {
	t.Helper()
	es, err := audit.Latest(context.Background(), d, 500)
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Entry
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Kind == audit.Place {
			out = append(out, es[i])
		}
	}
	return out
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		t.Parallel()
		ctx := context.Background()
		as := fixture(t, d)
		reg := &venue.Registry{DB: d, Store: venue.NewStore(d, func() time.Time { return now })}

		market, err := reg.Register(ctx, as.owner, shop("解放路菜市场", "420106001"))
		if err != nil {
			t.Fatal(err)
		}
		g1234, err := reg.Register(ctx, as.admin, trip(venue.Train, "G1234", civil.Of(now)))
		if err != nil {
			t.Fatal(err)
		}
		// Refused registrations leave neither a place nor an entry.
		if _, err := reg.Register(ctx, as.owner, trip(venue.Train, "D1", civil.Of(now))); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("resident registers a train: %v", err)
		}
		_, err = reg.Register(ctx, as.owner, shop("", "420106001"))
		validationtest.WantField(t, err, "name", "venue.name")
		var places int
		if err := db.Get(ctx, d.R, &places, "SELECT count(*) FROM places"); err != nil || places != 2 {
			t.Fatalf("places = %d, %v; want 2", places, err)
		}
		es := placeEntries(t, d)
		if len(es) != 2 || es[0].ActorName != "owner" || es[0].ActorRole != "resident" || !strings.Contains(es[0].After, "解放路菜市场") ||
			es[1].ActorName != "admin" || !strings.Contains(es[1].After, `"service_number":"G1234"`) {
			t.Fatalf("entries after registering = %+v", es)
		}

		// Disabling: by the owner only; the entry says before and after.
		if _, err := reg.SetDisabled(ctx, as.neighbour, market.ID, true, ""); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("neighbour disables the market: %v", err)
		}
		if _, err := reg.SetDisabled(ctx, as.worker, market.ID, true, ""); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("worker disables a shop: %v", err)
		}
		if _, err := reg.SetDisabled(ctx, as.owner, 1e9, true, ""); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("disable a missing place: %v", err)
		}
		_, err = reg.SetDisabled(ctx, as.owner, market.ID, true, strings.Repeat("长", venue.MaxReasonRunes+1))
		validationtest.WantField(t, err, "reason", "place.reason")
		_, err = reg.SetDisabled(ctx, as.owner, market.ID, true, "<b>")
		validationtest.WantField(t, err, "reason", "place.reason")
		if n := len(placeEntries(t, d)); n != 2 {
			t.Fatalf("refused changes wrote entries: %d", n)
		}
		p, err := reg.SetDisabled(ctx, as.owner, market.ID, true, "  closed for renovation ")
		if err != nil || !p.Disabled {
			t.Fatalf("owner disables: %+v, %v", p, err)
		}
		if got, _ := reg.Store.Get(ctx, market.ID); !got.Disabled {
			t.Fatal("the market is not disabled in the store")
		}
		if _, err := reg.SetDisabled(ctx, as.owner, market.ID, true, ""); err != nil {
			t.Fatalf("disable twice: %v", err)
		}
		es = placeEntries(t, d)
		if len(es) != 3 {
			t.Fatalf("entries after disabling (twice) = %d, want 3", len(es))
		}
		if e := es[2]; e.Reason != "closed for renovation" || !strings.Contains(e.Before, `"disabled":false`) || !strings.Contains(e.After, `"disabled":true`) {
			t.Fatalf("disable entry = %+v", e)
		}
		if p, err := reg.SetDisabled(ctx, as.admin, g1234.ID, true, ""); err != nil || !p.Disabled {
			t.Fatalf("admin disables a trip: %v", err)
		}
		if p, err := reg.SetDisabled(ctx, as.owner, market.ID, false, ""); err != nil || p.Disabled {
			t.Fatalf("owner enables: %+v, %v", p, err)
		}
		es = placeEntries(t, d)
		if len(es) != 5 || es[4].Reason != "place enabled" || es[3].Reason != "place disabled" || es[3].ActorName != "admin" {
			t.Fatalf("entries = %+v", es)
		}
		if rep, err := audit.Verify(ctx, d, nil); err != nil || !rep.OK {
			t.Fatalf("chain: %+v, %v", rep, err)
		}
	})
}

func TestPosterFileName(t *testing.T) {
	for _, tc := range []struct {
		p        venue.Place
		carriage int
		lang     string
		want     string
	}{
		{venue.Place{ID: 12, Name: "解放路菜市场"}, 0, "zh", "place-12-解放路菜市场-zh.svg"},
		{venue.Place{ID: 3, Name: `G1234 武汉/北京西 "A"`}, 8, "en", "place-3-carriage-8-G1234-武汉-北京西-A-en.svg"},
		{venue.Place{ID: 4, Name: "***"}, 0, "en", "place-4-en.svg"},
	} {
		if got := venue.PosterFileName(tc.p, tc.carriage, tc.lang, venue.SVG); got != tc.want {
			t.Errorf("PosterFileName(%q, %d) = %q; want %q", tc.p.Name, tc.carriage, got, tc.want)
		}
	}
}
