package db

import (
	"context"
	"fmt"
	"strings"
)

// DropIndexes drops the secondary indexes of tables — those not backing a
// primary key or constraint — and returns a function that creates them
// again. Loading many rows into empty tables and then indexing them sorts
// once instead of inserting into every index row by row. The caller must
// call restore, whatever happens to the load.
func (d *DB) DropIndexes(ctx context.Context, tables ...string) (restore func(context.Context) error, err error) {
	var idx []indexDef
	in := "'" + strings.Join(tables, "','") + "'"
	switch d.Dialect {
	case SQLite:
		err = Select(ctx, d.W, &idx, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ("+in+")")
	case Postgres:
		err = Select(ctx, d.W, &idx, `SELECT indexname AS name, indexdef AS sql FROM pg_indexes
			WHERE schemaname = current_schema() AND tablename IN (`+in+`)
			AND indexname NOT IN (SELECT conname FROM pg_constraint)`)
	}
	if err != nil {
		return nil, fmt.Errorf("db: list indexes: %w", err)
	}
	for i, x := range idx {
		if _, err := d.W.ExecContext(ctx, "DROP INDEX "+x.Name); err != nil {
			_ = recreate(ctx, d, idx[:i])
			return nil, fmt.Errorf("db: drop index %s: %w", x.Name, err)
		}
	}
	return func(ctx context.Context) error { return recreate(ctx, d, idx) }, nil
}

type indexDef struct {
	Name string `db:"name"`
	SQL  string `db:"sql"`
}

func recreate(ctx context.Context, d *DB, idx []indexDef) error {
	if d.Dialect == SQLite {
		// Let SQLite's sorter use a helper thread while building indexes.
		if _, err := d.W.ExecContext(ctx, "PRAGMA threads = 2"); err != nil {
			return fmt.Errorf("db: sorter threads: %w", err)
		}
	}
	for _, x := range idx {
		if _, err := d.W.ExecContext(ctx, x.SQL); err != nil {
			return fmt.Errorf("db: recreate index %s: %w", x.Name, MapError(err))
		}
	}
	if d.Dialect == SQLite {
		// A sampled ANALYZE: enough for the planner, a fraction of the time.
		if _, err := d.W.ExecContext(ctx, "PRAGMA analysis_limit = 1000; ANALYZE"); err != nil {
			return fmt.Errorf("db: analyze: %w", err)
		}
	}
	return nil
}
