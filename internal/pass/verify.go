package pass

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ClockSkew is how far in the future a pass's issue time may lie, to allow
// for a checkpoint's clock running behind the issuer's. Expiry gets no slack.
const ClockSkew = 5 * time.Minute

// Reason says why a signed code — a pass, or a place code (package venue)
// — was refused.
type Reason string

// The reasons a signed code is refused for.
const (
	// ReasonMalformed: not a code of its format (bad prefix, characters,
	// length, Base45, COSE or claims).
	ReasonMalformed Reason = "malformed"
	// ReasonUnknownKey: no key known vouches for the code — its key id is
	// not listed or was revoked, or (a pass) it was issued before the key's
	// ValidFrom or expires after its ValidUntil.
	ReasonUnknownKey Reason = "unknown_key"
	// ReasonBadSignature: the signature does not match; the code was
	// altered or forged.
	ReasonBadSignature Reason = "bad_signature"
	// ReasonExpired: the code's expiry has passed.
	ReasonExpired Reason = "expired"
	// ReasonNotYetValid: the code's issue time is more than ClockSkew ahead.
	ReasonNotYetValid Reason = "not_yet_valid"
	// ReasonWrongRegion: the code is not from the expected region, or
	// claims a region other than its key's.
	ReasonWrongRegion Reason = "wrong_region"
	// ReasonTrustListExpired: the trust list that would vouch for the pass
	// has expired; nothing is verified against it until a newer one is had.
	ReasonTrustListExpired Reason = "trust_list_expired"
)

// Sentinels matching a VerifyError of each reason with errors.Is.
var (
	ErrMalformed    = errors.New("malformed")
	ErrUnknownKey   = errors.New("signed by an unknown key")
	ErrBadSignature = errors.New("signature invalid")
	ErrExpired      = errors.New("expired")
	ErrNotYetValid  = errors.New("not yet valid")
	ErrWrongRegion  = errors.New("from the wrong region")
	// ErrTrustListExpired matches a refusal for an expired trust list.
	ErrTrustListExpired = errors.New("trust list expired")
)

// sentinel returns the sentinel error of a reason.
func (r Reason) sentinel() error {
	switch r {
	case ReasonUnknownKey:
		return ErrUnknownKey
	case ReasonBadSignature:
		return ErrBadSignature
	case ReasonExpired:
		return ErrExpired
	case ReasonNotYetValid:
		return ErrNotYetValid
	case ReasonWrongRegion:
		return ErrWrongRegion
	case ReasonTrustListExpired:
		return ErrTrustListExpired
	}
	return ErrMalformed
}

// VerifyError is the error a signed code's verifier returns: Verify for a
// pass, venue's VerifyPlaceCode for a place code. errors.Is matches it
// against the sentinel of its reason (ErrExpired...) and against its detail.
type VerifyError struct {
	Of     string // what was refused: "pass", "place code"
	Reason Reason
	Err    error // detail, for logs; never shown to the person scanning
}

func (e *VerifyError) Error() string {
	if e.Err == nil {
		return "verify " + e.Of + ": " + string(e.Reason)
	}
	return "verify " + e.Of + ": " + string(e.Reason) + ": " + e.Err.Error()
}

// Unwrap returns the reason's sentinel and the detail.
func (e *VerifyError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Reason.sentinel()}
	}
	return []error{e.Reason.sentinel(), e.Err}
}

// Refuse returns a VerifyError refusing a code of the kind named by of for
// reason r, with a detail formatted as by fmt.Errorf.
func Refuse(of string, r Reason, format string, args ...any) error {
	return &VerifyError{Of: of, Reason: r, Err: fmt.Errorf(format, args...)}
}

func refuse(r Reason, format string, args ...any) error { return Refuse("pass", r, format, args...) }

// ReasonOf returns the reason of a VerifyError in err's chain, or "".
func ReasonOf(err error) Reason {
	var ve *VerifyError
	if errors.As(err, &ve) {
		return ve.Reason
	}
	return ""
}

// Result is what a checkpoint learns from a valid pass.
type Result struct {
	Claims
	// KeyID is the id of the key that signed the pass.
	KeyID []byte
}

// The COSE_Sign1 envelope of a pass has exactly one byte layout, and Verify
// accepts nothing else, so that no re-encoding of a valid pass verifies:
//
//	D2                  tag 18 (COSE_Sign1)
//	84                  array of 4
//	4D A2 01 27 04 48   bstr(13) { 1 (alg): -8 (EdDSA), 4 (kid): bstr(8)
//	   <kid:8>                                                        }
//	A0                  unprotected header: empty map
//	40+n | 58 n         payload: bstr of the CBOR claims (n < 256)
//	58 40 <sig:64>      signature: bstr(64)
var envelopeHead = [...]byte{0xD2, 0x84, 0x4D, 0xA2, 0x01, 0x27, 0x04, 0x48}

const (
	protectedLen  = 1 + 13 // bstr header + map
	kidOffset     = len(envelopeHead)
	payloadOffset = kidOffset + KeyIDLen + 1 // after kid and the empty map
	sigTrailerLen = 2 + ed25519.SignatureSize
)

// envelope is a parsed COSE_Sign1; its slices point into the decoded bytes.
type envelope struct {
	kid        [KeyIDLen]byte
	protected  []byte // the protected bstr, header included
	payloadRaw []byte // the payload bstr, header included
	payload    []byte // the claims
	sig        []byte
}

var errEnvelope = errors.New("not a pass COSE_Sign1 message")

// parseEnvelope checks that b is a pass envelope of the one accepted layout.
func parseEnvelope(b []byte) (envelope, error) {
	var e envelope
	if len(b) < payloadOffset+1+sigTrailerLen || [len(envelopeHead)]byte(b[:len(envelopeHead)]) != envelopeHead {
		return e, errEnvelope
	}
	if b[payloadOffset-1] != 0xA0 {
		return e, errEnvelope
	}
	copy(e.kid[:], b[kidOffset:])
	e.protected = b[2 : 2+protectedLen]

	rest := b[payloadOffset:]
	var n, hdr int
	switch h := rest[0]; {
	case h >= 0x40 && h < 0x58:
		n, hdr = int(h-0x40), 1
	case h == 0x58 && rest[1] >= 24:
		n, hdr = int(rest[1]), 2
	default:
		return e, errEnvelope
	}
	if len(rest) != hdr+n+sigTrailerLen {
		return e, errEnvelope
	}
	e.payloadRaw = rest[:hdr+n]
	e.payload = rest[hdr : hdr+n]
	s := rest[hdr+n:]
	if s[0] != 0x58 || s[1] != ed25519.SignatureSize {
		return e, errEnvelope
	}
	e.sig = s[2:]
	return e, nil
}

// sigStructurePrefix opens the Sig_structure of RFC 9052 §4.4:
// ["Signature1", protected, external_aad, payload].
var sigStructurePrefix = []byte{0x84, 0x6A, 'S', 'i', 'g', 'n', 'a', 't', 'u', 'r', 'e', '1'}

// appendSigStructure appends the bytes a pass signature covers, with an
// empty external_aad.
func appendSigStructure(dst []byte, e envelope) []byte {
	dst = append(dst, sigStructurePrefix...)
	dst = append(dst, e.protected...)
	dst = append(dst, 0x40)
	return append(dst, e.payloadRaw...)
}

// verifyBuf holds the scratch space of one verification.
type verifyBuf struct {
	raw [MaxPassLen]byte // decoded COSE bytes (at most 2/3 of MaxPassLen)
	tbs [MaxPassLen + 32]byte
}

var verifyBufs = sync.Pool{New: func() any { return new(verifyBuf) }}

// Verify checks the text of a pass at time now against the keys of the trust
// list and returns what it says. expectRegion, when not "", is the only
// region whose passes are accepted. It fails with a *VerifyError.
//
// A list past its expiry vouches for nothing: when every list tl holds has
// expired, every text is refused with ReasonTrustListExpired before it is
// read; when some have, a pass signed by a key of an expired list is.
//
// Verify needs no network and is safe for concurrent use.
func (tl *TrustList) Verify(text string, now time.Time, expectRegion string) (Result, error) {
	if tl != nil && tl.expires != 0 && now.Unix() >= tl.expires {
		return Result{}, refuse(ReasonTrustListExpired, "every trust list expired, the last at %s",
			time.Unix(tl.expires, 0).UTC().Format(time.RFC3339))
	}
	if len(text) > MaxPassLen {
		return Result{}, refuse(ReasonMalformed, "%d characters, at most %d", len(text), MaxPassLen)
	}
	if len(text) < len(Prefix) || text[:len(Prefix)] != Prefix {
		return Result{}, refuse(ReasonMalformed, "missing prefix %q", Prefix)
	}
	buf := verifyBufs.Get().(*verifyBuf)
	defer verifyBufs.Put(buf)

	raw, err := base45AppendDecode(buf.raw[:0], text[len(Prefix):])
	if err != nil {
		return Result{}, refuse(ReasonMalformed, "%w", err)
	}
	env, err := parseEnvelope(raw)
	if err != nil {
		return Result{}, refuse(ReasonMalformed, "%w", err)
	}
	var key *trustedKey
	if tl != nil {
		key = tl.keys[env.kid]
	}
	if key == nil {
		return Result{}, refuse(ReasonUnknownKey, "kid %x not in the trust list", env.kid)
	}
	if key.listExpires != 0 && now.Unix() >= key.listExpires {
		return Result{}, refuse(ReasonTrustListExpired, "the %s list vouching for kid %x expired at %s", key.region, env.kid,
			time.Unix(key.listExpires, 0).UTC().Format(time.RFC3339))
	}
	if !ed25519.Verify(key.pub, appendSigStructure(buf.tbs[:0], env), env.sig) {
		return Result{}, refuse(ReasonBadSignature, "kid %x", env.kid)
	}
	c, err := unmarshalClaims(env.payload)
	if err != nil {
		return Result{}, refuse(ReasonMalformed, "%w", err)
	}
	if c.Region != key.region {
		return Result{}, refuse(ReasonWrongRegion, "pass of region %q signed by a key of region %q", c.Region, key.region)
	}
	if expectRegion != "" && c.Region != expectRegion {
		return Result{}, refuse(ReasonWrongRegion, "pass of region %q, want %q", c.Region, expectRegion)
	}
	iat, exp := c.IssuedAt.Unix(), c.Expires.Unix()
	if iat < key.validFrom || exp > key.validUntil {
		return Result{}, refuse(ReasonUnknownKey, "kid %x does not vouch for a pass valid %s to %s", env.kid,
			c.IssuedAt.Format(time.RFC3339), c.Expires.Format(time.RFC3339))
	}
	if now.Add(ClockSkew).Unix() < iat {
		return Result{}, refuse(ReasonNotYetValid, "issued %s", c.IssuedAt.Format(time.RFC3339))
	}
	if now.Unix() >= exp {
		return Result{}, refuse(ReasonExpired, "expired %s", c.Expires.Format(time.RFC3339))
	}
	return Result{Claims: c, KeyID: append([]byte(nil), env.kid[:]...)}, nil
}
