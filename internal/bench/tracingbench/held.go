package tracingbench

import (
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
	v := procSizes("/proc/self/smaps_rollup", "Rss:", "LazyFree:")
	if v[0] < 0 {
		return
	}
	held := v[0] - max(v[1], 0)
	for {
		p := h.peak.Load()
		if held <= p || h.peak.CompareAndSwap(p, held) {
			return
		}
	}
}
