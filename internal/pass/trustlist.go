package pass

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// Trust list document limits.
const (
	// MaxTrustListLen caps the size of a trust list document.
	MaxTrustListLen = 64 << 10
	// MaxTrustListKeys caps the keys of one region's trust list.
	MaxTrustListKeys = 128
)

// TrustListType is the "type" of a trust list payload; a root key's
// signature over anything else is not a trust list.
const TrustListType = "outbreak-pass-trust-list"

// Trust list versions and lifetimes. Version 2 adds "expires_at" to the
// signed payload: a verifier that has not had a newer list by then trusts
// none of the list's keys, so that a checkpoint kept offline for months
// does not go on trusting keys withdrawn meanwhile. Version 1 has no
// expiry; it is still read, as expiring LegacyTrustListLifetime after its
// issue, and still made (SignTrustListV1) for verifiers that read only
// version 1, which refuse a version 2 payload as they refuse any field
// they do not know.
const (
	TrustListVersion = 2
	// DefaultTrustListLifetime is how long a list stays good unless the
	// issuer is told otherwise (OUTBREAK_TRUST_LIST_MAX_AGE).
	DefaultTrustListLifetime = 7 * 24 * time.Hour
	// LegacyTrustListLifetime is the expiry a version 1 list is read with.
	LegacyTrustListLifetime = 7 * 24 * time.Hour
)

// Trust list errors.
var (
	// ErrInvalidTrustList is wrapped by errors about a malformed trust list
	// document or key set.
	ErrInvalidTrustList = errors.New("invalid trust list")
	// ErrTrustListSignature means the document is not signed by the given
	// root key.
	ErrTrustListSignature = errors.New("trust list not signed by the root key")
	// ErrTrustListConflict means two trust lists being merged claim the
	// same key id for different regions.
	ErrTrustListConflict = errors.New("trust lists conflict")
)

// TrustList holds the keys a verifier trusts, by key id, for one or more
// regions. It is immutable once built and safe for concurrent use.
type TrustList struct {
	regions map[string]regionList
	keys    map[[KeyIDLen]byte]*trustedKey
	// expires is when the last of the lists expires (unix seconds): from
	// then on the list vouches for nothing. 0 when some list never expires
	// (keys known first-hand) or there is none.
	expires int64
}

// regionList is one region's keys and when its list was issued and
// expires (zero: never, for keys known first-hand).
type regionList struct {
	issuedAt  time.Time
	expiresAt time.Time
	keys      []Key
}

// trustedKey is a Key in the form the hot path reads.
type trustedKey struct {
	pub        ed25519.PublicKey
	region     string
	validFrom  int64 // unix seconds
	validUntil int64
	// listExpires is when the list that vouches for the key expires (unix
	// seconds; 0: never).
	listExpires int64
}

func newTrustedKey(k Key, listExpires time.Time) *trustedKey {
	tk := &trustedKey{pub: k.Public, region: k.Region, validFrom: k.ValidFrom.Unix(), validUntil: k.ValidUntil.Unix()}
	if !listExpires.IsZero() {
		tk.listExpires = listExpires.Unix()
	}
	return tk
}

// lastExpiry returns when the last of the lists expires (unix seconds), or
// 0 when one of them never does or there is none.
func lastExpiry(regions map[string]regionList) int64 {
	var last int64
	for _, rl := range regions {
		if rl.expiresAt.IsZero() {
			return 0
		}
		last = max(last, rl.expiresAt.Unix())
	}
	return last
}

// NewTrustList returns a trust list of keys, for a verifier that knows them
// first-hand (say, a region checking its own passes). Each key is
// validated; a key id may appear only once.
func NewTrustList(keys ...Key) (*TrustList, error) {
	byRegion := map[string][]Key{}
	for _, k := range keys {
		byRegion[k.Region] = append(byRegion[k.Region], k)
	}
	var lists []*TrustList
	for region, ks := range byRegion {
		tl, err := newRegionList(region, time.Time{}, time.Time{}, ks)
		if err != nil {
			return nil, err
		}
		lists = append(lists, tl)
	}
	return Merge(lists...)
}

// newRegionList builds the trust list of one region's keys, issued at
// issuedAt and expiring at expiresAt (zero: never).
func newRegionList(region string, issuedAt, expiresAt time.Time, keys []Key) (*TrustList, error) {
	if err := validateRegion(region); err != nil {
		return nil, fmt.Errorf("%w: region: %v", ErrInvalidTrustList, err)
	}
	if len(keys) > MaxTrustListKeys {
		return nil, fmt.Errorf("%w: %d keys, at most %d", ErrInvalidTrustList, len(keys), MaxTrustListKeys)
	}
	if !expiresAt.IsZero() && !expiresAt.After(issuedAt) {
		return nil, fmt.Errorf("%w: expires at %s, not after its issue at %s", ErrInvalidTrustList,
			expiresAt.UTC().Format(time.RFC3339), issuedAt.UTC().Format(time.RFC3339))
	}
	tl := &TrustList{regions: map[string]regionList{}, keys: map[[KeyIDLen]byte]*trustedKey{}}
	rl := regionList{issuedAt: issuedAt, expiresAt: expiresAt}
	for _, k := range keys {
		if err := k.Validate(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidTrustList, err)
		}
		if k.Region != region {
			return nil, fmt.Errorf("%w: key %x of region %q in the list of %q", ErrInvalidTrustList, k.ID, k.Region, region)
		}
		kid := [KeyIDLen]byte(k.ID)
		if tl.keys[kid] != nil {
			return nil, fmt.Errorf("%w: key %x listed twice", ErrInvalidTrustList, k.ID)
		}
		k = cloneKey(k)
		tl.keys[kid] = newTrustedKey(k, expiresAt)
		rl.keys = append(rl.keys, k)
	}
	sortKeys(rl.keys)
	tl.regions[region] = rl
	tl.expires = lastExpiry(tl.regions)
	return tl, nil
}

func cloneKey(k Key) Key {
	k.ID = bytes.Clone(k.ID)
	k.Public = bytes.Clone(k.Public)
	k.ValidFrom = k.ValidFrom.UTC()
	k.ValidUntil = k.ValidUntil.UTC()
	return k
}

func sortKeys(keys []Key) {
	slices.SortFunc(keys, func(a, b Key) int {
		return cmp.Or(
			cmp.Compare(a.Region, b.Region),
			a.ValidFrom.Compare(b.ValidFrom),
			bytes.Compare(a.ID, b.ID),
		)
	})
}

// Merge returns one trust list holding the keys of all lists, so that a
// checkpoint can verify passes of several regions. When two lists cover the
// same region, the one issued later replaces the other (the later argument
// on a tie). A key id trusted for two different regions is a conflict. Each
// region's keys are trusted until its own list expires.
func Merge(lists ...*TrustList) (*TrustList, error) {
	regions := map[string]regionList{}
	for _, tl := range lists {
		if tl == nil {
			continue
		}
		for region, rl := range tl.regions {
			if old, ok := regions[region]; !ok || !rl.issuedAt.Before(old.issuedAt) {
				regions[region] = rl
			}
		}
	}
	out := &TrustList{regions: regions, keys: map[[KeyIDLen]byte]*trustedKey{}, expires: lastExpiry(regions)}
	for _, rl := range regions {
		for _, k := range rl.keys {
			kid := [KeyIDLen]byte(k.ID)
			if old := out.keys[kid]; old != nil {
				return nil, fmt.Errorf("%w: key %x listed for %q and %q", ErrTrustListConflict, k.ID, old.region, k.Region)
			}
			out.keys[kid] = newTrustedKey(k, rl.expiresAt)
		}
	}
	return out, nil
}

// Keys returns copies of the trusted keys, by region, then start of
// validity, then id.
func (tl *TrustList) Keys() []Key {
	var keys []Key
	for _, rl := range tl.regions {
		for _, k := range rl.keys {
			keys = append(keys, cloneKey(k))
		}
	}
	sortKeys(keys)
	return keys
}

// Regions returns the codes of the regions the list covers, sorted.
func (tl *TrustList) Regions() []string {
	var rs []string
	for r := range tl.regions {
		rs = append(rs, r)
	}
	slices.Sort(rs)
	return rs
}

// IssuedAt returns when the list of a region was issued (zero for keys given
// to NewTrustList, or for a region the list does not cover).
func (tl *TrustList) IssuedAt(region string) time.Time {
	return tl.regions[region].issuedAt
}

// ExpiresAt returns when the list of a region expires: the expiry it
// states (version 2), or LegacyTrustListLifetime after its issue (version
// 1); zero for keys given to NewTrustList, or for a region the list does
// not cover.
func (tl *TrustList) ExpiresAt(region string) time.Time {
	return tl.regions[region].expiresAt
}

// trustListDoc is the trust list document; the package documentation
// describes its format.
type trustListDoc struct {
	Payload   string `json:"payload"`
	RootKID   string `json:"root_kid"`
	Signature string `json:"signature"`
}

type trustListPayload struct {
	Type     string `json:"type"`
	Version  int    `json:"version"`
	Region   string `json:"region"`
	IssuedAt string `json:"issued_at"`
	// ExpiresAt is in version 2 only.
	ExpiresAt string         `json:"expires_at,omitempty"`
	Keys      []trustListKey `json:"keys"`
}

type trustListKey struct {
	KID        string `json:"kid"`
	PublicKey  string `json:"public_key"`
	ValidFrom  string `json:"valid_from"`
	ValidUntil string `json:"valid_until"`
}

// b64 is the base64url encoding of the trust list, without padding and
// refusing non-zero trailing bits, so each value has one spelling.
var b64 = base64.RawURLEncoding.Strict()

// SignTrustList returns the trust list document (version 2) of region's
// keys, issued at now, good until expires, and signed with the region's
// root key.
func SignTrustList(region string, keys []Key, rootPriv ed25519.PrivateKey, now, expires time.Time) ([]byte, error) {
	// Both times are written to the second.
	if expires.IsZero() || expires.Unix() <= now.Unix() {
		return nil, fmt.Errorf("sign trust list: %w: expires at %s, not after now", ErrInvalidTrustList, expires.UTC().Format(time.RFC3339))
	}
	return signTrustList(TrustListVersion, region, keys, rootPriv, now, expires)
}

// SignTrustListV1 returns the trust list document of region's keys in
// version 1, which has no expiry, for verifiers that read only version 1.
// A verifier of this package reads it as expiring
// LegacyTrustListLifetime after now.
func SignTrustListV1(region string, keys []Key, rootPriv ed25519.PrivateKey, now time.Time) ([]byte, error) {
	return signTrustList(1, region, keys, rootPriv, now, time.Time{})
}

func signTrustList(version int, region string, keys []Key, rootPriv ed25519.PrivateKey, now, expires time.Time) ([]byte, error) {
	if len(rootPriv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("sign trust list: %w: %d bytes", ErrInvalidSigningKey, len(rootPriv))
	}
	tl, err := newRegionList(region, now, expires, keys)
	if err != nil {
		return nil, fmt.Errorf("sign trust list: %w", err)
	}
	p := trustListPayload{
		Type:     TrustListType,
		Version:  version,
		Region:   region,
		IssuedAt: now.UTC().Format(time.RFC3339),
		Keys:     []trustListKey{},
	}
	if version >= 2 {
		p.ExpiresAt = expires.UTC().Format(time.RFC3339)
	}
	for _, k := range tl.regions[region].keys {
		p.Keys = append(p.Keys, trustListKey{
			KID:        b64.EncodeToString(k.ID),
			PublicKey:  b64.EncodeToString(k.Public),
			ValidFrom:  k.ValidFrom.Format(time.RFC3339),
			ValidUntil: k.ValidUntil.Format(time.RFC3339),
		})
	}
	payload, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("sign trust list: %w", err)
	}
	doc, err := json.Marshal(trustListDoc{
		Payload:   b64.EncodeToString(payload),
		RootKID:   b64.EncodeToString(KeyID(rootPriv.Public().(ed25519.PublicKey))),
		Signature: b64.EncodeToString(ed25519.Sign(rootPriv, payload)),
	})
	if err != nil {
		return nil, fmt.Errorf("sign trust list: %w", err)
	}
	if len(doc) > MaxTrustListLen {
		return nil, fmt.Errorf("sign trust list: %w: document of %d bytes, at most %d", ErrInvalidTrustList, len(doc), MaxTrustListLen)
	}
	return doc, nil
}

// ParseTrustList checks a trust list document against the root public key
// of the region it claims to come from and returns its keys. The caller
// picks rootPub for the region it expects, and may check Regions().
func ParseTrustList(doc []byte, rootPub ed25519.PublicKey) (*TrustList, error) {
	tl, err := parseTrustList(doc, rootPub)
	if err != nil {
		return nil, fmt.Errorf("parse trust list: %w", err)
	}
	return tl, nil
}

func parseTrustList(doc []byte, rootPub ed25519.PublicKey) (*TrustList, error) {
	if len(rootPub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: root key of %d bytes", ErrInvalidKey, len(rootPub))
	}
	if len(doc) > MaxTrustListLen {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidTrustList, len(doc), MaxTrustListLen)
	}
	var d trustListDoc
	if err := strictJSON(doc, &d); err != nil {
		return nil, err
	}
	if d.Payload == "" || d.RootKID == "" || d.Signature == "" {
		return nil, fmt.Errorf("%w: payload, root_kid and signature are required", ErrInvalidTrustList)
	}
	kid, err := b64.DecodeString(d.RootKID)
	if err != nil {
		return nil, fmt.Errorf("%w: root_kid: %w", ErrInvalidTrustList, err)
	}
	if !bytes.Equal(kid, KeyID(rootPub)) {
		return nil, fmt.Errorf("%w: signed by root key %x, want %x", ErrTrustListSignature, kid, KeyID(rootPub))
	}
	payload, err := b64.DecodeString(d.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %w", ErrInvalidTrustList, err)
	}
	sig, err := b64.DecodeString(d.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: signature is not 64 base64url bytes", ErrInvalidTrustList)
	}
	if !ed25519.Verify(rootPub, payload, sig) {
		return nil, ErrTrustListSignature
	}

	var p trustListPayload
	if err := strictJSON(payload, &p); err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	if p.Type != TrustListType || p.Version != 1 && p.Version != 2 {
		return nil, fmt.Errorf("%w: type %q version %d", ErrInvalidTrustList, p.Type, p.Version)
	}
	issuedAt, err := time.Parse(time.RFC3339, p.IssuedAt)
	if err != nil {
		return nil, fmt.Errorf("%w: issued_at: %w", ErrInvalidTrustList, err)
	}
	var expiresAt time.Time
	switch {
	case p.Version == 1 && p.ExpiresAt != "":
		return nil, fmt.Errorf("%w: expires_at in a version 1 list", ErrInvalidTrustList)
	case p.Version == 1:
		expiresAt = issuedAt.Add(LegacyTrustListLifetime)
	default:
		if expiresAt, err = time.Parse(time.RFC3339, p.ExpiresAt); err != nil {
			return nil, fmt.Errorf("%w: expires_at: %w", ErrInvalidTrustList, err)
		}
	}
	if len(p.Keys) > MaxTrustListKeys {
		return nil, fmt.Errorf("%w: %d keys, at most %d", ErrInvalidTrustList, len(p.Keys), MaxTrustListKeys)
	}
	keys := make([]Key, 0, len(p.Keys))
	for i, wk := range p.Keys {
		k := Key{Region: p.Region}
		var errs []error
		if k.ID, err = b64.DecodeString(wk.KID); err != nil {
			errs = append(errs, fmt.Errorf("kid: %w", err))
		}
		if k.Public, err = b64.DecodeString(wk.PublicKey); err != nil {
			errs = append(errs, fmt.Errorf("public_key: %w", err))
		}
		if k.ValidFrom, err = time.Parse(time.RFC3339, wk.ValidFrom); err != nil {
			errs = append(errs, fmt.Errorf("valid_from: %w", err))
		}
		if k.ValidUntil, err = time.Parse(time.RFC3339, wk.ValidUntil); err != nil {
			errs = append(errs, fmt.Errorf("valid_until: %w", err))
		}
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("%w: key %d: %w", ErrInvalidTrustList, i, err)
		}
		keys = append(keys, k)
	}
	return newRegionList(p.Region, issuedAt.UTC(), expiresAt.UTC(), keys)
}

// strictJSON decodes exactly one JSON object into v, refusing unknown
// fields and trailing data.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidTrustList, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: data after the JSON object", ErrInvalidTrustList)
	}
	return nil
}
