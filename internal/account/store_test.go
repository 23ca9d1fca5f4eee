package account_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction/jurisdictiontest"
	"github.com/outbreak-platform/outbreak/internal/rbac"
)

// staffAccount stores a staff account at jurisdiction j with password pw.
func staffAccount(t *testing.T, d *db.DB, s account.Store, username string, role rbac.Role, j jurisdiction.Jurisdiction, pw string) account.Account {
	t.Helper()
	a := account.Account{Username: username, PasswordHash: account.HashPassword(pw, cheap), Role: role, DisplayName: "名 " + username,
		Lang: "zh", JurisdictionID: sql.NullInt64{Int64: j.ID, Valid: true}}
	id, err := s.Create(context.Background(), d.W, a)
	if err != nil {
		t.Fatalf("create %s: %v", username, err)
	}
	got, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func count(t *testing.T, d *db.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Get(context.Background(), d.R, &n, query, args...); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAccounts(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		js := jurisdictiontest.Region(t, d)
		s := account.NewStore(d)
		a := staffAccount(t, d, s, "epi-1", rbac.Epidemiologist, js["420106"], "pw")
		b := staffAccount(t, d, s, "clin-1", rbac.Clinician, js["420102"], "pw")

		t.Run("get", func(t *testing.T) {
			got, err := s.GetByUsername(ctx, "epi-1")
			if err != nil || got.ID != a.ID || got.Role != rbac.Epidemiologist || got.DisplayName != "名 epi-1" ||
				got.JurisdictionCode.String != "420106" || got.JurisdictionPath.String != js["420106"].Path || got.Demo || got.Disabled {
				t.Fatalf("GetByUsername = %+v, %v", got, err)
			}
			actor := got.Actor()
			if actor.AccountID != a.ID || actor.ScopePath != js["420106"].Path || actor.Role != rbac.Epidemiologist || actor.JurisdictionID != js["420106"].ID {
				t.Fatalf("Actor = %+v", actor)
			}
			for _, u := range []string{"nobody", "epi-1\x00", "\x00", "epi-\xff"} {
				if _, err := s.GetByUsername(ctx, u); !errors.Is(err, db.ErrNotFound) {
					t.Errorf("GetByUsername(%q) = %v, want ErrNotFound", u, err)
				}
			}
			if _, err := s.Get(ctx, 98765); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("unknown id = %v, want ErrNotFound", err)
			}
		})

		t.Run("duplicate username is a conflict", func(t *testing.T) {
			_, err := s.Create(ctx, d.W, account.Account{Username: "epi-1", PasswordHash: "x", Role: rbac.Auditor, DisplayName: "x",
				Lang: "zh", JurisdictionID: sql.NullInt64{Int64: js["42"].ID, Valid: true}})
			if !errors.Is(err, db.ErrConflict) {
				t.Fatalf("duplicate = %v, want ErrConflict", err)
			}
		})

		t.Run("list staff is scoped", func(t *testing.T) {
			as, err := s.ListStaff(ctx, js["420102"].Path, 0, 0)
			if err != nil || len(as) != 1 || as[0].ID != b.ID {
				t.Fatalf("ListStaff 420102 = %+v, %v", as, err)
			}
			as, _ = s.ListStaff(ctx, js["4201"].Path, 0, 0)
			if len(as) != 2 {
				t.Fatalf("ListStaff 4201 = %d accounts", len(as))
			}
			as, _ = s.ListStaff(ctx, js["4201"].Path, a.ID, 0)
			if len(as) != 1 || as[0].ID != b.ID {
				t.Fatalf("ListStaff after %d = %+v", a.ID, as)
			}
			as, _ = s.ListStaff(ctx, "", 0, 0)
			if len(as) != 0 {
				t.Fatalf("ListStaff(\"\") = %+v", as)
			}
		})

		t.Run("update is scoped", func(t *testing.T) {
			c := b
			c.DisplayName = "改"
			if err := s.Update(ctx, d.W, js["420106"].Path, c); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("update out of scope = %v, want ErrNotFound", err)
			}
			if got, _ := s.Get(ctx, b.ID); got.DisplayName != b.DisplayName {
				t.Fatalf("out-of-scope update applied: %+v", got)
			}
			if err := s.Update(ctx, d.W, js["420102"].Path, c); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Get(ctx, b.ID); got.DisplayName != "改" {
				t.Fatalf("update not applied: %+v", got)
			}
		})

		t.Run("password and language", func(t *testing.T) {
			if err := s.SetPassword(ctx, a.ID, account.HashPassword("new password", cheap)); err != nil {
				t.Fatal(err)
			}
			if err := s.SetLang(ctx, a.ID, "en"); err != nil {
				t.Fatal(err)
			}
			got, _ := s.Get(ctx, a.ID)
			if ok, err := account.CheckPassword("new password", got.PasswordHash); !ok || err != nil || got.Lang != "en" {
				t.Fatalf("after SetPassword/SetLang: %v %v lang %s", ok, err, got.Lang)
			}
		})
	})
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		js := jurisdictiontest.Region(t, d)
		s := account.NewStore(d)
		a := staffAccount(t, d, s, "worker-1", rbac.CommunityWorker, js["420106001"], "pw")
		b := staffAccount(t, d, s, "worker-2", rbac.CommunityWorker, js["420102001"], "pw")

		tok, csrf, err := s.CreateSession(ctx, a.ID, time.Hour)
		if err != nil || len(tok) < 40 || len(csrf) < 30 || tok == csrf {
			t.Fatalf("CreateSession = %q, %q, %v", tok, csrf, err)
		}
		if n := count(t, d, "SELECT count(*) FROM sessions WHERE csrf_token = ?", csrf); n != 1 {
			t.Fatalf("sessions with the CSRF token = %d", n)
		}
		// Only a hash of the token is kept.
		var stored []byte
		if err := db.Get(ctx, d.R, &stored, "SELECT token_hash FROM sessions WHERE account_id = ?", a.ID); err != nil || strings.Contains(string(stored), tok) {
			t.Fatalf("stored token = %q, %v", stored, err)
		}

		t.Run("lookup", func(t *testing.T) {
			got, gotCSRF, err := s.Session(ctx, tok)
			if err != nil || got.ID != a.ID || gotCSRF != csrf || got.JurisdictionPath.String != js["420106001"].Path || got.Role != rbac.CommunityWorker {
				t.Fatalf("Session = %+v, %q, %v", got, gotCSRF, err)
			}
			for _, bad := range []string{"", "x", tok + "x", tok[:len(tok)-1], strings.ToUpper(tok), csrf} {
				if _, _, err := s.Session(ctx, bad); !errors.Is(err, db.ErrNotFound) {
					t.Errorf("Session(%q) = %v, want ErrNotFound", bad, err)
				}
			}
		})

		t.Run("expiry and purge", func(t *testing.T) {
			old, _, err := s.CreateSession(ctx, a.ID, -time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Session(ctx, old); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("expired session = %v, want ErrNotFound", err)
			}
			n, err := s.PurgeSessions(ctx, time.Now())
			if err != nil || n != 1 {
				t.Fatalf("PurgeSessions = %d, %v; want 1", n, err)
			}
			if _, _, err := s.Session(ctx, tok); err != nil {
				t.Fatalf("live session purged: %v", err)
			}
			// Purging as of two hours on takes the live one too.
			other, _, _ := s.CreateSession(ctx, b.ID, time.Hour)
			if n, err := s.PurgeSessions(ctx, time.Now().Add(2*time.Hour)); err != nil || n != 2 {
				t.Fatalf("PurgeSessions later = %d, %v; want 2", n, err)
			}
			if _, _, err := s.Session(ctx, other); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("purged session = %v", err)
			}
			tok, csrf, _ = s.CreateSession(ctx, a.ID, time.Hour)
		})

		t.Run("delete", func(t *testing.T) {
			second, _, _ := s.CreateSession(ctx, a.ID, time.Hour)
			ofB, _, _ := s.CreateSession(ctx, b.ID, time.Hour)
			if err := s.DeleteSession(ctx, second); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Session(ctx, second); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("deleted session = %v", err)
			}
			if _, _, err := s.Session(ctx, tok); err != nil {
				t.Fatalf("other session of the account gone: %v", err)
			}
			if err := s.DeleteSessionsOf(ctx, d.W, a.ID); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Session(ctx, tok); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("session after DeleteSessionsOf = %v", err)
			}
			if _, _, err := s.Session(ctx, ofB); err != nil {
				t.Fatalf("another account's session gone: %v", err)
			}
		})

		t.Run("disabled accounts have no live session", func(t *testing.T) {
			live, _, _ := s.CreateSession(ctx, b.ID, time.Hour)
			c := b
			c.Disabled = true
			if err := s.Update(ctx, d.W, jurisdiction.All, c); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Session(ctx, live); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("session of a disabled account = %v, want ErrNotFound", err)
			}
			c.Disabled = false
			if err := s.Update(ctx, d.W, jurisdiction.All, c); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Session(ctx, live); err != nil {
				t.Fatalf("session after re-enabling (store only) = %v", err)
			}
		})
	})
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		js := jurisdictiontest.Region(t, d)
		s := account.NewStore(d)
		admin := staffAccount(t, d, s, "admin", rbac.Admin, js["42"], "pw")

		secret, tok, err := s.CreateToken(ctx, account.Token{Name: "lab system", Role: rbac.LabTechnician, JurisdictionID: js["420106"].ID, CreatedBy: admin.ID})
		if err != nil || tok.ID == 0 || len(tok.PublicID) != 16 || !strings.HasPrefix(secret, "obk_"+tok.PublicID+"_") {
			t.Fatalf("CreateToken = %q, %+v, %v", secret, tok, err)
		}
		if n := count(t, d, "SELECT count(*) FROM api_tokens WHERE secret_hash = ?", []byte(secret)); n != 0 {
			t.Fatal("the secret is stored in clear")
		}

		t.Run("authenticate", func(t *testing.T) {
			got, err := s.AuthenticateToken(ctx, secret)
			if err != nil || got.ID != tok.ID || got.Role != rbac.LabTechnician || got.JurisdictionCode != "420106" ||
				got.JurisdictionPath != js["420106"].Path || got.CreatedBy != admin.ID || got.Name != "lab system" {
				t.Fatalf("AuthenticateToken = %+v, %v", got, err)
			}
			actor := got.Actor()
			if actor.TokenID != tok.ID || actor.ScopePath != js["420106"].Path || actor.Role != rbac.LabTechnician || actor.AccountID != admin.ID {
				t.Fatalf("token actor = %+v", actor)
			}
		})

		t.Run("malformed and wrong secrets", func(t *testing.T) {
			pub, sec, _ := strings.Cut(strings.TrimPrefix(secret, "obk_"), "_")
			flip := func(s string) string {
				if s[len(s)-1] == 'A' {
					return s[:len(s)-1] + "B"
				}
				return s[:len(s)-1] + "A"
			}
			for _, bad := range []string{
				"", "obk_", "obk__", "obk_" + pub, "obk_" + pub + "_", "OBK_" + pub + "_" + sec, pub + "_" + sec,
				"obk_" + pub[:15] + "_" + sec, "obk_" + pub + "0_" + sec, "obk_" + flip(pub) + "_" + sec,
				"obk_" + pub + "_" + flip(sec), "obk_" + pub + "_" + sec + "x", "obk_" + pub + "_" + sec[1:],
				"obk_" + strings.Repeat("\x00", 16) + "_" + sec, "obk_" + strings.Repeat("\xff", 16) + "_" + sec,
				"obk_" + strings.Repeat("中", 5) + "x_" + sec, "obk_" + pub + "_" + sec + "_" + sec,
			} {
				if _, err := s.AuthenticateToken(ctx, bad); !errors.Is(err, account.ErrBadToken) {
					t.Errorf("AuthenticateToken(%q) = %v, want ErrBadToken", bad, err)
				}
			}
		})

		t.Run("expiry", func(t *testing.T) {
			past, _, err := s.CreateToken(ctx, account.Token{Name: "old", Role: rbac.Clinician, JurisdictionID: js["420106"].ID, CreatedBy: admin.ID,
				ExpiresAt: sql.NullTime{Time: time.Now().Add(-time.Minute).UTC(), Valid: true}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.AuthenticateToken(ctx, past); !errors.Is(err, account.ErrBadToken) {
				t.Fatalf("expired token = %v, want ErrBadToken", err)
			}
			future, _, err := s.CreateToken(ctx, account.Token{Name: "new", Role: rbac.Clinician, JurisdictionID: js["420106"].ID, CreatedBy: admin.ID,
				ExpiresAt: sql.NullTime{Time: time.Now().Add(time.Hour).UTC(), Valid: true}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.AuthenticateToken(ctx, future)
			if err != nil || !got.ExpiresAt.Valid || time.Until(got.ExpiresAt.Time) < 58*time.Minute {
				t.Fatalf("token expiring in an hour = %+v, %v", got.ExpiresAt, err)
			}
		})

		t.Run("list and revoke are scoped", func(t *testing.T) {
			other, otherTok, err := s.CreateToken(ctx, account.Token{Name: "hospital", Role: rbac.Clinician, JurisdictionID: js["420102"].ID, CreatedBy: admin.ID})
			if err != nil {
				t.Fatal(err)
			}
			ts, err := s.ListTokens(ctx, js["420102"].Path)
			if err != nil || len(ts) != 1 || ts[0].ID != otherTok.ID {
				t.Fatalf("ListTokens 420102 = %+v, %v", ts, err)
			}
			all, _ := s.ListTokens(ctx, jurisdiction.All)
			if len(all) != 4 || all[0].ID != otherTok.ID {
				t.Fatalf("ListTokens all = %d tokens, newest %d", len(all), all[0].ID)
			}
			if err := s.RevokeToken(ctx, js["420102"].Path, tok.ID); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("revoke out of scope = %v, want ErrNotFound", err)
			}
			if _, err := s.AuthenticateToken(ctx, secret); err != nil {
				t.Fatalf("token revoked from outside its scope: %v", err)
			}
			if err := s.RevokeToken(ctx, js["420106"].Path, tok.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AuthenticateToken(ctx, secret); !errors.Is(err, account.ErrBadToken) {
				t.Fatalf("revoked token = %v, want ErrBadToken", err)
			}
			if err := s.RevokeToken(ctx, jurisdiction.All, tok.ID); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("second revoke = %v, want ErrNotFound", err)
			}
			if _, err := s.AuthenticateToken(ctx, other); err != nil {
				t.Fatalf("revoking one token touched another: %v", err)
			}
			ts, _ = s.ListTokens(ctx, js["420106"].Path)
			for _, x := range ts {
				if x.ID == tok.ID && !x.RevokedAt.Valid {
					t.Fatal("listed token not marked revoked")
				}
			}
		})
	})
}
