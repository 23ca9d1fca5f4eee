package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// Errors the service returns besides validation errors.
var (
	// ErrBadCredentials covers unknown user, wrong password, disabled account
	// and a demo account on a store not marked as a demo: the caller cannot
	// tell which.
	ErrBadCredentials = errors.New("account: wrong username or password")
	// ErrBusy means too many password checks are under way; retry shortly.
	ErrBusy = fault.New(fault.Unavailable, "error.busy", "account: too many sign-ins at once")
)

// DemoMetaKey marks a store filled by the demo generator.
const DemoMetaKey = "demo"

// Service runs the sign-in and account-management rules.
type Service struct {
	DB            *db.DB
	Accounts      Store
	Residents     resident.Store
	Jurisdictions jurisdiction.Store
	Params        Params
	IDKind        string // default national ID kind for registrations
	// hashing bounds concurrent argon2 computations, so that a burst of
	// sign-ins sheds load instead of exhausting memory and CPU.
	hashing chan struct{}
	dummy   string
}

// NewService wires a Service; maxHashing bounds concurrent password hashes.
func NewService(d *db.DB, accounts Store, residents resident.Store, juris jurisdiction.Store, p Params, idKind string, maxHashing int) *Service {
	return &Service{DB: d, Accounts: accounts, Residents: residents, Jurisdictions: juris, Params: p, IDKind: idKind,
		hashing: make(chan struct{}, max(1, maxHashing)), dummy: HashPassword("not a password", p)}
}

func (s *Service) acquire(ctx context.Context) error {
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case s.hashing <- struct{}{}:
		return nil
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Service) release() { <-s.hashing }

// Hash hashes a password under the service's hashing limit.
func (s *Service) Hash(ctx context.Context, password string) (string, error) {
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer s.release()
	return HashPassword(password, s.Params), nil
}

// Authenticate checks a username and password.
func (s *Service) Authenticate(ctx context.Context, username, password string) (Account, error) {
	if len(password) > MaxPassword {
		return Account{}, ErrBadCredentials
	}
	a, err := s.Accounts.GetByUsername(ctx, NormalizeUsername(username))
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return Account{}, err
	}
	hash := a.PasswordHash
	if err != nil {
		hash = s.dummy // spend the same time on unknown users
	}
	if err := s.acquire(ctx); err != nil {
		return Account{}, err
	}
	ok, cerr := CheckPassword(password, hash)
	s.release()
	if err != nil || cerr != nil || !ok || a.Disabled {
		return Account{}, ErrBadCredentials
	}
	if a.Demo {
		isDemo, err := s.IsDemoStore(ctx)
		if err != nil {
			return Account{}, err
		}
		if !isDemo {
			return Account{}, ErrBadCredentials
		}
	}
	return a, nil
}

// IsDemoStore reports whether the store was filled by the demo generator.
func (s *Service) IsDemoStore(ctx context.Context) (bool, error) {
	v, _, err := s.DB.Meta(ctx, DemoMetaKey)
	return v == "true", err
}

// Registration is a resident signing themselves up.
type Registration struct {
	resident.New
	Username string `json:"username"`
	Password string `json:"password"`
	// Lang is the language the person reads; a handler fills in the
	// browser's when the person did not say.
	Lang string `json:"lang"`
}

func validatePassword(e *validation.Errors, field, pw string) {
	if len(pw) < MinPassword || len(pw) > MaxPassword {
		e.Add(field, "account.password_length", "min", MinPassword, "max", MaxPassword)
	}
}

func normalizeLang(l string) string {
	if l == "en" {
		return "en"
	}
	return "zh"
}

// Register creates a resident and their account in one transaction.
func (s *Service) Register(ctx context.Context, r Registration, today civil.Date) (Account, error) {
	var e validation.Errors
	if err := r.New.Validate(s.IDKind, today, true); err != nil {
		ve, _ := validation.As(err)
		e.Fields = append(e.Fields, ve.Fields...)
	}
	if r.Username == "" {
		r.Username = r.Phone
	}
	r.Username = NormalizeUsername(r.Username)
	if !ValidUsername(r.Username) {
		e.Add("username", "account.username")
	}
	validatePassword(&e, "password", r.Password)
	if err := e.Err(); err != nil {
		return Account{}, err
	}
	hash, err := s.Hash(ctx, r.Password)
	if err != nil {
		return Account{}, err
	}
	a := Account{Username: r.Username, PasswordHash: hash, Role: rbac.Resident, DisplayName: r.Name, Lang: normalizeLang(r.Lang)}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		res, err := s.Residents.Create(ctx, tx, jurisdiction.All, r.New, 0, 0)
		if err != nil {
			return err
		}
		a.ResidentID = sql.NullInt64{Int64: res.ID, Valid: true}
		a.ID, err = s.Accounts.Create(ctx, tx, a)
		if errors.Is(err, db.ErrConflict) {
			return validation.Field("username", "taken")
		}
		return err
	})
	return a, err
}

// NewStaff is the input to create a staff account.
type NewStaff struct {
	Username         string    `json:"username"`
	DisplayName      string    `json:"display_name"`
	Role             rbac.Role `json:"role"`
	JurisdictionCode string    `json:"jurisdiction_code"`
	Password         string    `json:"password"`
}

// scopedJurisdiction finds code within the actor's scope, or reports a field error.
func (s *Service) scopedJurisdiction(ctx context.Context, actor rbac.Actor, field, code string) (jurisdiction.Jurisdiction, error) {
	j, err := s.Jurisdictions.GetByCode(ctx, strings.TrimSpace(code))
	if errors.Is(err, db.ErrNotFound) || (err == nil && !jurisdiction.InScope(actor.ScopePath, j.Path)) {
		return j, validation.Field(field, "not_found")
	}
	return j, err
}

// CreateStaff creates a staff account in the actor's subtree, with a role
// the actor may grant.
func (s *Service) CreateStaff(ctx context.Context, actor rbac.Actor, n NewStaff) (Account, error) {
	if !actor.Can(rbac.StaffManage) {
		return Account{}, fault.ErrForbidden
	}
	var e validation.Errors
	n.Username = NormalizeUsername(n.Username)
	if !ValidUsername(n.Username) {
		e.Add("username", "account.username")
	}
	n.DisplayName = validation.Name(&e, "display_name", n.DisplayName, validation.MaxNameRunes)
	if !rbac.CanGrant(actor.Role, n.Role) {
		e.Add("role", "account.role")
	}
	validatePassword(&e, "password", n.Password)
	j, err := s.scopedJurisdiction(ctx, actor, "jurisdiction_code", n.JurisdictionCode)
	if ve, ok := validation.As(err); ok {
		e.Fields = append(e.Fields, ve.Fields...)
	} else if err != nil {
		return Account{}, err
	}
	if err := e.Err(); err != nil {
		return Account{}, err
	}
	hash, err := s.Hash(ctx, n.Password)
	if err != nil {
		return Account{}, err
	}
	// No language yet: the person's browser gives it at the first sign-in.
	a := Account{Username: n.Username, PasswordHash: hash, Role: n.Role, DisplayName: n.DisplayName,
		JurisdictionID: sql.NullInt64{Int64: j.ID, Valid: true}, CreatedBy: sql.NullInt64{Int64: actor.AccountID, Valid: true},
		JurisdictionCode: sql.NullString{String: j.Code, Valid: true}, JurisdictionPath: sql.NullString{String: j.Path, Valid: true}}
	a.ID, err = s.Accounts.Create(ctx, s.DB.W, a)
	if errors.Is(err, db.ErrConflict) {
		return Account{}, validation.Field("username", "taken")
	}
	return a, err
}

// StaffChange is the input to change a staff account.
type StaffChange struct {
	Role             rbac.Role `json:"role"`
	JurisdictionCode string    `json:"jurisdiction_code"`
	Disabled         *bool     `json:"disabled"` // nil: unchanged
	DisplayName      string    `json:"display_name"`
}

// UpdateStaff changes a staff account in the actor's subtree. Disabling an
// account ends its sessions at once.
func (s *Service) UpdateStaff(ctx context.Context, actor rbac.Actor, id int64, c StaffChange) (Account, error) {
	if !actor.Can(rbac.StaffManage) {
		return Account{}, fault.ErrForbidden
	}
	a, err := s.Accounts.Get(ctx, id)
	if errors.Is(err, db.ErrNotFound) || (err == nil && (!a.Role.IsStaff() || !jurisdiction.InScope(actor.ScopePath, a.JurisdictionPath.String))) {
		return Account{}, db.ErrNotFound
	}
	if err != nil {
		return Account{}, err
	}
	if c.Role == "" {
		c.Role = a.Role
	}
	disabled := a.Disabled
	if c.Disabled != nil {
		disabled = *c.Disabled
	}
	if id == actor.AccountID && (disabled || c.Role != a.Role) {
		return Account{}, validation.Field("role", "account.self_change")
	}
	var e validation.Errors
	if !rbac.CanGrant(actor.Role, c.Role) {
		e.Add("role", "account.role")
	}
	if strings.TrimSpace(c.DisplayName) == "" {
		c.DisplayName = a.DisplayName
	} else {
		c.DisplayName = validation.Name(&e, "display_name", c.DisplayName, validation.MaxNameRunes)
	}
	j := jurisdiction.Jurisdiction{ID: a.JurisdictionID.Int64, Code: a.JurisdictionCode.String, Path: a.JurisdictionPath.String}
	if c.JurisdictionCode != "" {
		j, err = s.scopedJurisdiction(ctx, actor, "jurisdiction_code", c.JurisdictionCode)
		if ve, ok := validation.As(err); ok {
			e.Fields = append(e.Fields, ve.Fields...)
		} else if err != nil {
			return Account{}, err
		}
	}
	if err := e.Err(); err != nil {
		return Account{}, err
	}
	a.Role, a.Disabled, a.DisplayName = c.Role, disabled, c.DisplayName
	a.JurisdictionID = sql.NullInt64{Int64: j.ID, Valid: true}
	a.JurisdictionCode, a.JurisdictionPath = sql.NullString{String: j.Code, Valid: true}, sql.NullString{String: j.Path, Valid: true}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		if err := s.Accounts.Update(ctx, tx, actor.ScopePath, a); err != nil {
			return err
		}
		if a.Disabled {
			return s.Accounts.DeleteSessionsOf(ctx, tx, a.ID)
		}
		return nil
	})
	return a, err
}

// NewToken is the input to issue an API token.
type NewToken struct {
	Name             string    `json:"name"`
	Role             rbac.Role `json:"role"`
	JurisdictionCode string    `json:"jurisdiction_code"`
	ExpiresInDays    int       `json:"expires_in_days"`
}

// IssueToken issues an API token for a machine client in the actor's
// subtree. The secret is returned once.
func (s *Service) IssueToken(ctx context.Context, actor rbac.Actor, n NewToken) (string, Token, error) {
	if !actor.Can(rbac.TokenManage) {
		return "", Token{}, fault.ErrForbidden
	}
	var e validation.Errors
	if n.Name = strings.TrimSpace(n.Name); n.Name == "" || len(n.Name) > 80 {
		e.Add("name", "required_max", "max", 80)
	}
	if !rbac.CanIssueToken(actor.Role, n.Role) {
		e.Add("role", "account.token_role")
	}
	if n.ExpiresInDays < 0 || n.ExpiresInDays > 730 {
		e.Add("expires_in_days", "account.token_expiry")
	}
	j, err := s.scopedJurisdiction(ctx, actor, "jurisdiction_code", n.JurisdictionCode)
	if ve, ok := validation.As(err); ok {
		e.Fields = append(e.Fields, ve.Fields...)
	} else if err != nil {
		return "", Token{}, err
	}
	if err := e.Err(); err != nil {
		return "", Token{}, err
	}
	t := Token{Name: n.Name, Role: n.Role, JurisdictionID: j.ID, JurisdictionCode: j.Code, JurisdictionPath: j.Path, CreatedBy: actor.AccountID}
	if n.ExpiresInDays > 0 {
		t.ExpiresAt = sql.NullTime{Time: time.Now().UTC().AddDate(0, 0, n.ExpiresInDays), Valid: true}
	}
	secret, t, err := s.Accounts.CreateToken(ctx, t)
	return secret, t, err
}

// AdoptLang gives an account that has no language of its own (a demo
// account, a staff account just made) the language the person's browser
// asks for, at their first sign-in, and keeps it from then on. A language
// the account already has, chosen or taken before, is left alone.
func (s *Service) AdoptLang(ctx context.Context, a *Account, browser string) error {
	if ValidLang(a.Lang) || !ValidLang(browser) {
		return nil
	}
	if err := s.Accounts.SetLang(ctx, a.ID, browser); err != nil {
		return fmt.Errorf("account: adopt lang: %w", err)
	}
	a.Lang = browser
	return nil
}

// ValidLang reports whether l is a language an account may have.
func ValidLang(l string) bool { return l == "zh" || l == "en" }

// SetLang records the account's language.
func (s *Service) SetLang(ctx context.Context, id int64, lang string) error {
	if !ValidLang(lang) {
		return validation.Field("lang", "account.lang")
	}
	if err := s.Accounts.SetLang(ctx, id, lang); err != nil {
		return fmt.Errorf("account: set lang: %w", err)
	}
	return nil
}
