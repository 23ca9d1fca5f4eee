// Package exposure serves the public look-ups: anyone, signed in or not,
// may ask whether a confirmed case was on a trip or at a place, and see the
// map of places visited lately. Each answer is a place, a date and a time
// window only, and each look-up counts against the client address's limit.
package exposure

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/exposure"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/http/render"
	"github.com/outbreak-platform/outbreak/internal/http/route"
	"github.com/outbreak-platform/outbreak/internal/i18n"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/validation"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

//go:embed templates/*.html
var templates embed.FS

// Handler serves the public look-ups.
type Handler struct {
	rd        *render.Renderer
	t         *render.Templates
	exposures exposure.Store
	codes     *venue.Codes
	// limit counts each look-up against its client address (clientIP).
	limit    *auth.Limiter
	clientIP auth.ClientIP
	// tiles is the map's tile URL template ("" draws it without tiles).
	tiles string
	// areas reads the districts' outlines the map draws the region with;
	// read kept for a minute (cached, cachedAt), so that a crowd opening
	// the map costs the store one read a minute.
	areas    func(context.Context) ([]jurisdiction.Area, error)
	areasMu  sync.Mutex
	cached   []jurisdiction.Area
	cachedAt time.Time
}

// districtAreas returns the districts' outlines, read at most once a minute.
func (h *Handler) districtAreas(ctx context.Context) ([]jurisdiction.Area, error) {
	h.areasMu.Lock()
	defer h.areasMu.Unlock()
	if h.cached != nil && time.Since(h.cachedAt) < time.Minute {
		return h.cached, nil
	}
	as, err := h.areas(ctx)
	if err != nil {
		return nil, err
	}
	h.cached, h.cachedAt = as, time.Now()
	return as, nil
}

// New builds the public look-ups; codes verifies the posters' codes.
func New(rd *render.Renderer, exposures exposure.Store, codes *venue.Codes, limit *auth.Limiter, clientIP auth.ClientIP, tiles string,
	areas func(context.Context) ([]jurisdiction.Area, error)) (*Handler, error) {
	t, err := rd.Parse(templates)
	if err != nil {
		return nil, err
	}
	return &Handler{rd: rd, t: t, exposures: exposures, codes: codes, limit: limit, clientIP: clientIP, tiles: tiles, areas: areas}, nil
}

// Routes lists the public look-ups.
func (h *Handler) Routes() []route.Route {
	return []route.Route{
		route.P("GET /public", route.Anyone, h.Index),
		route.P("GET /public/trips", route.Anyone, h.Trips),
		route.P("GET /public/places", route.Anyone, h.Places),
		route.P("GET /public/map", route.Anyone, h.Map),
		route.A("GET /api/v1/public/exposures", route.Anyone, h.APIExposures),
		route.A("GET /api/v1/public/areas", route.Anyone, h.APIAreas),
	}
}

// publicPlace is a place as the public pages show it.
type publicPlace struct {
	ID      int64
	Name    string
	Type    string
	Windows []string
}

func publicPlaces(l *i18n.Localizer, ps []exposure.Place) []publicPlace {
	out := make([]publicPlace, len(ps))
	for i, p := range ps {
		out[i] = publicPlace{ID: p.ID, Name: p.Name, Type: l.T("venue.type." + string(p.Type))}
		for _, w := range p.Windows {
			out[i].Windows = append(out[i].Windows, w.Text(l))
		}
	}
	return out
}

// allow spends one of the client address's look-ups; when none is left it
// returns the error that says how long to wait.
func (h *Handler) allow(r *http.Request) error {
	ok, wait := h.limit.Allow(h.clientIP.Of(r))
	if ok {
		return nil
	}
	secs := int(wait.Seconds()) + 1
	return &fault.Error{Kind: fault.TooMany, Key: "public.too_many", Args: []any{"Seconds", secs}, RetryAfter: time.Duration(secs) * time.Second}
}

// allowPage is allow for a page, which it answers itself when the limit
// is reached.
func (h *Handler) allowPage(w http.ResponseWriter, r *http.Request, p *render.Page) bool {
	if err := h.allow(r); err != nil {
		h.rd.Error(w, r, p, err)
		return false
	}
	return true
}

func (h *Handler) asOf() string { return h.rd.At(h.rd.Now()) }

// Index lists the public look-ups.
func (h *Handler) Index(w http.ResponseWriter, r *http.Request) {
	p := h.rd.NewPage(w, r, "public.title")
	p.Data = exposure.Days
	h.t.Render(w, r, http.StatusOK, "public_index", p)
}

type tripAnswer struct {
	Service, Date, AsOf string
	Windows             []string // empty: no case reported
}

type tripsData struct {
	Min, Max string // the dates the form accepts
	Answer   *tripAnswer
}

// Trips asks "was a confirmed case on my train, flight or bus?" by
// service number and date, and answers it.
func (h *Handler) Trips(w http.ResponseWriter, r *http.Request) {
	p := h.rd.NewPage(w, r, "public.link.trips")
	if !h.allowPage(w, r, p) {
		return
	}
	q := r.URL.Query()
	p.Form = url.Values{"service_number": {q.Get("service_number")}, "date": {q.Get("date")}}
	today := h.rd.Today()
	d := tripsData{Min: today.AddDays(-exposure.TripDays).String(), Max: today.String()}
	p.Data = d
	if !q.Has("service_number") && !q.Has("date") {
		p.Form.Set("date", today.String())
		h.t.Render(w, r, http.StatusOK, "public_trips", p)
		return
	}
	tq, err := exposure.ParseTripQuery(q.Get("service_number"), q.Get("date"), today)
	if err != nil {
		h.t.Fail(w, r, p, "public_trips", err)
		return
	}
	trip, err := h.exposures.Vehicle(r.Context(), tq.ServiceNumber, tq.Date)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	a := tripAnswer{Service: trip.ServiceNumber, Date: exposure.DateText(p.L, trip.Date), AsOf: h.asOf()}
	for _, win := range trip.Windows {
		a.Windows = append(a.Windows, win.Text(p.L))
	}
	p.Form.Set("service_number", tq.ServiceNumber)
	d.Answer = &a
	p.Data = d
	h.t.Render(w, r, http.StatusOK, "public_trips", p)
}

type placesData struct {
	Days    int
	AsOf    string
	Q       string        // the name asked about; "" when none
	Found   []publicPlace // by name
	Place   *publicPlace  // by poster code
	Vehicle bool          // the poster's place is a vehicle
}

// Places asks "was this place visited by a confirmed case?": by name
// (?q=), listing the places visited lately whose name matches with their
// windows, or by the code of its poster (?code=), verified first.
func (h *Handler) Places(w http.ResponseWriter, r *http.Request) {
	p := h.rd.NewPage(w, r, "public.link.places")
	if !h.allowPage(w, r, p) {
		return
	}
	q := r.URL.Query()
	p.Form = url.Values{"q": {q.Get("q")}, "code": {q.Get("code")}}
	d := placesData{Days: exposure.Days, AsOf: h.asOf()}
	p.Data = d
	switch {
	case q.Has("code"):
		place, err := h.placeByCode(r, q.Get("code"))
		if err != nil {
			h.t.Fail(w, r, p, "public_places", err)
			return
		}
		view := publicPlaces(p.L, []exposure.Place{place})[0]
		d.Place, d.Vehicle = &view, place.Kind == venue.Vehicle
	case q.Has("q"):
		name, err := exposure.ParseNameQuery(q.Get("q"))
		if err != nil {
			h.t.Fail(w, r, p, "public_places", err)
			return
		}
		found, err := h.exposures.PlacesByName(r.Context(), name)
		if err != nil {
			h.rd.Error(w, r, p, err)
			return
		}
		d.Q, d.Found = name, publicPlaces(p.L, found)
	}
	p.Data = d
	h.t.Render(w, r, http.StatusOK, "public_places", p)
}

// placeByCode verifies a scanned or pasted place code — or a link that
// carries one as ?code= — and returns its place's windows.
func (h *Handler) placeByCode(r *http.Request, text string) (exposure.Place, error) {
	text = strings.TrimSpace(text)
	if u, err := url.Parse(text); err == nil && u.Scheme != "" && u.Query().Get("code") != "" {
		text = strings.TrimSpace(u.Query().Get("code"))
	}
	if text == "" {
		return exposure.Place{}, validation.Field("code", "required")
	}
	if len(text) > venue.MaxCodeLen {
		return exposure.Place{}, validation.Field("code", "public.code")
	}
	claims, err := h.codes.VerifyPlaceCode(text, h.rd.Now())
	switch venue.ReasonOf(err) {
	case "":
	case venue.ReasonWrongRegion:
		return exposure.Place{}, validation.Field("code", "public.code_region")
	case venue.ReasonExpired:
		return exposure.Place{}, validation.Field("code", "public.code_expired")
	default:
		return exposure.Place{}, validation.Field("code", "public.code")
	}
	if err != nil {
		return exposure.Place{}, err
	}
	place, err := h.exposures.Place(r.Context(), claims.PlaceID)
	if errors.Is(err, db.ErrNotFound) {
		return exposure.Place{}, validation.Field("code", "public.code_unknown")
	}
	return place, err
}

// mapConfig is what the map's script reads from the page.
type mapConfig struct {
	API    string            `json:"api"`
	Areas  string            `json:"areas"`
	Tiles  string            `json:"tiles,omitempty"`
	Lang   string            `json:"lang"`
	Radius int               `json:"radius"`
	Texts  map[string]string `json:"texts"`
}

type mapData struct {
	Days   int
	AsOf   string
	Places []publicPlace
	Config template.JS // JSON for <script type="application/json">
}

// Map shows the places visited by confirmed cases in the last
// exposure.Days days on a map drawn in the browser (internal/http/render/static/
// map.js, built from web/map) — on a plain background with a scale bar
// unless MapTiles names a tile server — with "within 1 km of me" from the
// browser's location, and the same places as a list beneath it.
func (h *Handler) Map(w http.ResponseWriter, r *http.Request) {
	p := h.rd.NewPage(w, r, "public.link.map")
	if !h.allowPage(w, r, p) {
		return
	}
	all, err := h.exposures.Map(r.Context())
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	l := p.L
	cfg := mapConfig{API: "/api/v1/public/exposures", Areas: "/api/v1/public/areas", Tiles: h.tiles, Lang: l.Lang, Radius: exposure.DefaultRadius,
		Texts: map[string]string{
			"near_title": l.T("public.map.near_title"), "near_none": l.T("public.map.near_none", "Days", exposure.Days),
			"locating": l.T("public.map.locating"), "denied": l.T("public.map.denied"), "unavailable": l.T("public.map.unavailable"),
			"failed": l.T("public.map.failed"), "you": l.T("public.map.you"), "to_list": l.T("public.map.to_list"),
			"too_many": l.T("public.too_many", "Seconds", "{s}"),
		}}
	js, err := json.Marshal(cfg)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	p.Data = mapData{Days: exposure.Days, AsOf: h.asOf(), Places: publicPlaces(l, all), Config: template.JS(js)}
	if src := tileSource(h.tiles); src != "" {
		w = tileCSP{ResponseWriter: w, src: src}
	}
	h.t.Render(w, r, http.StatusOK, "public_map", p)
}

// tileSource returns the Content-Security-Policy source that lets the map
// load images from the tile URL template u: its scheme and host, with a
// {s} subdomain as a wildcard; "" for tiles on this server.
func tileSource(u string) string {
	rest, ok := strings.CutPrefix(u, "https://")
	scheme := "https://"
	if !ok {
		if rest, ok = strings.CutPrefix(u, "http://"); !ok {
			return ""
		}
		scheme = "http://"
	}
	host, _, _ := strings.Cut(rest, "/")
	host = strings.ReplaceAll(host, "{s}", "*")
	if strings.ContainsAny(host, "{}") || strings.Contains(host[min(1, len(host)):], "*") {
		return strings.TrimSuffix(scheme, "//")
	}
	return scheme + host
}

// tileCSP lets the page's images come from the tile server too.
type tileCSP struct {
	http.ResponseWriter
	src string
}

func (t tileCSP) WriteHeader(code int) {
	h := t.Header()
	if csp := h.Get("Content-Security-Policy"); csp != "" {
		h.Set("Content-Security-Policy", strings.Replace(csp, "img-src 'self' data:", "img-src 'self' data: "+t.src, 1))
	}
	t.ResponseWriter.WriteHeader(code)
}

// APIAreas answers the districts' outlines as GeoJSON (?lang=zh|en names
// them), for the map to draw the region with when it has no tiles. It
// holds no one's data; browsers keep it for an hour, the server a minute.
func (h *Handler) APIAreas(w http.ResponseWriter, r *http.Request) {
	as, err := h.districtAreas(r.Context())
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	lang := render.Lang(r)
	if q := r.URL.Query().Get("lang"); q == "zh" || q == "en" {
		lang = q
	}
	type geometry struct {
		Type        string                 `json:"type"`
		Coordinates [][]jurisdiction.Point `json:"coordinates"`
	}
	type feature struct {
		Type       string            `json:"type"`
		Properties map[string]string `json:"properties"`
		Geometry   geometry          `json:"geometry"`
	}
	fs := make([]feature, len(as))
	for i, a := range as {
		fs[i] = feature{Type: "Feature", Properties: map[string]string{"code": a.Code, "name": a.Name(lang)},
			Geometry: geometry{Type: "Polygon", Coordinates: [][]jurisdiction.Point{a.Ring}}}
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	h.rd.JSON(w, r, http.StatusOK, map[string]any{"type": "FeatureCollection", "features": fs})
}
