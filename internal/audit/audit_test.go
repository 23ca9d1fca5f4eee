package audit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/rbac"
)

func appendN(t *testing.T, d *db.DB, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := audit.Append(ctx, tx, audit.Record{Actor: audit.System, Kind: audit.ColourChange,
				Before: map[string]string{"colour": "green"}, After: map[string]string{"colour": fmt.Sprint("red-", i)},
				Reason: "close contact of a confirmed case", LegalBasis: "Law on the Prevention and Treatment of Infectious Diseases, art. 39"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestChain(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		rep, err := audit.Verify(ctx, d, nil)
		if err != nil || !rep.OK || rep.Entries != 0 {
			t.Fatalf("empty chain: %+v, %v", rep, err)
		}
		appendN(t, d, 25)
		rep, err = audit.Verify(ctx, d, nil)
		if err != nil || !rep.OK || rep.Entries != 25 {
			t.Fatalf("intact chain: %+v, %v", rep, err)
		}

		err = d.InTx(ctx, func(tx *db.Tx) error {
			_, err := audit.Append(ctx, tx, audit.Record{Actor: rbac.Actor{Name: "x", Role: rbac.Epidemiologist}, Kind: audit.Override, Reason: " "})
			return err
		})
		if !errors.Is(err, audit.ErrNoReason) {
			t.Fatalf("append without reason = %v", err)
		}

		// A rolled-back change leaves no entry and no gap.
		err = d.InTx(ctx, func(tx *db.Tx) error {
			if _, err := audit.Append(ctx, tx, audit.Record{Actor: audit.System, Kind: audit.Purge, Reason: "r", LegalBasis: "b"}); err != nil {
				return err
			}
			return errors.New("the change failed")
		})
		if err == nil {
			t.Fatal("want the failure")
		}
		if rep, _ := audit.Verify(ctx, d, nil); !rep.OK || rep.Entries != 25 {
			t.Fatalf("after rollback: %+v", rep)
		}
	})
}

func TestTamperingIsFound(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, sql string
		at        int64
	}{
		{"edited reason", "UPDATE audit_log SET reason = 'nothing to see' WHERE id = 7", 7},
		{"edited colour", `UPDATE audit_log SET after = '{"colour":"green"}' WHERE id = 3`, 3},
		{"deleted middle", "DELETE FROM audit_log WHERE id = 5", 5},
		{"deleted last", "DELETE FROM audit_log WHERE id = 10", 10},
		{"rewritten hash", "UPDATE audit_log SET hash = prev_hash WHERE id = 9", 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				appendN(t, d, 10)
				if _, err := d.W.ExecContext(ctx, tc.sql); err != nil {
					t.Fatal(err)
				}
				rep, err := audit.Verify(ctx, d, nil)
				if err != nil || rep.OK || rep.BrokenAt != tc.at || rep.Problem == "" {
					t.Fatalf("Verify = %+v, %v; want broken at %d", rep, err, tc.at)
				}
			})
		})
	}
}

func TestConcurrentAppendsKeepOneChain(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 5 {
					err := d.InTx(ctx, func(tx *db.Tx) error {
						_, err := audit.Append(ctx, tx, audit.Record{Actor: audit.System, Kind: audit.ColourChange, Reason: "r", LegalBasis: "b"})
						return err
					})
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if rep, err := audit.Verify(ctx, d, nil); err != nil || !rep.OK || rep.Entries != 40 {
			t.Fatalf("Verify = %+v, %v", rep, err)
		}
	})
}
