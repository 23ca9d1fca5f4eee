package pass

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"
)

// t0 is the issue time of the test passes.
var t0 = time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)

// testPriv returns a fixed Ed25519 key named by label.
func testPriv(label string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("outbreak pass test key " + label))
	return ed25519.NewKeyFromSeed(seed[:])
}

func pubOf(priv ed25519.PrivateKey) ed25519.PublicKey { return priv.Public().(ed25519.PublicKey) }

// testKey returns the Key of the label's private key for region, valid for
// a month around t0.
func testKey(t testing.TB, label, region string) Key {
	t.Helper()
	k, err := NewKey(region, pubOf(testPriv(label)), t0.Add(-7*24*time.Hour), t0.Add(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testClaims() Claims {
	return Claims{
		Region:     "4201",
		Holder:     "MFRGGZDFMZTWQ2LK",
		MaskedName: "张*伟",
		Colour:     Green,
		IssuedAt:   t0,
		Expires:    t0.Add(24 * time.Hour),
	}
}

func mustSign(t testing.TB, c Claims, priv ed25519.PrivateKey) string {
	t.Helper()
	text, err := Sign(c, priv)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func mustTrustList(t testing.TB, keys ...Key) *TrustList {
	t.Helper()
	tl, err := NewTrustList(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

// decodeText returns the COSE bytes of a pass text.
func decodeText(t testing.TB, text string) []byte {
	t.Helper()
	raw, err := base45Decode(strings.TrimPrefix(text, Prefix))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func encodeText(raw []byte) string { return Prefix + base45Encode(raw) }

// signRaw signs any payload bytes with priv under the header kid, the way
// Sign does, to build passes Sign refuses to make.
func signRaw(t testing.TB, payload []byte, priv ed25519.PrivateKey, kid []byte) string {
	t.Helper()
	signer, err := cose.NewSigner(cose.AlgorithmEdDSA, priv)
	if err != nil {
		t.Fatal(err)
	}
	msg := cose.NewSign1Message()
	msg.Headers.Protected.SetAlgorithm(cose.AlgorithmEdDSA)
	msg.Headers.Protected[cose.HeaderLabelKeyID] = kid
	msg.Payload = payload
	if err := msg.Sign(rand.Reader, nil, signer); err != nil {
		t.Fatal(err)
	}
	raw, err := msg.MarshalCBOR()
	if err != nil {
		t.Fatal(err)
	}
	return encodeText(raw)
}

// wantReason checks that err is a *VerifyError of reason want.
func wantReason(t testing.TB, err error, want Reason) {
	t.Helper()
	if err == nil {
		t.Fatalf("verified; want %s", want)
	}
	var ve *VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is not a *VerifyError", err)
	}
	if ve.Reason != want {
		t.Fatalf("reason %s (%v); want %s", ve.Reason, err, want)
	}
	if !errors.Is(err, want.sentinel()) {
		t.Fatalf("errors.Is(%v, sentinel of %s) = false", err, want)
	}
}

var allReasons = map[Reason]bool{
	ReasonMalformed: true, ReasonUnknownKey: true, ReasonBadSignature: true,
	ReasonExpired: true, ReasonNotYetValid: true, ReasonWrongRegion: true,
}

func TestSignVerifyRoundTrip(t *testing.T) {
	priv := testPriv("a")
	key := testKey(t, "a", "4201")
	tl := mustTrustList(t, key)
	c := testClaims()
	text := mustSign(t, c, priv)
	t.Logf("pass (%d characters): %s", len(text), text)

	for _, region := range []string{"", "4201"} {
		res, err := tl.Verify(text, t0.Add(time.Hour), region)
		if err != nil {
			t.Fatalf("Verify(region %q): %v", region, err)
		}
		want := c
		want.Version = CurrentVersion
		if res.Claims != want {
			t.Errorf("claims = %+v; want %+v", res.Claims, want)
		}
		if !bytes.Equal(res.KeyID, key.ID) {
			t.Errorf("kid = %x; want %x", res.KeyID, key.ID)
		}
	}

	// Signing is deterministic (Ed25519), so a pass has one text.
	if again := mustSign(t, c, priv); again != text {
		t.Errorf("signing twice gave two texts")
	}

	// Other COSE implementations read it: go-cose verifies the envelope.
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(decodeText(t, text)); err != nil {
		t.Fatal(err)
	}
	v, err := cose.NewVerifier(cose.AlgorithmEdDSA, key.Public)
	if err != nil {
		t.Fatal(err)
	}
	if err := msg.Verify(nil, v); err != nil {
		t.Errorf("go-cose Verify: %v", err)
	}
	if kid, _ := msg.Headers.Protected[cose.HeaderLabelKeyID].([]byte); !bytes.Equal(kid, key.ID) {
		t.Errorf("protected kid = %x; want %x", kid, key.ID)
	}
	if alg, _ := msg.Headers.Protected.Algorithm(); alg != cose.AlgorithmEdDSA {
		t.Errorf("alg = %v; want EdDSA", alg)
	}
}

func TestSignTruncatesAndDefaults(t *testing.T) {
	c := testClaims()
	c.IssuedAt = c.IssuedAt.Add(700 * time.Millisecond).In(time.FixedZone("CST", 8*3600))
	c.Expires = c.Expires.Add(300 * time.Millisecond)
	text := mustSign(t, c, testPriv("a"))
	res, err := mustTrustList(t, testKey(t, "a", "4201")).Verify(text, t0.Add(time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	if !res.IssuedAt.Equal(t0) || !res.Expires.Equal(t0.Add(24*time.Hour)) || res.Version != CurrentVersion {
		t.Errorf("got issued %v expires %v version %d", res.IssuedAt, res.Expires, res.Version)
	}
	if res.IssuedAt.Location() != time.UTC {
		t.Errorf("issued at in %v; want UTC", res.IssuedAt.Location())
	}
}

// TestPassLength keeps a typical pass short enough for a small, quickly
// scanned QR code.
func TestPassLength(t *testing.T) {
	priv := testPriv("a")
	for _, tc := range []struct {
		name   string
		mutate func(*Claims)
		max    int
	}{
		{"han name", func(*Claims) {}, 200},
		{"latin name", func(c *Claims) { c.MaskedName = "W*** L*" }, 200},
		{"four-character han name", func(c *Claims) { c.MaskedName = "欧**娜" }, 200},
		{"six-digit region", func(c *Claims) { c.Region = "420102" }, 202},
		{"largest claims", func(c *Claims) {
			c.Region = "420100000000"
			c.MaskedName = strings.Repeat("张", MaxMaskedNameRunes)
		}, 400},
	} {
		c := testClaims()
		tc.mutate(&c)
		text := mustSign(t, c, priv)
		t.Logf("%s: %d characters", tc.name, len(text))
		if len(text) > tc.max {
			t.Errorf("%s: %d characters, want at most %d", tc.name, len(text), tc.max)
		}
		if !isQRAlphanumeric(text) {
			t.Errorf("%s: text outside the QR alphanumeric set: %s", tc.name, text)
		}
	}
}

func TestVerifyTimes(t *testing.T) {
	key := testKey(t, "a", "4201")
	tl := mustTrustList(t, key)
	text := mustSign(t, testClaims(), testPriv("a"))
	exp := t0.Add(24 * time.Hour)
	for _, tc := range []struct {
		now  time.Time
		want Reason // "" is success
	}{
		{t0, ""},
		{t0.Add(-ClockSkew), ""},
		{t0.Add(-ClockSkew - time.Second), ReasonNotYetValid},
		{t0.Add(-48 * time.Hour), ReasonNotYetValid},
		{exp.Add(-time.Second), ""},
		{exp.Add(-time.Nanosecond), ""},
		{exp, ReasonExpired},
		{exp.Add(time.Second), ReasonExpired},
		{exp.Add(365 * 24 * time.Hour), ReasonExpired},
	} {
		_, err := tl.Verify(text, tc.now, "4201")
		if tc.want == "" {
			if err != nil {
				t.Errorf("at %v: %v", tc.now, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("at %v: verified; want %s", tc.now, tc.want)
			continue
		}
		wantReason(t, err, tc.want)
	}
}

func TestVerifyFailures(t *testing.T) {
	privA, privB := testPriv("a"), testPriv("b")
	keyA, keyB := testKey(t, "a", "4201"), testKey(t, "b", "4201")
	keyC := testKey(t, "c", "3301")
	tl := mustTrustList(t, keyA, keyB, keyC)
	now := t0.Add(time.Hour)
	text := mustSign(t, testClaims(), privA)
	raw := decodeText(t, text)
	env, err := parseEnvelope(raw)
	if err != nil {
		t.Fatal(err)
	}
	sigAt := len(raw) - ed25519.SignatureSize
	payloadAt := len(raw) - sigTrailerLen - len(env.payload)

	flip := func(i int, mask byte) string {
		b := bytes.Clone(raw)
		b[i] ^= mask
		return encodeText(b)
	}
	withKID := func(kid []byte) string {
		b := bytes.Clone(raw)
		copy(b[kidOffset:], kid)
		return encodeText(b)
	}
	foreignClaims := testClaims()
	foreignClaims.Region = "3301"

	cases := []struct {
		name   string
		text   string
		tl     *TrustList
		region string
		want   Reason
	}{
		{"empty", "", tl, "", ReasonMalformed},
		{"prefix only", Prefix, tl, "", ReasonMalformed},
		{"other context", "HC1:" + text[len(Prefix):], tl, "", ReasonMalformed},
		{"lowercase prefix", "ob1:" + text[len(Prefix):], tl, "", ReasonMalformed},
		{"lowercase", strings.ToLower(text), tl, "", ReasonMalformed},
		{"lowercase body", Prefix + strings.ToLower(text[len(Prefix):]), tl, "", ReasonMalformed},
		{"garbage", Prefix + "!!!###", tl, "", ReasonMalformed},
		{"unicode", Prefix + "张三", tl, "", ReasonMalformed},
		{"NUL", text[:20] + "\x00" + text[21:], tl, "", ReasonMalformed},
		{"trailing newline", text + "\n", tl, "", ReasonMalformed},
		{"leading space", " " + text, tl, "", ReasonMalformed},
		{"extra group", text + "000", tl, "", ReasonMalformed},
		{"base45 value overflow", Prefix + "GGW" + text[len(Prefix)+3:], tl, "", ReasonMalformed},
		{"oversized", Prefix + strings.Repeat("0", 2000), tl, "", ReasonMalformed},
		{"signature byte", flip(sigAt+10, 0x01), tl, "", ReasonBadSignature},
		{"last signature byte", flip(len(raw)-1, 0x80), tl, "", ReasonBadSignature},
		{"payload byte", flip(payloadAt+3, 0x01), tl, "", ReasonBadSignature},
		{"kid swapped to another trusted key", withKID(keyB.ID), tl, "", ReasonBadSignature},
		{"kid swapped to another region's key", withKID(keyC.ID), tl, "", ReasonBadSignature},
		{"kid unknown", withKID([]byte("12345678")), tl, "", ReasonUnknownKey},
		{"untagged", encodeText(raw[1:]), tl, "", ReasonMalformed},
		{"alg changed", flip(5, 0x01), tl, "", ReasonMalformed},
		{"unprotected header not empty", flip(payloadOffset-1, 0x01), tl, "", ReasonMalformed},
		{"wrong region", text, tl, "3301", ReasonWrongRegion},
		{"empty trust list", text, mustTrustList(t), "", ReasonUnknownKey},
		{"nil trust list", text, nil, "", ReasonUnknownKey},
		{"other region's trust list", text, mustTrustList(t, keyC), "", ReasonUnknownKey},
		{"signed by another trusted key", mustSign(t, testClaims(), privB), mustTrustList(t, keyA), "", ReasonUnknownKey},
		{"foreign key claims our region", mustSign(t, testClaims(), testPriv("c")), tl, "", ReasonWrongRegion},
		{"our key claims a foreign region", mustSign(t, foreignClaims, privA), tl, "", ReasonWrongRegion},
		{"key not yet valid at issue", text, mustTrustList(t, mustKey(t, "4201", keyA.Public, t0.Add(time.Second), t0.Add(30*24*time.Hour))), "", ReasonUnknownKey},
		{"key expires before the pass", text, mustTrustList(t, mustKey(t, "4201", keyA.Public, t0.Add(-time.Hour), t0.Add(23*time.Hour))), "", ReasonUnknownKey},
		{"key window long gone", text, mustTrustList(t, mustKey(t, "4201", keyA.Public, t0.Add(-90*24*time.Hour), t0.Add(-30*24*time.Hour))), "", ReasonUnknownKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.tl.Verify(tc.text, now, tc.region)
			if err == nil {
				t.Fatalf("verified %+v", res)
			}
			wantReason(t, err, tc.want)
		})
	}
}

func mustKey(t testing.TB, region string, pub ed25519.PublicKey, from, until time.Time) Key {
	t.Helper()
	k, err := NewKey(region, pub, from, until)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestVerifyNoAlteredPassVerifies changes the pass every way a one-place
// edit can, and checks that none of them verifies.
func TestVerifyNoAlteredPassVerifies(t *testing.T) {
	tl := mustTrustList(t, testKey(t, "a", "4201"), testKey(t, "b", "4201"))
	now := t0.Add(time.Hour)
	text := mustSign(t, testClaims(), testPriv("a"))
	seen := map[Reason]int{}
	check := func(what, altered string) {
		t.Helper()
		if altered == text {
			return
		}
		_, err := tl.Verify(altered, now, "")
		if err == nil {
			t.Fatalf("%s: altered pass verified: %s", what, altered)
		}
		r := ReasonOf(err)
		if !allReasons[r] {
			t.Fatalf("%s: unknown reason %q (%v)", what, r, err)
		}
		seen[r]++
	}
	// Every character of the text replaced by every other character of the
	// alphabet at a handful of places, and by its neighbour everywhere.
	for i := range len(text) {
		j := strings.IndexByte(base45Alphabet, text[i])
		next := base45Alphabet[(j+1)%len(base45Alphabet)]
		check("replace", text[:i]+string(next)+text[i+1:])
		check("delete", text[:i]+text[i+1:])
		check("truncate", text[:i])
	}
	for _, i := range []int{len(Prefix), len(Prefix) + 20, len(text) / 2, len(text) - 1} {
		for k := range len(base45Alphabet) {
			check("replace all", text[:i]+base45Alphabet[k:k+1]+text[i+1:])
		}
	}
	// Every bit of the COSE bytes.
	raw := decodeText(t, text)
	for i := range raw {
		for bit := range 8 {
			b := bytes.Clone(raw)
			b[i] ^= 1 << bit
			check("bit flip", encodeText(b))
		}
		check("byte dropped", encodeText(append(bytes.Clone(raw[:i]), raw[i+1:]...)))
	}
	check("byte appended", encodeText(append(bytes.Clone(raw), 0)))
	t.Logf("refusals by reason: %v", seen)
}

func TestVerifyTruncated(t *testing.T) {
	tl := mustTrustList(t, testKey(t, "a", "4201"))
	text := mustSign(t, testClaims(), testPriv("a"))
	for i := range len(text) {
		_, err := tl.Verify(text[:i], t0, "")
		wantReason(t, err, ReasonMalformed)
	}
}

// TestVerifyOversizedIsQuick refuses long input before decoding any of it.
func TestVerifyOversizedIsQuick(t *testing.T) {
	tl := mustTrustList(t, testKey(t, "a", "4201"))
	huge := Prefix + strings.Repeat("0", 10<<20)
	start := time.Now()
	allocs := testing.AllocsPerRun(100, func() {
		_, err := tl.Verify(huge, t0, "")
		wantReason(t, err, ReasonMalformed)
	})
	if el := time.Since(start); el > 100*time.Millisecond {
		t.Errorf("100 refusals of 10 MiB took %v", el)
	}
	if allocs > 8 { // the error and its message; no buffer for the input
		t.Errorf("refusing oversized input allocates %.0f times", allocs)
	}
	// The limit itself: MaxPassLen characters are read, one more are not.
	_, err := tl.Verify(Prefix+strings.Repeat("0", MaxPassLen-len(Prefix)+1), t0, "")
	if !strings.Contains(err.Error(), "at most") {
		t.Errorf("MaxPassLen+1: %v; want the length refusal", err)
	}
	_, err = tl.Verify(Prefix+strings.Repeat("0", MaxPassLen-len(Prefix)), t0, "")
	if strings.Contains(err.Error(), "at most") {
		t.Errorf("MaxPassLen: %v; want it read", err)
	}
}

// TestVerifyStrictClaims signs, with a trusted key, claims that Sign would
// refuse, and checks that Verify refuses them too.
func TestVerifyStrictClaims(t *testing.T) {
	priv := testPriv("a")
	key := testKey(t, "a", "4201")
	tl := mustTrustList(t, key)
	good := wireClaims{Region: "4201", Holder: []byte("0123456789"), IssuedAt: uint64(t0.Unix()),
		Expires: uint64(t0.Add(time.Hour).Unix()), Version: 1, Name: "W** L*", Colour: 2}
	enc := func(v any) []byte {
		b, err := claimsEnc.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	with := func(f func(*wireClaims)) []byte {
		w := good
		f(&w)
		return enc(w)
	}
	goodText := signRaw(t, enc(good), priv, key.ID)
	if res, err := tl.Verify(goodText, t0, ""); err != nil || res.Colour != Yellow || res.Holder != "GAYTEMZUGU3DOOBZ" {
		t.Fatalf("well-formed claims: %+v, %v", res, err)
	}
	goodMap := map[int]any{1: "4201", 2: []byte("0123456789"), 4: good.Expires, 6: good.IssuedAt, -1: 1, -2: "W** L*", -3: 2}
	withMap := func(f func(map[int]any)) []byte {
		m := map[int]any{}
		for k, v := range goodMap {
			m[k] = v
		}
		f(m)
		return enc(m)
	}
	dup := enc(good)
	// Replace key -3 (0x22) by 4 (0x04) in the last entry to duplicate exp.
	dup = append(dup[:len(dup)-2:len(dup)-2], 0x04, 0x01)

	for name, payload := range map[string][]byte{
		"version 2":            with(func(w *wireClaims) { w.Version = 2 }),
		"version 0":            with(func(w *wireClaims) { w.Version = 0 }),
		"colour 4":             with(func(w *wireClaims) { w.Colour = 4 }),
		"valid 25 h":           with(func(w *wireClaims) { w.Expires = w.IssuedAt + 25*3600 }),
		"expires before issue": with(func(w *wireClaims) { w.Expires = w.IssuedAt - 1 }),
		"expires at issue":     with(func(w *wireClaims) { w.Expires = w.IssuedAt }),
		"no region":            with(func(w *wireClaims) { w.Region = "" }),
		"long region":          with(func(w *wireClaims) { w.Region = "4201000000000" }),
		"no holder":            with(func(w *wireClaims) { w.Holder = nil }),
		"long holder":          with(func(w *wireClaims) { w.Holder = make([]byte, 11) }),
		"no name":              with(func(w *wireClaims) { w.Name = "" }),
		"long name":            with(func(w *wireClaims) { w.Name = strings.Repeat("*", 33) }),
		"control in name":      with(func(w *wireClaims) { w.Name = "W\n L" }),
		"huge time":            with(func(w *wireClaims) { w.IssuedAt = 1 << 62; w.Expires = 1<<62 + 1 }),
		"unknown claim":        withMap(func(m map[int]any) { m[7] = "extra" }),
		"no colour":            withMap(func(m map[int]any) { delete(m, -3) }),
		"no version":           withMap(func(m map[int]any) { delete(m, -1) }),
		"no expiry":            withMap(func(m map[int]any) { delete(m, 4) }),
		"no issue time":        withMap(func(m map[int]any) { delete(m, 6) }),
		"colour 0":             with(func(w *wireClaims) { w.Colour = 0 }),
		"text holder":          withMap(func(m map[int]any) { m[2] = "0123456789" }),
		"bytes region":         withMap(func(m map[int]any) { m[1] = []byte("4201") }),
		"negative time":        withMap(func(m map[int]any) { m[6] = -5 }),
		"float time":           withMap(func(m map[int]any) { m[6] = 1.5 }),
		"tagged time":          withMap(func(m map[int]any) { m[6] = cbor.Tag{Number: 1, Content: good.IssuedAt} }),
		"duplicate key":        dup,
		"array not map":        enc([]any{"4201", 1}),
		"trailing byte":        append(enc(good), 0x00),
		"indefinite map":       append(append([]byte{0xBF}, enc(good)[1:]...), 0xFF),
		"empty":                {},
	} {
		text := signRaw(t, payload, priv, key.ID)
		res, err := tl.Verify(text, t0, "")
		if err == nil {
			t.Errorf("%s: verified %+v", name, res)
			continue
		}
		if r := ReasonOf(err); r != ReasonMalformed {
			t.Errorf("%s: reason %s (%v); want malformed", name, r, err)
		}
	}
}

func TestVerifyErrorIs(t *testing.T) {
	tl := mustTrustList(t, testKey(t, "a", "4201"))
	text := mustSign(t, testClaims(), testPriv("a"))
	_, err := tl.Verify(text, t0.Add(48*time.Hour), "")
	if !errors.Is(err, ErrExpired) || errors.Is(err, ErrMalformed) || ReasonOf(err) != ReasonExpired {
		t.Errorf("expired pass: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "verify pass: expired") {
		t.Errorf("message %q", err)
	}
	_, err = tl.Verify("OB1:0", t0, "")
	if !errors.Is(err, ErrMalformed) || !errors.Is(err, errBase45) {
		t.Errorf("bad base45: %v", err)
	}
	if ReasonOf(errors.New("other")) != "" {
		t.Error("ReasonOf of a plain error")
	}
}

func TestSignRefusesInvalidClaims(t *testing.T) {
	priv := testPriv("a")
	for name, mutate := range map[string]func(*Claims){
		"version 2":          func(c *Claims) { c.Version = 2 },
		"no region":          func(c *Claims) { c.Region = "" },
		"long region":        func(c *Claims) { c.Region = "1234567890123" },
		"region with space":  func(c *Claims) { c.Region = "42 01" },
		"no holder":          func(c *Claims) { c.Holder = "" },
		"lowercase holder":   func(c *Claims) { c.Holder = "mfrggzdfmztwq2lk" },
		"long holder":        func(c *Claims) { c.Holder = "MFRGGZDFMZTWQ2LKAA" },
		"padded holder":      func(c *Claims) { c.Holder = "MFRGG===" },
		"non-canonical":      func(c *Claims) { c.Holder = "AB" },
		"holder of 1 char":   func(c *Claims) { c.Holder = "A" },
		"no name":            func(c *Claims) { c.MaskedName = "" },
		"long name":          func(c *Claims) { c.MaskedName = strings.Repeat("张", 33) },
		"invalid UTF-8 name": func(c *Claims) { c.MaskedName = "W\xff" },
		"control in name":    func(c *Claims) { c.MaskedName = "W\u200e*" },
		"colour":             func(c *Claims) { c.Colour = "blue" },
		"no colour":          func(c *Claims) { c.Colour = "" },
		"expiry at issue":    func(c *Claims) { c.Expires = c.IssuedAt },
		"expiry before":      func(c *Claims) { c.Expires = c.IssuedAt.Add(-time.Hour) },
		"over 24 h":          func(c *Claims) { c.Expires = c.IssuedAt.Add(24*time.Hour + time.Second) },
		"no times":           func(c *Claims) { c.IssuedAt, c.Expires = time.Time{}, time.Time{} },
		"before 1970":        func(c *Claims) { c.IssuedAt = time.Unix(-100, 0); c.Expires = time.Unix(100, 0) },
	} {
		c := testClaims()
		mutate(&c)
		if _, err := Sign(c, priv); !errors.Is(err, ErrInvalidClaims) {
			t.Errorf("%s: Sign error %v; want ErrInvalidClaims", name, err)
		}
	}
	if _, err := Sign(testClaims(), priv[:10]); !errors.Is(err, ErrInvalidSigningKey) {
		t.Errorf("short key: %v", err)
	}
	// Every problem is reported at once.
	err := Claims{Version: 1, Colour: "blue"}.Validate()
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n < 5 {
		t.Errorf("Validate reported %d problems, want every one: %v", n, err)
	}
	// Holder ids of every length from 1 to 10 bytes round trip.
	tl := mustTrustList(t, testKey(t, "a", "4201"))
	for n := 1; n <= 10; n++ {
		c := testClaims()
		c.Holder = holderEncoding.EncodeToString(bytes.Repeat([]byte{0xA5}, n))
		res, err := tl.Verify(mustSign(t, c, priv), t0, "")
		if err != nil || res.Holder != c.Holder {
			t.Errorf("holder %q: %q, %v", c.Holder, res.Holder, err)
		}
	}
}

func TestKeyValidate(t *testing.T) {
	pub := pubOf(testPriv("a"))
	if _, err := NewKey("4201", pub[:31], t0, t0.Add(time.Hour)); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("short key: %v", err)
	}
	if _, err := NewKey("", pub, t0, t0.Add(time.Hour)); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("no region: %v", err)
	}
	if _, err := NewKey("4201", pub, t0, t0); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("empty window: %v", err)
	}
	k := testKey(t, "a", "4201")
	k.ID = KeyID(pubOf(testPriv("b")))
	if _, err := NewTrustList(k); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("kid of another key: %v", err)
	}
	if got := KeyID(pub); len(got) != KeyIDLen {
		t.Errorf("KeyID length %d", len(got))
	}
	sum := sha256.Sum256(pub)
	if !bytes.Equal(KeyID(pub), sum[:8]) {
		t.Error("KeyID is not the first 8 bytes of SHA-256")
	}
}

func TestVerifyConcurrent(t *testing.T) {
	tl := mustTrustList(t, testKey(t, "a", "4201"))
	good := mustSign(t, testClaims(), testPriv("a"))
	bad := good[:len(good)-3] + "000"
	done := make(chan error)
	for g := range 4 {
		go func() {
			for i := range 20 {
				text := good
				if (g+i)%2 == 1 {
					text = bad
				}
				res, err := tl.Verify(text, t0, "")
				if (text == good) != (err == nil) || (err == nil && res.MaskedName != "张*伟") {
					done <- fmt.Errorf("goroutine %d, %d: %+v, %v", g, i, res, err)
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func TestColour(t *testing.T) {
	for c, hex := range map[Colour]string{Green: "#1a9e3f", Yellow: "#f2c500", Red: "#d62828", "blue": ""} {
		if c.Hex() != hex || c.Valid() != (hex != "") {
			t.Errorf("%s: Hex %q Valid %v", c, c.Hex(), c.Valid())
		}
	}
}
