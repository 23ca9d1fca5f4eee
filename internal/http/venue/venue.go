// Package venue serves places: a resident's own venues; the compound
// entrances, village checkpoints, vehicles and trips staff register in
// their scope; their posters to print; the visitor form of a compound
// entrance and the community worker's list of its visitors.
package venue

import (
	"crypto/rand"
	"embed"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/http/render"
	"github.com/outbreak-platform/outbreak/internal/http/route"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/list"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/tracing"
	"github.com/outbreak-platform/outbreak/internal/validation"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

//go:embed templates/*.html
var templates embed.FS

// Handler serves the place pages and API.
type Handler struct {
	rd       *render.Renderer
	t        *render.Templates
	registry *venue.Registry
	codes    *venue.Codes
	visitors *venue.Visitors
	checkIns *tracing.Store
	juris    jurisdiction.Store
}

// New builds the place area. A visit registered at a compound entrance is
// also a check-in there (checkIns).
func New(rd *render.Renderer, registry *venue.Registry, codes *venue.Codes, visitors *venue.Visitors, checkIns *tracing.Store,
	juris jurisdiction.Store) (*Handler, error) {
	t, err := rd.Parse(templates)
	if err != nil {
		return nil, err
	}
	return &Handler{rd: rd, t: t, registry: registry, codes: codes, visitors: visitors, checkIns: checkIns, juris: juris}, nil
}

// Registrar lets in whoever may register a place of some type: residents
// their own venues, community workers compound entrances and village
// checkpoints, admins vehicles (venue.MayRegister). Each manages and
// prints what it registered, in scope (venue.MayManage, checked by the
// registry).
var Registrar = route.NewGuard("may register places", func(p *auth.Principal) bool {
	return p != nil && len(venue.RegisterableTypes(p.Actor)) > 0
})

// Routes lists the place pages and API. Any staff member may search the
// places in scope through the API. A visitor at a compound entrance says
// whom they visit; the community worker sees the list (each visitor shown
// is a logged read).
func (h *Handler) Routes() []route.Route {
	reader := route.Or(route.Resident, route.Staff)
	return []route.Route{
		route.P("GET /places", Registrar, h.List),
		route.P("GET /places/new", Registrar, h.Form),
		route.P("POST /places", Registrar, h.Create),
		route.P("GET /places/{id}", Registrar, h.Page),
		route.P("GET /places/{id}/poster.svg", Registrar, h.Poster),
		route.P("GET /places/{id}/poster.pdf", Registrar, h.Poster),
		route.P("GET /places/{id}/print", Registrar, h.Print),
		route.P("POST /places/{id}/disable", Registrar, h.Disable),
		route.P("POST /places/{id}/enable", Registrar, h.Enable),
		route.P("GET /visit/{placeID}", route.Resident, h.t.Show("visit", h.visitPage)),
		route.P("POST /visit/{placeID}", route.Resident, h.Visit),
		route.P("GET /staff/visitors", route.Can(rbac.ResidentRead), h.VisitorList), // community workers only: venue.MayListVisitors

		route.A("POST /api/v1/places", Registrar, h.APIRegister),
		route.A("GET /api/v1/places", reader, h.APIList),
		route.A("GET /api/v1/places/{id}", reader, h.APIGet),
		route.A("GET /api/v1/places/{id}/poster.svg", Registrar, h.APIPoster),
		route.A("GET /api/v1/places/{id}/poster.pdf", Registrar, h.APIPoster),
		route.A("POST /api/v1/places/{id}/disable", Registrar, h.APIDisable),
		route.A("POST /api/v1/places/{id}/enable", Registrar, h.APIEnable),
	}
}

// managed reads the place of the path, which the signed-in actor must be
// allowed to manage.
func (h *Handler) managed(r *http.Request) (venue.Place, error) {
	id, err := render.PathID(r, "id")
	if err != nil {
		return venue.Place{}, err
	}
	return h.registry.Managed(r.Context(), auth.From(r.Context()).Actor, id)
}

type placeRow struct {
	venue.Place
	Manage bool // the reader may open its page
}

type listData struct {
	Staff       bool
	CanRegister bool
	Places      []placeRow
	Pager       render.Pager
}

// filterOf reads the list's filters: ?q= (a name prefix), ?kind=venue|vehicle,
// ?disabled=1 to include the disabled ones.
func filterOf(q url.Values, limit int) venue.Filter {
	f := venue.Filter{NamePrefix: strings.TrimSpace(q.Get("q")), Kind: venue.Kind(q.Get("kind")), IncludeDisabled: q.Get("disabled") == "1", Limit: limit}
	if f.Kind != "" && f.Kind != venue.Venue && f.Kind != venue.Vehicle {
		f.Kind = ""
	}
	return f
}

// List lists a resident's own places, or the places in a staff member's
// scope that the filters match.
func (h *Handler) List(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context()).Actor
	title := "place.mine"
	if a.Role.IsStaff() {
		title = "place.title"
	}
	p := h.rd.NewPage(w, r, title)
	p.Form = r.URL.Query()
	d := listData{Staff: a.Role.IsStaff(), CanRegister: len(venue.RegisterableTypes(a)) > 0}
	f := filterOf(p.Form, list.DefaultLimit)
	pg, err := render.PageOf(r)
	f.Offset, f.Limit = pg.Offset, pg.Limit
	var ps list.Of[venue.Place]
	if err == nil {
		ps, err = h.registry.List(r.Context(), a, f)
	}
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	for _, pl := range ps.Items {
		d.Places = append(d.Places, placeRow{Place: pl, Manage: venue.MayManage(a, pl)})
	}
	d.Pager = render.Pages(r, ps)
	p.Data = d
	h.t.Render(w, r, http.StatusOK, "places", p)
}

type formData struct {
	Types          []venue.Type
	Venue, Vehicle bool // which fields the form shows
	Jurisdictions  []render.Option
	MaxName        int
	MaxAddress     int
}

// formPage prepares the registration form for the signed-in actor: the
// types it may register and the jurisdictions it may register them in.
func (h *Handler) formPage(w http.ResponseWriter, r *http.Request) (*render.Page, error) {
	p := h.rd.NewPage(w, r, "place.new")
	a := auth.From(r.Context()).Actor
	d := formData{Types: venue.RegisterableTypes(a), MaxName: venue.MaxNameRunes, MaxAddress: venue.MaxAddressRunes}
	p.Data = d
	if len(d.Types) == 0 {
		return p, fault.ErrForbidden
	}
	for _, t := range d.Types {
		d.Venue = d.Venue || t.Kind() == venue.Venue
		d.Vehicle = d.Vehicle || t.Kind() == venue.Vehicle
	}
	scope := a.ScopePath
	if d.Venue && a.Role == rbac.Resident {
		scope = jurisdiction.All // a resident's shop may be anywhere
	}
	js, err := h.juris.Subtree(r.Context(), scope)
	if d.Venue {
		d.Jurisdictions = render.CommunityOptions(js, p.L.Lang)
	} else {
		d.Jurisdictions = render.JurisdictionOptions(js, p.L.Lang, jurisdiction.Province, jurisdiction.City, jurisdiction.District)
	}
	p.Data = d
	return p, err
}

// Form shows the form to register a place.
func (h *Handler) Form(w http.ResponseWriter, r *http.Request) {
	p, err := h.formPage(w, r)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	if d := p.Data.(formData); len(d.Jurisdictions) == 1 {
		p.Form.Set("jurisdiction_code", d.Jurisdictions[0].Code)
	}
	h.t.Render(w, r, http.StatusOK, "place_new", p)
}

// placeInput reads the registration form. Numbers and dates that do not
// parse are field errors, reported with the rest of what is wrong.
func placeInput(f url.Values, today civil.Date) (venue.New, error) {
	n := venue.New{Type: venue.Type(f.Get("type")), Name: f.Get("name"), Address: f.Get("address"),
		JurisdictionCode: f.Get("jurisdiction_code"), ServiceNumber: f.Get("service_number")}
	var e validation.Errors
	coord := func(field string) *float64 {
		s := strings.TrimSpace(f.Get(field))
		if s == "" {
			return nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			e.Add(field, "venue."+field)
			return nil
		}
		return &v
	}
	n.Latitude, n.Longitude = coord("latitude"), coord("longitude")
	if s := strings.TrimSpace(f.Get("service_date")); s != "" {
		d, err := civil.Parse(s)
		if err != nil {
			e.Add("service_date", "invalid")
		}
		n.ServiceDate = d
	}
	if len(e.Fields) == 0 {
		return n, nil
	}
	if ve, ok := validation.As(n.Validate(today)); ok {
		for _, fe := range ve.Fields {
			if !e.Has(fe.Field) {
				e.Fields = append(e.Fields, fe)
			}
		}
	}
	return n, e.Err()
}

// Create registers a place from the form and opens its page.
func (h *Handler) Create(w http.ResponseWriter, r *http.Request) {
	p, err := h.formPage(w, r)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	p.Form = r.PostForm
	a := auth.From(r.Context()).Actor
	n, err := placeInput(r.PostForm, h.rd.Today())
	var created venue.Place
	if err == nil {
		created, err = h.registry.Register(r.Context(), a, n)
	}
	if err != nil {
		h.t.Fail(w, r, p, "place_new", err)
		return
	}
	render.Redirect(w, r, fmt.Sprintf("/places/%d", created.ID), "place.flash_registered")
}

type placeData struct {
	Place       venue.Place
	Coordinates string
	Train       bool
	Carriages   int
	Lang        string // the poster's first language by default
}

// Page shows a place its manager may print posters of, disable or enable.
func (h *Handler) Page(w http.ResponseWriter, r *http.Request) {
	h.placePage(w, r, h.rd.NewPage(w, r, "place.title"), http.StatusOK)
}

func (h *Handler) placePage(w http.ResponseWriter, r *http.Request, p *render.Page, status int) {
	pl, err := h.managed(r)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	p.Title = pl.Name
	d := placeData{Place: pl, Train: pl.Type == venue.Train, Carriages: venue.MaxCarriage, Lang: p.L.Lang}
	if pl.Latitude != nil && pl.Longitude != nil {
		d.Coordinates = fmt.Sprintf("%.6f, %.6f", *pl.Latitude, *pl.Longitude)
	}
	p.Data = d
	h.t.Render(w, r, status, "place", p)
}

// posterQuery reads ?lang= (zh or en; the page's language otherwise) and
// ?carriage= (a train's carriage, 1 to venue.MaxCarriage).
func posterQuery(r *http.Request, pl venue.Place, pageLang string) (lang string, carriage int, err error) {
	q := r.URL.Query()
	var e validation.Errors
	switch lang = q.Get("lang"); lang {
	case "zh", "en":
	case "":
		lang = pageLang
	default:
		e.Add("lang", "invalid")
	}
	if s := q.Get("carriage"); s != "" {
		carriage, err = strconv.Atoi(s)
		if err != nil || carriage < 1 || carriage > venue.MaxCarriage || pl.Type != venue.Train {
			e.Add("carriage", "place.carriage", "max", venue.MaxCarriage)
		}
	}
	return lang, carriage, e.Err()
}

// poster makes the A4 poster of the path's place (or of one carriage of a
// train), as SVG or, for a path ending .pdf, PDF.
func (h *Handler) poster(w http.ResponseWriter, r *http.Request) error {
	pl, err := h.managed(r)
	if err != nil {
		return err
	}
	lang, carriage, err := posterQuery(r, pl, render.Lang(r))
	if err != nil {
		return err
	}
	f := venue.FormatOf(r.URL.Path)
	body, err := h.codes.PosterAs(pl, carriage, lang, f)
	if err != nil {
		return err
	}
	venue.WritePoster(w, pl, carriage, lang, f, body)
	return nil
}

// Poster sends a place's poster as a file to save or print.
func (h *Handler) Poster(w http.ResponseWriter, r *http.Request) {
	if err := h.poster(w, r); err != nil {
		h.rd.Error(w, r, nil, err)
	}
}

type printData struct {
	Place     venue.Place
	PosterURL string
}

// Print shows a place's poster alone on an A4 page, with a button that
// prints it (the browser's print also saves it as a PDF).
func (h *Handler) Print(w http.ResponseWriter, r *http.Request) {
	p := h.rd.NewPage(w, r, "place.print")
	pl, err := h.managed(r)
	if err == nil && pl.Disabled {
		err = venue.ErrDisabled
	}
	var lang string
	var carriage int
	if err == nil {
		lang, carriage, err = posterQuery(r, pl, p.L.Lang)
	}
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	q := url.Values{"lang": {lang}}
	if carriage > 0 {
		q.Set("carriage", strconv.Itoa(carriage))
	}
	p.Data = printData{Place: pl, PosterURL: fmt.Sprintf("/places/%d/poster.svg?%s", pl.ID, q.Encode())}
	h.t.Render(w, r, http.StatusOK, "place_print", p)
}

// Disable takes a place out of service: its posters no longer check anyone
// in.
func (h *Handler) Disable(w http.ResponseWriter, r *http.Request) { h.setDisabled(w, r, true) }

// Enable puts a disabled place back in service.
func (h *Handler) Enable(w http.ResponseWriter, r *http.Request) { h.setDisabled(w, r, false) }

func (h *Handler) setDisabled(w http.ResponseWriter, r *http.Request, disabled bool) {
	p := h.rd.NewPage(w, r, "place.title")
	p.Form = r.PostForm
	id, err := render.PathID(r, "id")
	if err == nil {
		_, err = h.registry.SetDisabled(r.Context(), auth.From(r.Context()).Actor, id, disabled, r.PostFormValue("reason"))
	}
	if ve, ok := validation.As(err); ok {
		render.FieldErrors(p, "", ve)
		h.placePage(w, r, p, http.StatusUnprocessableEntity)
		return
	}
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	flash := "place.flash_enabled"
	if disabled {
		flash = "place.flash_disabled"
	}
	render.Redirect(w, r, fmt.Sprintf("/places/%d", id), flash)
}

type visitData struct {
	Place    venue.Place
	ClientID string
	MaxUnit  int
	MaxName  int
	MaxWhy   int
}

func newVisitClientID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// visitPage prepares the visitor form of the compound entrance {placeID}.
func (h *Handler) visitPage(w http.ResponseWriter, r *http.Request) (*render.Page, error) {
	p := h.rd.NewPage(w, r, "visit.title")
	id, err := render.PathID(r, "placeID")
	if err != nil {
		return p, err
	}
	pl, err := h.registry.Store.Get(r.Context(), id)
	switch {
	case err != nil:
		return p, err
	case pl.Type != venue.CompoundEntrance:
		return p, venue.ErrNotVisitable
	case pl.Disabled:
		return p, venue.ErrDisabled
	}
	p.Data = visitData{Place: pl, ClientID: newVisitClientID(), MaxUnit: venue.MaxHostUnitRunes, MaxName: venue.MaxHostNameRunes,
		MaxWhy: venue.MaxVisitPurposeRunes}
	return p, nil
}

// Visit registers the visit and checks the visitor in at the entrance,
// both under the form's client id.
func (h *Handler) Visit(w http.ResponseWriter, r *http.Request) {
	p, err := h.visitPage(w, r)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	p.Form = r.PostForm
	d := p.Data.(visitData)
	n := venue.NewVisit{HostUnit: r.PostFormValue("host_unit"), HostName: r.PostFormValue("host_name"),
		Purpose: r.PostFormValue("purpose"), ClientID: r.PostFormValue("client_id")}
	if id := strings.TrimSpace(n.ClientID); venue.ValidClientID(id) {
		d.ClientID = id // the form comes back with its errors under the same id
		p.Data = d
	}
	visit, _, err := h.visitors.Register(r.Context(), auth.From(r.Context()).Actor, d.Place.ID, n)
	if err != nil {
		h.t.Fail(w, r, p, "visit", err)
		return
	}
	// A retried form finds its visit and checks in at the same second
	// under the same id: the check-in store keeps it once.
	_, err = h.checkIns.Ingest(r.Context(), []tracing.CheckIn{{ClientID: visit.ClientID, ResidentID: visit.ResidentID,
		PlaceID: visit.PlaceID, TIn: visit.VisitedAt.Unix(), Source: tracing.Scan}})
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	render.Redirect(w, r, "/me", "visit.flash_registered")
}

type visitRow struct {
	venue.Visit
	At string
}

type visitorsData struct {
	Entrances []venue.Place
	Date      string
	Visits    []visitRow
	Listed    bool // a purpose was given and the list read
	Total     int64
	Next      string
}

// VisitorList shows a community worker the visitors of the compound
// entrances in its scope on a day, newest first. The worker says why
// first; each visitor shown is a logged read with that purpose.
func (h *Handler) VisitorList(w http.ResponseWriter, r *http.Request) {
	p := h.rd.NewPage(w, r, "visitors.title")
	a := auth.From(r.Context()).Actor
	if !venue.MayListVisitors(a) {
		h.rd.Error(w, r, p, fault.ErrForbidden)
		return
	}
	q := r.URL.Query()
	p.Form = q
	now := h.rd.Now()
	d := visitorsData{Date: civil.Of(now).String()}
	all, err := h.registry.Store.Search(r.Context(), a.ScopePath, venue.Filter{Kind: venue.Venue, IncludeDisabled: true, Limit: 200})
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	for _, pl := range all {
		if pl.Type == venue.CompoundEntrance {
			d.Entrances = append(d.Entrances, pl)
		}
	}
	p.Data = d
	var e validation.Errors
	day := civil.Of(now)
	if s := strings.TrimSpace(q.Get("date")); s != "" {
		if day, err = civil.Parse(s); err != nil {
			e.Add("date", "invalid")
		} else {
			d.Date = day.String()
		}
	}
	f := venue.VisitFilter{Limit: 200}
	if s := q.Get("place"); s != "" {
		if f.PlaceID, err = strconv.ParseInt(s, 10, 64); err != nil || f.PlaceID <= 0 {
			e.Add("place", "invalid")
		}
	}
	if s := q.Get("before"); s != "" {
		if f.BeforeID, err = strconv.ParseInt(s, 10, 64); err != nil || f.BeforeID <= 0 {
			e.Add("before", "invalid")
		}
	}
	purpose := q.Get("purpose")
	if purpose == "" && len(e.Fields) == 0 {
		p.Data = d // ask why first
		h.t.Render(w, r, http.StatusOK, "visitors", p)
		return
	}
	if err := e.Err(); err != nil {
		p.Data = d
		h.t.Fail(w, r, p, "visitors", err)
		return
	}
	loc := now.Location()
	f.From = time.Date(day.Year, day.Month, day.Day, 0, 0, 0, 0, loc)
	f.To = f.From.AddDate(0, 0, 1)
	vs, err := h.visitors.List(r.Context(), a, f, purpose)
	if err != nil {
		p.Data = d
		h.t.Fail(w, r, p, "visitors", err)
		return
	}
	d.Listed = true
	if d.Total, err = h.visitors.Count(r.Context(), a, f); err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	for _, v := range vs {
		d.Visits = append(d.Visits, visitRow{Visit: v, At: v.VisitedAt.In(loc).Format("15:04")})
	}
	if len(vs) == f.Limit {
		next := url.Values{"date": {d.Date}, "purpose": {purpose}, "before": {strconv.FormatInt(vs[len(vs)-1].ID, 10)}}
		if f.PlaceID != 0 {
			next.Set("place", strconv.FormatInt(f.PlaceID, 10))
		}
		d.Next = "/staff/visitors?" + next.Encode()
	}
	p.Data = d
	h.t.Render(w, r, http.StatusOK, "visitors", p)
}
