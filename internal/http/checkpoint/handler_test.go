package checkpoint_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/checkpoint"
	"github.com/outbreak-platform/outbreak/internal/checkpoint/checkpointtest"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	cphttp "github.com/outbreak-platform/outbreak/internal/http/checkpoint"
	"github.com/outbreak-platform/outbreak/internal/http/render"
	"github.com/outbreak-platform/outbreak/internal/i18n"
	"github.com/outbreak-platform/outbreak/internal/issuer"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/vault"
)

// failingStore fails every call.
type failingStore struct{}

var errStore = errors.New("store down")

func (failingStore) Record(context.Context, rbac.Actor, []checkpoint.Passage, time.Time) (checkpoint.Recorded, error) {
	return checkpoint.Recorded{}, errStore
}

func (failingStore) Summary(context.Context, string, time.Time, time.Time) (checkpoint.Summary, error) {
	return checkpoint.Summary{}, errStore
}

type env struct {
	h     *cphttp.Handler
	svc   *checkpoint.Service
	d     *db.DB
	op    checkpointtest.Post
	now   time.Time
	issue *issuer.Issuer
}

func newEnv(t *testing.T, store func(d *db.DB) checkpoint.Store) *env {
	t.Helper()
	d := dbtest.SQLite(t)
	op, _, _ := checkpointtest.Fixture(t, d)
	v, err := vault.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	clock := func() time.Time { return now }
	iss := &issuer.Issuer{DB: d, Vault: v, Region: "4201", Now: clock}
	if err := iss.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	rd, err := render.New(slog.New(slog.NewTextHandler(io.Discard, nil)), cat, clock, "")
	if err != nil {
		t.Fatal(err)
	}
	svc := &checkpoint.Service{Store: store(d), Region: iss.Region, Now: clock}
	h, err := cphttp.New(rd, svc, iss, jurisdiction.NewStore(d))
	if err != nil {
		t.Fatal(err)
	}
	return &env{h: h, svc: svc, d: d, op: op, now: now, issue: iss}
}

// as returns r as sent by the checkpoint operator's session, in lang.
func (e *env) as(r *http.Request, lang string) *http.Request {
	a := &account.Account{ID: e.op.Actor.AccountID, Role: rbac.Checkpoint, DisplayName: "检查员甲", Lang: lang,
		JurisdictionID: sql.NullInt64{Int64: e.op.J.ID, Valid: true}}
	return r.WithContext(auth.With(r.Context(), &auth.Principal{Actor: e.op.Actor, Account: a, CSRF: "csrf-token"}))
}

func (e *env) post(t *testing.T, h http.HandlerFunc, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, cphttp.PassagesPath, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h(w, e.as(r, "en"))
	return w
}

type problemJSON struct {
	Status int `json:"status"`
	Errors []struct {
		Field string `json:"field"`
		Code  string `json:"code"`
	} `json:"errors"`
	Messages map[string]string `json:"messages"`
}

func wantProblem(t *testing.T, w *httptest.ResponseRecorder, status int, field string) {
	t.Helper()
	if w.Code != status || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d (%s), want problem details of %d: %s", w.Code, w.Header().Get("Content-Type"), status, w.Body)
	}
	if field == "" {
		return
	}
	var p problemJSON
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	for _, f := range p.Errors {
		if f.Field == field && p.Messages[field] != "" && !strings.HasPrefix(p.Messages[field], "err.") {
			return
		}
	}
	t.Fatalf("errors %+v (%v) do not name %s", p.Errors, p.Messages, field)
}

func batchJSON(t *testing.T, ps ...checkpoint.Passage) string {
	t.Helper()
	b, err := json.Marshal(checkpoint.Batch{Passages: ps})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t, checkpoint.NewStore)
	good := checkpointtest.NewPassage(e.now.Add(-time.Hour), "green")

	w := e.post(t, e.h.Record, batchJSON(t, good, checkpointtest.NewPassage(e.now, "")))
	if w.Code != http.StatusOK || strings.TrimSpace(w.Body.String()) != `{"received":2,"new":2,"duplicates":0}` {
		t.Fatalf("record: %d %s", w.Code, w.Body)
	}
	w = e.post(t, e.h.Record, batchJSON(t, good))
	if w.Code != http.StatusOK || strings.TrimSpace(w.Body.String()) != `{"received":1,"new":0,"duplicates":1}` {
		t.Fatalf("record again: %d %s", w.Code, w.Body)
	}

	mod := func(f func(p *checkpoint.Passage)) string {
		p := checkpointtest.NewPassage(e.now, "green")
		f(&p)
		return batchJSON(t, p)
	}
	for _, c := range []struct {
		name, body string
		status     int
		field      string
	}{
		{"not JSON", `{"passages":[`, http.StatusBadRequest, ""},
		{"unknown field", `{"passages":[],"extra":1}`, http.StatusBadRequest, ""},
		{"no passages", `{"passages":[]}`, http.StatusUnprocessableEntity, "passages"},
		{"too many", batchJSON(t, make([]checkpoint.Passage, checkpoint.MaxBatch+1)...), http.StatusUnprocessableEntity, "passages"},
		{"seen in the future", mod(func(p *checkpoint.Passage) { p.SeenAt = e.now.Add(6 * time.Minute) }), http.StatusUnprocessableEntity, "passages[0].seen_at"},
		{"seen 8 days ago", mod(func(p *checkpoint.Passage) { p.SeenAt = e.now.Add(-8 * 24 * time.Hour) }), http.StatusUnprocessableEntity, "passages[0].seen_at"},
		{"no time", mod(func(p *checkpoint.Passage) { p.SeenAt = time.Time{} }), http.StatusUnprocessableEntity, "passages[0].seen_at"},
		{"client id", mod(func(p *checkpoint.Passage) { p.ClientID = "1" }), http.StatusUnprocessableEntity, "passages[0].client_id"},
		{"upper-case client id", mod(func(p *checkpoint.Passage) { p.ClientID = "ABCDEF01-0000-4000-8000-000000000000" }), http.StatusUnprocessableEntity, "passages[0].client_id"},
		{"colour", mod(func(p *checkpoint.Passage) { p.Colour = "purple" }), http.StatusUnprocessableEntity, "passages[0].colour"},
		{"accepted without colour", mod(func(p *checkpoint.Passage) { p.Colour = "" }), http.StatusUnprocessableEntity, "passages[0].colour"},
		{"result", mod(func(p *checkpoint.Passage) { p.Result = "maybe" }), http.StatusUnprocessableEntity, "passages[0].result"},
		{"accepted with a reason", mod(func(p *checkpoint.Passage) { p.Reason = "expired" }), http.StatusUnprocessableEntity, "passages[0].reason"},
		{"unknown reason", mod(func(p *checkpoint.Passage) { p.Result, p.Reason = checkpoint.Refused, "tired" }), http.StatusUnprocessableEntity, "passages[0].reason"},
		{"forged pass with claims", mod(func(p *checkpoint.Passage) { p.Result, p.Reason = checkpoint.Refused, "bad_signature" }),
			http.StatusUnprocessableEntity, "passages[0].holder"},
		{"holder not base32", mod(func(p *checkpoint.Passage) { p.Holder = "abc" }), http.StatusUnprocessableEntity, "passages[0].holder"},
		{"holder too long", mod(func(p *checkpoint.Passage) { p.Holder = strings.Repeat("A", 24) }), http.StatusUnprocessableEntity, "passages[0].holder"},
		{"region", mod(func(p *checkpoint.Passage) { p.Region = "42 01" }), http.StatusUnprocessableEntity, "passages[0].region"},
		{"kid", mod(func(p *checkpoint.Passage) { p.KID = strings.Repeat("A", 200) }), http.StatusUnprocessableEntity, "passages[0].kid"},
		{"NUL", mod(func(p *checkpoint.Passage) { p.Holder = "A\x00" }), http.StatusBadRequest, ""},
	} {
		t.Run(c.name, func(t *testing.T) { wantProblem(t, e.post(t, e.h.Record, c.body), c.status, c.field) })
	}

	r := httptest.NewRequest(http.MethodPost, cphttp.PassagesPath, strings.NewReader(batchJSON(t, good)))
	r.Header.Set("Content-Type", "text/plain")
	w = httptest.NewRecorder()
	e.h.Record(w, e.as(r, "zh"))
	wantProblem(t, w, http.StatusUnsupportedMediaType, "")

	// A staff account with no post (a token, say) records nothing.
	r = httptest.NewRequest(http.MethodPost, cphttp.PassagesPath, strings.NewReader(batchJSON(t, checkpointtest.NewPassage(e.now, "green"))))
	r.Header.Set("Content-Type", "application/json")
	r = r.WithContext(auth.With(r.Context(), &auth.Principal{Actor: rbac.Actor{Role: rbac.Checkpoint}}))
	w = httptest.NewRecorder()
	e.h.Record(w, r)
	wantProblem(t, w, http.StatusForbidden, "")

	var n int
	if err := db.Get(context.Background(), e.d.R, &n, "SELECT count(*) FROM passages"); err != nil || n != 2 {
		t.Fatalf("rows = %d, %v; want 2", n, err)
	}
}

func TestSummary(t *testing.T) {
	t.Parallel()
	e := newEnv(t, checkpoint.NewStore)
	e.post(t, e.h.Record, batchJSON(t, checkpointtest.NewPassage(e.now.Add(-time.Hour), "green"), checkpointtest.NewPassage(e.now.Add(-11*time.Hour), "red")))
	w := httptest.NewRecorder()
	e.h.Summary(w, e.as(httptest.NewRequest(http.MethodGet, cphttp.SummaryPath, nil), "zh"))
	var got checkpoint.Day
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != http.StatusOK {
		t.Fatalf("summary: %d %s", w.Code, w.Body)
	}
	// 10:00 in UTC+8 less 11 hours is yesterday there.
	if got.Date != "2026-05-01" || got.Green != 1 || got.Red != 0 || got.Total != 1 {
		t.Fatalf("summary = %+v", got)
	}
}

func TestFailingStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(*db.DB) checkpoint.Store { return failingStore{} })
	wantProblem(t, e.post(t, e.h.Record, batchJSON(t, checkpointtest.NewPassage(e.now, "green"))), http.StatusInternalServerError, "")
	w := httptest.NewRecorder()
	e.h.Summary(w, e.as(httptest.NewRequest(http.MethodGet, cphttp.SummaryPath, nil), "zh"))
	wantProblem(t, w, http.StatusInternalServerError, "")
	if strings.Contains(w.Body.String(), errStore.Error()) {
		t.Fatalf("the store's error is shown: %s", w.Body)
	}
}

var configRE = regexp.MustCompile(`(?s)<script type="application/json" id="cp-config">(.*?)</script>`)

func TestPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, checkpoint.NewStore)
	for _, lang := range []string{"zh", "en"} {
		w := httptest.NewRecorder()
		e.h.Page(w, e.as(httptest.NewRequest(http.MethodGet, cphttp.PagePath, nil), lang))
		body := w.Body.String()
		if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("page: %d %s", w.Code, body)
		}
		for h, want := range map[string]string{"Cache-Control": "no-store", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"} {
			if got := w.Header().Get(h); got != want {
				t.Errorf("%s = %q, want %q", h, got, want)
			}
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("CSP = %q", csp)
		}
		m := configRE.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no config in the page: %s", body)
		}
		var cfg struct {
			Lang       string            `json:"lang"`
			Region     string            `json:"region"`
			RegionName string            `json:"region_name"`
			RootKey    string            `json:"root_key"`
			CSRF       string            `json:"csrf"`
			AccountID  int64             `json:"account_id"`
			Texts      map[string]string `json:"texts"`
		}
		if err := json.Unmarshal([]byte(m[1]), &cfg); err != nil {
			t.Fatalf("config %s: %v", m[1], err)
		}
		if cfg.Lang != lang || cfg.Region != "4201" || cfg.CSRF != "csrf-token" || cfg.AccountID != e.op.Actor.AccountID {
			t.Errorf("config = %+v", cfg)
		}
		if want := map[string]string{"zh": "武汉市", "en": "Wuhan"}[lang]; cfg.RegionName != want {
			t.Errorf("region name %q, want %q", cfg.RegionName, want)
		}
		if cfg.RootKey != base64.RawURLEncoding.EncodeToString(e.issue.RootPublicKey()) {
			t.Errorf("root key %q is not the issuer's", cfg.RootKey)
		}
		for _, k := range []string{"colour.green", "refused", "reason.bad_signature", "reason.expired", "reason.no_trust_list", "queued"} {
			if cfg.Texts[k] == "" {
				t.Errorf("%s: no text %q", lang, k)
			}
		}
		want := map[string]string{"zh": "通行码核验", "en": "Pass check"}[lang]
		if !strings.Contains(html.UnescapeString(body), want) {
			t.Errorf("%s page lacks its title %q", lang, want)
		}
		// Every colour says what to do, and the operator can sign out.
		for _, c := range []string{"green", "yellow", "red"} {
			if txt := cfg.Texts["colour."+c]; !strings.Contains(txt, "·") {
				t.Errorf("%s: colour %s says no instruction: %q", lang, c, txt)
			}
		}
		if cfg.Texts["logout_unsent"] == "" || !strings.Contains(body, `action="/logout"`) || !strings.Contains(body, `id="cp-logout"`) {
			t.Errorf("%s: the page has no sign-out (with its warning about unsent passages)", lang)
		}
	}
}

var assetRE = regexp.MustCompile(`/checkpoint/static/([0-9a-f]{12})/checkpoint\.js`)

func TestWorkerAndAssets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, checkpoint.NewStore)
	w := httptest.NewRecorder()
	e.h.ServiceWorker(w, httptest.NewRequest(http.MethodGet, cphttp.WorkerPath, nil))
	sw := w.Body.String()
	if w.Code != http.StatusOK || w.Header().Get("Service-Worker-Allowed") != cphttp.PagePath ||
		!strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") || !strings.HasPrefix(sw, "const MANIFEST = {") {
		t.Fatalf("worker: %d %v %.200s", w.Code, w.Header(), sw)
	}
	m := assetRE.FindStringSubmatch(sw)
	if m == nil || !strings.Contains(sw, `"trust_list":"/api/v1/trust-list?version=2"`) || !strings.Contains(sw, "checkpoint.css") {
		t.Fatalf("worker manifest lacks the assets or the trust list: %.400s", sw)
	}
	r := httptest.NewRequest(http.MethodGet, cphttp.WorkerPath, nil)
	r.Header.Set("If-None-Match", w.Header().Get("ETag"))
	w = httptest.NewRecorder()
	e.h.ServiceWorker(w, r)
	if w.Code != http.StatusNotModified {
		t.Errorf("worker with its ETag: %d", w.Code)
	}

	serve := func(hash, name string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/checkpoint/static/"+hash+"/"+name, nil)
		r.SetPathValue("hash", hash)
		r.SetPathValue("name", name)
		w := httptest.NewRecorder()
		e.h.Static(w, r)
		return w
	}
	if w := serve(m[1], "checkpoint.js"); w.Code != http.StatusOK || !strings.Contains(w.Header().Get("Cache-Control"), "immutable") ||
		w.Body.Len() < 10000 {
		t.Errorf("script: %d %v, %d bytes", w.Code, w.Header(), w.Body.Len())
	}
	if w := serve("000000000000", "checkpoint.js"); w.Code != http.StatusNotFound {
		t.Errorf("script under another hash: %d", w.Code)
	}
	if w := serve(m[1], "other.js"); w.Code != http.StatusNotFound {
		t.Errorf("unknown asset: %d", w.Code)
	}
}

func TestSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, checkpoint.NewStore)
	w := httptest.NewRecorder()
	e.h.Session(w, e.as(httptest.NewRequest(http.MethodGet, cphttp.SessionPath, nil), "zh"))
	var got struct {
		CSRF    string `json:"csrf_token"`
		Account int64  `json:"account_id"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.CSRF != "csrf-token" || got.Account != e.op.Actor.AccountID {
		t.Fatalf("session: %d %s", w.Code, w.Body)
	}
}
