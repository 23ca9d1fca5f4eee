// Package checkin is how a resident checks in: the place code of a scanned
// poster, or a registered trip, becomes check-ins in the tracing store —
// one per person, for the resident and any dependents they bring along —
// each verified at its own check-in time, and each either refused with a
// reason or stored exactly once however often a phone sends it.
//
// The pages and the API (internal/http/checkin) are thin over it.
package checkin

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/tracing"
	"github.com/outbreak-platform/outbreak/internal/validation"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

// Limits on what a phone sends.
const (
	// MaxBatch is the most check-ins one request may carry: a phone that was
	// offline for days sends them all at once.
	MaxBatch = 500
	// ClockSkew is how far ahead of the server's clock a check-in or
	// check-out time may lie, for a phone whose clock runs fast.
	ClockSkew = 5 * time.Minute
	// DefaultRetention is how far back a check-in may lie when the service
	// is given no retention window.
	DefaultRetention = 28 * 24 * time.Hour
	// HistoryDays is how far back "my check-ins" looks.
	HistoryDays = 14
	// maxScanText caps the text of a scan (a bare code or a URL holding one).
	maxScanText = 2048
)

// Service checks residents in and out.
type Service struct {
	DB       *db.DB
	Places   venue.Store
	Codes    *venue.Codes
	CheckIns *tracing.Store
	// Writer, when set, writes the accepted check-ins instead of CheckIns
	// (a tracing.Coalescer: one transaction for many requests).
	Writer interface {
		Ingest(ctx context.Context, batch []tracing.CheckIn) (int, error)
	}
	Residents *resident.Service
	// Now is the clock, in the region's time zone (trip dates and the times
	// shown are the region's).
	Now func() time.Time
	// Retention is how long check-ins are kept: an older one is refused.
	// Zero means DefaultRetention.
	Retention time.Duration
}

func (s *Service) retention() time.Duration {
	if s.Retention <= 0 {
		return DefaultRetention
	}
	return s.Retention
}

// Reason says why a check-in was refused. The catalogue words each as
// "checkin.reason.<reason>".
type Reason string

// The reasons a check-in is refused for: those of the place code
// (venue.Reason), then the place's, the times', the person's.
const (
	ReasonMalformed     Reason = Reason(venue.ReasonMalformed)
	ReasonUnknownKey    Reason = Reason(venue.ReasonUnknownKey)
	ReasonBadSignature  Reason = Reason(venue.ReasonBadSignature)
	ReasonWrongRegion   Reason = Reason(venue.ReasonWrongRegion)
	ReasonExpired       Reason = Reason(venue.ReasonExpired)
	ReasonNotYetValid   Reason = Reason(venue.ReasonNotYetValid)
	ReasonUnknownPlace  Reason = "unknown_place"  // no such place in the registry
	ReasonPlaceDisabled Reason = "place_disabled" // the place takes no check-ins
	ReasonFuture        Reason = "future"         // a check-in time ahead of the clock
	ReasonTooOld        Reason = "too_old"        // older than the retention window
	ReasonCheckOut      Reason = "t_out"          // a check-out before the check-in or in the future
	ReasonNotDependent  Reason = "not_dependent"  // "for" names nobody the resident acts for
	ReasonNotATrip      Reason = "not_a_trip"     // a place_id that is not a vehicle
	ReasonTripDate      Reason = "trip_date"      // a check-in time far from the trip's date
	ReasonSeat          Reason = "seat"           // a carriage or seat at a venue, or an unreadable one
	ReasonInvalid       Reason = "invalid"        // a missing or malformed field
	ReasonConflict      Reason = "conflict"       // the client id and time are another person's check-in
)

// Reasons lists every reason, for the catalogue test.
var Reasons = []Reason{ReasonMalformed, ReasonUnknownKey, ReasonBadSignature, ReasonWrongRegion, ReasonExpired,
	ReasonNotYetValid, ReasonUnknownPlace, ReasonPlaceDisabled, ReasonFuture, ReasonTooOld, ReasonCheckOut,
	ReasonNotDependent, ReasonNotATrip, ReasonTripDate, ReasonSeat, ReasonInvalid, ReasonConflict}

// Refusal is the error of a scan or check-in refused for a reason; Field
// names the input at fault, when one is.
type Refusal struct {
	Reason Reason
	Field  string
	Err    error // detail, for logs
}

func (r *Refusal) Error() string {
	if r.Err != nil {
		return "checkin: refused: " + string(r.Reason) + ": " + r.Err.Error()
	}
	return "checkin: refused: " + string(r.Reason)
}

func (r *Refusal) Unwrap() error { return r.Err }

func refuse(reason Reason, field string) *Refusal { return &Refusal{Reason: reason, Field: field} }

// ReasonOf returns the reason of a Refusal in err's chain, or "".
func ReasonOf(err error) Reason {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Reason
	}
	return ""
}

// ParseScan returns the place code in the text of a scan: the code itself
// ("OBP1:…"), or a check-in URL carrying it in its fragment
// ("https://…/checkin#OBP1:…", percent-encoded or not) or in its query
// ("…/checkin?code=OBP1:…"). Any other text is returned trimmed, for the
// verifier to refuse as malformed.
func ParseScan(text string) string {
	text = strings.TrimSpace(text)
	if len(text) > maxScanText || strings.HasPrefix(text, venue.Prefix) {
		return text
	}
	if _, frag, ok := strings.Cut(text, "#"); ok {
		if dec, err := url.PathUnescape(frag); err == nil && strings.HasPrefix(dec, venue.Prefix) && utf8.ValidString(dec) {
			return dec
		}
		if strings.HasPrefix(frag, venue.Prefix) {
			return frag
		}
	}
	if u, err := url.Parse(text); err == nil {
		if c := u.Query().Get("code"); strings.HasPrefix(c, venue.Prefix) && utf8.ValidString(c) {
			return c
		}
	}
	return text
}

// Scan is a verified place code and its place.
type Scan struct {
	Code   string
	Claims venue.PlaceClaims
	Place  venue.Place
}

// Carriage is the carriage the code names, "" when none.
func (s Scan) Carriage() string {
	if s.Claims.Carriage == 0 {
		return ""
	}
	return fmt.Sprint(s.Claims.Carriage)
}

// Resolve verifies the place code in text (see ParseScan) as of at and
// finds its place, which must exist and take check-ins. It fails with a
// *Refusal.
func (s *Service) Resolve(ctx context.Context, text string, at time.Time) (Scan, error) {
	code := ParseScan(text)
	claims, err := s.Codes.VerifyPlaceCode(code, at)
	if err != nil {
		if r := venue.ReasonOf(err); r != "" {
			return Scan{}, &Refusal{Reason: Reason(r), Field: "code", Err: err}
		}
		return Scan{}, err
	}
	p, err := s.place(ctx, claims.PlaceID, map[int64]placeOrErr{})
	if err != nil {
		return Scan{}, err
	}
	return Scan{Code: code, Claims: claims, Place: p}, nil
}

type placeOrErr struct {
	p   venue.Place
	err error
}

// place finds a place that takes check-ins, remembering it in seen.
func (s *Service) place(ctx context.Context, id int64, seen map[int64]placeOrErr) (venue.Place, error) {
	if pe, ok := seen[id]; ok {
		return pe.p, pe.err
	}
	p, err := s.Places.Get(ctx, id)
	switch {
	case errors.Is(err, db.ErrNotFound):
		err = refuse(ReasonUnknownPlace, "code")
	case err != nil:
		err = fmt.Errorf("checkin: place %d: %w", id, err)
	case p.Disabled:
		err = refuse(ReasonPlaceDisabled, "code")
	}
	seen[id] = placeOrErr{p, err}
	return p, err
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// ValidClientID reports whether id is a client id as the pages make them:
// a random UUID in lower case.
func ValidClientID(id string) bool { return uuidRE.MatchString(id) }

// Item is one check-in as a phone sends it.
type Item struct {
	// ClientID is the id the phone gave the check-in: a random UUID in lower
	// case. With TIn it makes the check-in idempotent.
	ClientID string `json:"client_id"`
	// Code is the text of the poster scanned (a place code, or a check-in
	// URL holding one); PlaceID is a registered trip's vehicle instead.
	Code    string `json:"code,omitempty"`
	PlaceID int64  `json:"place_id,omitempty"`
	// TIn and TOut are unix seconds; a zero TOut leaves the stay to the
	// place type's default dwell time.
	TIn      int64  `json:"t_in"`
	TOut     int64  `json:"t_out,omitempty"`
	Carriage string `json:"carriage,omitempty"`
	Seat     string `json:"seat,omitempty"`
	// For is the dependent checked in; zero for the resident themselves.
	For int64 `json:"for,omitempty"`
}

// Status is what became of one item.
type Status string

// The statuses of an item.
const (
	Accepted  Status = "accepted"  // stored now
	Duplicate Status = "duplicate" // stored before (the phone sent it again): the stored check-in stands
	Refused   Status = "refused"   // not stored: see Reason
)

// PlaceView is what a result says of a place.
type PlaceView struct {
	ID            int64      `json:"id"`
	Kind          venue.Kind `json:"kind"`
	Type          venue.Type `json:"type"`
	Name          string     `json:"name"`
	Address       string     `json:"address,omitempty"`
	ServiceNumber string     `json:"service_number,omitempty"`
}

// ViewOf returns the view of p.
func ViewOf(p venue.Place) *PlaceView {
	return &PlaceView{ID: p.ID, Kind: p.Kind, Type: p.Type, Name: p.Name, Address: p.Address, ServiceNumber: p.ServiceNumber}
}

// Result is what became of one item, in the order sent.
type Result struct {
	ClientID string `json:"client_id"`
	TIn      int64  `json:"t_in"`
	Status   Status `json:"status"`
	// Reason and Field say why an item was refused and which of its
	// fields was at fault; Message words the reason (the API fills it in).
	Reason  Reason `json:"reason,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message,omitempty"`
	// For an accepted or duplicate item: whose check-in it is and where; a
	// duplicate's as stored. TOut is zero when the default dwell applies.
	ResidentID int64          `json:"resident_id,omitempty"`
	Place      *PlaceView     `json:"place,omitempty"`
	TOut       int64          `json:"t_out,omitempty"`
	Carriage   string         `json:"carriage,omitempty"`
	Seat       string         `json:"seat,omitempty"`
	Source     tracing.Source `json:"source,omitempty"`
}

// Summary counts the results of a batch.
type Summary struct {
	Accepted  int `json:"accepted"`
	Duplicate int `json:"duplicate"`
	Refused   int `json:"refused"`
}

// Count returns the summary of rs.
func Count(rs []Result) Summary {
	var s Summary
	for _, r := range rs {
		switch r.Status {
		case Accepted:
			s.Accepted++
		case Duplicate:
			s.Duplicate++
		default:
			s.Refused++
		}
	}
	return s
}

// ValidateBatch checks the size of a batch; the items are judged one by
// one by Submit.
func ValidateBatch(items []Item) error {
	switch {
	case len(items) == 0:
		return validation.Field("checkins", "required")
	case len(items) > MaxBatch:
		return validation.Field("checkins", "checkin.batch", "max", MaxBatch)
	}
	return nil
}

// Submit checks in the acting resident (and the dependents items name) and
// reports, item by item, what became of each. Every item is judged on its
// own: a refused item does not stop the others. The accepted ones are
// written with one Ingest, and Submit returns only once they are committed;
// an item already stored (the same client id and check-in time) is
// reported as a duplicate with the check-in as stored, and never stored
// twice. An error means nothing was stored.
func (s *Service) Submit(ctx context.Context, actor rbac.Actor, items []Item) ([]Result, error) {
	if err := ValidateBatch(items); err != nil {
		return nil, err
	}
	self, deps, err := s.people(ctx, actor)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	places := map[int64]placeOrErr{}
	results := make([]Result, len(items))
	checkins := make([]tracing.CheckIn, len(items))
	for i, it := range items {
		results[i] = Result{ClientID: it.ClientID, TIn: it.TIn}
		c, p, err := s.judge(ctx, it, self, deps, now, places)
		if err != nil {
			var r *Refusal
			if !errors.As(err, &r) {
				return nil, err
			}
			results[i].Status, results[i].Reason, results[i].Field = Refused, r.Reason, r.Field
			continue
		}
		checkins[i] = c
		results[i] = Result{ClientID: c.ClientID, TIn: c.TIn, Status: Accepted, ResidentID: c.ResidentID, Place: ViewOf(p),
			TOut: c.TOut, Carriage: c.Carriage, Seat: c.Seat, Source: c.Source}
	}

	// Those stored before, or twice in this batch, are duplicates.
	stored, err := s.stored(ctx, results)
	if err != nil {
		return nil, err
	}
	inBatch := map[storeKey]int{}
	var fresh []tracing.CheckIn
	for i := range results {
		r := &results[i]
		if r.Status != Accepted {
			continue
		}
		k := storeKey{r.TIn, r.ClientID}
		if old, ok := stored[k]; ok {
			if old.ResidentID != r.ResidentID {
				*r = Result{ClientID: r.ClientID, TIn: r.TIn, Status: Refused, Reason: ReasonConflict, Field: "client_id"}
				continue
			}
			r.Status, r.TOut, r.Carriage, r.Seat, r.Source = Duplicate, old.TOut, old.Carriage, old.Seat, old.Source
			if old.PlaceID != r.Place.ID {
				p, err := s.place(ctx, old.PlaceID, places)
				if err != nil && ReasonOf(err) == "" {
					return nil, err
				}
				r.Place = ViewOf(p)
				r.Place.ID = old.PlaceID
			}
			continue
		}
		if first, ok := inBatch[k]; ok {
			if results[first].ResidentID != r.ResidentID {
				*r = Result{ClientID: r.ClientID, TIn: r.TIn, Status: Refused, Reason: ReasonConflict, Field: "client_id"}
			} else {
				r.Status = Duplicate
			}
			continue
		}
		inBatch[k] = i
		fresh = append(fresh, checkins[i])
	}
	if len(fresh) > 0 {
		var w interface {
			Ingest(ctx context.Context, batch []tracing.CheckIn) (int, error)
		} = s.CheckIns
		if s.Writer != nil {
			w = s.Writer
		}
		n, err := w.Ingest(ctx, fresh)
		if err != nil {
			return nil, fmt.Errorf("checkin: submit: %w", err)
		}
		if n < len(fresh) {
			// Some were not written: another request stored the same check-in
			// (same client id and time) between the look-up above and the
			// insert. What is stored now says whose each one is.
			if err := s.settle(ctx, results, inBatch); err != nil {
				return nil, err
			}
		}
	}
	return results, nil
}

// settle reads back the check-ins of a batch the insert did not all write
// and tells each as it is stored: accepted when the row is the caller's
// (written now, or by the caller's own request alongside), refused as a
// conflict when another resident's row holds its client id and time. An
// acknowledgement means the caller's row is stored.
func (s *Service) settle(ctx context.Context, results []Result, fresh map[storeKey]int) error {
	ask := make([]Result, 0, len(fresh))
	for _, i := range fresh {
		ask = append(ask, results[i])
	}
	stored, err := s.stored(ctx, ask)
	if err != nil {
		return err
	}
	for k, i := range fresh {
		r := &results[i]
		row, ok := stored[k]
		switch {
		case !ok:
			return fmt.Errorf("checkin: submit: check-in %s at %d neither written nor stored", k.id, k.tIn)
		case row.ResidentID != r.ResidentID:
			*r = Result{ClientID: r.ClientID, TIn: r.TIn, Status: Refused, Reason: ReasonConflict, Field: "client_id"}
		}
	}
	return nil
}

// people returns the acting resident and the ids of their dependents.
func (s *Service) people(ctx context.Context, actor rbac.Actor) (resident.Resident, map[int64]resident.Resident, error) {
	self, err := s.Residents.Self(ctx, actor)
	if err != nil {
		return resident.Resident{}, nil, err
	}
	ds, err := s.Residents.Residents.Dependents(ctx, self.ID)
	if err != nil {
		return resident.Resident{}, nil, fmt.Errorf("checkin: dependents: %w", err)
	}
	deps := make(map[int64]resident.Resident, len(ds))
	for _, d := range ds {
		deps[d.ID] = d
	}
	return self, deps, nil
}

// judge turns an item into a check-in, or refuses it.
func (s *Service) judge(ctx context.Context, it Item, self resident.Resident, deps map[int64]resident.Resident, now time.Time,
	places map[int64]placeOrErr) (tracing.CheckIn, venue.Place, error) {
	none := func(reason Reason, field string) (tracing.CheckIn, venue.Place, error) {
		return tracing.CheckIn{}, venue.Place{}, refuse(reason, field)
	}
	if !ValidClientID(it.ClientID) {
		return none(ReasonInvalid, "client_id")
	}
	switch tIn := time.Unix(it.TIn, 0); {
	case it.TIn <= 0:
		return none(ReasonInvalid, "t_in")
	case tIn.After(now.Add(ClockSkew)):
		return none(ReasonFuture, "t_in")
	case tIn.Before(now.Add(-s.retention())):
		return none(ReasonTooOld, "t_in")
	}
	if it.TOut != 0 && (it.TOut <= it.TIn || time.Unix(it.TOut, 0).After(now.Add(ClockSkew))) {
		return none(ReasonCheckOut, "t_out")
	}
	who := self.ID
	if it.For != 0 && it.For != self.ID {
		if _, ok := deps[it.For]; !ok {
			return none(ReasonNotDependent, "for")
		}
		who = it.For
	}
	c := tracing.CheckIn{ClientID: it.ClientID, ResidentID: who, TIn: it.TIn, TOut: it.TOut, Carriage: it.Carriage, Seat: it.Seat}
	var p venue.Place
	switch {
	case it.Code != "" && it.PlaceID != 0, it.Code == "" && it.PlaceID == 0:
		return none(ReasonInvalid, "code")
	case it.Code != "":
		code := ParseScan(it.Code)
		claims, err := s.Codes.VerifyPlaceCode(code, time.Unix(it.TIn, 0))
		if err != nil {
			if r := venue.ReasonOf(err); r != "" {
				return none(Reason(r), "code")
			}
			return tracing.CheckIn{}, venue.Place{}, err
		}
		if p, err = s.place(ctx, claims.PlaceID, places); err != nil {
			return tracing.CheckIn{}, venue.Place{}, err
		}
		if claims.Carriage != 0 {
			c.Carriage = fmt.Sprint(claims.Carriage) // the poster's carriage, whatever was typed
		}
		c.Source = tracing.Scan
	default:
		var err error
		if p, err = s.place(ctx, it.PlaceID, places); err != nil {
			if r := (*Refusal)(nil); errors.As(err, &r) {
				r2 := *r
				r2.Field = "place_id"
				return tracing.CheckIn{}, venue.Place{}, &r2
			}
			return tracing.CheckIn{}, venue.Place{}, err
		}
		if p.Kind != venue.Vehicle {
			return none(ReasonNotATrip, "place_id")
		}
		if !p.ServiceDate.IsZero() {
			// Boarded on the service date, or past midnight on a late one.
			on := civil.Of(time.Unix(it.TIn, 0).In(now.Location()))
			if on.Before(p.ServiceDate) || on.After(p.ServiceDate.AddDays(1)) {
				return none(ReasonTripDate, "t_in")
			}
		}
		c.Source = tracing.Trip
	}
	c.PlaceID = p.ID
	if p.Kind != venue.Vehicle && (strings.TrimSpace(c.Carriage) != "" || strings.TrimSpace(c.Seat) != "") {
		return none(ReasonSeat, "seat")
	}
	if err := c.Validate(); err != nil {
		if ve, ok := validation.As(err); ok && len(ve.Fields) > 0 {
			switch f := ve.Fields[0].Field; f {
			case "carriage", "seat":
				return none(ReasonSeat, f)
			default:
				return none(ReasonInvalid, f)
			}
		}
		return tracing.CheckIn{}, venue.Place{}, err
	}
	return c, p, nil
}

// storeKey is the unique key of a stored check-in.
type storeKey struct {
	tIn int64
	id  string
}

// storedRow is a check-in as stored, read by its unique key.
type storedRow struct {
	ClientID   string         `db:"client_id"`
	ResidentID int64          `db:"resident_id"`
	PlaceID    int64          `db:"place_id"`
	TIn        int64          `db:"t_in"`
	TOut       int64          `db:"t_out"`
	Carriage   string         `db:"carriage"`
	Seat       string         `db:"seat"`
	Source     tracing.Source `db:"source"`
}

// stored reads the check-ins already stored under the keys (t_in,
// client_id) of the accepted results, through the table's unique index.
func (s *Service) stored(ctx context.Context, rs []Result) (map[storeKey]storedRow, error) {
	out := map[storeKey]storedRow{}
	var tins []any
	var ids []any
	for _, r := range rs {
		if r.Status == Accepted {
			tins = append(tins, r.TIn)
			ids = append(ids, r.ClientID)
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	defer s.DB.Observe("checkin.stored", time.Now())
	ph := func(n int) string { return "?" + strings.Repeat(", ?", n-1) }
	var rows []storedRow
	q := `SELECT client_id, resident_id, place_id, t_in, t_out, COALESCE(carriage, '') AS carriage, COALESCE(seat, '') AS seat, source
		FROM checkins WHERE t_in IN (` + ph(len(tins)) + `) AND client_id IN (` + ph(len(ids)) + `)`
	if err := db.Select(ctx, s.DB.R, &rows, q, append(slices.Clone(tins), ids...)...); err != nil {
		return nil, fmt.Errorf("checkin: stored check-ins: %w", err)
	}
	for _, row := range rows {
		out[storeKey{row.TIn, row.ClientID}] = row
	}
	return out, nil
}
