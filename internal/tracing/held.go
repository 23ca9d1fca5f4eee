package tracing

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// heldMemory samples the memory the process holds — its resident set less
// the pages it has freed lazily (LazyFree: given back with MADV_FREE, as
// the Go runtime does under GODEBUG=madvdontneed=0, and taken by the kernel
// when it needs them, with nothing to write) — and keeps the largest.
// The peak resident set (VmHWM) counts those pages; this does not.
type heldMemory struct {
	peak   atomic.Int64
	paused atomic.Bool
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

// watchHeld samples every period until Stop, and once at each end. Linux
// only: elsewhere it keeps 0.
func watchHeld(period time.Duration) *heldMemory {
	h := &heldMemory{stop: make(chan struct{}), done: make(chan struct{})}
	h.sample()
	go func() {
		defer close(h.done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-t.C:
				if !h.paused.Load() {
					h.sample()
				}
			}
		}
	}()
	return h
}

// pause stops the sampling (reading the page tables takes a lock that the
// runtime's own mapping calls wait for) until resume.
func (h *heldMemory) pause() { h.sample(); h.paused.Store(true) }

func (h *heldMemory) resume() { h.paused.Store(false); h.sample() }

// Stop ends the sampling and returns the peak in bytes; it may be called
// again.
func (h *heldMemory) Stop() int64 {
	h.once.Do(func() {
		close(h.stop)
		<-h.done
		h.sample()
	})
	return h.peak.Load()
}

func (h *heldMemory) sample() {
	rss, lazy, ok := smapsRollup()
	if !ok {
		return
	}
	held := rss - lazy
	for {
		p := h.peak.Load()
		if held <= p || h.peak.CompareAndSwap(p, held) {
			return
		}
	}
}

// smapsRollup reads the process's resident and lazily freed bytes.
func smapsRollup() (rss, lazy int64, ok bool) {
	f, err := os.Open("/proc/self/smaps_rollup")
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	kb := func(s string) int64 {
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(s), " kB"), 10, 64)
		return n * 1024
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if v, found := strings.CutPrefix(line, "Rss:"); found {
			rss, ok = kb(v), true
		} else if v, found := strings.CutPrefix(line, "LazyFree:"); found {
			lazy = kb(v)
		}
	}
	return rss, lazy, ok
}
