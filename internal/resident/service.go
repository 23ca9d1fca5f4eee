package resident

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/outbreak-platform/outbreak/internal/accesslog"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// Service runs the rules for reading and registering people.
type Service struct {
	DB        *db.DB
	Residents Store
	Access    accesslog.Store
	IDKind    string // default national ID kind
}

// Self returns the resident an account of role Resident belongs to.
func (s *Service) Self(ctx context.Context, actor rbac.Actor) (Resident, error) {
	if actor.Role != rbac.Resident || actor.ResidentID == 0 {
		return Resident{}, fault.ErrForbidden
	}
	return s.Residents.Get(ctx, "/", actor.ResidentID)
}

// Dependent returns a dependent the actor is guardian of; any other id is
// reported as not found.
func (s *Service) Dependent(ctx context.Context, actor rbac.Actor, id int64) (Resident, error) {
	if actor.Role != rbac.Resident {
		return Resident{}, fault.ErrForbidden
	}
	r, err := s.Residents.Get(ctx, "/", id)
	if err != nil {
		return Resident{}, err
	}
	if !r.GuardianID.Valid || r.GuardianID.Int64 != actor.ResidentID {
		return Resident{}, db.ErrNotFound
	}
	return r, nil
}

// SelfOrDependent returns the acting resident (id 0 or their own id) or one
// of their dependents; any other id is reported as not found.
func (s *Service) SelfOrDependent(ctx context.Context, actor rbac.Actor, id int64) (Resident, error) {
	if id == 0 || id == actor.ResidentID {
		return s.Self(ctx, actor)
	}
	return s.Dependent(ctx, actor, id)
}

// AddDependent registers a family member without a smartphone, with the
// acting resident as guardian, in the guardian's household and (unless
// given) community.
func (s *Service) AddDependent(ctx context.Context, actor rbac.Actor, n New, today civil.Date) (Resident, error) {
	guardian, err := s.Self(ctx, actor)
	if err != nil {
		return Resident{}, err
	}
	if guardian.IsDependent() {
		return Resident{}, fault.ErrForbidden
	}
	if strings.TrimSpace(n.CommunityCode) == "" {
		n.CommunityCode = guardian.CommunityCode
	}
	if err := n.Validate(s.IDKind, today, false); err != nil {
		return Resident{}, err
	}
	var dep Resident
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		// Read the household again in the transaction, locked, so that two
		// dependents added at once land in one household.
		lock := ""
		if tx.Dialect() == db.Postgres {
			lock = " FOR UPDATE"
		}
		var household sql.NullInt64
		if err := db.Get(ctx, tx, &household, "SELECT household_id FROM residents WHERE id = ?"+lock, guardian.ID); err != nil {
			return err
		}
		hh := household.Int64
		if !household.Valid {
			id, err := db.InsertID(ctx, tx, "INSERT INTO households (community_id) VALUES (?) RETURNING id", guardian.CommunityID)
			if err != nil {
				return err
			}
			if _, err := db.Exec(ctx, tx, "UPDATE residents SET household_id = ? WHERE id = ?", id, guardian.ID); err != nil {
				return err
			}
			hh = id
		}
		var err error
		dep, err = s.Residents.Create(ctx, tx, "/", n, guardian.ID, hh)
		return err
	})
	return dep, err
}

// FindByIDNumber finds the person with an ID number of the deployment's
// kind in scope, the number read as registration reads it: a number that
// is not valid is the same field error on field as at registration, and
// nobody with a valid number is db.ErrNotFound.
func (s *Service) FindByIDNumber(ctx context.Context, scope, field, number string, today civil.Date) (Resident, error) {
	info, err := CheckIDNumber(field, s.IDKind, number, today)
	if err != nil {
		return Resident{}, err
	}
	return s.Residents.FindByIDNumber(ctx, scope, s.IDKind, info.Number)
}

// ReadForStaff returns a person's record to a staff member with the
// permission and the scope, and logs the read with its purpose. The record
// is not returned if the log entry cannot be written.
func (s *Service) ReadForStaff(ctx context.Context, actor rbac.Actor, id int64, purpose string) (Resident, error) {
	if !actor.Can(rbac.ResidentRead) {
		return Resident{}, fault.ErrForbidden
	}
	if !accesslog.ValidPurpose(purpose) {
		return Resident{}, validation.Field("purpose", "accesslog.purpose")
	}
	r, err := s.Residents.Get(ctx, actor.ScopePath, id)
	if err != nil {
		return Resident{}, err
	}
	if err := s.Access.Record(ctx, s.DB.W, actor, r.ID, r.CommunityID, "read", purpose); err != nil {
		return Resident{}, err
	}
	return r, nil
}

// FindForStaff looks a person up by national ID number or phone number in
// the actor's scope; each person found is a logged read.
func (s *Service) FindForStaff(ctx context.Context, actor rbac.Actor, idNumber, phone, purpose string, today civil.Date) ([]Resident, error) {
	if !actor.Can(rbac.ResidentRead) {
		return nil, fault.ErrForbidden
	}
	if !accesslog.ValidPurpose(purpose) {
		return nil, validation.Field("purpose", "accesslog.purpose")
	}
	var found []Resident
	switch {
	case strings.TrimSpace(idNumber) != "":
		r, err := s.FindByIDNumber(ctx, actor.ScopePath, "id_number", idNumber, today)
		if errors.Is(err, db.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		found = []Resident{r}
	case strings.TrimSpace(phone) != "":
		rs, err := s.Residents.FindByPhone(ctx, actor.ScopePath, strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(phone)))
		if err != nil {
			return nil, err
		}
		found = rs
	default:
		return nil, validation.Field("q", "required")
	}
	err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		for _, r := range found {
			if err := s.Access.Record(ctx, tx, actor, r.ID, r.CommunityID, "lookup", purpose); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}

// RegisterByStaff registers a resident in a community in the actor's scope
// (a community worker signing up someone without a phone, for example).
func (s *Service) RegisterByStaff(ctx context.Context, actor rbac.Actor, n New, today civil.Date) (Resident, error) {
	if !actor.Can(rbac.ResidentWrite) {
		return Resident{}, fault.ErrForbidden
	}
	if err := n.Validate(s.IDKind, today, false); err != nil {
		return Resident{}, err
	}
	return s.Residents.Create(ctx, s.DB.W, actor.ScopePath, n, 0, 0)
}
