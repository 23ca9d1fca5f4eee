package tracing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// Store keeps the check-ins.
type Store struct {
	d      *db.DB
	places Places
	// policy is the policy in force: a check-in without a check-out lasts
	// its kind's dwell, none longer than its longest stay.
	policy atomic.Pointer[Policy]

	// SQLite: the multi-row INSERT for a full chunk, prepared once on the
	// single writer connection.
	prepMu sync.Mutex
	insert *sql.Stmt

	// PostgreSQL: days (unix seconds of their UTC midnight) whose partition
	// is known to exist.
	daysMu sync.Mutex
	days   map[int64]bool

	// index, when set, is kept in step with every write (UseIndex).
	index atomic.Pointer[Index]
}

// NewStore returns the check-in store on d; places gives the kinds that
// set default dwell times and longest stays.
func NewStore(d *db.DB, places Places, p Policy) (*Store, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	s := &Store{d: d, places: places, days: map[int64]bool{}}
	s.policy.Store(&p)
	return s, nil
}

// SetPolicy puts policy p in force for the check-ins stored from now on
// (tracing.Service follows the rule set's tracing section).
func (s *Store) SetPolicy(p Policy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	s.policy.Store(&p)
	return nil
}

// Policy is the policy in force.
func (s *Store) Policy() Policy { return *s.policy.Load() }

// UseIndex keeps ix in step with the check-ins this store writes from now
// on; ix.Load then reads what it held before. Only on SQLite, where this
// process is the only writer (see Index).
func (s *Store) UseIndex(ix *Index) error {
	if s.d.Dialect != db.SQLite {
		return errors.New("tracing: the in-memory index needs the embedded SQLite store")
	}
	s.index.Store(ix)
	return nil
}

// Index is the in-memory index this store keeps, or nil.
func (s *Store) Index() *Index { return s.index.Load() }

// Close releases the prepared statements; the DB stays open.
func (s *Store) Close() error {
	s.prepMu.Lock()
	defer s.prepMu.Unlock()
	if s.insert != nil {
		err := s.insert.Close()
		s.insert = nil
		return err
	}
	return nil
}

const (
	insertCols = "client_id, resident_id, place_id, t_in, t_out, carriage, seat, source"
	nInsertCol = 8
	// chunkRows is the rows per multi-row INSERT on SQLite (8 host
	// parameters a row; SQLite allows 32,766 in a statement).
	chunkRows = 1000
	// pgChunkRows is the rows per INSERT … SELECT FROM unnest on PostgreSQL.
	pgChunkRows = 10000
)

// Ingest validates a batch of check-ins, sets the check-out of those
// without one from their place kind's dwell time, cuts stays longer than
// the kind's longest stay, and writes the batch in one transaction. A
// check-in already stored — the same client id and check-in time — is left
// as it was (the client retried); Ingest returns how many were new. An
// invalid check-in refuses the whole batch with field errors named
// "checkins[i].field".
func (s *Store) Ingest(ctx context.Context, batch []CheckIn) (int, error) {
	if len(batch) == 0 {
		return 0, nil
	}
	defer s.d.Observe("tracing.ingest", time.Now())
	cs := slices.Clone(batch)
	var verr validation.Errors
	ids := make([]int64, 0, 16)
	for i := range cs {
		if err := cs[i].Validate(); err != nil {
			if fe, ok := validation.As(err); ok {
				for _, f := range fe.Fields {
					verr.Fields = append(verr.Fields, validation.FieldError{Field: fmt.Sprintf("checkins[%d].%s", i, f.Field), Code: f.Code, Args: f.Args})
				}
			}
			continue
		}
		ids = append(ids, cs[i].PlaceID)
	}
	if err := verr.Err(); err != nil {
		return 0, err
	}
	slices.Sort(ids)
	kinds, err := s.places.Kinds(ctx, slices.Compact(ids))
	if err != nil {
		return 0, wrap("ingest: place kinds", err)
	}
	policy := s.Policy()
	for i := range cs {
		cs[i].normalize(policy.For(kinds[cs[i].PlaceID]))
	}
	var n int
	switch s.d.Dialect {
	case db.Postgres:
		n, err = s.ingestPostgres(ctx, cs)
	default:
		n, err = s.ingestSQLite(ctx, cs)
	}
	return n, wrap("ingest", err)
}

func nullable(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func (s *Store) ingestSQLite(ctx context.Context, cs []CheckIn) (int, error) {
	full, err := s.fullInsert(ctx)
	if err != nil {
		return 0, err
	}
	args := make([]any, 0, chunkRows*nInsertCol)
	n := 0
	ix := s.index.Load()
	var added []indexedRow
	err = s.d.InTx(ctx, func(tx *db.Tx) error {
		n, added = 0, added[:0]
		// Set on every batch: the writer's connection may have been
		// replaced since the last.
		if _, err := tx.ExecContext(ctx, "PRAGMA wal_autocheckpoint = "+strconv.Itoa(walAutocheckpoint)); err != nil {
			return err
		}
		stmt := tx.StmtContext(ctx, full)
		defer stmt.Close()
		for start := 0; start < len(cs); start += chunkRows {
			chunk := cs[start:min(start+chunkRows, len(cs))]
			args = args[:0]
			for i := range chunk {
				c := &chunk[i]
				args = append(args, c.ClientID, c.ResidentID, c.PlaceID, c.TIn, c.TOut, nullable(c.Carriage), nullable(c.Seat), string(c.Source))
			}
			var res sql.Result
			var err error
			if len(chunk) == chunkRows {
				res, err = stmt.ExecContext(ctx, args...)
			} else {
				res, err = tx.ExecContext(ctx, insertSQL(len(chunk)), args...)
			}
			if err != nil {
				return db.MapError(err)
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += int(k)
			if ix != nil && k > 0 {
				if added, err = insertedRows(ctx, tx, res, chunk, k, added); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil {
		ix.added(added)
	}
	return n, err
}

// insertedRows appends to rows the k rows a multi-row INSERT OR IGNORE of
// chunk inserted, with their ids: the ids that follow each other up to the
// last inserted (SQLite gives a new row the largest id plus one); when
// some were ignored, read back which.
func insertedRows(ctx context.Context, tx *db.Tx, res sql.Result, chunk []CheckIn, k int64, rows []indexedRow) ([]indexedRow, error) {
	last, err := res.LastInsertId()
	if err != nil {
		return rows, err
	}
	first := last - k + 1
	if int(k) == len(chunk) {
		for i := range chunk {
			rows = append(rows, indexedRow{first + int64(i), chunk[i]})
		}
		return rows, nil
	}
	q, err := tx.QueryContext(ctx, `SELECT id, resident_id, place_id, t_in, t_out, COALESCE(carriage, ''), COALESCE(seat, '')
		FROM checkins WHERE id >= ? AND id <= ?`, first, last)
	if err != nil {
		return rows, err
	}
	defer q.Close()
	for q.Next() {
		var r indexedRow
		if err := q.Scan(&r.id, &r.c.ResidentID, &r.c.PlaceID, &r.c.TIn, &r.c.TOut, &r.c.Carriage, &r.c.Seat); err != nil {
			return rows, err
		}
		rows = append(rows, r)
	}
	return rows, q.Err()
}

// insertSQL is the multi-row INSERT of rows check-ins on SQLite. OR IGNORE
// rather than ON CONFLICT DO NOTHING: a statement that may abort half-way
// (a CHECK failing on its 700th row) makes SQLite copy every page it
// touches into a statement journal first, which cost a third of the
// ingest time; OR IGNORE cannot abort. It would also skip a row failing a
// CHECK, but Validate and normalize have made every row pass them.
func insertSQL(rows int) string {
	var b strings.Builder
	b.Grow(64 + rows*18)
	b.WriteString("INSERT OR IGNORE INTO checkins (" + insertCols + ") VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?)")
	}
	return b.String()
}

// fullInsert prepares, once, the INSERT of a full chunk on the writer.
func (s *Store) fullInsert(ctx context.Context) (*sql.Stmt, error) {
	s.prepMu.Lock()
	defer s.prepMu.Unlock()
	if s.insert == nil {
		stmt, err := s.d.W.PrepareContext(ctx, insertSQL(chunkRows))
		if err != nil {
			return nil, fmt.Errorf("prepare insert: %w", err)
		}
		s.insert = stmt
	}
	return s.insert, nil
}

// pgInsert writes a chunk as arrays, one round trip, in one statement. It
// measured a little faster than COPY into a temporary table followed by
// INSERT … SELECT … ON CONFLICT DO NOTHING (120–134,000 against 116–124,000
// check-ins/s, batches of 2,000, PostgreSQL 15 on the same 2-core machine),
// and needs no temporary table per connection.
const pgInsert = `INSERT INTO checkins (` + insertCols + `)
	SELECT c, r, p, i, o, NULLIF(ca, ''), NULLIF(se, ''), so
	FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::text[])
		AS x(c, r, p, i, o, ca, se, so)
	ON CONFLICT DO NOTHING`

func (s *Store) ingestPostgres(ctx context.Context, cs []CheckIn) (int, error) {
	lo, hi := cs[0].TIn, cs[0].TIn
	for i := range cs {
		lo, hi = min(lo, cs[i].TIn), max(hi, cs[i].TIn)
	}
	if err := s.ensureDays(ctx, lo, hi); err != nil {
		return 0, err
	}
	n := 0
	write := func() error {
		return s.d.InTx(ctx, func(tx *db.Tx) error {
			n = 0
			for start := 0; start < len(cs); start += pgChunkRows {
				chunk := cs[start:min(start+pgChunkRows, len(cs))]
				var (
					clients, carriages, seats, sources = make([]string, len(chunk)), make([]string, len(chunk)), make([]string, len(chunk)), make([]string, len(chunk))
					residents, places, ins, outs       = make([]int64, len(chunk)), make([]int64, len(chunk)), make([]int64, len(chunk)), make([]int64, len(chunk))
				)
				for i := range chunk {
					c := &chunk[i]
					clients[i], residents[i], places[i], ins[i], outs[i] = c.ClientID, c.ResidentID, c.PlaceID, c.TIn, c.TOut
					carriages[i], seats[i], sources[i] = c.Carriage, c.Seat, string(c.Source)
				}
				res, err := tx.ExecContext(ctx, pgInsert, clients, residents, places, ins, outs, carriages, seats, sources)
				if err != nil {
					return db.MapError(err)
				}
				added, err := res.RowsAffected()
				if err != nil {
					return err
				}
				n += int(added)
			}
			return nil
		})
	}
	err := write()
	if err != nil && noPartition(err) {
		// A partition this store thought it had was dropped by someone else.
		s.forgetDays()
		if err = s.ensureDays(ctx, lo, hi); err == nil {
			err = write()
		}
	}
	return n, err
}

// noPartition reports whether err is PostgreSQL's "no partition of
// relation found for row".
func noPartition(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no partition of relation")
}

const day = 86400

func dayOf(t int64) int64 { return t - ((t%day)+day)%day }

// The SQLite indexes lead with a time bucket — SQLite's counterpart of
// PostgreSQL's daily partitions: rows arrive in time order, so each index
// is written only in the current bucket's region, a few thousand pages
// whatever the store's size, instead of at one spot per place or per
// resident across the whole index (every batch then rewrote about a page
// per row, and ingest slowed as the store grew). Both indexes bucket by
// hour (generated column hour = t_in / 3600): a day's region of the
// resident index, at 7 million check-ins a day, was large enough that a
// batch still rewrote a page per row (migrations 00006 and 00010). A read
// crossing k hours makes k index seeks.
const hourSpan = 3600

// walAutocheckpoint is the WAL size, in pages, past which a commit on
// SQLite checkpoints (SQLite's default is 1,000). A batch of check-ins
// dirties thousands of pages of the indexes' current hour, and with the
// default every batch was checkpointed — each page written twice, and
// synced — where a larger WAL writes a page that many batches touch back
// once (measured at 7 million check-ins a day: 57,000 against 68,000
// check-ins/s). The WAL file grows to about this size (100 MB).
const walAutocheckpoint = 25000

// spanJSON lists, as a JSON array, the buckets of width span that t_in
// values in [lo, hi) fall in.
func spanJSON(span, lo, hi int64) string {
	b := []byte{'['}
	for h := lo / span; h <= (hi-1)/span; h++ {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, h, 10)
	}
	return string(append(b, ']'))
}

// ensureDays creates the daily partitions covering [from, to] that this
// store has not seen yet. It does nothing on SQLite.
func (s *Store) ensureDays(ctx context.Context, from, to int64) error {
	if s.d.Dialect != db.Postgres {
		return nil
	}
	first, last := dayOf(from), dayOf(to)
	s.daysMu.Lock()
	defer s.daysMu.Unlock()
	missing := false
	for d := first; d <= last; d += day {
		if !s.days[d] {
			missing = true
			break
		}
	}
	if !missing {
		return nil
	}
	if _, err := db.Exec(ctx, s.d.W, "SELECT checkins_ensure_partitions(?, ?)", first, last); err != nil {
		return fmt.Errorf("create partitions: %w", err)
	}
	for d := first; d <= last; d += day {
		s.days[d] = true
	}
	return nil
}

func (s *Store) forgetDays() {
	s.daysMu.Lock()
	defer s.daysMu.Unlock()
	clear(s.days)
}

// EnsurePartitions creates, on PostgreSQL, the daily partitions that check-ins
// between from and to need; a maintenance job calls it for the coming day
// so that the first writer of a day does not wait for the DDL. Ingest
// creates any it meets missing. It does nothing on SQLite.
func (s *Store) EnsurePartitions(ctx context.Context, from, to int64) error {
	return wrap("ensure partitions", s.ensureDays(ctx, from, to))
}

// CheckOut records that the resident left the place of their check-in
// (clientID, tIn) at out; a stay longer than the kind's longest stay is cut
// to it. A later check-out replaces an earlier one. It returns ErrNotFound
// when the resident has no such check-in.
func (s *Store) CheckOut(ctx context.Context, residentID int64, clientID string, tIn, out int64) error {
	defer s.d.Observe("tracing.checkout", time.Now())
	if out <= tIn {
		return validation.Field("t_out", "tracing.t_out_before_t_in")
	}
	var place int64
	err := db.Get(ctx, s.d.R, &place, "SELECT place_id FROM checkins WHERE t_in = ? AND client_id = ? AND resident_id = ?", tIn, clientID, residentID)
	if errors.Is(err, db.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return wrap("check out", err)
	}
	kinds, err := s.places.Kinds(ctx, []int64{place})
	if err != nil {
		return wrap("check out: place kind", err)
	}
	out = min(out, tIn+secs(s.Policy().For(kinds[place]).MaxStay))
	ix := s.index.Load()
	var old int64
	err = s.d.InTx(ctx, func(tx *db.Tx) error {
		// The end it had, read with the write: the index finds the stay by it.
		if err := db.Get(ctx, tx, &old, "SELECT t_out FROM checkins WHERE t_in = ? AND client_id = ? AND resident_id = ?", tIn, clientID, residentID); err != nil {
			return err
		}
		_, err := db.Exec(ctx, tx, "UPDATE checkins SET t_out = ? WHERE t_in = ? AND client_id = ? AND resident_id = ?", out, tIn, clientID, residentID)
		return err
	})
	if errors.Is(err, db.ErrNotFound) {
		return ErrNotFound // purged between the read and the write
	}
	if err != nil {
		return wrap("check out", err)
	}
	ix.checkedOut(residentID, place, tIn, old, out)
	return nil
}

const checkInCols = "id, client_id, resident_id, place_id, t_in, t_out, COALESCE(carriage, '') AS carriage, COALESCE(seat, '') AS seat, source"

// ForResident returns the resident's check-ins whose stay overlaps
// [from, to), oldest first.
func (s *Store) ForResident(ctx context.Context, residentID, from, to int64) ([]CheckIn, error) {
	defer s.d.Observe("tracing.for_resident", time.Now())
	cs, err := s.overlapping(ctx, "resident_id", "hour", hourSpan, residentID, from-secs(s.Policy().LongestStay()), from, to)
	return cs, wrap("check-ins of a resident", err)
}

// AtPlace returns the check-ins at the place whose stay overlaps
// [from, to), oldest first.
func (s *Store) AtPlace(ctx context.Context, placeID, from, to int64) ([]CheckIn, error) {
	defer s.d.Observe("tracing.at_place", time.Now())
	kinds, err := s.places.Kinds(ctx, []int64{placeID})
	if err != nil {
		return nil, wrap("check-ins at a place: place kind", err)
	}
	cs, err := s.overlapping(ctx, "place_id", "hour", hourSpan, placeID, from-secs(s.Policy().For(kinds[placeID]).MaxStay), from, to)
	return cs, wrap("check-ins at a place", err)
}

// overlapping reads the check-ins with col = id whose t_in lies in
// [lo, to) and whose stay overlaps [from, to); on SQLite through the index
// led by the bucket column of width span.
func (s *Store) overlapping(ctx context.Context, col, bucketCol string, span, id, lo, from, to int64) ([]CheckIn, error) {
	if to <= from {
		return nil, nil
	}
	var cs []CheckIn
	q := "SELECT " + checkInCols + " FROM checkins WHERE " + col + " = ? AND t_in >= ? AND t_in < ? AND t_out > ?"
	args := []any{id, lo, to, from}
	if s.d.Dialect == db.SQLite {
		q += " AND " + bucketCol + " IN (SELECT value FROM json_each(?))"
		args = append(args, spanJSON(span, lo, to))
	}
	err := db.Select(ctx, s.d.R, &cs, q+" ORDER BY t_in, id", args...)
	return cs, err
}

// purgeChunk is the rows one DELETE removes on SQLite, so that purging a
// day never holds the single writer for long.
const purgeChunk = 20000

// Purge removes every check-in that began before the UTC day of before —
// whole days, on both stores: PostgreSQL drops the days' partitions,
// SQLite deletes their rows in short transactions. It returns how many
// check-ins it removed.
func (s *Store) Purge(ctx context.Context, before int64) (int64, error) {
	defer s.d.Observe("tracing.purge", time.Now())
	cut := dayOf(before)
	if s.d.Dialect == db.Postgres {
		var n int64
		if err := db.Get(ctx, s.d.W, &n, "SELECT checkins_drop_partitions(?)", cut); err != nil {
			return 0, wrap("purge", err)
		}
		s.daysMu.Lock()
		for d := range s.days {
			if d < cut {
				delete(s.days, d)
			}
		}
		s.daysMu.Unlock()
		return n, nil
	}
	// The index forgets the days even when deleting them failed half-way:
	// they are past retention.
	defer s.index.Load().purged(cut)
	var total int64
	for {
		res, err := db.Exec(ctx, s.d.W, "DELETE FROM checkins WHERE id IN (SELECT id FROM checkins WHERE t_in < ? LIMIT ?)", cut, purgeChunk)
		if err != nil {
			return total, wrap("purge", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, wrap("purge", err)
		}
		total += n
		if n < purgeChunk {
			return total, nil
		}
	}
}

// Count returns how many check-ins the store holds.
func (s *Store) Count(ctx context.Context) (int64, error) {
	var n int64
	err := db.Get(ctx, s.d.R, &n, "SELECT count(*) FROM checkins")
	return n, wrap("count", err)
}
