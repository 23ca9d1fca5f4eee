package issuer_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/fault"
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
		// A name stored before names were checked, with nothing to show,
		// is a conflict the holder is told about, not a server error.
		if _, _, err := is.Issue(43, "\u200b\u2060", pass.Green); !errors.Is(err, issuer.ErrNameUnreadable) || fault.KindOf(err) != fault.Conflict {
			t.Fatalf("issue for an invisible name: %v, want ErrNameUnreadable", err)
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

		oldKID, newKID, err := is.Rotate(ctx, now)
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
		if got := kidOfPass(t, tl, fresh, now); got != newKID {
			t.Errorf("after the rotation, this process signs with %s, want the new key %s", got, newKID)
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

// TestTrustListExpiry: the list states its expiry, TrustListMaxAge after its
// issue (a week unless told otherwise); a verifier holding it refuses every
// pass once it has expired, and a list signed later pushes the expiry on.
// Version 1 carries the same keys and states none.
func TestTrustListExpiry(t *testing.T) {
	ctx := context.Background()
	d := dbtest.SQLite(t)
	v, _ := vault.New(bytes.Repeat([]byte{7}, 32))
	now := time.Date(2020, 2, 10, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		maxAge, want time.Duration
	}{{0, 7 * 24 * time.Hour}, {48 * time.Hour, 48 * time.Hour}, {time.Hour, time.Hour}} {
		is := &issuer.Issuer{DB: d, Vault: v, Region: "4201", Now: func() time.Time { return now }, TrustListMaxAge: tc.maxAge}
		if err := is.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		text, _, err := is.Issue(42, "张大伟", pass.Green)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := is.TrustList(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tl, err := pass.ParseTrustList(doc, is.RootPublicKey())
		if err != nil {
			t.Fatal(err)
		}
		if !tl.IssuedAt("4201").Equal(now) || !tl.ExpiresAt("4201").Equal(now.Add(tc.want)) {
			t.Errorf("max age %s: issued %v, expires %v; want good for %s", tc.maxAge, tl.IssuedAt("4201"), tl.ExpiresAt("4201"), tc.want)
		}
		if !bytes.Contains(payloadOf(t, doc), []byte(`"version":2`)) {
			t.Errorf("max age %s: %s", tc.maxAge, payloadOf(t, doc))
		}
		if _, err := tl.Verify(text, now.Add(min(tc.want, 24*time.Hour)-time.Second), "4201"); err != nil {
			t.Errorf("max age %s: a second before the list or the pass expires: %v", tc.maxAge, err)
		}
		if _, err := tl.Verify(text, now.Add(tc.want), "4201"); pass.ReasonOf(err) != pass.ReasonTrustListExpired {
			t.Errorf("max age %s: verified with an expired list: %v", tc.maxAge, err)
		}

		// Version 1: the same keys, no expires_at.
		v1, err := is.TrustListV1(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p := payloadOf(t, v1); !bytes.Contains(p, []byte(`"version":1`)) || bytes.Contains(p, []byte("expires_at")) {
			t.Errorf("version 1 payload: %s", p)
		}
		old, err := pass.ParseTrustList(v1, is.RootPublicKey())
		if err != nil {
			t.Fatal(err)
		}
		if len(old.Keys()) != len(tl.Keys()) || !bytes.Equal(old.Keys()[0].ID, tl.Keys()[0].ID) {
			t.Errorf("version 1 keys %v, version 2 keys %v", old.Keys(), tl.Keys())
		}
	}

	// A minute on, the list is signed again, good for longer.
	is := &issuer.Issuer{DB: d, Vault: v, Region: "4201", Now: func() time.Time { return now }, TrustListMaxAge: time.Hour}
	if err := is.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	first, _ := is.TrustList(ctx)
	now = now.Add(30 * time.Second)
	if again, _ := is.TrustList(ctx); !bytes.Equal(again, first) {
		t.Error("signed again within the minute")
	}
	now = now.Add(time.Minute)
	later, _ := is.TrustList(ctx)
	tl, err := pass.ParseTrustList(later, is.RootPublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if !tl.ExpiresAt("4201").Equal(now.Add(time.Hour)) {
		t.Errorf("re-signed list expires %v; want %v", tl.ExpiresAt("4201"), now.Add(time.Hour))
	}
}

// payloadOf returns the signed payload of a trust list document.
func payloadOf(t *testing.T, doc []byte) []byte {
	t.Helper()
	var d struct{ Payload string }
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	p, err := base64.RawURLEncoding.DecodeString(d.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// kidOfPass returns the key id a pass was signed with.
func kidOfPass(t *testing.T, tl *pass.TrustList, text string, at time.Time) string {
	t.Helper()
	res, err := tl.Verify(text, at, "4201")
	if err != nil {
		t.Fatalf("verify at %s: %v", at, err)
	}
	return base64.RawURLEncoding.EncodeToString(res.KeyID)
}

// serverAndCLI returns two issuers of one store on the clock *now — a
// server's, keys loaded, and the one `outbreak keys rotate` makes in its
// own process.
func serverAndCLI(t *testing.T, d *db.DB, now *time.Time) (server, cli *issuer.Issuer) {
	t.Helper()
	v, _ := vault.New(bytes.Repeat([]byte{7}, 32))
	clock := func() time.Time { return *now }
	server = &issuer.Issuer{DB: d, Vault: v, Region: "4201", Now: clock}
	cli = &issuer.Issuer{DB: d, Vault: v, Region: "4201", Now: clock}
	if err := server.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	return server, cli
}

// TestRotateElsewhere: `outbreak keys rotate` runs in its own process; a
// running server signs with the new key within KeyRefresh, and the passes
// it signed with the old key meanwhile stay valid to their end.
func TestRotateElsewhere(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		now := time.Date(2020, 2, 10, 9, 0, 0, 0, time.UTC)
		server, cli := serverAndCLI(t, d, &now)
		t0 := now
		before, _, err := server.IssueTo(ctx, 42, "张大伟", pass.Green)
		if err != nil {
			t.Fatal(err)
		}
		oldKID, newKID, err := cli.Rotate(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		// Not yet read again: the server still signs with the old key, and
		// that pass is good for its whole day.
		now = now.Add(issuer.KeyRefresh / 2)
		stale, _, err := server.IssueTo(ctx, 42, "张大伟", pass.Green)
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(issuer.KeyRefresh)
		fresh, _, err := server.IssueTo(ctx, 42, "张大伟", pass.Green)
		if err != nil {
			t.Fatal(err)
		}
		tl, err := server.Verifier(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name, text, kid string
			issued          time.Time
		}{
			{"before", before, oldKID, t0},
			{"stale", stale, oldKID, t0.Add(issuer.KeyRefresh / 2)},
			{"fresh", fresh, newKID, now},
		} {
			// Good to its last second.
			if got := kidOfPass(t, tl, c.text, c.issued.Add(issuer.PassLifetime-time.Second)); got != c.kid {
				t.Errorf("the %s pass is signed by %s, want %s", c.name, got, c.kid)
			}
		}
	})
}

// TestRotateScheduled: a rotation announced ahead puts the new key in the
// trust list at once; a checkpoint that renewed its list then and went
// offline verifies passes signed with the new key once it signs, and the
// old key's passes until they end.
func TestRotateScheduled(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		now := time.Date(2020, 2, 10, 9, 0, 0, 0, time.UTC)
		server, cli := serverAndCLI(t, d, &now)
		at := now.Add(48 * time.Hour)
		oldKID, newKID, err := cli.Rotate(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		// A second rotation waits for none: refused, nothing changed.
		if _, _, err := cli.Rotate(ctx, now); !errors.Is(err, issuer.ErrRotationPending) {
			t.Fatalf("a second rotation while one waits: %v", err)
		}
		var keys int
		if err := db.Get(ctx, d.R, &keys, "SELECT COUNT(*) FROM signing_keys WHERE purpose = 'pass'"); err != nil || keys != 2 {
			t.Fatalf("pass keys after the refused rotation: %d, %v", keys, err)
		}

		// The checkpoint renews its list a minute later and goes offline.
		now = now.Add(issuer.KeyRefresh + time.Second)
		doc, err := server.TrustList(ctx)
		if err != nil {
			t.Fatal(err)
		}
		offline, err := pass.ParseTrustList(doc, server.RootPublicKey())
		if err != nil {
			t.Fatal(err)
		}
		if n := len(offline.Keys()); n != 2 {
			t.Fatalf("the trust list holds %d keys, want the old and the announced", n)
		}
		// Until then, the old key signs.
		now = at.Add(-issuer.KeyRefresh / 2)
		last, _, err := server.IssueTo(ctx, 42, "张大伟", pass.Green)
		if err != nil {
			t.Fatal(err)
		}
		if got := kidOfPass(t, offline, last, now); got != oldKID {
			t.Errorf("before its time, signed by %s, want the old key %s", got, oldKID)
		}
		// From then, the new one, at once: the server read it ahead, and
		// does not wait to read the keys again.
		now = at
		first, _, err := server.IssueTo(ctx, 42, "张大伟", pass.Red)
		if err != nil {
			t.Fatal(err)
		}
		if got := kidOfPass(t, offline, first, now.Add(time.Hour)); got != newKID {
			t.Errorf("at its time, signed by %s, want the new key %s", got, newKID)
		}
		if got := kidOfPass(t, offline, last, now.Add(23*time.Hour)); got != oldKID {
			t.Errorf("the old key's last pass: %s", got)
		}
	})
}

// TestRotateFarAhead: a key announced weeks ahead is listed from its time.
func TestRotateFarAhead(t *testing.T) {
	ctx := context.Background()
	v, _ := vault.New(bytes.Repeat([]byte{7}, 32))
	now := time.Date(2020, 2, 10, 9, 0, 0, 0, time.UTC)
	is := &issuer.Issuer{DB: dbtest.SQLite(t), Vault: v, Region: "4201", Now: func() time.Time { return now }}
	at := now.Add(20 * 24 * time.Hour)
	if _, _, err := is.Rotate(ctx, at); err != nil {
		t.Fatal(err)
	}
	tl, err := is.Verifier(ctx)
	if err != nil {
		t.Fatalf("the trust list with a key 20 days ahead: %v", err)
	}
	var found bool
	for _, k := range tl.Keys() {
		found = found || k.ValidFrom.Equal(at) && k.ValidUntil.After(at.Add(issuer.PassLifetime))
	}
	if !found {
		t.Errorf("no key listed from %s: %+v", at, tl.Keys())
	}
}
