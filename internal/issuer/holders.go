package issuer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/pass"
)

// A pass names its holder by a pseudonymous id that changes every day
// (HolderID). To count a passage at a checkpoint as the holder's check-in
// there, the issuer remembers, in table pass_holders, whose holder id of
// which day it put in a pass: one row per resident and day, written with
// the first pass of the day, purged after the retention window.

// ErrUnknownHolder means no pass issued here carried the holder id.
var ErrUnknownHolder = errors.New("issuer: holder id not issued here")

// holderCache remembers the (day, holder) rows written, so that a resident
// refreshing their pass all day costs one write, not one per refresh. It is
// emptied when the day changes.
type holderCache struct {
	mu   sync.Mutex
	day  civil.Date
	seen map[string]bool
}

func (c *holderCache) has(day civil.Date, holder string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.day == day && c.seen[holder]
}

func (c *holderCache) add(day civil.Date, holder string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.day != day {
		c.day, c.seen = day, map[string]bool{}
	}
	c.seen[holder] = true
}

// IssueTo signs a pass like Issue and first records whose holder id of the
// day it carries, so that the passages recorded with it can be traced to
// the resident. It fails, signing nothing, when the record cannot be
// written.
func (is *Issuer) IssueTo(ctx context.Context, residentID int64, name string, colour pass.Colour) (string, pass.Claims, error) {
	now := is.Now()
	is.mu.Lock()
	err := is.refresh(ctx, now)
	is.mu.Unlock()
	if err != nil {
		return "", pass.Claims{}, err
	}
	day := civil.Of(now)
	holder := is.HolderID(residentID, now)
	if !is.holders.has(day, holder) {
		if _, err := db.Exec(ctx, is.DB.W, `INSERT INTO pass_holders (day, holder, resident_id) VALUES (?, ?, ?)
			ON CONFLICT (day, holder) DO NOTHING`, day, holder, residentID); err != nil {
			return "", pass.Claims{}, fmt.Errorf("issuer: record holder: %w", err)
		}
		is.holders.add(day, holder)
	}
	return is.Issue(residentID, name, colour)
}

// ResidentOf returns the resident whose pass carried holder, for a pass
// seen at seen: the holder id is of the day of issue, which is seen's day
// in the region or the day before (a pass lives PassLifetime). It returns
// ErrUnknownHolder when no pass issued here carried it.
func (is *Issuer) ResidentOf(ctx context.Context, holder string, seen time.Time) (int64, error) {
	day := civil.Of(seen.In(is.Now().Location()))
	var ids []int64
	if err := db.Select(ctx, is.DB.R, &ids, "SELECT resident_id FROM pass_holders WHERE day IN (?, ?) AND holder = ? ORDER BY day DESC",
		day, day.AddDays(-1), holder); err != nil {
		return 0, fmt.Errorf("issuer: resident of holder: %w", err)
	}
	if len(ids) == 0 {
		return 0, ErrUnknownHolder
	}
	return ids[0], nil
}

// PurgeHolders forgets the holder ids of the days before before, and
// returns how many it forgot.
func (is *Issuer) PurgeHolders(ctx context.Context, before civil.Date) (int64, error) {
	res, err := db.Exec(ctx, is.DB.W, "DELETE FROM pass_holders WHERE day < ?", before)
	if err != nil {
		return 0, fmt.Errorf("issuer: purge holders: %w", err)
	}
	return res.RowsAffected()
}
