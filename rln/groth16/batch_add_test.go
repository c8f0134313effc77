package groth16

import (
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// The inverter agrees with field inversion one element at a time, for
// lengths that go up the product tree all the way (512), part of the way
// (40: one level, then 5 rows), or not at all (8, 24), and reports a zero
// anywhere.
func TestFpInverter(t *testing.T) {
	t.Parallel()
	for _, n := range []int{8, 16, 24, 40, 64, 200, 512} {
		inv := newFpInverter(512)
		d := make(fp.Vector, n)
		for i := range d {
			d[i].SetRandom()
		}
		got := make(fp.Vector, n)
		if !inv.invert(got, d) {
			t.Fatalf("n=%d: reported a zero", n)
		}
		for i := range d {
			var want fp.Element
			want.Inverse(&d[i])
			if !got[i].Equal(&want) {
				t.Fatalf("n=%d: element %d wrong", n, i)
			}
		}
		for _, z := range []int{0, n / 2, n - 1} {
			e := append(fp.Vector(nil), d...)
			e[z].SetZero()
			if inv.invert(got, e) {
				t.Fatalf("n=%d: zero at %d not reported", n, z)
			}
		}
	}
}

// randomG1 returns n random points of G1 as table entries.
func randomG1(t *testing.T, n int) []affine[fp.Element] {
	t.Helper()
	out := make([]affine[fp.Element], n)
	for i := range out {
		var s fr.Element
		s.SetRandom()
		var k big.Int
		var p bn254.G1Affine
		p.ScalarMultiplicationBase(s.BigInt(&k))
		out[i] = affine[fp.Element]{p.X, p.Y}
	}
	return out
}

// checkAdders runs the kernels' adder against the vector one: the same
// sums for full and partial batches (sizes), negated table points and
// additions in place; an addition with equal x makes the adder refuse the
// batch and change nothing.
func checkAdders[E comparable](t *testing.T, random func(t *testing.T, n int) []affine[E], vec, k52 func(n int) pointAdder[E], sizes []int, capacity int) {
	t.Helper()
	table := random(t, sizes[len(sizes)-1]+16)
	for _, m := range sizes {
		buckets := random(t, m)
		b, ref := make([]int32, m), make([]int32, m)
		for i := range b {
			b[i] = int32(i)
			ref[i] = int32(i)
			if i%3 == 1 {
				ref[i] |= -1 << 31
			}
		}
		want := append([]affine[E](nil), buckets...)
		got := append([]affine[E](nil), buckets...)
		if !vec(capacity).addPoints(want, table, b, ref) || !k52(capacity).addPoints(got, table, b, ref) {
			t.Fatalf("m=%d: batch refused", m)
		}
		for i := range want {
			if want[i] != got[i] {
				t.Fatalf("m=%d: sum %d differs", m, i)
			}
		}
		// In place, on the sums.
		x1, y1, x2, y2 := make([]E, m), make([]E, m), make([]E, m), make([]E, m)
		for i := range m {
			x1[i], y1[i], x2[i], y2[i] = got[i].X, got[i].Y, table[i].X, table[i].Y
		}
		wx, wy := append([]E(nil), x1...), append([]E(nil), y1...)
		if !vec(capacity).addInPlace(wx, wy, x2, y2) || !k52(capacity).addInPlace(x1, y1, x2, y2) {
			t.Fatalf("m=%d: in-place batch refused", m)
		}
		for i := range m {
			if wx[i] != x1[i] || wy[i] != y1[i] {
				t.Fatalf("m=%d: in-place sum %d differs", m, i)
			}
		}
		// Equal x: a bucket holding the table point itself.
		eq := append([]affine[E](nil), buckets...)
		eq[m/2] = table[m/2]
		before := append([]affine[E](nil), eq...)
		if k52(capacity).addPoints(eq, table, b, ref) {
			t.Fatalf("m=%d: equal x accepted", m)
		}
		for i := range eq {
			if eq[i] != before[i] {
				t.Fatalf("m=%d: refused batch changed bucket %d", m, i)
			}
		}
	}
}

func TestG1Adder52MatchesVec(t *testing.T) {
	if !have52 {
		t.Skip("no AVX-512 IFMA here")
	}
	t.Parallel()
	checkAdders(t, randomG1,
		func(n int) pointAdder[fp.Element] { return newG1AdderVec(n) },
		func(n int) pointAdder[fp.Element] { return newG1Adder52(n) },
		[]int{1, 7, 8, 9, 100, 512}, 512)
}

// randomG2 returns n random points of G2 as table entries.
func randomG2(t *testing.T, n int) []affine[bn254.E2] {
	t.Helper()
	out := make([]affine[bn254.E2], n)
	for i := range out {
		var s fr.Element
		s.SetRandom()
		var k big.Int
		var p bn254.G2Affine
		p.ScalarMultiplicationBase(s.BigInt(&k))
		out[i] = affine[bn254.E2]{p.X, p.Y}
	}
	return out
}

func TestG2Adder52MatchesVec(t *testing.T) {
	if !have52 {
		t.Skip("no AVX-512 IFMA here")
	}
	t.Parallel()
	checkAdders(t, randomG2,
		func(n int) pointAdder[bn254.E2] { return newG2AdderVec(n) },
		func(n int) pointAdder[bn254.E2] { return newG2Adder52(n) },
		[]int{1, 9, 64, 130}, 256)
}
