package healthcode

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
)

// DeclarationRecord is a stored declaration.
type DeclarationRecord struct {
	ID         int64
	ResidentID int64
	DeclaredBy int64
	At         time.Time
	Declaration
}

// ContactRecord is a stored contact.
type ContactRecord struct {
	ID         int64          `db:"id" json:"id"`
	Kind       string         `db:"kind" json:"kind"`
	ExposedOn  civil.Date     `db:"exposed_on" json:"exposed_on"`
	Evidence   string         `db:"evidence" json:"evidence"`
	EvidenceZH sql.NullString `db:"evidence_zh" json:"-"`
	SourceCase sql.NullInt64  `db:"source_case" json:"-"`
	// TraceID is the tracing that found the contact; null when staff
	// entered it.
	TraceID sql.NullInt64 `db:"trace_id" json:"-"`
}

// TestRecord is a stored test result.
type TestRecord struct {
	ID        int64      `db:"id" json:"id"`
	Kind      string     `db:"kind" json:"kind"`
	Result    string     `db:"result" json:"result"`
	SampledOn civil.Date `db:"sampled_on" json:"sampled_on"`
}

// QuarantineRecord is a stored quarantine order.
type QuarantineRecord struct {
	ID    int64      `db:"id" json:"id"`
	Kind  string     `db:"kind" json:"kind"`
	Start civil.Date `db:"start_on" json:"start"`
	End   civil.Date `db:"end_on" json:"end"`
}

// Inputs is everything the rules read about one person.
type Inputs struct {
	ResidentID   int64
	Case         *CaseStatus
	Contacts     []ContactRecord // each kind's latest in the window, newest first
	Latest       *DeclarationRecord
	Declarations []DeclarationRecord // within the window, newest first
	Tests        []TestRecord
	Quarantines  []QuarantineRecord
}

// Code is a person's current code.
type Code struct {
	ResidentID     int64          `db:"resident_id" json:"-"`
	Colour         string         `db:"colour" json:"colour"`
	RuleColour     string         `db:"rule_colour" json:"rule_colour"`
	Explanation    string         `db:"explanation" json:"-"` // JSON of the rules' outcome
	GreenOn        civil.Date     `db:"green_on" json:"green_on,omitzero"`
	RuleVersion    string         `db:"rule_version" json:"rule_version"`
	ComputedAt     time.Time      `db:"computed_at" json:"computed_at"`
	OverrideColour sql.NullString `db:"override_colour" json:"-"`
	OverrideUntil  civil.Date     `db:"override_until" json:"override_until,omitzero"`
	OverrideReason sql.NullString `db:"override_reason" json:"-"`
	OverrideBy     sql.NullInt64  `db:"override_by" json:"-"`
}

// Store keeps the inputs and the codes.
type Store interface {
	AddDeclaration(ctx context.Context, q db.Q, residentID, by int64, at time.Time, d Declaration) (int64, error)
	CaseStatus(ctx context.Context, q db.Q, residentID int64) (*CaseStatus, error)
	SetCaseStatus(ctx context.Context, q db.Q, residentID, by int64, c CaseStatus) error
	AddContact(ctx context.Context, q db.Q, residentID, by int64, c Contact) (int64, error)
	AddTest(ctx context.Context, q db.Q, residentID, by int64, t TestResult) (int64, error)
	AddQuarantine(ctx context.Context, q db.Q, residentID, by int64, o Quarantine) (int64, error)
	AddRiskArea(ctx context.Context, q db.Q, jurisdictionID, by int64, r RiskArea) error
	// Inputs reads what the rules need about the residents with ids in
	// [lo, hi], from since on; residents with no inputs are absent.
	Inputs(ctx context.Context, q db.Q, lo, hi int64, since civil.Date) (map[int64]*Inputs, error)
	// InputsOf is Inputs for a list of ids (at most a few hundred).
	InputsOf(ctx context.Context, q db.Q, ids []int64, since civil.Date) (map[int64]*Inputs, error)
	Code(ctx context.Context, q db.Q, residentID int64) (Code, error)
	// Codes returns the codes of residents with ids in [lo, hi].
	Codes(ctx context.Context, q db.Q, lo, hi int64) (map[int64]Code, error)
	// CodesOf is Codes for a list of ids (at most a few hundred).
	CodesOf(ctx context.Context, q db.Q, ids []int64) (map[int64]Code, error)
	SaveCodes(ctx context.Context, tx *db.Tx, cs []Code) error
	// Risks returns every risk-area setting, for a RiskMap.
	Risks(ctx context.Context, q db.Q) ([]RiskSetting, error)
	// PurgeBefore deletes declarations older than t, and reports how many.
	PurgeBefore(ctx context.Context, tx *db.Tx, t time.Time) (int64, error)
}

// NewStore returns the Store on d.
func NewStore(d *db.DB) Store { return &store{d: d} }

type store struct{ d *db.DB }

func (s *store) AddDeclaration(ctx context.Context, q db.Q, residentID, by int64, at time.Time, d Declaration) (int64, error) {
	defer s.d.Observe("healthcode.declare", time.Now())
	var arrival any
	if !d.ArrivalDate.IsZero() {
		arrival = d.ArrivalDate
	}
	id, err := db.InsertID(ctx, q, `INSERT INTO declarations (resident_id, declared_by, kind, at, temperature_c, symptoms,
		contact_with_case, location_code, origin, route, arrival_date, transport)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, residentID, by, d.Kind, at.UTC(), d.TemperatureC,
		strings.Join(d.Symptoms, ","), d.ContactWithCase, d.LocationCode, nullable(d.Origin), nullable(d.Route), arrival, nullable(d.Transport))
	if err != nil {
		return 0, fmt.Errorf("healthcode: declare: %w", err)
	}
	for _, v := range d.Visits {
		if _, err := db.Exec(ctx, q, "INSERT INTO declaration_visits (declaration_id, region_code, visited_on) VALUES (?, ?, ?)",
			id, v.RegionCode, v.On); err != nil {
			return 0, fmt.Errorf("healthcode: declare visit: %w", err)
		}
	}
	return id, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *store) CaseStatus(ctx context.Context, q db.Q, residentID int64) (*CaseStatus, error) {
	var c CaseStatus
	err := db.Get(ctx, q, &c, "SELECT status, since, onset FROM case_status WHERE resident_id = ?", residentID)
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("healthcode: case status: %w", err)
	}
	return &c, nil
}

func (s *store) SetCaseStatus(ctx context.Context, q db.Q, residentID, by int64, c CaseStatus) error {
	var onset any
	if !c.Onset.IsZero() {
		onset = c.Onset
	}
	_, err := db.Exec(ctx, q, `INSERT INTO case_status (resident_id, status, since, onset, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (resident_id) DO UPDATE SET status = excluded.status, since = excluded.since, onset = excluded.onset,
		updated_at = excluded.updated_at, updated_by = excluded.updated_by`, residentID, c.Status, c.Since, onset, time.Now().UTC(), by)
	if err != nil {
		return fmt.Errorf("healthcode: set case status: %w", err)
	}
	return nil
}

func (s *store) AddContact(ctx context.Context, q db.Q, residentID, by int64, c Contact) (int64, error) {
	src := sql.NullInt64{Int64: c.SourceCase, Valid: c.SourceCase != 0}
	id, err := db.InsertID(ctx, q, `INSERT INTO contacts (resident_id, kind, exposed_on, evidence, source_case, created_at, created_by)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, residentID, c.Kind, c.ExposedOn, c.Evidence, src, time.Now().UTC(), by)
	if err != nil {
		return 0, fmt.Errorf("healthcode: add contact: %w", err)
	}
	return id, nil
}

func (s *store) AddTest(ctx context.Context, q db.Q, residentID, by int64, t TestResult) (int64, error) {
	id, err := db.InsertID(ctx, q, `INSERT INTO test_results (resident_id, kind, result, sampled_on, created_at, created_by)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, residentID, t.Kind, t.Result, t.SampledOn, time.Now().UTC(), by)
	if err != nil {
		return 0, fmt.Errorf("healthcode: add test: %w", err)
	}
	return id, nil
}

func (s *store) AddQuarantine(ctx context.Context, q db.Q, residentID, by int64, o Quarantine) (int64, error) {
	id, err := db.InsertID(ctx, q, `INSERT INTO quarantine_orders (resident_id, kind, start_on, end_on, created_at, created_by)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, residentID, o.Kind, o.Start, o.End, time.Now().UTC(), by)
	if err != nil {
		return 0, fmt.Errorf("healthcode: add quarantine: %w", err)
	}
	return id, nil
}

func (s *store) AddRiskArea(ctx context.Context, q db.Q, jurisdictionID, by int64, r RiskArea) error {
	_, err := db.Exec(ctx, q, "INSERT INTO risk_areas (jurisdiction_id, level, from_on, set_at, set_by) VALUES (?, ?, ?, ?, ?)",
		jurisdictionID, r.Level, r.From, time.Now().UTC(), by)
	if err != nil {
		return fmt.Errorf("healthcode: set risk area: %w", err)
	}
	return nil
}

type declRow struct {
	ID              int64           `db:"id"`
	ResidentID      int64           `db:"resident_id"`
	DeclaredBy      int64           `db:"declared_by"`
	Kind            string          `db:"kind"`
	At              time.Time       `db:"at"`
	TemperatureC    sql.NullFloat64 `db:"temperature_c"`
	Symptoms        string          `db:"symptoms"`
	ContactWithCase bool            `db:"contact_with_case"`
	LocationCode    string          `db:"location_code"`
	Origin          sql.NullString  `db:"origin"`
	Route           sql.NullString  `db:"route"`
	ArrivalDate     civil.Date      `db:"arrival_date"`
	Transport       sql.NullString  `db:"transport"`
}

func (r declRow) record() DeclarationRecord {
	d := DeclarationRecord{ID: r.ID, ResidentID: r.ResidentID, DeclaredBy: r.DeclaredBy, At: r.At, Declaration: Declaration{
		Kind: r.Kind, TemperatureC: r.TemperatureC.Float64, ContactWithCase: r.ContactWithCase, LocationCode: r.LocationCode,
		Origin: r.Origin.String, Route: r.Route.String, ArrivalDate: r.ArrivalDate, Transport: r.Transport.String,
	}}
	if r.Symptoms != "" {
		d.Symptoms = strings.Split(r.Symptoms, ",")
	}
	return d
}

func (s *store) Inputs(ctx context.Context, q db.Q, lo, hi int64, since civil.Date) (map[int64]*Inputs, error) {
	defer s.d.Observe("healthcode.inputs", time.Now())
	return s.inputs(ctx, q, idRange(lo, hi), since)
}

func (s *store) InputsOf(ctx context.Context, q db.Q, ids []int64, since civil.Date) (map[int64]*Inputs, error) {
	defer s.d.Observe("healthcode.inputs_of", time.Now())
	return s.inputs(ctx, q, idList(ids), since)
}

// who selects residents by an id range or an id list, in a WHERE clause:
// "resident_id " + cond, with args.
type who struct {
	cond string
	args []any
}

func idRange(lo, hi int64) who { return who{"BETWEEN ? AND ?", []any{lo, hi}} }

func idList(ids []int64) who {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return who{"IN (?" + strings.Repeat(", ?", max(len(ids), 1)-1) + ")", args}
}

// with returns w's args followed by more.
func (w who) with(more ...any) []any { return append(append([]any(nil), w.args...), more...) }

func (s *store) inputs(ctx context.Context, q db.Q, w who, since civil.Date) (map[int64]*Inputs, error) {
	out := map[int64]*Inputs{}
	get := func(id int64) *Inputs {
		in, ok := out[id]
		if !ok {
			in = &Inputs{ResidentID: id}
			out[id] = in
		}
		return in
	}
	var cases []struct {
		ResidentID int64 `db:"resident_id"`
		CaseStatus
	}
	if err := db.Select(ctx, q, &cases, "SELECT resident_id, status, since, onset FROM case_status WHERE resident_id "+w.cond, w.args...); err != nil {
		return nil, fmt.Errorf("healthcode: case status: %w", err)
	}
	for _, c := range cases {
		get(c.ResidentID).Case = &c.CaseStatus
	}
	var contacts []struct {
		ResidentID int64 `db:"resident_id"`
		ContactRecord
	}
	// Only each kind's latest record counts (Facts' Contacts): a person who
	// is a contact of many cases has many, and their evidence is long.
	if err := db.Select(ctx, q, &contacts, `SELECT resident_id, id, kind, exposed_on, evidence, evidence_zh, source_case, trace_id FROM contacts
		WHERE id IN (SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY resident_id, kind ORDER BY exposed_on DESC, id DESC) AS n
			FROM contacts WHERE resident_id `+w.cond+` AND withdrawn_at IS NULL AND exposed_on >= ?) l WHERE n = 1)
		ORDER BY exposed_on DESC, id DESC`, w.with(since)...); err != nil {
		return nil, fmt.Errorf("healthcode: contacts: %w", err)
	}
	for _, c := range contacts {
		in := get(c.ResidentID)
		in.Contacts = append(in.Contacts, c.ContactRecord)
	}
	var decls []declRow
	if err := db.Select(ctx, q, &decls, `SELECT id, resident_id, declared_by, kind, at, temperature_c, symptoms, contact_with_case,
		location_code, origin, route, arrival_date, transport FROM declarations WHERE resident_id `+w.cond+` AND at >= ?
		ORDER BY resident_id, at DESC`, w.with(since.Time())...); err != nil {
		return nil, fmt.Errorf("healthcode: declarations: %w", err)
	}
	where := map[int64][2]int64{} // declaration id -> resident id, index
	for _, r := range decls {
		in := get(r.ResidentID)
		where[r.ID] = [2]int64{r.ResidentID, int64(len(in.Declarations))}
		in.Declarations = append(in.Declarations, r.record())
	}
	if len(decls) > 0 {
		var visits []struct {
			DeclarationID int64      `db:"declaration_id"`
			RegionCode    string     `db:"region_code"`
			VisitedOn     civil.Date `db:"visited_on"`
		}
		if err := db.Select(ctx, q, &visits, `SELECT v.declaration_id, v.region_code, v.visited_on FROM declaration_visits v
			JOIN declarations d ON d.id = v.declaration_id WHERE d.resident_id `+w.cond+` AND d.at >= ?`, w.with(since.Time())...); err != nil {
			return nil, fmt.Errorf("healthcode: visits: %w", err)
		}
		for _, v := range visits {
			w, ok := where[v.DeclarationID]
			if !ok {
				continue
			}
			d := &out[w[0]].Declarations[w[1]]
			d.Visits = append(d.Visits, Visit{RegionCode: v.RegionCode, On: v.VisitedOn})
		}
		for _, in := range out {
			if len(in.Declarations) > 0 {
				in.Latest = &in.Declarations[0]
			}
		}
	}
	var tests []struct {
		ResidentID int64 `db:"resident_id"`
		TestRecord
	}
	if err := db.Select(ctx, q, &tests, `SELECT resident_id, id, kind, result, sampled_on FROM test_results
		WHERE resident_id `+w.cond+` AND sampled_on >= ? ORDER BY sampled_on DESC`, w.with(since)...); err != nil {
		return nil, fmt.Errorf("healthcode: tests: %w", err)
	}
	for _, t := range tests {
		in := get(t.ResidentID)
		in.Tests = append(in.Tests, t.TestRecord)
	}
	var qs []struct {
		ResidentID int64 `db:"resident_id"`
		QuarantineRecord
	}
	if err := db.Select(ctx, q, &qs, `SELECT resident_id, id, kind, start_on, end_on FROM quarantine_orders
		WHERE resident_id `+w.cond+` AND end_on >= ? ORDER BY start_on DESC`, w.with(since)...); err != nil {
		return nil, fmt.Errorf("healthcode: quarantines: %w", err)
	}
	for _, o := range qs {
		in := get(o.ResidentID)
		in.Quarantines = append(in.Quarantines, o.QuarantineRecord)
	}
	return out, nil
}

const codeColumns = "resident_id, colour, rule_colour, explanation, green_on, rule_version, computed_at, override_colour, override_until, override_reason, override_by"

func (s *store) Code(ctx context.Context, q db.Q, residentID int64) (Code, error) {
	defer s.d.Observe("healthcode.code", time.Now())
	var c Code
	err := db.Get(ctx, q, &c, "SELECT "+codeColumns+" FROM codes WHERE resident_id = ?", residentID)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		err = fmt.Errorf("healthcode: code: %w", err)
	}
	return c, err
}

func (s *store) Codes(ctx context.Context, q db.Q, lo, hi int64) (map[int64]Code, error) {
	defer s.d.Observe("healthcode.codes", time.Now())
	return s.codes(ctx, q, idRange(lo, hi))
}

func (s *store) CodesOf(ctx context.Context, q db.Q, ids []int64) (map[int64]Code, error) {
	defer s.d.Observe("healthcode.codes_of", time.Now())
	return s.codes(ctx, q, idList(ids))
}

func (s *store) codes(ctx context.Context, q db.Q, w who) (map[int64]Code, error) {
	var cs []Code
	if err := db.Select(ctx, q, &cs, "SELECT "+codeColumns+" FROM codes WHERE resident_id "+w.cond, w.args...); err != nil {
		return nil, fmt.Errorf("healthcode: codes: %w", err)
	}
	out := make(map[int64]Code, len(cs))
	for _, c := range cs {
		out[c.ResidentID] = c
	}
	return out, nil
}

func dateOrNull(d civil.Date) any {
	if d.IsZero() {
		return nil
	}
	return d.String()
}

// SaveCodes writes codes with multi-row upserts.
func (s *store) SaveCodes(ctx context.Context, tx *db.Tx, cs []Code) error {
	defer s.d.Observe("healthcode.save_codes", time.Now())
	const per = 2500 // 11 columns: under SQLite's limit of 32766 parameters
	one := "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	for start := 0; start < len(cs); start += per {
		batch := cs[start:min(start+per, len(cs))]
		args := make([]any, 0, len(batch)*11)
		for _, c := range batch {
			args = append(args, c.ResidentID, c.Colour, c.RuleColour, c.Explanation, dateOrNull(c.GreenOn), c.RuleVersion,
				c.ComputedAt.UTC(), c.OverrideColour, dateOrNull(c.OverrideUntil), c.OverrideReason, c.OverrideBy)
		}
		_, err := db.Exec(ctx, tx, `INSERT INTO codes (`+codeColumns+`) VALUES `+strings.Repeat(one+", ", len(batch)-1)+one+`
			ON CONFLICT (resident_id) DO UPDATE SET colour = excluded.colour, rule_colour = excluded.rule_colour,
			explanation = excluded.explanation, green_on = excluded.green_on, rule_version = excluded.rule_version,
			computed_at = excluded.computed_at, override_colour = excluded.override_colour, override_until = excluded.override_until,
			override_reason = excluded.override_reason, override_by = excluded.override_by`, args...)
		if err != nil {
			return fmt.Errorf("healthcode: save codes: %w", err)
		}
	}
	return nil
}

// RiskSetting is one row of the risk-area history.
type RiskSetting struct {
	Path  string     `db:"path"`
	Code  string     `db:"code"`
	Level string     `db:"level"`
	From  civil.Date `db:"from_on"`
}

func (s *store) Risks(ctx context.Context, q db.Q) ([]RiskSetting, error) {
	var rs []RiskSetting
	err := db.Select(ctx, q, &rs, `SELECT j.path, j.code, r.level, r.from_on FROM risk_areas r
		JOIN jurisdictions j ON j.id = r.jurisdiction_id ORDER BY j.path, r.from_on, r.id`)
	if err != nil {
		return nil, fmt.Errorf("healthcode: risks: %w", err)
	}
	return rs, nil
}

func (s *store) PurgeBefore(ctx context.Context, tx *db.Tx, t time.Time) (int64, error) {
	if _, err := db.Exec(ctx, tx, `DELETE FROM declaration_visits WHERE declaration_id IN (SELECT id FROM declarations WHERE at < ?)`, t.UTC()); err != nil {
		return 0, fmt.Errorf("healthcode: purge visits: %w", err)
	}
	res, err := db.Exec(ctx, tx, "DELETE FROM declarations WHERE at < ?", t.UTC())
	if err != nil {
		return 0, fmt.Errorf("healthcode: purge declarations: %w", err)
	}
	return res.RowsAffected()
}

// RiskMap answers "what was the risk level of this region on that day",
// taking the highest level in force on the region and its ancestors.
type RiskMap struct {
	byPath map[string][]RiskSetting // sorted by From
	paths  map[string]string        // region code -> path
	names  map[string]jurisdiction.Jurisdiction
}

// NewRiskMap builds a RiskMap from the risk history and the jurisdictions.
func NewRiskMap(settings []RiskSetting, js []jurisdiction.Jurisdiction) *RiskMap {
	m := &RiskMap{byPath: map[string][]RiskSetting{}, paths: map[string]string{}, names: map[string]jurisdiction.Jurisdiction{}}
	for _, s := range settings {
		m.byPath[s.Path] = append(m.byPath[s.Path], s)
	}
	for _, j := range js {
		m.paths[j.Code] = j.Path
		m.names[j.Code] = j
	}
	return m
}

var levelRank = map[string]int{"": 0, "low": 1, "medium": 2, "high": 3}

// Level returns the risk level of the region with code on day.
func (m *RiskMap) Level(code string, on civil.Date) string {
	path, ok := m.paths[code]
	if !ok {
		return ""
	}
	best := ""
	for p := path; p != ""; {
		level := ""
		for _, s := range m.byPath[p] {
			if s.From.After(on) {
				break
			}
			level = s.Level
		}
		if levelRank[level] > levelRank[best] {
			best = level
		}
		i := strings.LastIndex(strings.TrimSuffix(p, "/"), "/")
		if i <= 0 {
			break
		}
		p = p[:i+1]
	}
	return best
}

// Known reports whether code is a region in the map.
func (m *RiskMap) Known(code string) bool { _, ok := m.paths[code]; return ok }

// Name returns the region's name in both languages, for explanations read
// in either: "武昌区 (Wuchang District)".
func (m *RiskMap) Name(code string) string {
	if j, ok := m.names[code]; ok {
		return j.NameZH + " (" + j.NameEN + ")"
	}
	return code
}
