package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/issuer"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/tracing"
	"github.com/outbreak-platform/outbreak/internal/validation"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

// Passages as check-ins: a checkpoint page that stands at a registered
// place sends the place's id with each passage; an accepted passage at a
// place becomes a check-in of the pass's holder there (source "passage"),
// in the same request. The holder id rotates daily, so the issuer's
// record of which resident each holder id of a day was issued to
// (issuer.ResidentOf) names the resident. The check-in's client id is
// derived from the passage's, and its time is the passage's, so a passage
// sent again is one check-in.

// Holders names the resident a pass's holder id was issued to:
// *issuer.Issuer.
type Holders interface {
	ResidentOf(ctx context.Context, holder string, seen time.Time) (int64, error)
}

// CheckIns stores check-ins: *tracing.Store.
type CheckIns interface {
	Ingest(ctx context.Context, batch []tracing.CheckIn) (int, error)
}

// PlaceOK reports whether a checkpoint operator may record passages at p:
// a venue (a compound entrance, a village checkpoint, a shop…) in their
// scope.
func PlaceOK(a rbac.Actor, p venue.Place) bool {
	return p.Kind == venue.Venue && a.ScopePath != "" && jurisdiction.InScope(a.ScopePath, p.JurisdictionPath)
}

// Service records what checkpoints see: passages, and those at a place as
// check-ins of the passes' holders.
type Service struct {
	Store Store
	// Region is the region whose passes are this issuer's.
	Region string
	Now    func() time.Time
	// Places, Holders and CheckIns turn accepted passages at a place into
	// check-ins; without them passages carry no place.
	Places   venue.Store
	Holders  Holders
	CheckIns CheckIns
}

// Record takes a batch of passages from actor's checkpoint page and
// records each once; those accepted at a place become check-ins.
func (s *Service) Record(ctx context.Context, actor rbac.Actor, b Batch) (Recorded, error) {
	now := s.Now()
	if err := b.Validate(now); err != nil {
		return Recorded{}, err
	}
	places, err := s.checkPlaces(ctx, actor, b.Passages)
	if err != nil {
		return Recorded{}, err
	}
	rec, err := s.Store.Record(ctx, actor, b.Passages, now)
	if err != nil {
		return Recorded{}, err
	}
	// Every accepted passage at a place, new or sent again: a check-in lost
	// to a failure after the passages were stored is made when the page
	// sends them again; one already made is kept once.
	if rec.CheckIns, err = s.checkIns(ctx, b.Passages, places); err != nil {
		return Recorded{}, err
	}
	return rec, nil
}

// Day is the count of a day's passages at checkpoints in a scope.
type Day struct {
	Date string    `json:"date"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Summary
}

// Today counts today's passages at checkpoints in actor's scope.
func (s *Service) Today(ctx context.Context, actor rbac.Actor) (Day, error) {
	now := s.Now()
	from := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	to := from.AddDate(0, 0, 1)
	sum, err := s.Store.Summary(ctx, actor.ScopePath, from, to)
	if err != nil {
		return Day{}, err
	}
	return Day{Date: from.Format(time.DateOnly), From: from, To: to, Summary: sum}, nil
}

// checkPlaces checks the place of every passage, returning the places by
// id, or field errors naming passages[i].place_id.
func (h *Service) checkPlaces(ctx context.Context, a rbac.Actor, ps []Passage) (map[int64]venue.Place, error) {
	places := map[int64]venue.Place{}
	bad := map[int64]bool{}
	var e validation.Errors
	for i, p := range ps {
		if p.PlaceID == 0 {
			continue
		}
		if _, ok := places[p.PlaceID]; !ok && !bad[p.PlaceID] {
			if h.Places == nil {
				bad[p.PlaceID] = true
			} else {
				pl, err := h.Places.Get(ctx, p.PlaceID)
				switch {
				case errors.Is(err, db.ErrNotFound):
					bad[p.PlaceID] = true
				case err != nil:
					return nil, fmt.Errorf("checkpoint: place %d: %w", p.PlaceID, err)
				case !PlaceOK(a, pl):
					bad[p.PlaceID] = true
				default:
					places[p.PlaceID] = pl
				}
			}
		}
		if bad[p.PlaceID] {
			e.Add(fmt.Sprintf("passages[%d].place_id", i), "checkpoint.place")
		}
	}
	return places, e.Err()
}

// checkIns turns the accepted passages at an enabled place into check-ins
// and stores them, returning how many were new. A passage whose holder id
// this issuer did not give out (a pass of before the record was kept) is
// left a passage.
func (h *Service) checkIns(ctx context.Context, ps []Passage, places map[int64]venue.Place) (int, error) {
	if h.CheckIns == nil || h.Holders == nil {
		return 0, nil
	}
	var cs []tracing.CheckIn
	for _, p := range ps {
		pl, ok := places[p.PlaceID]
		if p.Result != Accepted || !ok || pl.Disabled || p.Region != h.Region {
			continue
		}
		rid, err := h.Holders.ResidentOf(ctx, p.Holder, p.SeenAt)
		if errors.Is(err, issuer.ErrUnknownHolder) {
			continue
		}
		if err != nil {
			return 0, err
		}
		cs = append(cs, tracing.CheckIn{ClientID: CheckInID(p.ClientID), ResidentID: rid, PlaceID: p.PlaceID,
			TIn: p.SeenAt.Unix(), Source: tracing.Passage})
	}
	if len(cs) == 0 {
		return 0, nil
	}
	n, err := h.CheckIns.Ingest(ctx, cs)
	if err != nil {
		return 0, fmt.Errorf("checkpoint: passages as check-ins: %w", err)
	}
	return n, nil
}

// CheckInID is the client id of the check-in a passage becomes.
func CheckInID(passageClientID string) string { return "passage:" + passageClientID }

// PlaceView is a place an operator may choose.
type PlaceView struct {
	ID      int64      `json:"id"`
	Type    venue.Type `json:"type"`
	Name    string     `json:"name"`
	Address string     `json:"address"`
}

// PlacesFor lists the places in a's scope whose name starts with q (all,
// up to 200, when q is empty), for the page's choice of where it stands.
func (h *Service) PlacesFor(ctx context.Context, a rbac.Actor, q string) ([]PlaceView, error) {
	out := []PlaceView{}
	if h.Places == nil || a.ScopePath == "" {
		return out, nil
	}
	ps, err := h.Places.Search(ctx, a.ScopePath, venue.Filter{NamePrefix: strings.TrimSpace(q), Kind: venue.Venue, Limit: 200})
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		out = append(out, PlaceView{ID: p.ID, Type: p.Type, Name: p.Name, Address: p.Address})
	}
	return out, nil
}
