package venue

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/veraison/go-cose"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/pass"
	"github.com/outbreak-platform/outbreak/internal/vault"
)

var (
	testNow = time.Date(2026, 5, 1, 2, 0, 0, 0, time.UTC)
	market  = Place{ID: 42, Kind: Venue, Type: Shop, Name: "解放路菜市场 & Co", Address: "武昌区解放路 88 号",
		JurisdictionNameZH: "中南路社区", JurisdictionNameEN: "Zhongnan Road"}
	g1234 = Place{ID: 7, Kind: Vehicle, Type: Train, Name: "G1234 武汉—北京西", ServiceNumber: "G1234",
		ServiceDate: civil.Date{Year: 2026, Month: 5, Day: 1}, JurisdictionNameZH: "武汉市", JurisdictionNameEN: "Wuhan"}
)

func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func kidOf(priv ed25519.PrivateKey) []byte { return pass.KeyID(priv.Public().(ed25519.PublicKey)) }

// memCodes is a Codes for region with keys in memory only: it signs with
// the first and trusts all of them, for the given regions.
func memCodes(region string, sign ed25519.PrivateKey, trusted map[string]ed25519.PrivateKey) *Codes {
	set := &keySet{signKID: kidOf(sign), signWith: sign, verify: map[[pass.KeyIDLen]byte]verifyKey{}}
	for r, k := range trusted {
		set.verify[[pass.KeyIDLen]byte(kidOf(k))] = verifyKey{region: r, pub: k.Public().(ed25519.PublicKey)}
	}
	c := &Codes{Region: region, Now: func() time.Time { return testNow }}
	c.keys.Store(set)
	return c
}

// rawCode signs payload as a COSE_Sign1 with priv under kid, with extra
// header entries, and returns its text.
func rawCode(t testing.TB, priv ed25519.PrivateKey, kid, payload []byte, protected, unprotected map[any]any) string {
	t.Helper()
	signer, err := cose.NewSigner(cose.AlgorithmEdDSA, priv)
	if err != nil {
		t.Fatal(err)
	}
	msg := cose.NewSign1Message()
	msg.Headers.Protected.SetAlgorithm(cose.AlgorithmEdDSA)
	msg.Headers.Protected[cose.HeaderLabelKeyID] = kid
	for k, v := range protected {
		msg.Headers.Protected[k] = v
	}
	for k, v := range unprotected {
		msg.Headers.Unprotected[k] = v
	}
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

func claimsOf(t testing.TB, c PlaceClaims) []byte {
	t.Helper()
	b, err := marshalClaims(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func venueClaims(region string) PlaceClaims {
	return PlaceClaims{Version: 1, Region: region, PlaceID: 42, Kind: Venue, Type: Shop, IssuedAt: testNow.Add(-time.Hour)}
}

func TestSignVerify(t *testing.T) {
	t.Parallel()
	k := newKey(t)
	c := memCodes("4201", k, map[string]ed25519.PrivateKey{"4201": k})

	text, err := c.SignPlaceCode(market)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text, Prefix) || len(text) > 200 {
		t.Errorf("code %q: %d characters", text, len(text))
	}
	got, err := c.VerifyPlaceCode(text, testNow.Add(365*24*time.Hour))
	want := PlaceClaims{Version: 1, Region: "4201", PlaceID: 42, Kind: Venue, Type: Shop, IssuedAt: testNow, KeyID: kidText(kidOf(k))}
	if err != nil || got != want {
		t.Fatalf("verify = %+v, %v\nwant %+v", got, err, want)
	}

	// A dated trip's code, per carriage, expires two days after the trip.
	text, err = c.SignCarriageCode(g1234, 5)
	if err != nil {
		t.Fatal(err)
	}
	got, err = c.VerifyPlaceCode(text, testNow)
	if err != nil || got.Carriage != 5 || got.Kind != Vehicle || got.Type != Train || got.PlaceID != 7 ||
		!got.Expires.Equal(time.Date(2026, 5, 3, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("carriage code = %+v, %v", got, err)
	}
	if _, err := c.VerifyPlaceCode(text, got.Expires.Add(-time.Second)); err != nil {
		t.Errorf("a second before expiry: %v", err)
	}
	if _, err := c.VerifyPlaceCode(text, got.Expires); ReasonOf(err) != ReasonExpired || !errors.Is(err, pass.ErrExpired) {
		t.Errorf("at expiry: %v", err)
	}
	line := Place{ID: 8, Kind: Vehicle, Type: Bus, ServiceNumber: "526"}
	if text, err := c.SignPlaceCode(line); err != nil {
		t.Error(err)
	} else if got, err := c.VerifyPlaceCode(text, testNow.Add(1000*24*time.Hour)); err != nil || !got.Expires.IsZero() {
		t.Errorf("an undated line's code = %+v, %v", got, err)
	}

	for _, tc := range []struct {
		p        Place
		carriage int
	}{{g1234, 0}, {g1234, MaxCarriage + 1}, {market, 1}, {line, 1}} {
		if _, err := c.SignCarriageCode(tc.p, tc.carriage); err == nil {
			t.Errorf("carriage %d of a %s signed", tc.carriage, tc.p.Type)
		}
	}
	if _, err := c.SignPlaceCode(Place{ID: 1, Kind: Venue, Type: Bus}); err == nil {
		t.Error("a place of a kind not its type's signed")
	}
	if _, err := c.SignPlaceCode(Place{Kind: Venue, Type: Shop}); err == nil {
		t.Error("a place without an id signed")
	}
	disabled := market
	disabled.Disabled = true
	if _, err := c.SignPlaceCode(disabled); !errors.Is(err, ErrDisabled) {
		t.Errorf("a disabled place: %v", err)
	}
	var none Codes
	if _, err := none.SignPlaceCode(market); !errors.Is(err, ErrNoKey) {
		t.Errorf("sign without keys: %v", err)
	}
	if _, err := none.VerifyPlaceCode(text, testNow); ReasonOf(err) != ReasonUnknownKey {
		t.Errorf("verify without keys: %v", err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	ours, theirs, stranger := newKey(t), newKey(t), newKey(t)
	c := memCodes("4201", ours, map[string]ed25519.PrivateKey{"4201": ours})
	c.keys.Load().verify[[pass.KeyIDLen]byte(kidOf(theirs))] = verifyKey{region: "4202", pub: theirs.Public().(ed25519.PublicKey)}
	good, err := c.SignPlaceCode(market)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := decodeText(good[len(Prefix):])

	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(raw); err != nil {
		t.Fatal(err)
	}
	reencode := func(mod func(m *cose.Sign1Message)) string {
		var m cose.Sign1Message
		if err := m.UnmarshalCBOR(raw); err != nil {
			t.Fatal(err)
		}
		mod(&m)
		b, err := m.MarshalCBOR()
		if err != nil {
			t.Fatal(err)
		}
		return encodeText(b)
	}
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 0x01
		return encodeText(b)
	}
	cborOf := func(v any) []byte {
		b, err := claimsEnc.Marshal(v) // canonical: each case fails for its own reason
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	venue := venueClaims("4201")
	nonCanonical := append([]byte{0xB8, 0x06}, claimsOf(t, venue)[1:]...) // map length in two bytes
	badClaims := func() []byte {
		b, _ := claimsEnc.Marshal(wireClaims{Region: "4201", IssuedAt: uint64(testNow.Unix()), Version: 1, PlaceID: 1, Kind: 1, Type: 1, Carriage: 3})
		return b
	}()

	for _, tc := range []struct {
		name string
		text string
		want Reason
	}{
		{"empty", "", ReasonMalformed},
		{"prefix only", Prefix, ReasonMalformed},
		{"a health pass", "OB1:6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEXWK G2EP4J0BGJLFX3R3VHXK.PJ:2DPF6R:5SVBHABVCNN95SWMPHQUHQN%A0SOE+QQAB-HQ/HQ7IR.SQEEOK9SAI4- 7Y15KBPD34  QWSP0WRGTQFNPLIR.KQNA7N95U/3FJCTG90OARH9P1J4HGZJKBEG%123ZC$0BCI757TLXKIBTV5TN%2LXK-$CH4TSXKZ4S/$K%0KPQ1HEP9.PZE9Q$95:UENEUW6646936HRTO$9KZ56DE/.QC$Q3J62:6LZ6O59++9-G9+E93ZM$96TV6NRNJ1", ReasonMalformed},
		{"lower-case prefix", "obp1:" + good[len(Prefix):], ReasonMalformed},
		{"not base64url", Prefix + "!!!!", ReasonMalformed},
		{"padded", good + "==", ReasonMalformed},
		{"with a line break", good[:40] + "\n" + good[40:], ReasonMalformed},
		{"truncated", good[:len(good)-3], ReasonMalformed},
		{"too long", Prefix + strings.Repeat("A", MaxCodeLen), ReasonMalformed},
		{"not COSE", encodeText([]byte{0xA0}), ReasonMalformed},
		{"untagged COSE", encodeText(raw[1:]), ReasonMalformed},
		{"unprotected header", reencode(func(m *cose.Sign1Message) {
			m.Headers.RawUnprotected = nil
			m.Headers.Unprotected[int64(99)] = "x"
		}), ReasonMalformed},
		{"extra protected header", rawCode(t, ours, kidOf(ours), claimsOf(t, venue), map[any]any{int64(3): "text/plain"}, nil), ReasonMalformed},
		{"kid in the unprotected header", func() string {
			return reencode(func(m *cose.Sign1Message) {
				m.Headers.RawProtected, m.Headers.RawUnprotected = nil, nil
				delete(m.Headers.Protected, cose.HeaderLabelKeyID)
				m.Headers.Unprotected[cose.HeaderLabelKeyID] = kidOf(ours)
			})
		}(), ReasonMalformed},
		{"short kid", rawCode(t, ours, kidOf(ours)[:4], claimsOf(t, venue), nil, nil), ReasonMalformed},
		{"unknown claim", rawCode(t, ours, kidOf(ours), cborOf(map[int]any{1: "4201", 6: testNow.Unix(), -1: 1, -2: 42, -3: 1, -4: 1, -9: 1}), nil, nil), ReasonMalformed},
		{"claims not canonical", rawCode(t, ours, kidOf(ours), nonCanonical, nil, nil), ReasonMalformed},
		{"claims not a map", rawCode(t, ours, kidOf(ours), cborOf([]int{1, 2}), nil, nil), ReasonMalformed},
		{"kind not the type's", rawCode(t, ours, kidOf(ours), cborOf(map[int]any{1: "4201", 6: testNow.Unix(), -1: 1, -2: 42, -3: 2, -4: 1}), nil, nil), ReasonMalformed},
		{"carriage on a shop", rawCode(t, ours, kidOf(ours), badClaims, nil, nil), ReasonMalformed},
		{"version 2", rawCode(t, ours, kidOf(ours), cborOf(map[int]any{1: "4201", 6: testNow.Unix(), -1: 2, -2: 42, -3: 1, -4: 1}), nil, nil), ReasonMalformed},
		{"place id 0", rawCode(t, ours, kidOf(ours), cborOf(map[int]any{1: "4201", 6: testNow.Unix(), -1: 1, -2: 0, -3: 1, -4: 1}), nil, nil), ReasonMalformed},

		{"signature altered", flip(len(raw) - 1), ReasonBadSignature},
		{"place id altered", reencode(func(m *cose.Sign1Message) {
			p := venue
			p.PlaceID = 43
			m.Payload = claimsOf(t, p)
		}), ReasonBadSignature},
		{"forged under our kid", rawCode(t, stranger, kidOf(ours), claimsOf(t, venue), nil, nil), ReasonBadSignature},

		{"unknown key", rawCode(t, stranger, kidOf(stranger), claimsOf(t, venue), nil, nil), ReasonUnknownKey},

		{"another region's code", rawCode(t, theirs, kidOf(theirs), claimsOf(t, venueClaims("4202")), nil, nil), ReasonWrongRegion},
		{"our region claimed by their key", rawCode(t, theirs, kidOf(theirs), claimsOf(t, venue), nil, nil), ReasonWrongRegion},
		{"their region claimed by our key", rawCode(t, ours, kidOf(ours), claimsOf(t, venueClaims("4202")), nil, nil), ReasonWrongRegion},

		{"issued in the future", func() string {
			v := venue
			v.IssuedAt = testNow.Add(CodeClockSkew + time.Minute)
			return rawCode(t, ours, kidOf(ours), claimsOf(t, v), nil, nil)
		}(), ReasonNotYetValid},
		{"expired", func() string {
			v := venue
			v.Kind, v.Type, v.Expires = Vehicle, Flight, testNow.Add(-time.Minute)
			return rawCode(t, ours, kidOf(ours), claimsOf(t, v), nil, nil)
		}(), ReasonExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.VerifyPlaceCode(tc.text, testNow)
			if ReasonOf(err) != tc.want {
				t.Fatalf("verify = %+v, %v; want %s", got, err, tc.want)
			}
			sentinels := map[Reason]error{ReasonMalformed: pass.ErrMalformed, ReasonUnknownKey: pass.ErrUnknownKey,
				ReasonBadSignature: pass.ErrBadSignature, ReasonWrongRegion: pass.ErrWrongRegion,
				ReasonNotYetValid: pass.ErrNotYetValid, ReasonExpired: pass.ErrExpired}
			if !errors.Is(err, sentinels[tc.want]) || got != (PlaceClaims{}) {
				t.Errorf("error %v does not match its sentinel, or claims %+v came back", err, got)
			}
			if !strings.HasPrefix(err.Error(), "verify place code: "+string(tc.want)) {
				t.Errorf("error %q does not say it refused a place code for %s", err, tc.want)
			}
		})
	}

	// Clock skew: a code issued a little ahead of a slow phone is accepted.
	v := venue
	v.IssuedAt = testNow.Add(CodeClockSkew - time.Second)
	if _, err := c.VerifyPlaceCode(rawCode(t, ours, kidOf(ours), claimsOf(t, v), nil, nil), testNow); err != nil {
		t.Errorf("within the clock skew: %v", err)
	}
	// The good code itself verifies, and every single-bit change of it is
	// refused.
	if _, err := c.VerifyPlaceCode(good, testNow); err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		if _, err := c.VerifyPlaceCode(flip(i), testNow); err == nil {
			t.Fatalf("bit flipped in byte %d verifies", i)
		}
	}
}

func TestCodesStore(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		t.Parallel()
		ctx := context.Background()
		v, _ := vault.New(bytes.Repeat([]byte{7}, 32))
		clock := func() time.Time { return testNow }
		c := &Codes{DB: d, Vault: v, Region: "4201", Now: clock}
		if err := c.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		old, err := c.SignPlaceCode(market)
		if err != nil {
			t.Fatal(err)
		}
		oldClaims, err := c.VerifyPlaceCode(old, testNow)
		if err != nil {
			t.Fatal(err)
		}

		// A restart loads the same key, sealed at rest.
		again := &Codes{DB: d, Vault: v, Region: "4201", Now: clock}
		if err := again.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		if text, _ := again.SignPlaceCode(market); text != old {
			t.Error("a restart signs with another key")
		}
		var sealed []byte
		if err := db.Get(ctx, d.R, &sealed, "SELECT private_sealed FROM place_keys WHERE kid = ?", oldClaims.KeyID); err != nil || len(sealed) < 40 {
			t.Fatalf("sealed key: %d bytes, %v", len(sealed), err)
		}
		wrongVault, _ := vault.New(bytes.Repeat([]byte{8}, 32))
		if err := (&Codes{DB: d, Vault: wrongVault, Region: "4201", Now: clock}).Ensure(ctx); !errors.Is(err, vault.ErrOpen) {
			t.Errorf("Ensure with another master key: %v", err)
		}
		if err := (&Codes{DB: d, Vault: v, Region: "42 01"}).Ensure(ctx); err == nil {
			t.Error("a region code with a space is accepted")
		}

		// Rotation: new codes under a new key, old posters still valid.
		oldKID, newKID, err := c.Rotate(ctx)
		if err != nil || oldKID != oldClaims.KeyID || newKID == oldKID {
			t.Fatalf("rotate: %s → %s, %v", oldKID, newKID, err)
		}
		fresh, _ := c.SignPlaceCode(market)
		if got, err := c.VerifyPlaceCode(fresh, testNow); err != nil || got.KeyID != newKID {
			t.Fatalf("new code: %+v, %v", got, err)
		}
		if _, err := c.VerifyPlaceCode(old, testNow); err != nil {
			t.Errorf("a poster signed before the rotation: %v", err)
		}

		// A neighbouring region on the same store: each knows the other's
		// keys, and refuses the other's codes as of the wrong region.
		hankou := &Codes{DB: d, Vault: v, Region: "4202", Now: clock}
		if err := hankou.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		theirs, _ := hankou.SignPlaceCode(market)
		if err := c.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := c.VerifyPlaceCode(theirs, testNow); ReasonOf(err) != ReasonWrongRegion {
			t.Errorf("4202's code in 4201: %v", err)
		}
		if _, err := hankou.VerifyPlaceCode(fresh, testNow); ReasonOf(err) != ReasonWrongRegion {
			t.Errorf("4201's code in 4202: %v", err)
		}

		// Revocation: the old key's posters are refused; revoking the key in
		// force puts a new one in force.
		if err := c.Revoke(ctx, oldKID); err != nil {
			t.Fatal(err)
		}
		if _, err := c.VerifyPlaceCode(old, testNow); ReasonOf(err) != ReasonUnknownKey {
			t.Errorf("a revoked key's poster: %v", err)
		}
		if err := c.Revoke(ctx, oldKID); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("revoke twice: %v", err)
		}
		if err := c.Revoke(ctx, newKID); err != nil {
			t.Fatal(err)
		}
		if _, err := c.VerifyPlaceCode(fresh, testNow); ReasonOf(err) != ReasonUnknownKey {
			t.Errorf("the revoked key in force: %v", err)
		}
		newest, err := c.SignPlaceCode(market)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := c.VerifyPlaceCode(newest, testNow); err != nil || got.KeyID == newKID || got.KeyID == oldKID {
			t.Errorf("after revoking the key in force: %+v, %v", got, err)
		}
		if _, err := hankou.VerifyPlaceCode(theirs, testNow); err != nil {
			t.Errorf("4202's own code after 4201's revocations: %v", err)
		}
		if _, err := base64.RawURLEncoding.DecodeString(oldKID); err != nil {
			t.Errorf("kid %q is not base64url", oldKID)
		}
	})
}

func TestVerifiedCache(t *testing.T) {
	t.Parallel()
	var vc verifiedCache
	key := func(i int) string { return "code-" + strconv.Itoa(i) }
	for i := range cacheGeneration + 1 {
		vc.put(key(i), PlaceClaims{PlaceID: int64(i)})
	}
	// The first generation is the older one now: still there.
	if c, ok := vc.get(key(0)); !ok || c.PlaceID != 0 {
		t.Fatalf("first code: %+v, %v", c, ok)
	}
	for i := cacheGeneration + 1; i < 2*cacheGeneration+1; i++ {
		vc.put(key(i), PlaceClaims{PlaceID: int64(i)})
	}
	// Two generations later the first is gone; the newest stay.
	if _, ok := vc.get(key(0)); ok {
		t.Error("the oldest code is still cached")
	}
	if c, ok := vc.get(key(2 * cacheGeneration)); !ok || c.PlaceID != 2*cacheGeneration {
		t.Errorf("newest code: %+v, %v", c, ok)
	}
	if n := len(vc.cur) + len(vc.old); n > 2*cacheGeneration {
		t.Errorf("%d codes cached", n)
	}
}

func BenchmarkVerifyPlaceCode(b *testing.B) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	c := memCodes("4201", key, map[string]ed25519.PrivateKey{"4201": key})
	text, err := c.SignPlaceCode(market)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("first scan", func(b *testing.B) {
		for b.Loop() {
			if _, err := verifyClaims(text, testNow, "4201", c.keys.Load().verify); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("poster seen before", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.VerifyPlaceCode(text, testNow); err != nil {
				b.Fatal(err)
			}
		}
	})
}
