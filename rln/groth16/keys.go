package groth16

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
)

// Proof is a Groth16 proof: A and C in G1, B in G2.
type Proof struct {
	A bn254.G1Affine
	B bn254.G2Affine
	C bn254.G1Affine
}

// lines holds precomputed Miller-loop lines for a fixed G2 point.
type lines = [2][len(bn254.LoopCounter)]bn254.LineEvaluationAff

// VerifyingKey verifies proofs; it precomputes what does not change from
// proof to proof (the lines of the fixed G2 points and e(alpha, beta)).
type VerifyingKey struct {
	Alpha1                bn254.G1Affine
	Beta2, Gamma2, Delta2 bn254.G2Affine
	IC                    []bn254.G1Affine

	alphaBeta                         bn254.GT
	linesBeta, linesGamma, linesDelta lines
	// icTable[j][k][d-1] = d * 2^(8k) * IC[j+1]: the public combination is
	// at most 32 mixed additions per public input.
	icTable [][32][255]bn254.G1Affine
}

// NewVerifyingKey checks the key's points and precomputes.
func NewVerifyingKey(alpha bn254.G1Affine, beta, gamma, delta bn254.G2Affine, ic []bn254.G1Affine) (*VerifyingKey, error) {
	if len(ic) < 1 {
		return nil, fmt.Errorf("%w: verifying key has no IC points", ErrMalformedKey)
	}
	if !alpha.IsInSubGroup() || alpha.IsInfinity() {
		return nil, fmt.Errorf("%w: verifying key alpha is not a G1 point of prime order", ErrMalformedKey)
	}
	for i, p := range ic {
		if !p.IsInSubGroup() {
			return nil, fmt.Errorf("%w: verifying key IC[%d] is not in G1", ErrMalformedKey, i)
		}
	}
	for name, q := range map[string]*bn254.G2Affine{"beta": &beta, "gamma": &gamma, "delta": &delta} {
		if q.IsInfinity() || !q.IsInSubGroup() {
			return nil, fmt.Errorf("%w: verifying key %s is not a G2 point of prime order", ErrMalformedKey, name)
		}
	}
	vk := &VerifyingKey{Alpha1: alpha, Beta2: beta, Gamma2: gamma, Delta2: delta, IC: append([]bn254.G1Affine(nil), ic...)}
	ab, err := bn254.Pair([]bn254.G1Affine{alpha}, []bn254.G2Affine{beta})
	if err != nil {
		return nil, fmt.Errorf("%w: e(alpha, beta): %w", ErrMalformedKey, err)
	}
	vk.alphaBeta = ab
	vk.icTable = byteTables(vk.IC[1:])
	vk.linesBeta = bn254.PrecomputeLines(beta)
	vk.linesGamma = bn254.PrecomputeLines(gamma)
	vk.linesDelta = bn254.PrecomputeLines(delta)
	return vk, nil
}

// NPublic is the number of public signals the key verifies.
func (vk *VerifyingKey) NPublic() int { return len(vk.IC) - 1 }

// VerifyingKey extracts the verifying key from the proving key.
func (pk *ProvingKey) VerifyingKey() (*VerifyingKey, error) {
	return NewVerifyingKey(pk.Alpha1, pk.Beta2, pk.Gamma2, pk.Delta2, pk.IC)
}

// Equal reports whether two keys hold the same points.
func (vk *VerifyingKey) Equal(o *VerifyingKey) bool {
	if !vk.Alpha1.Equal(&o.Alpha1) || !vk.Beta2.Equal(&o.Beta2) || !vk.Gamma2.Equal(&o.Gamma2) ||
		!vk.Delta2.Equal(&o.Delta2) || len(vk.IC) != len(o.IC) {
		return false
	}
	for i := range vk.IC {
		if !vk.IC[i].Equal(&o.IC[i]) {
			return false
		}
	}
	return true
}

// snarkJSVKey is the JSON form snarkjs exports (verification_key.json).
type snarkJSVKey struct {
	Protocol string     `json:"protocol"`
	Curve    string     `json:"curve"`
	NPublic  int        `json:"nPublic"`
	Alpha1   []string   `json:"vk_alpha_1"`
	Beta2    [][]string `json:"vk_beta_2"`
	Gamma2   [][]string `json:"vk_gamma_2"`
	Delta2   [][]string `json:"vk_delta_2"`
	IC       [][]string `json:"IC"`
}

// ParseVerificationKeyJSON reads a snarkjs verification_key.json for
// Groth16 on BN254 ("bn128").
func ParseVerificationKeyJSON(b []byte) (*VerifyingKey, error) {
	var j snarkJSVKey
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("%w: verification key JSON: %w", ErrMalformedKey, err)
	}
	if j.Protocol != "groth16" || j.Curve != "bn128" {
		return nil, fmt.Errorf("%w: verification key is %s on %s, want groth16 on bn128", ErrMalformedKey, j.Protocol, j.Curve)
	}
	if j.NPublic+1 != len(j.IC) {
		return nil, fmt.Errorf("%w: verification key nPublic %d with %d IC points, want nPublic+1", ErrMalformedKey, j.NPublic, len(j.IC))
	}
	alpha, err := g1FromDecimal(j.Alpha1)
	if err != nil {
		return nil, fmt.Errorf("%w: vk_alpha_1: %w", ErrMalformedKey, err)
	}
	var g2 [3]bn254.G2Affine
	for i, src := range [][][]string{j.Beta2, j.Gamma2, j.Delta2} {
		if g2[i], err = g2FromDecimal(src); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrMalformedKey, []string{"vk_beta_2", "vk_gamma_2", "vk_delta_2"}[i], err)
		}
	}
	ic := make([]bn254.G1Affine, len(j.IC))
	for i, s := range j.IC {
		if ic[i], err = g1FromDecimal(s); err != nil {
			return nil, fmt.Errorf("%w: IC[%d]: %w", ErrMalformedKey, i, err)
		}
	}
	return NewVerifyingKey(alpha, g2[0], g2[1], g2[2], ic)
}

func fpFromDecimal(s string) (fp.Element, error) {
	var e fp.Element
	n, ok := new(big.Int).SetString(s, 10)
	if !ok || n.Sign() < 0 || n.Cmp(fp.Modulus()) >= 0 {
		return e, fmt.Errorf("%q is not a canonical base-field element", s)
	}
	e.SetBigInt(n)
	return e, nil
}

// g1FromDecimal reads snarkjs' projective [x, y, z] with z = 1 (or z = 0 for
// infinity).
func g1FromDecimal(s []string) (bn254.G1Affine, error) {
	var p bn254.G1Affine
	if len(s) != 3 {
		return p, fmt.Errorf("G1 point has %d coordinates, want 3", len(s))
	}
	if s[2] == "0" {
		return p, nil
	}
	if s[2] != "1" {
		return p, errors.New("G1 point is not normalized (z must be 1)")
	}
	var err error
	if p.X, err = fpFromDecimal(s[0]); err != nil {
		return p, err
	}
	if p.Y, err = fpFromDecimal(s[1]); err != nil {
		return p, err
	}
	if !p.IsOnCurve() {
		return p, errors.New("G1 point not on the curve")
	}
	return p, nil
}

func g2FromDecimal(s [][]string) (bn254.G2Affine, error) {
	var p bn254.G2Affine
	if len(s) != 3 || len(s[0]) != 2 || len(s[1]) != 2 || len(s[2]) != 2 {
		return p, errors.New("G2 point must be [[x0,x1],[y0,y1],[z0,z1]]")
	}
	if s[2][0] == "0" && s[2][1] == "0" {
		return p, nil
	}
	if s[2][0] != "1" || s[2][1] != "0" {
		return p, errors.New("G2 point is not normalized (z must be [1, 0])")
	}
	var err error
	for i, dst := range []*fp.Element{&p.X.A0, &p.X.A1, &p.Y.A0, &p.Y.A1} {
		if *dst, err = fpFromDecimal(s[i/2][i%2]); err != nil {
			return p, err
		}
	}
	if !p.IsOnCurve() {
		return p, errors.New("G2 point not on the curve")
	}
	return p, nil
}

// byteTables precomputes, for each base P, d * 2^(8k) * P for every byte
// position k and byte value d > 0.
func byteTables(bases []bn254.G1Affine) [][32][255]bn254.G1Affine {
	out := make([][32][255]bn254.G1Affine, len(bases))
	jac := make([]bn254.G1Jac, 255)
	for j := range bases {
		var base bn254.G1Jac
		base.FromAffine(&bases[j])
		for k := range 32 {
			jac[0] = base
			for d := 1; d < 255; d++ {
				jac[d] = jac[d-1]
				jac[d].AddAssign(&base)
			}
			copy(out[j][k][:], bn254.BatchJacobianToAffineG1(jac))
			// next position: 256 * base
			for range 8 {
				base.DoubleAssign()
			}
		}
	}
	return out
}
