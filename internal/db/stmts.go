package db

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/jmoiron/sqlx"
)

// The SQLite driver prepares every statement it is given anew: under load,
// parsing the same few queries took a fifth of a node's CPU. Get and
// Select on a SQLite pool (not in a transaction) run a statement prepared
// once per pool and query text; database/sql prepares it again on each
// connection it runs on. PostgreSQL's driver keeps its own cache of
// prepared statements. Queries whose text varies with their arguments
// (IN lists) make a statement per length: the cache stops growing at
// maxStmts.
const maxStmts = 4096

type stmtKey struct {
	pool  *sqlx.DB
	query string
}

var (
	stmts  sync.Map // stmtKey → *sqlx.Stmt
	nStmts atomic.Int64
)

// prepared returns the statement of query on q when q is a SQLite pool,
// or nil.
func prepared(ctx context.Context, q Q, query string) *sqlx.Stmt {
	pool, ok := q.(*sqlx.DB)
	if !ok || pool.DriverName() != "sqlite" {
		return nil
	}
	k := stmtKey{pool, query}
	if s, ok := stmts.Load(k); ok {
		return s.(*sqlx.Stmt)
	}
	if nStmts.Load() >= maxStmts {
		return nil
	}
	s, err := pool.PreparexContext(ctx, query)
	if err != nil {
		return nil // the query itself says what is wrong
	}
	if old, loaded := stmts.LoadOrStore(k, s); loaded {
		s.Close()
		return old.(*sqlx.Stmt)
	}
	nStmts.Add(1)
	return s
}

// forgetStmts closes and drops the statements of pool (when it closes).
func forgetStmts(pool *sqlx.DB) {
	stmts.Range(func(k, v any) bool {
		if k.(stmtKey).pool == pool {
			v.(*sqlx.Stmt).Close()
			stmts.Delete(k)
			nStmts.Add(-1)
		}
		return true
	})
}
