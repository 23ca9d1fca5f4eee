package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
)

func TestRawWrite(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		for _, s := range []string{
			"CREATE TABLE parents (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
			"CREATE TABLE things (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parents (id), name TEXT NOT NULL CHECK (name <> ''), n INTEGER)",
			"CREATE INDEX things_parent ON things (parent_id, n)",
			"CREATE UNIQUE INDEX things_name ON things (name)",
			"INSERT INTO parents (id, name) VALUES (1, 'one'), (2, 'two')",
		} {
			if _, err := d.W.ExecContext(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		var rows [][]any
		for i := 1; i <= 1000; i++ {
			rows = append(rows, []any{i, 1 + i%2, fmt.Sprintf("thing %d", i), i * i})
		}
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			return tx.BulkInsert(ctx, "things", []string{"id", "parent_id", "name", "n"}, rows)
		}); err != nil {
			t.Fatal(err)
		}
		cs := []Copy{
			{Table: "things", Where: "id > ? AND parent_id = ?", Args: []any{100, 2}, Key: "id"},
			{Table: "parents", Where: "id >= ?", Args: []any{1}, Key: "id", Upsert: true},
		}
		res, err := rawWrite(ctx, d, cs, 7)
		if err != nil {
			t.Fatal(err)
		}
		if res.Rows["things"] != 450 || res.Rows["parents"] != 2 || res.Transactions != 7 || res.Seconds <= 0 {
			t.Fatalf("result %+v", res)
		}
		if sum := res.TableSeconds["things"] + res.TableSeconds["parents"] + res.CommitSeconds; res.TableSeconds["things"] <= 0 ||
			res.TableSeconds["parents"] <= 0 || res.CommitSeconds <= 0 || sum > res.Seconds {
			t.Errorf("the parts of %.6f s: %v, commits %.6f s", res.Seconds, res.TableSeconds, res.CommitSeconds)
		}
		// The twin holds exactly the rows selected, no other.
		count := func(q string, args ...any) int {
			t.Helper()
			var n int
			if err := db.Get(ctx, d.R, &n, q, args...); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count("SELECT count(*) FROM bench_raw_things"); n != 450 {
			t.Errorf("twin holds %d rows, want 450", n)
		}
		if n := count(`SELECT count(*) FROM things t JOIN bench_raw_things r ON r.id = t.id
			AND r.parent_id = t.parent_id AND r.name = t.name AND r.n = t.n WHERE t.id > 100 AND t.parent_id = 2`); n != 450 {
			t.Errorf("%d of the twin's rows are the selected rows, want 450", n)
		}
		if n := count("SELECT count(*) FROM bench_raw_parents"); n != 2 {
			t.Errorf("upserted twin holds %d rows, want 2", n)
		}
		// The twin has the table's indexes, checks and foreign keys.
		var indexes int
		if d.Dialect == db.Postgres {
			indexes = count("SELECT count(*) FROM pg_indexes WHERE tablename = 'bench_raw_things' AND schemaname = current_schema()")
		} else {
			indexes = count("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'bench_raw_things' AND sql IS NOT NULL")
			indexes++ // the INTEGER PRIMARY KEY is the table's own B-tree in SQLite
		}
		if indexes != 3 {
			t.Errorf("twin has %d indexes, want 3 (primary key, things_parent, things_name)", indexes)
		}
		for _, bad := range []string{
			"INSERT INTO bench_raw_things (id, parent_id, name, n) VALUES (5000, 99, 'x', 1)",        // no parent 99
			"INSERT INTO bench_raw_things (id, parent_id, name, n) VALUES (5001, 1, '', 1)",          // the check
			"INSERT INTO bench_raw_things (id, parent_id, name, n) VALUES (5002, 1, 'thing 101', 1)", // unique name (101 was copied)
		} {
			if _, err := d.W.ExecContext(ctx, bad); err == nil {
				t.Errorf("twin took %q", bad)
			}
		}
		// RawWrite drops its twins.
		if _, err := RawWrite(ctx, d, cs, 3); err != nil {
			t.Fatal(err)
		}
		if _, err := d.W.ExecContext(ctx, "SELECT 1 FROM bench_raw_things"); err == nil || !strings.Contains(strings.ToLower(err.Error()), "bench_raw_things") {
			t.Errorf("twin left behind: %v", err)
		}
	})
}
