// Package audit serves the auditor's side: the access log of every staff
// read of a person's record, and the audit chain of every change to a code
// with its verification.
package audit

import (
	"context"
	"embed"
	"net/http"
	"strconv"

	"github.com/outbreak-platform/outbreak/internal/accesslog"
	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/http/render"
	"github.com/outbreak-platform/outbreak/internal/http/route"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

//go:embed templates/*.html
var templates embed.FS

// Handler serves the auditor's pages and API.
type Handler struct {
	rd     *render.Renderer
	t      *render.Templates
	db     *db.DB
	access accesslog.Store
}

// New builds the auditor's area on the store that holds the audit chain.
func New(rd *render.Renderer, d *db.DB, access accesslog.Store) (*Handler, error) {
	t, err := rd.Parse(templates)
	if err != nil {
		return nil, err
	}
	return &Handler{rd: rd, t: t, db: d, access: access}, nil
}

// Routes lists the auditor's pages and API.
func (h *Handler) Routes() []route.Route {
	auditor := route.Can(rbac.AccessLogRead)
	return []route.Route{
		route.P("GET /staff/access-log", auditor, h.AccessLog),
		route.P("GET /staff/audit", auditor, h.Chain),
		route.A("GET /api/v1/access-log", auditor, h.APIAccessLog),
		route.A("GET /api/v1/audit/verify", auditor, h.Verify),
	}
}

// AccessLog shows the auditor every staff read in scope, newest first.
func (h *Handler) AccessLog(w http.ResponseWriter, r *http.Request) {
	p := h.rd.NewPage(w, r, "accesslog.title")
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	const per = 100
	es, err := h.access.List(r.Context(), auth.From(r.Context()).Actor.ScopePath, accesslog.Filter{BeforeID: before, Limit: per})
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	var next int64
	if len(es) == per {
		next = es[len(es)-1].ID
	}
	p.Data = struct {
		Entries []accesslog.Entry
		Next    int64
	}{es, next}
	h.t.Render(w, r, http.StatusOK, "access_log", p)
}

// Chain shows the auditor the latest entries of the audit chain and, on
// request, walks the whole chain.
func (h *Handler) Chain(w http.ResponseWriter, r *http.Request) {
	p := h.rd.NewPage(w, r, "auditlog.title")
	d := struct {
		Report  *audit.Report
		Entries []audit.Entry
	}{}
	if r.URL.Query().Get("verify") == "1" {
		rep, err := verify(r.Context(), h.db)
		if err != nil {
			h.rd.Error(w, r, p, err)
			return
		}
		d.Report = &rep
	}
	es, err := audit.Latest(r.Context(), h.db, 100)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	d.Entries = es
	p.Data = d
	h.t.Render(w, r, http.StatusOK, "audit", p)
}

func queryInt(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, validation.Field(name, "invalid")
	}
	return n, nil
}

// APIAccessLog lists staff reads in scope, newest first.
func (h *Handler) APIAccessLog(w http.ResponseWriter, r *http.Request) {
	var f accesslog.Filter
	var err error
	for name, dst := range map[string]*int64{"resident": &f.ResidentID, "actor": &f.ActorID, "before": &f.BeforeID} {
		if *dst, err = queryInt(r, name); err != nil {
			h.rd.Problem(w, r, err)
			return
		}
	}
	es, err := h.access.List(r.Context(), auth.From(r.Context()).Actor.ScopePath, f)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusOK, map[string]any{"entries": es})
}

// verify walks the audit chain and then checks the traced contacts its
// entries commit to (healthcode.VerifyContacts): a contact row edited,
// deleted or forged breaks it at the entry that committed to it.
func verify(ctx context.Context, d *db.DB) (audit.Report, error) {
	rep, err := audit.Verify(ctx, d, nil)
	if err != nil || !rep.OK {
		return rep, err
	}
	c, err := healthcode.VerifyContacts(ctx, d)
	if err != nil || c.OK {
		return rep, err
	}
	rep.OK, rep.BrokenAt, rep.Problem = false, c.BrokenAt, c.Problem
	return rep, nil
}

// Verify walks the audit chain and the traced contacts it commits to
// (auditor).
func (h *Handler) Verify(w http.ResponseWriter, r *http.Request) {
	rep, err := verify(r.Context(), h.db)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusOK, rep)
}
