package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/tracing"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

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
	loc := h.Now().Location()
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
	p := h.newPage(w, r, "contacts.mine_title")
	who, err := h.subject(r)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	cs, err := h.Tracing.ContactsOf(r.Context(), who.ID, p.L.Lang)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	d := myContacts{Resident: who, Self: who.ID == auth.From(r.Context()).Actor.ResidentID,
		AsOf: h.Now().Format("2006-01-02 15:04")}
	for _, c := range cs {
		d.Contacts = append(d.Contacts, contactCard{ContactView: c, Rows: h.evidenceRows(c.Detail)})
	}
	p.Data = d
	h.render(w, r, http.StatusOK, "my_contacts", p)
}

type followUpData struct {
	Items     []tracing.FollowUp
	Statuses  []string
	Community string
	Status    string
}

// FollowUps lists the traced contacts living in the worker's jurisdiction
// for follow-up: call them, order quarantine, note the outcome. Each person
// listed is a logged read.
func (h *Handler) FollowUps(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "contacts.followup_title")
	p.Form = r.URL.Query()
	f := tracing.FollowUpFilter{Community: r.URL.Query().Get("community"), Status: r.URL.Query().Get("status")}
	items, err := h.Tracing.FollowUps(r.Context(), auth.From(r.Context()).Actor, h.Access, f)
	if ve, ok := validation.As(err); ok {
		for _, fe := range ve.Fields {
			p.Errors[fe.Field] = p.L.Field(fe)
		}
		p.Error = p.L.T("form.fix_errors")
		p.Data = followUpData{Statuses: tracing.FollowUpStatuses, Community: f.Community, Status: f.Status}
		h.render(w, r, http.StatusUnprocessableEntity, "contacts_followup", p)
		return
	}
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	p.Data = followUpData{Items: items, Statuses: tracing.FollowUpStatuses, Community: f.Community, Status: f.Status}
	h.render(w, r, http.StatusOK, "contacts_followup", p)
}

// SetFollowUp records the outcome of following up one contact.
func (h *Handler) SetFollowUp(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "contacts.followup_title")
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.fail(w, r, p, "", errNotFound)
		return
	}
	back := "/staff/contacts?community=" + r.PostFormValue("community") + "&status=" + r.PostFormValue("filter_status")
	err = h.Tracing.SetFollowUp(r.Context(), auth.From(r.Context()).Actor, h.Access, id,
		tracing.FollowUpChange{Status: r.PostFormValue("status"), Note: r.PostFormValue("note")})
	if _, ok := validation.As(err); ok {
		redirect(w, r, back, "contacts.followup_invalid")
		return
	}
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	redirect(w, r, back, "flash.saved")
}
