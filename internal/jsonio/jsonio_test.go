package jsonio

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/fault"
)

type sample struct {
	Name string     `json:"name"`
	N    int        `json:"n"`
	Day  civil.Date `json:"day"`
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		body, ctype string
		kind        fault.Kind
	}{
		{`{"name":"a","n":1,"day":"2020-02-03"}`, "application/json", fault.Internal},
		{`{"name":"a"}`, "text/plain", fault.Unsupported},
		{`{"name":`, "application/json", fault.Malformed},
		{`{"name":"a"} {"name":"b"}`, "application/json", fault.Malformed},
		{`{"nam":"a"}`, "application/json", fault.Malformed},
		{`{"n":"x"}`, "application/json", fault.Malformed},
		{`{"day":"2020-02-30"}`, "application/json", fault.Malformed},
		{``, "application/json", fault.Malformed},
		{`{"name":"` + strings.Repeat("a", MaxBody) + `"}`, "application/json", fault.TooLarge},
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
		r.Header.Set("Content-Type", tc.ctype)
		var s sample
		err := Decode(httptest.NewRecorder(), r, &s)
		switch {
		case tc.kind == fault.Internal && err != nil:
			t.Errorf("%.40q: %v", tc.body, err)
		case tc.kind != fault.Internal && fault.KindOf(err) != tc.kind:
			t.Errorf("%.40q: err = %v (%v), want %v", tc.body, err, fault.KindOf(err), tc.kind)
		}
		if key, _ := fault.Message(err); err != nil && key == "" {
			t.Errorf("%.40q: err %v names no message", tc.body, err)
		}
	}
}

// FuzzDecode checks that no body makes the decoder panic or fail with
// anything but an error of the caller's (a kind, with a message).
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
		if k := fault.KindOf(err); k == fault.Internal || k == fault.Unavailable {
			t.Fatalf("body %q: error %v is not the caller's (kind %v)", body, err, k)
		}
		if key, _ := fault.Message(err); key == "" {
			t.Fatalf("body %q: error %v names no message", body, err)
		}
	})
}
