package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDrive: every request offered is counted once, as accepted (a 2xx
// the judge takes), shed (429/503 with Retry-After), or other (a 503
// without Retry-After, a 500).
func TestDrive(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, _ := strconv.Atoi(r.URL.Query().Get("i"))
		switch i % 4 {
		case 0:
			w.Write([]byte(`{"accepted":1}`))
		case 1:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	g := &Drive{Addr: strings.TrimPrefix(srv.URL, "http://"), MaxConns: 100,
		Req: func(i int) []byte { return []byte("GET /?i=" + strconv.Itoa(i) + " HTTP/1.1\r\nHost: x\r\n\r\n") }}
	defer g.Close()
	r := g.Run(context.Background(), 0, 400, time.Second)
	if r.Offered != 400 || r.Dropped != 0 || r.Accepted != 100 || r.Shed != 100 || r.Other != 200 {
		t.Fatalf("offered %d, dropped %d, accepted %d, shed %d, other %d; want 400, 0, 100, 100, 200", r.Offered, r.Dropped, r.Accepted, r.Shed, r.Other)
	}
	if r.AcceptedLatency.Count != 100 {
		t.Fatalf("accepted latencies: %d", r.AcceptedLatency.Count)
	}
}
