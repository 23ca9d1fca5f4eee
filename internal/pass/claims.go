package pass

import (
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// Colour is the health status a pass shows.
type Colour string

// The three colours of a pass.
const (
	Green  Colour = "green"
	Yellow Colour = "yellow"
	Red    Colour = "red"
)

// Valid reports whether c is one of Green, Yellow and Red.
func (c Colour) Valid() bool {
	_, ok := colourCode(c)
	return ok
}

// Hex returns the colour's RGB value as "#rrggbb" (the border drawn around
// the QR code), or "" for an unknown colour.
func (c Colour) Hex() string {
	switch c {
	case Green:
		return "#1a9e3f"
	case Yellow:
		return "#f2c500"
	case Red:
		return "#d62828"
	}
	return ""
}

// colourCode maps a colour to its one-byte wire code. No colour has code 0,
// so a pass without a colour claim is refused rather than read as green.
func colourCode(c Colour) (uint8, bool) {
	switch c {
	case Green:
		return 1, true
	case Yellow:
		return 2, true
	case Red:
		return 3, true
	}
	return 0, false
}

// colourFromCode maps a wire code back to its colour.
func colourFromCode(code uint8) (Colour, bool) {
	switch code {
	case 1:
		return Green, true
	case 2:
		return Yellow, true
	case 3:
		return Red, true
	}
	return "", false
}

// CurrentVersion is the claims version this package writes and the only one
// it reads.
const CurrentVersion = 1

// Limits on claims.
const (
	// MaxValidity is the longest a pass may be valid.
	MaxValidity = 24 * time.Hour
	// MaxMaskedNameRunes caps Claims.MaskedName.
	MaxMaskedNameRunes = 32
	// MaxRegionLen caps Claims.Region and Key.Region.
	MaxRegionLen = 12
	// MaxHolderLen caps Claims.Holder (16 base32 characters are 80 bits).
	MaxHolderLen = 16
)

// ErrInvalidClaims is wrapped by every error Claims.Validate returns.
var ErrInvalidClaims = errors.New("invalid pass claims")

// Claims is everything a pass says, and deliberately nothing more: no ID
// number, no location, no health details. A checkpoint learns the colour, a
// masked name to compare with the person in front of it, and who vouches
// for it.
type Claims struct {
	// Version is CurrentVersion; Sign fills in a zero.
	Version int
	// Region is the issuing region's code, e.g. "4201".
	Region string
	// Holder is a pseudonymous, rotating holder id: unpadded upper-case
	// RFC 4648 base32 of 1 to 10 random bytes (at most 16 characters).
	Holder string
	// MaskedName is the holder's name as MaskName returns it.
	MaskedName string
	// Colour is the status the pass shows.
	Colour Colour
	// IssuedAt and Expires bound the pass's validity, to the second.
	IssuedAt time.Time
	Expires  time.Time
}

// holderEncoding is the base32 form of Claims.Holder.
var holderEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// maxUnix is the last second of year 9999, the latest time a pass may name.
const maxUnix = 253402300799

// Validate reports every problem with c at once, each wrapped with
// ErrInvalidClaims.
func (c Claims) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidClaims}, args...)...))
	}
	if c.Version != CurrentVersion {
		bad("version %d, want %d", c.Version, CurrentVersion)
	}
	if err := validateRegion(c.Region); err != nil {
		bad("region: %v", err)
	}
	if _, err := holderBytes(c.Holder); err != nil {
		bad("holder: %v", err)
	}
	switch n := utf8.RuneCountInString(c.MaskedName); {
	case n == 0:
		bad("masked name is empty")
	case n > MaxMaskedNameRunes:
		bad("masked name has %d characters, at most %d allowed", n, MaxMaskedNameRunes)
	case !utf8.ValidString(c.MaskedName):
		bad("masked name is not UTF-8")
	case strings.IndexFunc(c.MaskedName, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		bad("masked name has a control character")
	}
	if !c.Colour.Valid() {
		bad("unknown colour %q", c.Colour)
	}
	iat, exp := c.IssuedAt.Unix(), c.Expires.Unix()
	switch {
	case c.IssuedAt.Nanosecond() != 0 || c.Expires.Nanosecond() != 0:
		bad("times must be whole seconds")
	case iat <= 0 || exp > maxUnix:
		bad("times out of range")
	case exp <= iat:
		bad("expires %s is not after issued %s", c.Expires.UTC().Format(time.RFC3339), c.IssuedAt.UTC().Format(time.RFC3339))
	case c.Expires.Sub(c.IssuedAt) > MaxValidity:
		bad("valid for %s, at most %s allowed", c.Expires.Sub(c.IssuedAt), MaxValidity)
	}
	return errors.Join(errs...)
}

// validateRegion checks a region code: 1 to MaxRegionLen ASCII letters,
// digits, '-', '_' or '.'.
func validateRegion(r string) error {
	if r == "" {
		return errors.New("empty")
	}
	if len(r) > MaxRegionLen {
		return fmt.Errorf("%d characters, at most %d allowed", len(r), MaxRegionLen)
	}
	for i := 0; i < len(r); i++ {
		switch b := r[i]; {
		case b >= '0' && b <= '9', b >= 'A' && b <= 'Z', b >= 'a' && b <= 'z', b == '-', b == '_', b == '.':
		default:
			return fmt.Errorf("character %q not allowed", b)
		}
	}
	return nil
}

// holderBytes decodes a holder id, accepting only the canonical base32 form
// so that the bytes on the wire give back the very same text.
func holderBytes(h string) ([]byte, error) {
	if h == "" {
		return nil, errors.New("empty")
	}
	if len(h) > MaxHolderLen {
		return nil, fmt.Errorf("%d characters, at most %d allowed", len(h), MaxHolderLen)
	}
	b, err := holderEncoding.DecodeString(h)
	if err != nil || holderEncoding.EncodeToString(b) != h {
		return nil, errors.New("not canonical unpadded upper-case base32")
	}
	return b, nil
}

// wireClaims is the CBOR map inside a pass. The integer keys follow CWT
// (RFC 8392) where a claim fits it (1 iss, 2 sub, 4 exp, 6 iat) and use the
// one-byte negative keys for the rest, so the whole map stays near 50 bytes.
type wireClaims struct {
	Region   string `cbor:"1,keyasint"`
	Holder   []byte `cbor:"2,keyasint"`
	Expires  uint64 `cbor:"4,keyasint"`
	IssuedAt uint64 `cbor:"6,keyasint"`
	Version  uint64 `cbor:"-1,keyasint"`
	Name     string `cbor:"-2,keyasint"`
	Colour   uint8  `cbor:"-3,keyasint"`
}

// claimsEnc writes CBOR in the core deterministic encoding (RFC 8949 §4.2).
var claimsEnc = mustEncMode(cbor.CoreDetEncOptions())

// claimsDec reads the claims strictly: no duplicate or unknown keys, no
// indefinite lengths, no tags, small maps and arrays, shallow nesting.
var claimsDec = mustDecMode(cbor.DecOptions{
	DupMapKey:         cbor.DupMapKeyEnforcedAPF,
	IndefLength:       cbor.IndefLengthForbidden,
	TagsMd:            cbor.TagsForbidden,
	MaxNestedLevels:   4,
	MaxArrayElements:  16,
	MaxMapPairs:       16,
	ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
	UTF8:              cbor.UTF8RejectInvalid,
})

func mustEncMode(o cbor.EncOptions) cbor.EncMode {
	m, err := o.EncMode()
	if err != nil {
		panic(err)
	}
	return m
}

func mustDecMode(o cbor.DecOptions) cbor.DecMode {
	m, err := o.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}

// marshalClaims validates c and returns its CBOR encoding.
func marshalClaims(c Claims) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	holder, _ := holderBytes(c.Holder)
	code, _ := colourCode(c.Colour)
	b, err := claimsEnc.Marshal(wireClaims{
		Region:   c.Region,
		Holder:   holder,
		Expires:  uint64(c.Expires.Unix()),
		IssuedAt: uint64(c.IssuedAt.Unix()),
		Version:  uint64(c.Version),
		Name:     c.MaskedName,
		Colour:   code,
	})
	if err != nil {
		return nil, fmt.Errorf("encode claims: %w", err)
	}
	return b, nil
}

// unmarshalClaims decodes and validates the CBOR claims of a pass.
func unmarshalClaims(b []byte) (Claims, error) {
	var w wireClaims
	if err := claimsDec.Unmarshal(b, &w); err != nil {
		return Claims{}, fmt.Errorf("decode claims: %w", err)
	}
	colour, ok := colourFromCode(w.Colour)
	if !ok {
		return Claims{}, fmt.Errorf("%w: unknown colour code %d", ErrInvalidClaims, w.Colour)
	}
	if w.IssuedAt > maxUnix || w.Expires > maxUnix || w.Version > CurrentVersion {
		return Claims{}, fmt.Errorf("%w: field out of range", ErrInvalidClaims)
	}
	if len(w.Holder) == 0 || len(w.Holder) > holderEncoding.DecodedLen(MaxHolderLen) {
		return Claims{}, fmt.Errorf("%w: holder of %d bytes", ErrInvalidClaims, len(w.Holder))
	}
	c := Claims{
		Version:    int(w.Version),
		Region:     w.Region,
		Holder:     holderEncoding.EncodeToString(w.Holder),
		MaskedName: w.Name,
		Colour:     colour,
		IssuedAt:   time.Unix(int64(w.IssuedAt), 0).UTC(),
		Expires:    time.Unix(int64(w.Expires), 0).UTC(),
	}
	if err := c.Validate(); err != nil {
		return Claims{}, err
	}
	return c, nil
}
