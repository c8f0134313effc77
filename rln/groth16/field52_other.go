//go:build !amd64 || purego

package groth16

// have52 is false: the radix-2^52 kernels are written for amd64 only.
var have52 = false

func mul52(res, a, b *uint64, c *[7]uint64, n int) { panic("groth16: radix-2^52 kernels need amd64") }

func sub52(res, a, b *uint64, c *[7]uint64, n int) { panic("groth16: radix-2^52 kernels need amd64") }

func add52(res, a, b *uint64, c *[7]uint64, n int) { panic("groth16: radix-2^52 kernels need amd64") }

func difBfly52(lo, hi, tw *uint64, c *[7]uint64, n int) {
	panic("groth16: radix-2^52 kernels need amd64")
}

func ditBfly52(lo, hi, tw *uint64, c *[7]uint64, n int) {
	panic("groth16: radix-2^52 kernels need amd64")
}

func midFFT52(v, scale, tw *uint64, c *[7]uint64, n int) {
	panic("groth16: radix-2^52 kernels need amd64")
}

func to52aos(res, src, idx *uint64, n int) { panic("groth16: radix-2^52 kernels need amd64") }

func from52aos(res, src, idx *uint64, n int) { panic("groth16: radix-2^52 kernels need amd64") }

func digits52c13(dig *int32, src, idx *uint64, c *[7]uint64, n, stride int) {
	panic("groth16: radix-2^52 kernels need amd64")
}

func digits52c10(dig *int32, src, idx *uint64, c *[7]uint64, n, stride int) {
	panic("groth16: radix-2^52 kernels need amd64")
}
