package audit

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
)

func testKey(t testing.TB, b byte) *HeadKey {
	t.Helper()
	k, err := NewHeadKey(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func grow(t testing.TB, d *db.DB, n int) {
	t.Helper()
	ctx := context.Background()
	rs := make([]Record, n)
	for i := range rs {
		rs[i] = Record{Actor: System, Kind: ColourChange, After: map[string]int{"n": i}, Reason: "close contact", LegalBasis: "art. 39"}
	}
	if err := d.InTx(ctx, func(tx *db.Tx) error { _, err := AppendBatch(ctx, tx, rs); return err }); err != nil {
		t.Fatal(err)
	}
}

// rewrite does what whoever writes the database can: change entry id and
// recompute every later hash and the chain's head row, so that Verify
// passes.
func rewrite(t *testing.T, d *db.DB, id int64, reason string) {
	t.Helper()
	ctx := context.Background()
	var es []Entry
	if err := db.Select(ctx, d.R, &es, "SELECT "+columns+" FROM audit_log WHERE id >= ? ORDER BY id", id); err != nil {
		t.Fatal(err)
	}
	prev := es[0].PrevHash
	for i := range es {
		e := &es[i]
		if e.ID == id {
			e.Reason = reason
		}
		e.PrevHash = prev
		e.Hash = hashOf(e)
		prev = e.Hash
		if _, err := db.Exec(ctx, d.W, "UPDATE audit_log SET reason = ?, prev_hash = ?, hash = ? WHERE id = ?", e.Reason, e.PrevHash, e.Hash, e.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(ctx, d.W, "UPDATE audit_head SET last_hash = ? WHERE id = 1", prev); err != nil {
		t.Fatal(err)
	}
}

// truncate cuts the chain after entry id, head row and all.
func truncate(t *testing.T, d *db.DB, id int64) {
	t.Helper()
	ctx := context.Background()
	var hash []byte
	if err := db.Get(ctx, d.R, &hash, "SELECT hash FROM audit_log WHERE id = ?", id); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, d.W, "DELETE FROM audit_log WHERE id > ?", id); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, d.W, "UPDATE audit_head SET last_id = ?, last_hash = ? WHERE id = 1", id, hash); err != nil {
		t.Fatal(err)
	}
}

func mustSign(t *testing.T, l *HeadLog, size int64, created bool) Head {
	t.Helper()
	h, c, err := l.Sign(context.Background())
	if err != nil || c != created || h.Size != size {
		t.Fatalf("Sign = size %d created %v, %v; want size %d created %v", h.Size, c, err, size, created)
	}
	return h
}

func TestHeadKey(t *testing.T) {
	k := testKey(t, 7)
	signed, err := k.sign(3, bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(signed, "outbreak/audit\n3\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n\n— outbreak/audit ") {
		t.Fatalf("note = %q", signed)
	}
	v, err := VerifierKey(k.Verifier())
	if err != nil {
		t.Fatal(err)
	}
	if h, err := v.Open([]byte(signed)); err != nil || h.Size != 3 {
		t.Fatalf("Open with the verifier key = %+v, %v", h, err)
	}
	if _, err := v.sign(4, nil); err == nil {
		t.Fatal("a verifier key signs")
	}
	if _, err := testKey(t, 8).Open([]byte(signed)); !errors.Is(err, ErrBadHead) {
		t.Fatalf("Open with another key = %v", err)
	}
	if _, err := k.Open([]byte(strings.Replace(signed, "\n3\n", "\n4\n", 1))); !errors.Is(err, ErrBadHead) {
		t.Fatalf("Open of an edited head = %v", err)
	}
	if testKey(t, 7).Verifier() != k.Verifier() {
		t.Fatal("the same seed makes another key")
	}
}

func TestSignedHeads(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		l := &HeadLog{DB: d, Key: testKey(t, 1)}
		if _, err := l.Latest(ctx); !errors.Is(err, ErrNoHead) {
			t.Fatalf("Latest before any head = %v", err)
		}
		mustSign(t, l, 0, false) // nothing to sign
		grow(t, d, 10)
		first := mustSign(t, l, 10, true)
		mustSign(t, l, 10, false)
		grow(t, d, 5)
		mustSign(t, l, 15, true)
		if h, err := l.Latest(ctx); err != nil || h.Size != 15 {
			t.Fatalf("Latest = %+v, %v", h, err)
		}
		if hs, err := l.Since(ctx, 10, 10); err != nil || len(hs) != 1 || hs[0].Size != 15 {
			t.Fatalf("Since(10) = %+v, %v", hs, err)
		}
		if hs, err := l.Since(ctx, 0, 1); err != nil || len(hs) != 1 || hs[0].Size != 10 || hs[0].Note != first.Note {
			t.Fatalf("Since(0, 1) = %+v, %v", hs, err)
		}
		rep, err := l.Check(ctx, nil)
		if err != nil || !rep.OK || rep.Entries != 15 || rep.HeadsChecked != 2 {
			t.Fatalf("Check of an untouched chain = %+v, %v", rep, err)
		}
	})
}

func TestCheckFindsRewrittenChain(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		l := &HeadLog{DB: d, Key: testKey(t, 1)}
		grow(t, d, 10)
		mustSign(t, l, 10, true)
		grow(t, d, 5)
		mustSign(t, l, 15, true)

		rewrite(t, d, 3, "nothing happened")
		if rep, err := Verify(ctx, d, nil); err != nil || !rep.OK {
			t.Fatalf("the rewrite is not complete: Verify = %+v, %v", rep, err)
		}
		rep, err := l.Check(ctx, nil)
		if err != nil || rep.OK || rep.Head == nil || rep.Head.Size != 10 || rep.BrokenAt != 10 ||
			rep.Message.Key != "audit.verify.rewritten" || !strings.Contains(rep.Problem, "for 10 entries") {
			t.Fatalf("Check of a rewritten chain = %+v, %v; want it to name the head of 10 entries", rep, err)
		}
		if _, _, err := l.Sign(ctx); !errors.Is(err, ErrNotExtended) {
			t.Fatalf("Sign of a rewritten chain = %v", err)
		}
	})
}

func TestCheckFindsCutChain(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		l := &HeadLog{DB: d, Key: testKey(t, 1)}
		grow(t, d, 10)
		mustSign(t, l, 10, true)
		grow(t, d, 5)
		mustSign(t, l, 15, true)

		truncate(t, d, 12)
		if rep, err := Verify(ctx, d, nil); err != nil || !rep.OK {
			t.Fatalf("the cut is not clean: Verify = %+v, %v", rep, err)
		}
		rep, err := l.Check(ctx, nil)
		if err != nil || rep.OK || rep.Head == nil || rep.Head.Size != 15 || rep.Entries != 12 || rep.HeadsChecked != 1 ||
			rep.Message.Key != "audit.verify.cut" {
			t.Fatalf("Check of a cut chain = %+v, %v; want it to name the head of 15 entries", rep, err)
		}
		if _, _, err := l.Sign(ctx); !errors.Is(err, ErrNotExtended) {
			t.Fatalf("Sign of a cut chain = %v", err)
		}
	})
}

// TestCheckAgainstHeadsFromElsewhere: whoever rewrites the chain may also
// delete the stored heads; a head kept elsewhere still catches it, and a
// stored head whose note was edited fails.
func TestCheckAgainstHeadsFromElsewhere(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		l := &HeadLog{DB: d, Key: testKey(t, 1)}
		grow(t, d, 8)
		kept := mustSign(t, l, 8, true)
		opened, err := l.Key.Open([]byte(kept.Note))
		if err != nil {
			t.Fatal(err)
		}
		rewrite(t, d, 8, "nothing happened")
		if _, err := db.Exec(ctx, d.W, "DELETE FROM audit_heads"); err != nil {
			t.Fatal(err)
		}
		if rep, err := l.Check(ctx, nil); err != nil || !rep.OK || rep.HeadsChecked != 0 {
			t.Fatalf("Check without heads = %+v, %v", rep, err)
		}
		if rep, err := l.Check(ctx, nil, opened); err != nil || rep.OK || rep.Head == nil || rep.Head.Size != 8 {
			t.Fatalf("Check against the kept head = %+v, %v", rep, err)
		}

		// A stored head edited in place does not open.
		grow(t, d, 1)
		mustSign(t, l, 9, true)
		if _, err := db.Exec(ctx, d.W, "UPDATE audit_heads SET note = REPLACE(note, '\n9\n', '\n7\n')"); err != nil {
			t.Fatal(err)
		}
		if rep, err := l.Check(ctx, nil); err != nil || rep.OK || rep.Message.Key != "audit.verify.bad_head" {
			t.Fatalf("Check with an edited stored head = %+v, %v", rep, err)
		}
	})
}

// TestCheckWhileTheChainGrows: entries appended during a check or a
// signing are past the head they read, not a broken end.
func TestCheckWhileTheChainGrows(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		l := &HeadLog{DB: d, Key: testKey(t, 1)}
		grow(t, d, 20_001) // more than a page of the walk
		done := make(chan error, 1)
		go func() {
			var err error
			for i := 0; i < 50 && err == nil; i++ {
				err = d.InTx(ctx, func(tx *db.Tx) error {
					_, err := Append(ctx, tx, Record{Actor: System, Kind: Purge, Reason: "r", LegalBasis: "b"})
					return err
				})
			}
			done <- err
		}()
		defer func() {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}()
		for range 500 {
			if _, _, err := l.Sign(ctx); err != nil {
				t.Fatalf("Sign while appending: %v", err)
			}
			if rep, err := l.Check(ctx, nil); err != nil || !rep.OK {
				t.Fatalf("Check while appending = %+v, %v", rep, err)
			}
			if n, _ := Latest(ctx, d, 1); len(n) == 1 && n[0].ID == 20_051 {
				return
			}
		}
	})
}

// FuzzOpenHead: a signed head from elsewhere (a file, a URL) never panics
// the reader, and what opens is a checkpoint of this chain.
func FuzzOpenHead(f *testing.F) {
	k := testKey(f, 1)
	signed, err := k.sign(42, bytes.Repeat([]byte{9}, 32))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(signed))
	f.Add([]byte("outbreak/audit\n1\n\n\n— outbreak/audit AAAA\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := k.Open(b)
		if err != nil {
			return
		}
		if h.Size < 1 || len(h.Hash) != 32 || !strings.HasPrefix(string(b), body(h.Size, h.Hash)) {
			t.Fatalf("opened %q as %+v", b, h)
		}
	})
}
