package civil

import (
	"encoding/json"
	"testing"
)

// FuzzParse: no input panics; a date accepted is written back exactly as
// it was read, reads again to itself, and comes through JSON, the store
// (Scan) and the calendar (Time, AddDays) unchanged; JSON and Scan accept
// what Parse accepts and nothing else.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"2020-02-29", "2021-02-29", "2026-12-31", "0000-01-01", "9999-12-31", "2020-1-01", "2020-01-1",
		"20200101", "2020-13-01", "2020-00-10", "2020-04-31", " 2020-01-01", "2020-01-01 ", "+2020-01-01", "-001-01-01",
		"2020-01-01T00:00:00Z", "２０２０-01-01", "", "null"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		quoted, _ := json.Marshal(s)
		var fromJSON Date
		jerr := fromJSON.UnmarshalJSON(quoted)
		if (err == nil) != (jerr == nil) {
			t.Fatalf("Parse(%q) error %v but JSON %s error %v", s, err, quoted, jerr)
		}
		var scanned Date
		serr := scanned.Scan(s)
		if len(s) <= len(layout) && (err == nil) != (serr == nil) {
			t.Fatalf("Parse(%q) error %v but Scan error %v", s, err, serr)
		}
		if err != nil {
			if d != (Date{}) {
				t.Fatalf("Parse(%q) refused but returned %+v", s, d)
			}
			return
		}
		if d.IsZero() {
			t.Fatalf("Parse(%q) accepted the zero date", s)
		}
		if d.String() != s {
			t.Fatalf("Parse(%q) = %s: not written back as read", s, d)
		}
		if again, err := Parse(d.String()); err != nil || again != d {
			t.Fatalf("Parse(%s) = %+v, %v; want %+v", d, again, err, d)
		}
		if fromJSON != d || (len(s) <= len(layout) && scanned != d) {
			t.Fatalf("%q: Parse %+v, JSON %+v, Scan %+v", s, d, fromJSON, scanned)
		}
		b, err := d.MarshalJSON()
		var back Date
		if err != nil || back.UnmarshalJSON(b) != nil || back != d {
			t.Fatalf("%s through JSON %s = %+v, %v", d, b, back, err)
		}
		v, err := d.Value()
		var stored Date
		if err != nil || stored.Scan(v) != nil || stored != d {
			t.Fatalf("%s through the store (%v) = %+v, %v", d, v, stored, err)
		}
		if Of(d.Time()) != d || d.AddDays(1).AddDays(-1) != d || !d.Before(d.AddDays(1)) || !d.AddDays(1).After(d) {
			t.Fatalf("%s: calendar round trip broken", d)
		}
	})
}
