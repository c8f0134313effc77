//go:build !unix

package groth16

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
