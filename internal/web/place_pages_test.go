package web

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// FuzzPlaceInput: whatever the registration form sends, placeInput reads
// it without panicking, and what it refuses it refuses with field errors
// on the form's fields.
func FuzzPlaceInput(f *testing.F) {
	f.Add("shop", "解放路菜市场", "解放路 88 号", "30.54", "114.31", "420106001", "", "")
	f.Add("train", "G1234", "", "", "", "4201", "g 1234", "2026-05-01")
	f.Add("shop", "", "", "north", "NaN", "", "", "2026-02-30")
	f.Add("bus", "<b>", "\x00", "1e400", "-Inf", "x", "Ｇ１２３４", "tomorrow")
	fields := []string{"type", "name", "address", "latitude", "longitude", "jurisdiction_code", "service_number", "service_date"}
	today := civil.Date{Year: 2026, Month: 5, Day: 1}
	f.Fuzz(func(t *testing.T, typ, name, address, lat, lon, juris, number, date string) {
		form := url.Values{"type": {typ}, "name": {name}, "address": {address}, "latitude": {lat}, "longitude": {lon},
			"jurisdiction_code": {juris}, "service_number": {number}, "service_date": {date}}
		n, err := placeInput(form, today)
		if err == nil {
			if string(n.Type) != typ || (strings.TrimSpace(lat) == "") != (n.Latitude == nil) || (strings.TrimSpace(lon) == "") != (n.Longitude == nil) {
				t.Fatalf("placeInput(%v) = %+v", form, n)
			}
			return
		}
		ve, ok := validation.As(err)
		if !ok || len(ve.Fields) == 0 {
			t.Fatalf("placeInput = %v, not field errors", err)
		}
		for _, fe := range ve.Fields {
			if !slices.Contains(fields, fe.Field) {
				t.Fatalf("error on field %q, which the form does not have", fe.Field)
			}
		}
	})
}
