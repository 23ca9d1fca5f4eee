// Package checkpoint serves the checkpoint page: a phone that scans passes
// and verifies them in the browser against the trust list it keeps, its
// service worker (so it works with no network) and assets, and the
// passages API it sends what it saw to.
package checkpoint

import (
	"bytes"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"

	"github.com/outbreak-platform/outbreak/internal/assets"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/checkpoint"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/http/render"
	"github.com/outbreak-platform/outbreak/internal/http/route"
	"github.com/outbreak-platform/outbreak/internal/i18n"
	"github.com/outbreak-platform/outbreak/internal/issuer"
	"github.com/outbreak-platform/outbreak/internal/jsonio"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
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
	PlacesPath    = "/api/v1/checkpoint/places"
)

// TrustListURL asks for the trust list in version 2, which states its
// expiry; the bare path serves version 1 to pages whose script predates it.
const TrustListURL = TrustListPath + "?version=2"

// Handler serves the checkpoint page, its service worker and assets, and
// the passages API.
type Handler struct {
	rd     *render.Renderer
	svc    *checkpoint.Service
	issuer *issuer.Issuer
	juris  jurisdiction.Store

	page   *template.Template
	assets *assets.Set
	worker *assets.Worker
}

// New parses the page template, indexes the assets and builds the service
// worker's manifest.
func New(rd *render.Renderer, svc *checkpoint.Service, iss *issuer.Issuer, juris jurisdiction.Store) (*Handler, error) {
	h := &Handler{rd: rd, svc: svc, issuer: iss, juris: juris}
	if err := h.init(); err != nil {
		return nil, err
	}
	return h, nil
}

// Routes lists the checkpoint page and API. The page opens offline from
// its service worker's copy; the worker and the hashed assets hold no
// secret, so anyone may fetch them.
func (h *Handler) Routes() []route.Route {
	verify := route.Can(rbac.PassVerify)
	return []route.Route{
		route.P("GET "+PagePath, verify, h.Page),
		route.R("GET "+WorkerPath, http.HandlerFunc(h.ServiceWorker)),
		route.R("GET "+StaticPrefix+"{hash}/{name}", http.HandlerFunc(h.Static)),
		route.A("GET "+SessionPath, verify, h.Session),
		route.A("POST "+PassagesPath, verify, h.Record),
		route.A("GET "+SummaryPath, route.CanAny(rbac.PassVerify, rbac.StatsRead), h.Summary),
		route.A("GET "+PlacesPath, verify, h.Places),
	}
}

func (h *Handler) init() error {
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

// texts returns every checkpoint text of l's language, keyed without the
// "checkpoint." prefix, for the script.
func (h *Handler) texts(l *i18n.Localizer) map[string]string {
	out := map[string]string{}
	for _, k := range h.rd.Catalog.Keys(l.Lang) {
		if rest, ok := strings.CutPrefix(k, "checkpoint."); ok {
			out[rest] = l.T(k)
		}
	}
	return out
}

// Page shows the checkpoint page to a signed-in operator.
func (h *Handler) Page(w http.ResponseWriter, r *http.Request) {
	p := auth.From(r.Context())
	l := h.rd.L(r)
	region := h.issuer.Region
	regionName := region
	if j, err := h.juris.GetByCode(r.Context(), region); err == nil {
		regionName = j.Name(l.Lang)
	}
	tz := h.rd.Loc().String()
	if tz == "Local" {
		tz = ""
	}
	d := pageData{L: l, Operator: p.Actor.Name, Role: l.Role(string(p.Actor.Role)), CSRF: p.CSRF, Config: pageConfig{
		Lang: l.Lang, Region: region, RegionName: regionName, TimeZone: tz,
		RootKey: base64.RawURLEncoding.EncodeToString(h.issuer.RootPublicKey()), CSRF: p.CSRF, AccountID: p.Actor.AccountID,
		Texts: h.texts(l), Worker: WorkerPath, Scope: PagePath, TrustList: TrustListURL, Passages: PassagesPath,
		Summary: SummaryPath, Session: SessionPath, Places: PlacesPath,
	}}
	var buf bytes.Buffer
	if err := h.page.Execute(&buf, d); err != nil {
		h.rd.Log.ErrorContext(r.Context(), "render failed", "template", "checkpoint", "err", err)
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

var errNoAccount = fault.New(fault.Forbidden, "checkpoint.needs_account", "checkpoint: the page needs a signed-in account")

// Session tells the page the current CSRF token and who is signed in, so
// that a copy of the page kept offline sends passages with a fresh token
// and only for the operator who recorded them.
func (h *Handler) Session(w http.ResponseWriter, r *http.Request) {
	p := auth.From(r.Context())
	if p.Account == nil {
		h.rd.Problem(w, r, errNoAccount)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.rd.JSON(w, r, http.StatusOK, map[string]any{"csrf_token": p.CSRF, "account_id": p.Actor.AccountID, "region": h.issuer.Region})
}

// maxBody caps a batch of passages: MaxBatch of them at well under 1 KiB.
const maxBody = 256 << 10

// Record takes a batch of passages and records each once.
func (h *Handler) Record(w http.ResponseWriter, r *http.Request) {
	var b checkpoint.Batch
	if err := jsonio.DecodeLimit(w, r, &b, maxBody); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	rec, err := h.svc.Record(r.Context(), auth.From(r.Context()).Actor, b)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusOK, rec)
}

// Summary counts today's passages at checkpoints in the actor's scope.
func (h *Handler) Summary(w http.ResponseWriter, r *http.Request) {
	d, err := h.svc.Today(r.Context(), auth.From(r.Context()).Actor)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.rd.JSON(w, r, http.StatusOK, d)
}

// Places lists the places in the operator's scope whose name starts with
// ?q= (all, up to 200, without), for the page's choice of where it stands.
func (h *Handler) Places(w http.ResponseWriter, r *http.Request) {
	ps, err := h.svc.PlacesFor(r.Context(), auth.From(r.Context()).Actor, r.URL.Query().Get("q"))
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.rd.JSON(w, r, http.StatusOK, map[string]any{"places": ps})
}
