package tracingbench

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/tracing"

	"github.com/outbreak-platform/outbreak/internal/db"
)

// MeasureOptions size a measurement.
type MeasureOptions struct {
	CheckIns int    // check-ins to generate and ingest
	Days     int    // over how many days; 14 by default
	Seed     uint64 // of the synthetic movement and the cases
	Batch    int    // check-ins per Ingest call; 2,000 by default
	Traces   int    // single cases traced one after another; 200 by default
	Cases    int    // cases traced at once; 1,000 by default
	Parallel int    // traces at a time for those; the number of CPUs by default
	// CloseOnlyBatch skips tracing the batch's secondary contacts, which
	// takes minutes from a million check-ins on.
	CloseOnlyBatch bool
	// Progress, when set, receives a line now and then.
	Progress io.Writer

	// Movement, when set, is the movement to ingest — real residents and
	// registered places (internal/demo) — in place of a synthetic one made
	// from CheckIns, Days and Seed; CheckIns is then its size.
	Movement *Movement
	// Places gives the store and the tracer the kinds of places (the place
	// registry, as the check-in API reads it); the movement's own when nil.
	Places tracing.Places
	// Confirm, when set, confirms the batch of cases at once in place of
	// TraceAll — the tracing Service: tracing, recording the contacts and
	// recomputing their codes — and is timed as BatchS. Prepare, when set,
	// readies the cases first, untimed (their case status, say).
	Prepare func(ctx context.Context, cases []tracing.Case) error
	Confirm func(ctx context.Context, cases []tracing.Case) (tracing.BatchResult, error)
	// ConfirmTimeout, when set, stops Confirm after this long; the
	// measurement then says how many cases it got through.
	ConfirmTimeout time.Duration
	// Reuse measures tracing in a store that already holds the movement
	// (an earlier Measure's): no ingest, and no batch of cases.
	Reuse bool
	// Policy is the tracing policy measured; DefaultPolicy when nil.
	Policy *tracing.Policy
	// AfterIngest, when set, is called once the check-ins are in and the
	// garbage collected (to write a heap profile, say).
	AfterIngest func()
	// Index, when set, is the tracer's in-memory index: Measure's store
	// feeds it, and loads it first (with Reuse, the whole store: timed).
	Index *tracing.Index
}

// Measurement is what Measure found; the JSON names are those of
// `outbreak bench tracing --json`.
type Measurement struct {
	Store     string `json:"store"`
	CheckIns  int64  `json:"checkins"`
	Residents int    `json:"residents"`
	Places    int    `json:"places"`
	Days      int    `json:"days"`
	Batch     int    `json:"batch"`
	// IngestSeconds is the wall time of the whole load, the movement being
	// generated on another goroutine; IngestPerSec follows from it.
	IngestSeconds float64 `json:"ingest_s"`
	IngestPerSec  float64 `json:"ingest_per_sec"`
	// IngestLastPerSec is the rate over the last tenth of the load, when the
	// store is at its largest.
	IngestLastPerSec float64 `json:"ingest_last_tenth_per_sec"`
	// One case at a time, a 14-day window, close contacts only: first, and
	// again after the full traces below (with what they read cached).
	TraceCloseP50Ms     float64 `json:"trace_close_p50_ms"`
	TraceCloseP99Ms     float64 `json:"trace_close_p99_ms"`
	TraceCloseWarmP50Ms float64 `json:"trace_close_warm_p50_ms"`
	TraceCloseWarmP99Ms float64 `json:"trace_close_warm_p99_ms"`
	// One case at a time, a 14-day window, close and secondary contacts.
	TraceP50Ms float64 `json:"trace_p50_ms"`
	TraceP99Ms float64 `json:"trace_p99_ms"`
	TraceMaxMs float64 `json:"trace_max_ms"`
	// Cases traced at once (TraceAll) and how long they took: close
	// contacts only, and (unless skipped) close and secondary contacts.
	BatchCases  int     `json:"batch_cases"`
	BatchCloseS float64 `json:"batch_1000_close_s"`
	BatchS      float64 `json:"batch_1000_s,omitempty"`
	// BatchRecorded says that the batch went through Confirm: contacts
	// recorded and their codes recomputed, counted in BatchClose and
	// BatchSecondary. BatchCloseRecordedS is how long until every case's
	// close contacts were recorded (their codes turned), Confirm recording
	// those first.
	BatchRecorded       bool    `json:"batch_codes_recomputed"`
	BatchCloseRecordedS float64 `json:"batch_1000_close_recorded_s,omitempty"`
	BatchClose          int     `json:"batch_close,omitempty"`
	BatchSecondary      int     `json:"batch_secondary,omitempty"`
	// BatchDone is how many of the cases Confirm got through; fewer than
	// BatchCases when it was stopped (ConfirmTimeout), BatchS being then
	// the time it ran.
	BatchDone     int  `json:"batch_cases_done,omitempty"`
	BatchTimedOut bool `json:"batch_timed_out,omitempty"`
	// Mean contacts found per case.
	MeanStays     float64 `json:"mean_case_checkins"`
	MeanClose     float64 `json:"mean_close"`
	MeanSecondary float64 `json:"mean_secondary"`
	// StoreBytes is the check-ins' size on disk, indexes included;
	// DBBytes the whole store's (residents, codes, places... too).
	StoreBytes   int64 `json:"store_bytes"`
	DBBytes      int64 `json:"db_bytes"`
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
	// PeakHeldBytes is the largest resident set less the pages the process
	// freed lazily (heldMemory), sampled every 5 seconds but during the
	// single traces; 0 where it cannot be read.
	PeakHeldBytes int64 `json:"peak_held_bytes"`
	// TracingIndex is what the tracer read: "memory" (Index) or "store".
	// IndexLoadS is how long loading it took; HeapBytes is the Go heap in
	// use after the ingest (the index's open day in it, its sealed days
	// not).
	TracingIndex string  `json:"tracing_index"`
	IndexLoadS   float64 `json:"index_load_s,omitempty"`
	HeapBytes    int64   `json:"heap_bytes_after_ingest"`
	// The index's memory after the ingest: its sealed blocks (outside the
	// Go heap) and its open lists (in it).
	IndexSealedBytes int64 `json:"index_sealed_bytes,omitempty"`
	IndexOpenBytes   int64 `json:"index_open_bytes,omitempty"`
}

// Measure generates a synthetic movement of o.CheckIns check-ins (or
// o.Movement) into the empty store d through Store.Ingest in batches — the
// path the check-in API takes — then times tracing single cases over a
// 14-day window, and a batch of cases traced at once (TraceAll, close
// contacts only; then o.Confirm or TraceAll in full). With o.Reuse it
// times the single traces in a store an earlier Measure filled.
func Measure(ctx context.Context, d *db.DB, o MeasureOptions) (Measurement, error) {
	if o.Movement != nil {
		o.CheckIns, o.Days, o.Seed = o.Movement.Options.CheckIns, o.Movement.Options.Days, o.Movement.Options.Seed
	}
	if o.CheckIns < 1 {
		return Measurement{}, errors.New("tracingbench: measure: no check-ins to make")
	}
	o.Days = cmpOr(o.Days, 14)
	o.Batch = cmpOr(o.Batch, 2000)
	o.Traces = cmpOr(o.Traces, 200)
	o.Cases = cmpOr(o.Cases, 1000)
	o.Parallel = cmpOr(o.Parallel, runtime.GOMAXPROCS(0))
	logf := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", args...)
		}
	}
	var n int64
	if err := db.Get(ctx, d.R, &n, "SELECT count(*) FROM checkins"); err != nil {
		return Measurement{}, fmt.Errorf("tracingbench: measure: %w", err)
	}
	switch {
	case n > 0 && !o.Reuse:
		return Measurement{}, fmt.Errorf("tracingbench: measure: the store already holds %d check-ins", n)
	case n == 0 && o.Reuse:
		return Measurement{}, errors.New("tracingbench: measure: no check-ins to reuse")
	}
	mv := o.Movement
	if mv == nil {
		mv = NewMovement(MovementOptions{CheckIns: o.CheckIns, Days: o.Days, Seed: o.Seed})
	}
	places := o.Places
	if places == nil {
		places = mv.Places
	}
	res := Measurement{Store: d.Dialect.String(), Residents: mv.Residents, Places: len(mv.Places), Days: o.Days, Batch: o.Batch}
	// Reading the page tables takes about 30 ms a time at 100 M check-ins:
	// every 5 s costs the run under 1 % of a core.
	held := watchHeld(5 * time.Second)
	defer held.Stop()
	p := tracing.DefaultPolicy()
	if o.Policy != nil {
		p = *o.Policy
	}
	store, err := tracing.NewStore(d, places, p)
	if err != nil {
		return res, err
	}
	defer store.Close()
	res.TracingIndex = "store"
	if o.Index != nil {
		if err := store.UseIndex(o.Index); err != nil {
			return res, err
		}
		t0 := time.Now()
		if err := o.Index.Load(ctx, d); err != nil {
			return res, err
		}
		res.TracingIndex, res.IndexLoadS = "memory", time.Since(t0).Seconds()
		logf("in-memory index: %d check-ins loaded in %.1f s", o.Index.Len(), res.IndexLoadS)
	}
	if o.Reuse {
		// The movement ran before: the store holds it, ending at the end of
		// the day of its last check-in.
		var last int64
		if err := db.Get(ctx, d.R, &last, "SELECT max(t_in) FROM checkins"); err != nil {
			return res, fmt.Errorf("tracingbench: measure: %w", err)
		}
		start := mv.Options.Start.Unix()
		mv.End = start + ((last-start)/day+1)*day
		res.CheckIns = n
		logf("%d check-ins by %d residents at %d places in %s, ingested before", n, mv.Residents, len(mv.Places), res.Store)
	} else if err := measureIngest(ctx, store, mv, o, &res, logf); err != nil {
		return res, err
	}
	runtime.GC()
	if o.AfterIngest != nil {
		o.AfterIngest()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.HeapBytes = int64(ms.HeapInuse)
	if o.Index != nil {
		res.IndexSealedBytes, res.IndexOpenBytes = o.Index.Bytes()
		logf("in-memory index: %d check-ins, %d MB sealed, %d MB open; Go heap %d MB in use", o.Index.Len(),
			res.IndexSealedBytes>>20, res.IndexOpenBytes>>20, res.HeapBytes>>20)
	}
	if d.Dialect == db.Postgres {
		// What autovacuum would do in time on a live server: statistics, and
		// the visibility map that makes index-only scans index-only.
		if _, err := d.W.ExecContext(ctx, "VACUUM ANALYZE checkins"); err != nil {
			return res, fmt.Errorf("tracingbench: measure: vacuum: %w", err)
		}
	}
	if err := measureTracing(ctx, d, places, p, mv, o, &res, held, logf); err != nil {
		return res, err
	}
	res.StoreBytes, res.DBBytes, err = storeBytes(ctx, d)
	if err != nil {
		return res, err
	}
	res.PeakHeldBytes = held.Stop()
	res.PeakRSSBytes = peakRSS() // after the last sample: the peak covers it
	return res, nil
}

// measureIngest writes the movement into the store in batches and times it.
func measureIngest(ctx context.Context, store *tracing.Store, mv *Movement, o MeasureOptions, res *Measurement, logf func(string, ...any)) error {
	logf("%d check-ins by %d residents at %d places over %d days into %s, %d a batch", o.CheckIns, mv.Residents, len(mv.Places), o.Days, res.Store, o.Batch)
	// The movement is made on another goroutine while this one writes.
	batches := make(chan []tracing.CheckIn, 4)
	genCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(batches)
		for b := range mv.Batches(o.Batch) {
			select {
			case batches <- b:
			case <-genCtx.Done():
				return
			}
		}
	}()
	start := time.Now()
	tenth, lastTenth := max(1, o.CheckIns/10), time.Now()
	for b := range batches {
		added, err := store.Ingest(ctx, b)
		if err != nil {
			return fmt.Errorf("tracingbench: measure: %w", err)
		}
		before := res.CheckIns
		res.CheckIns += int64(added)
		if before/int64(tenth) != res.CheckIns/int64(tenth) {
			now := time.Now()
			rate := float64(tenth) / now.Sub(lastTenth).Seconds()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			logf("  %d check-ins, %.0f s, %.0f/s over the last %d; Go heap %d MB in use, %d MB from the system; resident %d MB",
				res.CheckIns, now.Sub(start).Seconds(), rate, tenth, ms.HeapInuse>>20, ms.Sys>>20, currentRSS()>>20)
			res.IngestLastPerSec, lastTenth = rate, now
		}
	}
	res.IngestSeconds = time.Since(start).Seconds()
	res.IngestPerSec = float64(res.CheckIns) / res.IngestSeconds
	logf("ingested %d in %.1f s: %.0f check-ins/s", res.CheckIns, res.IngestSeconds, res.IngestPerSec)
	return nil
}

// measureTracing times single traces and a batch of cases.
func measureTracing(ctx context.Context, d *db.DB, places tracing.Places, p tracing.Policy, mv *Movement, o MeasureOptions, res *Measurement, held *heldMemory, logf func(string, ...any)) error {
	tracer, err := tracing.NewTracer(d, places, p)
	if err != nil {
		return err
	}
	tracer.WithIndex(o.Index)
	rng := rand.New(rand.NewPCG(o.Seed, 0xca5e))
	seen := map[int64]bool{}
	cases := func(k int) []tracing.Case {
		cs := make([]tracing.Case, 0, k)
		for len(cs) < k {
			id := mv.ResidentID(rng.IntN(mv.Residents))
			if seen[id] && len(seen) < mv.Residents {
				continue // a different person each time
			}
			seen[id] = true
			until := mv.End
			cs = append(cs, tracing.Case{ResidentID: id, From: until - 14*day, Until: until, QuarantineAt: until})
		}
		return cs
	}
	single := cases(o.Traces)
	held.pause() // the single traces are timed one by one
	// closeOnly times the close contacts of the single cases, one after
	// another, and returns the p50 and p99 in milliseconds.
	closeOnly := func() (p50, p99 float64, err error) {
		took := make([]float64, 0, len(single))
		for _, c := range single {
			t0 := time.Now()
			if _, err := tracer.TraceClose(ctx, c); err != nil {
				return 0, 0, fmt.Errorf("tracingbench: measure: %w", err)
			}
			took = append(took, float64(time.Since(t0).Microseconds())/1000)
		}
		slices.Sort(took)
		return quantile(took, 0.50), quantile(took, 0.99), nil
	}
	if res.TraceCloseP50Ms, res.TraceCloseP99Ms, err = closeOnly(); err != nil {
		return err
	}
	logf("%d single traces of close contacts: p50 %.1f ms, p99 %.1f ms", len(single), res.TraceCloseP50Ms, res.TraceCloseP99Ms)
	var took []float64
	var stays, closeN, secN int
	for _, c := range single {
		t0 := time.Now()
		r, err := tracer.Trace(ctx, c)
		if err != nil {
			return fmt.Errorf("tracingbench: measure: %w", err)
		}
		took = append(took, float64(time.Since(t0).Microseconds())/1000)
		stays, closeN, secN = stays+r.Stays, closeN+len(r.Close), secN+len(r.Secondary)
	}
	slices.Sort(took)
	res.TraceP50Ms, res.TraceP99Ms, res.TraceMaxMs = quantile(took, 0.50), quantile(took, 0.99), took[len(took)-1]
	res.MeanStays = float64(stays) / float64(len(took))
	res.MeanClose, res.MeanSecondary = float64(closeN)/float64(len(took)), float64(secN)/float64(len(took))
	logf("%d single traces: p50 %.1f ms, p99 %.1f ms, max %.1f ms; per case %.1f check-ins, %.1f close, %.1f secondary contacts",
		len(took), res.TraceP50Ms, res.TraceP99Ms, res.TraceMaxMs, res.MeanStays, res.MeanClose, res.MeanSecondary)
	// The close contacts of the same cases again: the pages they read are
	// now in the page caches, as a busy server's recent days would be.
	if res.TraceCloseWarmP50Ms, res.TraceCloseWarmP99Ms, err = closeOnly(); err != nil {
		return err
	}
	logf("the same close contacts again: p50 %.1f ms, p99 %.1f ms", res.TraceCloseWarmP50Ms, res.TraceCloseWarmP99Ms)
	held.resume()
	if o.Reuse {
		return nil // the batch's cases were confirmed and traced before
	}

	res.BatchCases = o.Cases
	batch := cases(o.Cases)
	discard := func(int, tracing.Result) error { return nil }
	t0 := time.Now()
	if err := tracer.TraceAll(ctx, batch, tracing.BatchOptions{Parallel: o.Parallel, CloseOnly: true}, discard); err != nil {
		return fmt.Errorf("tracingbench: measure: %w", err)
	}
	res.BatchCloseS = time.Since(t0).Seconds()
	logf("%d cases at once, %d at a time, close contacts: %.2f s", o.Cases, o.Parallel, res.BatchCloseS)
	switch {
	case o.Confirm != nil:
		if o.Prepare != nil {
			if err := o.Prepare(ctx, batch); err != nil {
				return fmt.Errorf("tracingbench: measure: prepare the cases: %w", err)
			}
		}
		confirmCtx, cancel := ctx, context.CancelFunc(func() {})
		if o.ConfirmTimeout > 0 {
			confirmCtx, cancel = context.WithTimeout(ctx, o.ConfirmTimeout)
		}
		t0 = time.Now()
		br, err := o.Confirm(confirmCtx, batch)
		cancel()
		res.BatchS, res.BatchDone, res.BatchCloseRecordedS = time.Since(t0).Seconds(), br.Traced, br.CloseSeconds
		switch {
		case err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
			res.BatchTimedOut = true
			logf("%d cases confirmed at once: stopped after %.0f s, %d cases done", len(batch), res.BatchS, br.Traced)
		case err != nil:
			return fmt.Errorf("tracingbench: measure: %w", err)
		}
		res.BatchRecorded, res.BatchClose, res.BatchSecondary = true, br.Close, br.Secondary
		logf("%d cases confirmed at once: %.2f s (their close contacts recorded after %.2f s), %d close and %d secondary contacts recorded, their codes recomputed",
			br.Traced, res.BatchS, br.CloseSeconds, br.Close, br.Secondary)
	case !o.CloseOnlyBatch:
		t0 = time.Now()
		if err := tracer.TraceAll(ctx, batch, tracing.BatchOptions{Parallel: o.Parallel}, discard); err != nil {
			return fmt.Errorf("tracingbench: measure: %w", err)
		}
		res.BatchS = time.Since(t0).Seconds()
		logf("%d cases at once, %d at a time, close and secondary contacts: %.2f s", o.Cases, o.Parallel, res.BatchS)
	}
	return nil
}

func cmpOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// quantile of sorted values, nearest rank.
func quantile(sorted []float64, q float64) float64 {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(len(sorted)-1, max(0, i))]
}

// storeBytes returns the size on disk of the check-ins (their table and
// indexes) and of the whole store.
func storeBytes(ctx context.Context, d *db.DB) (checkins, total int64, err error) {
	if d.Dialect == db.Postgres {
		err = db.Get(ctx, d.R, &checkins, `SELECT COALESCE(sum(pg_total_relation_size(inhrelid)), 0)::BIGINT
			FROM pg_inherits WHERE inhparent = 'checkins'::regclass`)
		if err == nil {
			err = db.Get(ctx, d.R, &total, `SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::BIGINT FROM pg_class c
				WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace`)
		}
		return checkins, total, wrap("measure: store size", err)
	}
	// SQLite: the file, less every table and index but the check-ins'
	// (dbstat walks only the b-tree it is asked about, and those are small).
	if err = db.Get(ctx, d.R, &total, "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"); err != nil {
		return 0, 0, wrap("measure: store size", err)
	}
	var names []string
	if err = db.Select(ctx, d.R, &names, "SELECT name FROM sqlite_schema WHERE type IN ('table', 'index') AND rootpage > 0 AND tbl_name <> 'checkins'"); err != nil {
		return 0, total, wrap("measure: store size", err)
	}
	other := int64(0)
	for _, name := range names {
		var n sql.NullInt64
		if err = db.Get(ctx, d.R, &n, "SELECT sum(pgsize) FROM dbstat WHERE name = ? AND aggregate = TRUE", name); err != nil {
			return 0, total, wrap("measure: store size", err)
		}
		other += n.Int64
	}
	return total - other, total, nil
}

// peakRSS reads the process's peak resident set from Linux; 0 elsewhere.
func peakRSS() int64 { return max(procSizes("/proc/self/status", "VmHWM:")[0], 0) }

// currentRSS is the process's resident memory now (Linux; 0 elsewhere).
func currentRSS() int64 { return max(procSizes("/proc/self/status", "VmRSS:")[0], 0) }

// procSizes reads sizes in kB ("Field:   123 kB" lines) from a /proc file,
// in bytes, one for each field; -1 for a field not found, every one -1
// when the file cannot be read.
func procSizes(path string, fields ...string) []int64 {
	out := make([]int64, len(fields))
	for i := range out {
		out[i] = -1
	}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		for i, field := range fields {
			if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				out[i] = kb * 1024
			}
		}
	}
	return out
}

// day is a day in seconds.
const day = 86400

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("tracingbench: %s: %w", op, err)
}
