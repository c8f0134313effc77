package groth16

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
)

// field52Inputs is n elements with the edges first: 0, 1, p-1, p-2, 2,
// the Montgomery one, then random ones.
func field52Inputs(n int) []fp.Element {
	v := make([]fp.Element, n)
	edges := []fp.Element{{}, {1}}
	var e fp.Element
	e.SetOne()
	e.Neg(&e)
	edges = append(edges, e) // p-1
	e.Sub(&e, new(fp.Element).SetOne())
	edges = append(edges, e, fp.Element{2})
	edges = append(edges, *new(fp.Element).SetOne())
	for i := range v {
		if i < len(edges) {
			v[i] = edges[i]
		} else {
			v[i].SetRandom()
		}
	}
	return v
}

// The kernels agree bit for bit with gnark-crypto's Mul and Sub, over
// every pair of edge values and many random ones, including in place.
func TestField52MatchesGnark(t *testing.T) {
	if !have52 {
		t.Skip("no AVX-512 IFMA here")
	}
	t.Parallel()
	const n = 4096
	a := field52Inputs(n)
	b := field52Inputs(n)
	// Every edge against every edge, then random pairs.
	for i := range 6 {
		for j := range 6 {
			a[i*6+j], b[i*6+j] = a[i], b[j]
		}
	}
	a52, b52 := make([]uint64, n/blockLanes*blockWords), make([]uint64, n/blockLanes*blockWords)
	for i := range n {
		put52(a52, i, &a[i])
		put52(b52, i, &b[i])
	}
	mul, sub := make([]uint64, len(a52)), make([]uint64, len(a52))
	vecMul52(mul, a52, b52)
	vecSub52(sub, a52, b52)
	for i := range n {
		var want, got fp.Element
		want.Mul(&a[i], &b[i])
		if get52(mul, i, &got); got != want {
			t.Fatalf("mul %d: %v * %v = %v, want %v", i, a[i], b[i], got, want)
		}
		want.Sub(&a[i], &b[i])
		if get52(sub, i, &got); got != want {
			t.Fatalf("sub %d: %v - %v = %v, want %v", i, a[i], b[i], got, want)
		}
		var back fp.Element
		if get52(a52, i, &back); back != a[i] {
			t.Fatalf("radix conversion of %v gives %v", a[i], back)
		}
	}
	// The vector conversions agree with the scalar ones, both ways.
	wide, narrow, again := make([]uint64, n/blockLanes*wideWords), make([]uint64, len(a52)), make([]uint64, n/blockLanes*wideWords)
	for i := range n {
		put64(wide, i, &a[i])
	}
	vecTo52(narrow, wide)
	vecFrom52(again, narrow)
	for i := range n {
		var x, y fp.Element
		get52(narrow, i, &x)
		get64(again, i, &y)
		if x != a[i] || y != a[i] {
			t.Fatalf("vector conversion of %v gives %v and back %v", a[i], x, y)
		}
	}
	// In place: res aliasing either operand.
	vecMul52(a52, a52, b52)
	vecSub52(b52, a52, b52)
	for i := range n {
		var prod, diff, got fp.Element
		prod.Mul(&a[i], &b[i])
		diff.Sub(&prod, &b[i])
		if get52(a52, i, &got); got != prod {
			t.Fatalf("in-place mul %d wrong", i)
		}
		if get52(b52, i, &got); got != diff {
			t.Fatalf("in-place sub %d wrong", i)
		}
	}
}
