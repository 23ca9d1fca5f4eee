package pass

import (
	"crypto/ed25519"
	"testing"
	"time"
)

// BenchmarkVerify is a full verification of a typical pass: prefix, Base45,
// COSE envelope, key lookup, Ed25519 signature, CBOR claims and checks.
func BenchmarkVerify(b *testing.B) {
	f, err := newBenchFixture()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.tl.Verify(f.text, f.now, "4201"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEd25519Verify is the bare signature check of the same pass, the
// floor BenchmarkVerify is measured against.
func BenchmarkEd25519Verify(b *testing.B) {
	f, err := newBenchFixture()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(f.pub, f.tbs, f.sig) {
			b.Fatal("bad signature")
		}
	}
}

func TestMeasureVerify(t *testing.T) {
	ops, base := MeasureVerify(400 * time.Millisecond)
	if ops <= 0 || base <= 0 {
		t.Fatalf("MeasureVerify = %v, %v; want positive rates", ops, base)
	}
	ratio := ops / base
	t.Logf("verify %.0f ops/s, bare Ed25519 %.0f ops/s, ratio %.3f", ops, base, ratio)
	// The target is 0.8; a loaded test machine gets some slack so that this
	// catches a regression (say, a reflection-heavy decoder) without flaking.
	if ratio < 0.6 {
		t.Errorf("ratio %.3f: decoding and checks cost more than the signature allows", ratio)
	}
}
