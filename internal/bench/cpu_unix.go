//go:build unix

package bench

import (
	"syscall"
	"time"
)

// ProcessCPU is the CPU time the process has used so far, user and
// system, on every thread; 0 where it cannot be read. On a machine shared
// with other work a figure's wall time depends on the share of the cores
// it got, its CPU time much less.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
