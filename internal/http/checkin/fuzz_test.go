package checkin_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/checkin"
	checkinhttp "github.com/outbreak-platform/outbreak/internal/http/checkin"
)

// FuzzDecodeBatch reads arbitrary bodies as POST /api/v1/checkins does. It
// must not panic; a body it accepts holds 1 to MaxBatch check-ins, within
// the size cap, and reads back the same once written again (no field is
// lost or invented on the way in).
func FuzzDecodeBatch(f *testing.F) {
	for _, s := range []string{
		`{"checkins":[{"client_id":"0b0e3a52-9f3c-4e7b-8a59-1d1f2a3b4c5d","code":"OBP1:RRQT","t_in":1700000000}]}`,
		`{"checkins":[{"client_id":"x","place_id":3,"t_in":1,"t_out":2,"carriage":"5","seat":"12A","for":7}]}`,
		`{"checkins":[]}`, `{"checkins":null}`, `{}`, `[]`, `null`, `{"checkins":[{}]}{}`, `{"checkins":[{"t_in":1e99}]}`,
		`{"checkins":[{"client_id":"\u0000"}],"extra":1}`, "\xff", `{"checkins":[` + strings.Repeat(`{},`, 600) + `{}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/checkins", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		items, err := checkinhttp.DecodeBatch(httptest.NewRecorder(), r)
		if err != nil {
			if items != nil {
				t.Fatalf("refused %q yet gave %d items", body, len(items))
			}
			return
		}
		if len(items) == 0 || len(items) > checkin.MaxBatch || len(body) > 640<<10 {
			t.Fatalf("accepted a batch of %d items, %d bytes", len(items), len(body))
		}
		again, err := json.Marshal(checkinhttp.Batch{CheckIns: items})
		if err != nil {
			t.Fatal(err)
		}
		r = httptest.NewRequest(http.MethodPost, "/api/v1/checkins", bytes.NewReader(again))
		r.Header.Set("Content-Type", "application/json")
		back, err := checkinhttp.DecodeBatch(httptest.NewRecorder(), r)
		if err != nil || !reflect.DeepEqual(back, items) {
			t.Fatalf("%q read back as %+v (%v), was %+v", again, back, err, items)
		}
	})
}
