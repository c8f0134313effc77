package poseidon

import "math/big"

// grainLFSR is the 80-bit Grain linear feedback shift register, run as a
// self-shrinking generator, that the Poseidon paper's reference parameter
// script (generate_parameters_grain.sage) uses to derive round constants and
// the Cauchy MDS matrix.
//
// The register is stored as a ring: bits[(head+k)%80] is the k-th oldest bit.
type grainLFSR struct {
	bits [80]uint8
	head int
}

// Parameter encoding of the script's initial register state.
const (
	grainFieldPrime = 1 // 2 bits: 0 = GF(2^n), 1 = GF(p)
	grainSboxPower  = 0 // 4 bits: 0 = x^alpha, 1 = x^-1
	grainWarmUp     = 160
)

// newGrainLFSR seeds the register with the script's encoding of the
// instance (field kind, S-box kind, field size n, width t, R_F, R_P and 30
// one bits) and discards the first 160 outputs.
func newGrainLFSR(fieldBits, t, rf, rp int) *grainLFSR {
	g := &grainLFSR{}
	pos := 0
	put := func(v uint64, width int) {
		for b := width - 1; b >= 0; b-- {
			g.bits[pos] = uint8(v >> uint(b) & 1)
			pos++
		}
	}
	put(grainFieldPrime, 2)
	put(grainSboxPower, 4)
	put(uint64(fieldBits), 12)
	put(uint64(t), 12)
	put(uint64(rf), 10)
	put(uint64(rp), 10)
	put(1<<30-1, 30)
	for range grainWarmUp {
		g.clock()
	}
	return g
}

// clock shifts the register once and returns the bit that entered it.
// Feedback taps are at offsets 0, 13, 23, 38, 51 and 62 from the oldest bit.
func (g *grainLFSR) clock() uint8 {
	at := func(k int) uint8 { return g.bits[(g.head+k)%80] }
	nb := at(62) ^ at(51) ^ at(38) ^ at(23) ^ at(13) ^ at(0)
	// The oldest bit leaves; its slot becomes the newest one.
	g.bits[g.head] = nb
	g.head = (g.head + 1) % 80
	return nb
}

// nextBit returns one output bit of the self-shrinking generator: register
// bits are taken in pairs and the second bit of a pair is emitted only when
// the first one is 1.
func (g *grainLFSR) nextBit() uint8 {
	for {
		sel := g.clock()
		out := g.clock()
		if sel == 1 {
			return out
		}
	}
}

// nextInt returns an n-bit integer built from the next n output bits, most
// significant bit first.
func (g *grainLFSR) nextInt(n int) *big.Int {
	v := new(big.Int)
	for range n {
		v.Lsh(v, 1)
		if g.nextBit() == 1 {
			v.SetBit(v, 0, 1)
		}
	}
	return v
}
