package account_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
)

// TestSessionCache: a session looked up once is answered from memory (the
// store's row can go and the cache still answers), and every change made
// through the cache — sign-out, disabling the account (in a transaction),
// a new password, a new role — is seen by the next look-up at once.
func TestSessionCache(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		c := account.NewSessionCache(e.s, time.Hour, 1000)
		svc := account.NewService(d, c, e.rs, jurisdiction.NewStore(d), cheap, "CN-RIC", 4)
		admin := e.admin.Actor()
		target, err := svc.CreateStaff(ctx, admin, account.NewStaff{Username: "epi-1", DisplayName: "流调员", Role: rbac.Epidemiologist,
			JurisdictionCode: "420106", Password: "staff password"})
		if err != nil {
			t.Fatal(err)
		}
		gone := func(tok, when string) {
			t.Helper()
			if _, _, err := c.Session(ctx, tok); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("session %s = %v, want not found", when, err)
			}
		}
		live := func(tok string) account.Account {
			t.Helper()
			a, _, err := c.Session(ctx, tok)
			if err != nil {
				t.Fatalf("session: %v", err)
			}
			return a
		}

		t.Run("in memory", func(t *testing.T) {
			tok, csrf, _ := c.CreateSession(ctx, target.ID, time.Hour)
			live(tok)
			// Behind the cache's back: the row goes, memory still answers.
			if _, err := db.Exec(ctx, d.W, "DELETE FROM sessions WHERE account_id = ?", target.ID); err != nil {
				t.Fatal(err)
			}
			a, got, err := c.Session(ctx, tok)
			if err != nil || a.ID != target.ID || got != csrf {
				t.Fatalf("cached session = %d %q %v, want %d %q from memory", a.ID, got, err, target.ID, csrf)
			}
			if c.Len() == 0 {
				t.Fatal("nothing in memory")
			}
		})
		t.Run("sign-out", func(t *testing.T) {
			tok, _, _ := c.CreateSession(ctx, target.ID, time.Hour)
			live(tok)
			if err := c.DeleteSession(ctx, tok); err != nil {
				t.Fatal(err)
			}
			gone(tok, "after sign-out")
		})
		t.Run("role change", func(t *testing.T) {
			tok, _, _ := c.CreateSession(ctx, target.ID, time.Hour)
			live(tok)
			if _, err := svc.UpdateStaff(ctx, admin, target.ID, account.StaffChange{Role: rbac.Clinician}); err != nil {
				t.Fatal(err)
			}
			if a := live(tok); a.Role != rbac.Clinician {
				t.Fatalf("role after change = %s, want clinician", a.Role)
			}
		})
		t.Run("password change", func(t *testing.T) {
			tok, _, _ := c.CreateSession(ctx, target.ID, time.Hour)
			live(tok)
			if err := c.SetPassword(ctx, target.ID, "new hash"); err != nil {
				t.Fatal(err)
			}
			if a := live(tok); a.PasswordHash != "new hash" {
				t.Fatalf("password hash after change = %q: read from memory", a.PasswordHash)
			}
		})
		t.Run("disabled", func(t *testing.T) {
			tok, _, _ := c.CreateSession(ctx, target.ID, time.Hour)
			live(tok)
			if _, err := svc.UpdateStaff(ctx, admin, target.ID, account.StaffChange{Role: rbac.Clinician, Disabled: new(true)}); err != nil {
				t.Fatal(err)
			}
			gone(tok, "after disabling")
		})
		t.Run("expiry", func(t *testing.T) {
			other := staffAccount(t, d, e.s, "clin-9", rbac.Clinician, e.js["420106"], "pw")
			tok, _, _ := c.CreateSession(ctx, other.ID, 1500*time.Millisecond)
			live(tok)
			time.Sleep(1600 * time.Millisecond)
			gone(tok, "past its expiry")
		})
	})
}
