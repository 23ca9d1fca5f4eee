package tracing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/accesslog"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/list"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// ContactView is a contact record as its holder sees it: "Am I a close
// contact?".
type ContactView struct {
	ID        int64      `json:"id"`
	Kind      string     `json:"kind"`
	ExposedOn civil.Date `json:"exposed_on"`
	// Evidence is the line in the reader's language; Detail the evidence
	// in full for a traced contact (nil for one entered by staff).
	Evidence string    `json:"evidence"`
	Detail   *Detail   `json:"detail,omitempty"`
	Since    time.Time `json:"recorded_at"`
}

type contactRow struct {
	ID         int64          `db:"id"`
	Kind       string         `db:"kind"`
	ExposedOn  civil.Date     `db:"exposed_on"`
	Evidence   string         `db:"evidence"`
	EvidenceZH sql.NullString `db:"evidence_zh"`
	Detail     sql.NullString `db:"detail"`
	CreatedAt  time.Time      `db:"created_at"`
}

func (r contactRow) view(lang string) ContactView {
	v := ContactView{ID: r.ID, Kind: r.Kind, ExposedOn: r.ExposedOn, Evidence: r.Evidence, Since: r.CreatedAt}
	if lang == "zh" && r.EvidenceZH.Valid {
		v.Evidence = r.EvidenceZH.String
	}
	if r.Detail.Valid {
		var d Detail
		if json.Unmarshal([]byte(r.Detail.String), &d) == nil {
			v.Detail = &d
		}
	}
	return v
}

// ContactsOf lists the contact records in force about a resident from the
// last Lookback days, newest exposure first, worded in lang.
func (s *Service) ContactsOf(ctx context.Context, residentID int64, lang string) ([]ContactView, error) {
	since := civil.Of(s.Now()).AddDays(-healthcode.Lookback)
	var rows []contactRow
	err := db.Select(ctx, s.DB.R, &rows, `SELECT id, kind, exposed_on, evidence, evidence_zh, detail, created_at FROM contacts
		WHERE resident_id = ? AND withdrawn_at IS NULL AND exposed_on >= ? ORDER BY exposed_on DESC, id DESC`, residentID, since)
	if err != nil {
		return nil, wrap("contacts of a resident", err)
	}
	out := make([]ContactView, len(rows))
	for i, r := range rows {
		out[i] = r.view(lang)
	}
	return out, nil
}

// FollowUpStatuses are the states of a contact's follow-up.
var FollowUpStatuses = []string{"pending", "called", "unreachable", "quarantined", "closed"}

// FollowUp is a contact on a community worker's list.
type FollowUp struct {
	ContactID       int64          `db:"contact_id" json:"contact_id"`
	ResidentID      int64          `db:"resident_id" json:"resident_id"`
	Name            string         `db:"name" json:"name"`
	CommunityCode   string         `db:"community_code" json:"community_code"`
	CommunityNameZH string         `db:"community_name_zh" json:"-"`
	CommunityNameEN string         `db:"community_name_en" json:"-"`
	DistrictNameZH  sql.NullString `db:"district_name_zh" json:"-"`
	DistrictNameEN  sql.NullString `db:"district_name_en" json:"-"`
	CommunityID     int64          `db:"community_id" json:"-"`
	Kind            string         `db:"kind" json:"kind"`
	ExposedOn       civil.Date     `db:"exposed_on" json:"exposed_on"`
	Evidence        string         `db:"evidence" json:"evidence"`
	EvidenceZH      sql.NullString `db:"evidence_zh" json:"-"`
	Case            string         `db:"pseudonym" json:"case"`
	Status          string         `db:"status" json:"status"`
	Note            string         `db:"note" json:"note"`
	UpdatedAt       time.Time      `db:"updated_at" json:"updated_at"`
}

// CommunityName is the contact's community with its district, in lang
// (several communities share a name).
func (f FollowUp) CommunityName(lang string) string {
	if lang == "zh" {
		return jurisdiction.Label(f.DistrictNameZH.String, f.CommunityNameZH)
	}
	return jurisdiction.Label(f.DistrictNameEN.String, f.CommunityNameEN)
}

// EvidenceIn is the evidence line in lang, for the staff who follow the
// contact up: about the person ("the person was at…"), not to them.
func (f FollowUp) EvidenceIn(lang string) string {
	if lang == "zh" && f.EvidenceZH.Valid {
		return healthcode.ThirdPerson(f.EvidenceZH.String)
	}
	return healthcode.ThirdPerson(f.Evidence)
}

// FollowUpFilter narrows a contact list the way a community worker or an
// epidemiologist works through it: by community, follow-up status, kind of
// contact, case (its pseudonym) and exposure dates.
type FollowUpFilter struct {
	Community string     // a jurisdiction code in scope; the whole scope when empty
	Status    string     // one of FollowUpStatuses; all when empty
	Kind      string     // "close" or "secondary"; both when empty
	Case      string     // a case's pseudonym ("C0004"); every case when empty
	From, To  civil.Date // exposed on or after From, on or before To, when set
}

// followUpKinds are the kinds of contact a list can be narrowed to.
var followUpKinds = []string{"close", "secondary"}

// FollowUps lists page p of the traced contacts in force living in the
// actor's scope (or one community of it), exposed in the last Window days,
// those still pending first, with the total of the whole list. Every
// person listed is a read of their data: each is logged with the purpose
// quarantine follow-up.
func (s *Service) FollowUps(ctx context.Context, actor rbac.Actor, access accesslog.Store, f FollowUpFilter, p list.Page) (list.Of[FollowUp], error) {
	var none list.Of[FollowUp]
	if !actor.Can(rbac.ResidentWrite) && !actor.Can(rbac.CaseWrite) {
		return none, fault.ErrForbidden
	}
	var e validation.Errors
	if f.Status != "" && !slices.Contains(FollowUpStatuses, f.Status) {
		e.Add("status", "invalid")
	}
	if f.Kind != "" && !slices.Contains(followUpKinds, f.Kind) {
		e.Add("kind", "invalid")
	}
	if f.Case != "" && (len(f.Case) > 16 || !validation.PlainText(f.Case)) {
		e.Add("case", "invalid")
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		e.Add("to", "date_order")
	}
	if err := e.Err(); err != nil {
		return none, err
	}
	if err := p.Validate(); err != nil {
		return none, err
	}
	p = p.Norm()
	scope := actor.ScopePath
	if f.Community != "" {
		var path string
		if err := db.Get(ctx, s.DB.R, &path, "SELECT path FROM jurisdictions WHERE code = ?", f.Community); err != nil {
			if errors.Is(err, db.ErrNotFound) {
				return none, validation.Field("community", "not_found")
			}
			return none, wrap("follow-ups", err)
		}
		if !jurisdiction.InScope(actor.ScopePath, path) {
			return none, validation.Field("community", "not_found")
		}
		scope = path
	}
	lo, hi := jurisdiction.Range(scope)
	since := civil.Of(s.Now()).AddDays(-healthcode.Window)
	from := `FROM contacts c
		JOIN contact_followups f ON f.contact_id = c.id
		JOIN traces t ON t.id = c.trace_id
		JOIN residents r ON r.id = c.resident_id
		JOIN jurisdictions j ON j.id = r.community_id
		LEFT JOIN jurisdictions dj ON dj.id = j.parent_id
		WHERE j.path >= ? AND j.path < ? AND c.withdrawn_at IS NULL AND c.exposed_on >= ?`
	args := []any{lo, hi, since}
	for _, c := range []struct {
		sql string
		v   any
		on  bool
	}{
		{" AND f.status = ?", f.Status, f.Status != ""},
		{" AND c.kind = ?", f.Kind, f.Kind != ""},
		{" AND t.pseudonym = ?", strings.ToUpper(f.Case), f.Case != ""},
		{" AND c.exposed_on >= ?", f.From, !f.From.IsZero()},
		{" AND c.exposed_on <= ?", f.To, !f.To.IsZero()},
	} {
		if c.on {
			from += c.sql
			args = append(args, c.v)
		}
	}
	var total int64
	if err := db.Get(ctx, s.DB.R, &total, "SELECT count(*) "+from, args...); err != nil {
		return none, wrap("follow-ups", err)
	}
	q := `SELECT c.id AS contact_id, r.id AS resident_id, r.name, j.code AS community_code, j.name_zh AS community_name_zh,
			j.name_en AS community_name_en, dj.name_zh AS district_name_zh, dj.name_en AS district_name_en, j.id AS community_id, c.kind, c.exposed_on, c.evidence, c.evidence_zh, t.pseudonym,
			f.status, f.note, f.updated_at ` + from +
		" ORDER BY CASE WHEN f.status = 'pending' THEN 0 ELSE 1 END, c.kind, c.exposed_on DESC, c.id LIMIT ? OFFSET ?"
	var out []FollowUp
	if err := db.Select(ctx, s.DB.R, &out, q, append(args, p.Limit, p.Offset)...); err != nil {
		return none, wrap("follow-ups", err)
	}
	err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		for _, fu := range out {
			if err := access.Record(ctx, tx, actor, fu.ResidentID, fu.CommunityID, "contact list", "quarantine_follow_up"); err != nil {
				return err
			}
		}
		return nil
	})
	return list.New(out, total, p), err
}

// FollowUpChange is a community worker's note on a contact's follow-up.
type FollowUpChange struct {
	Status string `json:"status"`
	Note   string `json:"note"`
}

// Validate checks c.
func (c *FollowUpChange) Validate() error {
	var e validation.Errors
	if !slices.Contains(FollowUpStatuses, c.Status) {
		e.Add("status", "invalid")
	}
	c.Note = validation.Text(&e, "note", c.Note, 300, false, true)
	return e.Err()
}

// SetFollowUp records the follow-up of a contact living in the actor's
// scope; the write is logged as a read of the person's data.
func (s *Service) SetFollowUp(ctx context.Context, actor rbac.Actor, access accesslog.Store, contactID int64, c FollowUpChange) error {
	if !actor.Can(rbac.ResidentWrite) && !actor.Can(rbac.CaseWrite) {
		return fault.ErrForbidden
	}
	if err := c.Validate(); err != nil {
		return err
	}
	lo, hi := jurisdiction.Range(actor.ScopePath)
	var who struct {
		ResidentID  int64 `db:"resident_id"`
		CommunityID int64 `db:"community_id"`
	}
	err := db.Get(ctx, s.DB.R, &who, `SELECT r.id AS resident_id, r.community_id FROM contacts c
		JOIN contact_followups f ON f.contact_id = c.id
		JOIN residents r ON r.id = c.resident_id JOIN jurisdictions j ON j.id = r.community_id
		WHERE c.id = ? AND j.path >= ? AND j.path < ?`, contactID, lo, hi)
	if err != nil {
		return err // db.ErrNotFound outside the scope too
	}
	return s.DB.InTx(ctx, func(tx *db.Tx) error {
		if _, err := db.Exec(ctx, tx, "UPDATE contact_followups SET status = ?, note = ?, updated_at = ?, updated_by = ? WHERE contact_id = ?",
			c.Status, c.Note, s.Now().UTC().Truncate(time.Microsecond), nullID(actor.AccountID), contactID); err != nil {
			return wrap("follow-up", err)
		}
		return access.Record(ctx, tx, actor, who.ResidentID, who.CommunityID, "contact follow-up", "quarantine_follow_up")
	})
}
