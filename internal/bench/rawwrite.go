package bench

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/db"
)

// Copy names rows of a table that RawWrite writes again.
type Copy struct {
	Table string
	// Where selects the rows (SQL, with ? for Args).
	Where string
	Args  []any
	// Key is a unique integer column: the rows are split into
	// transactions by ranges of it, and Upsert conflicts on it.
	Key string
	// Upsert fills the twin with the rows first, untimed, so that the
	// timed write updates existing rows (INSERT … ON CONFLICT (Key) DO
	// UPDATE), as a recomputed code does.
	Upsert bool
}

// RawResult is what RawWrite measured.
type RawResult struct {
	Seconds      float64        `json:"seconds"`
	Transactions int            `json:"transactions"`
	Rows         map[string]int `json:"rows"`
	// TableSeconds is how long each table's writes took, and
	// CommitSeconds the commits (on SQLite in WAL mode, writing the
	// pages to the log, and now and then a checkpoint).
	TableSeconds  map[string]float64 `json:"table_seconds"`
	CommitSeconds float64            `json:"commit_seconds"`
	// CPUSeconds is the process's CPU time during the transactions: all
	// of the write on SQLite (in the process), the client's part only on
	// PostgreSQL.
	CPUSeconds float64 `json:"cpu_seconds"`
}

// rawPrefix names the twins; RawWrite drops them when it is done.
const rawPrefix = "bench_raw_"

// RawWrite measures the store's raw limit for writing rows it already
// holds: it writes the rows each Copy selects again, into a twin of its
// table (the same columns, checks, indexes and foreign keys) with bare
// multi-row INSERTs (COPY on PostgreSQL), in n transactions, each with an
// nth of every table's rows. It times the transactions alone — not the
// reading of the rows, which happens before each — and drops the twins.
// What a service does besides writing (reading inputs, evaluating rules,
// building the rows) is not in the figure: it is what that service's own
// time can be compared with.
func RawWrite(ctx context.Context, d *db.DB, cs []Copy, n int) (res RawResult, err error) {
	defer func() {
		for _, c := range cs {
			if _, dropErr := d.W.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+rawPrefix+c.Table); dropErr != nil && err == nil {
				err = fmt.Errorf("bench: drop twin of %s: %w", c.Table, dropErr)
			}
		}
	}()
	return rawWrite(ctx, d, cs, n)
}

// rawWrite is RawWrite but for dropping the twins.
func rawWrite(ctx context.Context, d *db.DB, cs []Copy, n int) (RawResult, error) {
	n = max(n, 1)
	res := RawResult{Transactions: n, Rows: map[string]int{}, TableSeconds: map[string]float64{}}
	bounds := make([][][2]int64, len(cs)) // per copy, per transaction: the Key range
	for i, c := range cs {
		if err := twin(ctx, d, c.Table); err != nil {
			return res, err
		}
		var keys []int64
		if err := db.Select(ctx, d.R, &keys, "SELECT "+c.Key+" FROM "+c.Table+" WHERE "+c.Where+" ORDER BY "+c.Key, c.Args...); err != nil {
			return res, fmt.Errorf("bench: keys of %s: %w", c.Table, err)
		}
		res.Rows[c.Table] = len(keys)
		bounds[i] = split(keys, n)
		if c.Upsert {
			if _, err := db.Exec(ctx, d.W, "INSERT INTO "+rawPrefix+c.Table+" SELECT * FROM "+c.Table+" WHERE "+c.Where, c.Args...); err != nil {
				return res, fmt.Errorf("bench: fill twin of %s: %w", c.Table, err)
			}
		}
	}
	var took time.Duration
	for t := range n {
		type batch struct {
			cols []string
			rows [][]any
		}
		bs := make([]batch, len(cs))
		for i, c := range cs {
			if t >= len(bounds[i]) {
				continue
			}
			r := bounds[i][t]
			args := append(append([]any(nil), c.Args...), r[0], r[1])
			cols, rows, err := readRows(ctx, d, "SELECT * FROM "+c.Table+" WHERE ("+c.Where+") AND "+c.Key+" BETWEEN ? AND ? ORDER BY "+c.Key, args)
			if err != nil {
				return res, fmt.Errorf("bench: read %s: %w", c.Table, err)
			}
			bs[i] = batch{cols, rows}
		}
		start, cpu := time.Now(), ProcessCPU()
		var wrote time.Time // when the last table's writes ended
		err := d.InTx(ctx, func(tx *db.Tx) error {
			defer func() { wrote = time.Now() }()
			for i, c := range cs {
				b := bs[i]
				if len(b.rows) == 0 {
					continue
				}
				t0 := time.Now()
				var err error
				if c.Upsert {
					err = upsert(ctx, tx, rawPrefix+c.Table, c.Key, b.cols, b.rows)
				} else {
					err = tx.BulkInsert(ctx, rawPrefix+c.Table, b.cols, b.rows)
				}
				res.TableSeconds[c.Table] += time.Since(t0).Seconds()
				if err != nil {
					return err
				}
			}
			return nil
		})
		took += time.Since(start)
		res.CPUSeconds += (ProcessCPU() - cpu).Seconds()
		res.CommitSeconds += time.Since(wrote).Seconds()
		if err != nil {
			return res, fmt.Errorf("bench: raw write: %w", err)
		}
	}
	res.Seconds = took.Seconds()
	return res, nil
}

// split cuts sorted keys into at most n ranges of about as many keys.
func split(keys []int64, n int) [][2]int64 {
	var out [][2]int64
	for t := range n {
		lo, hi := t*len(keys)/n, (t+1)*len(keys)/n
		if hi > lo {
			out = append(out, [2]int64{keys[lo], keys[hi-1]})
		}
	}
	return out
}

var (
	sqliteTable = regexp.MustCompile(`^CREATE TABLE\s+("[^"]+"|\S+)`)
	sqliteIndex = regexp.MustCompile(`^CREATE (UNIQUE )?INDEX\s+("[^"]+"|\S+)\s+ON\s+("[^"]+"|\S+)`)
)

// twin creates an empty table like table, with its indexes and foreign
// keys, named rawPrefix+table.
func twin(ctx context.Context, d *db.DB, table string) error {
	name := rawPrefix + table
	if _, err := d.W.ExecContext(ctx, "DROP TABLE IF EXISTS "+name); err != nil {
		return fmt.Errorf("bench: twin of %s: %w", table, err)
	}
	var stmts []string
	if d.Dialect == db.Postgres {
		stmts = append(stmts, "CREATE TABLE "+name+" (LIKE "+table+" INCLUDING ALL)")
		var fks []struct {
			Name string `db:"conname"`
			Def  string `db:"def"`
		}
		if err := db.Select(ctx, d.R, &fks, "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = ?::regclass AND contype = 'f'", table); err != nil {
			return fmt.Errorf("bench: foreign keys of %s: %w", table, err)
		}
		for _, fk := range fks {
			stmts = append(stmts, "ALTER TABLE "+name+" ADD CONSTRAINT "+rawPrefix+fk.Name+" "+fk.Def)
		}
	} else {
		var ddl []struct {
			Type string `db:"type"`
			SQL  string `db:"sql"`
		}
		if err := db.Select(ctx, d.R, &ddl, "SELECT type, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL ORDER BY type = 'index', name", table); err != nil {
			return fmt.Errorf("bench: schema of %s: %w", table, err)
		}
		for _, x := range ddl {
			s := x.SQL
			if x.Type == "table" {
				s = sqliteTable.ReplaceAllString(s, "CREATE TABLE "+name)
			} else {
				s = sqliteIndex.ReplaceAllStringFunc(s, func(m string) string {
					g := sqliteIndex.FindStringSubmatch(m)
					return "CREATE " + g[1] + "INDEX " + rawPrefix + strings.Trim(g[2], `"`) + " ON " + name
				})
			}
			stmts = append(stmts, s)
		}
		if len(stmts) == 0 {
			return fmt.Errorf("bench: no table %s", table)
		}
	}
	for _, s := range stmts {
		if _, err := d.W.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("bench: twin of %s: %w", table, err)
		}
	}
	return nil
}

// readRows reads a query's rows as they come, with their columns' names.
func readRows(ctx context.Context, d *db.DB, query string, args []any) ([]string, [][]any, error) {
	rows, err := d.R.QueryContext(ctx, d.R.Rebind(query), args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, nil, err
	}
	var out [][]any
	for rows.Next() {
		v := make([]any, len(cols))
		p := make([]any, len(cols))
		for i := range v {
			p[i] = &v[i]
		}
		if err := rows.Scan(p...); err != nil {
			return nil, nil, err
		}
		out = append(out, v)
	}
	return cols, out, rows.Err()
}

// upsert writes rows into table with multi-row INSERT … ON CONFLICT (key)
// DO UPDATE statements, every column but key updated.
func upsert(ctx context.Context, tx *db.Tx, table, key string, cols []string, rows [][]any) error {
	var set []string
	for _, c := range cols {
		if c != key {
			set = append(set, c+" = excluded."+c)
		}
	}
	one := "(" + strings.Repeat("?,", len(cols)-1) + "?)"
	per := max(1, 30000/len(cols))
	for start := 0; start < len(rows); start += per {
		b := rows[start:min(start+per, len(rows))]
		args := make([]any, 0, len(b)*len(cols))
		for _, r := range b {
			args = append(args, r...)
		}
		q := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES " + strings.Repeat(one+", ", len(b)-1) + one +
			" ON CONFLICT (" + key + ") DO UPDATE SET " + strings.Join(set, ", ")
		if _, err := db.Exec(ctx, tx, q, args...); err != nil {
			return fmt.Errorf("upsert into %s: %w", table, err)
		}
	}
	return nil
}
