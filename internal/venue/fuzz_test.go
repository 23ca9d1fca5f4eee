package venue

import (
	"crypto/ed25519"
	"strings"
	"testing"
)

// FuzzVerifyPlaceCode feeds the place-code decoder arbitrary text. It must
// never panic, must refuse with a reason, and may accept only the exact
// text the key would sign for the claims it returns (Ed25519 signatures
// are deterministic), so no re-encoding or alteration of a code verifies.
func FuzzVerifyPlaceCode(f *testing.F) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	c := memCodes("4201", key, map[string]ed25519.PrivateKey{"4201": key})
	for _, p := range []Place{market, g1234, {ID: 1 << 40, Kind: Vehicle, Type: Bus, ServiceNumber: "526"}} {
		text, err := c.SignPlaceCode(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(text)
		f.Add(text[:len(text)-1])
		f.Add(strings.ToLower(text))
	}
	if text, err := c.SignCarriageCode(g1234, 16); err == nil {
		f.Add(text)
	}
	f.Add("")
	f.Add(Prefix)
	f.Add(Prefix + "0oRNogE")
	f.Add("OB1:6BFOXN*TS0BI$ZD4N9")
	f.Fuzz(func(t *testing.T, text string) {
		claims, err := c.VerifyPlaceCode(text, testNow)
		if err != nil {
			if ReasonOf(err) == "" {
				t.Fatalf("refused without a reason: %v", err)
			}
			return
		}
		claims.KeyID = ""
		again, err := signClaims(claims, key)
		if err != nil || again != text {
			t.Fatalf("accepted %q, which is not the code of its claims %+v (%q, %v)", text, claims, again, err)
		}
	})
}
