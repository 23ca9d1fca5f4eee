// Package checkin serves checking in: the page a poster's QR code leads to
// (confirm the place, check in with the family members one acts for, check
// out), its offline copy and service worker, trip registration, a
// resident's own check-ins, and the check-in API a phone sends its
// check-ins to in batches.
package checkin

import (
	"embed"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/outbreak-platform/outbreak/internal/assets"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/checkin"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/http/render"
	"github.com/outbreak-platform/outbreak/internal/http/route"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/tracing"
	"github.com/outbreak-platform/outbreak/internal/validation"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

//go:embed templates/*.html
var templates embed.FS

// Handler serves the check-in pages and API. The page's script
// (web/checkin, built into render's static/checkin.js) adds the camera,
// sends through the check-in API, keeps check-ins made offline until the
// server has them, and checks out when the page is left; without it the
// forms work on their own.
type Handler struct {
	rd        *render.Renderer
	t         *render.Templates
	svc       *checkin.Service
	residents *resident.Service
	sessions  *auth.Sessions
	// region is the region whose posters the server takes.
	region string
	worker *assets.Worker
	// gate admits the API's writes; perAccount limits each account's
	// requests.
	gate       *Gate
	perAccount *auth.Limiter
}

// New builds the check-in area.
func New(rd *render.Renderer, svc *checkin.Service, residents *resident.Service, sessions *auth.Sessions, region string,
	gate *Gate, perAccount *auth.Limiter) (*Handler, error) {
	t, err := rd.Parse(templates)
	if err != nil {
		return nil, err
	}
	h := &Handler{rd: rd, t: t, svc: svc, residents: residents, sessions: sessions, region: region, gate: gate, perAccount: perAccount}
	if err := h.initWorker(); err != nil {
		return nil, err
	}
	return h, nil
}

// Routes lists the check-in pages and API. The page's service worker and
// the offline copy it keeps hold nobody's data (the copy reads whose phone
// it is from a cookie): anyone may fetch them.
func (h *Handler) Routes() []route.Route {
	return []route.Route{
		route.P("GET "+Page, route.Resident, h.Page),
		route.R("GET "+WorkerPath, http.HandlerFunc(h.ServiceWorker)),
		route.R("GET "+WorkerShell, http.HandlerFunc(h.Shell)),
		route.P("POST /checkin", route.Resident, h.Confirm),
		route.P("POST /checkin/checkout", route.Resident, h.CheckOut),
		route.P("GET /me/checkins", route.Resident, h.History),
		route.P("GET /me/trips/new", route.Resident, h.TripForm),
		route.P("POST /me/trips", route.Resident, h.RegisterTrip),
		route.A("POST /api/v1/checkins", route.Resident, h.Ingest),
		route.A("POST /api/v1/checkins/{client_id}/checkout", route.Resident, h.APICheckOut),
		route.A("GET /api/v1/me/checkins", route.Resident, h.APIHistory),
		route.A("POST /api/v1/me/trips", route.Resident, h.Trip),
	}
}

// formWindow is how old the check-in time a confirm form was rendered with
// may be when it comes back; an older form checks in at the time of
// submission instead.
const formWindow = 15 * time.Minute

// checkinPerson is someone the resident may check in: themselves or a
// dependent, with the client id the form carries for them.
type checkinPerson struct {
	Resident resident.Resident
	ClientID string
	Checked  bool
}

type checkinData struct {
	Now     time.Time
	Current *checkin.Stay
	// Since is when the current stay began, as the page shows it; With
	// names the family members checked in with the resident.
	Since string
	With  []string
	// Visit is the visitor form of the compound entrance checked in at.
	Visit string
	// Code is the code being confirmed; Scan is what it resolved to, or
	// Refused the message when it was refused.
	Code    string
	Scan    *checkin.Scan
	Refused string
	// Here: the current stay is at the scanned place (the scan checks out).
	Here     bool
	People   []checkinPerson // the resident first
	TIn      int64
	Carriage string
	Seat     string
	Config   checkinConfig
}

// checkinConfig is what the page's script reads.
type checkinConfig struct {
	CSRF     string            `json:"csrf"`
	Account  int64             `json:"account"`
	API      string            `json:"api"`
	CheckOut string            `json:"checkout"`
	Page     string            `json:"page"`
	Lang     string            `json:"lang"`
	Texts    map[string]string `json:"texts"`
	// Now is the server's clock (unix seconds) when the page was made: the
	// script takes check-in times from it, not from the phone's clock.
	Now int64 `json:"now"`
	// Worker and Scope are the service worker's URL and scope.
	Worker string `json:"worker"`
	Scope  string `json:"scope"`
	// Region is the region whose posters the server takes: the offline
	// page refuses another's at once.
	Region string `json:"region"`
	// Offline marks the page's offline copy (CheckInWorkerShell), which
	// holds no one's data: it reads the account from AccountCookie, and
	// asks Health whether the server answers again.
	Offline bool `json:"offline,omitempty"`
	// Dependents are the family members the resident may check in, which
	// the real page keeps on the phone for its offline copy to offer.
	Dependents    []checkinDependent `json:"dependents,omitempty"`
	AccountCookie string             `json:"account_cookie"`
	Health        string             `json:"health"`
}

// checkinDependent is a family member as the page's script keeps them:
// no more than the offline copy shows.
type checkinDependent struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// The paths of the check-in page's service worker and its offline copy.
const (
	Page        = "/checkin"
	WorkerPath  = "/checkin/sw.js"
	WorkerShell = "/checkin/offline"
)

// scriptTexts are the catalogue keys (under "checkin.js.") the script shows.
var scriptTexts = []string{"offline_saved", "queued", "sending", "sent", "camera_error", "scan", "scan_stop",
	"not_a_place", "offline_confirm", "checked_in_offline", "busy", "offline_unverified", "offline_no_account", "queued_item",
	"place_unknown", "place_no", "carriage_no", "refused_title", "refused_item", "refused_help", "refused_dismiss", "logout_unsent"}

func (h *Handler) config(p *render.Page) checkinConfig {
	texts := map[string]string{}
	for _, k := range scriptTexts {
		texts[k] = p.L.T("checkin.js." + k)
	}
	// The kinds of place and the reasons for a refusal, as the script
	// words a poster read offline and a check-in the server refused.
	for _, ty := range append(slices.Clip(venue.VenueTypes), venue.VehicleTypes...) {
		texts["type."+string(ty)] = p.L.T("venue.type." + string(ty))
	}
	for _, r := range checkin.Reasons {
		texts["reason."+string(r)] = p.L.T("err.checkin." + string(r))
	}
	texts["with"] = p.L.T("checkin.with")
	cfg := checkinConfig{CSRF: p.CSRF, API: "/api/v1/checkins", CheckOut: "/checkin/checkout", Page: Page,
		Lang: p.L.Lang, Texts: texts, Now: h.rd.Now().Unix(), Worker: WorkerPath, Scope: Page,
		AccountCookie: auth.OfflineAccountCookie, Health: "/healthz", Region: h.region}
	if p.P != nil {
		cfg.Account = p.P.Actor.AccountID
	}
	return cfg
}

// clock words a unix time for the page: the time of day, with the date
// when it is not today's.
func clock(t int64, now time.Time) string {
	at := time.Unix(t, 0).In(now.Location())
	if civil.Of(at) == civil.Of(now) {
		return at.Format("15:04")
	}
	return at.Format("2006-01-02 15:04")
}

// people lists the resident and their dependents with fresh client ids.
func (h *Handler) people(r *http.Request) ([]checkinPerson, error) {
	actor := auth.From(r.Context()).Actor
	self, err := h.residents.Self(r.Context(), actor)
	if err != nil {
		return nil, err
	}
	deps, err := h.residents.Residents.Dependents(r.Context(), self.ID)
	if err != nil {
		return nil, err
	}
	out := []checkinPerson{{Resident: self, ClientID: uuid.NewString(), Checked: true}}
	for _, d := range deps {
		out = append(out, checkinPerson{Resident: d, ClientID: uuid.NewString()})
	}
	return out, nil
}

// checkinPage builds the check-in page for code ("" for none). It names
// the account in auth.OfflineAccountCookie, for the page's offline copy.
func (h *Handler) checkinPage(w http.ResponseWriter, r *http.Request, code string) (*render.Page, *checkinData, error) {
	p := h.rd.NewPage(w, r, "checkin.title")
	h.sessions.SetOfflineAccount(w, p.P)
	now := h.rd.Now()
	d := &checkinData{Now: now, TIn: now.Unix(), Code: code}
	p.Data = d
	var err error
	if d.Current, err = h.svc.Current(r.Context(), auth.From(r.Context()).Actor); err != nil {
		return p, d, err
	}
	if c := d.Current; c != nil {
		d.Since = clock(c.CheckIn.TIn, now)
		for _, w := range c.With {
			d.With = append(d.With, w.Resident.Name)
		}
		if c.Place.Type == venue.CompoundEntrance {
			d.Visit = "/visit/" + strconv.FormatInt(c.Place.ID, 10)
		}
	}
	if d.People, err = h.people(r); err != nil {
		return p, d, err
	}
	if code != "" {
		sc, err := h.svc.Resolve(r.Context(), code, now)
		switch reason := checkin.ReasonOf(err); {
		case reason != "":
			d.Refused = p.L.T("err.checkin." + string(reason))
		case err != nil:
			return p, d, err
		default:
			d.Scan = &sc
			d.Code = sc.Code
			d.Carriage = sc.Carriage()
			d.Here = d.Current != nil && d.Current.Place.ID == sc.Place.ID
		}
	}
	d.Config = h.config(p)
	for _, dep := range d.People[1:] {
		d.Config.Dependents = append(d.Config.Dependents, checkinDependent{ID: dep.Resident.ID, Name: dep.Resident.Name})
	}
	return p, d, nil
}

var errNotFound = db.ErrNotFound

// Page shows the check-in page: with ?code= (or, through the script, a
// "#OBP1:…" fragment) the place a poster names, ready to confirm; without,
// the check-in in progress and the camera.
func (h *Handler) Page(w http.ResponseWriter, r *http.Request) {
	p, _, err := h.checkinPage(w, r, strings.TrimSpace(r.URL.Query().Get("code")))
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	h.t.Render(w, r, http.StatusOK, "checkin", p)
}

// Confirm checks the resident in, with the dependents ticked, at the place
// of the code: POST /checkin. A check-in in progress elsewhere is checked
// out first.
func (h *Handler) Confirm(w http.ResponseWriter, r *http.Request) {
	code := r.PostFormValue("code")
	p, d, err := h.checkinPage(w, r, code)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	p.Form = r.PostForm
	now := h.rd.Now()
	tIn := now.Unix()
	if t, err := strconv.ParseInt(r.PostFormValue("t_in"), 10, 64); err == nil && t <= now.Unix() && t >= now.Add(-formWindow).Unix() {
		tIn = t // the time the page was shown: a form sent twice is one check-in
	}
	ticked := map[string]bool{}
	for _, v := range r.PostForm["for"] {
		ticked[v] = true
	}
	var items []checkin.Item
	for i, person := range d.People {
		id := strconv.FormatInt(person.Resident.ID, 10)
		if i > 0 {
			if d.People[i].Checked = ticked[id]; !ticked[id] {
				continue
			}
		}
		it := checkin.Item{ClientID: r.PostFormValue("client_id_" + id), Code: code, TIn: tIn, Carriage: r.PostFormValue("carriage"),
			Seat: r.PostFormValue("seat")}
		if i > 0 {
			it.For = person.Resident.ID
		}
		items = append(items, it)
	}
	if d.Scan == nil {
		// Refused on sight: the page says why.
		h.t.Render(w, r, http.StatusUnprocessableEntity, "checkin", p)
		return
	}
	if d.Current != nil && !d.Here {
		// Scanning another place: leave the one before.
		if _, err := h.svc.CheckOut(r.Context(), auth.From(r.Context()).Actor, d.Current.CheckIn.ClientID, d.Current.CheckIn.TIn,
			time.Unix(tIn, 0)); err != nil && !errors.Is(err, tracing.ErrNotFound) {
			h.rd.Error(w, r, p, err)
			return
		}
	}
	rs, err := h.svc.Submit(r.Context(), auth.From(r.Context()).Actor, items)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	for _, res := range rs {
		if res.Status == checkin.Refused {
			field := res.Field
			if field == "code" || field == "t_in" || field == "client_id" || field == "for" {
				field = "form"
			}
			p.Errors[field] = p.L.T("err.checkin." + string(res.Reason))
			p.Error = p.Errors[field]
			d.Carriage, d.Seat = r.PostFormValue("carriage"), r.PostFormValue("seat")
			h.t.Render(w, r, http.StatusUnprocessableEntity, "checkin", p)
			return
		}
	}
	render.Redirect(w, r, "/checkin", "checkin.flash.checked_in")
}

// CheckOut ends the check-in (client_id, t_in) and those of the family
// members checked in with it: POST /checkin/checkout, from the page's
// button, or from its script (navigator.sendBeacon) when the page is left.
func (h *Handler) CheckOut(w http.ResponseWriter, r *http.Request) {
	tIn, err := strconv.ParseInt(r.PostFormValue("t_in"), 10, 64)
	if err != nil {
		h.rd.Error(w, r, nil, validation.Field("t_in", "invalid"))
		return
	}
	_, err = h.svc.CheckOut(r.Context(), auth.From(r.Context()).Actor, r.PostFormValue("client_id"), tIn, h.rd.Now())
	switch {
	case errors.Is(err, tracing.ErrNotFound):
		render.Redirect(w, r, "/checkin", "checkin.flash.not_checked_in")
	case err != nil:
		h.rd.Error(w, r, nil, err)
	default:
		render.Redirect(w, r, "/checkin", "checkin.flash.checked_out")
	}
}

type historyData struct {
	Who     resident.Resident
	Self    bool
	Entries []historyEntry
	Days    int
	Deps    []resident.Resident // the resident's dependents, whose lists they may open
}

// historyEntry is a check-in as the list shows it.
type historyEntry struct {
	Place             venue.Place
	Day, In, Out      string
	Source            tracing.Source
	Carriage, Seat    string
	Vehicle, Disabled bool
}

// History lists the resident's (or with ?resident=ID a dependent's)
// check-ins and trips of the last 14 days. Check-ins are evidence for
// contact tracing: the page offers no deletion, and says so.
func (h *Handler) History(w http.ResponseWriter, r *http.Request) {
	p := h.rd.NewPage(w, r, "checkin.history.title")
	var id int64
	if v := r.URL.Query().Get("resident"); v != "" {
		var err error
		if id, err = strconv.ParseInt(v, 10, 64); err != nil {
			h.rd.Error(w, r, p, errNotFound)
			return
		}
	}
	who, es, err := h.svc.History(r.Context(), auth.From(r.Context()).Actor, id)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	d := historyData{Who: who, Self: who.ID == auth.From(r.Context()).Actor.ResidentID, Days: checkin.HistoryDays}
	loc := h.rd.Loc()
	for _, e := range es {
		in, out := time.Unix(e.TIn, 0).In(loc), time.Unix(e.TOut, 0).In(loc)
		outText := out.Format("15:04")
		if civil.Of(out) != civil.Of(in) {
			outText = out.Format("01-02 15:04")
		}
		d.Entries = append(d.Entries, historyEntry{Place: e.Place, Day: in.Format("2006-01-02"), In: in.Format("15:04"), Out: outText,
			Source: e.Source, Carriage: e.Carriage, Seat: e.Seat, Vehicle: e.Place.Kind == venue.Vehicle, Disabled: e.Place.Disabled})
	}
	if d.Self {
		if d.Deps, err = h.residents.Residents.Dependents(r.Context(), who.ID); err != nil {
			h.rd.Error(w, r, p, err)
			return
		}
	}
	p.Data = d
	h.t.Render(w, r, http.StatusOK, "my_checkins", p)
}

type tripData struct {
	People []checkinPerson
	Today  civil.Date
}

func (h *Handler) tripPage(w http.ResponseWriter, r *http.Request) (*render.Page, *tripData, error) {
	p := h.rd.NewPage(w, r, "checkin.trip.title")
	d := &tripData{Today: h.rd.Today()}
	p.Data = d
	var err error
	d.People, err = h.people(r)
	return p, d, err
}

// TripForm shows the form to register a trip.
func (h *Handler) TripForm(w http.ResponseWriter, r *http.Request) {
	p, _, err := h.tripPage(w, r)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	p.Form.Set("date", h.rd.Today().String())
	h.t.Render(w, r, http.StatusOK, "trip_new", p)
}

// RegisterTrip records a trip — by service number and date, with carriage
// and seat — for the resident and the family members ticked: POST
// /me/trips.
func (h *Handler) RegisterTrip(w http.ResponseWriter, r *http.Request) {
	p, d, err := h.tripPage(w, r)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	p.Form = r.PostForm
	t := checkin.Trip{ServiceNumber: r.PostFormValue("service_number"), Time: r.PostFormValue("time"),
		Carriage: r.PostFormValue("carriage"), Seat: r.PostFormValue("seat")}
	if v := strings.TrimSpace(r.PostFormValue("date")); v != "" {
		if t.Date, err = civil.Parse(v); err != nil {
			h.t.Fail(w, r, p, "trip_new", validation.Field("date", "invalid"))
			return
		}
	}
	place, tIn, err := h.svc.FindTrip(r.Context(), &t)
	if err != nil {
		h.t.Fail(w, r, p, "trip_new", err)
		return
	}
	ticked := map[string]bool{}
	for _, v := range r.PostForm["for"] {
		ticked[v] = true
	}
	var items []checkin.Item
	for i, person := range d.People {
		id := strconv.FormatInt(person.Resident.ID, 10)
		if i > 0 && !ticked[id] {
			continue
		}
		it := checkin.Item{ClientID: r.PostFormValue("client_id_" + id), PlaceID: place.ID, TIn: tIn, Carriage: t.Carriage, Seat: t.Seat}
		if i > 0 {
			it.For = person.Resident.ID
		}
		items = append(items, it)
	}
	rs, err := h.svc.Submit(r.Context(), auth.From(r.Context()).Actor, items)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	for _, res := range rs {
		if res.Status == checkin.Refused {
			field := map[string]string{"t_in": "date", "place_id": "service_number"}[res.Field]
			if field == "" {
				field = res.Field
			}
			h.t.Fail(w, r, p, "trip_new", validation.Field(field, "checkin."+string(res.Reason)))
			return
		}
	}
	render.Redirect(w, r, "/me/checkins", "checkin.flash.trip")
}
