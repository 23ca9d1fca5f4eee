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
	"slices"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/i18n"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/list"
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

// CauseMessage is the entry's cause to be worded by a reader (zero when the
// entry has none: its reason is shown as recorded).
func (e Entry) CauseMessage() i18n.Message {
	m, _ := e.CauseOf()
	return m
}

// platformBases are the legal bases the platform itself records, by their
// recorded (English) text, with the catalogue keys that word them; the
// bases staff type are shown as typed.
var platformBases = map[string]string{
	"contact tracing of a confirmed case":                                                     "audit.basis.tracing",
	"holder's right to appeal":                                                                "audit.basis.appeal",
	"answer to the holder's appeal":                                                           "audit.basis.appeal_answer",
	"decision of the health authority":                                                        "audit.basis.authority",
	"data minimisation: declarations are kept only as long as the rules read them":            "audit.basis.purge_declarations",
	"data minimisation: visitor registrations are kept only as long as tracing may need them": "audit.basis.purge_visitors",
	"place registry: check-in posters for epidemic prevention and control":                    "audit.basis.place_registry",
}

// LegalBasisMessage is the entry's legal basis to be worded by a reader
// when the platform wrote it (zero when staff typed it).
func (e Entry) LegalBasisMessage() i18n.Message {
	if k, ok := platformBases[e.LegalBasis]; ok {
		return i18n.M(k)
	}
	if v, ok := strings.CutPrefix(e.LegalBasis, "rule set "); ok {
		return i18n.M("audit.basis.rule_set", "Version", v)
	}
	return i18n.Message{}
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
	// Message is Problem to be worded in the reader's language.
	Message Message `json:"-"`
	// HeadsChecked is how many signed heads the chain was checked against
	// (HeadLog.Check); Head, the one it no longer extends.
	HeadsChecked int   `json:"heads_checked"`
	Head         *Head `json:"head,omitempty"`
}

const columns = "id, at, actor_id, actor_role, actor_name, resident_id, kind, before, after, reason, legal_basis, cause, prev_hash, hash"

// Verify walks the whole chain in order and reports the first broken link:
// an entry whose hash does not match its contents, whose previous hash is
// not its predecessor's, a gap in the ids, or a head that is not the last entry.
// It cannot tell a chain rewritten from some entry on, every later hash
// recomputed: HeadLog.Check checks the chain against signed heads too.
func Verify(ctx context.Context, d *db.DB, progress func(done int64)) (Report, error) {
	rep, _, err := walk(ctx, d, 0, []byte{}, progress, nil)
	return rep, err
}

// walk checks the chain after entry from, whose hash is prev, calling at
// (when not nil) with each entry's id and hash, and then that the chain's
// head row names its last entry. It returns the last hash.
func walk(ctx context.Context, d *db.DB, from int64, prev []byte, progress func(done int64), at func(id int64, hash []byte) *Report) (Report, []byte, error) {
	rep := Report{Entries: from}
	last := from
	// The head first: entries appended while the walk reads are past it.
	var head struct {
		LastID   int64  `db:"last_id"`
		LastHash []byte `db:"last_hash"`
	}
	if err := db.Get(ctx, d.R, &head, "SELECT last_id, last_hash FROM audit_head WHERE id = 1"); err != nil {
		return rep, nil, fmt.Errorf("audit: read chain head: %w", err)
	}
	const page = 10000
	for {
		var es []Entry
		if err := db.Select(ctx, d.R, &es, "SELECT "+columns+" FROM audit_log WHERE id > ? AND id <= ? ORDER BY id LIMIT ?", last, head.LastID, page); err != nil {
			return rep, nil, fmt.Errorf("audit: read chain: %w", err)
		}
		for i := range es {
			e := &es[i]
			switch {
			case e.ID != last+1:
				return broken(rep, last+1, fmt.Sprintf("entry %d is missing", last+1), "audit.verify.missing"), prev, nil
			case !bytes.Equal(e.PrevHash, prev):
				return broken(rep, e.ID, "its previous-hash does not match the entry before it", "audit.verify.prev"), prev, nil
			case !bytes.Equal(hashOf(e), e.Hash):
				return broken(rep, e.ID, "its contents do not match its hash: the entry was edited", "audit.verify.edited"), prev, nil
			}
			prev, last = e.Hash, e.ID
			rep.Entries++
			if at != nil {
				if bad := at(e.ID, e.Hash); bad != nil {
					bad.Entries = rep.Entries
					return *bad, prev, nil
				}
			}
		}
		if progress != nil {
			progress(rep.Entries)
		}
		if len(es) < page {
			break
		}
	}
	if head.LastID != last || !bytes.Equal(head.LastHash, prev) {
		rep = broken(rep, last+1, fmt.Sprintf("the chain ends at entry %d but its head says %d: entries were deleted from the end", last, head.LastID), "audit.verify.end")
		rep.Message.Args["Last"], rep.Message.Args["Head"] = last, head.LastID
		return rep, prev, nil
	}
	rep.OK = true
	return rep, prev, nil
}

func broken(rep Report, id int64, problem, key string) Report {
	rep.OK, rep.BrokenAt, rep.Problem = false, id, problem
	rep.Message = msg(key, "At", id)
	return rep
}

// Message is a text for a person: a catalogue key and its arguments, to be
// worded in the reader's language (i18n.Message, which this package cannot
// import).
type Message struct {
	Key  string
	Args map[string]any
}

func msg(key string, args ...any) Message {
	m := Message{Key: key, Args: map[string]any{}}
	for i := 0; i+1 < len(args); i += 2 {
		m.Args[fmt.Sprint(args[i])] = args[i+1]
	}
	return m
}

// Latest lists the newest entries of the whole chain, whatever their
// scope: for tools and tests. What a person reads goes through List.
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

// Filter narrows a listing of the chain. Zero fields do not narrow.
type Filter struct {
	Kind       string    // one of Kinds
	Actor      string    // the actor's name as recorded ("system" for the platform)
	ResidentID int64     // entries about this person
	From, To   time.Time // entries at or after From and before To
}

// List returns the page p of the entries a reader with scope (a
// jurisdiction path) may read, newest first, with their total. An entry
// about a person is in scope when that person lives in the scope's
// subtree; an entry about nobody (a rule set, a purge, a place, a risk
// area) concerns the whole region, and only a reader scoped to a city or
// above reads it: a district's auditor reads only its own people.
func List(ctx context.Context, d *db.DB, scope string, f Filter, p list.Page) (list.Of[Entry], error) {
	p = p.Norm()
	where, args := scoped(scope, f)
	var total int64
	if err := db.Get(ctx, d.R, &total, "SELECT COUNT(*) FROM audit_log a"+where, args...); err != nil {
		return list.Of[Entry]{}, fmt.Errorf("audit: count: %w", err)
	}
	var es []Entry
	if total > int64(p.Offset) {
		q := "SELECT " + prefixed + " FROM audit_log a" + where + " ORDER BY a.id DESC LIMIT ? OFFSET ?"
		if err := db.Select(ctx, d.R, &es, q, append(args, p.Limit, p.Offset)...); err != nil {
			return list.Of[Entry]{}, fmt.Errorf("audit: list: %w", err)
		}
	}
	return list.New(es, total, p), nil
}

// exportBatch is how many rows Each reads at a time.
var exportBatch = 1000

// Each calls fn with every entry a reader with scope may read that f
// keeps, newest first, reading batch rows at a time by id (no offsets,
// which would read the skipped rows again on every page): for exports.
func Each(ctx context.Context, d *db.DB, scope string, f Filter, fn func(Entry) error) error {
	batch := exportBatch
	where, args := scoped(scope, f)
	before := int64(-1)
	for {
		q, a := "SELECT "+prefixed+" FROM audit_log a"+where, args
		if before >= 0 {
			q, a = q+" AND a.id < ?", append(slices.Clone(args), before)
		}
		var es []Entry
		if err := db.Select(ctx, d.R, &es, q+" ORDER BY a.id DESC LIMIT ?", append(a, batch)...); err != nil {
			return fmt.Errorf("audit: export: %w", err)
		}
		for _, e := range es {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(es) < batch {
			return nil
		}
		before = es[len(es)-1].ID
	}
}

// prefixed is columns qualified by the audit_log alias a.
var prefixed = "a." + strings.ReplaceAll(columns, ", ", ", a.")

// RegionScope reports whether scope is a city's or above (every
// jurisdiction "/", a province "/42/", a city "/42/4201/"), whose readers
// also read the entries about nobody, which concern the whole region.
func RegionScope(scope string) bool {
	return strings.HasPrefix(scope, "/") && strings.HasSuffix(scope, "/") && strings.Count(scope, "/") <= 3
}

// scoped is the WHERE clause (with its arguments) of the entries in scope
// that f keeps. A scope that is empty matches nothing.
func scoped(scope string, f Filter) (string, []any) {
	lo, hi := jurisdiction.Range(scope)
	inScope := "EXISTS (SELECT 1 FROM residents r JOIN jurisdictions j ON j.id = r.community_id WHERE r.id = a.resident_id AND j.path >= ? AND j.path < ?)"
	args := []any{lo, hi}
	where := " WHERE (" + inScope
	if RegionScope(scope) {
		where += " OR a.resident_id IS NULL"
	}
	where += ")"
	if f.Kind != "" {
		where += " AND a.kind = ?"
		args = append(args, f.Kind)
	}
	if f.Actor != "" {
		where += " AND a.actor_name = ?"
		args = append(args, f.Actor)
	}
	if f.ResidentID != 0 {
		where += " AND a.resident_id = ?"
		args = append(args, f.ResidentID)
	}
	if !f.From.IsZero() {
		where += " AND a.at >= ?"
		args = append(args, f.From.UTC())
	}
	if !f.To.IsZero() {
		where += " AND a.at < ?"
		args = append(args, f.To.UTC())
	}
	return where, args
}
