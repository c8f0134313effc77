package poseidon

import (
	"encoding/binary"
	"errors"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	iden3 "github.com/iden3/go-iden3-crypto/poseidon"
)

// referencePermute is the textbook (unoptimised) permutation on the raw
// constants: every round adds t constants, applies the S-box to all cells
// (full rounds) or to cell 0 (partial rounds), then multiplies by the MDS
// matrix. It checks the optimised form independently of go-iden3-crypto.
func referencePermute(p *params, s []fr.Element) {
	t := p.t
	half := fullRounds / 2
	for r := 0; r < fullRounds+p.rp; r++ {
		for i := 0; i < t; i++ {
			s[i].Add(&s[i], &p.roundConsts[r*t+i])
		}
		if r < half || r >= half+p.rp {
			for i := 0; i < t; i++ {
				sbox(&s[i])
			}
		} else {
			sbox(&s[0])
		}
		var v [maxWidth]fr.Element
		copy(v[:], s)
		out := p.mds.mulVec(t, &v)
		copy(s, out[:t])
	}
}

func referenceHash(inputs ...fr.Element) fr.Element {
	p := paramsByWidth[len(inputs)+1]()
	s := make([]fr.Element, len(inputs)+1)
	copy(s[1:], inputs)
	referencePermute(p, s)
	return s[0]
}

func iden3Hash(t *testing.T, inputs ...fr.Element) fr.Element {
	t.Helper()
	bi := make([]*big.Int, len(inputs))
	for i := range inputs {
		bi[i] = inputs[i].BigInt(new(big.Int))
	}
	h, err := iden3.Hash(bi)
	if err != nil {
		t.Fatalf("iden3 poseidon.Hash(%v): %v", bi, err)
	}
	var out fr.Element
	out.SetBigInt(h)
	return out
}

func hexElement(t *testing.T, s string) fr.Element {
	t.Helper()
	var e fr.Element
	if _, err := e.SetString(s); err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return e
}

// testInputs returns n pseudo-random elements preceded by the edge cases 0,
// 1, 2, r-2 and r-1.
func testInputs(seed uint64, n int) []fr.Element {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	var minusOne, minusTwo fr.Element
	minusOne.SetInt64(-1)
	minusTwo.SetInt64(-2)
	out := []fr.Element{fr.NewElement(0), fr.NewElement(1), fr.NewElement(2), minusTwo, minusOne}
	for len(out) < n {
		var e fr.Element
		switch rng.IntN(4) {
		case 0: // small value
			e.SetUint64(rng.Uint64N(1 << 20))
		default: // full-size value
			var b [32]byte
			for k := 0; k < 32; k += 8 {
				binary.BigEndian.PutUint64(b[k:], rng.Uint64())
			}
			e.SetBytes(b[:]) // reduced mod r
		}
		out = append(out, e)
	}
	return out
}

func TestKnownVectors(t *testing.T) {
	t.Parallel()
	n := func(v uint64) fr.Element { return fr.NewElement(v) }
	tests := []struct {
		name   string
		inputs []fr.Element
		want   string
	}{
		// circomlib test vectors (test/poseidon.js) and go-iden3-crypto's.
		{"poseidon(1)", []fr.Element{n(1)}, "18586133768512220936620570745912940619677854269274689475585506675881198879027"},
		{"poseidon(1,2)", []fr.Element{n(1), n(2)}, "0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a"},
		{"poseidon(1,2,3)", []fr.Element{n(1), n(2), n(3)}, "6542985608222806190361240322586112750744169038454362455181422643027100751666"},
		{"poseidon(0,0)", []fr.Element{n(0), n(0)}, "14744269619966411208579211824598458697587494354926760081771325075741142829156"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := hexElement(t, tc.want)
			got, err := Hash(tc.inputs...)
			if err != nil {
				t.Fatalf("Hash: %v", err)
			}
			if !got.Equal(&want) {
				t.Errorf("Hash = %s, want %s", got.String(), want.String())
			}
		})
	}
}

func TestMatchesIden3(t *testing.T) {
	t.Parallel()
	const samples = 220
	tests := []struct {
		name string
		n    int
		hash func(in []fr.Element) fr.Element
	}{
		{"Hash1", 1, func(in []fr.Element) fr.Element { return Hash1(in[0]) }},
		{"Hash2", 2, func(in []fr.Element) fr.Element { return Hash2(in[0], in[1]) }},
		{"Hash3", 3, func(in []fr.Element) fr.Element { return Hash3(in[0], in[1], in[2]) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cols := make([][]fr.Element, tc.n)
			for j := range cols {
				cols[j] = testInputs(uint64(100*tc.n+j), samples)
			}
			// Rotate the columns so edge cases meet each other too.
			in := make([]fr.Element, tc.n)
			for i := 0; i < samples; i++ {
				for j := range in {
					in[j] = cols[j][(i+j*i/7)%samples]
				}
				got := tc.hash(in)
				want := iden3Hash(t, in...)
				if !got.Equal(&want) {
					t.Fatalf("%s(%v) = %s, iden3 = %s", tc.name, in, got.String(), want.String())
				}
				variadic, err := Hash(in...)
				if err != nil || !variadic.Equal(&want) {
					t.Fatalf("Hash(%v) = %s, %v; want %s", in, variadic.String(), err, want.String())
				}
			}
		})
	}
}

func TestOptimisedMatchesReference(t *testing.T) {
	t.Parallel()
	for n := 1; n <= MaxInputs; n++ {
		in := testInputs(uint64(n), 20+n)
		for i := 0; i+n <= len(in); i++ {
			args := in[i : i+n]
			got, err := Hash(args...)
			if err != nil {
				t.Fatal(err)
			}
			want := referenceHash(args...)
			if !got.Equal(&want) {
				t.Fatalf("n=%d inputs %v: optimised %s, reference %s", n, args, got.String(), want.String())
			}
		}
	}
}

func TestHashInputCount(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 4, 5, 16} {
		in := make([]fr.Element, n)
		if _, err := Hash(in...); !errors.Is(err, ErrInputCount) {
			t.Errorf("Hash with %d inputs: err = %v, want ErrInputCount", n, err)
		}
	}
}

// TestConstantsSpotCheck pins published circomlib constants
// (circomlibjs poseidon_constants.js: the first and last round constant and
// M[0][0] for each width) so that a regression in the LFSR derivation shows
// up as a readable failure, not only as a wrong digest.
func TestConstantsSpotCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		t         int
		numConsts int
		c0, m00   string
	}{
		{2, 128, "0x09c46e9ec68e9bd4fe1faaba294cba38a71aa177534cdd1b6c7dc0dbd0abd7a7", "0x066f6f85d6f68a85ec10345351a23a3aaf07f38af8c952a7bceca70bd2af7ad5"},
		{3, 195, "0x0ee9a592ba9a9518d05986d656f40c2114c4993c11bb29938d21d47304cd8e6e", "0x109b7f411ba0e4c9b2b70caf5c36a7b194be7c11ad24378bfedb68592ba8118b"},
		{4, 256, "0x19b849f69450b06848da1d39bd5e4a4302bb86744edc26238b0878e269ed23e5", "0x236d13393ef85cc48a351dd786dd7a1de5e39942296127fd87947223ae5108ad"},
	}
	for _, tc := range tests {
		p := paramsByWidth[tc.t]()
		if got := len(p.roundConsts); got != tc.numConsts {
			t.Errorf("t=%d: %d round constants, want %d", tc.t, got, tc.numConsts)
		}
		if c0 := hexElement(t, tc.c0); !p.roundConsts[0].Equal(&c0) {
			t.Errorf("t=%d: C[0] = %s, want %s", tc.t, p.roundConsts[0].Text(16), tc.c0)
		}
		if m00 := hexElement(t, tc.m00); !p.mds[0][0].Equal(&m00) {
			t.Errorf("t=%d: M[0][0] = %s, want %s", tc.t, p.mds[0][0].Text(16), tc.m00)
		}
	}
}

func TestNewParamsRejectsWidth(t *testing.T) {
	t.Parallel()
	for _, w := range []int{0, 1, 5} {
		if _, err := newParams(w); err == nil {
			t.Errorf("newParams(%d) succeeded, want error", w)
		}
	}
}

func TestHashAllocs(t *testing.T) {
	a, b, c := fr.NewElement(1), fr.NewElement(2), fr.NewElement(3)
	Hash3(a, b, c) // derive parameters outside the measurement
	Hash2(a, b)
	Hash1(a)
	if n := testing.AllocsPerRun(20, func() { Hash1(a); Hash2(a, b); Hash3(a, b, c) }); n != 0 {
		t.Errorf("Hash1+Hash2+Hash3 allocate %.1f times per run, want 0", n)
	}
}

var sink fr.Element

func benchInputs() (a, b, c fr.Element) {
	in := testInputs(42, 8)
	return in[5], in[6], in[7]
}

func BenchmarkHash1(b *testing.B) {
	x, _, _ := benchInputs()
	for b.Loop() {
		x = Hash1(x)
	}
	sink = x
}

func BenchmarkHash2(b *testing.B) {
	x, y, _ := benchInputs()
	for b.Loop() {
		x = Hash2(x, y)
	}
	sink = x
}

func BenchmarkHash3(b *testing.B) {
	x, y, z := benchInputs()
	for b.Loop() {
		x = Hash3(x, y, z)
	}
	sink = x
}

func benchIden3(b *testing.B, n int) {
	x, y, z := benchInputs()
	in := []*big.Int{x.BigInt(new(big.Int)), y.BigInt(new(big.Int)), z.BigInt(new(big.Int))}[:n]
	for b.Loop() {
		h, err := iden3.Hash(in)
		if err != nil {
			b.Fatal(err)
		}
		in[0] = h
	}
}

func BenchmarkIden3Hash1(b *testing.B) { benchIden3(b, 1) }
func BenchmarkIden3Hash2(b *testing.B) { benchIden3(b, 2) }
func BenchmarkIden3Hash3(b *testing.B) { benchIden3(b, 3) }
