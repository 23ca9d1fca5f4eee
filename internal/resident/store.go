package resident

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/list"
	"github.com/outbreak-platform/outbreak/internal/validation"
	"github.com/outbreak-platform/outbreak/internal/vault"
)

// Filter narrows a listing of residents.
type Filter struct {
	CommunityID int64  // 0: any community in scope
	NamePrefix  string // "": any name
	AfterID     int64  // keyset pagination: ids greater than this
	Limit       int    // 1..500, default 50
}

// Match is what a staff search looks for; a resident matching any of the
// keys set is found. Names are stored as typed (in NFC), so a name matches
// by a part of it; ID and phone numbers are sealed, so they match whole,
// through their keyed hashes.
type Match struct {
	ResidentID int64  // 0: no resident number
	IDKind     string // with IDNumber
	IDNumber   string // normalised; "": none
	Phone      string // normalised; "": none
	Name       string // part of a name, in NFC; "": none
}

// Empty reports whether m looks for nothing.
func (m Match) Empty() bool {
	return m.ResidentID == 0 && m.IDNumber == "" && m.Phone == "" && m.Name == ""
}

// Count is the number of residents of one community.
type Count struct {
	CommunityID int64 `db:"community_id"`
	Residents   int64 `db:"residents"`
	Dependents  int64 `db:"dependents"`
}

// Store keeps residents. Every read takes a scope, a jurisdiction path:
// a resident outside it is reported as not found.
type Store interface {
	// Create registers a validated resident in its community, which must lie
	// in scope. guardianID is 0 for a resident who is not a dependent.
	Create(ctx context.Context, q db.Q, scope string, n New, guardianID, householdID int64) (Resident, error)
	Get(ctx context.Context, scope string, id int64) (Resident, error)
	FindByIDNumber(ctx context.Context, scope, kind, number string) (Resident, error)
	// Search returns the page p of the residents in scope matching any key
	// of m, with the total: exact name matches first, then names that
	// start with m.Name, then the rest, each by resident number.
	Search(ctx context.Context, scope string, m Match, p list.Page) (list.Of[Resident], error)
	// Roster returns the page p of the residents of a community in scope,
	// by resident number, with the total.
	Roster(ctx context.Context, scope string, communityID int64, p list.Page) (list.Of[Resident], error)
	List(ctx context.Context, scope string, f Filter) ([]Resident, error)
	Dependents(ctx context.Context, guardianID int64) ([]Resident, error)
	CountByCommunity(ctx context.Context, scope string) ([]Count, error)
	// SealBatch prepares residents whose ids are already set for
	// InsertBatch; it seals their numbers, and may run on another goroutine
	// than the writer (the demo generator's path).
	SealBatch(rs []Resident) Batch
	// InsertBatch writes a sealed batch in tx.
	InsertBatch(ctx context.Context, tx *db.Tx, b Batch) error
}

// NewStore returns the Store on d, sealing personal data with v.
func NewStore(d *db.DB, v *vault.Vault) Store { return &store{d: d, v: v} }

type store struct {
	d *db.DB
	v *vault.Vault
}

// Contexts bind sealed values to their column.
const (
	ctxIDNumber = "residents.id_sealed"
	ctxPhone    = "residents.phone_sealed"
)

func (s *store) idHash(kind, number string) []byte { return s.v.Hash("national-id:"+kind, number) }
func (s *store) phoneHash(phone string) []byte     { return s.v.Hash("phone", phone) }

type row struct {
	ID              int64         `db:"id"`
	Name            string        `db:"name"`
	IDKind          string        `db:"id_kind"`
	IDSealed        []byte        `db:"id_sealed"`
	PhoneSealed     []byte        `db:"phone_sealed"`
	BirthDate       civil.Date    `db:"birth_date"`
	Sex             string        `db:"sex"`
	CommunityID     int64         `db:"community_id"`
	HouseholdID     sql.NullInt64 `db:"household_id"`
	GuardianID      sql.NullInt64 `db:"guardian_id"`
	CreatedAt       time.Time     `db:"created_at"`
	CommunityCode   string        `db:"community_code"`
	CommunityNameZH string        `db:"community_name_zh"`
	CommunityNameEN string        `db:"community_name_en"`
	CommunityPath   string        `db:"community_path"`
	DistrictNameZH  string        `db:"district_name_zh"`
	DistrictNameEN  string        `db:"district_name_en"`
}

const selectFrom = `SELECT r.id, r.name, r.id_kind, r.id_sealed, r.phone_sealed, r.birth_date, r.sex,
	r.community_id, r.household_id, r.guardian_id, r.created_at,
	j.code AS community_code, j.name_zh AS community_name_zh, j.name_en AS community_name_en, j.path AS community_path,
	COALESCE(p.name_zh, '') AS district_name_zh, COALESCE(p.name_en, '') AS district_name_en
	FROM residents r JOIN jurisdictions j ON j.id = r.community_id LEFT JOIN jurisdictions p ON p.id = j.parent_id
	WHERE j.path >= ? AND j.path < ? `

func (s *store) open(r row) (Resident, error) {
	id, err := s.v.Open(r.IDSealed, ctxIDNumber)
	if err != nil {
		return Resident{}, fmt.Errorf("resident %d: open ID number: %w", r.ID, err)
	}
	var phone []byte
	if len(r.PhoneSealed) > 0 {
		if phone, err = s.v.Open(r.PhoneSealed, ctxPhone); err != nil {
			return Resident{}, fmt.Errorf("resident %d: open phone: %w", r.ID, err)
		}
	}
	return Resident{
		ID: r.ID, Name: r.Name, IDKind: r.IDKind, IDNumber: string(id), Phone: string(phone),
		BirthDate: r.BirthDate, Sex: r.Sex, CommunityID: r.CommunityID, HouseholdID: r.HouseholdID,
		GuardianID: r.GuardianID, CreatedAt: r.CreatedAt, CommunityCode: r.CommunityCode,
		CommunityNameZH: r.CommunityNameZH, CommunityNameEN: r.CommunityNameEN, CommunityPath: r.CommunityPath,
		DistrictNameZH: r.DistrictNameZH, DistrictNameEN: r.DistrictNameEN,
	}, nil
}

func (s *store) openAll(rows []row) ([]Resident, error) {
	out := make([]Resident, 0, len(rows))
	for _, r := range rows {
		res, err := s.open(r)
		if err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	return out, nil
}

func (s *store) Create(ctx context.Context, q db.Q, scope string, n New, guardianID, householdID int64) (Resident, error) {
	defer s.d.Observe("resident.create", time.Now())
	var c jurisdiction.Jurisdiction
	err := db.Get(ctx, q, &c, "SELECT id, code, level, name_zh, name_en, parent_id, path FROM jurisdictions WHERE code = ?", n.CommunityCode)
	if errors.Is(err, db.ErrNotFound) || (err == nil && (c.Level != jurisdiction.Community || !jurisdiction.InScope(scope, c.Path))) {
		return Resident{}, validation.Field("community_code", "resident.community")
	}
	if err != nil {
		return Resident{}, fmt.Errorf("resident: find community: %w", err)
	}
	var district struct {
		NameZH string `db:"name_zh"`
		NameEN string `db:"name_en"`
	}
	if c.ParentID.Valid {
		if err := db.Get(ctx, q, &district, "SELECT name_zh, name_en FROM jurisdictions WHERE id = ?", c.ParentID.Int64); err != nil {
			return Resident{}, fmt.Errorf("resident: find district: %w", err)
		}
	}
	r := Resident{
		Name: n.Name, IDKind: n.IDKind, IDNumber: n.IDNumber, Phone: n.Phone, BirthDate: n.BirthDate, Sex: n.Sex,
		CommunityID: c.ID, CreatedAt: time.Now().UTC().Truncate(time.Microsecond),
		GuardianID:    sql.NullInt64{Int64: guardianID, Valid: guardianID != 0},
		HouseholdID:   sql.NullInt64{Int64: householdID, Valid: householdID != 0},
		CommunityCode: c.Code, CommunityNameZH: c.NameZH, CommunityNameEN: c.NameEN, CommunityPath: c.Path,
		DistrictNameZH: district.NameZH, DistrictNameEN: district.NameEN,
	}
	var phoneHash, phoneSealed []byte
	if r.Phone != "" {
		phoneHash, phoneSealed = s.phoneHash(r.Phone), s.v.Seal([]byte(r.Phone), ctxPhone)
	}
	r.ID, err = db.InsertID(ctx, q, `INSERT INTO residents (name, id_kind, id_hash, id_sealed, phone_hash, phone_sealed,
		birth_date, sex, community_id, household_id, guardian_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.Name, r.IDKind, s.idHash(r.IDKind, r.IDNumber), s.v.Seal([]byte(r.IDNumber), ctxIDNumber), phoneHash, phoneSealed,
		r.BirthDate, r.Sex, r.CommunityID, r.HouseholdID, r.GuardianID, r.CreatedAt)
	if errors.Is(err, db.ErrConflict) {
		return Resident{}, validation.Field("id_number", "resident.id_taken")
	}
	if err != nil {
		return Resident{}, fmt.Errorf("resident: create: %w", err)
	}
	return r, nil
}

func (s *store) one(ctx context.Context, op, scope, where string, args ...any) (Resident, error) {
	defer s.d.Observe(op, time.Now())
	lo, hi := jurisdiction.Range(scope)
	var r row
	if err := db.Get(ctx, s.d.R, &r, selectFrom+where, append([]any{lo, hi}, args...)...); err != nil {
		if errors.Is(err, db.ErrNotFound) {
			return Resident{}, err
		}
		return Resident{}, fmt.Errorf("%s: %w", op, err)
	}
	return s.open(r)
}

func (s *store) many(ctx context.Context, op, scope, where string, args ...any) ([]Resident, error) {
	defer s.d.Observe(op, time.Now())
	lo, hi := jurisdiction.Range(scope)
	var rows []row
	if err := db.Select(ctx, s.d.R, &rows, selectFrom+where, append([]any{lo, hi}, args...)...); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return s.openAll(rows)
}

func (s *store) Get(ctx context.Context, scope string, id int64) (Resident, error) {
	return s.one(ctx, "resident.get", scope, "AND r.id = ?", id)
}

func (s *store) FindByIDNumber(ctx context.Context, scope, kind, number string) (Resident, error) {
	return s.one(ctx, "resident.find_id", scope, "AND r.id_hash = ?", s.idHash(kind, number))
}

func (s *store) Search(ctx context.Context, scope string, m Match, p list.Page) (list.Of[Resident], error) {
	defer s.d.Observe("resident.search", time.Now())
	p = p.Norm()
	if m.Empty() {
		return list.New[Resident](nil, 0, p), nil
	}
	var keys []string
	var args []any
	if m.ResidentID != 0 {
		keys, args = append(keys, "r.id = ?"), append(args, m.ResidentID)
	}
	if m.IDNumber != "" {
		keys, args = append(keys, "r.id_hash = ?"), append(args, s.idHash(m.IDKind, m.IDNumber))
	}
	if m.Phone != "" {
		keys, args = append(keys, "r.phone_hash = ?"), append(args, s.phoneHash(m.Phone))
	}
	// Names match without regard to case (lower: ASCII letters on SQLite,
	// all on PostgreSQL; Chinese has none).
	name := strings.ToLower(m.Name)
	if m.Name != "" {
		contains := "instr(lower(r.name), ?) > 0"
		if s.d.Dialect == db.Postgres {
			contains = "strpos(lower(r.name), ?) > 0"
		}
		keys, args = append(keys, contains), append(args, name)
	}
	where := "AND (" + strings.Join(keys, " OR ") + ")"
	lo, hi := jurisdiction.Range(scope)
	scoped := append([]any{lo, hi}, args...)
	// Exact names first, then names that start with the words, then the rest.
	order := " ORDER BY r.id"
	if m.Name != "" {
		order = " ORDER BY CASE WHEN lower(r.name) = ? THEN 0 WHEN substr(lower(r.name), 1, ?) = ? THEN 1 ELSE 2 END, r.id"
		args = append(args, name, utf8.RuneCountInString(name), name)
	}
	// The total comes with the page (a window count), so that a name,
	// which no index serves, is matched in one scan of the scope.
	var rows []countedRow
	err := db.Select(ctx, s.d.R, &rows, selectCounted+where+order+" LIMIT ? OFFSET ?", append(append([]any{lo, hi}, args...), p.Limit, p.Offset)...)
	if err != nil {
		return list.Of[Resident]{}, fmt.Errorf("resident.search: %w", err)
	}
	return s.counted(ctx, "resident.search", rows, where, scoped, p)
}

// countedRow is a row with the total of its list (count(*) OVER ()).
type countedRow struct {
	row
	Total int64 `db:"total"`
}

// selectCounted is selectFrom with each row's list total.
var selectCounted = strings.Replace(selectFrom, "FROM residents r", ", count(*) OVER () AS total FROM residents r", 1)

// counted opens a page of counted rows; a page past the end, which carries
// no total, counts the rows matching where (args start with the scope's
// bounds) alone.
func (s *store) counted(ctx context.Context, op string, rows []countedRow, where string, args []any, p list.Page) (list.Of[Resident], error) {
	var total int64
	if len(rows) > 0 {
		total = rows[0].Total
	} else if p.Offset > 0 {
		err := db.Get(ctx, s.d.R, &total, `SELECT count(*) FROM residents r JOIN jurisdictions j ON j.id = r.community_id
			WHERE j.path >= ? AND j.path < ? `+where, args...)
		if err != nil {
			return list.Of[Resident]{}, fmt.Errorf("%s: count: %w", op, err)
		}
	}
	plain := make([]row, len(rows))
	for i := range rows {
		plain[i] = rows[i].row
	}
	rs, err := s.openAll(plain)
	if err != nil {
		return list.Of[Resident]{}, err
	}
	return list.New(rs, total, p), nil
}

func (s *store) Roster(ctx context.Context, scope string, communityID int64, p list.Page) (list.Of[Resident], error) {
	defer s.d.Observe("resident.roster", time.Now())
	p = p.Norm()
	lo, hi := jurisdiction.Range(scope)
	var rows []countedRow
	err := db.Select(ctx, s.d.R, &rows, selectCounted+"AND r.community_id = ? ORDER BY r.id LIMIT ? OFFSET ?", lo, hi, communityID, p.Limit, p.Offset)
	if err != nil {
		return list.Of[Resident]{}, fmt.Errorf("resident.roster: %w", err)
	}
	return s.counted(ctx, "resident.roster", rows, "AND r.community_id = ?", []any{lo, hi, communityID}, p)
}

func (s *store) List(ctx context.Context, scope string, f Filter) ([]Resident, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	where, args := "AND r.id > ?", []any{f.AfterID}
	if f.CommunityID != 0 {
		where += " AND r.community_id = ?"
		args = append(args, f.CommunityID)
	}
	if f.NamePrefix != "" {
		where += " AND r.name >= ? AND r.name < ?"
		args = append(args, f.NamePrefix, f.NamePrefix+"\U0010FFFF")
	}
	return s.many(ctx, "resident.list", scope, where+" ORDER BY r.id LIMIT ?", append(args, f.Limit)...)
}

func (s *store) Dependents(ctx context.Context, guardianID int64) ([]Resident, error) {
	return s.many(ctx, "resident.dependents", jurisdiction.All, "AND r.guardian_id = ? ORDER BY r.id", guardianID)
}

func (s *store) CountByCommunity(ctx context.Context, scope string) ([]Count, error) {
	defer s.d.Observe("resident.count", time.Now())
	lo, hi := jurisdiction.Range(scope)
	var cs []Count
	err := db.Select(ctx, s.d.R, &cs, `SELECT r.community_id, count(*) AS residents,
		sum(CASE WHEN r.guardian_id IS NULL THEN 0 ELSE 1 END) AS dependents
		FROM residents r JOIN jurisdictions j ON j.id = r.community_id
		WHERE j.path >= ? AND j.path < ? GROUP BY r.community_id ORDER BY r.community_id`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("resident: count: %w", err)
	}
	return cs, nil
}

var insertColumns = []string{"id", "name", "id_kind", "id_hash", "id_sealed", "phone_hash", "phone_sealed",
	"birth_date", "sex", "community_id", "household_id", "guardian_id", "created_at"}

// Batch is residents sealed and ready to insert.
type Batch struct{ rows [][]any }

func (s *store) SealBatch(rs []Resident) Batch {
	rows := make([][]any, len(rs))
	for i, r := range rs {
		var phoneHash, phoneSealed []byte
		if r.Phone != "" {
			phoneHash, phoneSealed = s.phoneHash(r.Phone), s.v.Seal([]byte(r.Phone), ctxPhone)
		}
		rows[i] = []any{r.ID, r.Name, r.IDKind, s.idHash(r.IDKind, r.IDNumber), s.v.Seal([]byte(r.IDNumber), ctxIDNumber),
			phoneHash, phoneSealed, r.BirthDate.String(), r.Sex, r.CommunityID, r.HouseholdID, r.GuardianID, r.CreatedAt}
	}
	return Batch{rows: rows}
}

func (s *store) InsertBatch(ctx context.Context, tx *db.Tx, b Batch) error {
	defer s.d.Observe("resident.insert_batch", time.Now())
	return tx.BulkInsert(ctx, "residents", insertColumns, b.rows)
}
