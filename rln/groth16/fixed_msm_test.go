package groth16

import (
	"math/big"
	"testing"
	"unsafe"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// The fixed-base MSM equals gnark's MultiExp, including the corner cases:
// zero and one scalars, r-1 (all digits large), repeated points (doubling
// in a bucket), a point and its negation (cancellation), infinity.
func TestFixedMSMMatchesMultiExp(t *testing.T) {
	t.Parallel()
	_, _, g1, _ := bn254.Generators()
	const n = 300
	points := make([]bn254.G1Affine, n)
	for i := range points {
		var s fr.Element
		s.SetRandom()
		points[i].ScalarMultiplication(&g1, s.BigInt(new(big.Int)))
	}
	points[5] = points[4]        // same point twice
	points[7].Neg(&points[6])    // a point and its negation
	points[9] = bn254.G1Affine{} // infinity
	for _, c := range []int{4, 8, 13} {
		f := newG1MSM(points, c)
		for trial := range 3 {
			scalars := make([]fr.Element, n)
			for i := range scalars {
				scalars[i].SetRandom()
			}
			scalars[0].SetZero()
			scalars[1].SetOne()
			scalars[2].SetOne()
			scalars[2].Neg(&scalars[2]) // r-1
			if trial == 1 {
				for i := range scalars {
					scalars[i].SetUint64(uint64(i % 5)) // many equal small digits
				}
			}
			scalars[6] = scalars[7] // cancels with its negation
			var want bn254.G1Jac
			if _, err := want.MultiExp(points, scalars, ecc.MultiExpConfig{}); err != nil {
				t.Fatal(err)
			}
			for _, tasks := range []int{1, 2, 3} {
				got := f.MultiExp(scalars, tasks)
				if !got.Equal(&want) {
					t.Fatalf("c=%d trial %d tasks %d: fixed-base MSM differs from MultiExp", c, trial, tasks)
				}
			}
		}
	}
}

// The G2 instance agrees with gnark's MultiExp too.
func TestFixedMSMG2(t *testing.T) {
	t.Parallel()
	_, _, _, g2 := bn254.Generators()
	const n = 60
	points := make([]bn254.G2Affine, n)
	for i := range points {
		var s fr.Element
		s.SetRandom()
		points[i].ScalarMultiplication(&g2, s.BigInt(new(big.Int)))
	}
	points[3] = points[2]     // same point twice
	points[5].Neg(&points[4]) // a point and its negation
	points[8] = bn254.G2Affine{}
	for _, c := range []int{4, 6, 10} {
		f := newG2MSM(points, c)
		for trial := range 2 {
			scalars := make([]fr.Element, n)
			for i := range scalars {
				scalars[i].SetRandom()
				if trial == 1 {
					scalars[i].SetUint64(uint64(i % 5)) // many equal small digits
				}
			}
			scalars[2] = scalars[3] // doubles in a bucket
			scalars[4] = scalars[5] // cancels with its negation
			var want bn254.G2Jac
			if _, err := want.MultiExp(points, scalars, ecc.MultiExpConfig{}); err != nil {
				t.Fatal(err)
			}
			for _, tasks := range []int{1, 2} {
				if got := f.MultiExp(scalars, tasks); !got.Equal(&want) {
					t.Fatalf("c=%d trial %d tasks %d: G2 fixed-base MSM differs from MultiExp", c, trial, tasks)
				}
			}
		}
	}
}

// The batched G2 conversion gives gnark's affine points, infinity among
// them, and a sparse G2 MSM (few points, many empty buckets: its
// reduction doubles in most lanes) agrees with MultiExp.
func TestBatchToAffineG2(t *testing.T) {
	t.Parallel()
	_, _, _, g2 := bn254.Generators()
	jac := make([]bn254.G2Jac, 9)
	for i := range jac {
		var s fr.Element
		s.SetUint64(uint64(3*i + 1))
		jac[i].FromAffine(&g2)
		jac[i].ScalarMultiplication(&jac[i], s.BigInt(new(big.Int)))
	}
	jac[0].Z.SetZero()
	jac[5].Z.SetZero()
	for i, a := range batchToAffineG2(jac) {
		var want bn254.G2Affine
		want.FromJacobian(&jac[i])
		if !a.Equal(&want) {
			t.Fatalf("point %d converts differently", i)
		}
	}
	if len(batchToAffineG2(nil)) != 0 {
		t.Fatal("no points gave some")
	}
	points := make([]bn254.G2Affine, 40)
	scalars := make([]fr.Element, len(points))
	for i := range points {
		points[i] = g2
		scalars[i].SetUint64(uint64(i))
	}
	points[7].Neg(&g2)
	var want bn254.G2Jac
	if _, err := want.MultiExp(points, scalars, ecc.MultiExpConfig{}); err != nil {
		t.Fatal(err)
	}
	if got := newG2MSM(points, 13).MultiExp(scalars, 1); !got.Equal(&want) {
		t.Fatal("sparse G2 MSM differs from MultiExp")
	}
}

func TestFixedMSMDigits(t *testing.T) {
	t.Parallel()
	for _, c := range []int{2, 4, 9, 10, 13, 16} {
		windows, width := windowWidths(c)
		total := uint(0)
		for _, w := range width {
			if w != uint(c) && w != uint(c-1) {
				t.Fatalf("c=%d: window of %d bits", c, w)
			}
			total += w
		}
		if len(width) != windows || total != frBits+1 || (windows-1)*c >= frBits+1 {
			t.Fatalf("c=%d: %d windows of %v bits", c, windows, width)
		}
		d := make([]int32, windows)
		for trial := range 200 {
			var s fr.Element
			switch trial {
			case 0:
				s.SetOne()
				s.Neg(&s) // r-1
			case 1:
				s.SetZero()
			default:
				s.SetRandom()
			}
			reg := s.Bits()
			digits(&reg, width, d, 1)
			sum := new(big.Int)
			for k := windows - 1; k >= 0; k-- {
				sum.Lsh(sum, width[k])
				sum.Add(sum, big.NewInt(int64(d[k])))
				half := int32(1) << (width[k] - 1)
				if d[k] > half || d[k] <= -half {
					t.Fatalf("c=%d: digit %d out of range", c, d[k])
				}
			}
			if sum.Cmp(s.BigInt(new(big.Int))) != 0 {
				t.Fatalf("c=%d: digits do not recompose the scalar", c)
			}
		}
	}
}

// One bucket receiving P, P, -P, P (a doubling and a cancellation, which the
// affine batch cannot do) still sums to 2P.
func TestFixedMSMDoublingAndCancellation(t *testing.T) {
	t.Parallel()
	_, _, g1, _ := bn254.Generators()
	var negG bn254.G1Affine
	negG.Neg(&g1)
	points := []bn254.G1Affine{g1, g1, negG, g1, g1, negG}
	scalars := make([]fr.Element, len(points))
	for i := range scalars {
		scalars[i].SetOne()
	}
	var want bn254.G1Jac
	want.FromAffine(&g1)
	want.DoubleAssign()
	for _, c := range []int{2, 4} {
		if got := newG1MSM(points, c).MultiExp(scalars, 1); !got.Equal(&want) {
			t.Fatalf("c=%d: got a different sum than 2G", c)
		}
	}
}

// The batched affine bucket reduction equals sum (m+1) * bucket[m] computed
// point by point, through its corner cases: empty buckets, equal buckets
// (the running sum doubles), a bucket and its negation (the running sum
// cancels to infinity), and spill buckets.
func TestBucketReduction(t *testing.T) {
	t.Parallel()
	_, _, g1, _ := bn254.Generators()
	var p, q bn254.G1Affine
	p.ScalarMultiplication(&g1, big.NewInt(1234567))
	q.ScalarMultiplication(&g1, big.NewInt(7654321))
	for _, c := range []int{4, 7, 13} {
		f := newG1MSM([]bn254.G1Affine{g1}, c)
		nb := 1 << (c - 1)
		for pattern := range 4 {
			s := f.getScratch()
			clear(s.state)
			buckets := s.buckets
			s.spill, s.spilled = make([]bn254.G1Jac, nb), make([]bool, nb)
			spill, spilled := s.spill, s.spilled
			var want bn254.G1Jac
			for m := range nb {
				var pt bn254.G1Affine
				switch pattern {
				case 0: // all equal: the running sums double
					pt = p
				case 1: // P, -P, P, -P ...: the running sums cancel
					pt = p
					if m%2 == 1 {
						pt.Neg(&p)
					}
				case 2: // sparse, with spills
					if m%3 != 0 {
						continue
					}
					pt = q
					if m%5 == 0 {
						var s bn254.G1Jac
						s.FromAffine(&p)
						spill[m], spilled[m] = s, true
						var w bn254.G1Jac
						w.ScalarMultiplication(&s, big.NewInt(int64(m+1)))
						want.AddAssign(&w)
					}
				case 3: // random
					pt.ScalarMultiplication(&g1, big.NewInt(int64(m*m+3)))
				}
				buckets[m], s.state[m] = affine[fp.Element]{pt.X, pt.Y}, bucketFilled
				var w bn254.G1Jac
				w.FromAffine(&pt)
				w.ScalarMultiplication(&w, big.NewInt(int64(m+1)))
				want.AddAssign(&w)
			}
			got := f.reduce(s)
			if !got.Equal(&want) {
				t.Fatalf("c=%d pattern %d: reduction differs", c, pattern)
			}
		}
	}
}

// The digit kernels cut scalars exactly as digits does: every window of
// every scalar, for the window sizes that have a kernel, over edge values
// (0, 1, r-1, r-2, 2^253) and random ones, with a tail that is not a
// whole block.
func TestDigitKernels(t *testing.T) {
	if !have52 {
		t.Skip("no AVX-512 IFMA here")
	}
	t.Parallel()
	for _, c := range []int{13, 10} {
		const n = 8*37 + 5
		scalars := make([]fr.Element, n)
		var one, m1 fr.Element
		one.SetOne()
		m1.Neg(&one)
		edges := []fr.Element{{}, one, m1}
		edges = append(edges, *new(fr.Element).Sub(&m1, &one))
		edges = append(edges, *new(fr.Element).SetBigInt(new(big.Int).Lsh(big.NewInt(1), 253)))
		for i := range scalars {
			if i < len(edges) {
				scalars[i] = edges[i]
			} else {
				scalars[i].SetRandom()
			}
		}
		windows, width := windowWidths(c)
		want := make([]int32, n*windows)
		for j := range scalars {
			reg := scalars[j].Bits()
			digits(&reg, width, want[j:], n)
		}
		got := make([]int32, n*windows)
		digitKernel(c)(&got[0], (*uint64)(unsafe.Pointer(&scalars[0])), &transposeIdx[0], &fr52Consts, n/blockLanes, 4*n)
		for k := range windows {
			for j := range n / blockLanes * blockLanes {
				if got[k*n+j] != want[k*n+j] {
					t.Fatalf("c=%d: scalar %d window %d: %d, want %d", c, j, k, got[k*n+j], want[k*n+j])
				}
			}
		}
	}
}
