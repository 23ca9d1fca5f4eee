package venue

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/i18n"
	"github.com/outbreak-platform/outbreak/internal/pass"
	"github.com/outbreak-platform/outbreak/internal/vault"
)

// Codes signs and verifies the place codes of one region with its place
// keys, which it keeps sealed in table place_keys (the pass keys' table,
// signing_keys, admits only the purposes 'root' and 'pass').
//
// Call Ensure once before use. Verification reads the keys from memory:
// safe for concurrent use, no store round trip.
type Codes struct {
	DB     *db.DB
	Vault  *vault.Vault
	Region string // the region's code, e.g. "4201"
	// Now is the clock of issue times; nil means time.Now.
	Now func() time.Time
	// Catalog words the posters; nil loads the embedded catalogue.
	Catalog *i18n.Catalog
	// CheckInURL, when set, is the public address of the check-in page
	// (https://host/checkin): a poster's QR code then holds it with the
	// place code in its fragment, percent-encoded, so that a phone's own
	// camera opens the page, which never sends the fragment anywhere.
	// Without it the QR code holds the bare place code, for the check-in
	// page's own scanner.
	CheckInURL string

	mu   sync.Mutex // serialises Ensure, Rotate and Revoke
	keys atomic.Pointer[keySet]

	catOnce sync.Once
	cat     *i18n.Catalog
	catErr  error
}

// keySet is the keys in force, swapped whole on a change, with the codes
// verified under them.
type keySet struct {
	signKID  []byte
	signWith ed25519.PrivateKey
	verify   map[[pass.KeyIDLen]byte]verifyKey
	verified verifiedCache
}

// verifiedCache remembers the codes whose signature checked out. A poster
// is scanned thousands of times, and an Ed25519 verification costs tens of
// microseconds where a map look-up costs tens of nanoseconds. It holds two
// generations of at most cacheGeneration codes each: when the newer one
// fills, the older is dropped, so the codes still being scanned stay.
type verifiedCache struct {
	mu       sync.RWMutex
	cur, old map[string]PlaceClaims
}

const cacheGeneration = 50_000

func (vc *verifiedCache) get(text string) (PlaceClaims, bool) {
	vc.mu.RLock()
	defer vc.mu.RUnlock()
	if c, ok := vc.cur[text]; ok {
		return c, true
	}
	c, ok := vc.old[text]
	return c, ok
}

func (vc *verifiedCache) put(text string, c PlaceClaims) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	if len(vc.cur) >= cacheGeneration || vc.cur == nil {
		vc.old, vc.cur = vc.cur, make(map[string]PlaceClaims, 1024)
	}
	vc.cur[text] = c
}

type placeKey struct {
	KID       string       `db:"kid"`
	Region    string       `db:"region"`
	Public    []byte       `db:"public_key"`
	Sealed    []byte       `db:"private_sealed"`
	CreatedAt time.Time    `db:"created_at"`
	RetiredAt sql.NullTime `db:"retired_at"`
	RevokedAt sql.NullTime `db:"revoked_at"`
}

const (
	keyColumns  = "kid, region, public_key, private_sealed, created_at, retired_at, revoked_at"
	sealContext = "place_keys.private_sealed"
)

// ErrNoKey means Ensure has not run.
var ErrNoKey = errors.New("venue: no place key; call Ensure first")

// ErrDisabled refuses a poster for a disabled place.
var ErrDisabled = fault.New(fault.Conflict, "place.disabled_note", "venue: place is disabled")

func kidText(kid []byte) string { return base64.RawURLEncoding.EncodeToString(kid) }

func (c *Codes) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *Codes) newKey(ctx context.Context, q db.Q) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	if _, err := db.Exec(ctx, q, "INSERT INTO place_keys (kid, region, public_key, private_sealed, created_at) VALUES (?, ?, ?, ?, ?)",
		kidText(pass.KeyID(pub)), c.Region, []byte(pub), c.Vault.Seal(priv.Seed(), sealContext), c.now().UTC().Truncate(time.Second)); err != nil {
		return fmt.Errorf("venue: store place key: %w", err)
	}
	return nil
}

// Ensure loads the keys, creating the region's first place key on the
// first start.
func (c *Codes) Ensure(ctx context.Context) error {
	if !validRegion(c.Region) {
		return fmt.Errorf("venue: region %q is not a region code", c.Region)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.DB.InTx(ctx, func(tx *db.Tx) error {
		var n int
		if err := db.Get(ctx, tx, &n, "SELECT count(*) FROM place_keys WHERE region = ? AND retired_at IS NULL AND revoked_at IS NULL", c.Region); err != nil {
			return fmt.Errorf("venue: count place keys: %w", err)
		}
		if n == 0 {
			if err := c.newKey(ctx, tx); err != nil {
				return err
			}
		}
		return c.load(ctx, tx)
	})
}

// load reads every key not revoked — this region's and any other's the
// store holds — and the one this region signs with.
func (c *Codes) load(ctx context.Context, q db.Q) error {
	var ks []placeKey
	if err := db.Select(ctx, q, &ks, "SELECT "+keyColumns+" FROM place_keys WHERE revoked_at IS NULL ORDER BY created_at, kid"); err != nil {
		return fmt.Errorf("venue: load place keys: %w", err)
	}
	set := &keySet{verify: map[[pass.KeyIDLen]byte]verifyKey{}}
	for _, k := range ks {
		if len(k.Public) != ed25519.PublicKeySize {
			return fmt.Errorf("venue: place key %s has a public key of %d bytes", k.KID, len(k.Public))
		}
		kid := pass.KeyID(k.Public)
		set.verify[[pass.KeyIDLen]byte(kid)] = verifyKey{region: k.Region, pub: ed25519.PublicKey(k.Public)}
		if k.Region == c.Region && !k.RetiredAt.Valid {
			seed, err := c.Vault.Open(k.Sealed, sealContext)
			if err != nil || len(seed) != ed25519.SeedSize {
				return fmt.Errorf("venue: open place key %s: %w", k.KID, vault.ErrOpen)
			}
			set.signKID, set.signWith = kid, ed25519.NewKeyFromSeed(seed) // the newest wins
		}
	}
	if set.signWith == nil {
		return fmt.Errorf("venue: no place key in force for region %s", c.Region)
	}
	c.keys.Store(set)
	return nil
}

// Rotate puts a new place key in force for signing. The old key signs no
// more codes, but the posters it signed stay valid.
func (c *Codes) Rotate(ctx context.Context) (oldKID, newKID string, err error) {
	if err := c.Ensure(ctx); err != nil {
		return "", "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	oldKID = kidText(c.keys.Load().signKID)
	err = c.DB.InTx(ctx, func(tx *db.Tx) error {
		if _, err := db.Exec(ctx, tx, "UPDATE place_keys SET retired_at = ? WHERE region = ? AND retired_at IS NULL",
			c.now().UTC(), c.Region); err != nil {
			return fmt.Errorf("venue: retire place key: %w", err)
		}
		if err := c.newKey(ctx, tx); err != nil {
			return err
		}
		return c.load(ctx, tx)
	})
	if err != nil {
		return "", "", err
	}
	return oldKID, kidText(c.keys.Load().signKID), nil
}

// Revoke withdraws a key, for one whose private half may have leaked: every
// poster it signed is refused from now on and must be printed again. When
// it was the key in force, a new one replaces it.
func (c *Codes) Revoke(ctx context.Context, kid string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now().UTC()
	return c.DB.InTx(ctx, func(tx *db.Tx) error {
		res, err := db.Exec(ctx, tx, "UPDATE place_keys SET revoked_at = ?, retired_at = COALESCE(retired_at, ?) WHERE kid = ? AND revoked_at IS NULL",
			now, now, kid)
		if err != nil {
			return fmt.Errorf("venue: revoke place key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return db.ErrNotFound
		}
		var inForce int
		if err := db.Get(ctx, tx, &inForce, "SELECT count(*) FROM place_keys WHERE region = ? AND retired_at IS NULL", c.Region); err != nil {
			return fmt.Errorf("venue: count place keys: %w", err)
		}
		if inForce == 0 {
			if err := c.newKey(ctx, tx); err != nil {
				return err
			}
		}
		return c.load(ctx, tx)
	})
}

// SignPlaceCode returns the code of a place's poster.
func (c *Codes) SignPlaceCode(p Place) (string, error) { return c.sign(p, 0) }

// SignCarriageCode returns the code of the poster in one carriage of a
// train, 1 to MaxCarriage.
func (c *Codes) SignCarriageCode(p Place, carriage int) (string, error) {
	if carriage < 1 || carriage > MaxCarriage || p.Type != Train {
		return "", fmt.Errorf("venue: sign place code: no carriage %d on a %s", carriage, p.Type)
	}
	return c.sign(p, carriage)
}

func (c *Codes) sign(p Place, carriage int) (string, error) {
	set := c.keys.Load()
	if set == nil {
		return "", ErrNoKey
	}
	if p.Disabled {
		return "", ErrDisabled
	}
	claims := PlaceClaims{Version: CodeVersion, Region: c.Region, PlaceID: p.ID, Kind: p.Kind, Type: p.Type,
		Carriage: carriage, IssuedAt: c.now().UTC().Truncate(time.Second)}
	if p.Kind == Vehicle && !p.ServiceDate.IsZero() {
		claims.Expires = p.ServiceDate.AddDays(2).Time()
	}
	return signClaims(claims, set.signWith)
}

// VerifyPlaceCode checks the text of a place code at time now and returns
// what it says. It fails with a *CodeError whose Reason says why: forged or
// altered (bad_signature), signed by a key not known here or revoked
// (unknown_key), of another region (wrong_region), a dated trip's code
// after the trip (expired), issued in the future (not_yet_valid), or not a
// place code at all (malformed). It does not look the place up: whether it
// still exists and is enabled is the registry's to say.
func (c *Codes) VerifyPlaceCode(text string, now time.Time) (PlaceClaims, error) {
	set := c.keys.Load()
	if set == nil {
		return verifyClaims(text, now, c.Region, nil)
	}
	claims, ok := set.verified.get(text)
	if !ok {
		var err error
		if claims, err = checkCode(text, c.Region, set.verify); err != nil {
			return PlaceClaims{}, err
		}
		set.verified.put(text, claims)
	}
	if err := checkTime(claims, now); err != nil {
		return PlaceClaims{}, err
	}
	return claims, nil
}

func (c *Codes) catalog() (*i18n.Catalog, error) {
	if c.Catalog != nil {
		return c.Catalog, nil
	}
	c.catOnce.Do(func() { c.cat, c.catErr = i18n.Load() })
	return c.cat, c.catErr
}
