package venue

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/accesslog"
	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// VisitRetention is how long a visitor registration is kept, like a health
// declaration: long enough to trace the contacts of a case, no longer.
const VisitRetention = 28 * 24 * time.Hour

// Limits on what a visitor fills in. A unit reads like "3栋2单元501".
const (
	MaxHostUnitRunes     = 30
	MaxHostNameRunes     = 40
	MaxVisitPurposeRunes = 100
	MaxClientIDLen       = 64
)

// ErrNotVisitable means the place is not a residential compound's entrance:
// visitors register only there.
var ErrNotVisitable = fault.New(fault.NotFound, "visit.not_visitable", "venue: visitors register at compound entrances only")

// NewVisit is what a visitor fills in at a compound entrance: whom they
// visit and why. ClientID is the id the form (or app) gave the
// registration: sent again, it is stored once.
type NewVisit struct {
	HostUnit string `json:"host_unit"`
	HostName string `json:"host_name"`
	Purpose  string `json:"purpose"`
	ClientID string `json:"client_id"`
}

// Validate trims the fields and checks them, reporting every problem at once.
func (n *NewVisit) Validate() error {
	var e validation.Errors
	n.HostName = validation.Name(&e, "host_name", n.HostName, MaxHostNameRunes)
	n.ClientID = strings.TrimSpace(n.ClientID)
	for _, f := range []struct {
		name  string
		value *string
		max   int
	}{{"host_unit", &n.HostUnit, MaxHostUnitRunes}, {"purpose", &n.Purpose, MaxVisitPurposeRunes}} {
		var fe validation.Errors
		if *f.value = validation.Text(&fe, f.name, *f.value, f.max, true, false); fe.Err() != nil {
			e.Add(f.name, "visit.text", "max", f.max)
		}
	}
	if !ValidClientID(n.ClientID) {
		e.Add("client_id", "invalid")
	}
	return e.Err()
}

// ValidClientID reports whether s is a client id: 8 to MaxClientIDLen ASCII
// letters, digits, '-' and '_' — a UUID, or the hex id the form makes.
func ValidClientID(s string) bool {
	if len(s) < 8 || len(s) > MaxClientIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b >= '0' && b <= '9', b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b == '-', b == '_':
		default:
			return false
		}
	}
	return true
}

// Visit is one stored visitor registration.
type Visit struct {
	ID         int64     `db:"id" json:"id"`
	PlaceID    int64     `db:"place_id" json:"place_id"`
	ResidentID int64     `db:"resident_id" json:"resident_id"`
	HostUnit   string    `db:"host_unit" json:"host_unit"`
	HostName   string    `db:"host_name" json:"host_name"`
	Purpose    string    `db:"purpose" json:"purpose"`
	VisitedAt  time.Time `db:"visited_at" json:"visited_at"`
	ClientID   string    `db:"client_id" json:"client_id"`
	CreatedAt  time.Time `db:"created_at" json:"created_at"`

	// From the place and the visitor's record.
	PlaceName      string `db:"place_name" json:"place_name"`
	JurisdictionID int64  `db:"jurisdiction_id" json:"-"`
	VisitorName    string `db:"visitor_name" json:"visitor_name"`
}

// VisitFilter narrows a community worker's list of visitors.
type VisitFilter struct {
	From, To time.Time // visited in [From, To); zero: unbounded
	PlaceID  int64     // 0: every compound entrance in scope
	BeforeID int64     // keyset pagination: ids below this (0: newest)
	Limit    int       // 1..500, default 200
}

// Visitors keeps the visitor registrations of compound entrances. Access
// logs the staff reads of them.
type Visitors struct {
	DB     *db.DB
	Access accesslog.Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (v *Visitors) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

const selectVisits = `SELECT v.id, v.place_id, v.resident_id, v.host_unit, v.host_name, v.purpose, v.visited_at, v.client_id,
	v.created_at, p.name AS place_name, p.jurisdiction_id, r.name AS visitor_name
	FROM visitor_registrations v JOIN places p ON p.id = v.place_id JOIN residents r ON r.id = v.resident_id `

// Register records that resident a visits through the compound entrance
// placeID. Only a resident registers (fault.ErrForbidden otherwise), only at an
// enabled compound entrance (ErrNotVisitable, ErrDisabled; db.ErrNotFound
// for no place). A registration whose client id is already stored is not
// stored again: Register returns the stored one and created false; a client
// id of someone else's registration is a field error.
func (v *Visitors) Register(ctx context.Context, a rbac.Actor, placeID int64, n NewVisit) (visit Visit, created bool, err error) {
	defer v.DB.Observe("venue.visit_register", time.Now())
	if a.Role != rbac.Resident || a.ResidentID == 0 {
		return Visit{}, false, fault.ErrForbidden
	}
	var p Place
	if err := db.Get(ctx, v.DB.R, &p, selectFrom+"WHERE p.id = ?", placeID); err != nil {
		return Visit{}, false, err
	}
	switch {
	case p.Type != CompoundEntrance:
		return Visit{}, false, ErrNotVisitable
	case p.Disabled:
		return Visit{}, false, ErrDisabled
	}
	if err := n.Validate(); err != nil {
		return Visit{}, false, err
	}
	// Seconds: the visit is also a check-in, whose times are unix seconds.
	at := v.now().UTC().Truncate(time.Second)
	res, err := db.Exec(ctx, v.DB.W, `INSERT INTO visitor_registrations (place_id, resident_id, host_unit, host_name, purpose,
		visited_at, client_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (client_id) DO NOTHING`,
		p.ID, a.ResidentID, n.HostUnit, n.HostName, n.Purpose, at, n.ClientID, at)
	if err != nil {
		return Visit{}, false, fmt.Errorf("venue: register visit: %w", err)
	}
	rows, err := res.RowsAffected()
	if err != nil {
		return Visit{}, false, fmt.Errorf("venue: register visit: %w", err)
	}
	// Read it back through the writer: a reader may not see it yet.
	if err := db.Get(ctx, v.DB.W, &visit, selectVisits+"WHERE v.client_id = ?", n.ClientID); err != nil {
		return Visit{}, false, fmt.Errorf("venue: read visit back: %w", err)
	}
	if visit.ResidentID != a.ResidentID || visit.PlaceID != p.ID {
		return Visit{}, false, validation.Field("client_id", "taken")
	}
	return visit, rows == 1, nil
}

// visitsWhere is the query of the visits in a's scope that f keeps, its
// paging aside.
func visitsWhere(a rbac.Actor, f VisitFilter) (string, []any) {
	lo, hi := jurisdiction.Range(a.ScopePath)
	where := `JOIN jurisdictions j ON j.id = p.jurisdiction_id WHERE j.path >= ? AND j.path < ?`
	args := []any{lo, hi}
	if !f.From.IsZero() {
		where += " AND v.visited_at >= ?"
		args = append(args, f.From.UTC())
	}
	if !f.To.IsZero() {
		where += " AND v.visited_at < ?"
		args = append(args, f.To.UTC())
	}
	if f.PlaceID != 0 {
		where += " AND v.place_id = ?"
		args = append(args, f.PlaceID)
	}
	return where, args
}

// Count returns how many visits in a's scope f keeps (its paging aside):
// the total of the list List pages through. It reads no one's data.
func (v *Visitors) Count(ctx context.Context, a rbac.Actor, f VisitFilter) (int64, error) {
	if !MayListVisitors(a) {
		return 0, fault.ErrForbidden
	}
	where, args := visitsWhere(a, f)
	var n int64
	if err := db.Get(ctx, v.DB.R, &n, "SELECT count(*) FROM visitor_registrations v JOIN places p ON p.id = v.place_id "+where, args...); err != nil {
		return 0, fmt.Errorf("venue: count visits: %w", err)
	}
	return n, nil
}

// MayListVisitors reports whether a may read the visitors of the compound
// entrances in its scope: the community workers, who look after them.
func MayListVisitors(a rbac.Actor) bool {
	return a.Role == rbac.CommunityWorker && a.ScopePath != "" && a.Can(rbac.ResidentRead)
}

// List returns the visitors of the compound entrances in a's scope, newest
// first, and logs the read of each visitor shown with purpose (one of
// accesslog.Purposes), before returning them: nobody sees a visitor whose
// read was not logged.
func (v *Visitors) List(ctx context.Context, a rbac.Actor, f VisitFilter, purpose string) ([]Visit, error) {
	if !MayListVisitors(a) {
		return nil, fault.ErrForbidden
	}
	if !accesslog.ValidPurpose(purpose) {
		return nil, validation.Field("purpose", "accesslog.purpose")
	}
	defer v.DB.Observe("venue.visit_list", time.Now())
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 200
	}
	where, args := visitsWhere(a, f)
	if f.BeforeID != 0 {
		where += " AND v.id < ?"
		args = append(args, f.BeforeID)
	}
	var vs []Visit
	if err := db.Select(ctx, v.DB.R, &vs, selectVisits+where+" ORDER BY v.id DESC LIMIT ?", append(args, f.Limit)...); err != nil {
		return nil, fmt.Errorf("venue: list visits: %w", err)
	}
	if len(vs) == 0 {
		return nil, nil
	}
	err := v.DB.InTx(ctx, func(tx *db.Tx) error {
		seen := map[[2]int64]bool{}
		for _, x := range vs {
			k := [2]int64{x.ResidentID, x.JurisdictionID}
			if seen[k] {
				continue
			}
			seen[k] = true
			if err := v.Access.Record(ctx, tx, a, x.ResidentID, x.JurisdictionID, "visitors", purpose); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("venue: log the read of visitors: %w", err)
	}
	return vs, nil
}

// Purge deletes the registrations older than window and records the purge
// in the audit chain.
func (v *Visitors) Purge(ctx context.Context, window time.Duration) (int64, error) {
	var n int64
	cutoff := v.now().Add(-window).UTC()
	err := v.DB.InTx(ctx, func(tx *db.Tx) error {
		res, err := db.Exec(ctx, tx, "DELETE FROM visitor_registrations WHERE visited_at < ?", cutoff)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Record{Actor: audit.System, Kind: audit.Purge,
			After:  map[string]any{"visitor_registrations_deleted": n, "before": cutoff.Format(time.RFC3339)},
			Reason: fmt.Sprintf("retention window of %d days", int(window.Hours()/24)), LegalBasis: "data minimisation: visitor registrations are kept only as long as tracing may need them"})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("venue: purge visits: %w", err)
	}
	return n, nil
}

// Housekeep purges the registrations older than VisitRetention and logs
// what it did; the server's housekeeping calls it every hour.
func (v *Visitors) Housekeep(ctx context.Context, log *slog.Logger) {
	n, err := v.Purge(ctx, VisitRetention)
	switch {
	case err != nil && ctx.Err() == nil:
		log.Error("purge visitor registrations", "err", err)
	case n > 0:
		log.Info("purged visitor registrations past the retention window", "count", n, "days", int(VisitRetention.Hours()/24))
	}
}
