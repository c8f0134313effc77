package witness

import (
	"math"
	"math/big"
	"math/bits"
)

// u256 is an unsigned 256-bit integer as little-endian 64-bit limbs. It holds
// the canonical integer representative of field elements for the
// representation-level operations (integer division, shifts, bitwise ops,
// signed comparisons).
type u256 [4]uint64

// Limbs of the BN254 scalar field modulus
// p = 21888242871839275222246405745257275088548364400416034343698204186575808495617.
const (
	p0 = 0x43e1f593f0000001
	p1 = 0x2833e84879b97091
	p2 = 0xb85045b68181585d
	p3 = 0x30644e72e131a029
)

// mask254Top keeps the low 62 bits of the top limb: values are 254-bit
// integers in circom-witnesscalc's U254 type.
const mask254Top = 1<<62 - 1

func modulus() u256 { return u256{p0, p1, p2, p3} }

// halfModulus returns (p-1)/2; larger canonical values are negative.
func halfModulus() u256 { return modulus().shr(1) }

// String formats x in decimal.
func (x u256) String() string {
	z := new(big.Int)
	for i := 3; i >= 0; i-- {
		z.Lsh(z, 64).Or(z, new(big.Int).SetUint64(x[i]))
	}
	return z.String()
}

func (x u256) isZero() bool { return x[0]|x[1]|x[2]|x[3] == 0 }

// cmp returns -1, 0 or +1 as x <, ==, > y.
func (x u256) cmp(y u256) int {
	for i := 3; i >= 0; i-- {
		switch {
		case x[i] < y[i]:
			return -1
		case x[i] > y[i]:
			return 1
		}
	}
	return 0
}

// sub returns x-y modulo 2^256.
func (x u256) sub(y u256) u256 {
	var z u256
	var borrow uint64
	z[0], borrow = bits.Sub64(x[0], y[0], 0)
	z[1], borrow = bits.Sub64(x[1], y[1], borrow)
	z[2], borrow = bits.Sub64(x[2], y[2], borrow)
	z[3], _ = bits.Sub64(x[3], y[3], borrow)
	return z
}

// reduce maps an integer below 2p (any 254-bit integer is) into [0, p).
func (x u256) reduce() u256 {
	if p := modulus(); x.cmp(p) >= 0 {
		return x.sub(p)
	}
	return x
}

// shl shifts left by n bits, keeping 254 bits like U254 in witnesscalc.
func (x u256) shl(n uint64) u256 {
	if n >= 254 {
		return u256{}
	}
	limbs, s := int(n/64), uint(n%64)
	var z u256
	for i := 3; i >= limbs; i-- {
		z[i] = x[i-limbs] << s
		if s != 0 && i-limbs-1 >= 0 {
			z[i] |= x[i-limbs-1] >> (64 - s)
		}
	}
	z[3] &= mask254Top
	return z
}

// shr shifts right by n bits.
func (x u256) shr(n uint64) u256 {
	if n >= 256 {
		return u256{}
	}
	limbs, s := int(n/64), uint(n%64)
	var z u256
	for i := 0; i+limbs < 4; i++ {
		z[i] = x[i+limbs] >> s
		if s != 0 && i+limbs+1 < 4 {
			z[i] |= x[i+limbs+1] << (64 - s)
		}
	}
	return z
}

func (x u256) and(y u256) u256 { return u256{x[0] & y[0], x[1] & y[1], x[2] & y[2], x[3] & y[3]} }
func (x u256) or(y u256) u256  { return u256{x[0] | y[0], x[1] | y[1], x[2] | y[2], x[3] | y[3]} }
func (x u256) xor(y u256) u256 { return u256{x[0] ^ y[0], x[1] ^ y[1], x[2] ^ y[2], x[3] ^ y[3]} }

// not254 flips the low 254 bits.
func (x u256) not254() u256 { return u256{^x[0], ^x[1], ^x[2], ^x[3] & mask254Top} }

func (x u256) bitLen() int {
	for i := 3; i >= 0; i-- {
		if x[i] != 0 {
			return i*64 + bits.Len64(x[i])
		}
	}
	return 0
}

func (x u256) bit(i int) uint64 { return x[i/64] >> (uint(i) % 64) & 1 }

// divMod returns the quotient and remainder of x/y; y must be non-zero.
func (x u256) divMod(y u256) (q, r u256) {
	if y[1]|y[2]|y[3] == 0 {
		d := y[0]
		var rem uint64
		for i := 3; i >= 0; i-- {
			q[i], rem = bits.Div64(rem, x[i], d)
		}
		return q, u256{rem}
	}
	if x.cmp(y) < 0 {
		return u256{}, x
	}
	// Binary long division; both operands are below 2^254 so r<<1 cannot
	// overflow.
	for i := x.bitLen() - 1; i >= 0; i-- {
		r = u256{r[0]<<1 | x.bit(i), r[1]<<1 | r[0]>>63, r[2]<<1 | r[1]>>63, r[3]<<1 | r[2]>>63}
		if r.cmp(y) >= 0 {
			r = r.sub(y)
			q[i/64] |= 1 << (uint(i) % 64)
		}
	}
	return q, r
}

// signedShift interprets a canonical value as a signed shift amount the way
// witnesscalc converts it to isize: values above (p-1)/2 are negative. ok is
// false when the magnitude does not fit in a signed 64-bit integer.
func signedShift(x u256) (neg bool, n uint64, ok bool) {
	if x.cmp(halfModulus()) > 0 {
		x = modulus().sub(x)
		neg = true
	}
	if x[1]|x[2]|x[3] != 0 || x[0] > math.MaxInt64 {
		return false, 0, false
	}
	return neg, x[0], true
}

// signedCmp compares canonical values as signed integers in (-p/2, p/2).
func signedCmp(x, y u256) int {
	half := halfModulus()
	xNeg, yNeg := x.cmp(half) > 0, y.cmp(half) > 0
	switch {
	case xNeg == yNeg:
		return x.cmp(y)
	case xNeg:
		return -1
	default:
		return 1
	}
}

// shiftLeft implements circom's x << y (and, with negated direction, x >> y).
func shiftLeft(x, y u256, right bool) u256 {
	neg, n, ok := signedShift(y)
	if !ok {
		return u256{}
	}
	if neg != right {
		return x.shr(n).reduce()
	}
	return x.shl(n).reduce()
}
