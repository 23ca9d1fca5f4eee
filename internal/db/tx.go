package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Sentinel errors every store maps its driver errors to.
var (
	ErrNotFound = fault.New(fault.NotFound, "error.not_found", "not found")
	ErrConflict = fault.New(fault.Conflict, "error.conflict", "conflict")
)

// ConflictError is an ErrConflict that names the constraint that refused
// the write, so a handler can put the message beside the right field.
type ConflictError struct{ Constraint string }

func (e *ConflictError) Error() string { return "conflict on " + e.Constraint }
func (e *ConflictError) Is(target error) bool {
	return target == ErrConflict
}

// FaultKind makes a ConflictError a conflict wherever it is classified.
func (e *ConflictError) FaultKind() fault.Kind { return fault.Conflict }

// MapError turns driver errors into the package sentinels.
func MapError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("%w: %s", &ConflictError{Constraint: pgErr.ConstraintName}, pgErr.Message)
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			// "UNIQUE constraint failed: accounts.username"
			msg := sqErr.Error()
			name := msg
			if i := strings.LastIndex(msg, ": "); i >= 0 {
				name = msg[i+2:]
			}
			return fmt.Errorf("%w: %s", &ConflictError{Constraint: name}, msg)
		}
	}
	return err
}

// Tx is a transaction on the writer.
type Tx struct {
	*sqlx.Tx
	conn *sqlx.Conn
	db   *DB
	// committed run once the transaction has committed (OnCommit).
	committed []func()
}

// OnCommit runs fn once the transaction has committed, and never if it
// rolls back: for what must follow the write, not precede it (a cache
// dropping what the write changed, so that no reader refills it from the
// rows as they were before the commit).
func (tx *Tx) OnCommit(fn func()) { tx.committed = append(tx.committed, fn) }

// InTx runs fn in a transaction on the writer: it commits when fn returns
// nil and rolls back otherwise, so a failure halfway leaves nothing behind.
func (d *DB) InTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	conn, err := d.W.Connx(ctx)
	if err != nil {
		return fmt.Errorf("db: connect: %w", MapError(err))
	}
	sqlTx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		conn.Close()
		return fmt.Errorf("db: begin: %w", MapError(err))
	}
	tx := &Tx{Tx: sqlTx, conn: conn, db: d}
	defer conn.Close()
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = sqlTx.Rollback()
			return
		}
		if cerr := sqlTx.Commit(); cerr != nil {
			err = fmt.Errorf("db: commit: %w", MapError(cerr))
			return
		}
		for _, fn := range tx.committed {
			fn()
		}
	}()
	return fn(tx)
}

// Dialect of the store the transaction runs on.
func (tx *Tx) Dialect() Dialect { return tx.db.Dialect }

// BulkInsert writes many rows into table in as few round trips as the
// dialect allows: COPY on PostgreSQL, multi-row INSERT statements on SQLite.
// Rows may carry explicit ids: afterwards every sequence of the table's
// columns written is past the largest value, on both stores.
func (tx *Tx) BulkInsert(ctx context.Context, table string, cols []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if tx.db.Dialect == Postgres {
		return tx.copyFrom(ctx, table, cols, rows)
	}
	// SQLite allows 32766 host parameters in one statement.
	per := max(1, 32000/len(cols))
	one := "(" + strings.Repeat("?,", len(cols)-1) + "?)"
	prefix := "INSERT INTO " + table + " (" + strings.Join(cols, ",") + ") VALUES "
	var stmt *sql.Stmt
	defer func() {
		if stmt != nil {
			stmt.Close()
		}
	}()
	args := make([]any, 0, per*len(cols))
	for start := 0; start < len(rows); start += per {
		end := min(start+per, len(rows))
		args = args[:0]
		for _, r := range rows[start:end] {
			args = append(args, r...)
		}
		n := end - start
		if n == per && stmt != nil {
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("db: bulk insert into %s: %w", table, MapError(err))
			}
			continue
		}
		q := prefix + strings.Repeat(one+",", n-1) + one
		if n == per {
			s, err := tx.PrepareContext(ctx, q)
			if err != nil {
				return fmt.Errorf("db: prepare bulk insert into %s: %w", table, err)
			}
			stmt = s
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("db: bulk insert into %s: %w", table, MapError(err))
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("db: bulk insert into %s: %w", table, MapError(err))
		}
	}
	return nil
}

func (tx *Tx) copyFrom(ctx context.Context, table string, cols []string, rows [][]any) error {
	err := tx.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("driver connection is %T, not pgx", dc)
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		return fmt.Errorf("db: copy into %s: %w", table, MapError(err))
	}
	return tx.advanceSequences(ctx, table, cols)
}

// advanceSequences moves the sequence behind every serial or identity
// column of table that cols wrote explicitly past the column's largest
// value, so that the next row the database numbers itself does not collide
// with a loaded one. COPY, unlike nextval, leaves sequences where they were.
// It never moves a sequence back. SQLite needs nothing: an INTEGER PRIMARY
// KEY takes max(id)+1 and AUTOINCREMENT records explicit ids too.
func (tx *Tx) advanceSequences(ctx context.Context, table string, cols []string) error {
	seqs, err := sequences(ctx, tx, table)
	if err != nil {
		return err
	}
	for _, sc := range seqs {
		if !slices.Contains(cols, sc.Column) {
			continue
		}
		q := fmt.Sprintf(`SELECT setval(%s, m) FROM (SELECT max(%s) AS m FROM %s) x
			WHERE m IS NOT NULL AND m >= (SELECT last_value FROM %s)`,
			quoteLiteral(sc.Sequence), pgx.Identifier{sc.Column}.Sanitize(), pgx.Identifier{table}.Sanitize(), sc.Sequence)
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("db: advance sequence %s of %s: %w", sc.Sequence, table, MapError(err))
		}
	}
	return nil
}

// seqColumn is a column of a table whose default comes from a sequence.
type seqColumn struct {
	Column   string `db:"col"`
	Sequence string `db:"seq"`
}

// sequences lists table's serial and identity columns.
func sequences(ctx context.Context, q Q, table string) ([]seqColumn, error) {
	var cs []seqColumn
	err := q.SelectContext(ctx, &cs, `SELECT a.attname AS col, pg_get_serial_sequence(quote_ident($1), a.attname) AS seq
		FROM pg_attribute a WHERE a.attrelid = to_regclass(quote_ident($1)) AND a.attnum > 0 AND NOT a.attisdropped
		AND pg_get_serial_sequence(quote_ident($1), a.attname) IS NOT NULL ORDER BY a.attnum`, table)
	if err != nil {
		return nil, fmt.Errorf("db: sequences of %s: %w", table, MapError(err))
	}
	return cs, nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
