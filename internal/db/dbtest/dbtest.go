// Package dbtest gives tests real, migrated stores: a fresh SQLite file per
// test, and a fresh PostgreSQL schema per test whenever the server at
// OUTBREAK_TEST_POSTGRES (default 127.0.0.1:5432, database test) answers.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outbreak-platform/outbreak/internal/db"
)

// DefaultPostgres is the server the tests use when OUTBREAK_TEST_POSTGRES is unset.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

var (
	pgOnce sync.Once
	pgURL  string
	pgErr  error
)

// PostgresURL returns the test server's URL, or an error saying why it
// cannot be reached. It prints a loud line the first time it is unreachable.
func PostgresURL() (string, error) {
	pgOnce.Do(func() {
		pgURL = os.Getenv("OUTBREAK_TEST_POSTGRES")
		if pgURL == "" {
			pgURL = DefaultPostgres
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, pgURL)
		if err != nil {
			pgErr = err
			fmt.Fprintf(os.Stderr, "\n!!!!! PostgreSQL is NOT reachable at %s: %v\n!!!!! Store contract tests run on SQLite ONLY.\n\n", db.Redact(pgURL), err)
			return
		}
		conn.Close(ctx)
	})
	return pgURL, pgErr
}

// Each runs fn as a subtest once per reachable store, each with a fresh,
// migrated database. When OUTBREAK_REQUIRE_POSTGRES=1 an unreachable
// PostgreSQL fails the test instead of being passed over.
func Each(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	if _, err := PostgresURL(); err != nil {
		if os.Getenv("OUTBREAK_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("PostgreSQL required but unreachable: %v", err)
		}
		return
	}
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLite opens a fresh, migrated SQLite store in the test's temporary folder.
func SQLite(t testing.TB) *db.DB {
	t.Helper()
	return open(t, "sqlite:"+filepath.Join(t.TempDir(), "test.db"))
}

// Postgres opens a fresh, migrated PostgreSQL store in its own schema, dropped
// when the test ends. It fails the test when the server is unreachable.
func Postgres(t testing.TB) *db.DB {
	t.Helper()
	base, err := PostgresURL()
	if err != nil {
		t.Fatalf("postgres unreachable: %v", err)
	}
	dsn, drop := NewSchema(t, base)
	d := open(t, dsn)
	t.Cleanup(drop)
	return d
}

// NewSchema creates an empty schema on the server at base and returns a DSN
// whose connections use it, and a function that drops it.
func NewSchema(t testing.TB, base string) (string, func()) {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect postgres: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", base, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("connect postgres to drop %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	}
}

func open(t testing.TB, dsn string) *db.DB {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, dsn, db.Options{MaxConns: 4})
	if err != nil {
		t.Fatalf("open %s: %v", db.Redact(dsn), err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return d
}
