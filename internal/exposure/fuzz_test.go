package exposure_test

import (
	"math"
	"testing"
	"unicode/utf8"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/exposure"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// The look-ups' parsers read anyone's input: whatever it is, they either
// return a well-formed query or field errors naming their fields, and never
// panic.

func FuzzParseTripQuery(f *testing.F) {
	for _, s := range [][2]string{{"G1234", "2026-05-14"}, {"g 1234", "2026-05-15"}, {"Ｇ１２３４", "2026-04-15"}, {"", ""},
		{"G-1234", "2026-02-30"}, {"526", "2026-05-16"}, {"\x00", "\xff"}, {"CZ3101", " 2026-05-01 "}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, number, date string) {
		q, err := exposure.ParseTripQuery(number, date, today)
		if err != nil {
			wantFields(t, err, "service_number", "date")
			return
		}
		if !exposure.ValidServiceNumber(q.ServiceNumber) || q.Date.After(today) || q.Date.Before(today.AddDays(-exposure.TripDays)) {
			t.Fatalf("accepted %q, %q as %+v", number, date, q)
		}
		if back, err := civil.Parse(q.Date.String()); err != nil || back != q.Date {
			t.Fatalf("date %v does not round-trip", q.Date)
		}
	})
}

func FuzzParseNearQuery(f *testing.F) {
	for _, s := range [][3]string{{"30.54", "114.31", ""}, {"30.54", "114.31", "1000"}, {"", "", ""}, {"91", "0", ""},
		{"NaN", "Inf", "-1"}, {"1e308", "-1e308", "1e-300"}, {"0x1p-2", "+0", "20000"}, {" 30 ", " 114 ", " 5 "}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, lat, lon, radius string) {
		q, ok, err := exposure.ParseNearQuery(lat, lon, radius)
		if err != nil {
			wantFields(t, err, "lat", "lon", "radius")
			if ok {
				t.Fatal("ok with an error")
			}
			return
		}
		if !ok {
			return
		}
		for _, v := range []float64{q.Lat, q.Lon, q.Radius} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("accepted %q, %q, %q as %+v", lat, lon, radius, q)
			}
		}
		if q.Lat < -90 || q.Lat > 90 || q.Lon < -180 || q.Lon > 180 || q.Radius < 1 || q.Radius > exposure.MaxRadius {
			t.Fatalf("accepted %q, %q, %q as %+v", lat, lon, radius, q)
		}
	})
}

func FuzzParseNameQuery(f *testing.F) {
	for _, s := range []string{"菜市场", "  lakeside ", "", "%_\\", "\x00", "\xff\xfe", "a\tb", "长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := exposure.ParseNameQuery(s)
		if err != nil {
			wantFields(t, err, "q")
			return
		}
		if q == "" || !utf8.ValidString(q) || !validation.Storable(q) || utf8.RuneCountInString(q) > exposure.MaxNameRunes {
			t.Fatalf("accepted %q as %q", s, q)
		}
	})
}

// wantFields fails unless err is field errors, each naming one of fields.
func wantFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	ve, ok := validation.As(err)
	if !ok || len(ve.Fields) == 0 {
		t.Fatalf("error %v is not a field error", err)
	}
	for _, f := range ve.Fields {
		found := false
		for _, name := range fields {
			found = found || f.Field == name
		}
		if !found || f.Code == "" {
			t.Fatalf("field error %+v names none of %v", f, fields)
		}
	}
}
