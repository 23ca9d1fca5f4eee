package venue_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/outbreak-platform/outbreak/internal/accesslog"
	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/validation"
	"github.com/outbreak-platform/outbreak/internal/validation/validationtest"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

var okVisit = venue.NewVisit{HostUnit: " 3栋2单元501 ", HostName: "王芳", Purpose: "探亲", ClientID: "0123456789abcdef"}

func TestVisitValidate(t *testing.T) {
	n := okVisit
	if err := n.Validate(); err != nil || n.HostUnit != "3栋2单元501" {
		t.Fatalf("valid visit: %v, %+v", err, n)
	}
	for _, tc := range []struct {
		name        string
		edit        func(n *venue.NewVisit)
		field, code string
	}{
		{"no unit", func(n *venue.NewVisit) { n.HostUnit = "  " }, "host_unit", "visit.text"},
		{"long unit", func(n *venue.NewVisit) { n.HostUnit = strings.Repeat("5", venue.MaxHostUnitRunes+1) }, "host_unit", "visit.text"},
		{"no host", func(n *venue.NewVisit) { n.HostName = "" }, "host_name", "required"},
		{"markup host", func(n *venue.NewVisit) { n.HostName = "<script>" }, "host_name", "text.markup"},
		{"invisible host", func(n *venue.NewVisit) { n.HostName = "\u200b" }, "host_name", "text.invisible"},
		{"control purpose", func(n *venue.NewVisit) { n.Purpose = "a\x07b" }, "purpose", "visit.text"},
		{"zero-width purpose", func(n *venue.NewVisit) { n.Purpose = "\u200b\ufeff" }, "purpose", "visit.text"},
		{"long purpose", func(n *venue.NewVisit) { n.Purpose = strings.Repeat("事", venue.MaxVisitPurposeRunes+1) }, "purpose", "visit.text"},
		{"no client id", func(n *venue.NewVisit) { n.ClientID = "" }, "client_id", "invalid"},
		{"short client id", func(n *venue.NewVisit) { n.ClientID = "abc" }, "client_id", "invalid"},
		{"odd client id", func(n *venue.NewVisit) { n.ClientID = "0123456789/abcdef" }, "client_id", "invalid"},
		{"long client id", func(n *venue.NewVisit) { n.ClientID = strings.Repeat("a", venue.MaxClientIDLen+1) }, "client_id", "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := okVisit
			tc.edit(&n)
			validationtest.WantField(t, n.Validate(), tc.field, tc.code)
		})
	}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

func TestVisitors(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		t.Parallel()
		ctx := context.Background()
		as := fixture(t, d)
		clk := &clock{t: now}
		reg := &venue.Registry{DB: d, Store: venue.NewStore(d, clk.now)}
		vs := &venue.Visitors{DB: d, Access: accesslog.NewStore(d), Now: clk.now}
		entrance := func(name, community string) venue.New {
			return venue.New{Type: venue.CompoundEntrance, Name: name, Address: "中南路 1 号", Latitude: fp(30.53), Longitude: fp(114.33),
				JurisdictionCode: community}
		}
		gate, err := reg.Register(ctx, as.worker, entrance("中南花园北门", "420106001"))
		if err != nil {
			t.Fatal(err)
		}
		farGate, err := reg.Register(ctx, as.farWorker, entrance("大智花园南门", "420102001"))
		if err != nil {
			t.Fatal(err)
		}
		market, err := reg.Register(ctx, as.owner, shop("解放路菜市场", "420106001"))
		if err != nil {
			t.Fatal(err)
		}
		rows := func() int {
			t.Helper()
			var n int
			if err := db.Get(ctx, d.R, &n, "SELECT count(*) FROM visitor_registrations"); err != nil {
				t.Fatal(err)
			}
			return n
		}

		// A resident registers once per client id, however often it sends.
		v, created, err := vs.Register(ctx, as.owner, gate.ID, okVisit)
		if err != nil || !created {
			t.Fatalf("register: %+v, %v, %v", v, created, err)
		}
		if v.ID == 0 || v.PlaceID != gate.ID || v.ResidentID != as.owner.ResidentID || v.HostUnit != "3栋2单元501" || v.HostName != "王芳" ||
			v.Purpose != "探亲" || !v.VisitedAt.Equal(now.Truncate(time.Second)) || v.VisitorName != "owner" || v.PlaceName != "中南花园北门" {
			t.Fatalf("visit = %+v", v)
		}
		clk.set(now.Add(time.Minute))
		again := okVisit
		again.HostName = "改过的名字"
		v2, created, err := vs.Register(ctx, as.owner, gate.ID, again)
		if err != nil || created || v2.ID != v.ID || !v2.VisitedAt.Equal(v.VisitedAt) || v2.HostName != "王芳" {
			t.Fatalf("register again: %+v, %v, %v; want the first, unchanged", v2, created, err)
		}
		if n := rows(); n != 1 {
			t.Fatalf("rows = %d after sending twice", n)
		}
		// Another's client id, another place, a shop, a disabled gate, staff, bad input: nothing stored.
		other := okVisit
		_, _, err = vs.Register(ctx, as.neighbour, gate.ID, other)
		validationtest.WantField(t, err, "client_id", "taken")
		_, _, err = vs.Register(ctx, as.owner, farGate.ID, other)
		validationtest.WantField(t, err, "client_id", "taken")
		other.ClientID = "neighbour-visit-1"
		if _, _, err := vs.Register(ctx, as.neighbour, market.ID, other); !errors.Is(err, venue.ErrNotVisitable) {
			t.Errorf("visit a shop: %v", err)
		}
		if _, _, err := vs.Register(ctx, as.worker, gate.ID, other); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("a worker registers a visit: %v", err)
		}
		if _, _, err := vs.Register(ctx, as.neighbour, 1e9, other); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("visit a missing place: %v", err)
		}
		bad := other
		bad.HostUnit = ""
		_, _, err = vs.Register(ctx, as.neighbour, gate.ID, bad)
		validationtest.WantField(t, err, "host_unit", "visit.text")
		if _, err := reg.SetDisabled(ctx, as.farWorker, farGate.ID, true, ""); err != nil {
			t.Fatal(err)
		}
		if _, _, err := vs.Register(ctx, as.neighbour, farGate.ID, other); !errors.Is(err, venue.ErrDisabled) {
			t.Errorf("visit a disabled gate: %v", err)
		}
		if n := rows(); n != 1 {
			t.Fatalf("rows = %d after refused registrations", n)
		}
		if _, err := reg.SetDisabled(ctx, as.farWorker, farGate.ID, false, ""); err != nil {
			t.Fatal(err)
		}
		nv, _, err := vs.Register(ctx, as.neighbour, gate.ID, other)
		if err != nil {
			t.Fatal(err)
		}
		far := okVisit
		far.ClientID = "far-visit-0001"
		farV, _, err := vs.Register(ctx, as.neighbour, farGate.ID, far)
		if err != nil {
			t.Fatal(err)
		}

		// The worker lists its community's visitors, newest first, and each
		// visitor shown is a logged read; the far worker sees only its own.
		day := venue.VisitFilter{From: now.Add(-time.Hour), To: now.Add(time.Hour)}
		list, err := vs.List(ctx, as.worker, day, "contact_tracing")
		if err != nil || len(list) != 2 || list[0].ID != nv.ID || list[1].ID != v.ID || list[0].VisitorName != "neighbour" {
			t.Fatalf("worker's list = %+v, %v", list, err)
		}
		list, err = vs.List(ctx, as.farWorker, day, "resident_services")
		if err != nil || len(list) != 1 || list[0].ID != farV.ID {
			t.Fatalf("far worker's list = %+v, %v", list, err)
		}
		if list, err := vs.List(ctx, as.worker, venue.VisitFilter{PlaceID: farGate.ID}, "contact_tracing"); err != nil || len(list) != 0 {
			t.Fatalf("worker lists the far gate: %+v, %v", list, err)
		}
		if list, err := vs.List(ctx, as.worker, venue.VisitFilter{From: now.Add(time.Hour)}, "contact_tracing"); err != nil || len(list) != 0 {
			t.Fatalf("worker lists a later day: %+v, %v", list, err)
		}
		if list, err := vs.List(ctx, as.worker, venue.VisitFilter{BeforeID: nv.ID, Limit: 1}, "contact_tracing"); err != nil || len(list) != 1 || list[0].ID != v.ID {
			t.Fatalf("the next page: %+v, %v", list, err)
		}
		if _, err := vs.List(ctx, as.admin, day, "contact_tracing"); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("admin lists visitors: %v", err)
		}
		if _, err := vs.List(ctx, as.epid, day, "contact_tracing"); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("epidemiologist lists visitors: %v", err)
		}
		_, err = vs.List(ctx, as.worker, day, "curiosity")
		validationtest.WantField(t, err, "purpose", "accesslog.purpose")
		var logged []accesslog.Entry
		if err := db.Select(ctx, d.R, &logged, "SELECT id, at, actor_id, actor_role, actor_name, resident_id, jurisdiction_id, action, purpose FROM access_log ORDER BY id"); err != nil {
			t.Fatal(err)
		}
		// worker: owner and neighbour (first list) + owner (next page); far worker: neighbour.
		want := []struct {
			actor    string
			resident int64
			purpose  string
		}{
			{"worker", as.neighbour.ResidentID, "contact_tracing"}, {"worker", as.owner.ResidentID, "contact_tracing"},
			{"far-worker", as.neighbour.ResidentID, "resident_services"}, {"worker", as.owner.ResidentID, "contact_tracing"},
		}
		if len(logged) != len(want) {
			t.Fatalf("access log = %+v; want %d entries", logged, len(want))
		}
		for i, w := range want {
			if e := logged[i]; e.ActorName != w.actor || e.ResidentID != w.resident || e.Purpose != w.purpose || e.Action != "visitors" {
				t.Errorf("access log %d = %+v; want %+v", i, e, w)
			}
		}
		if logged[2].JurisdictionID != farGate.JurisdictionID || logged[0].JurisdictionID != gate.JurisdictionID {
			t.Errorf("reads logged in the jurisdictions %d, %d; want the gates' %d, %d", logged[0].JurisdictionID, logged[2].JurisdictionID,
				gate.JurisdictionID, farGate.JurisdictionID)
		}

		// Retention: after the window the registrations go, and the purge is on record.
		if n, err := vs.Purge(ctx, venue.VisitRetention); err != nil || n != 0 {
			t.Fatalf("purge inside the window: %d, %v", n, err)
		}
		clk.set(now.Add(venue.VisitRetention + time.Hour))
		if n, err := vs.Purge(ctx, venue.VisitRetention); err != nil || n != 3 {
			t.Fatalf("purge after the window: %d, %v; want 3", n, err)
		}
		if n := rows(); n != 0 {
			t.Fatalf("rows = %d after the purge", n)
		}
		es, err := audit.Latest(ctx, d, 1)
		if err != nil || len(es) != 1 || es[0].Kind != audit.Purge || !strings.Contains(es[0].After, `"visitor_registrations_deleted":3`) {
			t.Fatalf("last audit entry = %+v, %v", es, err)
		}
		if rep, err := audit.Verify(ctx, d, nil); err != nil || !rep.OK {
			t.Fatalf("chain: %+v, %v", rep, err)
		}
	})
}

// FuzzNewVisit: whatever a visitor types, Validate refuses it with field
// errors or accepts text that fits the limits, trimmed, without markup.
func FuzzNewVisit(f *testing.F) {
	f.Add(" 3栋2单元501 ", "王芳", "探亲", "0123456789abcdef")
	f.Add("", "<b>", "a\x00b", "../../etc")
	f.Add(strings.Repeat("5", 31), "\xff", "\u202e", strings.Repeat("a", 65))
	f.Fuzz(func(t *testing.T, unit, host, purpose, clientID string) {
		n := venue.NewVisit{HostUnit: unit, HostName: host, Purpose: purpose, ClientID: clientID}
		err := n.Validate()
		if err != nil {
			if _, ok := validation.As(err); !ok {
				t.Fatalf("Validate = %v, not field errors", err)
			}
			return
		}
		for _, s := range []string{n.HostUnit, n.HostName, n.Purpose} {
			if s == "" || s != strings.TrimSpace(s) || !utf8.ValidString(s) || strings.ContainsAny(s, "<>\x00") {
				t.Fatalf("accepted %q", s)
			}
		}
		if utf8.RuneCountInString(n.HostUnit) > venue.MaxHostUnitRunes || utf8.RuneCountInString(n.Purpose) > venue.MaxVisitPurposeRunes ||
			!venue.ValidClientID(n.ClientID) {
			t.Fatalf("accepted %+v", n)
		}
	})
}
