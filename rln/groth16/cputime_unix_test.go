//go:build unix

package groth16

import (
	"syscall"
	"time"
)

// processCPU returns the process's user plus system CPU time, or false
// where the platform does not report it.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
