package checkpoint

import (
	"bytes"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/assets"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/i18n"
	"github.com/outbreak-platform/outbreak/internal/issuer"
	"github.com/outbreak-platform/outbreak/internal/jsonio"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/problem"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// swSource is the service worker; ServiceWorker serves it after a line
// declaring its MANIFEST.
//
//go:embed sw.js
var swSource []byte

// The paths the page and its worker use.
const (
	PagePath      = "/checkpoint"
	WorkerPath    = "/checkpoint/sw.js"
	StaticPrefix  = "/checkpoint/static/"
	TrustListPath = "/api/v1/trust-list"
	PassagesPath  = "/api/v1/passages"
	SummaryPath   = "/api/v1/passages/summary"
	SessionPath   = "/api/v1/checkpoint/session"
)

// TrustListURL asks for the trust list in version 2, which states its
// expiry; the bare path serves version 1 to pages whose script predates it.
const TrustListURL = TrustListPath + "?version=2"

// maxBody caps a batch of passages: MaxBatch of them at well under 1 KiB.
const maxBody = 256 << 10

// Handler serves the checkpoint page, its service worker and assets, and
// the passages API.
type Handler struct {
	Log           *slog.Logger
	Catalog       *i18n.Catalog
	Store         Store
	Issuer        *issuer.Issuer
	Jurisdictions jurisdiction.Store
	Now           func() time.Time
	// Places, Holders and CheckIns turn accepted passages at a place into
	// check-ins (checkins.go); without them passages carry no place.
	Places   venue.Store
	Holders  Holders
	CheckIns CheckIns

	page   *template.Template
	assets *assets.Set
	worker *assets.Worker
}

// Init parses the page template, indexes the assets and builds the service
// worker's manifest.
func (h *Handler) Init() error {
	files, _ := fs.Sub(staticFS, "static")
	var err error
	if h.assets, err = assets.New(files, StaticPrefix); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if h.worker, err = h.assets.Worker(swSource, PagePath, "outbreak-checkpoint-", h.assets.Names(),
		map[string]any{"page": PagePath, "trust_list": TrustListURL}); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	for _, name := range []string{"checkpoint.js", "checkpoint.css"} {
		if !h.assets.Has(name) {
			return fmt.Errorf("checkpoint: asset %s missing: run make assets", name)
		}
	}

	h.page, err = template.New("checkpoint.html").Funcs(template.FuncMap{"asset": h.assets.URL}).ParseFS(templateFS, "templates/checkpoint.html")
	if err != nil {
		return fmt.Errorf("checkpoint: parse template: %w", err)
	}
	return nil
}

// Static serves the assets under /checkpoint/static/{hash}/{name}, cached
// for a year: the hash in the URL changes whenever the content does, and a
// URL whose hash is not the current one is not found.
func (h *Handler) Static(w http.ResponseWriter, r *http.Request) { h.assets.Serve(w, r) }

// ServiceWorker serves the worker that keeps the page working offline.
func (h *Handler) ServiceWorker(w http.ResponseWriter, r *http.Request) { h.worker.ServeHTTP(w, r) }

// pageConfig is what the page's script reads from the page.
type pageConfig struct {
	Lang       string `json:"lang"`
	Region     string `json:"region"`
	RegionName string `json:"region_name"`
	// RootKey is the base64url raw Ed25519 key that signs the trust list.
	RootKey  string `json:"root_key"`
	TimeZone string `json:"time_zone,omitempty"`
	// CSRF is the session's token when the page was rendered; the script
	// asks SessionPath for the current one before sending passages.
	CSRF      string            `json:"csrf"`
	AccountID int64             `json:"account_id"`
	Texts     map[string]string `json:"texts"`
	Worker    string            `json:"worker"`
	Scope     string            `json:"scope"`
	TrustList string            `json:"trust_list"`
	Passages  string            `json:"passages"`
	Summary   string            `json:"summary"`
	Session   string            `json:"session"`
	// Places lists the places the checkpoint may stand at.
	Places string `json:"places"`
}

type pageData struct {
	L        *i18n.Localizer
	Operator string
	Role     string
	CSRF     string
	Config   pageConfig
}

func lang(r *http.Request) string {
	if p := auth.From(r.Context()); p != nil && p.Account != nil {
		return p.Account.Lang
	}
	return i18n.Negotiate(r)
}

// texts returns every checkpoint text of l's language, keyed without the
// "checkpoint." prefix, for the script.
func (h *Handler) texts(l *i18n.Localizer) map[string]string {
	out := map[string]string{}
	for _, k := range h.Catalog.Keys(l.Lang) {
		if rest, ok := strings.CutPrefix(k, "checkpoint."); ok {
			out[rest] = l.T(k)
		}
	}
	return out
}

// Page shows the checkpoint page to a signed-in operator.
func (h *Handler) Page(w http.ResponseWriter, r *http.Request) {
	p := auth.From(r.Context())
	l := h.Catalog.For(lang(r))
	region := h.Issuer.Region
	regionName := region
	if j, err := h.Jurisdictions.GetByCode(r.Context(), region); err == nil {
		regionName = j.Name(l.Lang)
	}
	tz := h.Now().Location().String()
	if tz == "Local" {
		tz = ""
	}
	d := pageData{L: l, Operator: p.Actor.Name, Role: l.Role(string(p.Actor.Role)), CSRF: p.CSRF, Config: pageConfig{
		Lang: l.Lang, Region: region, RegionName: regionName, TimeZone: tz,
		RootKey: base64.RawURLEncoding.EncodeToString(h.Issuer.RootPublicKey()), CSRF: p.CSRF, AccountID: p.Actor.AccountID,
		Texts: h.texts(l), Worker: WorkerPath, Scope: PagePath, TrustList: TrustListURL, Passages: PassagesPath,
		Summary: SummaryPath, Session: SessionPath, Places: PlacesPath,
	}}
	var buf bytes.Buffer
	if err := h.page.Execute(&buf, d); err != nil {
		h.Log.ErrorContext(r.Context(), "render failed", "template", "checkpoint", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
	hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "+
		"media-src 'self' blob:; worker-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

// Session tells the page the current CSRF token and who is signed in, so
// that a copy of the page kept offline sends passages with a fresh token
// and only for the operator who recorded them.
func (h *Handler) Session(w http.ResponseWriter, r *http.Request) {
	p := auth.From(r.Context())
	if p.Account == nil {
		h.fail(w, r, problem.New(http.StatusForbidden, "The checkpoint page needs a signed-in account."))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.write(w, r, http.StatusOK, map[string]any{"csrf_token": p.CSRF, "account_id": p.Actor.AccountID, "region": h.Issuer.Region})
}

// Record takes a batch of passages and records each once.
func (h *Handler) Record(w http.ResponseWriter, r *http.Request) {
	var b Batch
	if err := jsonio.DecodeLimit(w, r, &b, maxBody); err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.Now()
	if err := b.Validate(now); err != nil {
		h.fail(w, r, err)
		return
	}
	actor := auth.From(r.Context()).Actor
	places, err := h.checkPlaces(r.Context(), actor, b.Passages)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rec, err := h.Store.Record(r.Context(), actor, b.Passages, now)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// Every accepted passage at a place, new or sent again: a check-in lost
	// to a failure after the passages were stored is made when the page
	// sends them again; one already made is kept once.
	if rec.CheckIns, err = h.checkIns(r.Context(), b.Passages, places); err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, rec)
}

// SummaryView is today's count of passages in the actor's scope.
type SummaryView struct {
	Date string    `json:"date"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Summary
}

// Summary counts today's passages at checkpoints in the actor's scope.
func (h *Handler) Summary(w http.ResponseWriter, r *http.Request) {
	now := h.Now()
	from := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	to := from.AddDate(0, 0, 1)
	s, err := h.Store.Summary(r.Context(), auth.From(r.Context()).Actor.ScopePath, from, to)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.write(w, r, http.StatusOK, SummaryView{Date: from.Format(time.DateOnly), From: from, To: to, Summary: s})
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrNoPost) {
		err = problem.New(http.StatusForbidden, "Passages are recorded by checkpoint accounts posted to a jurisdiction.")
	}
	problem.Write(w, r, h.Log, err, h.Catalog.For(lang(r)).Field)
}

func (h *Handler) write(w http.ResponseWriter, r *http.Request, status int, v any) {
	if err := jsonio.Write(w, status, v); err != nil {
		h.Log.ErrorContext(r.Context(), "write response", "err", err)
	}
}
