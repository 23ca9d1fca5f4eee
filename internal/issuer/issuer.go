// Package issuer signs the region's health passes. It keeps the Ed25519
// keys — a long-lived root key that signs the trust list, and pass-signing
// keys that are rotated on command — sealed in the store, and publishes the
// signed trust list that verifiers anywhere use to check passes offline.
package issuer

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/pass"
	"github.com/outbreak-platform/outbreak/internal/vault"
)

// PassLifetime is how long a pass is valid: at most 24 hours.
const PassLifetime = 24 * time.Hour

// Issuer signs passes for one region.
type Issuer struct {
	DB     *db.DB
	Vault  *vault.Vault
	Region string // the region's code, e.g. "4201"
	Now    func() time.Time
	// TrustListMaxAge is how long a trust list stays good after its issue
	// (its expires_at); zero means pass.DefaultTrustListLifetime.
	TrustListMaxAge time.Duration

	mu      sync.Mutex
	current *signingKey // the pass key in force
	root    *signingKey
	doc     []byte // the trust list, signed (version 2)
	docV1   []byte // the same keys in version 1, without expiry
	docAt   time.Time
	holders holderCache // the pass_holders rows written today (holders.go)
}

type signingKey struct {
	KID        string       `db:"kid"`
	Purpose    string       `db:"purpose"`
	Public     []byte       `db:"public_key"`
	Sealed     []byte       `db:"private_sealed"`
	CreatedAt  time.Time    `db:"created_at"`
	RetiredAt  sql.NullTime `db:"retired_at"`
	ValidUntil sql.NullTime `db:"valid_until"`
	private    ed25519.PrivateKey
}

const sealContext = "signing_keys.private_sealed"

func kidOf(pub ed25519.PublicKey) string {
	return base64.RawURLEncoding.EncodeToString(pass.KeyID(pub))
}

func (is *Issuer) newKey(ctx context.Context, q db.Q, purpose string) (*signingKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	k := &signingKey{KID: kidOf(pub), Purpose: purpose, Public: pub, Sealed: is.Vault.Seal(priv.Seed(), sealContext),
		CreatedAt: is.Now().UTC().Truncate(time.Second), private: priv}
	if _, err := db.Exec(ctx, q, "INSERT INTO signing_keys (kid, purpose, public_key, private_sealed, created_at) VALUES (?, ?, ?, ?, ?)",
		k.KID, k.Purpose, k.Public, k.Sealed, k.CreatedAt); err != nil {
		return nil, fmt.Errorf("issuer: store %s key: %w", purpose, err)
	}
	return k, nil
}

func (is *Issuer) open(k *signingKey) error {
	seed, err := is.Vault.Open(k.Sealed, sealContext)
	if err != nil || len(seed) != ed25519.SeedSize {
		return fmt.Errorf("issuer: open %s key %s: %w", k.Purpose, k.KID, vault.ErrOpen)
	}
	k.private = ed25519.NewKeyFromSeed(seed)
	return nil
}

const keyColumns = "kid, purpose, public_key, private_sealed, created_at, retired_at, valid_until"

// Ensure loads the keys, creating the root key and a first pass key on the
// first start.
func (is *Issuer) Ensure(ctx context.Context) error {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.DB.InTx(ctx, func(tx *db.Tx) error {
		var err error
		if is.root, err = is.load(ctx, tx, "root"); errors.Is(err, db.ErrNotFound) {
			is.root, err = is.newKey(ctx, tx, "root")
		}
		if err != nil {
			return err
		}
		if is.current, err = is.load(ctx, tx, "pass"); errors.Is(err, db.ErrNotFound) {
			is.current, err = is.newKey(ctx, tx, "pass")
		}
		is.doc = nil
		return err
	})
}

func (is *Issuer) load(ctx context.Context, q db.Q, purpose string) (*signingKey, error) {
	var k signingKey
	if err := db.Get(ctx, q, &k, "SELECT "+keyColumns+" FROM signing_keys WHERE purpose = ? AND retired_at IS NULL ORDER BY created_at DESC LIMIT 1", purpose); err != nil {
		return nil, err
	}
	return &k, is.open(&k)
}

// Rotate puts a new pass key in force. The old key is retired: it signs no
// more passes but stays in the trust list until the last pass it signed
// expires.
func (is *Issuer) Rotate(ctx context.Context) (oldKID, newKID string, err error) {
	if err := is.Ensure(ctx); err != nil {
		return "", "", err
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	now := is.Now().UTC()
	err = is.DB.InTx(ctx, func(tx *db.Tx) error {
		if _, err := db.Exec(ctx, tx, "UPDATE signing_keys SET retired_at = ?, valid_until = ? WHERE purpose = 'pass' AND retired_at IS NULL",
			now, now.Add(PassLifetime)); err != nil {
			return err
		}
		k, err := is.newKey(ctx, tx, "pass")
		if err != nil {
			return err
		}
		oldKID, newKID = is.current.KID, k.KID
		is.current = k
		return nil
	})
	is.doc = nil
	return oldKID, newKID, err
}

// RootPublicKey is the root key's public half, which verifiers in other
// regions are given out of band to check this region's trust list.
func (is *Issuer) RootPublicKey() ed25519.PublicKey {
	is.mu.Lock()
	defer is.mu.Unlock()
	return ed25519.PublicKey(is.root.Public)
}

// TrustList returns the signed trust list (version 2): every pass key whose
// passes may still be valid, good for TrustListMaxAge. It is re-signed at
// most once a minute, and after a rotation.
func (is *Issuer) TrustList(ctx context.Context) ([]byte, error) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if err := is.sign(ctx); err != nil {
		return nil, err
	}
	return is.doc, nil
}

// TrustListV1 returns the same list in version 1, which states no expiry,
// for verifiers that read only version 1 (checkpoint pages whose script
// predates version 2, kept by a service worker).
func (is *Issuer) TrustListV1(ctx context.Context) ([]byte, error) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if err := is.sign(ctx); err != nil {
		return nil, err
	}
	return is.docV1, nil
}

// sign signs both versions of the trust list unless they were signed in
// the last minute. The caller holds is.mu.
func (is *Issuer) sign(ctx context.Context) error {
	now := is.Now()
	if is.doc != nil && now.Sub(is.docAt) < time.Minute {
		return nil
	}
	var ks []signingKey
	if err := db.Select(ctx, is.DB.R, &ks, "SELECT "+keyColumns+" FROM signing_keys WHERE purpose = 'pass' AND (valid_until IS NULL OR valid_until > ?) ORDER BY created_at",
		now.UTC()); err != nil {
		return fmt.Errorf("issuer: trust list keys: %w", err)
	}
	var keys []pass.Key
	for _, k := range ks {
		until := now.Add(PassLifetime + 7*24*time.Hour) // in force: covers passes signed this coming week
		if k.ValidUntil.Valid {
			until = k.ValidUntil.Time
		}
		pk, err := pass.NewKey(is.Region, ed25519.PublicKey(k.Public), k.CreatedAt, until)
		if err != nil {
			return err
		}
		keys = append(keys, pk)
	}
	maxAge := is.TrustListMaxAge
	if maxAge <= 0 {
		maxAge = pass.DefaultTrustListLifetime
	}
	doc, err := pass.SignTrustList(is.Region, keys, is.root.private, now, now.Add(maxAge))
	if err != nil {
		return err
	}
	docV1, err := pass.SignTrustListV1(is.Region, keys, is.root.private, now)
	if err != nil {
		return err
	}
	is.doc, is.docV1, is.docAt = doc, docV1, now
	return nil
}

// Verifier returns a trust list of this region's keys, for verifying here.
func (is *Issuer) Verifier(ctx context.Context) (*pass.TrustList, error) {
	doc, err := is.TrustList(ctx)
	if err != nil {
		return nil, err
	}
	return pass.ParseTrustList(doc, is.RootPublicKey())
}

// HolderID is the pseudonymous holder id of a resident on a day: it rotates
// daily and cannot be linked to the resident without the master key.
func (is *Issuer) HolderID(residentID int64, day time.Time) string {
	m := hmac.New(sha256.New, is.Vault.Derive("outbreak pass holder v1", 32))
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(residentID))
	y, mo, d := day.Date()
	binary.BigEndian.PutUint64(b[8:], uint64(y*10000+int(mo)*100+d))
	m.Write(b[:])
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(m.Sum(nil)[:10])
}

// Issue signs a pass showing colour for the holder with name.
func (is *Issuer) Issue(residentID int64, name string, colour pass.Colour) (string, pass.Claims, error) {
	is.mu.Lock()
	k := is.current
	is.mu.Unlock()
	if k == nil {
		return "", pass.Claims{}, errors.New("issuer: no signing key; call Ensure first")
	}
	now := is.Now().Truncate(time.Second)
	c := pass.Claims{Version: 1, Region: is.Region, Holder: is.HolderID(residentID, now), MaskedName: pass.MaskName(name),
		Colour: colour, IssuedAt: now, Expires: now.Add(PassLifetime)}
	text, err := pass.Sign(c, k.private)
	return text, c, err
}
