//go:build amd64 && !purego

package groth16

import "github.com/consensys/gnark-crypto/utils/cpu"

// have52 reports whether the radix-2^52 kernels can run here.
var have52 = cpu.SupportAVX512IFMA

//go:noescape
func mul52(res, a, b *uint64, c *[7]uint64, n int)

//go:noescape
func sub52(res, a, b *uint64, c *[7]uint64, n int)

//go:noescape
func add52(res, a, b *uint64, c *[7]uint64, n int)

//go:noescape
func difBfly52(lo, hi, tw *uint64, c *[7]uint64, n int)

//go:noescape
func ditBfly52(lo, hi, tw *uint64, c *[7]uint64, n int)

//go:noescape
func midFFT52(v, scale, tw *uint64, c *[7]uint64, n int)

//go:noescape
func to52aos(res, src, idx *uint64, n int)

//go:noescape
func from52aos(res, src, idx *uint64, n int)

//go:noescape
func digits52c13(dig *int32, src, idx *uint64, c *[7]uint64, n, stride int)

//go:noescape
func digits52c10(dig *int32, src, idx *uint64, c *[7]uint64, n, stride int)
