// Package accesslog records every staff read of a person's record — who,
// when, which record, and why — for the auditor to review.
package accesslog

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// Purposes staff may give for reading a person's record. The list is short
// on purpose: a read outside these has no legal basis.
var Purposes = []string{"case_investigation", "contact_tracing", "quarantine_follow_up", "clinical_care", "resident_services", "data_correction"}

// ValidPurpose reports whether p is one of Purposes.
func ValidPurpose(p string) bool { return slices.Contains(Purposes, p) }

// Entry is one read.
type Entry struct {
	ID             int64     `db:"id" json:"id"`
	At             time.Time `db:"at" json:"at"`
	ActorID        int64     `db:"actor_id" json:"actor_id"`
	ActorRole      rbac.Role `db:"actor_role" json:"actor_role"`
	ActorName      string    `db:"actor_name" json:"actor_name"`
	ResidentID     int64     `db:"resident_id" json:"resident_id"`
	JurisdictionID int64     `db:"jurisdiction_id" json:"jurisdiction_id"`
	Action         string    `db:"action" json:"action"`
	Purpose        string    `db:"purpose" json:"purpose"`
}

// ActionKey is the catalogue key that words e's action ("read", "contact
// list") for a reader.
func (e Entry) ActionKey() string {
	return "accesslog.action." + strings.ReplaceAll(e.Action, " ", "_")
}

// Filter narrows a listing.
type Filter struct {
	ResidentID int64
	ActorID    int64
	Purpose    string    // one of Purposes; all when empty
	From, To   time.Time // reads at or after From, before To, when set
	BeforeID   int64     // keyset pagination: ids less than this (0: newest)
	Limit      int       // 1..500, default 100
}

// Store keeps the log.
type Store interface {
	// Record writes one entry for actor reading resident residentID, who
	// lives in jurisdiction jurisdictionID.
	Record(ctx context.Context, q db.Q, actor rbac.Actor, residentID, jurisdictionID int64, action, purpose string) error
	// List returns entries about residents in scope, newest first.
	List(ctx context.Context, scope string, f Filter) ([]Entry, error)
	// Count returns how many entries in scope match f (its BeforeID and
	// Limit aside): the total of the list List pages through.
	Count(ctx context.Context, scope string, f Filter) (int64, error)
}

// NewStore returns the Store on d.
func NewStore(d *db.DB) Store { return &store{d: d} }

type store struct{ d *db.DB }

func (s *store) Record(ctx context.Context, q db.Q, actor rbac.Actor, residentID, jurisdictionID int64, action, purpose string) error {
	defer s.d.Observe("accesslog.record", time.Now())
	if !ValidPurpose(purpose) {
		return validation.Field("purpose", "accesslog.purpose")
	}
	_, err := db.Exec(ctx, q, `INSERT INTO access_log (at, actor_id, actor_role, actor_name, resident_id, jurisdiction_id, action, purpose)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, time.Now().UTC(), actor.AccountID, actor.Role, actor.Name, residentID, jurisdictionID, action, purpose)
	if err != nil {
		return fmt.Errorf("accesslog: record: %w", err)
	}
	return nil
}

// where is the query of entries in scope matching f, without paging.
func where(scope string, f Filter) (string, []any) {
	lo, hi := jurisdiction.Range(scope)
	q := ` FROM access_log a JOIN jurisdictions j ON j.id = a.jurisdiction_id WHERE j.path >= ? AND j.path < ?`
	args := []any{lo, hi}
	for _, c := range []struct {
		sql string
		v   any
		on  bool
	}{
		{" AND a.resident_id = ?", f.ResidentID, f.ResidentID != 0},
		{" AND a.actor_id = ?", f.ActorID, f.ActorID != 0},
		{" AND a.purpose = ?", f.Purpose, f.Purpose != ""},
		{" AND a.at >= ?", f.From.UTC(), !f.From.IsZero()},
		{" AND a.at < ?", f.To.UTC(), !f.To.IsZero()},
	} {
		if c.on {
			q += c.sql
			args = append(args, c.v)
		}
	}
	return q, args
}

func (s *store) List(ctx context.Context, scope string, f Filter) ([]Entry, error) {
	defer s.d.Observe("accesslog.list", time.Now())
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	from, args := where(scope, f)
	q := `SELECT a.id, a.at, a.actor_id, a.actor_role, a.actor_name, a.resident_id, a.jurisdiction_id, a.action, a.purpose` + from
	if f.BeforeID != 0 {
		q += " AND a.id < ?"
		args = append(args, f.BeforeID)
	}
	var es []Entry
	if err := db.Select(ctx, s.d.R, &es, q+" ORDER BY a.id DESC LIMIT ?", append(args, f.Limit)...); err != nil {
		return nil, fmt.Errorf("accesslog: list: %w", err)
	}
	return es, nil
}

func (s *store) Count(ctx context.Context, scope string, f Filter) (int64, error) {
	defer s.d.Observe("accesslog.count", time.Now())
	from, args := where(scope, f)
	var n int64
	if err := db.Get(ctx, s.d.R, &n, "SELECT count(*)"+from, args...); err != nil {
		return 0, fmt.Errorf("accesslog: count: %w", err)
	}
	return n, nil
}
