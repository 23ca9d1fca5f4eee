// Package tracing keeps check-ins — who was where, from when to when — and
// finds the contacts of a confirmed case in them: the close contacts who
// shared a place, a carriage, a few rows of a flight or a bus with the case
// while the case was infectious, and the secondary contacts who shared one
// with a close contact before that contact was quarantined. Every contact
// carries its evidence (place, both parties' times, the overlap), which is
// what the holder of a code sees.
//
// Times are unix seconds (UTC) throughout, as the store keeps them.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/outbreak-platform/outbreak/internal/validation"
)

// Kind is the type of a place, as the place registry (internal/venue,
// places.type) names it; a type the policy does not name is traced with
// Policy.Default.
type Kind string

// Kinds of place the default policy knows.
const (
	Shop              Kind = "shop"
	Restaurant        Kind = "restaurant"
	Office            Kind = "office"
	School            Kind = "school"
	Hospital          Kind = "hospital"
	Station           Kind = "station"
	CompoundEntrance  Kind = "compound_entrance"  // residential compound entrance
	VillageCheckpoint Kind = "village_checkpoint" // village or outdoor checkpoint
	Train             Kind = "train"              // a train service on a date
	Flight            Kind = "flight"             // a flight on a date
	Coach             Kind = "coach"              // a coach service on a date
	Bus               Kind = "bus"                // a bus line (every day) or a bus on a date
)

// Kinds lists every kind the default policy names.
var Kinds = []Kind{Shop, Restaurant, Office, School, Hospital, Station, CompoundEntrance, VillageCheckpoint, Train, Flight, Coach, Bus}

// Source says how a check-in came to be.
type Source string

// Sources of check-ins.
const (
	Scan    Source = "scan"    // the resident scanned a place poster
	Passage Source = "passage" // a checkpoint operator scanned the resident's pass
	Trip    Source = "trip"    // the resident registered a trip
)

// CheckIn is one presence of a resident at a place.
type CheckIn struct {
	ID int64 `json:"id" db:"id"`
	// ClientID is the id the client gave the check-in (a random UUID);
	// with TIn it makes a retried submission idempotent.
	ClientID   string `json:"client_id" db:"client_id"`
	ResidentID int64  `json:"resident_id" db:"resident_id"`
	PlaceID    int64  `json:"place_id" db:"place_id"`
	// TIn and TOut are unix seconds. A zero TOut means "not checked out":
	// Ingest sets it from the place kind's default dwell time.
	TIn  int64 `json:"t_in" db:"t_in"`
	TOut int64 `json:"t_out" db:"t_out"`
	// Carriage and Seat are set for vehicles ("" when unknown). A flight
	// seat reads like "23C": a row number, then letters.
	Carriage string `json:"carriage,omitempty" db:"carriage"`
	Seat     string `json:"seat,omitempty" db:"seat"`
	Source   Source `json:"source" db:"source"`
}

// Places tells the store and the tracer what kind of place each place id
// is. The place registry implements it (with a cache: a place's kind is set
// when it is registered). Ids it does not know are left out of the map and
// are treated with Policy.Default.
type Places interface {
	Kinds(ctx context.Context, ids []int64) (map[int64]Kind, error)
}

// KindMap is a Places held in memory.
type KindMap map[int64]Kind

// Kinds implements Places.
func (m KindMap) Kinds(_ context.Context, ids []int64) (map[int64]Kind, error) {
	out := make(map[int64]Kind, len(ids))
	for _, id := range ids {
		if k, ok := m[id]; ok {
			out[id] = k
		}
	}
	return out, nil
}

// ErrNotFound means no check-in matched.
var ErrNotFound = errors.New("tracing: check-in not found")

const (
	maxClientID = 64
	maxSeat     = 8
	// Check-in times must lie between these (2000-01-01 and 2100-01-01).
	minTime = 946684800
	maxTime = 4102444800
)

// Validate checks the fields a client sends. It does not judge times
// against the clock (the API refuses check-ins in the future); it checks
// that they are plausible and ordered.
func (c *CheckIn) Validate() error {
	var e validation.Errors
	c.ClientID = strings.TrimSpace(c.ClientID)
	switch {
	case c.ClientID == "":
		e.Add("client_id", "required")
	case len(c.ClientID) > maxClientID || !validation.PlainText(c.ClientID):
		e.Add("client_id", "invalid")
	}
	if c.ResidentID <= 0 {
		e.Add("resident_id", "required")
	}
	if c.PlaceID <= 0 {
		e.Add("place_id", "required")
	}
	if c.TIn < minTime || c.TIn >= maxTime {
		e.Add("t_in", "invalid")
	}
	if c.TOut != 0 && (c.TOut <= c.TIn || c.TOut >= maxTime) {
		e.Add("t_out", "tracing.t_out_before_t_in")
	}
	c.Carriage, c.Seat = NormalizeCarriage(c.Carriage), NormalizeSeat(c.Seat)
	if len(c.Carriage) > maxSeat || !validation.PlainText(c.Carriage) {
		e.Add("carriage", "invalid")
	}
	if len(c.Seat) > maxSeat || !validation.PlainText(c.Seat) {
		e.Add("seat", "invalid")
	}
	switch c.Source {
	case Scan, Passage, Trip:
	case "":
		e.Add("source", "required")
	default:
		e.Add("source", "invalid")
	}
	return e.Err()
}

// NormalizeCarriage writes a carriage number one way: trimmed, upper case,
// without leading zeros ("08" and "8" are the same carriage).
func NormalizeCarriage(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	for len(s) > 1 && s[0] == '0' && s[1] >= '0' && s[1] <= '9' {
		s = s[1:]
	}
	return s
}

// NormalizeSeat writes a seat one way: trimmed, upper case.
func NormalizeSeat(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// SeatRow returns the row of a seat written like "23C" (a row number, then
// letters), and false when the seat does not read that way.
func SeatRow(seat string) (int, bool) {
	i := 0
	for i < len(seat) && seat[i] >= '0' && seat[i] <= '9' {
		i++
	}
	if i == 0 || i > 3 {
		return 0, false
	}
	for _, r := range seat[i:] {
		if r < 'A' || r > 'Z' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(seat[:i])
	if err != nil || n == 0 {
		return 0, false
	}
	return n, true
}

// normalize applies the kind's dwell time and longest stay to c.
func (c *CheckIn) normalize(kp KindPolicy) {
	if c.TOut == 0 {
		c.TOut = c.TIn + secs(kp.Dwell)
	}
	if limit := c.TIn + secs(kp.MaxStay); c.TOut > limit {
		c.TOut = limit
	}
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("tracing: %s: %w", op, err)
}
