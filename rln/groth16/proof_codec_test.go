package groth16

import (
	"bytes"
	"crypto/rand"
	"errors"
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

func randomProof(t testing.TB) *Proof {
	t.Helper()
	_, _, g1, g2 := bn254.Generators()
	var s [3]fr.Element
	for i := range s {
		if _, err := s[i].SetRandom(); err != nil {
			t.Fatal(err)
		}
	}
	p := new(Proof)
	p.A.ScalarMultiplication(&g1, s[0].BigInt(new(big.Int)))
	p.B.ScalarMultiplication(&g2, s[1].BigInt(new(big.Int)))
	p.C.ScalarMultiplication(&g1, s[2].BigInt(new(big.Int)))
	return p
}

func TestProofCodecRoundTrip(t *testing.T) {
	t.Parallel()
	sawNeg, sawPos := false, false
	for range 200 {
		p := randomProof(t)
		enc := p.Encode()
		if enc[31]&flagNegativeY != 0 {
			sawNeg = true
		} else {
			sawPos = true
		}
		back, err := DecodeProof(enc[:])
		if err != nil {
			t.Fatal(err)
		}
		if !back.A.Equal(&p.A) || !back.B.Equal(&p.B) || !back.C.Equal(&p.C) {
			t.Fatal("round trip changed the proof")
		}
	}
	if !sawNeg || !sawPos {
		t.Fatal("200 random points never used one of the y flags")
	}
}

// Little-endian layout with the flag in the last byte, as arkworks writes.
func TestProofCodecLayout(t *testing.T) {
	t.Parallel()
	_, _, g1, g2 := bn254.Generators()
	p := &Proof{A: g1, B: g2, C: g1}
	enc := p.Encode()
	// G1 generator (1, 2): x = 1 little-endian, y = 2 is the smaller root.
	if enc[0] != 1 || !bytes.Equal(enc[1:32], make([]byte, 31)) {
		t.Fatalf("A = %x, want 01 00..00", enc[:32])
	}
	// Negate A: same x, flag set.
	p.A.Neg(&p.A)
	enc2 := p.Encode()
	if enc2[31] != flagNegativeY || enc2[0] != 1 {
		t.Fatalf("-A = %x", enc2[:32])
	}
	// Infinity.
	var inf bn254.G1Affine
	p.C = inf
	enc3 := p.Encode()
	if enc3[127] != flagInfinity {
		t.Fatalf("infinity = %x", enc3[96:])
	}
	back, err := DecodeProof(enc3[:])
	if err != nil || !back.C.IsInfinity() {
		t.Fatalf("decode infinity: %v", err)
	}
}

func TestDecodeProofRejects(t *testing.T) {
	t.Parallel()
	good := randomProof(t).Encode()
	set := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good[:]...)
		f(b)
		return b
	}
	var qLE [32]byte
	fp.Modulus().FillBytes(qLE[:])
	for i, j := 0, 31; i < j; i, j = i+1, j-1 {
		qLE[i], qLE[j] = qLE[j], qLE[i]
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{"short", good[:127]},
		{"long", append(good[:], 0)},
		{"both flags", set(func(b []byte) { b[31] |= flagMask })},
		{"infinity with x", set(func(b []byte) { b[31] = (b[31] &^ flagMask) | flagInfinity })},
		{"non-canonical x", set(func(b []byte) { copy(b[0:32], qLE[:]) })},
		{"x all ones", set(func(b []byte) {
			for i := 0; i < 32; i++ {
				b[i] = 0xff
			}
			b[31] = 0x3f
		})},
		{"G2 non-canonical", set(func(b []byte) { copy(b[32:64], qLE[:]) })},
	}
	for _, tt := range tests {
		if _, err := DecodeProof(tt.in); !errors.Is(err, ErrMalformedProof) {
			t.Errorf("%s: error %v", tt.name, err)
		}
	}
	// x with no curve point: search a small x whose x^3+3 is a non-residue.
	for x := uint64(1); x < 100; x++ {
		var e, y2, three fp.Element
		e.SetUint64(x)
		three.SetUint64(3)
		y2.Square(&e).Mul(&y2, &e).Add(&y2, &three)
		if y2.Legendre() == -1 {
			b := append([]byte(nil), good[:]...)
			clear(b[0:32])
			b[0] = byte(x)
			if _, err := DecodeProof(b); !errors.Is(err, ErrMalformedProof) {
				t.Errorf("x=%d off curve accepted: %v", x, err)
			}
			break
		}
	}
	// A G2 x on the twist but outside the prime-order subgroup is refused.
	found := false
	for x := uint64(1); x < 200 && !found; x++ {
		var q bn254.G2Affine
		q.X.A0.SetUint64(x)
		var y2 bn254.E2
		y2.Square(&q.X).Mul(&y2, &q.X).Add(&y2, &twistB)
		if y2.Legendre() != 1 {
			continue
		}
		q.Y.Sqrt(&y2)
		if q.IsInSubGroup() {
			continue
		}
		found = true
		b := append([]byte(nil), good[:]...)
		putG2(b[32:96], &q)
		if _, err := DecodeProof(b); !errors.Is(err, ErrMalformedProof) {
			t.Errorf("G2 point outside the subgroup accepted: %v", err)
		}
	}
	if !found {
		t.Fatal("no twist point outside the subgroup found for the test")
	}
}

func FuzzDecodeProof(f *testing.F) {
	for range 3 {
		enc := randomProof(f).Encode()
		f.Add(enc[:])
	}
	f.Add(make([]byte, 128))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodeProof(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedProof) {
				t.Fatalf("error without sentinel: %v", err)
			}
			return
		}
		if !p.A.IsOnCurve() || !p.C.IsOnCurve() || !p.B.IsOnCurve() || !p.B.IsInSubGroup() {
			t.Fatal("decoded an invalid point")
		}
		enc := p.Encode()
		if !bytes.Equal(enc[:], b) {
			t.Fatalf("accepted a non-canonical encoding:\n%x\n%x", b, enc)
		}
	})
}

func TestMarshalSnarkJS(t *testing.T) {
	t.Parallel()
	p := randomProof(t)
	j, err := p.MarshalSnarkJS()
	if err != nil || !bytes.Contains(j, []byte(`"protocol":"groth16"`)) {
		t.Fatalf("%s %v", j, err)
	}
	_ = rand.Reader
}
