package issuer_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/issuer"
	"github.com/outbreak-platform/outbreak/internal/pass"
	"github.com/outbreak-platform/outbreak/internal/vault"
)

func TestIssueRotateVerify(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		v, _ := vault.New(bytes.Repeat([]byte{7}, 32))
		now := time.Date(2020, 2, 10, 9, 0, 0, 0, time.UTC)
		is := &issuer.Issuer{DB: d, Vault: v, Region: "4201", Now: func() time.Time { return now }}
		if err := is.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		old, claims, err := is.Issue(42, "张大伟", pass.Green)
		if err != nil || claims.MaskedName != "张*伟" || claims.Expires.Sub(claims.IssuedAt) != 24*time.Hour {
			t.Fatalf("issue: %+v, %v", claims, err)
		}
		tl, err := is.Verifier(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res, err := tl.Verify(old, now.Add(time.Hour), "4201"); err != nil || res.Colour != pass.Green {
			t.Fatalf("verify: %+v, %v", res, err)
		}
		// The holder id rotates daily and does not reveal the resident.
		if is.HolderID(42, now) == is.HolderID(42, now.Add(24*time.Hour)) || is.HolderID(42, now) == is.HolderID(43, now) {
			t.Fatal("holder id does not rotate or collides")
		}

		// A restart loads the same keys; the private key is sealed at rest.
		again := &issuer.Issuer{DB: d, Vault: v, Region: "4201", Now: func() time.Time { return now }}
		if err := again.Ensure(ctx); err != nil || !bytes.Equal(again.RootPublicKey(), is.RootPublicKey()) {
			t.Fatalf("reload: %v", err)
		}
		var sealed []byte
		db.Get(ctx, d.R, &sealed, "SELECT private_sealed FROM signing_keys WHERE purpose = 'pass'")
		if len(sealed) < 40 {
			t.Fatal("no sealed key")
		}

		oldKID, newKID, err := is.Rotate(ctx)
		if err != nil || oldKID == newKID {
			t.Fatalf("rotate: %s %s %v", oldKID, newKID, err)
		}
		fresh, _, _ := is.Issue(42, "张大伟", pass.Red)
		tl, _ = is.Verifier(ctx)
		if _, err := tl.Verify(old, now.Add(2*time.Hour), "4201"); err != nil {
			t.Fatalf("a pass signed before the rotation must stay valid: %v", err)
		}
		if res, err := tl.Verify(fresh, now.Add(2*time.Hour), "4201"); err != nil || res.Colour != pass.Red {
			t.Fatalf("new pass: %v", err)
		}
		// A day later the retired key has left the trust list.
		now = now.Add(25 * time.Hour)
		tl, _ = is.Verifier(ctx)
		if len(tl.Keys()) != 1 {
			t.Fatalf("trust list keys after retirement: %d", len(tl.Keys()))
		}
		// Another region's root does not vouch for this trust list.
		doc, _ := is.TrustList(ctx)
		other := &issuer.Issuer{DB: dbtest.SQLite(t), Vault: v, Region: "4403", Now: func() time.Time { return now }}
		other.Ensure(ctx)
		if _, err := pass.ParseTrustList(doc, other.RootPublicKey()); err == nil {
			t.Fatal("trust list accepted under a foreign root key")
		}
	})
}
