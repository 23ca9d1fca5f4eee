// Package exposure answers the public's questions about where and when
// confirmed cases were while infectious: "was a confirmed case on my train
// on 3 Feb?", "was this place visited by a confirmed case?", and the map of
// places visited in the last 14 days, near me or everywhere.
//
// It only reads what the tracer wrote (traces, exposure_sites) and the
// place registry. An answer names a place, a date and a time window, and
// nothing else: never the case, never how many cases, never a trace. The
// windows of one place are merged where they overlap, so that two cases
// there at once read as one window, and windows of withdrawn traces (a
// retracted case, or a tracing superseded by a re-trace) never appear.
package exposure

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/width"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

// Days is how far back the places and the map look: today and the 13 days
// before it, in the region's time zone.
const Days = 14

// TripDays is how far back a trip may be looked up: a traveller asks about
// a journey some weeks ago, and an answer of "no" for a trip that the
// tracer did record would be worse than an old "yes".
const TripDays = 30

// DefaultRadius is the radius of "near me", in metres; MaxRadius bounds
// what the JSON endpoint accepts.
const (
	DefaultRadius = 1000
	MaxRadius     = 20000
)

// MaxNameResults is the most places a search by name returns.
const MaxNameResults = 50

// Window is a time a confirmed case was at a place, in the region's time
// zone, widened to whole minutes.
type Window struct {
	Date civil.Date `json:"date"` // the date of From
	From time.Time  `json:"from"`
	To   time.Time  `json:"to"`
}

// Place is a place visited by a confirmed case, with its windows, oldest
// first.
type Place struct {
	ID        int64
	Name      string
	Kind      venue.Kind
	Type      venue.Type
	Latitude  *float64 // nil for most vehicles
	Longitude *float64
	// ServiceNumber and ServiceDate are a vehicle's (ServiceDate is zero
	// for a bus line that runs every day).
	ServiceNumber string
	ServiceDate   civil.Date
	// Distance is the distance in metres from the point a Near look-up was
	// about; 0 otherwise.
	Distance float64
	Windows  []Window
}

// Trip is the answer about one service on one day: no windows means no
// confirmed case has been reported on it.
type Trip struct {
	ServiceNumber string
	Date          civil.Date
	Windows       []Window
}

// Store answers the look-ups. Every method reads only the windows of traces
// in force.
type Store interface {
	// Vehicle returns the windows on the service on the date: the trip of
	// that number on that date, and the undated line of that number (a bus
	// line) in so far as its windows overlap the date. The service number
	// is normalised (venue.NormalizeServiceNumber); one that cannot be a
	// service number has no windows.
	Vehicle(ctx context.Context, serviceNumber string, on civil.Date) (Trip, error)
	// PlacesByName returns up to MaxNameResults places visited in the last
	// Days days whose name contains q, case-insensitively, by name.
	PlacesByName(ctx context.Context, q string) ([]Place, error)
	// Place returns one place with its windows of the last Days days (none
	// when no case was there); db.ErrNotFound when there is no such place.
	Place(ctx context.Context, id int64) (Place, error)
	// Map returns every venue with coordinates visited in the last Days
	// days, by id. It is the same for everyone, so it is kept between
	// calls until the tracing results change: callers must not modify it.
	Map(ctx context.Context) ([]Place, error)
	// Near returns the venues of Map within radius metres of (lat, lon),
	// nearest first, each with its Distance.
	Near(ctx context.Context, lat, lon, radius float64) ([]Place, error)
}

// NewStore returns the Store on d. now is the clock in the region's time
// zone: it says what "today" is and in which zone windows are given.
func NewStore(d *db.DB, now func() time.Time) Store {
	if now == nil {
		now = time.Now
	}
	return &store{d: d, now: now}
}

type store struct {
	d   *db.DB
	now func() time.Time

	mu      sync.Mutex // held while the map is read, so that it is read once
	mapped  version
	mapping []Place
}

// version tells whether the tracing results changed: sites and traces are
// only ever added, and a trace is withdrawn, never put back in force. since
// changes at midnight.
type version struct {
	Sites   int64 `db:"sites"`
	Traces  int64 `db:"traces"`
	InForce int64 `db:"in_force"`
	Since   int64 `db:"-"`
}

// row is one exposure site with its place.
type row struct {
	PlaceID       int64           `db:"place_id"`
	Name          string          `db:"name"`
	Kind          venue.Kind      `db:"kind"`
	Type          venue.Type      `db:"type"`
	Latitude      sql.NullFloat64 `db:"latitude"`
	Longitude     sql.NullFloat64 `db:"longitude"`
	ServiceNumber string          `db:"service_number"`
	ServiceDate   civil.Date      `db:"service_date"`
	From          int64           `db:"t_from"`
	To            int64           `db:"t_to"`
}

// columns are a row's, from places p and exposure_sites e.
const columns = `p.id AS place_id, p.name, p.kind, p.type, p.latitude, p.longitude,
	COALESCE(p.service_number, '') AS service_number, p.service_date, e.t_from, e.t_to`

// inForce joins an exposure site e to its trace, which must be in force.
const inForce = ` JOIN traces t ON t.id = e.trace_id AND t.withdrawn_at IS NULL `

// since returns the first instant the public look-ups show: midnight at
// the start of the oldest of the last Days days, in the region's zone.
func (s *store) since() time.Time {
	now := s.now()
	y, m, d := now.Date()
	return time.Date(y, m, d-(Days-1), 0, 0, 0, 0, now.Location())
}

func (s *store) Vehicle(ctx context.Context, serviceNumber string, on civil.Date) (Trip, error) {
	defer s.d.Observe("exposure.vehicle", time.Now())
	trip := Trip{ServiceNumber: venue.NormalizeServiceNumber(serviceNumber), Date: on}
	if !ValidServiceNumber(trip.ServiceNumber) || on.IsZero() {
		return trip, nil
	}
	loc := s.now().Location()
	start := time.Date(on.Year, on.Month, on.Day, 0, 0, 0, 0, loc)
	end := start.AddDate(0, 0, 1)
	var rows []row
	// The trip of that date, whole; the undated line's windows that overlap
	// the day (a window starts at most a day before it ends).
	err := db.Select(ctx, s.d.R, &rows, `SELECT `+columns+`
		FROM places p JOIN exposure_sites e ON e.place_id = p.id`+inForce+`
		WHERE p.kind = 'vehicle' AND p.service_number = ?
		  AND (p.service_date = ?
		       OR (p.service_date IS NULL AND e.t_from >= ? AND e.t_from < ? AND e.t_to > ?))
		ORDER BY e.t_from`,
		trip.ServiceNumber, on, start.Unix()-86400, end.Unix(), start.Unix())
	if err != nil {
		return trip, fmt.Errorf("exposure: vehicle: %w", err)
	}
	var ws []Window
	for _, r := range rows {
		ws = append(ws, window(r.From, r.To, loc))
	}
	trip.Windows = merge(ws)
	return trip, nil
}

func (s *store) PlacesByName(ctx context.Context, q string) ([]Place, error) {
	defer s.d.Observe("exposure.places_by_name", time.Now())
	q = foldName(q)
	if q == "" {
		return nil, nil
	}
	since := s.since().Unix()
	// The places visited lately are few beside the registry: read their
	// names by the time index and match them here, where case folds beyond
	// ASCII (lower() in SQLite, and in PostgreSQL under the C locale, folds
	// only A–Z), then read the windows of those that match.
	var recent []namedPlace
	err := db.Select(ctx, s.d.R, &recent, `SELECT DISTINCT p.id, p.name FROM exposure_sites e`+inForce+`
		JOIN places p ON p.id = e.place_id WHERE e.t_from >= ?`, since)
	if err != nil {
		return nil, fmt.Errorf("exposure: places by name: %w", err)
	}
	recent = slices.DeleteFunc(recent, func(p namedPlace) bool {
		return !strings.Contains(foldName(p.Name), q)
	})
	if len(recent) == 0 {
		return nil, nil
	}
	slices.SortFunc(recent, func(a, b namedPlace) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	args := []any{since}
	for _, p := range recent[:min(len(recent), MaxNameResults)] {
		args = append(args, p.ID)
	}
	var rows []row
	err = db.Select(ctx, s.d.R, &rows, `SELECT `+columns+`
		FROM places p JOIN exposure_sites e ON e.place_id = p.id`+inForce+`
		WHERE e.t_from >= ? AND p.id IN (?`+strings.Repeat(", ?", len(args)-2)+`)
		ORDER BY p.name, p.id, e.t_from`, args...)
	if err != nil {
		return nil, fmt.Errorf("exposure: places by name: %w", err)
	}
	return s.places(rows), nil
}

type namedPlace struct {
	ID   int64  `db:"id"`
	Name string `db:"name"`
}

func (s *store) Place(ctx context.Context, id int64) (Place, error) {
	defer s.d.Observe("exposure.place", time.Now())
	var r row
	err := db.Get(ctx, s.d.R, &r, `SELECT p.id AS place_id, p.name, p.kind, p.type, p.latitude, p.longitude,
		COALESCE(p.service_number, '') AS service_number, p.service_date, 0 AS t_from, 0 AS t_to
		FROM places p WHERE p.id = ?`, id)
	if errors.Is(err, db.ErrNotFound) {
		return Place{}, err
	}
	if err != nil {
		return Place{}, fmt.Errorf("exposure: place: %w", err)
	}
	var rows []row
	if err := db.Select(ctx, s.d.R, &rows, `SELECT `+columns+`
		FROM places p JOIN exposure_sites e ON e.place_id = p.id`+inForce+`
		WHERE p.id = ? AND e.t_from >= ? ORDER BY e.t_from`, id, s.since().Unix()); err != nil {
		return Place{}, fmt.Errorf("exposure: place: %w", err)
	}
	if ps := s.places(rows); len(ps) == 1 {
		return ps[0], nil
	}
	return s.places([]row{r})[0], nil // no windows
}

func (s *store) Map(ctx context.Context) ([]Place, error) {
	defer s.d.Observe("exposure.map", time.Now())
	var v version
	if err := db.Get(ctx, s.d.R, &v, `SELECT (SELECT COALESCE(MAX(id), 0) FROM exposure_sites) AS sites,
		(SELECT COALESCE(MAX(id), 0) FROM traces) AS traces,
		(SELECT COUNT(*) FROM traces WHERE withdrawn_at IS NULL) AS in_force`); err != nil {
		return nil, fmt.Errorf("exposure: map: %w", err)
	}
	v.Since = s.since().Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mapping != nil && s.mapped == v {
		return s.mapping, nil
	}
	ps, err := s.venues(ctx, "", nil)
	if err != nil {
		return nil, err
	}
	if ps == nil {
		ps = []Place{}
	}
	s.mapped, s.mapping = v, ps
	return ps, nil
}

func (s *store) Near(ctx context.Context, lat, lon, radius float64) ([]Place, error) {
	defer s.d.Observe("exposure.near", time.Now())
	if !(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 && radius > 0 && radius <= MaxRadius) {
		return nil, fmt.Errorf("exposure: near (%v, %v) within %v m: out of range", lat, lon, radius)
	}
	// A box around the circle narrows the rows in SQL; the distance decides.
	dLat := radius / metresPerDegree
	where, args := " AND p.latitude BETWEEN ? AND ?", []any{lat - dLat, lat + dLat}
	if c := math.Cos(lat * math.Pi / 180); lat+dLat < 90 && lat-dLat > -90 && c > 0 {
		dLon := dLat / c
		if lon-dLon > -180 && lon+dLon < 180 { // a box across the antimeridian: latitude alone
			where += " AND p.longitude BETWEEN ? AND ?"
			args = append(args, lon-dLon, lon+dLon)
		}
	}
	all, err := s.venues(ctx, where, args)
	if err != nil {
		return nil, err
	}
	near := all[:0]
	for _, p := range all {
		if p.Distance = Distance(lat, lon, *p.Latitude, *p.Longitude); p.Distance <= radius {
			near = append(near, p)
		}
	}
	slices.SortStableFunc(near, func(a, b Place) int {
		if c := cmpFloat(a.Distance, b.Distance); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	return near, nil
}

// venues reads the venues with coordinates visited lately, narrowed by
// where (with args), by id.
func (s *store) venues(ctx context.Context, where string, args []any) ([]Place, error) {
	var rows []row
	err := db.Select(ctx, s.d.R, &rows, `SELECT `+columns+`
		FROM exposure_sites e`+inForce+`JOIN places p ON p.id = e.place_id
		WHERE e.t_from >= ? AND p.kind = 'venue' AND p.latitude IS NOT NULL`+where+`
		ORDER BY p.id, e.t_from`, append([]any{s.since().Unix()}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("exposure: venues: %w", err)
	}
	return s.places(rows), nil
}

// places groups rows, ordered by place, into places with merged windows.
func (s *store) places(rows []row) []Place {
	loc := s.now().Location()
	var out []Place
	for i := 0; i < len(rows); {
		r := rows[i]
		p := Place{ID: r.PlaceID, Name: r.Name, Kind: r.Kind, Type: r.Type, ServiceNumber: r.ServiceNumber, ServiceDate: r.ServiceDate}
		if r.Latitude.Valid && r.Longitude.Valid {
			lat, lon := r.Latitude.Float64, r.Longitude.Float64
			p.Latitude, p.Longitude = &lat, &lon
		}
		var ws []Window
		for ; i < len(rows) && rows[i].PlaceID == r.PlaceID; i++ {
			if rows[i].To > rows[i].From {
				ws = append(ws, window(rows[i].From, rows[i].To, loc))
			}
		}
		p.Windows = merge(ws)
		out = append(out, p)
	}
	return out
}

// window makes a window of unix seconds in loc, widened to whole minutes.
func window(from, to int64, loc *time.Location) Window {
	f := time.Unix(from, 0).In(loc).Truncate(time.Minute)
	t := time.Unix(to, 0).In(loc)
	if r := t.Truncate(time.Minute); r.Before(t) {
		t = r.Add(time.Minute)
	}
	return Window{Date: civil.Of(f), From: f, To: t}
}

// merge sorts windows and joins those that overlap or touch, so that no
// answer tells how many cases were there at once.
func merge(ws []Window) []Window {
	slices.SortFunc(ws, func(a, b Window) int { return a.From.Compare(b.From) })
	var out []Window
	for _, w := range ws {
		if n := len(out); n > 0 && !w.From.After(out[n-1].To) {
			if w.To.After(out[n-1].To) {
				out[n-1].To = w.To
			}
			continue
		}
		out = append(out, w)
	}
	return out
}

// metresPerDegree is the length of a degree of latitude (and of longitude
// at the equator) on the sphere Distance uses.
const metresPerDegree = earthRadius * math.Pi / 180

const earthRadius = 6371008.8 // mean Earth radius, metres

// Distance returns the great-circle distance in metres between two points
// given in degrees (the haversine formula).
func Distance(lat1, lon1, lat2, lon2 float64) float64 {
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadius * math.Asin(math.Sqrt(min(1, a)))
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// foldName prepares a name query for matching: full-width letters and
// digits narrowed (as a Chinese input method types them), spaces trimmed,
// lower case.
func foldName(q string) string { return strings.ToLower(strings.TrimSpace(width.Narrow.String(q))) }
