package venue

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"

	"github.com/outbreak-platform/outbreak/internal/pass"
)

// A place code is the text in a poster's QR code. It names a place and is
// signed by its region, so that a phone scanning it knows the poster is
// genuine before it records a check-in:
//
//	text    = "OBP1:" encoding(COSE)        see text.go (Base45 once exported)
//	COSE    = COSE_Sign1, CBOR tag 18       RFC 9052
//	          protected   {1: -8 (EdDSA), 4: kid}
//	          unprotected {}
//	          payload     CBOR claims, core deterministic encoding
//	          signature   Ed25519 over the Sig_structure
//	kid     = pass.KeyID of the region's place key (8 bytes)
//	claims  = {1: region (text), 4: expires (unix seconds; only a dated trip),
//	           6: issued at (unix seconds), -1: version (1),
//	           -2: place id, -3: kind (1 venue, 2 vehicle), -4: type (see
//	           typeCodes), -5: carriage (train posters only)}
//
// A code carries no name or address — those are read from the registry by
// id — so that renaming a place does not need new posters.

// CodeVersion is the claims version written and the only one read.
const CodeVersion = 1

// MaxCarriage is the highest carriage number a train poster may carry.
const MaxCarriage = 40

// CodeClockSkew is how far in the future a code's issue time may lie.
const CodeClockSkew = 5 * time.Minute

// PlaceClaims is what a verified place code says.
type PlaceClaims struct {
	Version  int
	Region   string
	PlaceID  int64
	Kind     Kind
	Type     Type
	Carriage int // 0: none
	IssuedAt time.Time
	// Expires is zero for a code that does not expire: every venue and
	// undated line. A dated trip's code expires at 00:00 UTC two days after
	// its service date, which covers overnight trips in every time zone.
	Expires time.Time
	// KeyID is the kid of the key that signed the code, base64url.
	KeyID string
}

// typeCodes are the wire codes of the types. They never change meaning.
var typeCodes = map[Type]uint8{
	Shop: 1, Restaurant: 2, Office: 3, School: 4, Hospital: 5, Station: 6, CompoundEntrance: 7, VillageCheckpoint: 8,
	Train: 21, Flight: 22, Coach: 23, Bus: 24,
}

func typeOfCode(c uint8) (Type, bool) {
	for t, x := range typeCodes {
		if x == c {
			return t, true
		}
	}
	return "", false
}

var kindCodes = map[Kind]uint8{Venue: 1, Vehicle: 2}

type wireClaims struct {
	Region   string `cbor:"1,keyasint"`
	Expires  uint64 `cbor:"4,keyasint,omitempty"`
	IssuedAt uint64 `cbor:"6,keyasint"`
	Version  uint64 `cbor:"-1,keyasint"`
	PlaceID  uint64 `cbor:"-2,keyasint"`
	Kind     uint8  `cbor:"-3,keyasint"`
	Type     uint8  `cbor:"-4,keyasint"`
	Carriage uint8  `cbor:"-5,keyasint,omitempty"`
}

var claimsEnc = func() cbor.EncMode {
	m, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// claimsDec reads claims strictly: no duplicate or unknown keys, no
// indefinite lengths, no tags, small and shallow.
var claimsDec = func() cbor.DecMode {
	m, err := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   4,
		MaxArrayElements:  16,
		MaxMapPairs:       16,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		UTF8:              cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// maxUnix is the last second of year 9999.
const maxUnix = 253402300799

// validRegion reports whether r is a region code as the pass package has
// them: 1 to 12 ASCII letters, digits, '-', '_' or '.'.
func validRegion(r string) bool {
	if r == "" || len(r) > pass.MaxRegionLen {
		return false
	}
	for i := 0; i < len(r); i++ {
		switch b := r[i]; {
		case b >= '0' && b <= '9', b >= 'A' && b <= 'Z', b >= 'a' && b <= 'z', b == '-', b == '_', b == '.':
		default:
			return false
		}
	}
	return true
}

// validate checks claims as signed or as read.
func (c PlaceClaims) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Version != CodeVersion {
		bad("version %d", c.Version)
	}
	if !validRegion(c.Region) {
		bad("region %q", c.Region)
	}
	if c.PlaceID <= 0 {
		bad("place id %d", c.PlaceID)
	}
	if c.Type.Kind() == "" || c.Type.Kind() != c.Kind {
		bad("type %q of kind %q", c.Type, c.Kind)
	}
	if c.Carriage != 0 && (c.Type != Train || c.Carriage < 0 || c.Carriage > MaxCarriage) {
		bad("carriage %d on a %s", c.Carriage, c.Type)
	}
	iat := c.IssuedAt.Unix()
	if c.IssuedAt.Nanosecond() != 0 || iat <= 0 || iat > maxUnix {
		bad("issued at out of range")
	}
	if !c.Expires.IsZero() {
		if exp := c.Expires.Unix(); c.Expires.Nanosecond() != 0 || exp <= iat || exp > maxUnix {
			bad("expires out of range")
		}
	}
	return errors.Join(errs...)
}

func marshalClaims(c PlaceClaims) ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	w := wireClaims{Region: c.Region, IssuedAt: uint64(c.IssuedAt.Unix()), Version: uint64(c.Version),
		PlaceID: uint64(c.PlaceID), Kind: kindCodes[c.Kind], Type: typeCodes[c.Type], Carriage: uint8(c.Carriage)}
	if !c.Expires.IsZero() {
		w.Expires = uint64(c.Expires.Unix())
	}
	return claimsEnc.Marshal(w)
}

func unmarshalClaims(b []byte) (PlaceClaims, error) {
	var w wireClaims
	if err := claimsDec.Unmarshal(b, &w); err != nil {
		return PlaceClaims{}, fmt.Errorf("decode claims: %w", err)
	}
	if w.IssuedAt > maxUnix || w.Expires > maxUnix || w.Version > CodeVersion || w.PlaceID > 1<<53 {
		return PlaceClaims{}, errors.New("claim out of range")
	}
	t, ok := typeOfCode(w.Type)
	if !ok {
		return PlaceClaims{}, fmt.Errorf("unknown type code %d", w.Type)
	}
	var kind Kind
	for k, x := range kindCodes {
		if x == w.Kind {
			kind = k
		}
	}
	c := PlaceClaims{Version: int(w.Version), Region: w.Region, PlaceID: int64(w.PlaceID), Kind: kind, Type: t,
		Carriage: int(w.Carriage), IssuedAt: time.Unix(int64(w.IssuedAt), 0).UTC()}
	if w.Expires != 0 {
		c.Expires = time.Unix(int64(w.Expires), 0).UTC()
	}
	if err := c.validate(); err != nil {
		return PlaceClaims{}, err
	}
	// Only the canonical encoding: the claims read are the bytes signed.
	if again, err := marshalClaims(c); err != nil || !bytes.Equal(again, b) {
		return PlaceClaims{}, errors.New("claims not in canonical encoding")
	}
	return c, nil
}

// protectedHeader returns the one protected header a code may have.
func protectedHeader(kid []byte) ([]byte, error) {
	h := cose.Headers{Protected: cose.ProtectedHeader{}}
	h.Protected.SetAlgorithm(cose.AlgorithmEdDSA)
	h.Protected[cose.HeaderLabelKeyID] = kid
	return h.MarshalProtected()
}

// signClaims returns the text of a code carrying c, signed with priv.
func signClaims(c PlaceClaims, priv ed25519.PrivateKey) (string, error) {
	payload, err := marshalClaims(c)
	if err != nil {
		return "", fmt.Errorf("sign place code: %w", err)
	}
	signer, err := cose.NewSigner(cose.AlgorithmEdDSA, priv)
	if err != nil {
		return "", fmt.Errorf("sign place code: %w", err)
	}
	msg := cose.NewSign1Message()
	msg.Headers.Protected.SetAlgorithm(cose.AlgorithmEdDSA)
	msg.Headers.Protected[cose.HeaderLabelKeyID] = pass.KeyID(priv.Public().(ed25519.PublicKey))
	msg.Payload = payload
	if err := msg.Sign(rand.Reader, nil, signer); err != nil {
		return "", fmt.Errorf("sign place code: %w", err)
	}
	raw, err := msg.MarshalCBOR()
	if err != nil {
		return "", fmt.Errorf("sign place code: %w", err)
	}
	text := encodeText(raw)
	if len(text) > MaxCodeLen {
		return "", fmt.Errorf("sign place code: %d characters", len(text))
	}
	return text, nil
}

// Reason says why a place code was refused: one of pass's reasons but
// ReasonTrustListExpired, as a pass's. A refusal is a *pass.VerifyError.
type Reason = pass.Reason

// The reasons VerifyPlaceCode refuses a code for.
const (
	// ReasonMalformed: not a place code of this format.
	ReasonMalformed = pass.ReasonMalformed
	// ReasonUnknownKey: signed by a key this deployment does not know, or
	// by a revoked one.
	ReasonUnknownKey = pass.ReasonUnknownKey
	// ReasonBadSignature: the signature does not match: forged or altered.
	ReasonBadSignature = pass.ReasonBadSignature
	// ReasonWrongRegion: a code of another region, or one claiming a
	// region other than its key's.
	ReasonWrongRegion = pass.ReasonWrongRegion
	// ReasonExpired: a dated trip's code after its trip.
	ReasonExpired = pass.ReasonExpired
	// ReasonNotYetValid: issued more than CodeClockSkew ahead of now.
	ReasonNotYetValid = pass.ReasonNotYetValid
)

// ReasonOf returns the reason of a refusal in err's chain, or "".
func ReasonOf(err error) Reason { return pass.ReasonOf(err) }

func refuse(r Reason, format string, args ...any) error {
	return pass.Refuse("place code", r, format, args...)
}

// verifyKey is a public key codes are checked against.
type verifyKey struct {
	region string
	pub    ed25519.PublicKey
}

// verifyClaims checks text against keys at now, for region.
func verifyClaims(text string, now time.Time, region string, keys map[[pass.KeyIDLen]byte]verifyKey) (PlaceClaims, error) {
	c, err := checkCode(text, region, keys)
	if err != nil {
		return PlaceClaims{}, err
	}
	if err := checkTime(c, now); err != nil {
		return PlaceClaims{}, err
	}
	return c, nil
}

// checkTime checks a code's claims against the time of the scan.
func checkTime(c PlaceClaims, now time.Time) error {
	if now.Add(CodeClockSkew).Before(c.IssuedAt) {
		return refuse(ReasonNotYetValid, "issued %s", c.IssuedAt.Format(time.RFC3339))
	}
	if !c.Expires.IsZero() && !now.Before(c.Expires) {
		return refuse(ReasonExpired, "expired %s", c.Expires.Format(time.RFC3339))
	}
	return nil
}

// checkCode checks everything about text but the time: its form, its
// signature and its region.
func checkCode(text string, region string, keys map[[pass.KeyIDLen]byte]verifyKey) (PlaceClaims, error) {
	if len(text) > MaxCodeLen {
		return PlaceClaims{}, refuse(ReasonMalformed, "%d characters, at most %d", len(text), MaxCodeLen)
	}
	if len(text) < len(Prefix) || text[:len(Prefix)] != Prefix {
		return PlaceClaims{}, refuse(ReasonMalformed, "missing prefix %q", Prefix)
	}
	raw, err := decodeText(text[len(Prefix):])
	if err != nil {
		return PlaceClaims{}, refuse(ReasonMalformed, "%w", err)
	}
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(raw); err != nil {
		return PlaceClaims{}, refuse(ReasonMalformed, "%w", err)
	}
	kid, _ := msg.Headers.Protected[cose.HeaderLabelKeyID].([]byte)
	if len(kid) != pass.KeyIDLen {
		return PlaceClaims{}, refuse(ReasonMalformed, "no key id")
	}
	// One layout only, so that no re-encoding of a code verifies.
	want, err := protectedHeader(kid)
	if err != nil || !bytes.Equal(msg.Headers.RawProtected, want) || !bytes.Equal(msg.Headers.RawUnprotected, []byte{0xA0}) ||
		len(msg.Signature) != ed25519.SignatureSize {
		return PlaceClaims{}, refuse(ReasonMalformed, "not the place-code COSE layout")
	}
	if again, err := msg.MarshalCBOR(); err != nil || !bytes.Equal(again, raw) {
		return PlaceClaims{}, refuse(ReasonMalformed, "not the canonical COSE encoding")
	}
	key, ok := keys[[pass.KeyIDLen]byte(kid)]
	if !ok {
		return PlaceClaims{}, refuse(ReasonUnknownKey, "kid %x", kid)
	}
	verifier, err := cose.NewVerifier(cose.AlgorithmEdDSA, key.pub)
	if err != nil {
		return PlaceClaims{}, refuse(ReasonUnknownKey, "kid %x: %w", kid, err)
	}
	if err := msg.Verify(nil, verifier); err != nil {
		return PlaceClaims{}, refuse(ReasonBadSignature, "kid %x: %w", kid, err)
	}
	c, err := unmarshalClaims(msg.Payload)
	if err != nil {
		return PlaceClaims{}, refuse(ReasonMalformed, "%w", err)
	}
	if c.Region != key.region {
		return PlaceClaims{}, refuse(ReasonWrongRegion, "code of region %q signed by a key of region %q", c.Region, key.region)
	}
	if c.Region != region {
		return PlaceClaims{}, refuse(ReasonWrongRegion, "code of region %q, want %q", c.Region, region)
	}
	c.KeyID = kidText(kid)
	return c, nil
}
