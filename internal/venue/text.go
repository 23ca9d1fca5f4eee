package venue

import (
	"errors"

	"github.com/outbreak-platform/outbreak/internal/pass"
)

// Prefix starts the text of every place code: version 1 of the format,
// distinct from the health pass's "OB1:", so that a scanner tells a poster
// from a pass before decoding anything.
const Prefix = "OBP1:"

// MaxCodeLen is the longest text VerifyPlaceCode reads; a real code is
// under 200 characters.
const MaxCodeLen = 512

// The text after the prefix is Base45 (RFC 9285), as in the health pass, so
// that the QR code packs it in alphanumeric mode.
func encodeText(raw []byte) string { return Prefix + pass.Base45Encode(raw) }

var errText = errors.New("not canonical place-code text")

// decodeText returns the bytes of a code's text without its prefix; it
// accepts only the canonical encoding, so that every accepted text is the
// one that was signed.
func decodeText(s string) ([]byte, error) {
	b, err := pass.Base45Decode(s)
	if err != nil {
		return nil, errText
	}
	return b, nil
}
