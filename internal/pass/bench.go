package pass

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"time"
)

// benchFixture is a valid pass and what a bare signature check of it needs.
type benchFixture struct {
	tl   *TrustList
	text string
	now  time.Time
	pub  ed25519.PublicKey
	tbs  []byte // the Sig_structure the pass signature covers
	sig  []byte
}

// newBenchFixture signs a typical pass with a fixed key.
func newBenchFixture() (benchFixture, error) {
	seed := sha256.Sum256([]byte("outbreak pass benchmark key"))
	priv := ed25519.NewKeyFromSeed(seed[:])
	pub := priv.Public().(ed25519.PublicKey)
	iat := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	key, err := NewKey("4201", pub, iat.Add(-24*time.Hour), iat.Add(30*24*time.Hour))
	if err != nil {
		return benchFixture{}, err
	}
	tl, err := NewTrustList(key)
	if err != nil {
		return benchFixture{}, err
	}
	text, err := Sign(Claims{
		Region:     "4201",
		Holder:     "MFRGGZDFMZTWQ2LK",
		MaskedName: "张*伟",
		Colour:     Green,
		IssuedAt:   iat,
		Expires:    iat.Add(24 * time.Hour),
	}, priv)
	if err != nil {
		return benchFixture{}, err
	}
	raw, err := base45Decode(text[len(Prefix):])
	if err != nil {
		return benchFixture{}, err
	}
	env, err := parseEnvelope(raw)
	if err != nil {
		return benchFixture{}, err
	}
	f := benchFixture{tl: tl, text: text, now: iat.Add(time.Hour), pub: pub,
		tbs: appendSigStructure(nil, env), sig: env.sig}
	if _, err := tl.Verify(f.text, f.now, "4201"); err != nil {
		return benchFixture{}, err
	}
	if !ed25519.Verify(f.pub, f.tbs, f.sig) {
		return benchFixture{}, fmt.Errorf("bare signature check failed")
	}
	return f, nil
}

// MeasureVerify runs, for about d in all, full pass verification (prefix and
// Base45 decoding, COSE and CBOR decoding, key lookup, signature and checks)
// and a bare ed25519.Verify of the same signed bytes, in alternating slices
// so both see the same machine load, and returns the operations per second
// of each. Their ratio, opsPerSec/baselineOpsPerSec, is what decoding and
// checks cost on top of the signature; the target is at least 0.8.
func MeasureVerify(d time.Duration) (opsPerSec, baselineOpsPerSec float64) {
	f, err := newBenchFixture()
	if err != nil {
		panic("pass: benchmark fixture: " + err.Error()) // a bug in this package
	}
	slice := min(max(d/40, time.Millisecond), 25*time.Millisecond)
	var fullOps, baseOps int
	var fullTime, baseTime time.Duration
	run := func(op func()) (int, time.Duration) {
		start := time.Now()
		n := 0
		for {
			for range 8 {
				op()
			}
			n += 8
			if el := time.Since(start); el >= slice {
				return n, el
			}
		}
	}
	full := func() {
		if _, err := f.tl.Verify(f.text, f.now, "4201"); err != nil {
			panic("pass: benchmark verify: " + err.Error())
		}
	}
	bare := func() {
		if !ed25519.Verify(f.pub, f.tbs, f.sig) {
			panic("pass: benchmark bare verify failed")
		}
	}
	for {
		n, el := run(full)
		fullOps, fullTime = fullOps+n, fullTime+el
		n, el = run(bare)
		baseOps, baseTime = baseOps+n, baseTime+el
		if fullTime+baseTime >= d {
			break
		}
	}
	return float64(fullOps) / fullTime.Seconds(), float64(baseOps) / baseTime.Seconds()
}
