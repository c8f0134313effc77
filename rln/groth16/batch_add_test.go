package groth16

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
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
