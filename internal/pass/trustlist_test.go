package pass

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/trustlist-4201.json")

// mustSignTrustList signs a list issued at now and good for the default
// lifetime.
func mustSignTrustList(t testing.TB, region string, keys []Key, root ed25519.PrivateKey, now time.Time) []byte {
	t.Helper()
	doc, err := SignTrustList(region, keys, root, now, now.Add(DefaultTrustListLifetime))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// signDoc wraps any payload bytes in a trust list document signed by root,
// to build documents SignTrustList refuses to make.
func signDoc(t testing.TB, payload []byte, root ed25519.PrivateKey) []byte {
	t.Helper()
	doc, err := json.Marshal(trustListDoc{
		Payload:   b64.EncodeToString(payload),
		RootKID:   b64.EncodeToString(KeyID(pubOf(root))),
		Signature: b64.EncodeToString(ed25519.Sign(root, payload)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestTrustListRoundTrip(t *testing.T) {
	root := testPriv("root 4201")
	keys := []Key{testKey(t, "a", "4201"), testKey(t, "b", "4201")}
	doc := mustSignTrustList(t, "4201", keys, root, t0)
	tl, err := ParseTrustList(doc, pubOf(root))
	if err != nil {
		t.Fatal(err)
	}
	if got := tl.Regions(); len(got) != 1 || got[0] != "4201" {
		t.Errorf("regions %v", got)
	}
	if !tl.IssuedAt("4201").Equal(t0) {
		t.Errorf("issued at %v", tl.IssuedAt("4201"))
	}
	if !tl.ExpiresAt("4201").Equal(t0.Add(DefaultTrustListLifetime)) {
		t.Errorf("expires at %v", tl.ExpiresAt("4201"))
	}
	got := tl.Keys()
	if len(got) != 2 {
		t.Fatalf("%d keys", len(got))
	}
	for i, k := range got {
		want := keys[i]
		if bytes.Compare(keys[0].ID, keys[1].ID) > 0 {
			want = keys[1-i] // same window: ordered by id
		}
		if !bytes.Equal(k.ID, want.ID) || !bytes.Equal(k.Public, want.Public) || k.Region != "4201" ||
			!k.ValidFrom.Equal(want.ValidFrom) || !k.ValidUntil.Equal(want.ValidUntil) {
			t.Errorf("key %d = %+v; want %+v", i, k, want)
		}
	}
	for _, label := range []string{"a", "b"} {
		text := mustSign(t, testClaims(), testPriv(label))
		if _, err := tl.Verify(text, t0, "4201"); err != nil {
			t.Errorf("pass of key %s: %v", label, err)
		}
	}
	// Keys returns copies.
	got[0].Public[0] ^= 0xff
	if _, err := tl.Verify(mustSign(t, testClaims(), testPriv("a")), t0, ""); err != nil {
		t.Errorf("changing a returned key changed the list: %v", err)
	}
}

func TestTrustListGolden(t *testing.T) {
	root := testPriv("root 4201")
	doc := mustSignTrustList(t, "4201", []Key{testKey(t, "a", "4201"), testKey(t, "b", "4201")}, root, t0)
	path := filepath.Join("testdata", "trustlist-4201.json")
	if *update {
		if err := os.WriteFile(path, doc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(doc, want) {
		t.Errorf("document changed; if on purpose, run go test -run TestTrustListGolden -update\n got %s\nwant %s", doc, want)
	}
	if _, err := ParseTrustList(want, pubOf(root)); err != nil {
		t.Errorf("golden document: %v", err)
	}
}

// TestTrustListWebCrypto checks the document with WebCrypto, as a browser
// would, using Node's implementation of the same API.
func TestTrustListWebCrypto(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("OUTBREAK_REQUIRE_BROWSER") == "1" {
			t.Fatal("node not found; it checks trust lists with WebCrypto")
		}
		t.Skip("node not found: WebCrypto check of the trust list skipped")
	}
	root := testPriv("root 4201")
	keys := []Key{testKey(t, "a", "4201"), testKey(t, "b", "4201")}
	path := filepath.Join(t.TempDir(), "list.json")
	if err := os.WriteFile(path, mustSignTrustList(t, "4201", keys, root, t0), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(rootPub ed25519.PublicKey) (string, error) {
		cmd := exec.Command(node, "--no-warnings", filepath.Join("testdata", "verify_trustlist.mjs"), path, b64.EncodeToString(rootPub))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return stderr.String(), err
		}
		return string(out), nil
	}
	out, err := run(pubOf(root))
	if err != nil {
		if strings.Contains(out, "Unrecognized algorithm name") || strings.Contains(out, "NotSupportedError") {
			t.Skipf("this node has no WebCrypto Ed25519: %s", out)
		}
		t.Fatalf("WebCrypto refused the document: %v\n%s", err, out)
	}
	var got struct {
		Region    string   `json:"region"`
		IssuedAt  string   `json:"issued_at"`
		ExpiresAt string   `json:"expires_at"`
		KIDs      []string `json:"kids"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Region != "4201" || got.IssuedAt != t0.Format(time.RFC3339) || got.ExpiresAt != t0.Add(DefaultTrustListLifetime).Format(time.RFC3339) ||
		len(got.KIDs) != 2 {
		t.Errorf("WebCrypto read %+v", got)
	}
	// A document signed by another root does not pass there either.
	bad := signDoc(t, []byte(`{"type":"outbreak-pass-trust-list","version":1,"region":"4201","issued_at":"2026-05-01T08:00:00Z","keys":[]}`), testPriv("mallory"))
	var d trustListDoc
	_ = json.Unmarshal(bad, &d)
	d.RootKID = b64.EncodeToString(KeyID(pubOf(root)))
	bad, _ = json.Marshal(d)
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run(pubOf(root)); err == nil {
		t.Errorf("WebCrypto accepted a forged document: %s", out)
	}
}

func TestParseTrustListRefuses(t *testing.T) {
	root := testPriv("root 4201")
	rootPub := pubOf(root)
	keyA := testKey(t, "a", "4201")
	doc := mustSignTrustList(t, "4201", []Key{keyA}, root, t0)
	var d trustListDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	payload, _ := b64.DecodeString(d.Payload)
	replace := func(old, new string) []byte {
		if !bytes.Contains(payload, []byte(old)) {
			t.Fatalf("payload has no %q", old)
		}
		return signDoc(t, bytes.Replace(payload, []byte(old), []byte(new), 1), root)
	}
	redoc := func(f func(*trustListDoc)) []byte {
		d2 := d
		f(&d2)
		b, _ := json.Marshal(d2)
		return b
	}
	otherKID := b64.EncodeToString(KeyID(pubOf(testPriv("b"))))
	keyJSON := func(kid string) string {
		return `{"kid":"` + kid + `","public_key":"` + b64.EncodeToString(keyA.Public) + `","valid_from":"2026-04-24T08:00:00Z","valid_until":"2026-05-31T08:00:00Z"}`
	}

	for _, tc := range []struct {
		name string
		doc  []byte
		want error
	}{
		{"other root key", mustSignTrustList(t, "4201", []Key{keyA}, testPriv("root 3301"), t0), ErrTrustListSignature},
		{"forged with root_kid", redoc(func(d *trustListDoc) {
			d.Signature = b64.EncodeToString(ed25519.Sign(testPriv("mallory"), payload))
		}), ErrTrustListSignature},
		{"payload changed", redoc(func(d *trustListDoc) {
			d.Payload = b64.EncodeToString(bytes.Replace(payload, []byte("2026-05-31"), []byte("2027-05-31"), 1))
		}), ErrTrustListSignature},
		{"signature truncated", redoc(func(d *trustListDoc) { d.Signature = d.Signature[:80] }), ErrInvalidTrustList},
		{"padded base64", redoc(func(d *trustListDoc) { d.Signature += "==" }), ErrInvalidTrustList},
		{"standard base64", redoc(func(d *trustListDoc) { d.Payload = strings.NewReplacer("-", "+", "_", "/").Replace(d.Payload) + "+" }), ErrInvalidTrustList},
		{"no payload", redoc(func(d *trustListDoc) { d.Payload = "" }), ErrInvalidTrustList},
		{"unknown outer field", []byte(strings.Replace(string(doc), `{`, `{"region":"4201",`, 1)), ErrInvalidTrustList},
		{"trailing data", append(bytes.Clone(doc), []byte(` {}`)...), ErrInvalidTrustList},
		{"not JSON", []byte("OB1:"), ErrInvalidTrustList},
		{"empty", nil, ErrInvalidTrustList},
		{"null", []byte("null"), ErrInvalidTrustList},
		{"oversized", append(bytes.Clone(doc), bytes.Repeat([]byte(" "), MaxTrustListLen)...), ErrInvalidTrustList},
		{"wrong type", replace(`"outbreak-pass-trust-list"`, `"something-else"`), ErrInvalidTrustList},
		{"unknown version", replace(`"version":2`, `"version":3`), ErrInvalidTrustList},
		{"version 0", replace(`"version":2`, `"version":0`), ErrInvalidTrustList},
		{"unknown payload field", replace(`"version":2`, `"version":2,"extra":true`), ErrInvalidTrustList},
		{"version 2 without expires_at", replace(`"expires_at":"2026-05-08T08:00:00Z",`, ``), ErrInvalidTrustList},
		{"version 1 with expires_at", replace(`"version":2`, `"version":1`), ErrInvalidTrustList},
		{"expires at its issue", replace(`"expires_at":"2026-05-08T08:00:00Z"`, `"expires_at":"2026-05-01T08:00:00Z"`), ErrInvalidTrustList},
		{"expires before its issue", replace(`"expires_at":"2026-05-08T08:00:00Z"`, `"expires_at":"2026-04-30T08:00:00Z"`), ErrInvalidTrustList},
		{"bad expires_at", replace(`"expires_at":"2026-05-08T08:00:00Z"`, `"expires_at":"next week"`), ErrInvalidTrustList},
		{"empty expires_at", replace(`"expires_at":"2026-05-08T08:00:00Z"`, `"expires_at":""`), ErrInvalidTrustList},
		{"kid of another key", replace(b64.EncodeToString(keyA.ID), otherKID), ErrInvalidKey},
		{"duplicate key", replace(keyJSON(b64.EncodeToString(keyA.ID)), keyJSON(b64.EncodeToString(keyA.ID))+","+keyJSON(b64.EncodeToString(keyA.ID))), ErrInvalidTrustList},
		{"short public key", replace(b64.EncodeToString(keyA.Public), b64.EncodeToString(keyA.Public[:31])), ErrInvalidKey},
		{"empty window", replace(`"valid_until":"2026-05-31T08:00:00Z"`, `"valid_until":"2026-04-24T08:00:00Z"`), ErrInvalidKey},
		{"bad time", replace(`"valid_from":"2026-04-24T08:00:00Z"`, `"valid_from":"yesterday"`), ErrInvalidTrustList},
		{"bad issued_at", replace(`"issued_at":"2026-05-01T08:00:00Z"`, `"issued_at":""`), ErrInvalidTrustList},
		{"bad region", replace(`"region":"4201"`, `"region":""`), ErrInvalidTrustList},
		{"payload not JSON", signDoc(t, []byte("\xff"), root), ErrInvalidTrustList},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl, err := ParseTrustList(tc.doc, rootPub)
			if err == nil {
				t.Fatalf("parsed: %v", tl.Keys())
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v; want %v", err, tc.want)
			}
		})
	}
	if _, err := ParseTrustList(doc, rootPub[:5]); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("short root key: %v", err)
	}
}

func TestSignTrustListRefuses(t *testing.T) {
	root := testPriv("root 4201")
	week := t0.Add(DefaultTrustListLifetime)
	if _, err := SignTrustList("4201", []Key{testKey(t, "c", "3301")}, root, t0, week); !errors.Is(err, ErrInvalidTrustList) {
		t.Errorf("key of another region: %v", err)
	}
	if _, err := SignTrustList("4201", []Key{testKey(t, "a", "4201"), testKey(t, "a", "4201")}, root, t0, week); !errors.Is(err, ErrInvalidTrustList) {
		t.Errorf("key twice: %v", err)
	}
	if _, err := SignTrustList("", nil, root, t0, week); !errors.Is(err, ErrInvalidTrustList) {
		t.Errorf("no region: %v", err)
	}
	if _, err := SignTrustList("4201", nil, root[:3], t0, week); !errors.Is(err, ErrInvalidSigningKey) {
		t.Errorf("short root key: %v", err)
	}
	for _, exp := range []time.Time{{}, t0, t0.Add(-time.Hour), t0.Add(time.Millisecond)} {
		if _, err := SignTrustList("4201", nil, root, t0, exp); !errors.Is(err, ErrInvalidTrustList) {
			t.Errorf("expiring at %v: %v", exp, err)
		}
	}
	many := make([]Key, MaxTrustListKeys+1)
	for i := range many {
		many[i] = testKey(t, string(rune('a'+i%26))+strings.Repeat("x", i/26), "4201")
	}
	if _, err := SignTrustList("4201", many, root, t0, week); !errors.Is(err, ErrInvalidTrustList) {
		t.Errorf("too many keys: %v", err)
	}
	// An empty list is a region withdrawing every key.
	doc := mustSignTrustList(t, "4201", nil, root, t0)
	tl, err := ParseTrustList(doc, pubOf(root))
	if err != nil || len(tl.Keys()) != 0 || len(tl.Regions()) != 1 {
		t.Errorf("empty list: %v, %v", tl, err)
	}
}

// TestMergeCrossRegion is a checkpoint in 4201 that also accepts passes of
// 3301, from each region's signed list.
func TestMergeCrossRegion(t *testing.T) {
	rootA, rootB := testPriv("root 4201"), testPriv("root 3301")
	keyA, keyB := testKey(t, "a", "4201"), testKey(t, "c", "3301")
	tlA, err := ParseTrustList(mustSignTrustList(t, "4201", []Key{keyA}, rootA, t0), pubOf(rootA))
	if err != nil {
		t.Fatal(err)
	}
	tlB, err := ParseTrustList(mustSignTrustList(t, "3301", []Key{keyB}, rootB, t0), pubOf(rootB))
	if err != nil {
		t.Fatal(err)
	}
	// Each root vouches only for its own document.
	if _, err := ParseTrustList(mustSignTrustList(t, "3301", []Key{keyB}, rootB, t0), pubOf(rootA)); !errors.Is(err, ErrTrustListSignature) {
		t.Errorf("3301's list under 4201's root: %v", err)
	}
	tl, err := Merge(tlA, tlB, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := tl.Regions(); strings.Join(got, ",") != "3301,4201" {
		t.Errorf("regions %v", got)
	}
	passA := mustSign(t, testClaims(), testPriv("a"))
	cB := testClaims()
	cB.Region = "3301"
	passB := mustSign(t, cB, testPriv("c"))
	for _, tc := range []struct {
		text, region string
		want         Reason
	}{
		{passA, "", ""}, {passB, "", ""}, {passA, "4201", ""}, {passB, "3301", ""},
		{passA, "3301", ReasonWrongRegion}, {passB, "4201", ReasonWrongRegion},
	} {
		_, err := tl.Verify(tc.text, t0, tc.region)
		if tc.want == "" && err != nil {
			t.Errorf("region %q: %v", tc.region, err)
		} else if tc.want != "" {
			wantReason(t, err, tc.want)
		}
	}
	// The inputs are unchanged.
	if _, err := tlA.Verify(passB, t0, ""); ReasonOf(err) != ReasonUnknownKey {
		t.Errorf("merging changed an input: %v", err)
	}

	// 4201 rotates: a newer list without key a replaces the older one,
	// in whichever order they are merged.
	keyA2 := testKey(t, "a2", "4201")
	tlA2, err := ParseTrustList(mustSignTrustList(t, "4201", []Key{keyA2}, rootA, t0.Add(time.Hour)), pubOf(rootA))
	if err != nil {
		t.Fatal(err)
	}
	for _, order := range [][]*TrustList{{tl, tlA2}, {tlA2, tl}} {
		m, err := Merge(order...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Verify(passA, t0, ""); ReasonOf(err) != ReasonUnknownKey {
			t.Errorf("withdrawn key still trusted: %v", err)
		}
		if _, err := m.Verify(mustSign(t, testClaims(), testPriv("a2")), t0, ""); err != nil {
			t.Errorf("new key: %v", err)
		}
		if _, err := m.Verify(passB, t0, ""); err != nil {
			t.Errorf("other region lost: %v", err)
		}
	}

	// One key cannot speak for two regions.
	rogue, err := ParseTrustList(mustSignTrustList(t, "3302", []Key{testKey(t, "a", "3302")}, rootB, t0), pubOf(rootB))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Merge(tlA, rogue); !errors.Is(err, ErrTrustListConflict) {
		t.Errorf("same key for two regions: %v", err)
	}
}

// TestTrustListExpiry: a list past its expiry vouches for nothing — every
// text is refused with ReasonTrustListExpired, even one that is not a pass
// — and a version 1 list, which states no expiry, expires
// LegacyTrustListLifetime after its issue.
func TestTrustListExpiry(t *testing.T) {
	root := testPriv("root 4201")
	keyA := testKey(t, "a", "4201")
	passA := mustSign(t, testClaims(), testPriv("a"))
	doc, err := SignTrustList("4201", []Key{keyA}, root, t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tl, err := ParseTrustList(doc, pubOf(root))
	if err != nil {
		t.Fatal(err)
	}
	if !tl.ExpiresAt("4201").Equal(t0.Add(time.Hour)) || !tl.IssuedAt("4201").Equal(t0.Add(-time.Hour)) {
		t.Errorf("issued %v, expires %v", tl.IssuedAt("4201"), tl.ExpiresAt("4201"))
	}
	if _, err := tl.Verify(passA, t0.Add(time.Hour-time.Second), "4201"); err != nil {
		t.Errorf("a second before the list expires: %v", err)
	}
	for _, text := range []string{passA, "OB1:", "", passA[:40]} {
		for _, region := range []string{"4201", "", "3301"} {
			_, err := tl.Verify(text, t0.Add(time.Hour), region)
			wantReason(t, err, ReasonTrustListExpired)
			if !errors.Is(err, ErrTrustListExpired) {
				t.Errorf("%v is not ErrTrustListExpired", err)
			}
		}
	}

	// Version 1: no expires_at in the payload; read as expiring a week
	// after its issue.
	v1, err := SignTrustListV1("4201", []Key{keyA}, root, t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var d trustListDoc
	if err := json.Unmarshal(v1, &d); err != nil {
		t.Fatal(err)
	}
	payload, _ := b64.DecodeString(d.Payload)
	if !bytes.Contains(payload, []byte(`"version":1,`)) || bytes.Contains(payload, []byte("expires_at")) {
		t.Fatalf("version 1 payload: %s", payload)
	}
	old, err := ParseTrustList(v1, pubOf(root))
	if err != nil {
		t.Fatal(err)
	}
	legacyEnd := t0.Add(-time.Hour).Add(LegacyTrustListLifetime)
	if !old.ExpiresAt("4201").Equal(legacyEnd) {
		t.Errorf("version 1 list expires %v; want %v", old.ExpiresAt("4201"), legacyEnd)
	}
	if _, err := old.Verify(passA, t0, "4201"); err != nil {
		t.Errorf("fresh version 1 list: %v", err)
	}
	_, err = old.Verify(passA, legacyEnd, "4201")
	wantReason(t, err, ReasonTrustListExpired)

	// Merged with a fresh list of another region, the expired region's
	// keys are refused and the other's still trusted; a text that is no
	// pass is malformed, as no key has been looked at.
	rootB := testPriv("root 3301")
	cB := testClaims()
	cB.Region = "3301"
	passB := mustSign(t, cB, testPriv("c"))
	tlB, err := ParseTrustList(mustSignTrustList(t, "3301", []Key{testKey(t, "c", "3301")}, rootB, t0), pubOf(rootB))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Merge(tl, tlB)
	if err != nil {
		t.Fatal(err)
	}
	at := t0.Add(2 * time.Hour)
	_, err = m.Verify(passA, at, "")
	wantReason(t, err, ReasonTrustListExpired)
	if _, err := m.Verify(passB, at, "3301"); err != nil {
		t.Errorf("pass of the fresh region: %v", err)
	}
	_, err = m.Verify("OB1:", at, "")
	wantReason(t, err, ReasonMalformed)
	// Once the last list has expired, nothing is read.
	_, err = m.Verify("OB1:", t0.Add(DefaultTrustListLifetime), "")
	wantReason(t, err, ReasonTrustListExpired)

	// Keys known first-hand never expire.
	first := mustTrustList(t, keyA)
	if !first.ExpiresAt("4201").IsZero() {
		t.Errorf("first-hand keys expire at %v", first.ExpiresAt("4201"))
	}
	_, err = first.Verify("OB1:", t0.Add(100*365*24*time.Hour), "")
	wantReason(t, err, ReasonMalformed)
	// Merged with them, an expired list does not stop them.
	m, err = Merge(tlB, first)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(passA, t0.Add(time.Hour), "4201"); err != nil {
		t.Errorf("first-hand key beside a list: %v", err)
	}
}
