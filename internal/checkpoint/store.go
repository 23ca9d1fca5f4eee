package checkpoint

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
)

// ErrNoPost means the actor is not an account posted to a jurisdiction, so
// there is no checkpoint to record a passage at.
var ErrNoPost = fault.New(fault.Forbidden, "checkpoint.no_post", "checkpoint: the actor has no account and jurisdiction")

// Recorded says what became of a batch.
type Recorded struct {
	// Received is the number of passages in the batch.
	Received int `json:"received"`
	// New were recorded now; Duplicates had been recorded before (or came
	// twice in the batch).
	New        int `json:"new"`
	Duplicates int `json:"duplicates"`
	// CheckIns is how many accepted passages at a place became check-ins
	// now (see Handler.CheckIns).
	CheckIns int `json:"checkins,omitempty"`
}

// Summary counts the passages seen in a scope over a time range.
type Summary struct {
	Green   int `json:"green"`
	Yellow  int `json:"yellow"`
	Red     int `json:"red"`
	Refused int `json:"refused"`
	Total   int `json:"total"`
}

// Store keeps the passages.
type Store interface {
	// Record writes a validated batch reported by actor, received at
	// receivedAt, in one transaction. A passage whose ClientID is already
	// recorded is counted as a duplicate and left as it was.
	Record(ctx context.Context, actor rbac.Actor, ps []Passage, receivedAt time.Time) (Recorded, error)
	// Summary counts the passages seen in [from, to) at checkpoints in scope.
	Summary(ctx context.Context, scope string, from, to time.Time) (Summary, error)
}

// NewStore returns the Store on d.
func NewStore(d *db.DB) Store { return &store{d: d} }

type store struct{ d *db.DB }

func nullable(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func (s *store) Record(ctx context.Context, actor rbac.Actor, ps []Passage, receivedAt time.Time) (Recorded, error) {
	defer s.d.Observe("checkpoint.record", time.Now())
	if actor.AccountID == 0 || actor.JurisdictionID == 0 {
		return Recorded{}, ErrNoPost
	}
	rec := Recorded{Received: len(ps)}
	err := s.d.InTx(ctx, func(tx *db.Tx) error {
		rec.New, rec.Duplicates = 0, 0 // a retried transaction starts again
		for _, p := range ps {
			res, err := db.Exec(ctx, tx, `INSERT INTO passages (client_id, checkpoint_account, jurisdiction_id, holder, region, colour, kid,
				result, reason, seen_at, received_at, place_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (client_id) DO NOTHING`,
				p.ClientID, actor.AccountID, actor.JurisdictionID, nullable(p.Holder), nullable(p.Region), nullable(p.Colour),
				nullable(p.KID), string(p.Result), nullable(p.Reason), p.SeenAt.UTC(), receivedAt.UTC(),
				sql.NullInt64{Int64: p.PlaceID, Valid: p.PlaceID > 0})
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if n == 1 {
				rec.New++
			} else {
				rec.Duplicates++
			}
		}
		return nil
	})
	if err != nil {
		return Recorded{}, fmt.Errorf("checkpoint: record passages: %w", err)
	}
	return rec, nil
}

func (s *store) Summary(ctx context.Context, scope string, from, to time.Time) (Summary, error) {
	defer s.d.Observe("checkpoint.summary", time.Now())
	lo, hi := jurisdiction.Range(scope)
	var rows []struct {
		Result string         `db:"result"`
		Colour sql.NullString `db:"colour"`
		N      int            `db:"n"`
	}
	err := db.Select(ctx, s.d.R, &rows, `SELECT p.result, p.colour, count(*) AS n FROM passages p
		JOIN jurisdictions j ON j.id = p.jurisdiction_id
		WHERE j.path >= ? AND j.path < ? AND p.seen_at >= ? AND p.seen_at < ?
		GROUP BY p.result, p.colour`, lo, hi, from.UTC(), to.UTC())
	if err != nil {
		return Summary{}, fmt.Errorf("checkpoint: summary: %w", err)
	}
	var sum Summary
	for _, r := range rows {
		sum.Total += r.N
		switch {
		case r.Result == string(Refused):
			sum.Refused += r.N
		case r.Colour.String == "green":
			sum.Green += r.N
		case r.Colour.String == "yellow":
			sum.Yellow += r.N
		case r.Colour.String == "red":
			sum.Red += r.N
		}
	}
	return sum, nil
}
