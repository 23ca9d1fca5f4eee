package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/config"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/server"
	"github.com/outbreak-platform/outbreak/internal/vault"
)

// FuzzAPIBodies sends arbitrary bodies to the API's anonymous JSON
// endpoints and checks that the answer is never a server error and always
// JSON.
func FuzzAPIBodies(f *testing.F) {
	for _, s := range []string{
		`{"username":"resident-1","password":"demo"}`,
		`{"name":"王伟","id_number":"11010519491231002X","phone":"13800000001","community_code":"420106001","username":"wang","password":"longenough"}`,
		`{"name":"王伟","id_number":"11010519491231002X","birth_date":"1949-13-01"}`,
		`{"password":1}`, `[]`, `null`, `{"username":"` + strings.Repeat("a", 300) + `"}`, "\xff\xfe", `{"lang":"en"}`,
	} {
		f.Add("/api/v1/login", s)
		f.Add("/api/v1/register", s)
	}
	d := dbtest.SQLite(f)
	v, _ := vault.New(make([]byte, 32))
	cfg := config.Default()
	cfg.Argon2 = testArgon
	cfg.LoginPerMinute = 1 << 20
	s, err := server.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), d, v, server.NewRegistry())
	if err != nil {
		f.Fatal(err)
	}
	h := s.Handler()
	f.Fuzz(func(t *testing.T, path, body string) {
		if path != "/api/v1/login" && path != "/api/v1/register" {
			path = "/api/v1/register"
		}
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %q: status %d: %s", path, body, w.Code, w.Body)
		}
		if ct := w.Header().Get("Content-Type"); !strings.Contains(ct, "json") {
			t.Fatalf("%s %q: content type %q", path, body, ct)
		}
	})
}
