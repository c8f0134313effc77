package groth16

import (
	"math/big"
	"math/bits"
	"sync"

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
	// With the radix-2^52 kernels, the stages of 8 or more pairs run on
	// them, with these twiddles (times 16, the kernels' multiplier form):
	// stage m's from element m-8 on. Nil without the kernels.
	tw52, twInv52 []uint64
	// The in-block stages' multipliers, lane by lane (DIF m = 4, 2, then
	// DIT m = 2, 4; m = 1's is one), and the scale, times 16.
	mid52, scale52 []uint64
	bufs52         sync.Pool // *fft52Bufs
}

// fft52Bufs is one transform's memory on the kernels' path.
type fft52Bufs struct{ narrow []uint64 }

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
	if have52 && n >= 2*vectorStage {
		f.tw52 = twiddles52(f.tw, n)
		f.twInv52 = twiddles52(f.twInv, n)
		f.mid52 = make([]uint64, 4*blockWords)
		for k, st := range []struct {
			tw fr.Vector
			m  int
		}{{f.twInv, 4}, {f.twInv, 2}, {f.tw, 2}, {f.tw, 4}} {
			for l := range blockLanes {
				put52Times16(f.mid52, k*blockLanes+l, (*[4]uint64)(&st.tw[st.m+l&(st.m-1)]))
			}
		}
		f.scale52 = make([]uint64, n/blockLanes*blockWords)
		for i := range n {
			put52Times16(f.scale52, i, (*[4]uint64)(&f.scale[i]))
		}
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

// twiddles52 lays out 16 tw[m+j] for the stages m >= vectorStage as the
// kernels' multipliers (an integer below 2^258, not reduced): stage m's
// from element m-8 on.
func twiddles52(tw fr.Vector, n int) []uint64 {
	out := make([]uint64, (n-vectorStage)/blockLanes*blockWords)
	for m := vectorStage; m < n; m *= 2 {
		for j := range m {
			put52Times16(out, m-vectorStage+j, (*[4]uint64)(&tw[m+j]))
		}
	}
	return out
}

// toCoset replaces the evaluations v on the domain with those on the
// coset; len(v) must be n and scratch must hold n/2 elements.
func (f *cosetFFT) toCoset(v, scratch fr.Vector) {
	if f.tw52 != nil {
		f.toCoset52(v)
		return
	}
	f.difInverse(v, scratch, f.n/2)
	v.Mul(v, f.scale)
	f.dit(v, scratch, f.n/2)
}

// toCoset52 is toCoset on the radix-2^52 kernels: the stages of 8 or more
// pairs a run of fused butterflies at a time (sum, difference, twiddle
// product), then one pass over the blocks for the three smallest stages of
// each transform, whose pairs lie within a block, and the scaling between
// them.
func (f *cosetFFT) toCoset52(v fr.Vector) {
	n := f.n
	b, _ := f.bufs52.Get().(*fft52Bufs)
	if b == nil {
		b = &fft52Bufs{narrow: make([]uint64, n/blockLanes*blockWords)}
	}
	defer f.bufs52.Put(b)
	w := b.narrow
	at := func(i int) *uint64 { return &w[i/blockLanes*blockWords] }
	elemsTo52(w, v)
	for m := n / 2; m >= vectorStage; m /= 2 {
		tw := &f.twInv52[(m-vectorStage)/blockLanes*blockWords]
		for s := 0; s < n; s += 2 * m {
			difBfly52(at(s), at(s+m), tw, &fr52Consts, m/blockLanes)
		}
	}
	midFFT52(&w[0], &f.scale52[0], &f.mid52[0], &fr52Consts, n/blockLanes)
	for m := vectorStage; m < n; m *= 2 {
		tw := &f.tw52[(m-vectorStage)/blockLanes*blockWords]
		for s := 0; s < n; s += 2 * m {
			ditBfly52(at(s), at(s+m), tw, &fr52Consts, m/blockLanes)
		}
	}
	elemsFrom52(v, w)
}

// vectorStage is the smallest half-size whose butterflies are done as
// vector additions and subtractions (with scratch) rather than one pair at
// a time.
const vectorStage = 8

// difInverse is the unscaled inverse transform, natural order in,
// bit-reversed order out: each stage does a butterfly (u, v) -> (u+v,
// (u-v) w^-j). It does the stages of top pairs and fewer.
func (f *cosetFFT) difInverse(a, scratch fr.Vector, top int) {
	n := f.n
	for m := top; m >= 1; m /= 2 {
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
// out: each stage does a butterfly (u, v) -> (u + v w^j, u - v w^j). It
// does the stages of top pairs and fewer.
func (f *cosetFFT) dit(a, scratch fr.Vector, top int) {
	n := f.n
	for m := 1; m <= top && m < n; m *= 2 {
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
