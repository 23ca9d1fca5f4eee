package checkin

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/checkin"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/http/render"
	"github.com/outbreak-platform/outbreak/internal/jsonio"
	"github.com/outbreak-platform/outbreak/internal/tracing"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// Gate is the bounded admission in front of the check-in writes: at most
// a number of them run at once, a few more wait their turn, each for a
// short while, and the rest are turned away at once — so that under
// overload the endpoint answers 503 quickly instead of letting every
// request slow down together (server.observe sheds the whole server the
// same way, at a higher bound).
type Gate struct {
	sem     *semaphore.Weighted
	queue   int64
	wait    time.Duration
	waiting atomic.Int64
}

// NewGate admits concurrent requests at once, lets queue more wait for a
// slot up to wait each, and turns the rest away.
func NewGate(concurrent, queue int, wait time.Duration) *Gate {
	return &Gate{sem: semaphore.NewWeighted(int64(concurrent)), queue: int64(queue), wait: wait}
}

// Enter takes a slot, waiting up to the gate's wait for one, and returns
// the function that gives it back; ok is false when no slot was had: the
// queue was full, the wait ran out, or ctx ended.
func (g *Gate) Enter(ctx context.Context) (release func(), ok bool) {
	if g.sem.TryAcquire(1) {
		return func() { g.sem.Release(1) }, true
	}
	if g.waiting.Add(1) > g.queue {
		g.waiting.Add(-1)
		return nil, false
	}
	defer g.waiting.Add(-1)
	ctx, cancel := context.WithTimeout(ctx, g.wait)
	defer cancel()
	if err := g.sem.Acquire(ctx, 1); err != nil {
		return nil, false
	}
	return func() { g.sem.Release(1) }, true
}

// The check-in API's limits.
const (
	// maxCheckInBody caps a batch: MaxBatch check-ins of under 1 KiB each.
	maxCheckInBody = 640 << 10
	// gateRetryAfter is the Retry-After of a request the gate turned away.
	gateRetryAfter = 2 * time.Second
)

// errGate turns a write away at the gate.
var errGate = &fault.Error{Kind: fault.Unavailable, Key: "error.checkin_busy", Msg: "checkin: the gate is full", RetryAfter: gateRetryAfter}

// The check-in API: a resident's phone sends its check-ins (one, or a
// batch kept while it was offline), check-outs and trips, and reads its
// history. Writes pass a per-account rate limit (429) and the gate (503),
// both with Retry-After; a 200 is written only after the check-ins it
// reports as accepted are committed.

// Batch is the body of POST /api/v1/checkins.
type Batch struct {
	CheckIns []checkin.Item `json:"checkins"`
}

// BatchResult answers a batch: one result per item, in the order sent.
type BatchResult struct {
	Results []checkin.Result `json:"results"`
	checkin.Summary
}

// DecodeBatch reads a batch body strictly and checks its size.
func DecodeBatch(w http.ResponseWriter, r *http.Request) ([]checkin.Item, error) {
	var b Batch
	if err := jsonio.DecodeLimit(w, r, &b, maxCheckInBody); err != nil {
		return nil, err
	}
	if err := checkin.ValidateBatch(b.CheckIns); err != nil {
		return nil, err
	}
	return b.CheckIns, nil
}

// admit applies the account's rate limit and takes a slot at the gate; it
// writes the refusal itself and returns ok false when the request may not
// go on.
func (h *Handler) admit(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	p := auth.From(r.Context())
	if h.perAccount != nil {
		if allowed, wait := h.perAccount.Allow("checkin:" + strconv.FormatInt(p.Actor.AccountID, 10)); !allowed {
			h.rd.Problem(w, r, fault.Limited("error.checkin_too_many", wait))
			return nil, false
		}
	}
	if release, ok = heldSlot(r); ok {
		return release, true
	}
	release, ok = h.gate.Enter(r.Context())
	if !ok {
		h.rd.Problem(w, r, errGate)
		return nil, false
	}
	return release, true
}

// words fills in each refused result's message in the request's language.
func (h *Handler) words(r *http.Request, rs []checkin.Result) {
	l := h.rd.L(r)
	for i := range rs {
		if rs[i].Status == checkin.Refused {
			rs[i].Message = l.T("err.checkin." + string(rs[i].Reason))
		}
	}
}

// Ingest records a batch of check-ins: POST /api/v1/checkins. Admission
// comes first (the slot Shed took, or one taken here), then the body.
func (h *Handler) Ingest(w http.ResponseWriter, r *http.Request) {
	release, ok := h.admit(w, r)
	if !ok {
		return
	}
	items, err := DecodeBatch(w, r)
	if err != nil {
		release()
		h.rd.Problem(w, r, err)
		return
	}
	rs, err := h.svc.Submit(r.Context(), auth.From(r.Context()).Actor, items)
	release()
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.words(r, rs)
	w.Header().Set("Cache-Control", "no-store")
	h.rd.JSON(w, r, http.StatusOK, BatchResult{Results: rs, Summary: checkin.Count(rs)})
}

// CheckOutBody is the body of a check-out: the check-in's time, and when
// the resident left (now when zero).
type CheckOutBody struct {
	TIn  int64 `json:"t_in"`
	TOut int64 `json:"t_out"`
}

// APICheckOut ends a check-in (and those of the dependents checked in
// with it): POST /api/v1/checkins/{client_id}/checkout.
func (h *Handler) APICheckOut(w http.ResponseWriter, r *http.Request) {
	var b CheckOutBody
	if err := jsonio.Decode(w, r, &b); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	at := h.rd.Now()
	if b.TOut != 0 {
		at = time.Unix(b.TOut, 0)
	}
	release, ok := h.admit(w, r)
	if !ok {
		return
	}
	n, err := h.svc.CheckOut(r.Context(), auth.From(r.Context()).Actor, r.PathValue("client_id"), b.TIn, at)
	release()
	if errors.Is(err, tracing.ErrNotFound) {
		err = errNoCheckIn
	}
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusOK, map[string]int{"checked_out": n})
}

var errNoCheckIn = fault.Wrap(fault.NotFound, "error.no_checkin", tracing.ErrNotFound)

// TripBody registers a trip for the resident or a dependent.
type TripBody struct {
	ClientID string `json:"client_id"`
	checkin.Trip
	For int64 `json:"for,omitempty"`
}

// Trip registers a trip by its service number and date: POST
// /api/v1/me/trips. An unknown service number or an impossible date is a
// field error; the trip is stored as a check-in on the vehicle.
func (h *Handler) Trip(w http.ResponseWriter, r *http.Request) {
	var b TripBody
	if err := jsonio.Decode(w, r, &b); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	if !checkin.ValidClientID(b.ClientID) {
		h.rd.Problem(w, r, validation.Field("client_id", "invalid"))
		return
	}
	release, ok := h.admit(w, r)
	if !ok {
		return
	}
	defer release()
	p, tIn, err := h.svc.FindTrip(r.Context(), &b.Trip)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	rs, err := h.svc.Submit(r.Context(), auth.From(r.Context()).Actor, []checkin.Item{{ClientID: b.ClientID, PlaceID: p.ID,
		TIn: tIn, Carriage: b.Carriage, Seat: b.Seat, For: b.For}})
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	if res := rs[0]; res.Status == checkin.Refused {
		field := res.Field
		switch field {
		case "t_in", "place_id":
			field = "date"
		case "code":
			field = "service_number"
		}
		h.rd.Problem(w, r, validation.Field(field, "checkin."+string(res.Reason)))
		return
	}
	h.rd.JSON(w, r, http.StatusOK, rs[0])
}

// CheckInView is a check-in in a resident's history.
type CheckInView struct {
	ClientID string             `json:"client_id"`
	TIn      time.Time          `json:"t_in"`
	TOut     time.Time          `json:"t_out"`
	Place    *checkin.PlaceView `json:"place"`
	Date     civil.Date         `json:"service_date,omitzero"`
	Carriage string             `json:"carriage,omitempty"`
	Seat     string             `json:"seat,omitempty"`
	Source   tracing.Source     `json:"source"`
}

// APIHistory lists the resident's (or with ?resident=ID a dependent's)
// check-ins of the last 14 days, newest first: GET /api/v1/me/checkins.
func (h *Handler) APIHistory(w http.ResponseWriter, r *http.Request) {
	id, err := render.ResidentParam(r)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	who, es, err := h.svc.History(r.Context(), auth.From(r.Context()).Actor, id)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	loc := h.rd.Loc()
	out := make([]CheckInView, len(es))
	for i, e := range es {
		out[i] = CheckInView{ClientID: e.ClientID, TIn: time.Unix(e.TIn, 0).In(loc), TOut: time.Unix(e.TOut, 0).In(loc),
			Place: checkin.ViewOf(e.Place), Date: e.Place.ServiceDate, Carriage: e.Carriage, Seat: e.Seat, Source: e.Source}
	}
	w.Header().Set("Cache-Control", "no-store")
	h.rd.JSON(w, r, http.StatusOK, map[string]any{"resident_id": who.ID, "days": checkin.HistoryDays, "checkins": out})
}
