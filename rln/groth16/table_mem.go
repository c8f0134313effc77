package groth16

import (
	"runtime"
	"unsafe"
)

// tableMemory returns zeroed memory for n table points of owner's. Where
// the platform allows, it is mapped outside the Go heap and unmapped once
// owner is unreachable: the tables (~40 MB for the RLN key) are built once
// and never change, and out of the heap they no longer count toward the
// garbage collector's goal, which lets the heap grow to twice its live
// size between collections; in it they doubled their own weight in the
// process's peak RSS. Whoever reads the memory must keep owner alive
// until done (runtime.KeepAlive).
func tableMemory[E, T any](owner *T, n int) []affine[E] {
	if n == 0 {
		return nil
	}
	size := n * int(unsafe.Sizeof(affine[E]{}))
	mem := mapAnon(size)
	if mem == nil {
		return make([]affine[E], n)
	}
	runtime.AddCleanup(owner, unmapAnon, mem)
	return unsafe.Slice((*affine[E])(unsafe.Pointer(unsafe.SliceData(mem))), n)
}
