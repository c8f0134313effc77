package groth16

//go:generate go run ./internal/asmgen -o field52_amd64.s

import (
	"math/big"
	"unsafe"

	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// Radix-2^52 vectors of base field elements, for the AVX-512 IFMA kernels
// (field52_amd64.s). An element keeps gnark-crypto's Montgomery form (x
// 2^256 mod p, fully reduced) but is cut into five 52-bit limbs. Elements
// go in blocks of eight, limb-major: limb j of lane l of block k is at
// [k*blockWords + j*8 + l], so each limb of a block is one 512-bit
// register. The kernels take and give fully reduced, normalised limbs;
// their products are bit for bit those of fp.Element.Mul. Elements move in
// and out as plain vectors: to52aos and from52aos transpose and convert
// eight elements a step.
//
// mul52 computes the Montgomery product in radix 2^52: five rounds, each
// adding a_i b and then m p with m = -t_0/p mod 2^52, and dropping the
// low limb, divide by 2^260. One operand is shifted left by 4 bits first
// (16 a < 16 p < 2^258 fits the five limbs), so the result is a b / 2^256,
// gnark-crypto's product. It is below 16 p^2 / 2^260 + p < 2p, and one
// conditional subtraction reduces it.
const (
	blockLanes = 8
	blockWords = 5 * blockLanes
	limbMask   = 1<<52 - 1
)

// field52Consts and fr52Consts are a modulus's five limbs, -1/m mod 2^52
// and the mask, in the order the kernels load them: the base field's and
// the scalar field's.
var (
	field52Consts = consts52(fp.Modulus())
	fr52Consts    = consts52(fr.Modulus())
)

func consts52(p *big.Int) (c [7]uint64) {
	two52 := new(big.Int).Lsh(big.NewInt(1), 52)
	m := new(big.Int).Set(p)
	for j := range 5 {
		c[j] = new(big.Int).And(m, big.NewInt(limbMask)).Uint64()
		m.Rsh(m, 52)
	}
	inv := new(big.Int).ModInverse(new(big.Int).Mod(p, two52), two52)
	c[5] = new(big.Int).Sub(two52, inv).Uint64()
	c[6] = limbMask
	return
}

// limbs4 is a field element of either field: four 64-bit limbs.
type limbs4 interface{ ~[4]uint64 }

// put52 writes x into lane i of the block vector v (i counts lanes from
// the start of v).
func put52[E limbs4](v []uint64, i int, e *E) {
	x := (*[4]uint64)(unsafe.Pointer(e)) // E is a [4]uint64
	b := v[(i/blockLanes)*blockWords+i%blockLanes:]
	_ = b[4*blockLanes]
	b[0] = x[0] & limbMask
	b[blockLanes] = (x[0]>>52 | x[1]<<12) & limbMask
	b[2*blockLanes] = (x[1]>>40 | x[2]<<24) & limbMask
	b[3*blockLanes] = (x[2]>>28 | x[3]<<36) & limbMask
	b[4*blockLanes] = x[3] >> 16
}

// put52Times16 writes 16 x (x's limbs as an integer, below 2^254: the
// product is below 2^258) into lane i, not reduced: the form in which the
// kernels take a fixed multiplier.
func put52Times16(v []uint64, i int, x *[4]uint64) {
	b := v[(i/blockLanes)*blockWords+i%blockLanes:]
	_ = b[4*blockLanes]
	b[0] = x[0] << 4 & limbMask
	b[blockLanes] = (x[0]>>48 | x[1]<<16) & limbMask
	b[2*blockLanes] = (x[1]>>36 | x[2]<<28) & limbMask
	b[3*blockLanes] = (x[2]>>24 | x[3]<<40) & limbMask
	b[4*blockLanes] = x[3] >> 12
}

// get52 reads lane i of the block vector v.
func get52[E limbs4](v []uint64, i int, e *E) {
	x := (*[4]uint64)(unsafe.Pointer(e)) // E is a [4]uint64
	b := v[(i/blockLanes)*blockWords+i%blockLanes:]
	_ = b[4*blockLanes]
	l0, l1, l2, l3, l4 := b[0], b[blockLanes], b[2*blockLanes], b[3*blockLanes], b[4*blockLanes]
	x[0] = l0 | l1<<52
	x[1] = l1>>12 | l2<<40
	x[2] = l2>>24 | l3<<28
	x[3] = l3>>36 | l4<<16
}

// transposeIdx are the two permutations of a register pair that the
// plain-vector conversions use (see field52_amd64.s).
var transposeIdx = [16]uint64{0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15}

// elemsTo52 converts a plain vector of elements (len a multiple of 8) into
// blocks.
func elemsTo52[E limbs4](res []uint64, src []E) {
	if n := len(src) / blockLanes; n > 0 {
		_ = res[n*blockWords-1]
		to52aos(&res[0], (*uint64)(unsafe.Pointer(&src[0])), &transposeIdx[0], n)
	}
}

// elemsFrom52 converts blocks into a plain vector of elements.
func elemsFrom52[E limbs4](res []E, src []uint64) {
	if n := len(res) / blockLanes; n > 0 {
		_ = src[n*blockWords-1]
		from52aos((*uint64)(unsafe.Pointer(&res[0])), &src[0], &transposeIdx[0], n)
	}
}

// blocks returns the block vector's blocks [lo, hi).
func blocks(v []uint64, lo, hi int) []uint64 { return v[lo*blockWords : hi*blockWords] }

// vecMul52 sets res = a b block by block; the three have the same length,
// and res may be a or b.
func vecMul52(res, a, b []uint64) {
	if n := len(res) / blockWords; n > 0 {
		mul52(&res[0], &a[0], &b[0], &field52Consts, n)
	}
}

// vecAdd52 sets res = a + b block by block, as vecMul52.
func vecAdd52(res, a, b []uint64) {
	if n := len(res) / blockWords; n > 0 {
		add52(&res[0], &a[0], &b[0], &field52Consts, n)
	}
}

// vecSub52 sets res = a - b block by block, as vecMul52.
func vecSub52(res, a, b []uint64) {
	if n := len(res) / blockWords; n > 0 {
		sub52(&res[0], &a[0], &b[0], &field52Consts, n)
	}
}

// digitKernel is the kernel that cuts scalars into the signed digits of
// windows of about c bits (see digits), nil where there is none.
func digitKernel(c int) func(dig *int32, src, idx *uint64, consts *[7]uint64, n, stride int) {
	if !have52 {
		return nil
	}
	switch c {
	case 13:
		return digits52c13
	case 10:
		return digits52c10
	}
	return nil
}
