package db_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
)

func TestStore(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		pending, err := d.Pending(ctx)
		if err != nil || pending {
			t.Fatalf("Pending after migrate = %v, %v; want false, nil", pending, err)
		}
		if err := d.Ping(ctx); err != nil {
			t.Fatal(err)
		}

		t.Run("rollback leaves nothing", func(t *testing.T) {
			boom := errors.New("boom")
			err := d.InTx(ctx, func(tx *db.Tx) error {
				if _, err := db.Exec(ctx, tx, "INSERT INTO meta (key, value) VALUES (?, ?)", "a", "1"); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("InTx error = %v, want boom", err)
			}
			var n int
			if err := db.Get(ctx, d.R, &n, "SELECT count(*) FROM meta WHERE key = ?", "a"); err != nil || n != 0 {
				t.Fatalf("rows after rollback = %d, %v; want 0", n, err)
			}
		})

		t.Run("unique violation is a conflict naming its constraint", func(t *testing.T) {
			insert := func() error {
				return d.InTx(ctx, func(tx *db.Tx) error {
					_, err := db.Exec(ctx, tx, "INSERT INTO meta (key, value) VALUES (?, ?)", "dup", "1")
					return err
				})
			}
			if err := insert(); err != nil {
				t.Fatal(err)
			}
			err := insert()
			var ce *db.ConflictError
			if !errors.Is(err, db.ErrConflict) || !errors.As(err, &ce) || ce.Constraint == "" {
				t.Fatalf("second insert = %v, want a ConflictError", err)
			}
		})

		t.Run("not found", func(t *testing.T) {
			var v string
			if err := db.Get(ctx, d.R, &v, "SELECT value FROM meta WHERE key = ?", "nope"); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("Get missing = %v, want ErrNotFound", err)
			}
		})

		t.Run("bulk insert", func(t *testing.T) {
			var rows [][]any
			for i := range 20000 { // more than one SQLite statement's worth
				rows = append(rows, []any{"bulk-" + strconv.Itoa(i), "v"})
			}
			err := d.InTx(ctx, func(tx *db.Tx) error {
				return tx.BulkInsert(ctx, "meta", []string{"key", "value"}, rows)
			})
			if err != nil {
				t.Fatal(err)
			}
			var n int
			if err := db.Get(ctx, d.R, &n, "SELECT count(*) FROM meta WHERE key LIKE 'bulk-%'"); err != nil || n != len(rows) {
				t.Fatalf("bulk rows = %d, %v; want %d", n, err, len(rows))
			}
		})
	})
}
