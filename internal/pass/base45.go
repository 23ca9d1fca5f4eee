package pass

import "errors"

// Base45 (RFC 9285) turns bytes into text that uses only the 45 characters of
// the QR code alphanumeric mode, so a QR encoder packs 11 bits per 2
// characters instead of 8 bits per byte.
//
// No Base45 module was available from the module proxy here, so this is a
// small implementation of the RFC, checked against its test vectors and
// fuzzed (FuzzBase45). Decoding is strict: each 3-character group must
// encode a value below 65536 and a final 2-character group a value below 256,
// so every byte string has exactly one encoding and every accepted text
// decodes back to itself.

// base45Alphabet is RFC 9285 table 1, which is also the QR alphanumeric set.
const base45Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// errBase45 is returned for text that is not canonical Base45.
var errBase45 = errors.New("invalid base45")

// base45Values maps a character to its value, or 0xff when it is not in the
// alphabet.
var base45Values = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(base45Alphabet); i++ {
		t[base45Alphabet[i]] = byte(i)
	}
	return t
}()

// base45EncodedLen is the length of the Base45 text for n bytes.
func base45EncodedLen(n int) int { return n/2*3 + n%2*2 }

// base45DecodedLen is the number of bytes a Base45 text of n characters
// holds; it is only meaningful when n%3 != 1.
func base45DecodedLen(n int) int { return n/3*2 + n%3/2 }

// base45Encode returns the Base45 text of src.
func base45Encode(src []byte) string {
	dst := make([]byte, 0, base45EncodedLen(len(src)))
	for i := 0; i+1 < len(src); i += 2 {
		n := uint(src[i])<<8 | uint(src[i+1])
		dst = append(dst, base45Alphabet[n%45], base45Alphabet[n/45%45], base45Alphabet[n/2025])
	}
	if len(src)%2 == 1 {
		n := uint(src[len(src)-1])
		dst = append(dst, base45Alphabet[n%45], base45Alphabet[n/45])
	}
	return string(dst)
}

// base45AppendDecode appends the bytes of the Base45 text src to dst. It
// allocates nothing when dst has room, which keeps verification free of
// garbage.
func base45AppendDecode(dst []byte, src string) ([]byte, error) {
	if len(src)%3 == 1 {
		return dst, errBase45
	}
	i := 0
	for ; i+2 < len(src); i += 3 {
		c, d, e := base45Values[src[i]], base45Values[src[i+1]], base45Values[src[i+2]]
		if c >= 45 || d >= 45 || e >= 45 {
			return dst, errBase45
		}
		n := uint(c) + uint(d)*45 + uint(e)*2025
		if n > 0xffff {
			return dst, errBase45
		}
		dst = append(dst, byte(n>>8), byte(n))
	}
	if i < len(src) { // two characters left
		c, d := base45Values[src[i]], base45Values[src[i+1]]
		if c >= 45 || d >= 45 {
			return dst, errBase45
		}
		n := uint(c) + uint(d)*45
		if n > 0xff {
			return dst, errBase45
		}
		dst = append(dst, byte(n))
	}
	return dst, nil
}

// base45Decode returns the bytes of the Base45 text src.
func base45Decode(src string) ([]byte, error) {
	if len(src)%3 == 1 {
		return nil, errBase45
	}
	return base45AppendDecode(make([]byte, 0, base45DecodedLen(len(src))), src)
}

// Base45Encode returns the RFC 9285 Base45 text of src: the QR alphanumeric
// alphabet, so that a QR code packs it densely. Place codes use it too.
func Base45Encode(src []byte) string { return base45Encode(src) }

// Base45Decode decodes Base45 text, accepting only the canonical encoding.
func Base45Decode(src string) ([]byte, error) { return base45Decode(src) }
