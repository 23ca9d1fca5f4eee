// Package audit keeps the tamper-evident log of everything that changes a
// person's health code or the rules behind it: who did it, in which role,
// when, to whom, what it was before and after, why, and on what legal basis.
// Each entry carries the SHA-256 hash of the entry before it, so editing,
// deleting or reordering any row breaks the chain at that row, and Verify
// finds it.
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/i18n"
	"github.com/outbreak-platform/outbreak/internal/rbac"
)

// Kinds of entry.
const (
	ColourChange = "colour_change" // the rules changed a code's colour
	InputChange  = "input_change"  // staff changed an input: case, contact, test, quarantine, risk area
	Override     = "override"      // staff set a colour outside the rules
	RuleSet      = "rule_set"      // a rule set was applied
	Appeal       = "appeal"        // a holder's appeal, or its answer
	Purge        = "purge"         // the retention job deleted old data
	Place        = "place"         // a place was registered, disabled or enabled (internal/venue)
	Trace        = "trace"         // contact tracing: contacts found, re-traced or withdrawn
)

// Kinds lists every kind of entry (each has a message "audit."+kind).
var Kinds = []string{ColourChange, InputChange, Override, RuleSet, Appeal, Purge, Place, Trace}

// Entry is one link of the chain.
type Entry struct {
	ID         int64         `db:"id" json:"id"`
	At         time.Time     `db:"at" json:"at"`
	ActorID    sql.NullInt64 `db:"actor_id" json:"-"`
	ActorRole  string        `db:"actor_role" json:"actor_role"`
	ActorName  string        `db:"actor_name" json:"actor_name"`
	ResidentID sql.NullInt64 `db:"resident_id" json:"-"`
	Kind       string        `db:"kind" json:"kind"`
	Before     string        `db:"before" json:"before"`
	After      string        `db:"after" json:"after"`
	Reason     string        `db:"reason" json:"reason"`
	LegalBasis string        `db:"legal_basis" json:"legal_basis"`
	// Cause is the message (i18n.Message as JSON) that words why the
	// platform made the change, in the reader's language; "" when the
	// reason is a person's own words, or was recorded before causes were.
	Cause    string `db:"cause" json:"cause,omitempty"`
	PrevHash []byte `db:"prev_hash" json:"-"`
	Hash     []byte `db:"hash" json:"-"`
}

// System is the actor of changes the platform makes by itself (a rule
// recomputing a colour, the retention job).
var System = rbac.Actor{Name: "system", Role: "system"}

// Record is what a caller appends.
type Record struct {
	Actor      rbac.Actor
	ResidentID int64 // 0 when the change is not about one person
	Kind       string
	Before     any // marshalled to JSON
	After      any
	Reason     string
	LegalBasis string
	// Cause, when it has a key, words Reason for readers in their
	// language: the reason the platform records for its own changes (a
	// recomputation, a tracing), whose Reason is English.
	Cause i18n.Message
}

// CauseOf returns the message stored as e's cause; ok is false when e has
// none (or it cannot be read).
func (e Entry) CauseOf() (m i18n.Message, ok bool) {
	if e.Cause == "" || json.Unmarshal([]byte(e.Cause), &m) != nil || m.Key == "" {
		return i18n.Message{}, false
	}
	return m, true
}

// ErrNoReason refuses a change without a reason or legal basis.
var ErrNoReason = errors.New("audit: every change needs a reason and a legal basis")

// hashOf computes an entry's hash from the previous hash and its fields, each
// length-prefixed so that no two different entries share an encoding.
func hashOf(e *Entry) []byte {
	h := sha256.New()
	var n [8]byte
	field := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	num := func(v int64) {
		binary.BigEndian.PutUint64(n[:], uint64(v))
		h.Write(n[:])
	}
	field(e.PrevHash)
	num(e.ID)
	field([]byte(e.At.UTC().Format(time.RFC3339Nano)))
	num(e.ActorID.Int64)
	field([]byte(e.ActorRole))
	field([]byte(e.ActorName))
	num(e.ResidentID.Int64)
	field([]byte(e.Kind))
	field([]byte(e.Before))
	field([]byte(e.After))
	field([]byte(e.Reason))
	field([]byte(e.LegalBasis))
	if e.Cause != "" { // entries without one hash as they did before causes
		field([]byte(e.Cause))
	}
	return h.Sum(nil)
}

// Append adds r to the chain inside tx, which must be the transaction that
// makes the change, so that the change and its entry stand or fall together.
func Append(ctx context.Context, tx *db.Tx, r Record) (Entry, error) {
	es, err := AppendBatch(ctx, tx, []Record{r})
	if err != nil {
		return Entry{}, err
	}
	return es[0], nil
}

// AppendBatch adds many records to the chain inside tx, in order, taking
// the chain head once.
func AppendBatch(ctx context.Context, tx *db.Tx, rs []Record) ([]Entry, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	lock := ""
	if tx.Dialect() == db.Postgres {
		lock = " FOR UPDATE"
	}
	var head struct {
		LastID   int64  `db:"last_id"`
		LastHash []byte `db:"last_hash"`
	}
	if err := db.Get(ctx, tx, &head, "SELECT last_id, last_hash FROM audit_head WHERE id = 1"+lock); err != nil {
		return nil, fmt.Errorf("audit: read chain head: %w", err)
	}
	prev := head.LastHash
	if prev == nil {
		prev = []byte{}
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	es := make([]Entry, len(rs))
	rows := make([][]any, len(rs))
	for i, r := range rs {
		if strings.TrimSpace(r.Reason) == "" || strings.TrimSpace(r.LegalBasis) == "" {
			return nil, ErrNoReason
		}
		before, err := json.Marshal(r.Before)
		if err != nil {
			return nil, fmt.Errorf("audit: before: %w", err)
		}
		after, err := json.Marshal(r.After)
		if err != nil {
			return nil, fmt.Errorf("audit: after: %w", err)
		}
		var cause []byte
		if r.Cause.Key != "" {
			if cause, err = json.Marshal(r.Cause); err != nil {
				return nil, fmt.Errorf("audit: cause: %w", err)
			}
		}
		e := Entry{
			ID: head.LastID + int64(i) + 1, At: now,
			ActorID:   sql.NullInt64{Int64: r.Actor.AccountID, Valid: r.Actor.AccountID != 0},
			ActorRole: string(r.Actor.Role), ActorName: r.Actor.Name,
			ResidentID: sql.NullInt64{Int64: r.ResidentID, Valid: r.ResidentID != 0},
			Kind:       r.Kind, Before: string(before), After: string(after), Reason: r.Reason, LegalBasis: r.LegalBasis,
			Cause: string(cause), PrevHash: prev,
		}
		e.Hash = hashOf(&e)
		prev = e.Hash
		es[i] = e
		rows[i] = []any{e.ID, e.At, e.ActorID, e.ActorRole, e.ActorName, e.ResidentID, e.Kind, e.Before, e.After,
			e.Reason, e.LegalBasis, e.Cause, e.PrevHash, e.Hash}
	}
	if err := tx.BulkInsert(ctx, "audit_log", strings.Split(columns, ", "), rows); err != nil {
		return nil, fmt.Errorf("audit: append: %w", err)
	}
	last := es[len(es)-1]
	if _, err := db.Exec(ctx, tx, "UPDATE audit_head SET last_id = ?, last_hash = ? WHERE id = 1", last.ID, last.Hash); err != nil {
		return nil, fmt.Errorf("audit: move chain head: %w", err)
	}
	return es, nil
}

// Report is the outcome of walking the chain.
type Report struct {
	Entries  int64  `json:"entries"`
	OK       bool   `json:"ok"`
	BrokenAt int64  `json:"broken_at,omitempty"` // id of the first bad entry
	Problem  string `json:"problem,omitempty"`
}

const columns = "id, at, actor_id, actor_role, actor_name, resident_id, kind, before, after, reason, legal_basis, cause, prev_hash, hash"

// Verify walks the whole chain in order and reports the first broken link:
// an entry whose hash does not match its contents, whose previous hash is
// not its predecessor's, a gap in the ids, or a head that is not the last entry.
func Verify(ctx context.Context, d *db.DB, progress func(done int64)) (Report, error) {
	var rep Report
	prev := []byte{}
	var last int64
	for {
		var page []Entry
		if err := db.Select(ctx, d.R, &page, "SELECT "+columns+" FROM audit_log WHERE id > ? ORDER BY id LIMIT 10000", last); err != nil {
			return rep, fmt.Errorf("audit: read chain: %w", err)
		}
		for i := range page {
			e := &page[i]
			switch {
			case e.ID != last+1:
				return broken(rep, last+1, fmt.Sprintf("entry %d is missing", last+1)), nil
			case !bytes.Equal(e.PrevHash, prev):
				return broken(rep, e.ID, "its previous-hash does not match the entry before it"), nil
			case !bytes.Equal(hashOf(e), e.Hash):
				return broken(rep, e.ID, "its contents do not match its hash: the entry was edited"), nil
			}
			prev, last = e.Hash, e.ID
			rep.Entries++
		}
		if progress != nil {
			progress(rep.Entries)
		}
		if len(page) < 10000 {
			break
		}
	}
	var head struct {
		LastID   int64  `db:"last_id"`
		LastHash []byte `db:"last_hash"`
	}
	if err := db.Get(ctx, d.R, &head, "SELECT last_id, last_hash FROM audit_head WHERE id = 1"); err != nil {
		return rep, fmt.Errorf("audit: read chain head: %w", err)
	}
	if head.LastID != last || !bytes.Equal(head.LastHash, prev) {
		return broken(rep, last+1, fmt.Sprintf("the chain ends at entry %d but its head says %d: entries were deleted from the end", last, head.LastID)), nil
	}
	rep.OK = true
	return rep, nil
}

func broken(rep Report, id int64, problem string) Report {
	rep.OK, rep.BrokenAt, rep.Problem = false, id, problem
	return rep
}

// About lists the entries about one person, newest first: what the holder
// sees on their page and what an appeal is judged on.
func About(ctx context.Context, d *db.DB, residentID int64, limit int) ([]Entry, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	var es []Entry
	if err := db.Select(ctx, d.R, &es, "SELECT "+columns+" FROM audit_log WHERE resident_id = ? ORDER BY id DESC LIMIT ?", residentID, limit); err != nil {
		return nil, fmt.Errorf("audit: about %d: %w", residentID, err)
	}
	return es, nil
}

// Latest lists the newest entries of the whole chain.
func Latest(ctx context.Context, d *db.DB, limit int) ([]Entry, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	var es []Entry
	if err := db.Select(ctx, d.R, &es, "SELECT "+columns+" FROM audit_log ORDER BY id DESC LIMIT ?", limit); err != nil {
		return nil, fmt.Errorf("audit: latest: %w", err)
	}
	return es, nil
}
