package pass

import (
	"bytes"
	"errors"
	"testing"
)

// The examples of RFC 9285 §4.
var base45Vectors = []struct{ plain, encoded string }{
	{"AB", "BB8"},
	{"Hello!!", "%69 VD92EX0"},
	{"base-45", "UJCLQE7W581"},
	{"ietf!", "QED8WEX0"},
	{"", ""},
	{"\x00", "00"},
	{"\x00\x00", "000"},
	{"\xff", "U5"},
	{"\xff\xff", "FGW"},
}

func TestBase45Vectors(t *testing.T) {
	for _, v := range base45Vectors {
		if got := base45Encode([]byte(v.plain)); got != v.encoded {
			t.Errorf("encode %q = %q; want %q", v.plain, got, v.encoded)
		}
		got, err := base45Decode(v.encoded)
		if err != nil || string(got) != v.plain {
			t.Errorf("decode %q = %q, %v; want %q", v.encoded, got, err, v.plain)
		}
		if n := base45EncodedLen(len(v.plain)); n != len(v.encoded) {
			t.Errorf("base45EncodedLen(%d) = %d; want %d", len(v.plain), n, len(v.encoded))
		}
		if n := base45DecodedLen(len(v.encoded)); n != len(v.plain) {
			t.Errorf("base45DecodedLen(%d) = %d; want %d", len(v.encoded), n, len(v.plain))
		}
	}
}

func TestBase45Invalid(t *testing.T) {
	for _, s := range []string{
		"0",      // length 1 mod 3
		"0000",   // length 1 mod 3
		"GGW",    // 65536: one past the largest triple
		":::",    // 91124
		"V5",     // 256: one past the largest pair
		"::",     // 2024
		"bb8",    // lowercase
		"BB8\n",  // newline
		"B#8",    // not in the alphabet
		"BB\x00", // NUL
		"BB\xff", // high byte
		"é0",     // UTF-8
		"000GGW", // a bad group after a good one
		"00000U\xff",
	} {
		if got, err := base45Decode(s); !errors.Is(err, errBase45) {
			t.Errorf("decode %q = %x, %v; want errBase45", s, got, err)
		}
	}
}

func TestBase45AppendDecodeReusesBuffer(t *testing.T) {
	buf := make([]byte, 0, 64)
	out, err := base45AppendDecode(buf, "%69 VD92EX0")
	if err != nil || string(out) != "Hello!!" || &out[0] != &buf[:1][0] {
		t.Errorf("append decode = %q, %v (same buffer: %v)", out, err, len(out) > 0 && &out[0] == &buf[:1][0])
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = base45AppendDecode(buf[:0], "QED8WEX0") }); n != 0 {
		t.Errorf("decoding into a buffer allocates %.0f times", n)
	}
}

func TestBase45AllPairs(t *testing.T) {
	for v := range 1 << 16 {
		b := []byte{byte(v >> 8), byte(v)}
		got, err := base45Decode(base45Encode(b))
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("pair %x: %x, %v", b, got, err)
		}
	}
}
