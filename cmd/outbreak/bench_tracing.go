package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/bench"
	"github.com/outbreak-platform/outbreak/internal/bench/tracingbench"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/demo"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/rules"
	"github.com/outbreak-platform/outbreak/internal/tracing"
)

// Targets of `outbreak bench tracing` (issue 4), on the reference machine.
const (
	targetIngestPerSec = 50000
	targetTraceP50Ms   = 50
	targetTraceP99Ms   = 200
	targetBatchS       = 10
	// The batch target of issue 14: 1,000 cases confirmed at once, their
	// close contacts recorded and codes recomputed, in at most 45 s and
	// at most 1.5 times the store's raw write of the same rows.
	targetBatchCloseS     = 45
	targetBatchCloseVsRaw = 1.5
	targetPeakRSS         = 4 << 30
)

func benchTracing(ctx context.Context, args []string) error {
	fs := newFlags("bench tracing", `Generate the demo region with residents for N check-ins (about one for every
60), its places and their movement over --days days, and ingest the check-ins
through CheckIn.Validate and tracing.Store.Ingest — the check-in API's path — in
batches; then time tracing single cases (close and secondary contacts, a 14-day
window) and confirming --cases cases at once through the tracing service (their
contacts recorded and codes recomputed). Progress goes to stderr, JSON to stdout.
Without --db, a fresh SQLite file in a temporary folder (removed afterwards).`)
	n := fs.Int("checkins", 100_000_000, "check-ins to generate and ingest")
	batch := fs.Int("batch", 20000, "check-ins per Ingest call (one transaction each)")
	var dsn string
	fs.StringVar(&dsn, "db", "", "an EMPTY store, sqlite:PATH or postgres://URL (default: a temporary SQLite file)")
	fs.StringVar(&dsn, "store", "", "the same as --db")
	days := fs.Int("days", 14, "days the check-ins span")
	cases := fs.Int("cases", 1000, "cases confirmed at once")
	traces := fs.Int("traces", 200, "single cases traced one after another")
	seed := fs.Uint64("seed", 2020, "random seed of the region and its movement")
	batchTimeout := fs.Duration("batch-timeout", 0, "stop confirming the cases after this long, and report how many were done (0: no limit)")
	closeOnly := fs.Bool("batch-close-only", false, "stop confirming the cases once every case's close contacts are recorded:\nno secondary contacts (the batch target is the close contacts')")
	reuse := fs.Bool("reuse", false, "time the single traces again in the --db of an earlier run with the same --checkins, --days and --seed:\nno generation, no ingest, no batch")
	fs.Bool("json", true, "print JSON (the only format)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the ingest and the tracing to this file")
	memProfile := fs.String("memprofile", "", "write a heap profile to this file once the check-ins are in")
	index := fs.String("index", "auto", "what the tracer reads: memory (an in-memory index, SQLite only), store, or auto (memory on SQLite)")
	rulesFile := fs.String("rules", "", "trace under the tracing section of this rule file (with --reuse only: the store's dwell times were set at ingest)")
	if err := parse(fs, args); err != nil {
		return err
	}
	var policy *tracing.Policy
	if *rulesFile != "" {
		if !*reuse {
			return errUsage{errors.New("--rules needs --reuse")}
		}
		data, err := os.ReadFile(*rulesFile)
		if err != nil {
			return err
		}
		rs, err := rules.Parse(data)
		if err != nil {
			return err
		}
		p, err := tracing.PolicyFrom(rs.Tracing())
		if err != nil {
			return err
		}
		policy = &p
	}
	switch *index {
	case "auto", "memory", "store":
	default:
		return errUsage{fmt.Errorf("--index %q: want memory, store or auto", *index)}
	}
	// useIndex makes the in-memory index for a store on d, if asked for.
	useIndex := func(d *db.DB) (*tracing.Index, error) {
		switch {
		case *index == "memory" && d.Dialect != db.SQLite:
			return nil, errUsage{errors.New("--index memory: only on SQLite")}
		case *index == "memory" || *index == "auto" && d.Dialect == db.SQLite:
			return tracing.NewIndex(), nil
		}
		return nil, nil
	}
	if *n < 1 || *batch < 1 || *days < 1 || *cases < 1 || *traces < 1 {
		return errUsage{errors.New("checkins, batch, days, cases and traces must be positive")}
	}
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	loadStart := loadAvg()
	if *reuse {
		if dsn == "" {
			return errUsage{errors.New("--reuse needs the --db of an earlier run")}
		}
		// Check-ins and places only: no personal data, so no key.
		d, err := db.Open(ctx, dsn, db.Options{})
		if err != nil {
			return err
		}
		defer d.Close()
		stopProfile, err := startProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
		ix, err := useIndex(d)
		if err != nil {
			return err
		}
		return benchTracingAgain(ctx, d, *n, *days, *seed, *batch, *traces, *cases, policy, ix, loadStart)
	}
	cfg, d, stores, cleanup, err := benchStore(ctx, dsn)
	if err != nil {
		return err
	}
	defer cleanup()

	residents := demo.ResidentsFor(*n, *days)
	logf("%d residents for %d check-ins over %d days, into %s", residents, *n, *days, d.Dialect)
	gen, err := demo.Generate(ctx, stores, demo.Options{Residents: residents, Seed: *seed, Progress: os.Stderr})
	if err != nil {
		return err
	}
	codes, err := codeService(ctx, cfg, d, stores.Residents)
	if err != nil {
		return err
	}
	codes.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	now := codes.Now()
	today := civil.Of(now)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	t0 := time.Now()
	mv, err := demo.NewMovement(ctx, d, demo.MovementOptions{Days: *days, End: midnight, Seed: *seed, CheckIns: *n, NoScene: true})
	if err != nil {
		return err
	}
	nPlaces, err := mv.WritePlaces(ctx, d)
	if err != nil {
		return err
	}
	logf("region: %d residents in %.1f s; %d places laid out and registered in %.1f s", gen.Residents, gen.Elapsed.Seconds(),
		nPlaces, time.Since(t0).Seconds())

	places := &tracing.PlaceKinds{DB: d}
	checkins, err := tracing.NewStore(d, places, tracing.DefaultPolicy())
	if err != nil {
		return err
	}
	defer checkins.Close()
	ix, err := useIndex(d)
	if err != nil {
		return err
	}
	if ix != nil {
		// Measure's store feeds it; the service's tracer reads it.
		if err := checkins.UseIndex(ix); err != nil {
			return err
		}
	}
	svc, err := tracing.NewService(d, checkins, codes, places, tracing.DefaultPolicy(), codes.Log, codes.Now)
	if err != nil {
		return err
	}
	epi, err := stores.Accounts.GetByUsername(ctx, "epidemiologist-1")
	if err != nil {
		return err
	}
	actor := epi.Actor()
	// Making 1.7 million residents leaves garbage the measurement should
	// not carry: a server does not generate its residents.
	debug.FreeOSMemory()
	stopProfile, err := startProfile(*cpuProfile)
	if err != nil {
		return err
	}
	var marks batchMarks
	m, err := tracingbench.Measure(ctx, d, tracingbench.MeasureOptions{Movement: mv.Movement, Places: places, Batch: *batch,
		Traces: *traces, Cases: *cases, Progress: os.Stderr, ConfirmTimeout: *batchTimeout, Index: ix,
		AfterIngest: func() {
			if err := writeHeapProfile(*memProfile); err != nil {
				logf("heap profile: %v", err)
			}
		},
		// Confirmed cases, infectious for the 14 days before now: onset
		// 12 days ago (the window opens 2 days before it).
		Prepare: func(ctx context.Context, cs []tracing.Case) error {
			for _, c := range cs {
				_, err := codes.SetCaseStatus(ctx, actor, c.ResidentID, healthcode.CaseStatus{Status: "confirmed",
					Since: today, Onset: today.AddDays(-12), Change: healthcode.Change{
						Reason: "benchmark: confirmed in bulk", LegalBasis: "Law on the Prevention and Treatment of Infectious Diseases"}})
				if err != nil {
					return err
				}
			}
			return nil
		},
		Confirm: func(ctx context.Context, cs []tracing.Case) (tracing.BatchResult, error) {
			ids := make([]int64, len(cs))
			for i, c := range cs {
				ids[i] = c.ResidentID
			}
			var err error
			if marks.before, err = readMarks(ctx, d); err != nil {
				return tracing.BatchResult{}, err
			}
			last, cpu := time.Now(), bench.ProcessCPU()
			ctx, stop := context.WithCancel(ctx)
			defer stop()
			br, err := svc.TraceCases(ctx, actor, ids, func(done, total int) {
				if done == len(ids) { // every case's close contacts recorded
					marks.closeCPU = (bench.ProcessCPU() - cpu).Seconds()
					marks.close, marks.closeErr = readMarks(ctx, d)
					marks.closeDone = true
					if *closeOnly {
						stop()
					}
				}
				if time.Since(last) > 10*time.Second {
					last = time.Now()
					logf("  %d of %d steps done (every case's close contacts, then every case's secondary ones)", done, total)
				}
			})
			if *closeOnly && marks.closeDone && errors.Is(err, context.Canceled) {
				err = nil // stopped, as asked, after the close contacts
			}
			return br, err
		},
	})
	stopProfile()
	if err != nil {
		return err
	}
	res := benchTracingResult(m, gen.Elapsed, loadStart, loadAvg())
	if m.BatchRecorded {
		if res.BatchCloseRaw, err = rawCloseWrite(ctx, d, marks); err != nil {
			return err
		}
		if res.BatchCloseRaw.Seconds > 0 && m.BatchCloseRecordedS > 0 {
			res.BatchCloseVsRaw = m.BatchCloseRecordedS / res.BatchCloseRaw.Seconds
		}
		logf("the batch's close contacts' rows written again, bare: %.1f s (the service took %.1f s, %.2f times as long)",
			res.BatchCloseRaw.Seconds, m.BatchCloseRecordedS, res.BatchCloseVsRaw)
		res.Batch = batchTargetOf(m, res.BatchCloseRaw, res.BatchCloseVsRaw, marks.closeCPU)
		res.Meets["batch_close_recorded_s"] = res.Batch.MeetsSeconds
		res.Meets["batch_close_vs_raw"] = res.Batch.MeetsRatio
	}
	return printJSON(res)
}

// batchMarks are the last ids of the tables a batch writes to, before it
// and when every case's close contacts were recorded.
type batchMarks struct {
	before, close marks
	closeDone     bool
	closeErr      error
	// closeCPU is the process's CPU time until the close contacts were
	// recorded (every goroutine: the tracing, the evaluation, the writer).
	closeCPU float64
}

type marks struct{ contacts, audit, traces int64 }

func readMarks(ctx context.Context, d *db.DB) (marks, error) {
	var m marks
	err := db.Get(ctx, d.R, &m.contacts, "SELECT COALESCE(max(id), 0) FROM contacts")
	if err == nil {
		err = db.Get(ctx, d.R, &m.audit, "SELECT COALESCE(max(id), 0) FROM audit_log")
	}
	if err == nil {
		err = db.Get(ctx, d.R, &m.traces, "SELECT COALESCE(max(id), 0) FROM traces")
	}
	return m, err
}

// rawCloseWrite writes the rows the batch wrote while recording its close
// contacts — traces, exposure sites, contacts, follow-ups, audit entries,
// and the contacts' codes — again with bare INSERTs, in transactions of
// as many contacts as the service's (bench.RawWrite): the store's own limit
// for what the service did, measured in the same run.
func rawCloseWrite(ctx context.Context, d *db.DB, bm batchMarks) (*bench.RawResult, error) {
	if !bm.closeDone { // stopped before every case's close contacts were in
		bm.close, bm.closeErr = readMarks(ctx, d)
	}
	if bm.closeErr != nil {
		return nil, bm.closeErr
	}
	b, c := bm.before, bm.close
	cs := []bench.Copy{
		{Table: "traces", Where: "id > ? AND id <= ?", Args: []any{b.traces, c.traces}, Key: "id"},
		{Table: "exposure_sites", Where: "trace_id > ? AND trace_id <= ?", Args: []any{b.traces, c.traces}, Key: "id"},
		{Table: "contacts", Where: "id > ? AND id <= ?", Args: []any{b.contacts, c.contacts}, Key: "id"},
		{Table: "contact_followups", Where: "contact_id > ? AND contact_id <= ?", Args: []any{b.contacts, c.contacts}, Key: "contact_id"},
		{Table: "audit_log", Where: "id > ? AND id <= ?", Args: []any{b.audit, c.audit}, Key: "id"},
		{Table: "codes", Where: "resident_id IN (SELECT resident_id FROM contacts WHERE id > ? AND id <= ?)",
			Args: []any{b.contacts, c.contacts}, Key: "resident_id", Upsert: true},
	}
	n := int(c.contacts-b.contacts+tracing.RecordGroupContacts-1) / tracing.RecordGroupContacts
	res, err := bench.RawWrite(ctx, d, cs, n)
	return &res, err
}

// benchTracingAgain times the single traces in the store of an earlier
// run, whose pages the earlier run may have left in the caches or not.
func benchTracingAgain(ctx context.Context, d *db.DB, n, days int, seed uint64, batch, traces, cases int, policy *tracing.Policy, ix *tracing.Index, loadStart string) error {
	var last int64
	if err := db.Get(ctx, d.R, &last, "SELECT COALESCE(max(t_in), 0) FROM checkins"); err != nil {
		return err
	}
	// Any midnight will do: Measure puts the cases' windows at the end of
	// the day of the last check-in.
	end := time.Unix(last, 0).In(time.FixedZone("CST", 8*3600))
	end = time.Date(end.Year(), end.Month(), end.Day()+1, 0, 0, 0, 0, end.Location())
	mv, err := demo.NewMovement(ctx, d, demo.MovementOptions{Days: days, End: end, Seed: seed, CheckIns: n, NoScene: true})
	if err != nil {
		return err
	}
	m, err := tracingbench.Measure(ctx, d, tracingbench.MeasureOptions{Movement: mv.Movement, Places: &tracing.PlaceKinds{DB: d},
		Batch: batch, Traces: traces, Cases: cases, Progress: os.Stderr, Reuse: true, CloseOnlyBatch: true, Policy: policy, Index: ix})
	if err != nil {
		return err
	}
	return printJSON(benchTracingResult(m, 0, loadStart, loadAvg()))
}

// tracingResult is what `outbreak bench tracing` prints.
type tracingResult struct {
	Benchmark string `json:"benchmark"`
	tracingbench.Measurement
	ResidentsS   float64 `json:"residents_s"`
	LoadAvgStart string  `json:"load_avg_start"`
	LoadAvgEnd   string  `json:"load_avg_end"`
	// GoDebug is the run's GODEBUG: madvdontneed=0 changes the tail of
	// the traces' latency (BENCHMARKS.md).
	GoDebug string `json:"godebug,omitempty"`
	// BatchCloseRaw is the store's raw limit for the rows the batch wrote
	// recording its close contacts; BatchCloseVsRaw how many times that
	// the service took.
	BatchCloseRaw   *bench.RawResult `json:"batch_close_raw_write,omitempty"`
	BatchCloseVsRaw float64          `json:"batch_close_recorded_vs_raw,omitempty"`
	// Batch is the batch target of issue 14 in one place.
	Batch   *batchTarget    `json:"batch_target,omitempty"`
	Targets map[string]any  `json:"targets"`
	Meets   map[string]bool `json:"meets_target"`
}

func benchTracingResult(m tracingbench.Measurement, residents time.Duration, loadStart, loadEnd string) tracingResult {
	return tracingResult{
		Benchmark: "tracing", Measurement: m, ResidentsS: residents.Seconds(), LoadAvgStart: loadStart, LoadAvgEnd: loadEnd,
		GoDebug: os.Getenv("GODEBUG"),
		Targets: map[string]any{"ingest_per_sec": targetIngestPerSec, "trace_p50_ms": targetTraceP50Ms,
			"trace_p99_ms": targetTraceP99Ms, "batch_1000_s": targetBatchS, "batch_1000_close_recorded_s": targetBatchS,
			"batch_close_recorded_s": targetBatchCloseS, "batch_close_vs_raw": targetBatchCloseVsRaw,
			"peak_rss_bytes": targetPeakRSS, "peak_held_bytes": targetPeakRSS},
		Meets: map[string]bool{
			"ingest_per_sec": m.IngestPerSec >= targetIngestPerSec,
			"trace_p50_ms":   m.TraceP50Ms <= targetTraceP50Ms,
			"trace_p99_ms":   m.TraceP99Ms <= targetTraceP99Ms,
			"batch_1000_s":   m.BatchRecorded && !m.BatchTimedOut && m.BatchS <= targetBatchS,
			// The close contacts of every case recorded, their codes turned.
			"batch_1000_close_recorded_s": m.BatchRecorded && m.BatchDone == m.BatchCases &&
				m.BatchCloseRecordedS > 0 && m.BatchCloseRecordedS <= targetBatchS,
			"peak_rss_bytes": m.PeakRSSBytes > 0 && m.PeakRSSBytes < targetPeakRSS,
			// The same, less the pages freed lazily (GODEBUG=madvdontneed=0).
			"peak_held_bytes": m.PeakHeldBytes > 0 && m.PeakHeldBytes < targetPeakRSS,
		},
	}
}

// batchTarget is the batch target of issue 14 as measured: the cases
// confirmed at once, their close contacts recorded (codes recomputed), how
// long that took through the service, how long the store's raw write of
// the same rows took in the same run, and the ratio of the two.
type batchTarget struct {
	Cases          int     `json:"cases"`
	CasesDone      int     `json:"cases_done"`
	CheckIns       int64   `json:"checkins"`
	Contacts       int     `json:"contacts"`
	AuditEntries   int     `json:"audit_entries"`
	Codes          int     `json:"codes"`
	Seconds        float64 `json:"seconds"`
	RawSeconds     float64 `json:"raw_write_seconds"`
	Ratio          float64 `json:"ratio"`
	ContactsPerSec float64 `json:"contacts_per_sec"`
	// The CPU time of each (the process's, all of it on SQLite) and its
	// ratio: on a machine shared with other work the wall times measure
	// the share of the cores each got as much as the work.
	CPUSeconds    float64 `json:"cpu_seconds,omitempty"`
	RawCPUSeconds float64 `json:"raw_write_cpu_seconds,omitempty"`
	CPURatio      float64 `json:"cpu_ratio,omitempty"`
	TargetSeconds float64 `json:"target_seconds"`
	TargetRatio   float64 `json:"target_ratio"`
	MeetsSeconds  bool    `json:"meets_seconds"`
	MeetsRatio    bool    `json:"meets_ratio"`
}

func batchTargetOf(m tracingbench.Measurement, raw *bench.RawResult, ratio, cpu float64) *batchTarget {
	b := &batchTarget{Cases: m.BatchCases, CasesDone: m.BatchDone, CheckIns: m.CheckIns, Contacts: m.BatchClose,
		AuditEntries: raw.Rows["audit_log"], Codes: raw.Rows["codes"], Seconds: m.BatchCloseRecordedS,
		RawSeconds: raw.Seconds, Ratio: ratio, TargetSeconds: targetBatchCloseS, TargetRatio: targetBatchCloseVsRaw}
	if b.Seconds > 0 {
		b.ContactsPerSec = float64(b.Contacts) / b.Seconds
	}
	b.CPUSeconds, b.RawCPUSeconds = cpu, raw.CPUSeconds
	if cpu > 0 && raw.CPUSeconds > 0 {
		b.CPURatio = cpu / raw.CPUSeconds
	}
	done := m.BatchDone == m.BatchCases && b.Seconds > 0
	b.MeetsSeconds = done && b.Seconds <= targetBatchCloseS
	b.MeetsRatio = done && ratio > 0 && ratio <= targetBatchCloseVsRaw
	return b
}

// loadAvg is the machine's load average over 1, 5 and 15 minutes, as
// /proc/loadavg gives it ("" elsewhere): other work on the machine skews
// the figures.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

func init() { benches["tracing"] = benchTracing }

// writeHeapProfile writes the heap profile to path, if there is one.
func writeHeapProfile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil { // Measure has collected the garbage
		f.Close()
		return err
	}
	return f.Close()
}
