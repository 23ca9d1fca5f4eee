package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/jsonio"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/problem"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/validation"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

// The place registry (issue 4): residents register and manage their own
// venues, community workers their compound entrances and village
// checkpoints, admins the vehicles and trips; each may print the posters
// of what they manage. Who may do what is venue's rule (MayRegister,
// MayManage).

// registry works on the store the place codes are kept in, the platform's
// one database.
func (h *Handler) registry() *venue.Registry {
	return &venue.Registry{DB: h.PlaceCodes.DB, Store: h.Places}
}

// placeError maps the place registry's sentinels to problem details.
func placeError(err error) error {
	switch {
	case errors.Is(err, fault.ErrForbidden):
		return problem.New(http.StatusForbidden, "Your role may not register or change this place.")
	case errors.Is(err, venue.ErrDisabled):
		return problem.New(http.StatusConflict, "The place is disabled: enable it to print its posters.")
	}
	return err
}

// PlaceView is a place as the API shows it.
type PlaceView struct {
	venue.Place
	// PosterURL is where its manager downloads its poster.
	PosterURL string `json:"poster_url,omitempty"`
}

func placeView(a rbac.Actor, p venue.Place) PlaceView {
	v := PlaceView{Place: p}
	if venue.MayManage(a, p) && !p.Disabled {
		v.PosterURL = fmt.Sprintf("/api/v1/places/%d/poster.svg", p.ID)
	}
	return v
}

// RegisterPlace registers a place: a resident's venue, a community
// worker's compound entrance or village checkpoint, an admin's vehicle.
func (h *Handler) RegisterPlace(w http.ResponseWriter, r *http.Request) {
	var n venue.New
	if err := jsonio.Decode(w, r, &n); err != nil {
		h.fail(w, r, err)
		return
	}
	a := auth.From(r.Context()).Actor
	p, err := h.registry().Register(r.Context(), a, n)
	if err != nil {
		h.fail(w, r, placeError(err))
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/places/%d", p.ID))
	h.write(w, r, http.StatusCreated, placeView(a, p))
}

// ListPlaces lists a resident's own places, newest first, or the places in
// a staff member's scope by name: ?name= (a prefix), ?kind=venue|vehicle,
// ?include_disabled=true, ?limit= (1 to 200).
func (h *Handler) ListPlaces(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context()).Actor
	q := r.URL.Query()
	var e validation.Errors
	f := venue.Filter{NamePrefix: q.Get("name"), Kind: venue.Kind(q.Get("kind")), Limit: 50}
	if f.Kind != "" && f.Kind != venue.Venue && f.Kind != venue.Vehicle {
		e.Add("kind", "invalid")
	}
	if s := q.Get("include_disabled"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			e.Add("include_disabled", "invalid")
		}
		f.IncludeDisabled = b
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 200 {
			e.Add("limit", "invalid")
		}
		f.Limit = n
	}
	if err := e.Err(); err != nil {
		h.fail(w, r, err)
		return
	}
	var ps []venue.Place
	var err error
	if a.Role == rbac.Resident {
		ps, err = h.Places.ListOwned(r.Context(), a.AccountID)
	} else {
		ps, err = h.Places.Search(r.Context(), a.ScopePath, f)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]PlaceView, len(ps))
	for i, p := range ps {
		out[i] = placeView(a, p)
	}
	h.write(w, r, http.StatusOK, map[string]any{"places": out})
}

// GetPlace returns a place its reader owns, or, for staff, one in scope.
func (h *Handler) GetPlace(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context()).Actor
	p, err := h.pathPlace(r)
	if err == nil && !venue.MayManage(a, p) && !(a.Role.IsStaff() && jurisdiction.InScope(a.ScopePath, p.JurisdictionPath)) {
		err = errPlaceNotFound
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, placeView(a, p))
}

var errPlaceNotFound = problem.New(http.StatusNotFound, "Not found, or not in your jurisdiction.")

func (h *Handler) pathPlace(r *http.Request) (venue.Place, error) {
	id, err := pathID(r)
	if err != nil {
		return venue.Place{}, err
	}
	return h.Places.Get(r.Context(), id)
}

// PlacePoster sends the A4 SVG poster of a place its reader manages:
// ?lang=zh|en (the language shown first), ?carriage= (a train's carriage).
func (h *Handler) PlacePoster(w http.ResponseWriter, r *http.Request) {
	p, err := h.pathPlace(r)
	if err == nil && !venue.MayManage(auth.From(r.Context()).Actor, p) {
		err = fault.ErrForbidden
	}
	if err != nil {
		h.fail(w, r, placeError(err))
		return
	}
	q := r.URL.Query()
	var e validation.Errors
	lang := q.Get("lang")
	switch lang {
	case "zh", "en":
	case "":
		lang = h.lang(r)
	default:
		e.Add("lang", "invalid")
	}
	carriage := 0
	if s := q.Get("carriage"); s != "" {
		carriage, err = strconv.Atoi(s)
		if err != nil || carriage < 1 || carriage > venue.MaxCarriage || p.Type != venue.Train {
			e.Add("carriage", "place.carriage", "max", venue.MaxCarriage)
		}
	}
	if err := e.Err(); err != nil {
		h.fail(w, r, err)
		return
	}
	f := venue.FormatOf(r.URL.Path)
	body, err := h.PlaceCodes.PosterAs(p, carriage, lang, f)
	if err != nil {
		h.fail(w, r, placeError(err))
		return
	}
	venue.WritePoster(w, p, carriage, lang, f, body)
}

// DisablePlace takes a place out of service; the body {"reason": "..."}
// is optional.
func (h *Handler) DisablePlace(w http.ResponseWriter, r *http.Request) {
	h.setPlaceDisabled(w, r, true)
}

// EnablePlace puts a disabled place back in service.
func (h *Handler) EnablePlace(w http.ResponseWriter, r *http.Request) {
	h.setPlaceDisabled(w, r, false)
}

func (h *Handler) setPlaceDisabled(w http.ResponseWriter, r *http.Request, disabled bool) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var body struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 {
		if err := jsonio.Decode(w, r, &body); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	a := auth.From(r.Context()).Actor
	p, err := h.registry().SetDisabled(r.Context(), a, id, disabled, body.Reason)
	if err != nil {
		h.fail(w, r, placeError(err))
		return
	}
	h.write(w, r, http.StatusOK, placeView(a, p))
}
