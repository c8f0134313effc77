package groth16

import "syscall"

// mapAnon maps size bytes of zeroed, private memory, or returns nil if it
// cannot (the caller then allocates on the heap).
func mapAnon(size int) []byte {
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	return mem
}

// unmapAnon releases memory from mapAnon. An error would mean mem was not
// such a mapping; there is no one to report it to from a cleanup.
func unmapAnon(mem []byte) {
	_ = syscall.Munmap(mem)
}
