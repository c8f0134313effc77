// Package poseidon implements the Poseidon hash over the BN254 scalar field
// exactly as circomlib (and so the RLN circuits) define it: width t = n+1 for
// n = 1, 2, 3 inputs, S-box x^5, 8 full rounds and 56, 57, 56 partial rounds,
// the state starting as [0, inputs...] and the digest being state[0] after the
// permutation.
//
// The round constants and MDS matrices are not embedded: they are derived on
// first use with the Grain LFSR procedure of the Poseidon reference parameter
// script, which is how circomlib's constants were produced. The permutation
// runs in the optimised form of the paper's appendix B (sparse matrices in
// the partial rounds) on fixed-size arrays, without allocating.
//
// All functions are safe for concurrent use.
package poseidon

import (
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// ErrInputCount is returned by Hash for fewer than 1 or more than 3 inputs.
var ErrInputCount = errors.New("poseidon: unsupported number of inputs")

// MaxInputs is the largest number of inputs Hash accepts.
const MaxInputs = maxWidth - 1

// Hash1 returns Poseidon([a]) (t = 2).
func Hash1(a fr.Element) fr.Element {
	s := [maxWidth]fr.Element{1: a}
	paramsByWidth[2]().permute(&s)
	return s[0]
}

// Hash2 returns Poseidon([a, b]) (t = 3). This is the Merkle node hash of RLN.
func Hash2(a, b fr.Element) fr.Element {
	s := [maxWidth]fr.Element{1: a, 2: b}
	paramsByWidth[3]().permute(&s)
	return s[0]
}

// Hash3 returns Poseidon([a, b, c]) (t = 4).
func Hash3(a, b, c fr.Element) fr.Element {
	s := [maxWidth]fr.Element{1: a, 2: b, 3: c}
	paramsByWidth[4]().permute(&s)
	return s[0]
}

// Hash returns Poseidon(inputs) for 1 to 3 inputs and ErrInputCount
// otherwise.
func Hash(inputs ...fr.Element) (fr.Element, error) {
	switch len(inputs) {
	case 1:
		return Hash1(inputs[0]), nil
	case 2:
		return Hash2(inputs[0], inputs[1]), nil
	case 3:
		return Hash3(inputs[0], inputs[1], inputs[2]), nil
	default:
		return fr.Element{}, fmt.Errorf("%w: got %d, want 1 to %d", ErrInputCount, len(inputs), MaxInputs)
	}
}

// sbox sets x = x^5.
func sbox(x *fr.Element) {
	var x2 fr.Element
	x2.Square(x)
	x2.Square(&x2)
	x.Mul(x, &x2)
}

// mix sets s = m*s on the leading t entries.
func mix(s *[maxWidth]fr.Element, m *matrix, t int) {
	var out [maxWidth]fr.Element
	var x fr.Element
	for i := 0; i < t; i++ {
		out[i].Mul(&m[i][0], &s[0])
		for j := 1; j < t; j++ {
			x.Mul(&m[i][j], &s[j])
			out[i].Add(&out[i], &x)
		}
	}
	*s = out
}

// permute applies the optimised permutation to s[:t]; afterwards s[0] holds
// the digest (the other entries are not fully computed in the last round).
func (p *params) permute(s *[maxWidth]fr.Element) {
	t := p.t
	half := fullRounds / 2
	rc := p.fullConsts
	var x fr.Element

	for r := 0; r < half; r++ {
		c := rc[r*t : r*t+t]
		for i := 0; i < t; i++ {
			s[i].Add(&s[i], &c[i])
			sbox(&s[i])
		}
		if r < half-1 {
			mix(s, &p.mds, t)
		} else {
			mix(s, &p.preSparse, t)
		}
	}

	for k := range p.sparse {
		sp := &p.sparse[k]
		s[0].Add(&s[0], &p.partialConsts[k])
		sbox(&s[0])
		var n0 fr.Element
		n0.Mul(&sp.row[0], &s[0])
		for j := 1; j < t; j++ {
			x.Mul(&sp.row[j], &s[j])
			n0.Add(&n0, &x)
			x.Mul(&sp.col[j], &s[0])
			s[j].Add(&s[j], &x)
		}
		s[0] = n0
	}

	for r := half; r < fullRounds; r++ {
		c := rc[r*t : r*t+t]
		for i := 0; i < t; i++ {
			s[i].Add(&s[i], &c[i])
			sbox(&s[i])
		}
		if r < fullRounds-1 {
			mix(s, &p.mds, t)
		}
	}
	// Last mix: only the first row is needed for the digest.
	m := &p.mds
	var out fr.Element
	out.Mul(&m[0][0], &s[0])
	for j := 1; j < t; j++ {
		x.Mul(&m[0][j], &s[j])
		out.Add(&out, &x)
	}
	s[0] = out
}
