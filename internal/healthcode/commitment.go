package healthcode

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
)

// A tracing run records its contacts with one audit entry that commits to
// them — a SHA-256 over the sorted rows — instead of one entry a contact:
// at an outbreak's scale the entries were a fifth of what recording the
// contacts wrote (BENCHMARKS.md, issue 14). Every change stays shown: a
// holder's history shows their contact row with the entry that committed
// to it (History), and VerifyContacts recomputes each entry's digest from
// the rows, so a row edited, added or deleted after the fact is found.

// contactRow is what an entry commits to of a traced contact: every
// column but the id, the times and the actor (which the entry holds).
type contactRow struct {
	ResidentID int64          `db:"resident_id"`
	Kind       string         `db:"kind"`
	ExposedOn  civil.Date     `db:"exposed_on"`
	Evidence   string         `db:"evidence"`
	EvidenceZH sql.NullString `db:"evidence_zh"`
	Detail     sql.NullString `db:"detail"`
	SourceCase sql.NullInt64  `db:"source_case"`
	TraceID    sql.NullInt64  `db:"trace_id"`
}

// contactsCommitment is the after of the entry committing to a run's
// contacts.
type contactsCommitment struct {
	Trace    int64          `json:"trace"`
	Contacts int            `json:"contacts"`
	Kinds    map[string]int `json:"kinds"`
	SHA256   string         `json:"contacts_sha256"`
}

// ContactsDigest is the SHA-256 of the rows sorted by resident, kind,
// exposure date and evidence, each field length-prefixed (a null one
// marked), so that no two different sets of rows share an encoding. It
// sorts rows in place.
func ContactsDigest(rows []contactRow) []byte {
	slices.SortFunc(rows, func(a, b contactRow) int {
		return cmp.Or(cmp.Compare(a.ResidentID, b.ResidentID), cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(a.ExposedOn.String(), b.ExposedOn.String()), cmp.Compare(a.Evidence, b.Evidence),
			cmp.Compare(a.EvidenceZH.String, b.EvidenceZH.String), cmp.Compare(a.Detail.String, b.Detail.String))
	})
	h := sha256.New()
	var buf []byte
	str := func(s string, valid bool) {
		if !valid {
			buf = append(buf, 0)
			return
		}
		buf = append(buf, 1)
		buf = binary.BigEndian.AppendUint64(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	num := func(n int64, valid bool) {
		if !valid {
			buf = append(buf, 0)
			return
		}
		buf = append(buf, 1)
		buf = binary.BigEndian.AppendUint64(buf, uint64(n))
	}
	buf = binary.BigEndian.AppendUint64(buf, uint64(len(rows)))
	for _, r := range rows {
		num(r.ResidentID, true)
		str(r.Kind, true)
		str(r.ExposedOn.String(), true)
		str(r.Evidence, true)
		str(r.EvidenceZH.String, r.EvidenceZH.Valid)
		str(r.Detail.String, r.Detail.Valid)
		num(r.SourceCase.Int64, r.SourceCase.Valid)
		// Not the trace: re-tracing moves a contact found again to the
		// new tracing untouched (ReplaceTraced), and the entry names the
		// run it recorded.
		h.Write(buf)
		buf = buf[:0]
	}
	h.Write(buf)
	return h.Sum(nil)
}

// ContactsReport is the outcome of VerifyContacts.
type ContactsReport struct {
	Entries  int64  `json:"entries"`  // entries committing to contacts
	Contacts int64  `json:"contacts"` // rows they commit to
	OK       bool   `json:"ok"`
	BrokenAt int64  `json:"broken_at,omitempty"` // the entry whose rows do not match
	Problem  string `json:"problem,omitempty"`
}

// VerifyContacts checks every audit entry that commits to a tracing run's
// contacts against the rows that name it: their number and their digest.
// A contact row naming an entry that commits to nothing, or rows beyond
// what the entries count, break it too. The chain itself is audit.Verify's.
func VerifyContacts(ctx context.Context, d *db.DB) (ContactsReport, error) {
	var rep ContactsReport
	var last int64
	for {
		var page []struct {
			ID    int64  `db:"id"`
			After string `db:"after"`
		}
		if err := db.Select(ctx, d.R, &page, `SELECT id, after FROM audit_log WHERE id > ? AND kind = ? AND resident_id IS NULL
			ORDER BY id LIMIT 1000`, last, audit.Trace); err != nil {
			return rep, fmt.Errorf("healthcode: verify contacts: %w", err)
		}
		for _, e := range page {
			last = e.ID
			var c contactsCommitment
			if err := json.Unmarshal([]byte(e.After), &c); err != nil || c.SHA256 == "" {
				continue // not a commitment
			}
			var rows []contactRow
			if err := db.Select(ctx, d.R, &rows, `SELECT resident_id, kind, exposed_on, evidence, evidence_zh, detail, source_case, trace_id
				FROM contacts WHERE audit_id = ?`, e.ID); err != nil { // a re-trace may have moved them to its tracing
				return rep, fmt.Errorf("healthcode: verify contacts: %w", err)
			}
			switch {
			case len(rows) != c.Contacts:
				return brokenContacts(rep, e.ID, fmt.Sprintf("entry %d commits to %d contacts, the store holds %d", e.ID, c.Contacts, len(rows))), nil
			case hex.EncodeToString(ContactsDigest(rows)) != c.SHA256:
				return brokenContacts(rep, e.ID, fmt.Sprintf("the contacts entry %d commits to were edited", e.ID)), nil
			}
			rep.Entries++
			rep.Contacts += int64(len(rows))
		}
		if len(page) < 1000 {
			break
		}
	}
	var named int64
	if err := db.Get(ctx, d.R, &named, "SELECT count(*) FROM contacts WHERE audit_id IS NOT NULL"); err != nil {
		return rep, fmt.Errorf("healthcode: verify contacts: %w", err)
	}
	if named != rep.Contacts {
		return brokenContacts(rep, 0, fmt.Sprintf("%d contacts name an entry, the entries commit to %d", named, rep.Contacts)), nil
	}
	rep.OK = true
	return rep, nil
}

func brokenContacts(rep ContactsReport, id int64, problem string) ContactsReport {
	rep.OK, rep.BrokenAt, rep.Problem = false, id, problem
	return rep
}

// History lists the entries about one person, newest first — audit.About —
// with their traced contacts among them: each contact row shown as the
// entry that committed to it (its id, hash, actor, reason), about them,
// what it recorded of them as its after.
func History(ctx context.Context, d *db.DB, residentID int64, limit int) ([]audit.Entry, error) {
	es, err := audit.About(ctx, d, residentID, limit)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	var rows []struct {
		contactRow
		At        time.Time     `db:"at"`
		AuditID   int64         `db:"audit_id"`
		ActorID   sql.NullInt64 `db:"actor_id"`
		ActorRole string        `db:"actor_role"`
		ActorName string        `db:"actor_name"`
		Reason    string        `db:"reason"`
		Cause     string        `db:"cause"`
		Legal     string        `db:"legal_basis"`
		PrevHash  []byte        `db:"prev_hash"`
		Hash      []byte        `db:"hash"`
	}
	if err := db.Select(ctx, d.R, &rows, `SELECT c.resident_id, c.kind, c.exposed_on, c.evidence, c.evidence_zh, c.detail,
		c.source_case, c.trace_id, a.at, c.audit_id, a.actor_id, a.actor_role, a.actor_name, a.reason, a.cause, a.legal_basis,
		a.prev_hash, a.hash
		FROM contacts c JOIN audit_log a ON a.id = c.audit_id
		WHERE c.resident_id = ? ORDER BY c.id DESC LIMIT ?`, residentID, limit); err != nil {
		return nil, fmt.Errorf("healthcode: history of %d: %w", residentID, err)
	}
	if len(rows) == 0 {
		return es, nil
	}
	for _, r := range rows {
		after, err := json.Marshal(map[string]any{"contact": r.Kind, "trace": r.TraceID.Int64, "exposed_on": r.ExposedOn, "evidence": r.Evidence,
			"evidence_zh": r.EvidenceZH.String})
		if err != nil {
			return nil, err
		}
		es = append(es, audit.Entry{ID: r.AuditID, At: r.At, ActorID: r.ActorID, ActorRole: r.ActorRole, ActorName: r.ActorName,
			ResidentID: sql.NullInt64{Int64: residentID, Valid: true}, Kind: audit.Trace, Before: "null", After: string(after),
			Reason: r.Reason, Cause: r.Cause, LegalBasis: r.Legal, PrevHash: r.PrevHash, Hash: r.Hash})
	}
	// Newest first, in the chain's order: a contact's entry comes before
	// the colour change it caused, appended in the same transaction.
	slices.SortStableFunc(es, func(a, b audit.Entry) int { return cmp.Compare(b.ID, a.ID) })
	return es[:min(len(es), limit)], nil
}
