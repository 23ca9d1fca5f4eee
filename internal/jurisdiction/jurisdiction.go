// Package jurisdiction holds the administrative hierarchy a deployment
// covers — province > city > district > community — and the subtree scopes
// that bound what each staff account sees.
package jurisdiction

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// Level is a rung of the hierarchy.
type Level string

const (
	Province  Level = "province"
	City      Level = "city"
	District  Level = "district"
	Community Level = "community"
)

// Levels in order from the top.
var Levels = []Level{Province, City, District, Community}

// Child returns the level below l, or "" for a community.
func (l Level) Child() Level {
	for i, x := range Levels {
		if x == l && i+1 < len(Levels) {
			return Levels[i+1]
		}
	}
	return ""
}

// Jurisdiction is one node of the hierarchy.
type Jurisdiction struct {
	ID        int64         `db:"id" json:"id"`
	Code      string        `db:"code" json:"code"`
	Level     Level         `db:"level" json:"level"`
	NameZH    string        `db:"name_zh" json:"name_zh"`
	NameEN    string        `db:"name_en" json:"name_en"`
	ParentID  sql.NullInt64 `db:"parent_id" json:"-"`
	Path      string        `db:"path" json:"path"`
	CreatedAt time.Time     `db:"created_at" json:"-"`
}

// Name returns the name in lang ("zh" or "en").
func (j Jurisdiction) Name(lang string) string {
	if lang == "en" {
		return j.NameEN
	}
	return j.NameZH
}

// Label names a jurisdiction for a person with the one above it — a
// community with its district, "Wuchang District · Jianshe Road Community"
// (several communities share a name) — or alone when parent is "".
func Label(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + " · " + name
}

// Labelled returns j's name in lang for a person: a community with its
// district (Label), read from s; anything else by its own name.
func Labelled(ctx context.Context, s Store, j Jurisdiction, lang string) (string, error) {
	if j.Level != Community || !j.ParentID.Valid {
		return j.Name(lang), nil
	}
	p, err := s.Get(ctx, j.ParentID.Int64)
	if err != nil {
		return "", fmt.Errorf("jurisdiction: label %s: %w", j.Code, err)
	}
	return Label(p.Name(lang), j.Name(lang)), nil
}

// Contains reports whether o is j or lies below it.
func (j Jurisdiction) Contains(o Jurisdiction) bool { return InScope(j.Path, o.Path) }

// InScope reports whether path lies in the subtree scope.
func InScope(scope, path string) bool { return scope != "" && strings.HasPrefix(path, scope) }

// Range returns the bounds lo <= path < hi of the subtree at scope, for an
// index range scan. Paths are codes joined by "/", and codes are letters and
// digits, which all sort after "/".
func Range(scope string) (lo, hi string) {
	if scope == "" {
		return "", "" // matches nothing
	}
	return scope, strings.TrimSuffix(scope, "/") + "0"
}

// MaxNameRunes is the longest name of a jurisdiction, in characters.
const MaxNameRunes = 100

// New is the input to create a jurisdiction.
type New struct {
	Code       string `json:"code"`
	NameZH     string `json:"name_zh"`
	NameEN     string `json:"name_en"`
	ParentCode string `json:"parent_code"`
}

// Validate checks the fields that need no store.
func (n *New) Validate() error {
	var e validation.Errors
	n.Code = strings.TrimSpace(n.Code)
	if !validCode(n.Code) {
		e.Add("code", "jurisdiction.code")
	}
	// A place's name is read on every page and pass like a person's: the
	// same rule (NFC, a letter, nothing invisible).
	n.NameZH = validation.Name(&e, "name_zh", n.NameZH, MaxNameRunes)
	n.NameEN = validation.Name(&e, "name_en", n.NameEN, MaxNameRunes)
	return e.Err()
}

func validCode(c string) bool {
	if c == "" || len(c) > 20 {
		return false
	}
	for _, r := range c {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// Store keeps the hierarchy.
type Store interface {
	// Create adds a jurisdiction under its parent; the parent must lie within
	// scope (the creator's subtree). Roots need scope "/".
	Create(ctx context.Context, q db.Q, scope string, n New) (Jurisdiction, error)
	Get(ctx context.Context, id int64) (Jurisdiction, error)
	GetByCode(ctx context.Context, code string) (Jurisdiction, error)
	// Children lists the jurisdictions directly below parentID (0: the roots).
	Children(ctx context.Context, parentID int64) ([]Jurisdiction, error)
	// Subtree lists every jurisdiction in scope, ordered by path.
	Subtree(ctx context.Context, scope string) ([]Jurisdiction, error)
	// Rename changes the names of a jurisdiction within scope.
	Rename(ctx context.Context, scope, code, nameZH, nameEN string) error
}

// NewStore returns the Store on d.
func NewStore(d *db.DB) Store { return &store{d: d} }

type store struct{ d *db.DB }

const columns = "id, code, level, name_zh, name_en, parent_id, path, created_at"

func (s *store) Create(ctx context.Context, q db.Q, scope string, n New) (Jurisdiction, error) {
	defer s.d.Observe("jurisdiction.create", time.Now())
	if err := n.Validate(); err != nil {
		return Jurisdiction{}, err
	}
	j := Jurisdiction{Code: n.Code, NameZH: n.NameZH, NameEN: n.NameEN, CreatedAt: time.Now().UTC()}
	if n.ParentCode == "" {
		if scope != "/" {
			return Jurisdiction{}, validation.Field("parent_code", "out_of_scope")
		}
		j.Level, j.Path = Province, "/"+n.Code+"/"
	} else {
		var parent Jurisdiction
		err := db.Get(ctx, q, &parent, "SELECT "+columns+" FROM jurisdictions WHERE code = ?", n.ParentCode)
		if errors.Is(err, db.ErrNotFound) || (err == nil && !InScope(scope, parent.Path)) {
			return Jurisdiction{}, validation.Field("parent_code", "not_found")
		}
		if err != nil {
			return Jurisdiction{}, fmt.Errorf("jurisdiction: get parent: %w", err)
		}
		if j.Level = parent.Level.Child(); j.Level == "" {
			return Jurisdiction{}, validation.Field("parent_code", "jurisdiction.leaf")
		}
		j.ParentID = sql.NullInt64{Int64: parent.ID, Valid: true}
		j.Path = parent.Path + n.Code + "/"
	}
	id, err := db.InsertID(ctx, q, `INSERT INTO jurisdictions (code, level, name_zh, name_en, parent_id, path, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, j.Code, j.Level, j.NameZH, j.NameEN, j.ParentID, j.Path, j.CreatedAt)
	if errors.Is(err, db.ErrConflict) {
		return Jurisdiction{}, validation.Field("code", "taken")
	}
	if err != nil {
		return Jurisdiction{}, fmt.Errorf("jurisdiction: create: %w", err)
	}
	j.ID = id
	return j, nil
}

func (s *store) Get(ctx context.Context, id int64) (Jurisdiction, error) {
	defer s.d.Observe("jurisdiction.get", time.Now())
	var j Jurisdiction
	err := db.Get(ctx, s.d.R, &j, "SELECT "+columns+" FROM jurisdictions WHERE id = ?", id)
	return j, wrap("get", err)
}

func (s *store) GetByCode(ctx context.Context, code string) (Jurisdiction, error) {
	defer s.d.Observe("jurisdiction.get", time.Now())
	var j Jurisdiction
	err := db.Get(ctx, s.d.R, &j, "SELECT "+columns+" FROM jurisdictions WHERE code = ?", code)
	return j, wrap("get by code", err)
}

func (s *store) Children(ctx context.Context, parentID int64) ([]Jurisdiction, error) {
	defer s.d.Observe("jurisdiction.children", time.Now())
	var js []Jurisdiction
	var err error
	if parentID == 0 {
		err = db.Select(ctx, s.d.R, &js, "SELECT "+columns+" FROM jurisdictions WHERE parent_id IS NULL ORDER BY code")
	} else {
		err = db.Select(ctx, s.d.R, &js, "SELECT "+columns+" FROM jurisdictions WHERE parent_id = ? ORDER BY code", parentID)
	}
	return js, wrap("children", err)
}

func (s *store) Subtree(ctx context.Context, scope string) ([]Jurisdiction, error) {
	defer s.d.Observe("jurisdiction.subtree", time.Now())
	lo, hi := Range(scope)
	var js []Jurisdiction
	err := db.Select(ctx, s.d.R, &js, "SELECT "+columns+" FROM jurisdictions WHERE path >= ? AND path < ? ORDER BY path", lo, hi)
	return js, wrap("subtree", err)
}

func (s *store) Rename(ctx context.Context, scope, code, nameZH, nameEN string) error {
	defer s.d.Observe("jurisdiction.rename", time.Now())
	n := New{Code: code, NameZH: nameZH, NameEN: nameEN}
	if err := n.Validate(); err != nil {
		return err
	}
	lo, hi := Range(scope)
	res, err := db.Exec(ctx, s.d.W, "UPDATE jurisdictions SET name_zh = ?, name_en = ? WHERE code = ? AND path >= ? AND path < ?",
		n.NameZH, n.NameEN, code, lo, hi)
	if err != nil {
		return fmt.Errorf("jurisdiction: rename: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return db.ErrNotFound
	}
	return nil
}

func wrap(op string, err error) error {
	if err == nil || errors.Is(err, db.ErrNotFound) {
		return err
	}
	return fmt.Errorf("jurisdiction: %s: %w", op, err)
}

// Service is what administrators change in the hierarchy, within their
// scope.
type Service struct {
	DB    *db.DB
	Store Store
}

// Create adds a jurisdiction below one in actor's scope.
func (s *Service) Create(ctx context.Context, scope string, n New) (Jurisdiction, error) {
	return s.Store.Create(ctx, s.DB.W, scope, n)
}
