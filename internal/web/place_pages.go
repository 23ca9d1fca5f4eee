package web

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/tracing"
	"github.com/outbreak-platform/outbreak/internal/validation"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

// The place pages (issue 4): a resident's own venues; the compound
// entrances, village checkpoints, vehicles and trips staff register in
// their scope; posters to print; and the visitor form of a compound
// entrance with the community worker's list of its visitors.

// registry and visitors work on the store the place codes are kept in,
// the platform's one database.
func (h *Handler) registry() *venue.Registry {
	return &venue.Registry{DB: h.PlaceCodes.DB, Store: h.Places}
}

func (h *Handler) visitors() *venue.Visitors {
	return &venue.Visitors{DB: h.PlaceCodes.DB, Access: h.Access, Now: h.Now}
}

// placeFail is fail with the place registry's sentinels mapped to pages.
func (h *Handler) placeFail(w http.ResponseWriter, r *http.Request, p *page, form string, err error) {
	status, key := 0, ""
	switch {
	case errors.Is(err, fault.ErrForbidden):
		status, key = http.StatusForbidden, "error.forbidden"
	case errors.Is(err, venue.ErrDisabled):
		status, key = http.StatusConflict, "place.disabled_note"
	case errors.Is(err, venue.ErrNotVisitable):
		status, key = http.StatusNotFound, "visit.not_visitable"
	}
	if status == 0 {
		h.fail(w, r, p, form, err)
		return
	}
	p.Title, p.Data = p.L.T("error.title"), p.L.T(key)
	h.render(w, r, status, "error", p)
}

// placeOf reads the place named by the path's {id}.
func (h *Handler) placeOf(r *http.Request) (venue.Place, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return venue.Place{}, errNotFound
	}
	return h.Places.Get(r.Context(), id)
}

// managedPlace reads the place of the path, which the signed-in actor must
// be allowed to manage (fault.ErrForbidden otherwise).
func (h *Handler) managedPlace(r *http.Request) (venue.Place, error) {
	p, err := h.placeOf(r)
	if err == nil && !venue.MayManage(auth.From(r.Context()).Actor, p) {
		err = fault.ErrForbidden
	}
	return p, err
}

type placeRow struct {
	venue.Place
	Manage bool // the reader may open its page
}

type placeListData struct {
	Staff       bool
	CanRegister bool
	Places      []placeRow
}

// PlaceList lists a resident's own places, or the places in a staff
// member's scope whose name starts with ?q= (?kind=venue|vehicle,
// ?disabled=1 to include the disabled ones).
func (h *Handler) PlaceList(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context()).Actor
	title := "place.mine"
	if a.Role.IsStaff() {
		title = "place.title"
	}
	p := h.newPage(w, r, title)
	p.Form = r.URL.Query()
	d := placeListData{Staff: a.Role.IsStaff(), CanRegister: len(venue.RegisterableTypes(a)) > 0}
	var ps []venue.Place
	var err error
	if d.Staff {
		f := venue.Filter{NamePrefix: strings.TrimSpace(p.Form.Get("q")), Kind: venue.Kind(p.Form.Get("kind")), IncludeDisabled: p.Form.Get("disabled") == "1", Limit: 200}
		if f.Kind != "" && f.Kind != venue.Venue && f.Kind != venue.Vehicle {
			f.Kind = ""
		}
		ps, err = h.Places.Search(r.Context(), a.ScopePath, f)
	} else {
		ps, err = h.Places.ListOwned(r.Context(), a.AccountID)
	}
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	for _, pl := range ps {
		d.Places = append(d.Places, placeRow{Place: pl, Manage: venue.MayManage(a, pl)})
	}
	p.Data = d
	h.render(w, r, http.StatusOK, "places", p)
}

type placeFormData struct {
	Types          []venue.Type
	Venue, Vehicle bool // which fields the form shows
	Jurisdictions  []option
	MaxName        int
	MaxAddress     int
}

// placeFormPage prepares the registration form for the signed-in actor:
// the types it may register and the jurisdictions it may register them in.
func (h *Handler) placeFormPage(w http.ResponseWriter, r *http.Request) (*page, error) {
	p := h.newPage(w, r, "place.new")
	a := auth.From(r.Context()).Actor
	d := placeFormData{Types: venue.RegisterableTypes(a), MaxName: venue.MaxNameRunes, MaxAddress: venue.MaxAddressRunes}
	p.Data = d
	if len(d.Types) == 0 {
		return p, fault.ErrForbidden
	}
	for _, t := range d.Types {
		d.Venue = d.Venue || t.Kind() == venue.Venue
		d.Vehicle = d.Vehicle || t.Kind() == venue.Vehicle
	}
	var err error
	switch {
	case d.Venue && a.Role == rbac.Resident: // a resident's shop may be anywhere
		d.Jurisdictions, err = h.communityOptions(r, jurisdiction.All, p.L.Lang)
	case d.Venue:
		d.Jurisdictions, err = h.communityOptions(r, a.ScopePath, p.L.Lang)
	default:
		var js []jurisdiction.Jurisdiction
		js, err = h.Jurisdictions.Subtree(r.Context(), a.ScopePath)
		d.Jurisdictions = jurisdictionOptions(js, p.L.Lang, jurisdiction.Province, jurisdiction.City, jurisdiction.District)
	}
	p.Data = d
	return p, err
}

// PlaceForm shows the form to register a place.
func (h *Handler) PlaceForm(w http.ResponseWriter, r *http.Request) {
	p, err := h.placeFormPage(w, r)
	if err != nil {
		h.placeFail(w, r, p, "", err)
		return
	}
	if d := p.Data.(placeFormData); len(d.Jurisdictions) == 1 {
		p.Form.Set("jurisdiction_code", d.Jurisdictions[0].Code)
	}
	h.render(w, r, http.StatusOK, "place_new", p)
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

// PlaceCreate registers a place from the form and opens its page.
func (h *Handler) PlaceCreate(w http.ResponseWriter, r *http.Request) {
	p, err := h.placeFormPage(w, r)
	if err != nil {
		h.placeFail(w, r, p, "", err)
		return
	}
	p.Form = r.PostForm
	a := auth.From(r.Context()).Actor
	n, err := placeInput(r.PostForm, h.today())
	if n.Type.Valid() && !venue.MayRegister(a, n.Type) {
		err = fault.ErrForbidden
	}
	if err != nil {
		h.placeFail(w, r, p, "place_new", err)
		return
	}
	created, err := h.registry().Register(r.Context(), a, n)
	if err != nil {
		h.placeFail(w, r, p, "place_new", err)
		return
	}
	redirect(w, r, fmt.Sprintf("/places/%d", created.ID), "place.flash_registered")
}

type placeData struct {
	Place       venue.Place
	Coordinates string
	Train       bool
	Carriages   int
	Lang        string // the poster's first language by default
}

// PlacePage shows a place its manager may print posters of, disable or
// enable.
func (h *Handler) PlacePage(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "place.title")
	h.placePage(w, r, p, http.StatusOK)
}

func (h *Handler) placePage(w http.ResponseWriter, r *http.Request, p *page, status int) {
	pl, err := h.managedPlace(r)
	if err != nil {
		h.placeFail(w, r, p, "", err)
		return
	}
	p.Title = pl.Name
	d := placeData{Place: pl, Train: pl.Type == venue.Train, Carriages: venue.MaxCarriage, Lang: p.L.Lang}
	if pl.Latitude != nil && pl.Longitude != nil {
		d.Coordinates = fmt.Sprintf("%.6f, %.6f", *pl.Latitude, *pl.Longitude)
	}
	p.Data = d
	h.render(w, r, status, "place", p)
}

// posterQuery reads ?lang= (zh or en; the page's language otherwise) and
// ?carriage= (a train's carriage, 1 to venue.MaxCarriage).
func posterQuery(r *http.Request, pl venue.Place, pageLang string) (lang string, carriage int, err error) {
	q := r.URL.Query()
	switch lang = q.Get("lang"); lang {
	case "zh", "en":
	case "":
		lang = pageLang
	default:
		return "", 0, validation.Field("lang", "invalid")
	}
	if s := q.Get("carriage"); s != "" {
		carriage, err = strconv.Atoi(s)
		if err != nil || carriage < 1 || carriage > venue.MaxCarriage || pl.Type != venue.Train {
			return "", 0, validation.Field("carriage", "place.carriage", "max", venue.MaxCarriage)
		}
	}
	return lang, carriage, nil
}

// PlacePoster sends the A4 poster of a place, or of one carriage of a
// train, as a file to save or print: SVG, or PDF for a path ending .pdf.
func (h *Handler) PlacePoster(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "place.title")
	pl, err := h.managedPlace(r)
	if err != nil {
		h.placeFail(w, r, p, "", err)
		return
	}
	lang, carriage, err := posterQuery(r, pl, p.L.Lang)
	if err != nil {
		h.placeFail(w, r, p, "", err)
		return
	}
	f := venue.FormatOf(r.URL.Path)
	body, err := h.PlaceCodes.PosterAs(pl, carriage, lang, f)
	if err != nil {
		h.placeFail(w, r, p, "", err)
		return
	}
	venue.WritePoster(w, pl, carriage, lang, f, body)
}

type printData struct {
	Place     venue.Place
	PosterURL string
}

// PlacePrint shows a place's poster alone on an A4 page, with a button that
// prints it (the browser's print also saves it as a PDF).
func (h *Handler) PlacePrint(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "place.print")
	pl, err := h.managedPlace(r)
	if err != nil {
		h.placeFail(w, r, p, "", err)
		return
	}
	if pl.Disabled {
		h.placeFail(w, r, p, "", venue.ErrDisabled)
		return
	}
	lang, carriage, err := posterQuery(r, pl, p.L.Lang)
	if err != nil {
		h.placeFail(w, r, p, "", err)
		return
	}
	q := url.Values{"lang": {lang}}
	if carriage > 0 {
		q.Set("carriage", strconv.Itoa(carriage))
	}
	p.Data = printData{Place: pl, PosterURL: fmt.Sprintf("/places/%d/poster.svg?%s", pl.ID, q.Encode())}
	h.render(w, r, http.StatusOK, "place_print", p)
}

// PlaceDisable takes a place out of service: its posters no longer check
// anyone in.
func (h *Handler) PlaceDisable(w http.ResponseWriter, r *http.Request) {
	h.setPlaceDisabled(w, r, true)
}

// PlaceEnable puts a disabled place back in service.
func (h *Handler) PlaceEnable(w http.ResponseWriter, r *http.Request) {
	h.setPlaceDisabled(w, r, false)
}

func (h *Handler) setPlaceDisabled(w http.ResponseWriter, r *http.Request, disabled bool) {
	p := h.newPage(w, r, "place.title")
	p.Form = r.PostForm
	pl, err := h.placeOf(r)
	if err != nil {
		h.placeFail(w, r, p, "", err)
		return
	}
	_, err = h.registry().SetDisabled(r.Context(), auth.From(r.Context()).Actor, pl.ID, disabled, r.PostFormValue("reason"))
	if ve, ok := validation.As(err); ok {
		for _, f := range ve.Fields {
			p.Errors[f.Field] = p.L.Field(f)
		}
		p.Error = p.L.T("form.fix_errors")
		h.placePage(w, r, p, http.StatusUnprocessableEntity)
		return
	}
	if err != nil {
		h.placeFail(w, r, p, "", err)
		return
	}
	flash := "place.flash_enabled"
	if disabled {
		flash = "place.flash_disabled"
	}
	redirect(w, r, fmt.Sprintf("/places/%d", pl.ID), flash)
}

// ---------------------------------------------------------------------------
// Visitors of residential compounds.

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
func (h *Handler) visitPage(w http.ResponseWriter, r *http.Request) (*page, error) {
	p := h.newPage(w, r, "visit.title")
	id, err := strconv.ParseInt(r.PathValue("placeID"), 10, 64)
	if err != nil || id <= 0 {
		return p, errNotFound
	}
	pl, err := h.Places.Get(r.Context(), id)
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

// VisitForm shows a visitor, who scanned a compound entrance's poster, the
// form to say whom they visit. The form carries a fresh client id, so that
// sending it twice registers the visit once.
func (h *Handler) VisitForm(w http.ResponseWriter, r *http.Request) {
	p, err := h.visitPage(w, r)
	if err != nil {
		h.placeFail(w, r, p, "", err)
		return
	}
	h.render(w, r, http.StatusOK, "visit", p)
}

// Visit registers the visit and checks the visitor in at the entrance,
// both under the form's client id.
func (h *Handler) Visit(w http.ResponseWriter, r *http.Request) {
	p, err := h.visitPage(w, r)
	if err != nil {
		h.placeFail(w, r, p, "", err)
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
	visit, _, err := h.visitors().Register(r.Context(), auth.From(r.Context()).Actor, d.Place.ID, n)
	if err != nil {
		h.placeFail(w, r, p, "visit", err)
		return
	}
	// A retried form finds its visit and checks in at the same second
	// under the same id: the check-in store keeps it once.
	_, err = h.CheckIns.Ingest(r.Context(), []tracing.CheckIn{{ClientID: visit.ClientID, ResidentID: visit.ResidentID,
		PlaceID: visit.PlaceID, TIn: visit.VisitedAt.Unix(), Source: tracing.Scan}})
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	redirect(w, r, "/me", "visit.flash_registered")
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
	Next      string
}

// VisitorList shows a community worker the visitors of the compound
// entrances in its scope on a day, newest first. The worker says why
// first; each visitor shown is a logged read with that purpose.
func (h *Handler) VisitorList(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "visitors.title")
	a := auth.From(r.Context()).Actor
	if !venue.MayListVisitors(a) {
		h.placeFail(w, r, p, "", fault.ErrForbidden)
		return
	}
	q := r.URL.Query()
	p.Form = q
	now := h.Now()
	d := visitorsData{Date: civil.Of(now).String()}
	all, err := h.Places.Search(r.Context(), a.ScopePath, venue.Filter{Kind: venue.Venue, IncludeDisabled: true, Limit: 200})
	if err != nil {
		h.fail(w, r, p, "", err)
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
		h.render(w, r, http.StatusOK, "visitors", p)
		return
	}
	if err := e.Err(); err != nil {
		p.Data = d
		h.fail(w, r, p, "visitors", err)
		return
	}
	loc := now.Location()
	f.From = time.Date(day.Year, day.Month, day.Day, 0, 0, 0, 0, loc)
	f.To = f.From.AddDate(0, 0, 1)
	vs, err := h.visitors().List(r.Context(), a, f, purpose)
	if err != nil {
		p.Data = d
		h.fail(w, r, p, "visitors", err)
		return
	}
	d.Listed = true
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
	h.render(w, r, http.StatusOK, "visitors", p)
}
