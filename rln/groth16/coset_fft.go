package groth16

import (
	"math/big"
	"math/bits"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// cosetFFT moves a vector from evaluations on the n-th roots of unity to
// evaluations on the coset shift·<omega>, both in natural order: an
// inverse FFT by decimation in frequency (its output is in bit-reversed
// order), one pass that multiplies coefficient i by shift^i / n, and a
// forward FFT by decimation in time (which takes bit-reversed input), so
// no bit reversal is ever done. Butterfly stages of 8 or more pairs
// are vector operations: additions, subtractions and the twiddles'
// multiplications.
type cosetFFT struct {
	n int
	// tw[m+j] = omega_{2m}^j and twInv[m+j] = omega_{2m}^-j for the stage
	// of half-size m (m = 1, 2, 4, ..., n/2, j < m): one contiguous
	// table per stage.
	tw, twInv fr.Vector
	// scale[i] = shift^rev(i) / n: the coefficient at bit-reversed
	// position i is that of x^rev(i).
	scale fr.Vector
}

// newCosetFFT prepares the tables for n a power of two, omega a primitive
// n-th root of unity and shift the coset's shift.
func newCosetFFT(n int, omega, shift *fr.Element) *cosetFFT {
	f := &cosetFFT{n: n, tw: make(fr.Vector, n), twInv: make(fr.Vector, n), scale: make(fr.Vector, n)}
	var omegaInv fr.Element
	omegaInv.Inverse(omega)
	for m := 1; m < n; m *= 2 {
		// The stage's root omega_{2m} = omega^(n/2m).
		e := new(big.Int).SetUint64(uint64(n / (2 * m)))
		var w, wInv fr.Element
		w.Exp(*omega, e)
		wInv.Exp(omegaInv, e)
		f.tw[m].SetOne()
		f.twInv[m].SetOne()
		for j := 1; j < m; j++ {
			f.tw[m+j].Mul(&f.tw[m+j-1], &w)
			f.twInv[m+j].Mul(&f.twInv[m+j-1], &wInv)
		}
	}
	logN := bits.TrailingZeros(uint(n))
	var nInv fr.Element
	nInv.SetUint64(uint64(n))
	nInv.Inverse(&nInv)
	pow := nInv
	for i := range n {
		f.scale[reverseBits(i, logN)] = pow
		pow.Mul(&pow, shift)
	}
	return f
}

// reverseBits reverses the low logN bits of i.
func reverseBits(i, logN int) int {
	if logN == 0 {
		return 0
	}
	return int(bits.Reverse64(uint64(i)) >> (64 - logN))
}

// toCoset replaces the evaluations v on the domain with those on the
// coset; len(v) must be n and scratch must hold n/2 elements.
func (f *cosetFFT) toCoset(v, scratch fr.Vector) {
	f.difInverse(v, scratch)
	v.Mul(v, f.scale)
	f.dit(v, scratch)
}

// vectorStage is the smallest half-size whose butterflies are done as
// vector additions and subtractions (with scratch) rather than one pair at
// a time.
const vectorStage = 8

// difInverse is the unscaled inverse transform, natural order in,
// bit-reversed order out: each stage does a butterfly (u, v) -> (u+v,
// (u-v) w^-j).
func (f *cosetFFT) difInverse(a, scratch fr.Vector) {
	n := f.n
	for m := n / 2; m >= 1; m /= 2 {
		tw := f.twInv[m : 2*m]
		for s := 0; s < n; s += 2 * m {
			lo, hi := a[s:s+m], a[s+m:s+2*m]
			if m >= vectorStage {
				d := scratch[:m]
				d.Sub(lo, hi)
				lo.Add(lo, hi)
				hi.Mul(d, tw)
				continue
			}
			for j := range lo {
				fr.Butterfly(&lo[j], &hi[j])
			}
			mulTwiddles(hi, tw)
		}
	}
}

// dit is the forward transform, bit-reversed order in, natural order
// out: each stage does a butterfly (u, v) -> (u + v w^j, u - v w^j).
func (f *cosetFFT) dit(a, scratch fr.Vector) {
	n := f.n
	for m := 1; m < n; m *= 2 {
		tw := f.tw[m : 2*m]
		for s := 0; s < n; s += 2 * m {
			lo, hi := a[s:s+m], a[s+m:s+2*m]
			mulTwiddles(hi, tw)
			if m >= vectorStage {
				sum := scratch[:m]
				sum.Add(lo, hi)
				hi.Sub(lo, hi)
				copy(lo, sum)
				continue
			}
			for j := range lo {
				fr.Butterfly(&lo[j], &hi[j])
			}
		}
	}
}

// mulTwiddles sets v[j] *= tw[j] (tw[0] = 1): as a vector operation when
// there are enough elements, one by one otherwise.
func mulTwiddles(v, tw fr.Vector) {
	if len(v) >= 8 {
		v.Mul(v, tw)
		return
	}
	for j := 1; j < len(v); j++ {
		v[j].Mul(&v[j], &tw[j])
	}
}
