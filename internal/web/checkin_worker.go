package web

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// checkinWorkerSource is the check-in page's service worker;
// CheckInServiceWorker serves it after a line declaring its MANIFEST.
//
//go:embed checkin_sw.js
var checkinWorkerSource []byte

// checkinShellAssets are the assets the offline copy of the check-in page
// uses, which its worker keeps.
var checkinShellAssets = []string{"app.css", "checkin.js"}

// initCheckInWorker builds the worker with its manifest; its version
// changes whenever the worker or one of the assets it keeps does.
func (h *Handler) initCheckInWorker() error {
	all := sha256.New()
	all.Write(checkinWorkerSource)
	var urls []string
	for _, name := range checkinShellAssets {
		if !h.assets.Has(name) {
			return fmt.Errorf("web: asset %s missing: run make assets", name)
		}
		fmt.Fprintf(all, "\x00%s\x00%s", name, h.assets.Hash(name))
		urls = append(urls, h.assets.URL(name))
	}
	version := hex.EncodeToString(all.Sum(nil)[:6])
	manifest, err := json.Marshal(map[string]any{"version": version, "page": CheckInPage, "shell": CheckInWorkerShell, "assets": urls})
	if err != nil {
		return err
	}
	h.checkinWorker = append(append(append([]byte("const MANIFEST = "), manifest...), ";\n"...), checkinWorkerSource...)
	h.checkinWorkerTag = `"` + version + `"`
	return nil
}

// ServiceWorker serves the check-in page's service worker, to anyone: it
// holds no secret. Its scope is the page, /checkin, which lies outside the
// script's folder: the Service-Worker-Allowed header permits it. Browsers
// check it for a new version at each visit (no-cache, with its ETag).
func (h *CheckIns) ServiceWorker(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", "text/javascript; charset=utf-8")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("Service-Worker-Allowed", CheckInPage)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("ETag", h.checkinWorkerTag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(h.checkinWorker)) // answers If-None-Match
}

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
func (h *CheckIns) Shell(w http.ResponseWriter, r *http.Request) {
	l := h.Catalog.For(h.lang(r))
	p := &page{L: l, Title: l.T("checkin.offline.title"), Errors: map[string]string{}, Bare: true}
	cfg := h.config(p)
	cfg.Offline, cfg.Now = true, 0
	p.Data = checkinShellData{Config: cfg}
	body, err := h.execute("checkin_offline", p)
	if err != nil {
		h.Log.ErrorContext(r.Context(), "render failed", "template", "checkin_offline", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	sum := sha256.Sum256(body)
	hd := w.Header()
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", `"`+hex.EncodeToString(sum[:8])+`"`)
	hd.Set("Vary", "Cookie, Accept-Language")
	pageHeaders(hd)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body)) // answers If-None-Match
}
