package main

import (
	"encoding/json"
	"testing"
)

// TestBenchTracing runs `outbreak bench tracing` small: it generates the
// region and its movement, ingests it, traces single cases and confirms a
// batch through the tracing service, and prints every figure with its
// target; bad flags are usage errors.
func TestBenchTracing(t *testing.T) {
	t.Setenv("OUTBREAK_ARGON2_MEMORY_KIB", "1024")
	t.Setenv("OUTBREAK_LOG_FORMAT", "text")
	out, err := run(t, "bench", "tracing", "--checkins", "20000", "--days", "3", "--batch", "3000", "--cases", "5", "--traces", "5",
		"--batch-close-only")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Benchmark    string          `json:"benchmark"`
		CheckIns     int64           `json:"checkins"`
		Residents    int             `json:"residents"`
		Places       int             `json:"places"`
		Batch        int             `json:"batch"`
		IngestPerSec float64         `json:"ingest_per_sec"`
		TraceP50     float64         `json:"trace_p50_ms"`
		TraceP99     float64         `json:"trace_p99_ms"`
		BatchS       float64         `json:"batch_1000_s"`
		Recorded     bool            `json:"batch_codes_recomputed"`
		BatchClose   int             `json:"batch_close"`
		MeanClose    float64         `json:"mean_close"`
		StoreBytes   int64           `json:"store_bytes"`
		DBBytes      int64           `json:"db_bytes"`
		PeakRSS      int64           `json:"peak_rss_bytes"`
		PeakHeld     int64           `json:"peak_held_bytes"`
		Load         string          `json:"load_avg_end"`
		Meets        map[string]bool `json:"meets_target"`
		Raw          struct {
			Seconds float64        `json:"seconds"`
			Rows    map[string]int `json:"rows"`
		} `json:"batch_close_raw_write"`
		VsRaw     float64 `json:"batch_close_recorded_vs_raw"`
		Secondary int     `json:"batch_secondary"`
		Target    struct {
			Cases    int     `json:"cases"`
			Contacts int     `json:"contacts"`
			Seconds  float64 `json:"seconds"`
			Raw      float64 `json:"raw_write_seconds"`
			Ratio    float64 `json:"ratio"`
			CPU      float64 `json:"cpu_seconds"`
			RawCPU   float64 `json:"raw_write_cpu_seconds"`
			CPURatio float64 `json:"cpu_ratio"`
		} `json:"batch_target"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.Benchmark != "tracing" || res.CheckIns != 20000 || res.Batch != 3000 || res.Residents < 1000 || res.Places == 0 {
		t.Errorf("sizes: %s", out)
	}
	if res.IngestPerSec <= 0 || res.TraceP50 <= 0 || res.TraceP99 < res.TraceP50 || res.BatchS <= 0 || !res.Recorded || res.MeanClose <= 0 {
		t.Errorf("figures: %s", out)
	}
	if res.StoreBytes <= 0 || res.DBBytes < res.StoreBytes || res.PeakRSS <= 0 || res.Load == "" {
		t.Errorf("sizes on disk and in memory: %s", out)
	}
	// What the process holds is resident, and at most its peak (this test
	// runs on Linux, where both are read; the kernel's counters behind the
	// peak lag the page tables by a few pages a thread).
	if res.PeakHeld <= 0 || res.PeakHeld > res.PeakRSS+8<<20 {
		t.Errorf("peak held %d, peak resident %d", res.PeakHeld, res.PeakRSS)
	}
	// The close contacts' rows written again, bare: every one of them.
	if r := res.Raw.Rows; res.Raw.Seconds <= 0 || res.VsRaw <= 0 || r["contacts"] != res.BatchClose ||
		r["contact_followups"] != res.BatchClose || r["traces"] != 5 || r["codes"] == 0 || r["audit_log"] == 0 {
		t.Errorf("raw write: %s", out)
	}
	// The batch target in one place; --batch-close-only stops before the
	// secondary contacts.
	if bt := res.Target; bt.Cases != 5 || bt.Contacts != res.BatchClose || bt.Seconds <= 0 || bt.Raw != res.Raw.Seconds ||
		bt.Ratio != res.VsRaw || res.Secondary != 0 || bt.CPU <= 0 || bt.RawCPU <= 0 || bt.CPURatio <= 0 {
		t.Errorf("batch target: %s", out)
	}
	for _, k := range []string{"ingest_per_sec", "trace_p50_ms", "trace_p99_ms", "batch_1000_s", "peak_rss_bytes", "peak_held_bytes",
		"batch_close_recorded_s", "batch_close_vs_raw"} {
		if _, ok := res.Meets[k]; !ok {
			t.Errorf("no verdict on %s", k)
		}
	}
	for _, bad := range [][]string{{"--checkins", "0"}, {"--batch", "-1"}, {"--no-such-flag"}, {"extra"}, {"--rules", "rules.yaml"}} {
		if _, err := run(t, append([]string{"bench", "tracing"}, bad...)...); exitCode(err) != 2 {
			t.Errorf("bench tracing %v: %v, want a usage error", bad, err)
		}
	}
}
