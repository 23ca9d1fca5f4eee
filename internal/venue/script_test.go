package venue

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/veraison/go-cose"

	"github.com/outbreak-platform/outbreak/internal/pass"
)

var update = flag.Bool("update", false, "rewrite testdata/place-codes.json")

// The check-in page reads a poster's code on the phone when it has no
// network (web/checkin/src/place.js), without its signature: the phone has
// no place keys. These tests make codes with the Go code and record what
// the phone must read of each — what the code claims, or nothing when it
// is no place code — beside what the server says of it, for Node's test
// runner (web/checkin/test/place.test.mjs, run by
// internal/server.TestCheckInScript).

const placeVectorsFile = "testdata/place-codes.json"

type placeVectorClaims struct {
	Region   string `json:"region"`
	PlaceID  int64  `json:"place_id"`
	Kind     Kind   `json:"kind"`
	Type     Type   `json:"type"`
	Carriage int    `json:"carriage"`
	IssuedAt int64  `json:"issued_at"`
	Expires  int64  `json:"expires"`
}

type placeVector struct {
	Name string `json:"name"`
	Text string `json:"text"`
	// Claims is what the phone reads; nil when the text is no place code.
	Claims *placeVectorClaims `json:"claims"`
	// Reason is what the server refuses the code for at Now in Region
	// ("" when it takes it): a forged code reads like a genuine one on the
	// phone, and only the server tells them apart.
	Reason Reason `json:"reason"`
}

type placeVectors struct {
	Note    string        `json:"note"`
	Region  string        `json:"region"`
	Now     int64         `json:"now"`
	Vectors []placeVector `json:"vectors"`
}

// readUnverified reads text as the phone does: the layout and the claims,
// not the signature.
func readUnverified(text string) (PlaceClaims, error) {
	if len(text) > MaxCodeLen || len(text) < len(Prefix) || text[:len(Prefix)] != Prefix {
		return PlaceClaims{}, errors.New("not a place code")
	}
	raw, err := decodeText(text[len(Prefix):])
	if err != nil {
		return PlaceClaims{}, err
	}
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(raw); err != nil {
		return PlaceClaims{}, err
	}
	kid, _ := msg.Headers.Protected[cose.HeaderLabelKeyID].([]byte)
	want, err := protectedHeader(kid)
	if err != nil || len(kid) != pass.KeyIDLen || !bytes.Equal(msg.Headers.RawProtected, want) ||
		!bytes.Equal(msg.Headers.RawUnprotected, []byte{0xA0}) || len(msg.Signature) != ed25519.SignatureSize {
		return PlaceClaims{}, errors.New("not the place-code layout")
	}
	return unmarshalClaims(msg.Payload)
}

func makePlaceVectors(t *testing.T) placeVectors {
	t.Helper()
	seed := sha256.Sum256([]byte("outbreak place code test key"))
	key := ed25519.NewKeyFromSeed(seed[:])
	keys := map[[pass.KeyIDLen]byte]verifyKey{[pass.KeyIDLen]byte(kidOf(key)): {region: "4201", pub: key.Public().(ed25519.PublicKey)}}
	v := placeVectors{Note: "Made by TestPlaceCodeVectors in internal/venue (go test ./internal/venue -run TestPlaceCodeVectors -update); read by web/checkin/test/place.test.mjs.",
		Region: "4201", Now: testNow.Unix()}
	add := func(name, text string) {
		pv := placeVector{Name: name, Text: text}
		if c, err := readUnverified(text); err == nil {
			pv.Claims = &placeVectorClaims{Region: c.Region, PlaceID: c.PlaceID, Kind: c.Kind, Type: c.Type, Carriage: c.Carriage,
				IssuedAt: c.IssuedAt.Unix()}
			if !c.Expires.IsZero() {
				pv.Claims.Expires = c.Expires.Unix()
			}
		}
		if _, err := verifyClaims(text, testNow, "4201", keys); err != nil {
			if pv.Reason = ReasonOf(err); pv.Reason == "" {
				t.Fatalf("%s: %v is no CodeError", name, err)
			}
		}
		v.Vectors = append(v.Vectors, pv)
	}
	sign := func(c PlaceClaims) string {
		text, err := signClaims(c, key)
		if err != nil {
			t.Fatal(err)
		}
		return text
	}
	iat := testNow.Add(-30 * 24 * time.Hour)
	for i, ty := range append(append([]Type{}, VenueTypes...), VehicleTypes...) {
		add(string(ty), sign(PlaceClaims{Version: 1, Region: "4201", PlaceID: int64(100 + i), Kind: ty.Kind(), Type: ty, IssuedAt: iat}))
	}
	add("train, carriage 5", sign(PlaceClaims{Version: 1, Region: "4201", PlaceID: 7, Kind: Vehicle, Type: Train, Carriage: 5, IssuedAt: iat,
		Expires: testNow.Add(24 * time.Hour)}))
	add("train, carriage 40", sign(PlaceClaims{Version: 1, Region: "4201", PlaceID: 7, Kind: Vehicle, Type: Train, Carriage: MaxCarriage, IssuedAt: iat}))
	add("trip over", sign(PlaceClaims{Version: 1, Region: "4201", PlaceID: 8, Kind: Vehicle, Type: Flight, IssuedAt: iat, Expires: testNow}))
	add("trip ends in a second", sign(PlaceClaims{Version: 1, Region: "4201", PlaceID: 8, Kind: Vehicle, Type: Flight, IssuedAt: iat,
		Expires: testNow.Add(time.Second)}))
	add("large place id", sign(PlaceClaims{Version: 1, Region: "4201", PlaceID: 1 << 40, Kind: Venue, Type: Hospital, IssuedAt: iat}))
	add("another region", sign(PlaceClaims{Version: 1, Region: "4202", PlaceID: 9, Kind: Venue, Type: Shop, IssuedAt: iat}))

	// Forged: a genuine code with one byte of its signature changed, and a
	// code signed by a key the server does not know. The phone reads them
	// as it reads a genuine one; the server refuses them.
	genuine := sign(PlaceClaims{Version: 1, Region: "4201", PlaceID: 42, Kind: Venue, Type: Restaurant, IssuedAt: iat})
	raw, err := decodeText(genuine[len(Prefix):])
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-10] ^= 0x01
	add("signature changed", encodeText(raw))
	otherSeed := sha256.Sum256([]byte("outbreak place code forger"))
	forged, err := signClaims(PlaceClaims{Version: 1, Region: "4201", PlaceID: 42, Kind: Venue, Type: Restaurant, IssuedAt: iat},
		ed25519.NewKeyFromSeed(otherSeed[:]))
	if err != nil {
		t.Fatal(err)
	}
	add("unknown key", forged)

	// Not place codes at all.
	add("empty", "")
	add("prefix only", Prefix)
	add("a health pass", "OB1:"+genuine[len(Prefix):])
	add("lower case", "obp1:"+genuine[len(Prefix):])
	add("truncated", genuine[:len(genuine)-3])
	add("one more character", genuine+"0")
	add("too long", Prefix+string(bytes.Repeat([]byte("0"), MaxCodeLen)))
	payload := func(m map[int]any) []byte {
		b, err := claimsEnc.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	base := func() map[int]any {
		return map[int]any{1: "4201", 6: iat.Unix(), -1: 1, -2: 42, -3: 1, -4: 1}
	}
	with := func(edit func(map[int]any)) []byte {
		m := base()
		edit(m)
		return payload(m)
	}
	add("claims as signed", rawCode(t, key, kidOf(key), with(func(map[int]any) {}), nil, nil))
	add("unknown claim", rawCode(t, key, kidOf(key), with(func(m map[int]any) { m[-6] = 1 }), nil, nil))
	add("version 2", rawCode(t, key, kidOf(key), with(func(m map[int]any) { m[-1] = 2 }), nil, nil))
	add("no version", rawCode(t, key, kidOf(key), with(func(m map[int]any) { delete(m, -1) }), nil, nil))
	add("unknown type", rawCode(t, key, kidOf(key), with(func(m map[int]any) { m[-4] = 99 }), nil, nil))
	add("shop of kind vehicle", rawCode(t, key, kidOf(key), with(func(m map[int]any) { m[-3] = 2 }), nil, nil))
	add("carriage on a shop", rawCode(t, key, kidOf(key), with(func(m map[int]any) { m[-5] = 3 }), nil, nil))
	add("carriage 41", rawCode(t, key, kidOf(key), with(func(m map[int]any) { m[-3], m[-4], m[-5] = 2, 21, 41 }), nil, nil))
	add("place id 0", rawCode(t, key, kidOf(key), with(func(m map[int]any) { m[-2] = 0 }), nil, nil))
	add("region empty", rawCode(t, key, kidOf(key), with(func(m map[int]any) { m[1] = "" }), nil, nil))
	add("region not text", rawCode(t, key, kidOf(key), with(func(m map[int]any) { m[1] = 4201 }), nil, nil))
	add("expires before issued", rawCode(t, key, kidOf(key), with(func(m map[int]any) { m[4] = iat.Unix() - 1 }), nil, nil))
	add("issued at 0", rawCode(t, key, kidOf(key), with(func(m map[int]any) { m[6] = 0 }), nil, nil))
	add("extra protected header", rawCode(t, key, kidOf(key), with(func(map[int]any) {}), map[any]any{int64(3): int64(0)}, nil))
	add("unprotected header", rawCode(t, key, kidOf(key), with(func(map[int]any) {}), nil, map[any]any{int64(5): []byte{1}}))
	return v
}

// TestPlaceCodeVectors checks that testdata/place-codes.json is what the Go
// code makes today (-update rewrites it), and that it covers every type.
func TestPlaceCodeVectors(t *testing.T) {
	v := makePlaceVectors(t)
	read, refused := 0, 0
	for _, pv := range v.Vectors {
		if pv.Claims != nil {
			read++
		}
		if pv.Reason != "" {
			refused++
		}
	}
	if read < 16 || refused < 15 || len(v.Vectors)-read < 15 {
		t.Fatalf("%d codes read, %d refused, %d not read: the vectors lost their variety", read, refused, len(v.Vectors)-read)
	}
	want, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *update {
		if err := os.WriteFile(placeVectorsFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(placeVectorsFile)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s is not what the Go code makes now (%v): run go test ./internal/venue -run TestPlaceCodeVectors -update", placeVectorsFile, err)
	}
}
