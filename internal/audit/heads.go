package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/fault"
)

// Signed heads, as transparency logs keep them. A hash chain alone proves
// nothing to whoever can write the database: they can rewrite an entry and
// recompute every later hash, or cut the end off, and the chain verifies.
// So at intervals the server signs the chain's head — its size and its last
// hash — with a key the database does not hold, and publishes each signed
// head. Auditors, checkpoints and anyone else keep the heads they fetch; a
// chain that no longer extends one of them (a different hash at that size,
// or fewer entries) fails verification, naming the head.
//
// A head is a signed note (golang.org/x/mod/sumdb/note) whose text is a
// checkpoint in the C2SP tlog-checkpoint form:
//
//	outbreak/audit
//	1234
//	<the hash of entry 1234, base64>
//
// The hash of a hash chain's last entry commits to every entry before it,
// as a Merkle tree's root does to its leaves.

// Origin is the first line of every head and the name of its key.
const Origin = "outbreak/audit"

// KeyPurpose is the label the head key is derived under from the vault's
// master key (vault.Derive): the database never holds it.
const KeyPurpose = "outbreak audit-head v1"

// HeadKey signs and verifies heads.
type HeadKey struct {
	signer   note.Signer // nil for a key that only verifies
	verifier note.Verifier
	vkey     string
}

// NewHeadKey makes the head key from a 32-byte Ed25519 seed, such as
// vault.Derive(KeyPurpose, 32).
func NewHeadKey(seed []byte) (*HeadKey, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("audit: head key seed is %d bytes, want %d", len(seed), ed25519.SeedSize)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	vkey, err := note.NewEd25519VerifierKey(Origin, priv.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	// The signer key is the verifier key's name and hash with the seed.
	parts := strings.Split(vkey, "+")
	skey := "PRIVATE+KEY+" + parts[0] + "+" + parts[1] + "+" + base64.StdEncoding.EncodeToString(append([]byte{1}, seed...))
	k, err := VerifierKey(vkey)
	if err != nil {
		return nil, err
	}
	if k.signer, err = note.NewSigner(skey); err != nil {
		return nil, fmt.Errorf("audit: head signer: %w", err)
	}
	return k, nil
}

// VerifierKey makes a key that only verifies heads, from the verifier key
// the server publishes (GET /api/v1/audit/key, `outbreak audit key`).
func VerifierKey(vkey string) (*HeadKey, error) {
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("audit: verifier key: %w", err)
	}
	if v.Name() != Origin {
		return nil, fmt.Errorf("audit: verifier key is for %q, want %q", v.Name(), Origin)
	}
	return &HeadKey{verifier: v, vkey: strings.TrimSpace(vkey)}, nil
}

// Verifier is the verifier key in the note format (name+hash+key).
func (k *HeadKey) Verifier() string { return k.vkey }

// Head is one signed head of the chain.
type Head struct {
	Size     int64     `json:"size"`               // entries 1..Size
	Hash     []byte    `json:"hash"`               // the hash of entry Size
	SignedAt time.Time `json:"signed_at,omitzero"` // when this server signed it (not itself signed; unknown for a head from elsewhere)
	Note     string    `json:"note"`               // the signed note
}

func (h Head) String() string {
	if h.SignedAt.IsZero() {
		return fmt.Sprintf("the signed head for %d entries", h.Size)
	}
	return fmt.Sprintf("the head signed at %s for %d entries", h.SignedAt.UTC().Format(time.RFC3339), h.Size)
}

// body is the checkpoint text of a head.
func body(size int64, hash []byte) string {
	return Origin + "\n" + strconv.FormatInt(size, 10) + "\n" + base64.StdEncoding.EncodeToString(hash) + "\n"
}

// ErrBadHead is a head that does not open with the key or is no checkpoint.
var ErrBadHead = fault.New(fault.Invalid, "audit.head.bad", "audit: not a signed head of this chain")

// Open checks a signed head's signature and reads its size and hash.
func (k *HeadKey) Open(signed []byte) (Head, error) {
	n, err := note.Open(signed, note.VerifierList(k.verifier))
	if err != nil {
		return Head{}, fmt.Errorf("%w: %v", ErrBadHead, err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != Origin {
		return Head{}, fmt.Errorf("%w: not a checkpoint of %s", ErrBadHead, Origin)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 1 || lines[1] != strconv.FormatInt(size, 10) {
		return Head{}, fmt.Errorf("%w: size %q", ErrBadHead, lines[1])
	}
	hash, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(hash) != sha256.Size {
		return Head{}, fmt.Errorf("%w: hash %q", ErrBadHead, lines[2])
	}
	return Head{Size: size, Hash: hash, Note: string(signed)}, nil
}

// sign makes the signed note of the head at size with hash.
func (k *HeadKey) sign(size int64, hash []byte) (string, error) {
	if k.signer == nil {
		return "", errors.New("audit: this head key only verifies")
	}
	b, err := note.Sign(&note.Note{Text: body(size, hash)}, k.signer)
	if err != nil {
		return "", fmt.Errorf("audit: sign head: %w", err)
	}
	return string(b), nil
}

// HeadLog signs the chain's heads and checks the chain against them.
type HeadLog struct {
	DB  *db.DB
	Key *HeadKey
}

// VerifierKey is the key that verifies the log's heads.
func (l *HeadLog) VerifierKey() string { return l.Key.Verifier() }

type headRow struct {
	Size     int64     `db:"size"`
	Hash     []byte    `db:"hash"`
	Note     string    `db:"note"`
	SignedAt time.Time `db:"signed_at"`
}

// open reads a stored head from its signed note, never from its hash
// column, which whoever writes the database could change with the chain.
func (l *HeadLog) open(r headRow) (Head, error) {
	h, err := l.Key.Open([]byte(r.Note))
	if err != nil {
		return Head{}, err
	}
	if h.Size != r.Size {
		return Head{}, fmt.Errorf("%w: stored at size %d, signed for %d", ErrBadHead, r.Size, h.Size)
	}
	h.SignedAt = r.SignedAt
	return h, nil
}

// ErrNoHead is answered before the first head is signed.
var ErrNoHead = fault.New(fault.NotFound, "audit.head.none", "audit: no signed head yet")

// Latest is the newest signed head (ErrNoHead before the first).
func (l *HeadLog) Latest(ctx context.Context) (Head, error) {
	var rs []headRow
	if err := db.Select(ctx, l.DB.R, &rs, "SELECT size, hash, note, signed_at FROM audit_heads ORDER BY size DESC LIMIT 1"); err != nil {
		return Head{}, fmt.Errorf("audit: latest head: %w", err)
	}
	if len(rs) == 0 {
		return Head{}, ErrNoHead
	}
	return l.open(rs[0])
}

// Since lists up to limit (1..1000) signed heads of more than after
// entries, oldest first: how a follower fetches the heads it has not seen.
// The heads are as stored; a follower checks each signature itself.
func (l *HeadLog) Since(ctx context.Context, after int64, limit int) ([]Head, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var rs []headRow
	if err := db.Select(ctx, l.DB.R, &rs, "SELECT size, hash, note, signed_at FROM audit_heads WHERE size > ? ORDER BY size LIMIT ?", after, limit); err != nil {
		return nil, fmt.Errorf("audit: heads: %w", err)
	}
	hs := make([]Head, len(rs))
	for i, r := range rs {
		hs[i] = Head{Size: r.Size, Hash: r.Hash, Note: r.Note, SignedAt: r.SignedAt}
	}
	return hs, nil
}

// ErrNotExtended refuses to sign a chain that no longer extends the last
// signed head: it was rewritten or cut since.
var ErrNotExtended = fault.New(fault.Conflict, "audit.head.not_extended", "audit: the chain no longer extends its last signed head")

// Sign signs the chain's head when the chain grew since the last signed
// head, and reports whether it did; otherwise it answers the last head. It
// first checks that the entries since the last head extend it (the whole
// chain for the first head), so that it never signs a rewritten chain.
func (l *HeadLog) Sign(ctx context.Context) (Head, bool, error) {
	last, err := l.Latest(ctx)
	from, prev := int64(0), []byte{}
	switch {
	case errors.Is(err, ErrNoHead):
	case err != nil:
		return Head{}, false, err
	default:
		var e []Entry
		if err := db.Select(ctx, l.DB.R, &e, "SELECT "+columns+" FROM audit_log WHERE id = ?", last.Size); err != nil {
			return Head{}, false, fmt.Errorf("audit: read entry %d: %w", last.Size, err)
		}
		if len(e) == 0 || !bytes.Equal(e[0].Hash, last.Hash) || !bytes.Equal(hashOf(&e[0]), last.Hash) {
			return Head{}, false, fmt.Errorf("%w: %s", ErrNotExtended, last)
		}
		from, prev = last.Size, last.Hash
	}
	rep, hash, err := walk(ctx, l.DB, from, prev, nil, nil)
	if err != nil {
		return Head{}, false, err
	}
	if !rep.OK {
		return Head{}, false, fmt.Errorf("%w: entry %d: %s", ErrNotExtended, rep.BrokenAt, rep.Problem)
	}
	if rep.Entries == from {
		return last, false, nil // unchanged, or still empty
	}
	signed, err := l.Key.sign(rep.Entries, hash)
	if err != nil {
		return Head{}, false, err
	}
	h := Head{Size: rep.Entries, Hash: hash, Note: signed, SignedAt: time.Now().UTC().Truncate(time.Microsecond)}
	_, err = db.Exec(ctx, l.DB.W, "INSERT INTO audit_heads (size, hash, note, signed_at) VALUES (?, ?, ?, ?)", h.Size, h.Hash, h.Note, h.SignedAt)
	if errors.Is(err, db.ErrConflict) {
		// Another node signed the same size first.
		last, err := l.Latest(ctx)
		return last, false, err
	}
	if err != nil {
		return Head{}, false, fmt.Errorf("audit: store head: %w", err)
	}
	return h, true, nil
}

// Check walks the whole chain (Verify) and checks that it extends every
// stored signed head and every head in given (opened with the key, from
// elsewhere: a file, another server): at each head's size, the entry's hash
// is the head's. It fails naming the first head the chain no longer
// extends: a hash that differs (rewritten) or a chain too short (cut).
func (l *HeadLog) Check(ctx context.Context, progress func(done int64), given ...Head) (Report, error) {
	var rs []headRow
	if err := db.Select(ctx, l.DB.R, &rs, "SELECT size, hash, note, signed_at FROM audit_heads ORDER BY size"); err != nil {
		return Report{}, fmt.Errorf("audit: heads: %w", err)
	}
	heads := slices.Clone(given)
	for _, r := range rs {
		h, err := l.open(r)
		if err != nil {
			rep := Report{Head: &Head{Size: r.Size, SignedAt: r.SignedAt, Note: r.Note},
				Problem: fmt.Sprintf("the stored head for %d entries does not open with the head key: %v", r.Size, err),
				Message: msg("audit.verify.bad_head", "Size", r.Size)}
			return rep, nil
		}
		heads = append(heads, h)
	}
	slices.SortStableFunc(heads, func(a, b Head) int { return int(min(max(a.Size-b.Size, -1), 1)) })
	next := 0
	rep, _, err := walk(ctx, l.DB, 0, []byte{}, progress, func(id int64, hash []byte) *Report {
		for ; next < len(heads) && heads[next].Size == id; next++ {
			if h := heads[next]; !bytes.Equal(h.Hash, hash) {
				return &Report{BrokenAt: id, HeadsChecked: next, Head: &h,
					Problem: fmt.Sprintf("the chain no longer extends %s: entry %d is not the one signed, the chain was rewritten", h, id),
					Message: msg("audit.verify.rewritten", "Size", h.Size, "SignedAt", h.SignedAt)}
			}
		}
		return nil
	})
	if err != nil || !rep.OK {
		if rep.HeadsChecked == 0 {
			rep.HeadsChecked = next
		}
		return rep, err
	}
	if next < len(heads) {
		h := heads[next]
		return Report{Entries: rep.Entries, BrokenAt: rep.Entries + 1, HeadsChecked: next, Head: &h,
			Problem: fmt.Sprintf("the chain has %d entries but %s: entries were cut from the end", rep.Entries, h),
			Message: msg("audit.verify.cut", "Entries", rep.Entries, "Size", h.Size, "SignedAt", h.SignedAt)}, nil
	}
	rep.HeadsChecked = len(heads)
	return rep, nil
}
