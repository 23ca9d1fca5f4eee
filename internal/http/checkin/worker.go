package checkin

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/outbreak-platform/outbreak/internal/http/render"
)

// checkinWorkerSource is the check-in page's service worker's own code
// (assets.Set.Worker adds its manifest and what every worker shares).
//
//go:embed checkin_sw.js
var checkinWorkerSource []byte

// checkinShellAssets are the assets the offline copy of the check-in page
// uses, which its worker keeps.
var checkinShellAssets = []string{"app.css", "checkin.js"}

// initCheckInWorker builds the check-in page's worker.
func (h *Handler) initWorker() (err error) {
	h.worker, err = h.rd.Assets().Worker(checkinWorkerSource, Page, "outbreak-checkin-", checkinShellAssets,
		map[string]any{"page": Page, "shell": WorkerShell})
	if err != nil {
		return fmt.Errorf("checkin: %w", err)
	}
	return nil
}

// ServiceWorker serves the check-in page's service worker.
func (h *Handler) ServiceWorker(w http.ResponseWriter, r *http.Request) { h.worker.ServeHTTP(w, r) }

type checkinShellData struct {
	Config checkinConfig
}

// Shell serves the check-in page's offline copy, which the service worker
// keeps and shows when the server cannot be reached: the page without
// anyone's data — no name, family, check-in in progress, session token or
// flash message — so that a phone shared by several residents shows none
// of them to another. Its script reads the account to act for from
// auth.OfflineAccountCookie. Anyone may fetch it; it is in the language of
// whoever asks.
func (h *Handler) Shell(w http.ResponseWriter, r *http.Request) {
	p := h.rd.BarePage(r, "checkin.offline.title")
	cfg := h.config(p)
	cfg.Offline, cfg.Now = true, 0
	p.Data = checkinShellData{Config: cfg}
	body, err := h.t.Execute("checkin_offline", p)
	if err != nil {
		h.rd.Log.ErrorContext(r.Context(), "render failed", "page", "checkin_offline", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	sum := sha256.Sum256(body)
	hd := w.Header()
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", `"`+hex.EncodeToString(sum[:8])+`"`)
	hd.Set("Vary", "Cookie, Accept-Language")
	render.PageHeaders(hd)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body)) // answers If-None-Match
}
