package checkin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/tracing"
	"github.com/outbreak-platform/outbreak/internal/validation"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

// Stay is a check-in in progress: the resident's latest poster scan whose
// stay has not ended (they have not checked out, and the place type's
// default dwell time has not run out), with the dependents checked in with
// them.
type Stay struct {
	CheckIn tracing.CheckIn
	Place   venue.Place
	With    []Companion
}

// Companion is a dependent checked in with the resident.
type Companion struct {
	Resident resident.Resident
	CheckIn  tracing.CheckIn
}

// Current returns the acting resident's stay in progress, or nil.
func (s *Service) Current(ctx context.Context, actor rbac.Actor) (*Stay, error) {
	self, deps, err := s.people(ctx, actor)
	if err != nil {
		return nil, err
	}
	// Stays that go on past this second, begun up to the clock skew ahead.
	// A check-out ends a stay now, or a second after its check-in when the
	// phone's check-in time is ahead of the server's clock: a stay of one
	// second was checked out at once.
	now := s.Now().Unix()
	cs, err := s.CheckIns.ForResident(ctx, self.ID, now+1, now+int64(ClockSkew/time.Second)+1)
	if err != nil {
		return nil, err
	}
	var cur *tracing.CheckIn
	for i, c := range cs {
		if c.Source == tracing.Scan && c.TOut-c.TIn > 1 && (cur == nil || c.TIn >= cur.TIn) {
			cur = &cs[i]
		}
	}
	if cur == nil {
		return nil, nil
	}
	p, err := s.Places.Get(ctx, cur.PlaceID)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return nil, fmt.Errorf("checkin: current: %w", err)
	}
	st := &Stay{CheckIn: *cur, Place: p}
	if st.Place.ID == 0 {
		st.Place.ID = cur.PlaceID
	}
	with, err := s.companions(ctx, *cur, deps)
	if err != nil {
		return nil, err
	}
	st.With = with
	return st, nil
}

// companions returns the dependents' scans at c's place with c's check-in
// time: those checked in together with c.
func (s *Service) companions(ctx context.Context, c tracing.CheckIn, deps map[int64]resident.Resident) ([]Companion, error) {
	var out []Companion
	for _, d := range deps {
		cs, err := s.CheckIns.ForResident(ctx, d.ID, c.TIn, c.TIn+1)
		if err != nil {
			return nil, err
		}
		for _, dc := range cs {
			if dc.TIn == c.TIn && dc.PlaceID == c.PlaceID && dc.Source == c.Source {
				out = append(out, Companion{Resident: d, CheckIn: dc})
			}
		}
	}
	slices.SortFunc(out, func(a, b Companion) int { return cmp.Compare(a.Resident.ID, b.Resident.ID) })
	return out, nil
}

// CheckOut records that the check-in (clientID, tIn) of the acting
// resident, or of one of their dependents, ended at at; checking out the
// resident's own check-in also checks out the dependents checked in with
// them. It returns how many check-ins it ended, and tracing.ErrNotFound
// when there is no such check-in.
func (s *Service) CheckOut(ctx context.Context, actor rbac.Actor, clientID string, tIn int64, at time.Time) (int, error) {
	if !ValidClientID(clientID) {
		return 0, validation.Field("client_id", "invalid")
	}
	if tIn <= 0 {
		return 0, validation.Field("t_in", "invalid")
	}
	if at.After(s.Now().Add(ClockSkew)) {
		return 0, validation.Field("t_out", "checkin.future")
	}
	self, deps, err := s.people(ctx, actor)
	if err != nil {
		return 0, err
	}
	find := func(residentID int64) (*tracing.CheckIn, error) {
		cs, err := s.CheckIns.ForResident(ctx, residentID, tIn, tIn+1)
		if err != nil {
			return nil, err
		}
		for i := range cs {
			if cs[i].ClientID == clientID && cs[i].TIn == tIn {
				return &cs[i], nil
			}
		}
		return nil, nil
	}
	c, err := find(self.ID)
	if err != nil {
		return 0, err
	}
	if c == nil {
		for _, d := range deps {
			if c, err = find(d.ID); err != nil {
				return 0, err
			}
			if c != nil {
				break
			}
		}
	}
	if c == nil {
		return 0, tracing.ErrNotFound
	}
	out := max(at.Unix(), tIn+1)
	ended := []tracing.CheckIn{*c}
	if c.ResidentID == self.ID {
		with, err := s.companions(ctx, *c, deps)
		if err != nil {
			return 0, err
		}
		for _, w := range with {
			ended = append(ended, w.CheckIn)
		}
	}
	for _, e := range ended {
		if err := s.CheckIns.CheckOut(ctx, e.ResidentID, e.ClientID, e.TIn, out); err != nil {
			return 0, err
		}
	}
	return len(ended), nil
}

// Trip is a trip a resident registers by its service number and date.
type Trip struct {
	ServiceNumber string     `json:"service_number"`
	Date          civil.Date `json:"date"`
	// Time is when they boarded, "HH:MM" in the region's time zone; ""
	// means the start of the service date.
	Time     string `json:"time,omitempty"`
	Carriage string `json:"carriage,omitempty"`
	Seat     string `json:"seat,omitempty"`
}

// FindTrip finds the vehicle of a trip — the service on its date, or the
// bus line of that number — and the check-in time of the trip. It reports
// every problem at once as field errors: service_number (unknown), date
// (in the future, or before the retention window), time, carriage, seat.
func (s *Service) FindTrip(ctx context.Context, t *Trip) (venue.Place, int64, error) {
	var e validation.Errors
	now := s.Now()
	loc := now.Location()
	t.ServiceNumber = venue.NormalizeServiceNumber(t.ServiceNumber)
	t.Time = strings.TrimSpace(t.Time)
	t.Carriage, t.Seat = tracing.NormalizeCarriage(t.Carriage), tracing.NormalizeSeat(t.Seat)
	if t.ServiceNumber == "" {
		e.Add("service_number", "required")
	} else if len(t.ServiceNumber) > 10 {
		e.Add("service_number", "checkin.unknown_service")
	}
	today := civil.Of(now)
	oldest := civil.Of(now.Add(-s.retention()))
	switch {
	case t.Date.IsZero():
		e.Add("date", "required")
	case t.Date.After(today), t.Date.Before(oldest):
		e.Add("date", "checkin.trip_dates", "days", int(s.retention()/(24*time.Hour)))
	}
	tIn := int64(0)
	if !t.Date.IsZero() {
		start := time.Date(t.Date.Year, t.Date.Month, t.Date.Day, 0, 0, 0, 0, loc)
		if t.Time != "" {
			hm, err := time.Parse("15:04", t.Time)
			if err != nil {
				e.Add("time", "checkin.time")
			} else {
				start = time.Date(t.Date.Year, t.Date.Month, t.Date.Day, hm.Hour(), hm.Minute(), 0, 0, loc)
			}
		}
		tIn = start.Unix()
		if !e.Has("date") && !e.Has("time") && start.After(now.Add(ClockSkew)) {
			e.Add("time", "checkin.future")
		}
	}
	if len(t.Carriage) > 8 || !validation.Storable(t.Carriage) || strings.ContainsAny(t.Carriage, "<>") {
		e.Add("carriage", "invalid")
	}
	if len(t.Seat) > 8 || !validation.Storable(t.Seat) || strings.ContainsAny(t.Seat, "<>") {
		e.Add("seat", "invalid")
	}
	if e.Has("service_number") || e.Has("date") {
		return venue.Place{}, 0, e.Err()
	}
	p, err := s.Places.FindTrip(ctx, t.ServiceNumber, t.Date)
	if errors.Is(err, db.ErrNotFound) {
		e.Add("service_number", "checkin.unknown_service")
	} else if err != nil {
		return venue.Place{}, 0, fmt.Errorf("checkin: find trip: %w", err)
	}
	if err := e.Err(); err != nil {
		return venue.Place{}, 0, err
	}
	return p, tIn, nil
}

// Entry is one check-in in a resident's history, with its place.
type Entry struct {
	tracing.CheckIn
	// Place is the registry's entry; only its ID is set when the place is
	// no longer registered.
	Place venue.Place
}

// History returns the check-ins of the last HistoryDays days of the acting
// resident or (residentID) one of their dependents, newest first.
func (s *Service) History(ctx context.Context, actor rbac.Actor, residentID int64) (resident.Resident, []Entry, error) {
	who, err := s.Residents.SelfOrDependent(ctx, actor, residentID)
	if err != nil {
		return resident.Resident{}, nil, err
	}
	now := s.Now()
	cs, err := s.CheckIns.ForResident(ctx, who.ID, now.AddDate(0, 0, -HistoryDays).Unix(), now.Add(ClockSkew).Unix()+1)
	if err != nil {
		return resident.Resident{}, nil, err
	}
	places := map[int64]venue.Place{}
	out := make([]Entry, 0, len(cs))
	for i := len(cs) - 1; i >= 0; i-- {
		c := cs[i]
		p, ok := places[c.PlaceID]
		if !ok {
			if p, err = s.Places.Get(ctx, c.PlaceID); err != nil && !errors.Is(err, db.ErrNotFound) {
				return resident.Resident{}, nil, fmt.Errorf("checkin: history: %w", err)
			}
			p.ID = c.PlaceID
			places[c.PlaceID] = p
		}
		out = append(out, Entry{CheckIn: c, Place: p})
	}
	return who, out, nil
}
