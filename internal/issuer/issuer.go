// Package issuer signs the region's health passes. It keeps the Ed25519
// keys — a long-lived root key that signs the trust list, and pass-signing
// keys that are rotated on command — sealed in the store, and publishes the
// signed trust list that verifiers anywhere use to check passes offline.
//
// A pass key signs from its created_at until its retired_at (NULL: until
// the next rotation); passes it signed stay valid until its valid_until. A
// rotation may be scheduled ahead: the new key is in the trust list at once,
// with its ValidFrom in the future, so that a checkpoint which renews its
// list before then and goes offline still knows the key when passes signed
// with it arrive. Every process using the store — servers, and `outbreak
// keys rotate` in its own — reads the keys again at least every KeyRefresh.
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
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/pass"
	"github.com/outbreak-platform/outbreak/internal/vault"
)

// PassLifetime is how long a pass is valid: at most 24 hours.
const PassLifetime = 24 * time.Hour

// KeyRefresh is how long a running issuer goes without reading the store's
// pass keys again: a key put in force by another process signs here within
// this time, and a retired key stays in the trust list this much longer.
const KeyRefresh = time.Minute

// ErrRotationPending refuses a rotation while another is scheduled.
var ErrRotationPending = errors.New("issuer: a key rotation is already scheduled")

// Issuer signs passes for one region.
type Issuer struct {
	DB     *db.DB
	Vault  *vault.Vault
	Region string // the region's code, e.g. "4201"
	Now    func() time.Time
	// TrustListMaxAge is how long a trust list stays good after its issue
	// (its expires_at); zero means pass.DefaultTrustListLifetime.
	TrustListMaxAge time.Duration

	mu       sync.Mutex
	current  *signingKey // the pass key in force
	next     *signingKey // the pass key scheduled to sign from its CreatedAt, if any
	loadedAt time.Time   // when current and next were read from the store
	root     *signingKey
	doc      []byte // the trust list, signed (version 2)
	docV1    []byte // the same keys in version 1, without expiry
	docAt    time.Time
	holders  holderCache // the pass_holders rows written today (holders.go)
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

// newKey makes and stores a key that signs from at.
func (is *Issuer) newKey(ctx context.Context, q db.Q, purpose string, at time.Time) (*signingKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	k := &signingKey{KID: kidOf(pub), Purpose: purpose, Public: pub, Sealed: is.Vault.Seal(priv.Seed(), sealContext),
		CreatedAt: at.UTC().Truncate(time.Second), private: priv}
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
	now := is.Now()
	return is.DB.InTx(ctx, func(tx *db.Tx) error {
		var err error
		if is.root, err = is.get(ctx, tx, "SELECT "+keyColumns+" FROM signing_keys WHERE purpose = 'root' AND retired_at IS NULL ORDER BY created_at DESC LIMIT 1"); errors.Is(err, db.ErrNotFound) {
			is.root, err = is.newKey(ctx, tx, "root", now)
		}
		if err != nil {
			return err
		}
		cur, next, err := is.passKeys(ctx, tx, now)
		if errors.Is(err, db.ErrNotFound) {
			cur, err = is.newKey(ctx, tx, "pass", now)
		}
		if err != nil {
			return err
		}
		is.current, is.next, is.loadedAt, is.doc = cur, next, now, nil
		return nil
	})
}

// get reads one key and opens its private half.
func (is *Issuer) get(ctx context.Context, q db.Q, query string, args ...any) (*signingKey, error) {
	var k signingKey
	if err := db.Get(ctx, q, &k, query, args...); err != nil {
		return nil, err
	}
	return &k, is.open(&k)
}

// passKeys reads the pass key that signs at now (db.ErrNotFound if none)
// and the one scheduled to sign next, if any.
func (is *Issuer) passKeys(ctx context.Context, q db.Q, now time.Time) (cur, next *signingKey, err error) {
	now = now.UTC()
	cur, err = is.get(ctx, q, "SELECT "+keyColumns+` FROM signing_keys WHERE purpose = 'pass' AND created_at <= ?
		AND (retired_at IS NULL OR retired_at > ?) ORDER BY created_at DESC LIMIT 1`, now, now)
	if err != nil {
		return nil, nil, err
	}
	next, err = is.get(ctx, q, "SELECT "+keyColumns+" FROM signing_keys WHERE purpose = 'pass' AND created_at > ? ORDER BY created_at LIMIT 1", now)
	if errors.Is(err, db.ErrNotFound) {
		return cur, nil, nil
	}
	return cur, next, err
}

// refresh reads the pass keys again when they were last read KeyRefresh or
// more before now. The caller holds is.mu.
func (is *Issuer) refresh(ctx context.Context, now time.Time) error {
	if is.current != nil && now.Sub(is.loadedAt) < KeyRefresh {
		return nil
	}
	cur, next, err := is.passKeys(ctx, is.DB.R, now)
	if err != nil {
		return fmt.Errorf("issuer: read pass keys: %w", err)
	}
	is.current, is.next, is.loadedAt = cur, next, now
	return nil
}

// signer returns the pass key that signs at now: the one scheduled next
// once its time has come. The caller holds is.mu.
func (is *Issuer) signer(now time.Time) *signingKey {
	if is.next != nil && !now.Before(is.next.CreatedAt) {
		is.current, is.next = is.next, nil
	}
	return is.current
}

// Rotate puts a new pass key in force from at (now, if at is earlier) and
// returns the old key's and the new key's ids. The new key is in the trust
// list at once. The old key signs until at and stays in the trust list
// until the last pass it signed expires. Only one rotation may wait at a
// time (ErrRotationPending).
func (is *Issuer) Rotate(ctx context.Context, at time.Time) (oldKID, newKID string, err error) {
	if err := is.Ensure(ctx); err != nil {
		return "", "", err
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	now := is.Now().UTC().Truncate(time.Second)
	if at = at.UTC().Truncate(time.Second); at.Before(now) {
		at = now
	}
	err = is.DB.InTx(ctx, func(tx *db.Tx) error {
		cur, next, err := is.passKeys(ctx, tx, now)
		if err != nil {
			return err
		}
		if next != nil {
			return fmt.Errorf("%w: key %s signs from %s", ErrRotationPending, next.KID, next.CreatedAt.UTC().Format(time.RFC3339))
		}
		// Other processes sign with the old key until they read the keys
		// again: its passes are good for KeyRefresh longer.
		if _, err := db.Exec(ctx, tx, "UPDATE signing_keys SET retired_at = ?, valid_until = ? WHERE purpose = 'pass' AND retired_at IS NULL",
			at, at.Add(PassLifetime+KeyRefresh)); err != nil {
			return err
		}
		k, err := is.newKey(ctx, tx, "pass", at)
		if err != nil {
			return err
		}
		oldKID, newKID = cur.KID, k.KID
		return nil
	})
	if err != nil {
		return "", "", err
	}
	is.loadedAt, is.doc = time.Time{}, nil
	if err := is.refresh(ctx, now); err != nil { // this process signs with the new key from at too
		return "", "", err
	}
	return oldKID, newKID, nil
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
	if err := is.refresh(ctx, now); err != nil {
		return err
	}
	var ks []signingKey
	if err := db.Select(ctx, is.DB.R, &ks, "SELECT "+keyColumns+" FROM signing_keys WHERE purpose = 'pass' AND (valid_until IS NULL OR valid_until > ?) ORDER BY created_at",
		now.UTC()); err != nil {
		return fmt.Errorf("issuer: trust list keys: %w", err)
	}
	var keys []pass.Key
	for _, k := range ks {
		// In force or scheduled: covers passes signed in the week from now,
		// or from when it starts signing.
		from := now
		if k.CreatedAt.After(now) {
			from = k.CreatedAt
		}
		until := from.Add(PassLifetime + 7*24*time.Hour)
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

// ErrNameUnreadable means the holder's name, as stored, has nothing a pass
// could show (a name of only invisible characters, accepted before names
// were checked): no pass can be issued until the name is corrected.
var ErrNameUnreadable = fault.New(fault.Conflict, "pass.name_unreadable", "issuer: the holder's name masks to nothing")

// Issue signs a pass showing colour for the holder with name.
func (is *Issuer) Issue(residentID int64, name string, colour pass.Colour) (string, pass.Claims, error) {
	masked := pass.MaskName(name)
	if masked == "" {
		return "", pass.Claims{}, ErrNameUnreadable
	}
	is.mu.Lock()
	now := is.Now().Truncate(time.Second)
	k := is.signer(now)
	is.mu.Unlock()
	if k == nil {
		return "", pass.Claims{}, errors.New("issuer: no signing key; call Ensure first")
	}
	c := pass.Claims{Version: 1, Region: is.Region, Holder: is.HolderID(residentID, now), MaskedName: masked,
		Colour: colour, IssuedAt: now, Expires: now.Add(PassLifetime)}
	text, err := pass.Sign(c, k.private)
	return text, c, err
}
