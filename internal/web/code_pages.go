package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/pass"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/rules"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// codeView is a code as the pages show it, in one language.
type codeView struct {
	Code       healthcode.Code
	Reasons    []reasonView
	Conditions []string
	Override   bool
	History    []historyView
	Appeals    []healthcode.Appeal
}

type reasonView struct {
	Colour, Text string
	GreenOn      civil.Date
}

type historyView struct {
	audit.Entry
	Summary string
	Why     string // the reason in the page's language
}

func (h *Handler) codeView(r *http.Request, c healthcode.Code, lang string) (*codeView, error) {
	e, err := healthcode.ExplanationOf(c)
	if err != nil {
		return nil, err
	}
	v := &codeView{Code: c, Override: c.OverrideActive(civil.Of(h.Now()))}
	for _, rs := range e.Reasons {
		v.Reasons = append(v.Reasons, reasonView{Colour: string(rs.Colour), Text: rs.Text[rules.Lang(lang)], GreenOn: rs.GreenOn})
	}
	for _, cd := range e.Conditions {
		v.Conditions = append(v.Conditions, cd.Text[rules.Lang(lang)])
	}
	es, err := audit.About(r.Context(), h.Codes.DB, c.ResidentID, 30)
	if err != nil {
		return nil, err
	}
	for _, a := range es {
		v.History = append(v.History, historyView{Entry: a, Summary: summary(a), Why: h.Codes.ReasonIn(r.Context(), a, lang)})
	}
	if v.Appeals, err = healthcode.AppealsOf(r.Context(), h.Codes.DB, c.ResidentID); err != nil {
		return nil, err
	}
	return v, nil
}

// summary words an audit entry's before and after in a line.
func summary(e audit.Entry) string {
	var before, after map[string]any
	json.Unmarshal([]byte(e.Before), &before)
	json.Unmarshal([]byte(e.After), &after)
	colour := func(m map[string]any) string {
		if s, ok := m["colour"].(string); ok {
			return s
		}
		return ""
	}
	if b, a := colour(before), colour(after); a != "" {
		if b == "" {
			b = "—"
		}
		return b + " → " + a
	}
	parts := []string{}
	for k, v := range after {
		if s, ok := v.(string); ok && s != "" && len(parts) < 4 {
			parts = append(parts, k+": "+s)
		}
	}
	return strings.Join(parts, ", ")
}

// subject is the resident a holder's page is about: themselves, or with
// ?resident=ID (or the form field) one of their dependents.
func (h *Handler) subject(r *http.Request) (resident.Resident, error) {
	v := r.URL.Query().Get("resident")
	if v == "" {
		v = r.PostFormValue("resident")
	}
	var id int64
	if v != "" {
		var err error
		if id, err = strconv.ParseInt(v, 10, 64); err != nil {
			return resident.Resident{}, errNotFound
		}
	}
	return h.Residents.SelfOrDependent(r.Context(), auth.From(r.Context()).Actor, id)
}

// PassSVG draws the holder's (or a dependent's) current pass as a QR code
// framed in its colour.
func (h *Handler) PassSVG(w http.ResponseWriter, r *http.Request) {
	who, err := h.subject(r)
	if err != nil {
		h.fail(w, r, h.newPage(w, r, "error.title"), "", err)
		return
	}
	c, err := h.Codes.Code(r.Context(), who.ID)
	if err != nil {
		h.fail(w, r, h.newPage(w, r, "error.title"), "", err)
		return
	}
	text, claims, err := h.Issuer.IssueTo(r.Context(), who.ID, who.Name, pass.Colour(c.Colour))
	if err != nil {
		h.fail(w, r, h.newPage(w, r, "error.title"), "", err)
		return
	}
	svg, err := pass.SVG(text, claims.Colour)
	if err != nil {
		h.fail(w, r, h.newPage(w, r, "error.title"), "", err)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte(svg))
}

type declareData struct {
	Who         resident.Resident
	Communities []option
	Regions     []option
	Symptoms    []string
	Transports  []string
}

func (h *Handler) declarePage(w http.ResponseWriter, r *http.Request) (*page, error) {
	p := h.newPage(w, r, "declare.title")
	who, err := h.subject(r)
	if err != nil {
		return p, err
	}
	cs, err := h.communityOptions(r, "/", p.L.Lang)
	if err != nil {
		return p, err
	}
	js, err := h.Jurisdictions.Subtree(r.Context(), "/")
	if err != nil {
		return p, err
	}
	p.Data = declareData{Who: who, Communities: cs, Symptoms: healthcode.Symptoms, Transports: healthcode.Transports,
		Regions: jurisdictionOptions(js, p.L.Lang, "city", "district")}
	p.Form.Set("location_code", who.CommunityCode)
	p.Form.Set("temperature_c", "36.5")
	return p, nil
}

// DeclareForm shows the health declaration form, for the holder or a dependent.
func (h *Handler) DeclareForm(w http.ResponseWriter, r *http.Request) {
	p, err := h.declarePage(w, r)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	h.render(w, r, http.StatusOK, "declare", p)
}

// Declare records the declaration and shows the code.
func (h *Handler) Declare(w http.ResponseWriter, r *http.Request) {
	p, err := h.declarePage(w, r)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	p.Form = r.PostForm
	who := p.Data.(declareData).Who
	d := healthcode.Declaration{Kind: r.PostFormValue("kind"), Symptoms: r.PostForm["symptoms"], LocationCode: r.PostFormValue("location_code"),
		ContactWithCase: r.PostFormValue("contact_with_case") == "yes", Origin: r.PostFormValue("origin"), Route: r.PostFormValue("route"),
		Transport: r.PostFormValue("transport")}
	var e validation.Errors
	if t, err := strconv.ParseFloat(strings.TrimSpace(r.PostFormValue("temperature_c")), 64); err != nil {
		e.Add("temperature_c", "healthcode.temperature")
	} else {
		d.TemperatureC = t
	}
	if v := r.PostFormValue("arrival_date"); v != "" {
		if d.ArrivalDate, err = civil.Parse(v); err != nil {
			e.Add("arrival_date", "invalid")
		}
	}
	for i, code := range r.PostForm["visit_region"] {
		if code == "" {
			continue
		}
		var on civil.Date
		if i < len(r.PostForm["visit_on"]) {
			on, _ = civil.Parse(r.PostForm["visit_on"][i])
		}
		d.Visits = append(d.Visits, healthcode.Visit{RegionCode: code, On: on})
	}
	if err := e.Err(); err != nil {
		h.fail(w, r, p, "declare", err)
		return
	}
	if _, err := h.Codes.Declare(r.Context(), auth.From(r.Context()).Actor, who.ID, d); err != nil {
		h.fail(w, r, p, "declare", err)
		return
	}
	target := "/me"
	if who.ID != auth.From(r.Context()).Actor.ResidentID {
		target = "/me?resident=" + strconv.FormatInt(who.ID, 10)
	}
	redirect(w, r, target, "flash.declared")
}

// FileAppeal records the holder's appeal against their colour.
func (h *Handler) FileAppeal(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "me.heading")
	who, err := h.subject(r)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	target := "/me"
	if who.ID != auth.From(r.Context()).Actor.ResidentID {
		target += "?resident=" + strconv.FormatInt(who.ID, 10)
	}
	if _, err := h.Codes.FileAppeal(r.Context(), auth.From(r.Context()).Actor, who.ID, r.PostFormValue("message")); err != nil {
		var ve *validation.Errors
		if errors.As(err, &ve) {
			redirect(w, r, target, "err.healthcode.message_length_short")
			return
		}
		h.fail(w, r, p, "", err)
		return
	}
	redirect(w, r, target, "flash.appealed")
}
