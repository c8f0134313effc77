//go:build !linux

package groth16

// mapAnon: no anonymous mappings here; tables stay on the Go heap.
func mapAnon(int) []byte { return nil }

func unmapAnon([]byte) {}
