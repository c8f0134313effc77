package groth16

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// Sentinel errors of verification.
var (
	ErrInvalidProof = errors.New("invalid proof")
	ErrPublicInputs = errors.New("wrong number of public inputs")
)

// publicCombination returns IC[0] + sum public[i] IC[i+1].
func (vk *VerifyingKey) publicCombination(public []fr.Element) (bn254.G1Jac, error) {
	var acc bn254.G1Jac
	if len(public) != len(vk.IC)-1 {
		return acc, fmt.Errorf("%w: got %d, the key has %d", ErrPublicInputs, len(public), len(vk.IC)-1)
	}
	acc.FromAffine(&vk.IC[0])
	for j := range public {
		be := public[j].Bytes() // canonical, big-endian
		for k := range 32 {
			if d := be[31-k]; d != 0 {
				acc.AddMixed(&vk.icTable[j][k][d-1])
			}
		}
	}
	return acc, nil
}

// Verify checks one proof: e(A, B) = e(alpha, beta) e(vk_x, gamma) e(C, delta),
// computed as one Miller loop with precomputed lines for gamma and delta and
// one final exponentiation. The proof's points must be valid group elements,
// as DecodeProof and Prove guarantee.
func (vk *VerifyingKey) Verify(p *Proof, public []fr.Element) error {
	vkx, err := vk.publicCombination(public)
	if err != nil {
		return err
	}
	var negVkx, negC bn254.G1Affine
	negVkx.FromJacobian(&vkx)
	negVkx.Neg(&negVkx)
	negC.Neg(&p.C)

	ml1, err := bn254.MillerLoop([]bn254.G1Affine{p.A}, []bn254.G2Affine{p.B})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	ml2, err := bn254.MillerLoopFixedQ([]bn254.G1Affine{negVkx, negC}, []lines{vk.linesGamma, vk.linesDelta})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	ml1.Mul(&ml1, &ml2)
	got := bn254.FinalExponentiation(&ml1)
	if !got.Equal(&vk.alphaBeta) {
		return ErrInvalidProof
	}
	return nil
}

// VerifyBatch checks many proofs at once with a random linear combination:
// prod e(r_i A_i, B_i) = e(sum r_i alpha, beta) e(sum r_i vk_x_i, gamma)
// e(sum r_i C_i, delta), with 128-bit random r_i (r_0 = 1). One Miller loop
// over n+3 pairs and one final exponentiation replace n separate checks. It
// returns nil when every proof is valid; otherwise ErrInvalidProof (use
// VerifyEach to find which). rnd nil means crypto/rand.
func (vk *VerifyingKey) VerifyBatch(proofs []*Proof, public [][]fr.Element, rnd io.Reader) error {
	n := len(proofs)
	if n != len(public) {
		return fmt.Errorf("%w: %d proofs with %d public input sets", ErrPublicInputs, n, len(public))
	}
	if n == 0 {
		return nil
	}
	if n == 1 {
		return vk.Verify(proofs[0], public[0])
	}
	for i := range public {
		if len(public[i]) != len(vk.IC)-1 {
			return fmt.Errorf("%w: proof %d has %d, the key has %d", ErrPublicInputs, i, len(public[i]), len(vk.IC)-1)
		}
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	rs := make([]fr.Element, n)
	rs[0].SetOne()
	buf := make([]byte, 16*(n-1))
	if _, err := io.ReadFull(rnd, buf); err != nil {
		return fmt.Errorf("groth16: randomness: %w", err)
	}
	for i := 1; i < n; i++ {
		rs[i].SetBytes(buf[16*(i-1) : 16*i])
		if rs[i].IsZero() {
			rs[i].SetOne()
		}
	}

	// Left side: r_i A_i paired with B_i.
	ps := make([]bn254.G1Affine, n)
	qs := make([]bn254.G2Affine, n)
	var rBig big.Int
	for i, p := range proofs {
		rs[i].BigInt(&rBig)
		ps[i].ScalarMultiplication(&p.A, &rBig)
		qs[i] = p.B
	}

	// Right side, negated: sum r_i over alpha, the public combinations and C.
	var sumR fr.Element
	coeffs := make([]fr.Element, len(vk.IC))
	var t fr.Element
	for i := range proofs {
		sumR.Add(&sumR, &rs[i])
		for j := range public[i] {
			t.Mul(&rs[i], &public[i][j])
			coeffs[j+1].Add(&coeffs[j+1], &t)
		}
	}
	coeffs[0] = sumR
	cfg := ecc.MultiExpConfig{NbTasks: 2}
	var vkx, sumC bn254.G1Jac
	if _, err := vkx.MultiExp(vk.IC, coeffs, cfg); err != nil {
		return err
	}
	cs := make([]bn254.G1Affine, n)
	for i, p := range proofs {
		cs[i] = p.C
	}
	if _, err := sumC.MultiExp(cs, rs, cfg); err != nil {
		return err
	}
	var alphaR bn254.G1Affine
	sumR.BigInt(&rBig)
	alphaR.ScalarMultiplication(&vk.Alpha1, &rBig)

	fixed := make([]bn254.G1Affine, 3)
	fixed[0].Neg(&alphaR)
	fixed[1].FromJacobian(&vkx)
	fixed[1].Neg(&fixed[1])
	fixed[2].FromJacobian(&sumC)
	fixed[2].Neg(&fixed[2])

	ml1, err := bn254.MillerLoop(ps, qs)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	ml2, err := bn254.MillerLoopFixedQ(fixed, []lines{vk.linesBeta, vk.linesGamma, vk.linesDelta})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	ml1.Mul(&ml1, &ml2)
	got := bn254.FinalExponentiation(&ml1)
	if !got.IsOne() {
		return ErrInvalidProof
	}
	return nil
}

// VerifyEach verifies a batch and, when the batch check fails, each proof
// alone, so that one bad proof costs the others nothing but time. The
// result holds nil or the error for each proof.
func (vk *VerifyingKey) VerifyEach(proofs []*Proof, public [][]fr.Element, rnd io.Reader) []error {
	out := make([]error, len(proofs))
	if len(proofs) != len(public) {
		for i := range out {
			out[i] = fmt.Errorf("%w: %d proofs with %d public input sets", ErrPublicInputs, len(proofs), len(public))
		}
		return out
	}
	if vk.VerifyBatch(proofs, public, rnd) == nil {
		return out
	}
	for i := range proofs {
		out[i] = vk.Verify(proofs[i], public[i])
	}
	return out
}
