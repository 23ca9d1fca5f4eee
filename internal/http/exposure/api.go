package exposure

import (
	"net/http"
	"time"

	"github.com/outbreak-platform/outbreak/internal/exposure"
	"github.com/outbreak-platform/outbreak/internal/http/render"
	"github.com/outbreak-platform/outbreak/internal/i18n"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// PublicWindow is a time a confirmed case was at a place.
type PublicWindow struct {
	Date string    `json:"date"` // YYYY-MM-DD, the date of From
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Text string    `json:"text"` // worded in the request's language
}

// PublicPlace is a place visited by a confirmed case, as anyone may see
// it: where, and when — nothing about who, or how many.
type PublicPlace struct {
	ID        int64          `json:"id"`
	Name      string         `json:"name"`
	Type      string         `json:"type"`
	TypeName  string         `json:"type_name"`
	Latitude  float64        `json:"latitude"`
	Longitude float64        `json:"longitude"`
	Distance  *float64       `json:"distance_m,omitempty"` // metres, for a look-up near a point
	DistText  string         `json:"distance_text,omitempty"`
	Windows   []PublicWindow `json:"windows"`
}

// PublicNear is the point and radius a look-up was about.
type PublicNear struct {
	Lat    float64 `json:"lat"`
	Lon    float64 `json:"lon"`
	Radius float64 `json:"radius_m"`
}

// PublicExposures is the answer of GET /api/v1/public/exposures.
type PublicExposures struct {
	AsOf   time.Time     `json:"as_of"`
	Days   int           `json:"days"`
	Near   *PublicNear   `json:"near,omitempty"`
	Places []PublicPlace `json:"places"`
}

// APIExposures lists the venues visited by confirmed cases in the last
// exposure.Days days with their windows — all of them, or with lat and lon
// those within radius metres (default 1000), nearest first. Anyone may
// ask, within the per-address limit; lang (zh or en) words the texts.
func (h *Handler) APIExposures(w http.ResponseWriter, r *http.Request) {
	if err := h.allow(r); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	q := r.URL.Query()
	lang := render.Lang(r)
	switch v := q.Get("lang"); v {
	case "":
	case "zh", "en":
		lang = v
	default:
		h.rd.Problem(w, r, validation.Field("lang", "account.lang"))
		return
	}
	near, isNear, err := exposure.ParseNearQuery(q.Get("lat"), q.Get("lon"), q.Get("radius"))
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	var ps []exposure.Place
	if isNear {
		ps, err = h.exposures.Near(r.Context(), near.Lat, near.Lon, near.Radius)
	} else {
		ps, err = h.exposures.Map(r.Context())
	}
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	l := h.rd.Catalog.For(lang)
	out := PublicExposures{AsOf: h.rd.Now().Truncate(time.Second), Days: exposure.Days, Places: make([]PublicPlace, 0, len(ps))}
	if isNear {
		out.Near = &PublicNear{Lat: near.Lat, Lon: near.Lon, Radius: near.Radius}
	}
	for _, p := range ps {
		out.Places = append(out.Places, apiPlace(l, p, isNear))
	}
	w.Header().Set("Cache-Control", "no-store")
	h.rd.JSON(w, r, http.StatusOK, out)
}

func apiPlace(l *i18n.Localizer, p exposure.Place, near bool) PublicPlace {
	v := PublicPlace{ID: p.ID, Name: p.Name, Type: string(p.Type), TypeName: l.T("venue.type." + string(p.Type)),
		Windows: make([]PublicWindow, 0, len(p.Windows))}
	if p.Latitude != nil && p.Longitude != nil {
		v.Latitude, v.Longitude = *p.Latitude, *p.Longitude
	}
	if near {
		d := float64(int(p.Distance + 0.5))
		v.Distance, v.DistText = &d, exposure.DistanceText(l, p.Distance)
	}
	for _, w := range p.Windows {
		v.Windows = append(v.Windows, PublicWindow{Date: w.Date.String(), From: w.From, To: w.To, Text: w.Text(l)})
	}
	return v
}
