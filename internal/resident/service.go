package resident

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"unicode"

	"github.com/outbreak-platform/outbreak/internal/accesslog"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/list"
	"github.com/outbreak-platform/outbreak/internal/nationalid"
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

// Search is a staff search for people. Q is the one box of the staff
// page: a name (or part of one), a resident number, an ID number or a
// phone number, read as each of them it can be. The other keys say what
// they are. Whoever matches any key is found.
type Search struct {
	Q          string    `json:"q"`
	Name       string    `json:"name"`
	ResidentID int64     `json:"resident"`
	IDNumber   string    `json:"id_number"`
	Phone      string    `json:"phone"`
	Purpose    string    `json:"purpose"`
	Page       list.Page `json:"-"`
}

// maxResidentNumberDigits bounds what Search.Q reads as a resident number:
// longer digit strings are phone or ID numbers.
const maxResidentNumberDigits = 12

// FindForStaff searches people in the actor's scope by name, resident
// number, ID number or phone, a page at a time with the total. Each person
// on the page is a read logged with its purpose; the page is not returned
// if the log cannot be written. An ID number that is not valid is the
// registration's own field error.
func (s *Service) FindForStaff(ctx context.Context, actor rbac.Actor, q Search, today civil.Date) (list.Of[Resident], error) {
	if !actor.Can(rbac.ResidentRead) {
		return list.Of[Resident]{}, fault.ErrForbidden
	}
	if !accesslog.ValidPurpose(q.Purpose) {
		return list.Of[Resident]{}, validation.Field("purpose", "accesslog.purpose")
	}
	m, err := s.match(q, today)
	if err != nil {
		return list.Of[Resident]{}, err
	}
	found, err := s.Residents.Search(ctx, actor.ScopePath, m, q.Page)
	if err != nil {
		return list.Of[Resident]{}, err
	}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		for _, r := range found.Items {
			if err := s.Access.Record(ctx, tx, actor, r.ID, r.CommunityID, "lookup", q.Purpose); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return list.Of[Resident]{}, err
	}
	return found, nil
}

// match reads a search's keys as registration reads them.
func (s *Service) match(q Search, today civil.Date) (Match, error) {
	var e validation.Errors
	m := Match{IDKind: s.IDKind, ResidentID: max(q.ResidentID, 0)}
	if strings.TrimSpace(q.IDNumber) != "" {
		if info, err := CheckIDNumber("id_number", s.IDKind, q.IDNumber, today); err != nil {
			ve, _ := validation.As(err)
			e.Fields = append(e.Fields, ve.Fields...)
		} else {
			m.IDNumber = info.Number
		}
	}
	if strings.TrimSpace(q.Phone) != "" {
		if p := NormalizePhone(q.Phone); phoneRE.MatchString(p) {
			m.Phone = p
		} else {
			e.Add("phone", "resident.phone")
		}
	}
	if strings.TrimSpace(q.Name) != "" {
		m.Name = validation.Name(&e, "name", q.Name, validation.MaxNameRunes)
	}
	if strings.TrimSpace(q.Q) != "" {
		s.readQuery(&e, &m, q.Q, today)
	}
	if err := e.Err(); err != nil {
		return Match{}, err
	}
	if m.Empty() {
		return Match{}, validation.Field("q", "required")
	}
	return m, nil
}

// readQuery reads the one search box into m: a valid ID number; else a
// phone number and, when short enough, a resident number; else, with a
// letter in it, a name. Digits that look like an ID number but are not a
// valid one are the ID number's error.
func (s *Service) readQuery(e *validation.Errors, m *Match, q string, today civil.Date) {
	if info, err := CheckIDNumber("q", s.IDKind, q, today); err == nil {
		m.IDNumber = info.Number
		return
	}
	phone := NormalizePhone(q)
	found := false
	if phoneRE.MatchString(phone) {
		m.Phone, found = phone, true
	}
	if len(phone) <= maxResidentNumberDigits && m.ResidentID == 0 {
		if n, err := strconv.ParseInt(phone, 10, 64); err == nil && n > 0 && phone[0] != '+' {
			m.ResidentID, found = n, true
		}
	}
	if found {
		return
	}
	if looksLikeIDNumber(nationalid.Normalize(q)) {
		_, err := CheckIDNumber("q", s.IDKind, q, today)
		ve, _ := validation.As(err)
		e.Fields = append(e.Fields, ve.Fields...)
		return
	}
	if strings.IndexFunc(q, unicode.IsLetter) >= 0 {
		m.Name = validation.Name(e, "q", q, validation.MaxNameRunes)
		return
	}
	e.Add("q", "resident.search")
}

// looksLikeIDNumber reports whether n (normalised) is meant as an ID
// number: 15 or more characters, digits but for an X.
func looksLikeIDNumber(n string) bool {
	if len(n) < 15 {
		return false
	}
	for i := 0; i < len(n); i++ {
		if (n[i] < '0' || n[i] > '9') && n[i] != 'X' {
			return false
		}
	}
	return true
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
