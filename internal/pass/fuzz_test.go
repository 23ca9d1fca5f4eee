package pass

import (
	"bytes"
	"crypto/ed25519"
	"slices"
	"testing"
	"time"
)

// FuzzVerify: no text panics, every refusal has a known reason, and nothing
// verifies unless it is byte for byte one of the passes signed here.
func FuzzVerify(f *testing.F) {
	priv := testPriv("a")
	tl := mustTrustList(f, testKey(f, "a", "4201"), testKey(f, "c", "3301"))
	now := t0.Add(time.Hour)
	var valid []string
	for _, c := range []Claims{
		testClaims(),
		func() Claims { c := testClaims(); c.Colour, c.MaskedName = Red, "W** L*"; return c }(),
		func() Claims { c := testClaims(); c.Holder, c.Expires = "AA", t0.Add(time.Minute); return c }(),
	} {
		valid = append(valid, mustSign(f, c, priv))
	}
	foreign := testClaims()
	foreign.Region = "3301"
	valid = append(valid, mustSign(f, foreign, testPriv("c")))
	for _, v := range valid {
		f.Add(v)
		f.Add(v[:len(v)-1])
		f.Add(v + "0")
	}
	f.Add("")
	f.Add(Prefix)
	f.Add("HC1:" + valid[0][4:])
	f.Add(Prefix + "GGW")
	// Forged: signed with an untrusted key under a trusted kid.
	f.Add(signRaw(f, []byte{0xA0}, testPriv("mallory"), testKey(f, "a", "4201").ID))

	f.Fuzz(func(t *testing.T, text string) {
		res, err := tl.Verify(text, now, "")
		if err != nil {
			if !allReasons[ReasonOf(err)] {
				t.Fatalf("refusal without a known reason: %v", err)
			}
			return
		}
		if !slices.Contains(valid, text) {
			t.Fatalf("verified a text that was never signed: %q → %+v", text, res)
		}
	})
}

// FuzzBase45: encoding round trips, and any text that decodes is the one
// encoding of what it decodes to.
func FuzzBase45(f *testing.F) {
	for _, v := range base45Vectors {
		f.Add([]byte(v.plain))
		f.Add([]byte(v.encoded))
	}
	f.Add([]byte("GGW"))
	f.Add([]byte(":::"))
	f.Fuzz(func(t *testing.T, data []byte) {
		enc := base45Encode(data)
		if len(enc) != base45EncodedLen(len(data)) || !isQRAlphanumeric(enc) {
			t.Fatalf("encode %x = %q", data, enc)
		}
		dec, err := base45Decode(enc)
		if err != nil || !bytes.Equal(dec, data) {
			t.Fatalf("decode(encode(%x)) = %x, %v", data, dec, err)
		}
		// The same bytes read as text.
		dec, err = base45Decode(string(data))
		if err != nil {
			return
		}
		if again := base45Encode(dec); again != string(data) {
			t.Fatalf("%q decodes to %x, which encodes to %q", data, dec, again)
		}
	})
}

// FuzzParseTrustList: no document panics, and whatever parses under the
// root key holds exactly the keys that root key signed.
func FuzzParseTrustList(f *testing.F) {
	root := testPriv("root 4201")
	keys := []Key{testKey(f, "a", "4201"), testKey(f, "b", "4201")}
	doc := mustSignTrustList(f, "4201", keys, root, t0)
	want := mustTrustList(f, keys...).Keys()
	f.Add(doc)
	f.Add(mustSignTrustList(f, "4201", nil, root, t0))
	f.Add(signDoc(f, []byte(`{"type":"outbreak-pass-trust-list","version":1,"region":"4201","issued_at":"2026-05-01T08:00:00Z","keys":[{}]}`), root))
	f.Add([]byte(`{"payload":"e30","root_kid":"AAAAAAAAAAA","signature":"AAAA"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		tl, err := ParseTrustList(data, pubOf(root))
		if err != nil {
			return
		}
		got := tl.Keys()
		if len(got) == 0 { // the empty list seed
			return
		}
		if len(got) != len(want) {
			t.Fatalf("parsed %d keys; want %d", len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i].ID, want[i].ID) || !ed25519.PublicKey(got[i].Public).Equal(want[i].Public) ||
				!got[i].ValidFrom.Equal(want[i].ValidFrom) || !got[i].ValidUntil.Equal(want[i].ValidUntil) || got[i].Region != "4201" {
				t.Fatalf("parsed key %+v; want %+v", got[i], want[i])
			}
		}
	})
}
