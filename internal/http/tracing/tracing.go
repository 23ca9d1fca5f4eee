// Package tracing serves contact tracing: a resident's "Am I a close
// contact?" with the evidence of each contact record, the community's
// follow-up list of traced contacts, and a case's tracings for the CDC.
package tracing

import (
	"embed"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/accesslog"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/http/render"
	"github.com/outbreak-platform/outbreak/internal/http/route"
	"github.com/outbreak-platform/outbreak/internal/i18n"
	"github.com/outbreak-platform/outbreak/internal/jsonio"
	"github.com/outbreak-platform/outbreak/internal/list"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/tracing"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

//go:embed templates/*.html
var templates embed.FS

// Handler serves the contact-tracing pages and API.
type Handler struct {
	rd        *render.Renderer
	t         *render.Templates
	tracing   *tracing.Service
	residents *resident.Service
	access    accesslog.Store
}

// New builds the contact-tracing area; access records the follow-up
// list's reads.
func New(rd *render.Renderer, traces *tracing.Service, residents *resident.Service, access accesslog.Store) (*Handler, error) {
	t, err := rd.Parse(templates)
	if err != nil {
		return nil, err
	}
	return &Handler{rd: rd, t: t, tracing: traces, residents: residents, access: access}, nil
}

// Routes lists the contact-tracing pages and API.
func (h *Handler) Routes() []route.Route {
	followUp := route.CanAny(rbac.ResidentWrite, rbac.CaseWrite)
	return []route.Route{
		route.P("GET /me/contacts", route.Resident, h.MyContacts),
		route.P("GET /staff/contacts", followUp, h.FollowUps),
		route.P("POST /staff/contacts/{id}", followUp, h.SetFollowUp),
		route.A("GET /api/v1/me/contacts", route.Resident, h.APIMyContacts),
		route.A("GET /api/v1/contacts", followUp, h.APIFollowUps),
		route.A("POST /api/v1/contacts/{id}/follow-up", followUp, h.APISetFollowUp),
		route.A("GET /api/v1/residents/{id}/traces", route.Can(rbac.CaseWrite), h.Traces),
		route.A("POST /api/v1/residents/{id}/trace", route.Can(rbac.CaseWrite), h.Retrace),
	}
}

// subject is the resident a holder's request is about.
func (h *Handler) subject(r *http.Request) (resident.Resident, error) {
	id, err := render.ResidentParam(r)
	if err != nil {
		return resident.Resident{}, err
	}
	return h.residents.SelfOrDependent(r.Context(), auth.From(r.Context()).Actor, id)
}

// evidenceRow is one piece of a contact's evidence, worded for the page.
type evidenceRow struct {
	Place, Type, Day, Overlap, Stay, Seat string
	Minutes                               int
}

type contactCard struct {
	tracing.ContactView
	Rows []evidenceRow
}

type myContacts struct {
	Resident resident.Resident
	Self     bool
	Contacts []contactCard
	AsOf     string
}

func (h *Handler) evidenceRows(d *tracing.Detail) []evidenceRow {
	if d == nil {
		return nil
	}
	loc := h.rd.Loc()
	hm := func(t int64) string { return time.Unix(t, 0).In(loc).Format("15:04") }
	rows := make([]evidenceRow, len(d.Evidence))
	for i, e := range d.Evidence {
		name := e.PlaceName
		if e.ServiceNumber != "" && e.ServiceNumber != e.PlaceName {
			name += " " + e.ServiceNumber
		}
		seat := e.Carriage
		if e.Seat != "" {
			seat += " " + e.Seat
		}
		rows[i] = evidenceRow{Place: name, Type: e.PlaceType, Day: time.Unix(e.From, 0).In(loc).Format("2006-01-02"),
			Overlap: hm(e.From) + "–" + hm(e.To), Stay: hm(e.In) + "–" + hm(e.Out), Seat: seat, Minutes: int((e.To - e.From) / 60)}
	}
	return rows
}

// MyContacts answers a signed-in resident's "Am I a close contact?" — for
// themselves or a dependent — with the evidence of every contact record in
// force: where, when, for how long, and which case by pseudonym.
func (h *Handler) MyContacts(w http.ResponseWriter, r *http.Request) {
	p := h.rd.NewPage(w, r, "contacts.mine_title")
	who, err := h.subject(r)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	cs, err := h.tracing.ContactsOf(r.Context(), who.ID, p.L.Lang)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	d := myContacts{Resident: who, Self: who.ID == auth.From(r.Context()).Actor.ResidentID, AsOf: h.rd.At(h.rd.Now())}
	for _, c := range cs {
		d.Contacts = append(d.Contacts, contactCard{ContactView: c, Rows: h.evidenceRows(c.Detail)})
	}
	p.Data = d
	h.t.Render(w, r, http.StatusOK, "my_contacts", p)
}

type followUpData struct {
	Items     []tracing.FollowUp
	Pager     render.Pager
	Statuses  []string
	Community string
	Status    string
}

// followUpQuery reads a follow-up list's filters and page from the query.
func followUpQuery(r *http.Request) (tracing.FollowUpFilter, list.Page, error) {
	q := r.URL.Query()
	var e validation.Errors
	f := tracing.FollowUpFilter{Community: q.Get("community"), Status: q.Get("status"), Kind: q.Get("kind"),
		Case: strings.TrimSpace(q.Get("case")), From: render.DateParam(r, "from", &e), To: render.DateParam(r, "to", &e)}
	if err := e.Err(); err != nil {
		return f, list.First, err
	}
	p, err := render.PageOf(r)
	return f, p, err
}

// FollowUps lists the traced contacts living in the worker's jurisdiction
// for follow-up: call them, order quarantine, note the outcome; with its
// total, pages, filters and a CSV export. Each person listed is a logged
// read.
func (h *Handler) FollowUps(w http.ResponseWriter, r *http.Request) {
	p := h.rd.NewPage(w, r, "contacts.followup_title")
	p.Form = r.URL.Query()
	a := auth.From(r.Context()).Actor
	f, pg, err := followUpQuery(r)
	d := followUpData{Statuses: tracing.FollowUpStatuses, Community: f.Community, Status: f.Status}
	p.Data = d
	if err == nil && render.WantsCSV(r) {
		var all []tracing.FollowUp
		all, err = list.Every(func(pg list.Page) (list.Of[tracing.FollowUp], error) {
			return h.tracing.FollowUps(r.Context(), a, h.access, f, pg)
		})
		if err == nil {
			h.followUpCSV(w, r, p.L, all)
			return
		}
	}
	var items list.Of[tracing.FollowUp]
	if err == nil {
		items, err = h.tracing.FollowUps(r.Context(), a, h.access, f, pg)
	}
	if err != nil {
		h.t.Fail(w, r, p, "contacts_followup", err)
		return
	}
	d.Items, d.Pager = items.Items, render.Pages(r, items).WithCSV(r)
	p.Data = d
	h.t.Render(w, r, http.StatusOK, "contacts_followup", p)
}

// followUpCSV writes contacts as the CSV a worker takes to a meeting.
func (h *Handler) followUpCSV(w http.ResponseWriter, r *http.Request, l *i18n.Localizer, items []tracing.FollowUp) {
	rows := make([][]string, len(items))
	for i, f := range items {
		rows[i] = []string{f.Name, f.CommunityName(l.Lang), l.T("contacts.kind_" + f.Kind), f.ExposedOn.String(), f.Case,
			l.T("followup." + f.Status), f.Note, f.EvidenceIn(l.Lang)}
	}
	render.CSV(w, "contacts-"+h.rd.Today().String(), []string{l.T("contacts.csv_name"), l.T("contacts.csv_community"),
		l.T("contacts.kind"), l.T("contacts.exposed_on"), l.T("contacts.case"), l.T("contacts.csv_status"),
		l.T("contacts.csv_note"), l.T("contacts.csv_evidence")}, rows)
}

// SetFollowUp records the outcome of following up one contact.
func (h *Handler) SetFollowUp(w http.ResponseWriter, r *http.Request) {
	id, err := render.PathID(r, "id")
	if err == nil {
		err = h.tracing.SetFollowUp(r.Context(), auth.From(r.Context()).Actor, h.access, id,
			tracing.FollowUpChange{Status: r.PostFormValue("status"), Note: r.PostFormValue("note")})
	}
	back := "/staff/contacts?" + url.Values{"community": {r.PostFormValue("community")}, "status": {r.PostFormValue("filter_status")}}.Encode()
	if _, ok := validation.As(err); ok {
		render.Redirect(w, r, back, "contacts.followup_invalid")
		return
	}
	if err != nil {
		h.rd.Error(w, r, nil, err)
		return
	}
	render.Redirect(w, r, back, "flash.saved")
}

// APIMyContacts answers "Am I a close contact?" for the holder (or, with
// ?resident=ID, a dependent): the contact records in force, each with its
// evidence.
func (h *Handler) APIMyContacts(w http.ResponseWriter, r *http.Request) {
	who, err := h.subject(r)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	cs, err := h.tracing.ContactsOf(r.Context(), who.ID, render.Lang(r))
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	if cs == nil {
		cs = []tracing.ContactView{}
	}
	h.rd.JSON(w, r, http.StatusOK, map[string]any{"contact": len(cs) > 0, "contacts": cs, "as_of": h.rd.Now()})
}

// APIFollowUps lists a page of the traced contacts in the caller's
// jurisdiction to follow up (?community=CODE, ?status=pending, ?kind=close,
// ?case=C0004, ?from=, ?to=, ?offset=, ?limit=), with the total.
func (h *Handler) APIFollowUps(w http.ResponseWriter, r *http.Request) {
	f, pg, err := followUpQuery(r)
	var items list.Of[tracing.FollowUp]
	if err == nil {
		items, err = h.tracing.FollowUps(r.Context(), auth.From(r.Context()).Actor, h.access, f, pg)
	}
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusOK, map[string]any{"contacts": items.Items, "total": items.Total, "offset": items.Offset, "limit": items.Limit})
}

// APISetFollowUp records the follow-up of one contact: {status, note}.
func (h *Handler) APISetFollowUp(w http.ResponseWriter, r *http.Request) {
	id, err := render.PathID(r, "id")
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	var in tracing.FollowUpChange
	if err := jsonio.Decode(w, r, &in); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	if err := h.tracing.SetFollowUp(r.Context(), auth.From(r.Context()).Actor, h.access, id, in); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// personInScope reads the {id} of the path as a person in the caller's
// scope.
func (h *Handler) personInScope(r *http.Request) (int64, rbac.Actor, error) {
	a := auth.From(r.Context()).Actor
	id, err := render.PathID(r, "id")
	if err == nil {
		_, err = h.residents.Residents.Get(r.Context(), a.ScopePath, id)
	}
	return id, a, err
}

// Traces lists the contact tracings of a case, newest first.
func (h *Handler) Traces(w http.ResponseWriter, r *http.Request) {
	id, _, err := h.personInScope(r)
	var ts []tracing.Trace
	if err == nil {
		ts, err = h.tracing.Traces(r.Context(), id)
	}
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	if ts == nil {
		ts = []tracing.Trace{}
	}
	h.rd.JSON(w, r, http.StatusOK, map[string]any{"traces": ts})
}

// Retrace traces a case again (new check-ins may have arrived).
func (h *Handler) Retrace(w http.ResponseWriter, r *http.Request) {
	id, a, err := h.personInScope(r)
	var t tracing.Trace
	if err == nil {
		t, err = h.tracing.Retrace(r.Context(), a, id)
	}
	if errors.Is(err, tracing.ErrNotACase) {
		err = validation.Field("resident", "contacts.not_a_case")
	}
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusOK, t)
}
