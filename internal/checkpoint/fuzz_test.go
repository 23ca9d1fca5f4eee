package checkpoint_test

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/checkin"
	"github.com/outbreak-platform/outbreak/internal/checkpoint"
	"github.com/outbreak-platform/outbreak/internal/jsonio"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// FuzzBatch reads arbitrary bodies as a batch of passages, strictly as the
// API does, and validates what decodes. It must not panic; a failure is a
// field error; a batch that passes holds 1 to MaxBatch passages, each with
// a client id, a time within the window, and, if accepted, a colour, a
// holder, a region and a key.
func FuzzBatch(f *testing.F) {
	now := time.Date(2020, 2, 10, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{
		`{"passages":[{"client_id":"0b0e3a52-9f3c-4e7b-8a59-1d1f2a3b4c5d","seen_at":"2020-02-10T11:00:00Z","result":"accepted","holder":"MFRGGZDFMZTWQ2LK","region":"4201","colour":"green","kid":"AAAAAAAAAAA"}]}`,
		`{"passages":[{"client_id":"0b0e3a52-9f3c-4e7b-8a59-1d1f2a3b4c5d","seen_at":"2020-02-10T11:00:00Z","result":"refused","reason":"bad_signature"}]}`,
		`{"passages":[{"seen_at":"0001-01-01T00:00:00Z"}]}`, `{"passages":[]}`, `{"passages":null}`, `{}`, `null`,
		`{"passages":[{"seen_at":"2020-02-10T11:00:00+14:00","place_id":-1}]}`, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var b checkpoint.Batch
		if err := jsonio.DecodeReader(bytes.NewReader(body), &b); err != nil {
			return
		}
		if err := b.Validate(now); err != nil {
			if _, ok := validation.As(err); !ok {
				t.Fatalf("validation error of the wrong kind: %v", err)
			}
			return
		}
		if len(b.Passages) == 0 || len(b.Passages) > checkpoint.MaxBatch {
			t.Fatalf("accepted %d passages", len(b.Passages))
		}
		for _, p := range b.Passages {
			if !checkin.ValidClientID(p.ClientID) || p.PlaceID < 0 || p.SeenAt.After(now.Add(checkpoint.MaxAhead)) ||
				p.SeenAt.Before(now.Add(-checkpoint.MaxAge)) {
				t.Fatalf("accepted passage %+v", p)
			}
			if p.Result == checkpoint.Accepted && (!slices.Contains(checkpoint.Colours, p.Colour) || p.Holder == "" || p.Region == "" || p.KID == "") {
				t.Fatalf("accepted an accepted passage without its claims: %+v", p)
			}
			if p.Result != checkpoint.Accepted && p.Result != checkpoint.Refused {
				t.Fatalf("accepted result %q", p.Result)
			}
		}
	})
}
