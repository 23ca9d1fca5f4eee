package assets

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"time"
)

// workerCommon is what every service worker shares (worker.js).
//
//go:embed worker.js
var workerCommon []byte

// Worker is a service worker that keeps some of a set's files for a page
// working offline, ready to serve.
type Worker struct {
	script []byte
	etag   string
	scope  string
}

// Worker builds the service worker of source, keeping the files names, for
// a page at scope: a line declaring its MANIFEST — fields, the cache's name
// prefix cache, the files' URLs and a version that changes whenever the
// worker or one of the files does — then the code all workers share
// (worker.js), then source.
func (s *Set) Worker(source []byte, scope, cache string, names []string, fields map[string]any) (*Worker, error) {
	all := sha256.New()
	all.Write(workerCommon)
	all.Write(source)
	urls := make([]string, 0, len(names))
	for _, name := range names {
		if !s.Has(name) {
			return nil, fmt.Errorf("assets: %s missing: run make assets", name)
		}
		fmt.Fprintf(all, "\x00%s\x00%s", name, s.Hash(name))
		urls = append(urls, s.URL(name))
	}
	version := hex.EncodeToString(all.Sum(nil)[:6])
	m := maps.Clone(fields)
	if m == nil {
		m = map[string]any{}
	}
	m["version"], m["cache"], m["assets"] = version, cache, urls
	manifest, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	script := append([]byte("const MANIFEST = "), manifest...)
	script = append(append(append(script, ";\n"...), workerCommon...), source...)
	return &Worker{script: script, etag: `"` + version + `"`, scope: scope}, nil
}

// ServeHTTP serves the worker, to anyone: it holds no secret. Its scope,
// the page, lies outside the script's folder: the Service-Worker-Allowed
// header permits it. Browsers check it for a new version at each visit
// (no-cache, with its ETag).
func (w *Worker) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	h := rw.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Service-Worker-Allowed", w.scope)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", w.etag)
	http.ServeContent(rw, r, "", time.Time{}, bytes.NewReader(w.script)) // answers If-None-Match
}
