package audit_test

import (
	"context"
	"slices"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/i18n"
)

// TestKindsHaveNames: every kind of audit entry is named on the pages that
// list them, not shown as its message key. (Here, not in internal/i18n:
// audit words causes with i18n messages.)
func TestKindsHaveNames(t *testing.T) {
	c, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range i18n.Langs {
		for _, k := range audit.Kinds {
			if !slices.Contains(c.Keys(lang), "audit."+k) {
				t.Errorf("audit entries of kind %q have no name in %s", k, lang)
			}
		}
	}
}

// TestCauseIsChained: an entry's cause is stored, read back as a message,
// and covered by its hash — editing or removing it breaks the chain — while
// an entry without one hashes as entries did before causes.
func TestCauseIsChained(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ name, sql string }{
		{"edited cause", `UPDATE audit_log SET cause = '{"key":"history.cause.daily"}' WHERE id = 2`},
		{"removed cause", `UPDATE audit_log SET cause = '' WHERE id = 2`},
		{"added cause", `UPDATE audit_log SET cause = '{"key":"history.cause.daily"}' WHERE id = 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				err := d.InTx(ctx, func(tx *db.Tx) error {
					_, err := audit.AppendBatch(ctx, tx, []audit.Record{
						{Actor: audit.System, Kind: audit.Purge, Reason: "typed", LegalBasis: "law"},
						{Actor: audit.System, Kind: audit.Trace, Reason: "contact tracing of a case C0001", LegalBasis: "law",
							Cause: i18n.M("history.cause.trace", "Case", "C0001")},
					})
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				es, err := audit.Latest(ctx, d, 2)
				if err != nil || len(es) != 2 {
					t.Fatalf("entries: %+v, %v", es, err)
				}
				if m, ok := es[0].CauseOf(); !ok || m.Key != "history.cause.trace" || m.Args["Case"] != "C0001" {
					t.Errorf("cause read back: %+v, %v", m, ok)
				}
				if _, ok := es[1].CauseOf(); ok {
					t.Error("an entry without a cause has one")
				}
				if rep, err := audit.Verify(ctx, d, nil); err != nil || !rep.OK {
					t.Fatalf("before tampering: %+v, %v", rep, err)
				}
				if _, err := d.W.ExecContext(ctx, tc.sql); err != nil {
					t.Fatal(err)
				}
				if rep, err := audit.Verify(ctx, d, nil); err != nil || rep.OK {
					t.Fatalf("after %s: %+v, %v", tc.name, rep, err)
				}
			})
		})
	}
}
