// Package audit serves the auditor's side: the access log of every staff
// read of a person's record, and the audit chain of every change to a code
// with its verification.
package audit

import (
	"context"
	"embed"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/outbreak-platform/outbreak/internal/accesslog"
	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/http/render"
	"github.com/outbreak-platform/outbreak/internal/http/route"
	"github.com/outbreak-platform/outbreak/internal/i18n"
	"github.com/outbreak-platform/outbreak/internal/list"
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
	heads  *audit.HeadLog
}

// New builds the auditor's area on the store that holds the audit chain
// and the log of its signed heads.
func New(rd *render.Renderer, d *db.DB, access accesslog.Store, heads *audit.HeadLog) (*Handler, error) {
	t, err := rd.Parse(templates)
	if err != nil {
		return nil, err
	}
	return &Handler{rd: rd, t: t, db: d, access: access, heads: heads}, nil
}

// Routes lists the auditor's pages and API.
func (h *Handler) Routes() []route.Route {
	auditor := route.Can(rbac.AccessLogRead)
	return []route.Route{
		route.P("GET /staff/access-log", auditor, h.AccessLog),
		route.P("GET /staff/audit", auditor, h.Chain),
		route.A("GET /api/v1/access-log", auditor, h.APIAccessLog),
		route.A("GET /api/v1/audit", auditor, h.APIChain),
		route.A("GET /api/v1/audit/verify", auditor, h.Verify),
		// The signed heads are public, as a transparency log's are:
		// checkpoints and anyone auditing the platform keep them, and a
		// chain that no longer extends one they kept fails verification.
		route.A("GET /api/v1/audit/head", route.Anyone, h.Head),
		route.A("GET /api/v1/audit/heads", route.Anyone, h.Heads),
		route.A("GET /api/v1/audit/key", route.Anyone, h.Key),
		route.A("POST /api/v1/audit/heads", auditor, h.SignHead),
	}
}

// accessFilter reads the access log's filters (?resident=, ?purpose=,
// ?from=, ?to= in the region's days, ?before= for the next page).
func (h *Handler) accessFilter(r *http.Request) (accesslog.Filter, error) {
	af, _, err := h.filterOf(r)
	f := accesslog.Filter{ResidentID: af.ResidentID, From: af.From, To: af.To, Purpose: strings.TrimSpace(r.URL.Query().Get("purpose"))}
	var e validation.Errors
	if ve, ok := validation.As(err); ok {
		for _, fe := range ve.Fields {
			if fe.Field != "actor" && fe.Field != "kind" && fe.Field != "offset" && fe.Field != "limit" {
				e.Fields = append(e.Fields, fe)
			}
		}
	}
	if f.Purpose != "" && !accesslog.ValidPurpose(f.Purpose) {
		e.Add("purpose", "invalid")
	}
	for name, dst := range map[string]*int64{"actor_id": &f.ActorID, "before": &f.BeforeID} {
		n, err := queryInt(r, name)
		if err != nil {
			e.Add(name, "invalid")
		}
		*dst = n
	}
	return f, e.Err()
}

// accessData is what the access log page shows.
type accessData struct {
	Entries  []accesslog.Entry
	Total    int64
	Next     string // the next page's link, "" on the last
	CSV      string
	Purposes []string
}

// AccessLog shows the auditor every staff read in scope, newest first,
// with the total, filters, the next page and a CSV export.
func (h *Handler) AccessLog(w http.ResponseWriter, r *http.Request) {
	p := h.rd.NewPage(w, r, "accesslog.title")
	p.Form = r.URL.Query()
	d := accessData{Purposes: accesslog.Purposes}
	p.Data = &d
	scope := auth.From(r.Context()).Actor.ScopePath
	f, err := h.accessFilter(r)
	if err != nil {
		h.t.Fail(w, r, p, "access_log", err)
		return
	}
	if render.WantsCSV(r) {
		h.accessCSV(w, r, p, scope, f)
		return
	}
	const per = 100
	f.Limit = per
	if d.Entries, err = h.access.List(r.Context(), scope, f); err == nil {
		d.Total, err = h.access.Count(r.Context(), scope, f)
	}
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	q := r.URL.Query()
	if len(d.Entries) == per {
		q.Set("before", strconv.FormatInt(d.Entries[len(d.Entries)-1].ID, 10))
		d.Next = "/staff/access-log?" + q.Encode()
	}
	q.Del("before")
	q.Set("format", "csv")
	d.CSV = "/staff/access-log?" + q.Encode()
	h.t.Render(w, r, http.StatusOK, "access_log", p)
}

// accessCSV exports every read in scope that f keeps.
func (h *Handler) accessCSV(w http.ResponseWriter, r *http.Request, p *render.Page, scope string, f accesslog.Filter) {
	l := p.L
	var rows [][]string
	f.Limit = 500
	for {
		es, err := h.access.List(r.Context(), scope, f)
		if err != nil {
			h.rd.Error(w, r, p, err)
			return
		}
		for _, e := range es {
			rows = append(rows, []string{strconv.FormatInt(e.ID, 10), e.At.In(h.rd.Loc()).Format(time.RFC3339), e.ActorName,
				l.Role(string(e.ActorRole)), strconv.FormatInt(e.ResidentID, 10), l.T(e.ActionKey()), l.T("purpose." + e.Purpose)})
		}
		if len(es) < f.Limit {
			break
		}
		f.BeforeID = es[len(es)-1].ID
	}
	render.CSV(w, "access-log", []string{"id", l.T("accesslog.at"), l.T("accesslog.actor"), l.T("auditlog.role"),
		l.T("accesslog.record"), l.T("accesslog.action"), l.T("staff.purpose")}, rows)
}

// chainData is what the audit chain page shows.
type chainData struct {
	Report  *audit.Report
	Problem string // the report's failure in the reader's language
	Entries list.Of[audit.Entry]
	Pager   render.Pager
	Kinds   []string
}

// filterOf reads the chain's filters from the query: kind, actor (the
// name recorded), resident (a resident number), from and to (dates in the
// region's time zone, both included).
func (h *Handler) filterOf(r *http.Request) (audit.Filter, list.Page, error) {
	q := r.URL.Query()
	var f audit.Filter
	var e validation.Errors
	f.Kind = strings.TrimSpace(q.Get("kind"))
	if f.Kind != "" && !slices.Contains(audit.Kinds, f.Kind) {
		e.Add("kind", "invalid")
	}
	f.Actor = strings.TrimSpace(q.Get("actor"))
	if !utf8.ValidString(f.Actor) || len(f.Actor) > 200 {
		e.Add("actor", "invalid")
	}
	if s := strings.TrimSpace(q.Get("resident")); s != "" {
		n, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
		if err != nil || n <= 0 {
			e.Add("resident", "invalid")
		}
		f.ResidentID = n
	}
	day := func(name string, next int) time.Time {
		s := strings.TrimSpace(q.Get(name))
		if s == "" {
			return time.Time{}
		}
		d, err := civil.Parse(s)
		if err != nil {
			e.Add(name, "invalid")
			return time.Time{}
		}
		d = d.AddDays(next)
		return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, h.rd.Loc())
	}
	f.From, f.To = day("from", 0), day("to", 1)
	p, err := render.PageOf(r)
	if ve, ok := validation.As(err); ok {
		e.Fields = append(e.Fields, ve.Fields...)
	}
	return f, p, e.Err()
}

// Chain shows the auditor the entries of the audit chain in their scope,
// newest first, a page at a time with their total and filters, as CSV on
// request, and, on request, walks the whole chain.
func (h *Handler) Chain(w http.ResponseWriter, r *http.Request) {
	p := h.rd.NewPage(w, r, "auditlog.title")
	p.Form = r.URL.Query()
	d := chainData{Kinds: audit.Kinds}
	p.Data = &d
	f, pg, err := h.filterOf(r)
	if err != nil {
		d.Entries = list.New[audit.Entry](nil, 0, list.First)
		h.t.Fail(w, r, p, "audit", err)
		return
	}
	scope := auth.From(r.Context()).Actor.ScopePath
	if render.WantsCSV(r) {
		h.csv(w, r, p, scope, f)
		return
	}
	if r.URL.Query().Get("verify") == "1" {
		rep, err := h.check(r.Context())
		if err != nil {
			h.rd.Error(w, r, p, err)
			return
		}
		d.Report = &rep
		d.Problem = h.say(p.L, rep.Message)
	}
	if d.Entries, err = audit.List(r.Context(), h.db, scope, f, pg); err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	d.Pager = render.Pages(r, d.Entries).WithCSV(r)
	h.t.Render(w, r, http.StatusOK, "audit", p)
}

// csv exports every entry in scope that f keeps.
func (h *Handler) csv(w http.ResponseWriter, r *http.Request, p *render.Page, scope string, f audit.Filter) {
	l := p.L
	header := []string{"id", l.T("accesslog.at"), l.T("accesslog.actor"), l.T("auditlog.role"), l.T("accesslog.action"),
		l.T("auditlog.resident"), l.T("auditlog.before"), l.T("auditlog.after"), l.T("input.reason"), l.T("auditlog.legal_basis"), "hash"}
	var rows [][]string
	err := audit.Each(r.Context(), h.db, scope, f, func(e audit.Entry) error {
		res := ""
		if e.ResidentID.Valid {
			res = strconv.FormatInt(e.ResidentID.Int64, 10)
		}
		rows = append(rows, []string{strconv.FormatInt(e.ID, 10), e.At.In(h.rd.Loc()).Format(time.RFC3339), e.ActorName,
			l.Role(e.ActorRole), l.T("audit." + e.Kind), res, e.Before, e.After, e.Reason, e.LegalBasis, hex.EncodeToString(e.Hash)})
		return nil
	})
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	render.CSV(w, "audit-chain", header, rows)
}

// entryJSON is an entry of the chain as the API tells it.
type entryJSON struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	ActorRole  string    `json:"actor_role"`
	ActorName  string    `json:"actor_name"`
	ResidentID *int64    `json:"resident_id"`
	Kind       string    `json:"kind"`
	Before     string    `json:"before"`
	After      string    `json:"after"`
	Reason     string    `json:"reason"`
	LegalBasis string    `json:"legal_basis"`
	Hash       string    `json:"hash"`
}

func toJSON(e audit.Entry) entryJSON {
	j := entryJSON{ID: e.ID, At: e.At, ActorRole: e.ActorRole, ActorName: e.ActorName, Kind: e.Kind, Before: e.Before,
		After: e.After, Reason: e.Reason, LegalBasis: e.LegalBasis, Hash: hex.EncodeToString(e.Hash)}
	if e.ResidentID.Valid {
		j.ResidentID = &e.ResidentID.Int64
	}
	return j
}

// APIChain lists the entries of the audit chain in the reader's scope,
// newest first, a page at a time, with the page's filters.
func (h *Handler) APIChain(w http.ResponseWriter, r *http.Request) {
	f, pg, err := h.filterOf(r)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	o, err := audit.List(r.Context(), h.db, auth.From(r.Context()).Actor.ScopePath, f, pg)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusOK, list.Map(o, toJSON))
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

// APIAccessLog lists staff reads in scope, newest first (?resident=,
// ?actor_id=, ?purpose=, ?from=, ?to=, ?before= for the next page), with
// the total.
func (h *Handler) APIAccessLog(w http.ResponseWriter, r *http.Request) {
	f, err := h.accessFilter(r)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	if f.ActorID == 0 {
		if n, err := queryInt(r, "actor"); err == nil {
			f.ActorID = n // the earlier name of actor_id
		}
	}
	scope := auth.From(r.Context()).Actor.ScopePath
	es, err := h.access.List(r.Context(), scope, f)
	var total int64
	if err == nil {
		total, err = h.access.Count(r.Context(), scope, f)
	}
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	if es == nil {
		es = []accesslog.Entry{}
	}
	h.rd.JSON(w, r, http.StatusOK, map[string]any{"entries": es, "total": total})
}

// say words m in the reader's language, its times in the region's zone.
func (h *Handler) say(l *i18n.Localizer, m audit.Message) string {
	args := map[string]any{}
	for k, v := range m.Args {
		if t, ok := v.(time.Time); ok {
			v = t.In(h.rd.Loc()).Format("2006-01-02 15:04:05")
		}
		args[k] = v
	}
	return l.Say(i18n.Message{Key: m.Key, Args: args})
}

// check walks the audit chain against every signed head (HeadLog.Check),
// then the traced contacts its entries commit to
// (healthcode.VerifyContacts): a contact row edited, deleted or forged
// breaks it at the entry that committed to it.
func (h *Handler) check(ctx context.Context) (audit.Report, error) {
	rep, err := h.heads.Check(ctx, nil)
	if err != nil || !rep.OK {
		return rep, err
	}
	c, err := healthcode.VerifyContacts(ctx, h.db)
	if err != nil || c.OK {
		return rep, err
	}
	rep.OK, rep.BrokenAt, rep.Problem = false, c.BrokenAt, c.Problem
	rep.Message = audit.Message{Key: "auditlog.contacts_broken", Args: map[string]any{"At": c.BrokenAt}}
	return rep, nil
}

// verifyJSON is the outcome of checking the chain, with its failure in
// the reader's language.
type verifyJSON struct {
	audit.Report
	Message string `json:"message,omitempty"`
}

// Verify walks the audit chain, checks it against every signed head and
// checks the traced contacts it commits to (auditor).
func (h *Handler) Verify(w http.ResponseWriter, r *http.Request) {
	rep, err := h.check(r.Context())
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusOK, verifyJSON{rep, h.say(h.rd.L(r), rep.Message)})
}

func text(w http.ResponseWriter, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(s))
}

// Head answers the newest signed head, a signed note (public).
func (h *Handler) Head(w http.ResponseWriter, r *http.Request) {
	hd, err := h.heads.Latest(r.Context())
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	text(w, hd.Note)
}

// Key answers the key that verifies the signed heads (public).
func (h *Handler) Key(w http.ResponseWriter, r *http.Request) {
	text(w, h.heads.VerifierKey()+"\n")
}

// headsPage is a page of signed heads, oldest first; Next is the ?after=
// of the page that follows, 0 after the last.
type headsPage struct {
	Heads []audit.Head `json:"heads"`
	Next  int64        `json:"next,omitempty"`
}

// Heads lists signed heads of more than ?after= entries, oldest first,
// ?limit= (1..1000, 100) at a time (public).
func (h *Handler) Heads(w http.ResponseWriter, r *http.Request) {
	after, err := queryInt(r, "after")
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	limit, err := queryInt(r, "limit")
	if err == nil && limit > 1000 {
		err = validation.Field("limit", "list.limit", "max", 1000)
	}
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	if limit == 0 {
		limit = 100
	}
	hs, err := h.heads.Since(r.Context(), after, int(limit))
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	pg := headsPage{Heads: hs}
	if len(hs) == int(limit) {
		pg.Next = hs[len(hs)-1].Size
	}
	if pg.Heads == nil {
		pg.Heads = []audit.Head{}
	}
	h.rd.JSON(w, r, http.StatusOK, pg)
}

// SignHead signs the chain's head now (auditor): 201 with the new head
// when the chain grew since the last, 200 with the last one otherwise.
func (h *Handler) SignHead(w http.ResponseWriter, r *http.Request) {
	hd, created, err := h.heads.Sign(r.Context())
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	h.rd.JSON(w, r, status, hd)
}
