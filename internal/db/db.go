// Package db opens the platform's store — embedded SQLite by default,
// PostgreSQL for scale — applies its migrations, and gives the domain
// packages one transaction helper and one set of error sentinels, so that no
// caller imports a driver.
package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"
	"github.com/prometheus/client_golang/prometheus"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// Dialect names the SQL engine behind a DB.
type Dialect int

const (
	SQLite Dialect = iota + 1
	Postgres
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return "unknown"
}

//go:embed migrations
var migrations embed.FS

// DB is an open store. Writes go through W (a single connection on SQLite,
// which allows one writer at a time); reads go through R.
type DB struct {
	Dialect Dialect
	W       *sqlx.DB
	R       *sqlx.DB

	pool    *pgxpool.Pool // PostgreSQL only: used for COPY
	latency *prometheus.HistogramVec
}

// Options tune Open. The zero value is valid.
type Options struct {
	// Registerer receives the store's latency histogram; nil registers nothing.
	Registerer prometheus.Registerer
	// MaxConns caps the reader pool (and the PostgreSQL pool). 0 picks a default.
	MaxConns int
}

// Open opens the store named by dsn: "sqlite:PATH" or a "postgres://" URL.
// For SQLite the directory of PATH is created if needed.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	d := &DB{latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "outbreak_store_duration_seconds",
		Help:    "Latency of store operations by operation name.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
	}, []string{"op"})}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(d.latency); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, fmt.Errorf("db: register metrics: %w", err)
			}
			d.latency = are.ExistingCollector.(*prometheus.HistogramVec)
		}
	}
	maxConns := opts.MaxConns
	if maxConns <= 0 {
		maxConns = max(4, 2*runtime.NumCPU())
	}
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		return d, d.openSQLite(strings.TrimPrefix(dsn, "sqlite:"), maxConns)
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return d, d.openPostgres(ctx, dsn, maxConns)
	}
	return nil, fmt.Errorf("db: unsupported DSN %q: want sqlite:PATH or postgres://", Redact(dsn))
}

func (d *DB) openSQLite(path string, maxConns int) error {
	if path == "" {
		return errors.New("db: sqlite DSN has no path")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("db: create directory for %s: %w", path, err)
		}
	}
	// busy_timeout comes first so that every later pragma waits for a lock
	// instead of failing.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "cache_size(-65536)")
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Set("_time_format", "sqlite")
	q.Set("_txlock", "immediate")
	base := "file:" + path + "?" + q.Encode()

	w, err := sqlx.Open("sqlite", base)
	if err != nil {
		return fmt.Errorf("db: open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	q.Set("_txlock", "deferred")
	q.Add("_pragma", "query_only(1)")
	r, err := sqlx.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		w.Close()
		return fmt.Errorf("db: open sqlite reader: %w", err)
	}
	r.SetMaxOpenConns(maxConns)
	r.SetMaxIdleConns(maxConns)
	d.Dialect, d.W, d.R = SQLite, w, r
	return nil
}

func (d *DB) openPostgres(ctx context.Context, dsn string, maxConns int) error {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("db: parse postgres DSN: %w", err)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = int32(maxConns)
	}
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("db: connect postgres: %w", err)
	}
	sdb := sqlx.NewDb(stdlib.OpenDBFromPool(pool), "pgx")
	d.Dialect, d.W, d.R, d.pool = Postgres, sdb, sdb, pool
	return nil
}

// Close closes every connection; it waits for none of them.
func (d *DB) Close() error {
	forgetStmts(d.R)
	forgetStmts(d.W)
	var errs []error
	if d.R != d.W {
		errs = append(errs, d.R.Close())
	}
	errs = append(errs, d.W.Close())
	if d.pool != nil {
		d.pool.Close()
	}
	return errors.Join(errs...)
}

// Ping checks that the store answers.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.R.PingContext(ctx); err != nil {
		return fmt.Errorf("db: ping: %w", err)
	}
	return nil
}

func (d *DB) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+d.Dialect.String())
	if err != nil {
		return nil, err
	}
	dialect := goose.DialectSQLite3
	if d.Dialect == Postgres {
		dialect = goose.DialectPostgres
	}
	return goose.NewProvider(dialect, d.W.DB, sub, goose.WithDisableGlobalRegistry(true))
}

// Migrate applies every pending migration and reports the versions applied.
func (d *DB) Migrate(ctx context.Context) ([]int64, error) {
	p, err := d.provider()
	if err != nil {
		return nil, fmt.Errorf("db: migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("db: migrate: %w", err)
	}
	var applied []int64
	for _, r := range res {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}

// Pending reports whether migrations remain to be applied.
func (d *DB) Pending(ctx context.Context) (bool, error) {
	p, err := d.provider()
	if err != nil {
		return false, fmt.Errorf("db: migrations: %w", err)
	}
	return p.HasPending(ctx)
}

// Observe records the latency of one store operation; use it as
// defer d.Observe("resident.get", time.Now()).
func (d *DB) Observe(op string, start time.Time) {
	d.latency.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

// Redact hides the password in a DSN for logs.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Q is what both a DB reader and a transaction can do; repositories take a Q
// so that one method serves inside and outside a transaction.
type Q interface {
	sqlx.ExtContext
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
}

// Get runs a query written with ? placeholders and scans one row into dest.
// It returns ErrNotFound when there is none.
func Get(ctx context.Context, q Q, dest any, query string, args ...any) error {
	if s := prepared(ctx, q, query); s != nil {
		return MapError(s.GetContext(ctx, dest, args...))
	}
	return MapError(q.GetContext(ctx, dest, q.Rebind(query), args...))
}

// Select runs a query written with ? placeholders and scans every row.
func Select(ctx context.Context, q Q, dest any, query string, args ...any) error {
	if s := prepared(ctx, q, query); s != nil {
		return MapError(s.SelectContext(ctx, dest, args...))
	}
	return MapError(q.SelectContext(ctx, dest, q.Rebind(query), args...))
}

// Exec runs a statement written with ? placeholders.
func Exec(ctx context.Context, q Q, query string, args ...any) (sql.Result, error) {
	res, err := q.ExecContext(ctx, q.Rebind(query), args...)
	return res, MapError(err)
}

// InsertID runs an INSERT written with ? placeholders that ends in
// "RETURNING id" and returns the new id.
func InsertID(ctx context.Context, q Q, query string, args ...any) (int64, error) {
	var id int64
	if err := q.QueryRowxContext(ctx, q.Rebind(query), args...).Scan(&id); err != nil {
		return 0, MapError(err)
	}
	return id, nil
}
