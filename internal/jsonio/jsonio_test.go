package jsonio

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/problem"
)

type sample struct {
	Name string     `json:"name"`
	N    int        `json:"n"`
	Day  civil.Date `json:"day"`
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		body, ctype string
		status      int
	}{
		{`{"name":"a","n":1,"day":"2020-02-03"}`, "application/json", 0},
		{`{"name":"a"}`, "text/plain", 415},
		{`{"name":`, "application/json", 400},
		{`{"name":"a"} {"name":"b"}`, "application/json", 400},
		{`{"nam":"a"}`, "application/json", 400},
		{`{"n":"x"}`, "application/json", 400},
		{`{"day":"2020-02-30"}`, "application/json", 400},
		{``, "application/json", 400},
		{`{"name":"` + strings.Repeat("a", MaxBody) + `"}`, "application/json", 413},
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
		r.Header.Set("Content-Type", tc.ctype)
		var s sample
		err := Decode(httptest.NewRecorder(), r, &s)
		var pe *problem.Error
		switch {
		case tc.status == 0 && err != nil:
			t.Errorf("%.40q: %v", tc.body, err)
		case tc.status != 0 && (!errors.As(err, &pe) || pe.Status != tc.status):
			t.Errorf("%.40q: err = %v, want status %d", tc.body, err, tc.status)
		}
	}
}

// FuzzDecode checks that no body makes the decoder panic or fail with
// anything but a 4xx problem.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"name":"a","n":1,"day":"2020-02-03"}`, `{}`, `[]`, `{"n":1e400}`, `{"day":null}`, "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var s sample
		err := Decode(httptest.NewRecorder(), r, &s)
		if err == nil {
			return
		}
		var pe *problem.Error
		if !errors.As(err, &pe) || pe.Status < 400 || pe.Status >= 500 || pe.Status == http.StatusInternalServerError {
			t.Fatalf("body %q: error %v is not a 4xx problem", body, err)
		}
	})
}
