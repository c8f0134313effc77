package groth16

import (
	"errors"
	"fmt"
	"io"
	"math/big"
	"runtime"
	"sync"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/fft"
)

// ErrBadWitness is returned when a witness does not fit the proving key.
var ErrBadWitness = errors.New("bad witness")

// Prover makes proofs with one proving key. It is safe for concurrent use.
type Prover struct {
	pk     *ProvingKey
	domain *fft.Domain // size DomainSize, coset shift = a primitive 2n-th root of unity
	// Coefficients split by matrix, so each evaluation pass is one loop.
	coefA, coefB []Coef
	nbTasks      int
}

// NewProver precomputes the FFT domain of the key.
func NewProver(pk *ProvingKey) (*Prover, error) {
	n := uint64(pk.DomainSize)
	base := fft.NewDomain(n)
	if base.Cardinality != n {
		return nil, fmt.Errorf("%w: domain size %d is not supported", ErrMalformedKey, n)
	}
	// The odd coset of the 2n-th roots of unity, as snarkjs and rapidsnark
	// evaluate the quotient: shift = omega_2n with omega_2n^2 = omega_n.
	shift := fft.NewDomain(2 * n).Generator
	pr := &Prover{pk: pk, domain: fft.NewDomain(n, fft.WithShift(shift)), nbTasks: runtime.GOMAXPROCS(0)}
	if !pr.domain.Generator.Equal(&base.Generator) {
		return nil, errors.New("groth16: FFT domain generator mismatch")
	}
	for _, c := range pk.Coefs {
		if c.Matrix == 0 {
			pr.coefA = append(pr.coefA, c)
		} else {
			pr.coefB = append(pr.coefB, c)
		}
	}
	return pr, nil
}

// Key returns the proving key.
func (pr *Prover) Key() *ProvingKey { return pr.pk }

// Prove computes a proof for a full witness (w[0] = 1, then the public
// signals, then the private ones). rnd supplies the blinding randomness
// (crypto/rand.Reader in production).
func (pr *Prover) Prove(w []fr.Element, rnd io.Reader) (*Proof, error) {
	pk := pr.pk
	if len(w) != pk.NVars {
		return nil, fmt.Errorf("%w: %d values, the key needs %d", ErrBadWitness, len(w), pk.NVars)
	}
	if !w[0].IsOne() {
		return nil, fmt.Errorf("%w: witness[0] must be 1", ErrBadWitness)
	}
	var r, s fr.Element
	if err := randomScalar(rnd, &r); err != nil {
		return nil, err
	}
	if err := randomScalar(rnd, &s); err != nil {
		return nil, err
	}

	h := pr.quotient(w)

	// The multi-scalar multiplications, G2 beside the G1 ones.
	cfg := ecc.MultiExpConfig{NbTasks: pr.nbTasks}
	var (
		wg                      sync.WaitGroup
		ar, bs1, krs, hs        bn254.G1Jac
		bs2                     bn254.G2Jac
		errA, errB1, errC, errH error
		errB2                   error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, errB2 = bs2.MultiExp(pk.B2, w, cfg)
	}()
	_, errA = ar.MultiExp(pk.A, w, cfg)
	_, errB1 = bs1.MultiExp(pk.B1, w, cfg)
	_, errC = krs.MultiExp(pk.C, w[pk.NPublic+1:], cfg)
	_, errH = hs.MultiExp(pk.H, h, cfg)
	wg.Wait()
	if err := errors.Join(errA, errB1, errB2, errC, errH); err != nil {
		return nil, fmt.Errorf("groth16: multi-exponentiation: %w", err)
	}

	var rBig, sBig, rsBig big.Int
	r.BigInt(&rBig)
	s.BigInt(&sBig)
	var rs fr.Element
	rs.Mul(&r, &s)
	rs.BigInt(&rsBig)

	// A = alpha + sum w_i A_i + r delta
	var tmp bn254.G1Jac
	ar.AddMixed(&pk.Alpha1)
	tmp.FromAffine(&pk.Delta1)
	tmp.ScalarMultiplication(&tmp, &rBig)
	ar.AddAssign(&tmp)

	// B (G2) = beta + sum w_i B_i + s delta; B (G1) likewise for C.
	var tmp2 bn254.G2Jac
	bs2.AddMixed(&pk.Beta2)
	tmp2.FromAffine(&pk.Delta2)
	tmp2.ScalarMultiplication(&tmp2, &sBig)
	bs2.AddAssign(&tmp2)

	bs1.AddMixed(&pk.Beta1)
	tmp.FromAffine(&pk.Delta1)
	tmp.ScalarMultiplication(&tmp, &sBig)
	bs1.AddAssign(&tmp)

	// C = sum_private w_i C_i + sum h_i H_i + s A + r B1 - r s delta
	krs.AddAssign(&hs)
	tmp.ScalarMultiplication(&ar, &sBig)
	krs.AddAssign(&tmp)
	tmp.ScalarMultiplication(&bs1, &rBig)
	krs.AddAssign(&tmp)
	tmp.FromAffine(&pk.Delta1)
	tmp.ScalarMultiplication(&tmp, &rsBig)
	krs.SubAssign(&tmp)

	p := new(Proof)
	p.A.FromJacobian(&ar)
	p.B.FromJacobian(&bs2)
	p.C.FromJacobian(&krs)
	return p, nil
}

// quotient evaluates A(x)B(x) - C(x) on the odd coset of the 2n-th roots
// of unity, where A, B interpolate the constraint evaluations A·w, B·w and
// C = A·B on the domain. The proving key's H points absorb the constant
// vanishing polynomial on that coset.
func (pr *Prover) quotient(w []fr.Element) []fr.Element {
	n := pr.pk.DomainSize
	a := make([]fr.Element, n)
	b := make([]fr.Element, n)
	c := make([]fr.Element, n)
	var t fr.Element
	for i := range pr.coefA {
		co := &pr.coefA[i]
		t.Mul(&co.Value, &w[co.Signal])
		a[co.Constraint].Add(&a[co.Constraint], &t)
	}
	for i := range pr.coefB {
		co := &pr.coefB[i]
		t.Mul(&co.Value, &w[co.Signal])
		b[co.Constraint].Add(&b[co.Constraint], &t)
	}
	for i := range c {
		c[i].Mul(&a[i], &b[i])
	}
	toCoset := func(v []fr.Element) {
		pr.domain.FFTInverse(v, fft.DIF, fft.WithNbTasks(1))
		pr.domain.FFT(v, fft.DIT, fft.OnCoset(), fft.WithNbTasks(1))
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); toCoset(a) }()
	go func() { defer wg.Done(); toCoset(b) }()
	toCoset(c)
	wg.Wait()
	for i := range a {
		a[i].Mul(&a[i], &b[i]).Sub(&a[i], &c[i])
	}
	return a
}

// randomScalar reads a uniformly random non-zero field element.
func randomScalar(rnd io.Reader, z *fr.Element) error {
	var buf [48]byte // 384 bits reduced mod r: bias below 2^-128
	for {
		if _, err := io.ReadFull(rnd, buf[:]); err != nil {
			return fmt.Errorf("groth16: randomness: %w", err)
		}
		z.SetBigInt(new(big.Int).SetBytes(buf[:]))
		if !z.IsZero() {
			return nil
		}
	}
}
