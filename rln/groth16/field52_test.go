package groth16

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// fieldOps is what the kernel test needs of one of gnark-crypto's fields.
type fieldOps[E limbs4] struct {
	consts        *[7]uint64
	edges         []E // 0, 1, m-1, m-2, 2, the Montgomery one
	random        func() E
	mul, sub, add func(a, b E) E
}

func fpOps() fieldOps[fp.Element] {
	var one, m1, m2 fp.Element
	one.SetOne()
	m1.Neg(&one)
	m2.Sub(&m1, &one)
	return fieldOps[fp.Element]{
		consts: &field52Consts,
		edges:  []fp.Element{{}, {1}, m1, m2, {2}, one},
		random: func() (e fp.Element) { e.SetRandom(); return },
		mul:    func(a, b fp.Element) (c fp.Element) { c.Mul(&a, &b); return },
		sub:    func(a, b fp.Element) (c fp.Element) { c.Sub(&a, &b); return },
		add:    func(a, b fp.Element) (c fp.Element) { c.Add(&a, &b); return },
	}
}

func frOps() fieldOps[fr.Element] {
	var one, m1, m2 fr.Element
	one.SetOne()
	m1.Neg(&one)
	m2.Sub(&m1, &one)
	return fieldOps[fr.Element]{
		consts: &fr52Consts,
		edges:  []fr.Element{{}, {1}, m1, m2, {2}, one},
		random: func() (e fr.Element) { e.SetRandom(); return },
		mul:    func(a, b fr.Element) (c fr.Element) { c.Mul(&a, &b); return },
		sub:    func(a, b fr.Element) (c fr.Element) { c.Sub(&a, &b); return },
		add:    func(a, b fr.Element) (c fr.Element) { c.Add(&a, &b); return },
	}
}

// checkKernels compares the kernels with the field's own operations over
// every pair of edge values and random pairs (n of them in all), out of
// place and in place, and the conversions both ways.
func checkKernels[E limbs4](t *testing.T, f fieldOps[E], n int) {
	t.Helper()
	a, b := make([]E, n), make([]E, n)
	ne := len(f.edges)
	for i := range n {
		a[i], b[i] = f.random(), f.random()
		if i < ne*ne {
			a[i], b[i] = f.edges[i/ne], f.edges[i%ne]
		}
	}
	words := n / blockLanes * blockWords
	a52, b52 := make([]uint64, words), make([]uint64, words)
	for i := range n {
		put52(b52, i, &b[i])
	}
	elemsTo52(a52, a)
	mul, sub, add := make([]uint64, words), make([]uint64, words), make([]uint64, words)
	nb := n / blockLanes
	mul52(&mul[0], &a52[0], &b52[0], f.consts, nb)
	sub52(&sub[0], &a52[0], &b52[0], f.consts, nb)
	add52(&add[0], &a52[0], &b52[0], f.consts, nb)
	back := make([]E, n)
	elemsFrom52(back, a52)
	for i := range n {
		var got E
		if get52(mul, i, &got); got != f.mul(a[i], b[i]) {
			t.Fatalf("mul %d: %v * %v = %v, want %v", i, a[i], b[i], got, f.mul(a[i], b[i]))
		}
		if get52(sub, i, &got); got != f.sub(a[i], b[i]) {
			t.Fatalf("sub %d: %v - %v = %v, want %v", i, a[i], b[i], got, f.sub(a[i], b[i]))
		}
		if get52(add, i, &got); got != f.add(a[i], b[i]) {
			t.Fatalf("add %d: %v + %v = %v, want %v", i, a[i], b[i], got, f.add(a[i], b[i]))
		}
		if get52(a52, i, &got); got != a[i] {
			t.Fatalf("elemsTo52 of %v gives %v", a[i], got)
		}
		if back[i] != a[i] {
			t.Fatalf("elemsFrom52 of %v gives %v", a[i], back[i])
		}
	}
	// In place: the result over either operand.
	mul52(&a52[0], &a52[0], &b52[0], f.consts, nb)
	sub52(&b52[0], &a52[0], &b52[0], f.consts, nb)
	for i := range n {
		prod := f.mul(a[i], b[i])
		var got E
		if get52(a52, i, &got); got != prod {
			t.Fatalf("in-place mul %d wrong", i)
		}
		if get52(b52, i, &got); got != f.sub(prod, b[i]) {
			t.Fatalf("in-place sub %d wrong", i)
		}
	}
}

// The kernels agree bit for bit with gnark-crypto's field operations, in
// both fields.
func TestField52MatchesGnark(t *testing.T) {
	if !have52 {
		t.Skip("no AVX-512 IFMA here")
	}
	t.Parallel()
	t.Run("fp", func(t *testing.T) { checkKernels(t, fpOps(), 4096) })
	t.Run("fr", func(t *testing.T) { checkKernels(t, frOps(), 4096) })
}

// FuzzField52: the kernels agree with gnark-crypto on any pair of values
// (each reduced from 32 bytes), in both fields, in every lane.
func FuzzField52(f *testing.F) {
	if !have52 {
		f.Skip("no AVX-512 IFMA here")
	}
	f.Add(make([]byte, 32), make([]byte, 32))
	f.Add(bytes32(0xff), bytes32(0xff))
	f.Add(bytes32(0x30), bytes32(0x01))
	f.Fuzz(func(t *testing.T, x, y []byte) {
		if len(x) != 32 || len(y) != 32 {
			return
		}
		fuzzField52(t, fpOps(), func(e *fp.Element, b []byte) { e.SetBytes(b) }, x, y)
		fuzzField52(t, frOps(), func(e *fr.Element, b []byte) { e.SetBytes(b) }, x, y)
	})
}

func bytes32(b byte) []byte {
	out := make([]byte, 32)
	for i := range out {
		out[i] = b
	}
	return out
}

func fuzzField52[E limbs4](t *testing.T, f fieldOps[E], set func(*E, []byte), x, y []byte) {
	var a, b [blockLanes]E
	for l := range blockLanes {
		// Lane l: the inputs, rotated by l bytes, so every lane gets a
		// value of its own.
		xr := append(append([]byte(nil), x[l:]...), x[:l]...)
		yr := append(append([]byte(nil), y[l:]...), y[:l]...)
		set(&a[l], xr)
		set(&b[l], yr)
	}
	a52, b52 := make([]uint64, blockWords), make([]uint64, blockWords)
	elemsTo52(a52, a[:])
	elemsTo52(b52, b[:])
	mul, sub, add := make([]uint64, blockWords), make([]uint64, blockWords), make([]uint64, blockWords)
	mul52(&mul[0], &a52[0], &b52[0], f.consts, 1)
	sub52(&sub[0], &a52[0], &b52[0], f.consts, 1)
	add52(&add[0], &a52[0], &b52[0], f.consts, 1)
	var got [blockLanes]E
	for _, c := range []struct {
		name string
		v    []uint64
		op   func(a, b E) E
	}{{"mul", mul, f.mul}, {"sub", sub, f.sub}, {"add", add, f.add}} {
		elemsFrom52(got[:], c.v)
		for l := range blockLanes {
			if want := c.op(a[l], b[l]); got[l] != want {
				t.Fatalf("%s lane %d: %v, %v: got %v, want %v", c.name, l, a[l], b[l], got[l], want)
			}
		}
	}
}
