// Package venue is the registry of places people check in at — venues such
// as a shop or a residential compound's entrance, and vehicles: a train,
// flight or coach on a service number and date, or a bus line — and their
// printable posters, each with a QR code that carries a signed place code.
//
// Who registers what is a rule of this package (MayRegister, MayManage); the
// HTTP guard in front of it is the caller's.
package venue

import (
	"database/sql"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/width"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// Kind says whether a place stays put or moves.
type Kind string

const (
	Venue   Kind = "venue"
	Vehicle Kind = "vehicle"
)

// Type is what a place is.
type Type string

// Venue types.
const (
	Shop              Type = "shop"
	Restaurant        Type = "restaurant"
	Office            Type = "office"
	School            Type = "school"
	Hospital          Type = "hospital"
	Station           Type = "station"
	CompoundEntrance  Type = "compound_entrance"
	VillageCheckpoint Type = "village_checkpoint"
)

// Vehicle types.
const (
	Train  Type = "train"
	Flight Type = "flight"
	Coach  Type = "coach"
	Bus    Type = "bus"
)

// VenueTypes and VehicleTypes list the types of each kind, in the order a
// form shows them.
var (
	VenueTypes   = []Type{Shop, Restaurant, Office, School, Hospital, Station, CompoundEntrance, VillageCheckpoint}
	VehicleTypes = []Type{Train, Flight, Coach, Bus}
)

// Kind returns the kind of places of type t, or "" for an unknown type.
func (t Type) Kind() Kind {
	switch {
	case slices.Contains(VenueTypes, t):
		return Venue
	case slices.Contains(VehicleTypes, t):
		return Vehicle
	}
	return ""
}

// Valid reports whether t is a known type.
func (t Type) Valid() bool { return t.Kind() != "" }

// Community reports whether places of type t are run by the community —
// the gates of residential compounds and the checkpoints on village roads —
// and so registered by its community workers rather than by an owner.
func (t Type) Community() bool { return t == CompoundEntrance || t == VillageCheckpoint }

// Dated reports whether a vehicle of type t needs a service date: a train,
// a flight or a coach is one trip on one day; a bus line may run every day.
func (t Type) Dated() bool { return t == Train || t == Flight || t == Coach }

// Place is a venue or a vehicle.
type Place struct {
	ID      int64  `db:"id" json:"id"`
	Kind    Kind   `db:"kind" json:"kind"`
	Type    Type   `db:"type" json:"type"`
	Name    string `db:"name" json:"name"`
	Address string `db:"address" json:"address,omitempty"`
	// Latitude and Longitude are WGS 84 degrees; nil for most vehicles.
	Latitude       *float64      `db:"latitude" json:"latitude,omitempty"`
	Longitude      *float64      `db:"longitude" json:"longitude,omitempty"`
	JurisdictionID int64         `db:"jurisdiction_id" json:"-"`
	OwnerAccountID sql.NullInt64 `db:"owner_account_id" json:"-"`
	// ServiceNumber identifies a vehicle's service: G1234, CZ3101, 526.
	ServiceNumber string `db:"service_number" json:"service_number,omitempty"`
	// ServiceDate is a trip's date; zero for a venue and for a bus line
	// that runs every day.
	ServiceDate civil.Date `db:"service_date" json:"service_date,omitzero"`
	CreatedBy   int64      `db:"created_by" json:"-"`
	CreatedAt   time.Time  `db:"created_at" json:"created_at"`
	Disabled    bool       `db:"disabled" json:"disabled"`

	// From its jurisdiction.
	JurisdictionCode   string `db:"jurisdiction_code" json:"jurisdiction_code"`
	JurisdictionPath   string `db:"jurisdiction_path" json:"-"`
	JurisdictionNameZH string `db:"jurisdiction_name_zh" json:"jurisdiction_name_zh"`
	JurisdictionNameEN string `db:"jurisdiction_name_en" json:"jurisdiction_name_en"`
}

// JurisdictionName returns the name of the place's jurisdiction in lang.
func (p Place) JurisdictionName(lang string) string {
	if lang == "en" {
		return p.JurisdictionNameEN
	}
	return p.JurisdictionNameZH
}

// Limits on a place's fields.
const (
	MaxNameRunes    = 100
	MaxAddressRunes = 200
	// TripDaysBack and TripDaysAhead bound a trip's service date around
	// today: a trip is registered at most a year after it ran (tracing
	// looks back weeks, a correction may come later) and a month before.
	TripDaysBack  = 365
	TripDaysAhead = 30
)

var serviceNumberRE = regexp.MustCompile(`^[A-Z0-9]{1,10}$`)

// NormalizeServiceNumber upper-cases a service number, narrows full-width
// characters (a Chinese input method types "Ｇ１２３４") and drops the spaces
// people type inside it: "cz 3101" is CZ3101.
func NormalizeServiceNumber(s string) string {
	return strings.ToUpper(strings.Join(strings.Fields(width.Narrow.String(s)), ""))
}

// New is the input to register a place. Its kind follows from its type.
type New struct {
	Type      Type     `json:"type"`
	Name      string   `json:"name"`
	Address   string   `json:"address"`
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
	// JurisdictionCode is where the place is: a community for a venue;
	// any jurisdiction (a city, usually) for a vehicle.
	JurisdictionCode string     `json:"jurisdiction_code"`
	ServiceNumber    string     `json:"service_number"`
	ServiceDate      civil.Date `json:"service_date"`
}

// Validate checks the fields that need no store and normalises them; today
// is the date in the region. It reports every problem at once.
func (n *New) Validate(today civil.Date) error {
	var e validation.Errors
	n.Name = strings.TrimSpace(n.Name)
	n.Address = strings.TrimSpace(n.Address)
	n.JurisdictionCode = strings.TrimSpace(n.JurisdictionCode)
	n.ServiceNumber = NormalizeServiceNumber(n.ServiceNumber)
	kind := n.Type.Kind()
	if kind == "" {
		e.Add("type", "venue.type")
	}
	if c := utf8.RuneCountInString(n.Name); c == 0 || c > MaxNameRunes || !validation.PlainText(n.Name) {
		e.Add("name", "venue.name", "max", MaxNameRunes)
	}
	switch c := utf8.RuneCountInString(n.Address); {
	case c == 0 && kind == Venue:
		e.Add("address", "required")
	case c > MaxAddressRunes || !validation.PlainText(n.Address):
		e.Add("address", "venue.address", "max", MaxAddressRunes)
	}
	switch {
	case n.Latitude == nil && n.Longitude == nil:
		if kind == Venue {
			e.Add("latitude", "venue.coordinates_required")
		}
	case n.Latitude == nil || n.Longitude == nil:
		e.Add("latitude", "venue.coordinates")
	default:
		if lat := *n.Latitude; math.IsNaN(lat) || lat < -90 || lat > 90 {
			e.Add("latitude", "venue.latitude")
		}
		if lon := *n.Longitude; math.IsNaN(lon) || lon < -180 || lon > 180 {
			e.Add("longitude", "venue.longitude")
		}
	}
	if n.JurisdictionCode == "" {
		e.Add("jurisdiction_code", "required")
	}
	switch kind {
	case Venue:
		if n.ServiceNumber != "" {
			e.Add("service_number", "venue.not_a_vehicle")
		}
		if !n.ServiceDate.IsZero() {
			e.Add("service_date", "venue.not_a_vehicle")
		}
	case Vehicle:
		switch {
		case n.ServiceNumber == "":
			e.Add("service_number", "required")
		case !serviceNumberRE.MatchString(n.ServiceNumber):
			e.Add("service_number", "venue.service_number")
		}
		switch d := n.ServiceDate; {
		case d.IsZero():
			if n.Type.Dated() {
				e.Add("service_date", "required")
			}
		case d.Before(today.AddDays(-TripDaysBack)) || d.After(today.AddDays(TripDaysAhead)):
			e.Add("service_date", "venue.service_date", "back", TripDaysBack, "ahead", TripDaysAhead)
		}
	}
	return e.Err()
}

// MayRegister reports whether a may register places of type t, scope aside:
// a resident registers its own venues (shops, restaurants, offices...); a
// community worker the compound entrances and village checkpoints of its
// communities; an admin the vehicles and trips.
func MayRegister(a rbac.Actor, t Type) bool {
	switch {
	case t.Kind() == Vehicle:
		return a.Role == rbac.Admin && a.ScopePath != ""
	case t.Community():
		return a.Role == rbac.CommunityWorker && a.ScopePath != ""
	case t.Kind() == Venue:
		return a.Role == rbac.Resident && a.AccountID != 0
	}
	return false
}

// RegisterableTypes lists the types a may register, for a form.
func RegisterableTypes(a rbac.Actor) []Type {
	var ts []Type
	for _, t := range append(slices.Clip(VenueTypes), VehicleTypes...) {
		if MayRegister(a, t) {
			ts = append(ts, t)
		}
	}
	return ts
}

// MayRegisterAt reports whether a may register a place of type t in
// jurisdiction j: staff within their scope; a resident anywhere (its shop
// need not be where it lives). A venue lies in a community; a vehicle in
// any jurisdiction.
func MayRegisterAt(a rbac.Actor, t Type, j jurisdiction.Jurisdiction) bool {
	if !MayRegister(a, t) {
		return false
	}
	if t.Kind() == Venue && j.Level != jurisdiction.Community {
		return false
	}
	return a.Role == rbac.Resident || jurisdiction.InScope(a.ScopePath, j.Path)
}

// MayManage reports whether a may change p (disable it, print its
// posters): the resident who owns it, or staff who could register it, in
// their scope.
func MayManage(a rbac.Actor, p Place) bool {
	if !MayRegister(a, p.Type) {
		return false
	}
	if a.Role == rbac.Resident {
		return p.OwnerAccountID.Valid && p.OwnerAccountID.Int64 == a.AccountID
	}
	return jurisdiction.InScope(a.ScopePath, p.JurisdictionPath)
}
