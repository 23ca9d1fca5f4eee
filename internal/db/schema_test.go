package db_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
)

// schema is what the migrations of one dialect make, in terms both
// dialects share.
type schema struct {
	// columns: "table.column" -> "class not-null", the class a loose
	// mapping of the declared type (see typeClass).
	columns map[string]string
	// indexes: "table.index" -> "unique (cols)" for every index created by
	// name; keys: "table" -> sorted "primary (cols)" and "unique (cols)"
	// entries for the keys and UNIQUE constraints (whose index names the
	// dialects choose themselves).
	indexes map[string]string
	keys    map[string][]string
	// foreign: "table.(cols)" -> "references table(cols) on delete action".
	foreign map[string]string
}

// intended are the differences the migrations mean to have, each with its
// reason; the test fails when one of them is no longer there, so that the
// list does not outlive the difference.
var intended = map[string]string{
	// SQLite's counterpart of PostgreSQL's daily partitions of check-ins
	// (sqlite/00006_checkins.sql): generated hour and day buckets that lead
	// the indexes, so that each batch writes one region of each index.
	"column checkins.hour":             "sqlite time bucket",
	"column checkins.day":              "sqlite time bucket",
	"index checkins.checkins_place":    "sqlite time bucket",
	"index checkins.checkins_resident": "sqlite time bucket",
	// A partitioned table's keys must include the partition column, and
	// the identity needs none; SQLite's INTEGER PRIMARY KEY is the rowid.
	"keys of table checkins": "postgres partitions",
}

// TestMigrationsAgree: the SQLite and PostgreSQL migrations give the same
// tables, columns (with loosely the same types and the same NOT NULL),
// indexes by name, and the same primary keys and unique constraints.
func TestMigrationsAgree(t *testing.T) {
	if _, err := dbtest.PostgresURL(); err != nil {
		if os.Getenv("OUTBREAK_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("PostgreSQL required but unreachable: %v", err)
		}
		t.Skipf("PostgreSQL unreachable: %v", err)
	}
	ctx := context.Background()
	lite, err := sqliteSchema(ctx, dbtest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	pg, err := postgresSchema(ctx, dbtest.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []schema{lite, pg} {
		if len(s.columns) < 100 || len(s.indexes) < 10 || len(s.keys) < 20 || len(s.foreign) < 10 {
			t.Fatalf("read only %d columns, %d indexes, %d tables' keys and %d foreign keys", len(s.columns), len(s.indexes), len(s.keys), len(s.foreign))
		}
	}
	compare(t, "column", lite.columns, pg.columns)
	compare(t, "index", lite.indexes, pg.indexes)
	lk, pk := map[string]string{}, map[string]string{}
	for tbl, ks := range lite.keys {
		lk[tbl] = strings.Join(ks, ", ")
	}
	for tbl, ks := range pg.keys {
		pk[tbl] = strings.Join(ks, ", ")
	}
	compare(t, "keys of table", lk, pk)
	compare(t, "foreign key", lite.foreign, pg.foreign)
	for what := range intended {
		if !seen[what] {
			t.Errorf("%s is listed as an intended difference but the dialects now agree: take it off the list", what)
		}
	}
}

// seen records the intended differences that were met.
var seen = map[string]bool{}

func compare(t *testing.T, what string, lite, pg map[string]string) {
	t.Helper()
	var names []string
	for n := range lite {
		names = append(names, n)
	}
	for n := range pg {
		if _, ok := lite[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		l, inLite := lite[n]
		p, inPG := pg[n]
		if inLite && inPG && l == p {
			continue
		}
		if _, ok := intended[what+" "+n]; ok {
			seen[what+" "+n] = true
			continue
		}
		switch {
		case !inPG:
			t.Errorf("%s %s is only in the SQLite migrations (%s)", what, n, l)
		case !inLite:
			t.Errorf("%s %s is only in the PostgreSQL migrations (%s)", what, n, p)
		case l != p:
			t.Errorf("%s %s: SQLite %s, PostgreSQL %s", what, n, l, p)
		}
	}
}

// typeClass maps a declared column type of either dialect to a class both
// share. SQLite keeps booleans in INTEGER and dates and JSON in TEXT, so
// those PostgreSQL types fall into the SQLite class.
func typeClass(typ string) string {
	typ = strings.ToLower(typ)
	switch {
	case strings.Contains(typ, "int"), typ == "boolean", typ == "bool":
		return "integer"
	case typ == "real", strings.HasPrefix(typ, "double"), strings.HasPrefix(typ, "numeric"), typ == "float":
		return "real"
	case typ == "text", strings.Contains(typ, "char"), typ == "date", typ == "json", typ == "jsonb":
		return "text"
	case typ == "blob", typ == "bytea":
		return "blob"
	case strings.HasPrefix(typ, "timestamp"), typ == "datetime":
		return "time"
	}
	return "?" + typ
}

// ignored tables belong to the migration tool or the engine.
func ignored(table string) bool {
	return table == "goose_db_version" || strings.HasPrefix(table, "sqlite_")
}

func sqliteSchema(ctx context.Context, d *db.DB) (schema, error) {
	s := schema{columns: map[string]string{}, indexes: map[string]string{}, keys: map[string][]string{}, foreign: map[string]string{}}
	var cols []struct {
		Table   string `db:"tbl"`
		Name    string `db:"name"`
		Type    string `db:"type"`
		NotNull bool   `db:"notnull"`
		PK      int    `db:"pk"`
	}
	if err := db.Select(ctx, d.R, &cols, `SELECT m.name AS tbl, p.name, p.type, p."notnull", p.pk
		FROM sqlite_master m, pragma_table_xinfo(m.name) p WHERE m.type = 'table' ORDER BY m.name, p.pk`); err != nil {
		return s, fmt.Errorf("sqlite columns: %w", err)
	}
	pks := map[string][]string{}
	for _, c := range cols {
		if ignored(c.Table) {
			continue
		}
		s.columns[c.Table+"."+c.Name] = fmt.Sprintf("%s notnull=%t", typeClass(c.Type), c.NotNull || c.PK > 0)
		if c.PK > 0 {
			pks[c.Table] = append(pks[c.Table], c.Name)
		}
	}
	for tbl, pk := range pks {
		s.keys[tbl] = append(s.keys[tbl], "primary ("+strings.Join(pk, ",")+")")
	}
	var idx []struct {
		Table  string `db:"tbl"`
		Name   string `db:"name"`
		Unique bool   `db:"uniq"`
		Origin string `db:"origin"`
		Cols   string `db:"cols"`
	}
	if err := db.Select(ctx, d.R, &idx, `SELECT m.name AS tbl, l.name, l."unique" AS uniq, l.origin,
		(SELECT group_concat(COALESCE(i.name, '(expr)'), ',') FROM (SELECT name FROM pragma_index_info(l.name) ORDER BY seqno) i) AS cols
		FROM sqlite_master m, pragma_index_list(m.name) l WHERE m.type = 'table'`); err != nil {
		return s, fmt.Errorf("sqlite indexes: %w", err)
	}
	for _, x := range idx {
		if ignored(x.Table) {
			continue
		}
		switch x.Origin {
		case "c":
			s.indexes[x.Table+"."+x.Name] = fmt.Sprintf("unique=%t (%s)", x.Unique, x.Cols)
		case "u":
			s.keys[x.Table] = append(s.keys[x.Table], "unique ("+x.Cols+")")
		case "pk":
			// The primary key's columns come from table_info above.
		}
	}
	for tbl := range s.keys {
		slices.Sort(s.keys[tbl])
	}
	var fks []struct {
		Table    string `db:"tbl"`
		ID       int    `db:"id"`
		From     string `db:"from"`
		To       string `db:"to"`
		Ref      string `db:"ref"`
		OnDelete string `db:"on_delete"`
	}
	if err := db.Select(ctx, d.R, &fks, `SELECT m.name AS tbl, f.id, f."from", COALESCE(f."to", '') AS "to", f."table" AS ref, f.on_delete
		FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table' ORDER BY m.name, f.id, f.seq`); err != nil {
		return s, fmt.Errorf("sqlite foreign keys: %w", err)
	}
	type fk struct {
		table, ref, onDelete string
		from, to             []string
	}
	byID := map[string]*fk{}
	var order []string
	for _, f := range fks {
		k := fmt.Sprintf("%s#%d", f.Table, f.ID)
		if byID[k] == nil {
			byID[k] = &fk{table: f.Table, ref: f.Ref, onDelete: f.OnDelete}
			order = append(order, k)
		}
		byID[k].from = append(byID[k].from, f.From)
		byID[k].to = append(byID[k].to, f.To)
	}
	for _, k := range order {
		f := byID[k]
		to := strings.Join(f.to, ",")
		if to == "" {
			to = "id" // REFERENCES t without columns names its primary key
		}
		s.foreign[f.table+".("+strings.Join(f.from, ",")+")"] = fmt.Sprintf("references %s(%s) on delete %s", f.ref, to, strings.ToLower(f.onDelete))
	}
	return s, nil
}

func postgresSchema(ctx context.Context, d *db.DB) (schema, error) {
	s := schema{columns: map[string]string{}, indexes: map[string]string{}, keys: map[string][]string{}, foreign: map[string]string{}}
	var cols []struct {
		Table   string `db:"tbl"`
		Name    string `db:"name"`
		Type    string `db:"type"`
		NotNull bool   `db:"notnull"`
	}
	if err := db.Select(ctx, d.R, &cols, `SELECT c.relname AS tbl, a.attname AS name, format_type(a.atttypid, NULL) AS type, a.attnotnull AS notnull
		FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
		WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
		AND a.attnum > 0 AND NOT a.attisdropped`); err != nil {
		return s, fmt.Errorf("postgres columns: %w", err)
	}
	for _, c := range cols {
		if ignored(c.Table) {
			continue
		}
		s.columns[c.Table+"."+c.Name] = fmt.Sprintf("%s notnull=%t", typeClass(c.Type), c.NotNull)
	}
	var idx []struct {
		Table      string `db:"tbl"`
		Name       string `db:"name"`
		Unique     bool   `db:"uniq"`
		Primary    bool   `db:"prim"`
		Constraint bool   `db:"con"`
		Cols       string `db:"cols"`
	}
	if err := db.Select(ctx, d.R, &idx, `SELECT t.relname AS tbl, i.relname AS name, x.indisunique AS uniq, x.indisprimary AS prim,
		EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid) AS con,
		(SELECT string_agg(COALESCE(a.attname, '(expr)'), ',' ORDER BY k.n)
			FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
			LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum AND k.attnum > 0
			WHERE k.n <= x.indnkeyatts) AS cols
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
		WHERE t.relnamespace = current_schema()::regnamespace AND NOT t.relispartition`); err != nil {
		return s, fmt.Errorf("postgres indexes: %w", err)
	}
	for _, x := range idx {
		if ignored(x.Table) {
			continue
		}
		switch {
		case x.Primary:
			s.keys[x.Table] = append(s.keys[x.Table], "primary ("+x.Cols+")")
		case x.Constraint:
			s.keys[x.Table] = append(s.keys[x.Table], "unique ("+x.Cols+")")
		default:
			s.indexes[x.Table+"."+x.Name] = fmt.Sprintf("unique=%t (%s)", x.Unique, x.Cols)
		}
	}
	for tbl := range s.keys {
		slices.Sort(s.keys[tbl])
	}
	var fks []struct {
		Table    string `db:"tbl"`
		From     string `db:"from_cols"`
		Ref      string `db:"ref"`
		To       string `db:"to_cols"`
		OnDelete string `db:"on_delete"`
	}
	if err := db.Select(ctx, d.R, &fks, `SELECT t.relname AS tbl, r.relname AS ref,
		(SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(c.conkey) WITH ORDINALITY k(attnum, n)
			JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS from_cols,
		(SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(c.confkey) WITH ORDINALITY k(attnum, n)
			JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum) AS to_cols,
		CASE c.confdeltype WHEN 'a' THEN 'no action' WHEN 'r' THEN 'restrict' WHEN 'c' THEN 'cascade'
			WHEN 'n' THEN 'set null' WHEN 'd' THEN 'set default' END AS on_delete
		FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
		WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace AND NOT t.relispartition
		AND c.conparentid = 0`); err != nil {
		return s, fmt.Errorf("postgres foreign keys: %w", err)
	}
	for _, f := range fks {
		s.foreign[f.Table+".("+f.From+")"] = fmt.Sprintf("references %s(%s) on delete %s", f.Ref, f.To, f.OnDelete)
	}
	return s, nil
}
