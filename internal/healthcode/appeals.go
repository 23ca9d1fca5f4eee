package healthcode

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/list"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// Appeal is a holder's objection to their colour, and its answer.
type Appeal struct {
	ID           int64          `db:"id" json:"id"`
	ResidentID   int64          `db:"resident_id" json:"resident_id"`
	ResidentName string         `db:"resident_name" json:"resident_name"`
	FiledBy      int64          `db:"filed_by" json:"-"`
	Message      string         `db:"message" json:"message"`
	Colour       string         `db:"colour" json:"colour"`
	FiledAt      time.Time      `db:"filed_at" json:"filed_at"`
	Answer       sql.NullString `db:"answer" json:"-"`
	AnsweredBy   sql.NullInt64  `db:"answered_by" json:"-"`
	AnsweredAt   sql.NullTime   `db:"answered_at" json:"-"`
}

// Answered reports whether the appeal has its answer.
func (a Appeal) Answered() bool { return a.AnsweredAt.Valid }

// validMessage checks an appeal or its answer: people's text
// (validation.Text) of min to max characters.
func validMessage(field, s string, min, max int) (string, error) {
	var e validation.Errors
	s = validation.Text(&e, field, s, max, true, true)
	if e.Has(field) {
		if f := e.Fields[0]; f.Code == validation.CodeRequired || f.Code == validation.CodeTooLong {
			return s, validation.Field(field, "healthcode.message_length", "min", min, "max", max)
		}
		return s, e.Err()
	}
	if utf8.RuneCountInString(s) < min {
		return s, validation.Field(field, "healthcode.message_length", "min", min, "max", max)
	}
	return s, nil
}

const appealSelect = `SELECT a.id, a.resident_id, r.name AS resident_name, a.filed_by, a.message, a.colour, a.filed_at,
	a.answer, a.answered_by, a.answered_at FROM appeals a JOIN residents r ON r.id = a.resident_id `

func fileAppeal(ctx context.Context, q db.Q, residentID, by int64, colour, message string) (int64, error) {
	id, err := db.InsertID(ctx, q, `INSERT INTO appeals (resident_id, filed_by, message, colour, filed_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		residentID, by, message, colour, time.Now().UTC())
	if err != nil {
		return 0, fmt.Errorf("healthcode: file appeal: %w", err)
	}
	return id, nil
}

// Appeals lists page p of the appeals about residents in scope, with the
// total: the open ones, oldest first, when open is true; otherwise the
// answered ones, latest first.
func Appeals(ctx context.Context, d *db.DB, scope string, open bool, p list.Page) (list.Of[Appeal], error) {
	p = p.Norm()
	lo, hi := jurisdiction.Range(scope)
	from := `JOIN jurisdictions j ON j.id = r.community_id WHERE j.path >= ? AND j.path < ? AND a.answered_at IS NULL`
	order := " ORDER BY a.filed_at, a.id"
	if !open {
		from = strings.Replace(from, "IS NULL", "IS NOT NULL", 1)
		order = " ORDER BY a.answered_at DESC, a.id DESC"
	}
	var total int64
	if err := db.Get(ctx, d.R, &total, "SELECT count(*) FROM appeals a JOIN residents r ON r.id = a.resident_id "+from, lo, hi); err != nil {
		return list.Of[Appeal]{}, fmt.Errorf("healthcode: appeals: %w", err)
	}
	var as []Appeal
	if err := db.Select(ctx, d.R, &as, appealSelect+from+order+" LIMIT ? OFFSET ?", lo, hi, p.Limit, p.Offset); err != nil {
		return list.Of[Appeal]{}, fmt.Errorf("healthcode: appeals: %w", err)
	}
	return list.New(as, total, p), nil
}

// AppealsOf lists a resident's own appeals, newest first.
func AppealsOf(ctx context.Context, d *db.DB, residentID int64) ([]Appeal, error) {
	var as []Appeal
	if err := db.Select(ctx, d.R, &as, appealSelect+"WHERE a.resident_id = ? ORDER BY a.filed_at DESC LIMIT 50", residentID); err != nil {
		return nil, fmt.Errorf("healthcode: appeals of %d: %w", residentID, err)
	}
	return as, nil
}
