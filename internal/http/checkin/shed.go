package checkin

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/http/render"
	"github.com/outbreak-platform/outbreak/internal/problem"
)

// IngestPath is the check-in API's batch write, the path a surge comes to.
const IngestPath = "/api/v1/checkins"

// Shed decides the admission of the check-in API's batch writes before
// anything else a request costs: before the session is looked up, before
// the body is read or parsed, before any store read. A request the gate
// turns away gets the smallest answer — a 503 with Retry-After and a short
// problem body made once per language — and one let in carries its slot to
// Ingest, which gives it back as soon as its check-ins are written.
// Requests with no credentials at all pass untouched (the guard answers
// them 401 without work).
func (g *Gate) Shed(rd *render.Renderer, next http.Handler) http.Handler {
	bodies := &shedBodies{rd: rd}
	retry := strconv.Itoa(int(gateRetryAfter.Seconds()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != IngestPath || !auth.Credentialed(r) {
			next.ServeHTTP(w, r)
			return
		}
		release, ok := g.Enter(r.Context())
		if !ok {
			h := w.Header()
			h["Retry-After"] = []string{retry}
			h["Content-Type"] = []string{"application/problem+json"}
			h["Cache-Control"] = []string{"no-store"}
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write(bodies.of(render.Lang(r)))
			return
		}
		s := &slot{release: release}
		defer s.give()
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), slotKey{}, s)))
	})
}

// slot is a place at the gate that Shed took for a request.
type slot struct {
	once    sync.Once
	release func()
}

func (s *slot) give() { s.once.Do(s.release) }

type slotKey struct{}

// heldSlot returns the slot Shed took for r, if it did.
func heldSlot(r *http.Request) (func(), bool) {
	s, ok := r.Context().Value(slotKey{}).(*slot)
	if !ok {
		return nil, false
	}
	return s.give, true
}

// shedBodies are the problem bodies of a shed request, one per language,
// each made once.
type shedBodies struct {
	rd *render.Renderer
	m  sync.Map // lang → []byte
}

func (b *shedBodies) of(lang string) []byte {
	if v, ok := b.m.Load(lang); ok {
		return v.([]byte)
	}
	l := b.rd.Catalog.For(lang)
	body, _ := json.Marshal(problem.Details{Type: render.ProblemType(errGate.Key), Title: http.StatusText(http.StatusServiceUnavailable),
		Status: http.StatusServiceUnavailable, Detail: l.T(errGate.Key)})
	body = append(body, '\n')
	b.m.Store(lang, body)
	return body
}
