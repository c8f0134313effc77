package groth16

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/fft"
)

// cosetFFT agrees with gnark-crypto's inverse FFT followed by its coset
// FFT, on the odd coset of the 2n-th roots of unity the prover uses.
func TestCosetFFTMatchesGnark(t *testing.T) {
	t.Parallel()
	for _, n := range []uint64{1, 2, 4, 8, 16, 32, 64, 1024} {
		shift := fft.NewDomain(2 * n).Generator
		d := fft.NewDomain(n, fft.WithShift(shift))
		f := newCosetFFT(int(n), &d.Generator, &shift)
		v := make(fr.Vector, n)
		for i := range v {
			v[i].SetRandom()
		}
		want := make(fr.Vector, n)
		copy(want, v)
		d.FFTInverse(want, fft.DIF, fft.WithNbTasks(1))
		d.FFT(want, fft.DIT, fft.OnCoset(), fft.WithNbTasks(1))
		// Both paths: on the radix-2^52 kernels where the machine has
		// them (and n is large enough), and without.
		plain := newCosetFFT(int(n), &d.Generator, &shift)
		plain.tw52, plain.twInv52 = nil, nil
		w := append(fr.Vector(nil), v...)
		f.toCoset(v, make(fr.Vector, n/2))
		plain.toCoset(w, make(fr.Vector, n/2))
		for i := range v {
			if !v[i].Equal(&want[i]) || !w[i].Equal(&want[i]) {
				t.Fatalf("n=%d: element %d differs", n, i)
			}
		}
	}
}
