package venue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// Filter narrows a search of places.
type Filter struct {
	NamePrefix      string // "": any name
	Kind            Kind   // "": both kinds
	IncludeDisabled bool
	Limit           int // 1..500, default 50
	Offset          int // rows to skip: the page's start
}

// Store keeps the places.
type Store interface {
	// Create registers a place for a, who must be allowed to (MayRegister,
	// MayRegisterAt): fault.ErrForbidden otherwise. A resident becomes the owner
	// of the venue. A second vehicle with the same service number and date
	// is a field error on service_number.
	Create(ctx context.Context, q db.Q, a rbac.Actor, n New) (Place, error)
	// Get returns a place, disabled or not. Places are public — their
	// posters hang on walls — so Get takes no scope.
	Get(ctx context.Context, id int64) (Place, error)
	// Search lists the places in scope whose name starts with the prefix,
	// by name.
	Search(ctx context.Context, scope string, f Filter) ([]Place, error)
	// ListOwned lists the places a resident account registered, newest
	// first.
	ListOwned(ctx context.Context, ownerAccountID int64) ([]Place, error)
	// Count is how many places in scope Search's filter keeps (its paging
	// aside); CountOwned how many a resident account registered.
	Count(ctx context.Context, scope string, f Filter) (int64, error)
	CountOwned(ctx context.Context, ownerAccountID int64) (int64, error)
	// FindTrip returns the enabled vehicle with the service number on the
	// date, or else the undated line of that number (a bus line that runs
	// every day); db.ErrNotFound when there is neither.
	FindTrip(ctx context.Context, serviceNumber string, on civil.Date) (Place, error)
	// (Disabling and enabling a place is Registry.SetDisabled: audited.)
}

// NewStore returns the Store on d. now is the clock, in the region's time
// zone (it bounds trip dates); nil means time.Now.
func NewStore(d *db.DB, now func() time.Time) Store {
	if now == nil {
		now = time.Now
	}
	return &store{d: d, now: now}
}

type store struct {
	d   *db.DB
	now func() time.Time
}

const selectFrom = `SELECT p.id, p.kind, p.type, p.name, p.address, p.latitude, p.longitude, p.jurisdiction_id,
	p.owner_account_id, COALESCE(p.service_number, '') AS service_number, p.service_date, p.created_by, p.created_at,
	p.disabled, j.code AS jurisdiction_code, j.path AS jurisdiction_path, j.name_zh AS jurisdiction_name_zh,
	j.name_en AS jurisdiction_name_en
	FROM places p JOIN jurisdictions j ON j.id = p.jurisdiction_id `

func (s *store) Create(ctx context.Context, q db.Q, a rbac.Actor, n New) (Place, error) {
	defer s.d.Observe("venue.create", time.Now())
	if n.Type.Valid() && !MayRegister(a, n.Type) || len(RegisterableTypes(a)) == 0 {
		return Place{}, fault.ErrForbidden
	}
	if err := n.Validate(civil.Of(s.now())); err != nil {
		return Place{}, err
	}
	var j jurisdiction.Jurisdiction
	err := db.Get(ctx, q, &j, "SELECT id, code, level, name_zh, name_en, path FROM jurisdictions WHERE code = ?", n.JurisdictionCode)
	switch {
	case errors.Is(err, db.ErrNotFound), err == nil && a.Role != rbac.Resident && !jurisdiction.InScope(a.ScopePath, j.Path):
		return Place{}, validation.Field("jurisdiction_code", "not_found")
	case err != nil:
		return Place{}, fmt.Errorf("venue: find jurisdiction: %w", err)
	case !MayRegisterAt(a, n.Type, j):
		return Place{}, validation.Field("jurisdiction_code", "venue.community")
	}
	p := Place{
		Kind: n.Type.Kind(), Type: n.Type, Name: n.Name, Address: n.Address, Latitude: n.Latitude, Longitude: n.Longitude,
		JurisdictionID: j.ID, ServiceNumber: n.ServiceNumber, ServiceDate: n.ServiceDate,
		CreatedBy: a.AccountID, CreatedAt: time.Now().UTC().Truncate(time.Microsecond),
		JurisdictionCode: j.Code, JurisdictionPath: j.Path, JurisdictionNameZH: j.NameZH, JurisdictionNameEN: j.NameEN,
	}
	if a.Role == rbac.Resident {
		p.OwnerAccountID = sql.NullInt64{Int64: a.AccountID, Valid: true}
	}
	serviceNumber := sql.NullString{String: p.ServiceNumber, Valid: p.Kind == Vehicle}
	p.ID, err = db.InsertID(ctx, q, `INSERT INTO places (kind, type, name, address, latitude, longitude, jurisdiction_id,
		owner_account_id, service_number, service_date, created_by, created_at, disabled)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		p.Kind, p.Type, p.Name, p.Address, p.Latitude, p.Longitude, p.JurisdictionID,
		p.OwnerAccountID, serviceNumber, p.ServiceDate, p.CreatedBy, p.CreatedAt, false)
	if errors.Is(err, db.ErrConflict) {
		return Place{}, validation.Field("service_number", "venue.trip_taken")
	}
	if err != nil {
		return Place{}, fmt.Errorf("venue: create: %w", err)
	}
	return p, nil
}

func (s *store) one(ctx context.Context, op, where string, args ...any) (Place, error) {
	defer s.d.Observe(op, time.Now())
	var p Place
	err := db.Get(ctx, s.d.R, &p, selectFrom+where, args...)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		err = fmt.Errorf("%s: %w", op, err)
	}
	return p, err
}

func (s *store) many(ctx context.Context, op, where string, args ...any) ([]Place, error) {
	defer s.d.Observe(op, time.Now())
	var ps []Place
	if err := db.Select(ctx, s.d.R, &ps, selectFrom+where, args...); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return ps, nil
}

func (s *store) Get(ctx context.Context, id int64) (Place, error) {
	return s.one(ctx, "venue.get", "WHERE p.id = ?", id)
}

// searchWhere is the query of the places in scope that f keeps, its
// paging aside; ok is false when no place can match.
func searchWhere(scope string, f Filter) (where string, args []any, ok bool) {
	if !validation.Storable(f.NamePrefix) {
		return "", nil, false // no name holds it
	}
	lo, hi := jurisdiction.Range(scope)
	where, args = "WHERE j.path >= ? AND j.path < ?", []any{lo, hi}
	if f.NamePrefix != "" {
		where += " AND p.name >= ? AND p.name < ?"
		args = append(args, f.NamePrefix, f.NamePrefix+"\U0010FFFF")
	}
	if f.Kind != "" {
		where += " AND p.kind = ?"
		args = append(args, f.Kind)
	}
	if !f.IncludeDisabled {
		where += " AND NOT p.disabled"
	}
	return where, args, true
}

func (s *store) Search(ctx context.Context, scope string, f Filter) ([]Place, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	where, args, ok := searchWhere(scope, f)
	if !ok {
		return nil, nil
	}
	return s.many(ctx, "venue.search", where+" ORDER BY p.name, p.id LIMIT ? OFFSET ?", append(args, f.Limit, max(0, f.Offset))...)
}

func (s *store) Count(ctx context.Context, scope string, f Filter) (int64, error) {
	defer s.d.Observe("venue.count", time.Now())
	where, args, ok := searchWhere(scope, f)
	if !ok {
		return 0, nil
	}
	var n int64
	if err := db.Get(ctx, s.d.R, &n, "SELECT count(*) FROM places p JOIN jurisdictions j ON j.id = p.jurisdiction_id "+where, args...); err != nil {
		return 0, fmt.Errorf("venue.count: %w", err)
	}
	return n, nil
}

func (s *store) CountOwned(ctx context.Context, ownerAccountID int64) (int64, error) {
	var n int64
	if err := db.Get(ctx, s.d.R, &n, "SELECT count(*) FROM places WHERE owner_account_id = ?", ownerAccountID); err != nil {
		return 0, fmt.Errorf("venue.count_owned: %w", err)
	}
	return n, nil
}

func (s *store) ListOwned(ctx context.Context, ownerAccountID int64) ([]Place, error) {
	return s.many(ctx, "venue.list_owned", "WHERE p.owner_account_id = ? ORDER BY p.id DESC LIMIT 500", ownerAccountID)
}

func (s *store) FindTrip(ctx context.Context, serviceNumber string, on civil.Date) (Place, error) {
	serviceNumber = NormalizeServiceNumber(serviceNumber)
	if !serviceNumberRE.MatchString(serviceNumber) || on.IsZero() {
		return Place{}, db.ErrNotFound
	}
	// The dated trip sorts first: false before true.
	return s.one(ctx, "venue.find_trip", `WHERE p.kind = 'vehicle' AND p.service_number = ?
		AND (p.service_date = ? OR p.service_date IS NULL) AND NOT p.disabled
		ORDER BY p.service_date IS NULL LIMIT 1`, serviceNumber, on)
}
