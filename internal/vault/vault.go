// Package vault protects personal data at rest. It seals values such as
// national ID numbers and phone numbers with AES-256-GCM, and computes keyed
// hashes (HMAC-SHA-256) of them so that they can be looked up without being
// readable in a database dump. Every key derives from one master key held in
// a file outside the database.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Vault seals and hashes with keys derived from one master key.
type Vault struct {
	aead   cipher.AEAD
	macKey []byte
	master []byte
	macs   sync.Pool
}

// ErrOpen means a sealed value could not be opened: wrong key, or tampered.
var ErrOpen = errors.New("vault: cannot open sealed value")

// New builds a Vault from a 32-byte master key.
func New(master []byte) (*Vault, error) {
	if len(master) != 32 {
		return nil, fmt.Errorf("vault: master key is %d bytes, want 32", len(master))
	}
	v := &Vault{master: append([]byte(nil), master...)}
	block, err := aes.NewCipher(v.Derive("outbreak seal v1", 32))
	if err != nil {
		return nil, err
	}
	if v.aead, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	v.macKey = v.Derive("outbreak lookup-hash v1", 32)
	v.macs.New = func() any { return hmac.New(sha256.New, v.macKey) }
	return v, nil
}

// LoadOrCreate reads the master key from path, creating the file with a new
// random key (mode 0600) when it does not exist. created reports whether it did.
func LoadOrCreate(path string) (v *Vault, created bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		master := make([]byte, 32)
		rand.Read(master)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, false, fmt.Errorf("vault: create key directory: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, false, fmt.Errorf("vault: create key file: %w", err)
		}
		_, werr := f.WriteString(base64.StdEncoding.EncodeToString(master) + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, false, fmt.Errorf("vault: write key file: %w", werr)
		}
		v, err := New(master)
		return v, true, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("vault: read key file: %w", err)
	}
	master, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, false, fmt.Errorf("vault: key file %s is not base64: %w", path, err)
	}
	v, err = New(master)
	return v, false, err
}

// Derive returns n bytes of key material for purpose, independent of every
// other purpose's.
func (v *Vault) Derive(purpose string, n int) []byte {
	k, err := hkdf.Key(sha256.New, v.master, nil, purpose, n)
	if err != nil {
		panic(err) // only for n > 255*32, a programming error
	}
	return k
}

// Seal encrypts plaintext, binding it to context (for example the column it
// is stored in) so that a value copied to another column does not open.
func (v *Vault) Seal(plaintext []byte, context string) []byte {
	nonce := make([]byte, v.aead.NonceSize(), v.aead.NonceSize()+len(plaintext)+v.aead.Overhead())
	rand.Read(nonce)
	return v.aead.Seal(nonce, nonce, plaintext, []byte(context))
}

// Open decrypts a value sealed with the same context.
func (v *Vault) Open(sealed []byte, context string) ([]byte, error) {
	ns := v.aead.NonceSize()
	if len(sealed) < ns+v.aead.Overhead() {
		return nil, ErrOpen
	}
	p, err := v.aead.Open(nil, sealed[:ns], sealed[ns:], []byte(context))
	if err != nil {
		return nil, ErrOpen
	}
	return p, nil
}

// Hash returns the keyed look-up hash of value within domain (for example
// "national-id" or "phone"), so equal values in different domains differ.
func (v *Vault) Hash(domain, value string) []byte {
	m := v.macs.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(domain))
	m.Write([]byte{0})
	m.Write([]byte(value))
	sum := m.Sum(nil)
	v.macs.Put(m)
	return sum[:HashLen]
}

// HashLen is the length of a look-up hash: 128 bits, ample to tell a
// billion values apart, and half the index of a full SHA-256.
const HashLen = 16

// CheckValue identifies the master key without revealing it; the store keeps
// it so that starting with the wrong key file fails loudly.
func (v *Vault) CheckValue() string {
	return base64.RawStdEncoding.EncodeToString(v.Hash("key-check", "outbreak"))[:16]
}
