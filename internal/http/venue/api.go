package venue

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/http/render"
	"github.com/outbreak-platform/outbreak/internal/jsonio"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/validation"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

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

// APIRegister registers a place: a resident's venue, a community worker's
// compound entrance or village checkpoint, an admin's vehicle.
func (h *Handler) APIRegister(w http.ResponseWriter, r *http.Request) {
	var n venue.New
	if err := jsonio.Decode(w, r, &n); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	a := auth.From(r.Context()).Actor
	p, err := h.registry.Register(r.Context(), a, n)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/places/%d", p.ID))
	h.rd.JSON(w, r, http.StatusCreated, placeView(a, p))
}

// APIList lists a resident's own places, newest first, or the places in a
// staff member's scope by name: ?name= (a prefix), ?kind=venue|vehicle,
// ?include_disabled=true, ?offset=, ?limit= (1 to 500), with the total.
func (h *Handler) APIList(w http.ResponseWriter, r *http.Request) {
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
	pg, err := render.PageOf(r)
	if ve, ok := validation.As(err); ok {
		e.Fields = append(e.Fields, ve.Fields...)
	}
	f.Offset, f.Limit = pg.Offset, pg.Limit
	if err := e.Err(); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	ps, err := h.registry.List(r.Context(), a, f)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	out := make([]PlaceView, len(ps.Items))
	for i, p := range ps.Items {
		out[i] = placeView(a, p)
	}
	h.rd.JSON(w, r, http.StatusOK, map[string]any{"places": out, "total": ps.Total, "offset": ps.Offset, "limit": ps.Limit})
}

// APIGet returns a place its reader owns, or, for staff, one in scope.
func (h *Handler) APIGet(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context()).Actor
	id, err := render.PathID(r, "id")
	var p venue.Place
	if err == nil {
		p, err = h.registry.Read(r.Context(), a, id)
	}
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusOK, placeView(a, p))
}

// APIPoster sends the A4 poster of a place its reader manages: ?lang=zh|en
// (the language shown first), ?carriage= (a train's carriage).
func (h *Handler) APIPoster(w http.ResponseWriter, r *http.Request) {
	if err := h.poster(w, r); err != nil {
		h.rd.Problem(w, r, err)
	}
}

// APIDisable takes a place out of service; the body {"reason": "..."} is
// optional.
func (h *Handler) APIDisable(w http.ResponseWriter, r *http.Request) { h.apiSetDisabled(w, r, true) }

// APIEnable puts a disabled place back in service.
func (h *Handler) APIEnable(w http.ResponseWriter, r *http.Request) { h.apiSetDisabled(w, r, false) }

func (h *Handler) apiSetDisabled(w http.ResponseWriter, r *http.Request, disabled bool) {
	id, err := render.PathID(r, "id")
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	var body struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 {
		if err := jsonio.Decode(w, r, &body); err != nil {
			h.rd.Problem(w, r, err)
			return
		}
	}
	a := auth.From(r.Context()).Actor
	p, err := h.registry.SetDisabled(r.Context(), a, id, disabled, body.Reason)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusOK, placeView(a, p))
}
