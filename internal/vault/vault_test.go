package vault

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpen(t *testing.T) {
	v, created, err := LoadOrCreate(filepath.Join(t.TempDir(), "k", "master.key"))
	if err != nil || !created {
		t.Fatalf("LoadOrCreate = %v, %v", created, err)
	}
	sealed := v.Seal([]byte("420106199001011234"), "residents.id")
	if bytes.Contains(sealed, []byte("4201061990")) {
		t.Fatal("sealed value contains the plaintext")
	}
	got, err := v.Open(sealed, "residents.id")
	if err != nil || string(got) != "420106199001011234" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := v.Open(sealed, "residents.phone"); !errors.Is(err, ErrOpen) {
		t.Errorf("Open with another context = %v, want ErrOpen", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := v.Open(sealed, "residents.id"); !errors.Is(err, ErrOpen) {
		t.Errorf("Open tampered = %v, want ErrOpen", err)
	}
	if _, err := v.Open([]byte{1, 2}, "residents.id"); !errors.Is(err, ErrOpen) {
		t.Errorf("Open short = %v, want ErrOpen", err)
	}
}

func TestKeyFileReloadsSameKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	v1, _, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	v2, created, err := LoadOrCreate(path)
	if err != nil || created {
		t.Fatalf("reload = %v, %v", created, err)
	}
	if v1.CheckValue() != v2.CheckValue() {
		t.Fatal("reloaded key differs")
	}
	if !bytes.Equal(v1.Hash("phone", "13800000001"), v2.Hash("phone", "13800000001")) {
		t.Fatal("hash differs across reload")
	}
	if bytes.Equal(v1.Hash("phone", "x"), v1.Hash("national-id", "x")) {
		t.Fatal("hash domains collide")
	}
	other, _, _ := LoadOrCreate(filepath.Join(t.TempDir(), "other.key"))
	if other.CheckValue() == v1.CheckValue() {
		t.Fatal("two random keys share a check value")
	}
}
