package pass

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/veraison/go-cose"
)

// Prefix starts the text of every pass: the context identifier of version 1
// of this format, like "HC1:" for the EU Digital COVID Certificate.
const Prefix = "OB1:"

// MaxPassLen is the longest text Verify reads; anything longer is refused
// before it is decoded. A real pass is under 250 characters.
const MaxPassLen = 1024

// ErrInvalidSigningKey is returned by Sign for a private key of the wrong
// size.
var ErrInvalidSigningKey = errors.New("invalid pass signing key")

// Sign returns the text of a pass carrying c, signed with priv: "OB1:"
// followed by the Base45 of a COSE_Sign1 message (RFC 9052, tag 18) whose
// protected header holds the algorithm EdDSA (-8) and the key id
// KeyID(priv.Public()), and whose payload is the CBOR of the claims.
//
// Times are cut to whole seconds (in UTC) and a zero Version becomes
// CurrentVersion before c is validated. Sign does not check the key's
// validity window: a verifier refuses a pass issued before its key's
// ValidFrom or expiring after its ValidUntil.
func Sign(c Claims, priv ed25519.PrivateKey) (string, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("sign pass: %w: %d bytes", ErrInvalidSigningKey, len(priv))
	}
	if c.Version == 0 {
		c.Version = CurrentVersion
	}
	c.IssuedAt = c.IssuedAt.UTC().Truncate(time.Second)
	c.Expires = c.Expires.UTC().Truncate(time.Second)
	payload, err := marshalClaims(c)
	if err != nil {
		return "", fmt.Errorf("sign pass: %w", err)
	}

	signer, err := cose.NewSigner(cose.AlgorithmEdDSA, priv)
	if err != nil {
		return "", fmt.Errorf("sign pass: %w", err)
	}
	msg := cose.NewSign1Message()
	msg.Headers.Protected.SetAlgorithm(cose.AlgorithmEdDSA)
	msg.Headers.Protected[cose.HeaderLabelKeyID] = KeyID(priv.Public().(ed25519.PublicKey))
	msg.Payload = payload
	if err := msg.Sign(rand.Reader, nil, signer); err != nil {
		return "", fmt.Errorf("sign pass: %w", err)
	}
	raw, err := msg.MarshalCBOR()
	if err != nil {
		return "", fmt.Errorf("sign pass: encode COSE_Sign1: %w", err)
	}
	// Never hand out a pass the verifier would not read.
	if _, err := parseEnvelope(raw); err != nil {
		return "", fmt.Errorf("sign pass: %w", err)
	}
	text := Prefix + base45Encode(raw)
	if len(text) > MaxPassLen {
		return "", fmt.Errorf("sign pass: %w: %d characters, at most %d", ErrInvalidClaims, len(text), MaxPassLen)
	}
	return text, nil
}
