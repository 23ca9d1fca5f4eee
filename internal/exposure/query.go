package exposure

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/validation"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

// The look-ups' input comes from anyone: a form, a query string, a scanned
// poster. These parse it, reporting every problem as a field error.

var serviceNumberRE = regexp.MustCompile(`^[A-Z0-9]{1,10}$`)

// ValidServiceNumber reports whether s, normalised, can be a service
// number: 1 to 10 letters or digits (the registry's rule).
func ValidServiceNumber(s string) bool { return serviceNumberRE.MatchString(s) }

// TripQuery asks about one service on one day.
type TripQuery struct {
	ServiceNumber string // normalised
	Date          civil.Date
}

// ParseTripQuery reads a service number and a date (YYYY-MM-DD) asked
// about on day today: the date may be neither in the future nor more than
// TripDays days ago.
func ParseTripQuery(serviceNumber, date string, today civil.Date) (TripQuery, error) {
	var e validation.Errors
	q := TripQuery{ServiceNumber: venue.NormalizeServiceNumber(serviceNumber)}
	switch {
	case !validation.Storable(serviceNumber), q.ServiceNumber != "" && !ValidServiceNumber(q.ServiceNumber):
		q.ServiceNumber = ""
		e.Add("service_number", "venue.service_number")
	case q.ServiceNumber == "":
		e.Add("service_number", "required")
	}
	date = strings.TrimSpace(date)
	switch d, err := civil.Parse(date); {
	case date == "":
		e.Add("date", "required")
	case err != nil:
		e.Add("date", "public.date")
	case d.After(today):
		e.Add("date", "public.date_future")
	case d.Before(today.AddDays(-TripDays)):
		e.Add("date", "public.date_too_old", "days", TripDays)
	default:
		q.Date = d
	}
	return q, e.Err()
}

// MaxNameRunes is the longest name query.
const MaxNameRunes = 50

// ParseNameQuery reads a place-name query: 1 to MaxNameRunes characters
// of text, trimmed.
func ParseNameQuery(q string) (string, error) {
	q = strings.TrimSpace(q)
	switch {
	case q == "":
		return "", validation.Field("q", "required")
	case !validation.Storable(q) || utf8.RuneCountInString(q) > MaxNameRunes || strings.IndexFunc(q, unicode.IsControl) >= 0:
		return "", validation.Field("q", "public.name", "max", MaxNameRunes)
	}
	return q, nil
}

// NearQuery asks for the places within Radius metres of a point.
type NearQuery struct {
	Lat, Lon, Radius float64
}

// ParseNearQuery reads a point and a radius in metres from text, as a query
// string gives them. With no latitude and no longitude, ok is false: the
// question is about everywhere. The radius defaults to DefaultRadius and
// may be 1 to MaxRadius.
func ParseNearQuery(lat, lon, radius string) (q NearQuery, ok bool, err error) {
	lat, lon, radius = strings.TrimSpace(lat), strings.TrimSpace(lon), strings.TrimSpace(radius)
	var e validation.Errors
	num := func(s string, lo, hi float64) (float64, bool) {
		if len(s) > 32 {
			return 0, false
		}
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil && !math.IsNaN(v) && v >= lo && v <= hi
	}
	q.Radius = DefaultRadius
	if radius != "" {
		var good bool
		if q.Radius, good = num(radius, 1, MaxRadius); !good {
			e.Add("radius", "public.radius", "max", MaxRadius)
		}
	}
	if lat == "" && lon == "" {
		return NearQuery{}, false, e.Err()
	}
	var good bool
	switch q.Lat, good = num(lat, -90, 90); {
	case lat == "":
		e.Add("lat", "required")
	case !good:
		e.Add("lat", "venue.latitude")
	}
	switch q.Lon, good = num(lon, -180, 180); {
	case lon == "":
		e.Add("lon", "required")
	case !good:
		e.Add("lon", "venue.longitude")
	}
	if err := e.Err(); err != nil {
		return NearQuery{}, false, err
	}
	return q, true, nil
}
