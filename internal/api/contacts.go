package api

import (
	"errors"
	"net/http"

	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/jsonio"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/tracing"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// MyContacts answers "Am I a close contact?" for the holder (or, with
// ?resident=ID, a dependent): the contact records in force, each with its
// evidence.
func (h *Handler) MyContacts(w http.ResponseWriter, r *http.Request) {
	who, err := h.subject(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cs, err := h.Tracing.ContactsOf(r.Context(), who.ID, h.lang(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if cs == nil {
		cs = []tracing.ContactView{}
	}
	h.write(w, r, http.StatusOK, map[string]any{"contact": len(cs) > 0, "contacts": cs, "as_of": h.Now()})
}

// FollowUps lists the traced contacts in the caller's jurisdiction to
// follow up (?community=CODE, ?status=pending...).
func (h *Handler) FollowUps(w http.ResponseWriter, r *http.Request) {
	items, err := h.Tracing.FollowUps(r.Context(), auth.From(r.Context()).Actor, h.Access,
		tracing.FollowUpFilter{Community: r.URL.Query().Get("community"), Status: r.URL.Query().Get("status")})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if items == nil {
		items = []tracing.FollowUp{}
	}
	h.write(w, r, http.StatusOK, map[string]any{"contacts": items})
}

// SetFollowUp records the follow-up of one contact: {status, note}.
func (h *Handler) SetFollowUp(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var in tracing.FollowUpChange
	if err := jsonio.Decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.Tracing.SetFollowUp(r.Context(), auth.From(r.Context()).Actor, h.Access, id, in); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Traces lists the contact tracings of a case, newest first.
func (h *Handler) Traces(w http.ResponseWriter, r *http.Request) {
	id, _, ok := h.personInScope(w, r)
	if !ok {
		return
	}
	ts, err := h.Tracing.Traces(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if ts == nil {
		ts = []tracing.Trace{}
	}
	h.write(w, r, http.StatusOK, map[string]any{"traces": ts})
}

// Retrace traces a case again (new check-ins may have arrived).
func (h *Handler) Retrace(w http.ResponseWriter, r *http.Request) {
	id, a, ok := h.personInScope(w, r)
	if !ok {
		return
	}
	t, err := h.Tracing.Retrace(r.Context(), a, id)
	if errors.Is(err, tracing.ErrNotACase) {
		err = validation.Field("resident", "contacts.not_a_case")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, t)
}

// personInScope reads the {id} of the path as a person in the caller's
// scope; it answers the request itself and returns false when there is
// none.
func (h *Handler) personInScope(w http.ResponseWriter, r *http.Request) (int64, rbac.Actor, bool) {
	a := auth.From(r.Context()).Actor
	id, err := pathID(r)
	if err == nil {
		_, err = h.Residents.Residents.Get(r.Context(), a.ScopePath, id)
	}
	if err != nil {
		h.fail(w, r, err)
		return 0, a, false
	}
	return id, a, true
}
