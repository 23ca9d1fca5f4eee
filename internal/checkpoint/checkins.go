package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/auth"
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

// PlacesPath lists the places an operator may stand at.
const PlacesPath = "/api/v1/checkpoint/places"

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

// checkPlaces checks the place of every passage, returning the places by
// id, or field errors naming passages[i].place_id.
func (h *Handler) checkPlaces(ctx context.Context, a rbac.Actor, ps []Passage) (map[int64]venue.Place, error) {
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
func (h *Handler) checkIns(ctx context.Context, ps []Passage, places map[int64]venue.Place) (int, error) {
	if h.CheckIns == nil || h.Holders == nil {
		return 0, nil
	}
	var cs []tracing.CheckIn
	for _, p := range ps {
		pl, ok := places[p.PlaceID]
		if p.Result != Accepted || !ok || pl.Disabled || p.Region != h.Issuer.Region {
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

// PlaceList lists the places in the operator's scope whose name starts
// with ?q= (all, up to 200, without), for the page's choice of where it
// stands.
func (h *Handler) PlaceList(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context()).Actor
	out := []PlaceView{}
	if h.Places != nil && a.ScopePath != "" {
		ps, err := h.Places.Search(r.Context(), a.ScopePath, venue.Filter{NamePrefix: strings.TrimSpace(r.URL.Query().Get("q")),
			Kind: venue.Venue, Limit: 200})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, p := range ps {
			out = append(out, PlaceView{ID: p.ID, Type: p.Type, Name: p.Name, Address: p.Address})
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	h.write(w, r, http.StatusOK, map[string]any{"places": out})
}
