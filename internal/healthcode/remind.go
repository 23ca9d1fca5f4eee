package healthcode

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/notify"
)

// LastDeclared returns when the resident last declared; ok is false when
// they never have (or it was purged).
func (s *Service) LastDeclared(ctx context.Context, residentID int64) (at time.Time, ok bool, err error) {
	// ORDER BY, not max(): SQLite's aggregate loses the column's time type.
	err = db.Get(ctx, s.DB.R, &at, "SELECT at FROM declarations WHERE resident_id = ? ORDER BY at DESC LIMIT 1", residentID)
	if errors.Is(err, db.ErrNotFound) {
		return time.Time{}, false, nil
	}
	return at, err == nil, err
}

// DeclarationDue reports whether the resident has been asked to declare and
// has not in the last DeclarationInterval.
func (s *Service) DeclarationDue(ctx context.Context, residentID int64) (bool, error) {
	at, ok, err := s.LastDeclared(ctx, residentID)
	return ok && s.Now().Sub(at) > DeclarationInterval, err
}

// Remind texts every resident whose daily declaration is due — who declared
// before, but not in the last day, and not longer ago than the retention
// window — or their guardian, for a dependent. It returns how many were
// reminded.
func (s *Service) Remind(ctx context.Context, sender notify.Sender) (int, error) {
	now := s.Now().UTC()
	var due []int64
	if err := db.Select(ctx, s.DB.R, &due, `SELECT resident_id FROM declarations GROUP BY resident_id
		HAVING max(at) < ? AND max(at) > ? ORDER BY resident_id`, now.Add(-DeclarationInterval), now.Add(-3*DeclarationInterval)); err != nil {
		return 0, fmt.Errorf("healthcode: due declarations: %w", err)
	}
	sent := 0
	for _, id := range due {
		r, err := s.Residents.Get(ctx, jurisdiction.All, id)
		if err != nil {
			return sent, err
		}
		phone, about := r.Phone, ""
		if r.GuardianID.Valid {
			g, err := s.Residents.Get(ctx, jurisdiction.All, r.GuardianID.Int64)
			if err != nil {
				return sent, err
			}
			phone, about = g.Phone, "（"+r.Name+"）"
		}
		if phone == "" {
			continue
		}
		if err := sender.Send(ctx, notify.Message{To: phone, At: now,
			Body: "【健康申报】请完成今日健康申报" + about + "。Please make today's health declaration."}); err != nil {
			return sent, err
		}
		sent++
	}
	return sent, nil
}
