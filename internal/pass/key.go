package pass

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"
)

// KeyIDLen is the length of a key id.
const KeyIDLen = 8

// ErrInvalidKey is wrapped by every error about a malformed Key.
var ErrInvalidKey = errors.New("invalid pass key")

// KeyID returns the id of an Ed25519 public key: the first 8 bytes of the
// SHA-256 of its 32 raw bytes, as in the EU Digital COVID Certificate.
func KeyID(pub ed25519.PublicKey) []byte {
	sum := sha256.Sum256(pub)
	return sum[:KeyIDLen]
}

// Key is a public key a region signs passes with.
type Key struct {
	// ID is KeyID(Public).
	ID []byte
	// Region is the code of the region the key signs for.
	Region string
	// Public is the raw Ed25519 public key.
	Public ed25519.PublicKey
	// ValidFrom is the earliest issue time of a pass the key may sign.
	ValidFrom time.Time
	// ValidUntil is the latest expiry of a pass the key may sign.
	ValidUntil time.Time
}

// NewKey returns the Key of pub for region, with its id filled in and
// checked.
func NewKey(region string, pub ed25519.PublicKey, validFrom, validUntil time.Time) (Key, error) {
	k := Key{
		Region:     region,
		Public:     pub,
		ValidFrom:  validFrom.UTC().Truncate(time.Second),
		ValidUntil: validUntil.UTC().Truncate(time.Second),
	}
	if len(pub) == ed25519.PublicKeySize {
		k.ID = KeyID(pub)
	}
	if err := k.Validate(); err != nil {
		return Key{}, err
	}
	return k, nil
}

// Validate checks that k's id matches its public key, that its region is a
// region code and that its validity window is not empty.
func (k Key) Validate() error {
	var errs []error
	if len(k.Public) != ed25519.PublicKeySize {
		errs = append(errs, fmt.Errorf("%w: public key of %d bytes", ErrInvalidKey, len(k.Public)))
	} else if !bytes.Equal(k.ID, KeyID(k.Public)) {
		errs = append(errs, fmt.Errorf("%w: kid %x does not match the public key", ErrInvalidKey, k.ID))
	}
	if err := validateRegion(k.Region); err != nil {
		errs = append(errs, fmt.Errorf("%w: region: %v", ErrInvalidKey, err))
	}
	if !k.ValidUntil.After(k.ValidFrom) {
		errs = append(errs, fmt.Errorf("%w: valid until %s is not after valid from %s",
			ErrInvalidKey, k.ValidUntil.Format(time.RFC3339), k.ValidFrom.Format(time.RFC3339)))
	}
	return errors.Join(errs...)
}
