package groth16

import (
	"errors"
	"fmt"
	"io"
	"math/big"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/fft"
)

// ErrBadWitness is returned when a witness does not fit the proving key.
var ErrBadWitness = errors.New("bad witness")

// Prover makes proofs with one proving key. It is safe for concurrent use.
//
// A prover may be told which witness signals are dynamic (change from proof
// to proof, e.g. those that depend on the message) and which are static
// (fixed for a member, e.g. its Merkle path). The multi-scalar
// multiplications over the static signals then go into a Partial, computed
// once and reused for every proof whose static values are the same, and
// updated for the signals that changed when some do (UpdatePartial).
type Prover struct {
	pk  *ProvingKey
	fft *cosetFFT // size DomainSize, coset shift = a primitive 2n-th root of unity
	// Coefficients split by matrix, so each evaluation pass is one loop.
	coefA, coefB matrix
	nbTasks      int
	inFlight     atomic.Int32 // proofs in progress
	quotientBufs sync.Pool    // *quotientBufs

	stat, dyn signalSet
	// Fixed-base tables for the per-proof MSMs. The proof's C is the sum
	// of three MSMs that share one table and one set of buckets: the
	// quotient's over the H points, the dynamic private signals' over
	// their C points, and r times the dynamic signals' B1 sum (G1's B is
	// only ever used in C, as r B1). The dynamic signals' A and B2 sums
	// are separate, as the proof carries them.
	hcMSM *g1MSM
	dynA  *g1MSM
	dynB2 *g2MSM
	// The static signals' tables, for Partials and their updates.
	statT     staticTables
	deltaBufs sync.Pool // *[]fr.Element: an update's differences (staticDelta)
}

// Window sizes of the fixed-base tables (chosen by benchmark on the
// RLN key: 8,192 H points, about 500 dynamic signals).
const (
	hWindow   = 13
	dynWindow = 10
)

// signalSet is a subset of the witness signals with the key's points
// gathered for it, so that an MSM table over the subset is one call (the
// points are dropped once the tables are built).
type signalSet struct {
	idx      []int // witness indices, ascending
	cIdx     []int // positions in idx of private signals (those with C points)
	a, b1, c []bn254.G1Affine
	b2       []bn254.G2Affine
}

func gather(pk *ProvingKey, idx []int) signalSet {
	s := signalSet{idx: idx}
	for k, i := range idx {
		s.a = append(s.a, pk.A[i])
		s.b1 = append(s.b1, pk.B1[i])
		s.b2 = append(s.b2, pk.B2[i])
		if i > pk.NPublic {
			s.cIdx = append(s.cIdx, k)
			s.c = append(s.c, pk.C[i-pk.NPublic-1])
		}
	}
	return s
}

// alignedC is s.c at the positions of s.idx, the point at infinity
// (zero, which a table skips) for public signals, so that an MSM over the
// C points takes the same scalars as the others.
func (s *signalSet) alignedC() []bn254.G1Affine {
	c := make([]bn254.G1Affine, len(s.idx))
	for k, j := range s.cIdx {
		c[j] = s.c[k]
	}
	return c
}

// NewProver precomputes the FFT domain of the key. dynamic, when not nil,
// marks the witness signals that change from proof to proof (see Partial);
// nil treats every signal as dynamic.
func NewProver(pk *ProvingKey, dynamic []bool) (*Prover, error) {
	n := uint64(pk.DomainSize)
	base := fft.NewDomain(n)
	if base.Cardinality != n {
		return nil, fmt.Errorf("%w: domain size %d is not supported", ErrMalformedKey, n)
	}
	// The odd coset of the 2n-th roots of unity, as snarkjs and rapidsnark
	// evaluate the quotient: shift = omega_2n with omega_2n^2 = omega_n.
	shift := fft.NewDomain(2 * n).Generator
	var sq fr.Element
	if !sq.Square(&shift).Equal(&base.Generator) {
		return nil, errors.New("groth16: FFT domain generator mismatch")
	}
	pr := &Prover{pk: pk, fft: newCosetFFT(int(n), &base.Generator, &shift), nbTasks: runtime.GOMAXPROCS(0)}
	for _, c := range pk.Coefs {
		m := &pr.coefA
		if c.Matrix != 0 {
			m = &pr.coefB
		}
		m.value = append(m.value, c.Value)
		m.signal = append(m.signal, c.Signal)
		m.constraint = append(m.constraint, c.Constraint)
	}
	if dynamic != nil && len(dynamic) != pk.NVars {
		return nil, fmt.Errorf("%w: dynamic mask of %d signals, the key has %d", ErrBadWitness, len(dynamic), pk.NVars)
	}
	var statIdx, dynIdx []int
	for i := range pk.NVars {
		if dynamic == nil || dynamic[i] {
			dynIdx = append(dynIdx, i)
		} else {
			statIdx = append(statIdx, i)
		}
	}
	pr.stat, pr.dyn = gather(pk, statIdx), gather(pk, dynIdx)
	pr.buildTables()
	return pr, nil
}

// buildTables builds the fixed-base tables, each on its own goroutine,
// and drops the gathered points, which only they needed.
func (pr *Prover) buildTables() {
	hc := append([]bn254.G1Affine(nil), pr.pk.H...)
	hc = append(hc, pr.dyn.c...)
	hc = append(hc, pr.dyn.b1...)
	st, t := &pr.stat, &pr.statT
	var wg sync.WaitGroup
	wg.Go(func() { pr.hcMSM = newG1MSM(hc, hWindow) })
	wg.Go(func() { pr.dynA = newG1MSM(pr.dyn.a, dynWindow) })
	wg.Go(func() { pr.dynB2 = newG2MSM(pr.dyn.b2, dynWindow) })
	wg.Go(func() { t.a = newG1MSM(st.a, statWindow) })
	wg.Go(func() { t.b1 = newG1MSM(st.b1, statWindow) })
	wg.Go(func() { t.c = newG1MSM(st.alignedC(), statWindow) })
	wg.Go(func() { t.b2 = newG2MSM(st.b2, statWindow) })
	wg.Wait()
	for _, s := range []*signalSet{&pr.stat, &pr.dyn} {
		s.a, s.b1, s.c, s.b2 = nil, nil, nil, nil
	}
}

// Key returns the proving key.
func (pr *Prover) Key() *ProvingKey { return pr.pk }

func (pr *Prover) checkWitness(w []fr.Element) error {
	if len(w) != pr.pk.NVars {
		return fmt.Errorf("%w: %d values, the key needs %d", ErrBadWitness, len(w), pr.pk.NVars)
	}
	if !w[0].IsOne() {
		return fmt.Errorf("%w: witness[0] must be 1", ErrBadWitness)
	}
	return nil
}

// Prove computes a proof for a full witness (w[0] = 1, then the public
// signals, then the private ones). rnd supplies the blinding randomness
// (crypto/rand.Reader in production).
func (pr *Prover) Prove(w []fr.Element, rnd io.Reader) (*Proof, error) {
	part, err := pr.Precompute(w)
	if err != nil {
		return nil, err
	}
	return pr.ProveWithPartial(w, part, rnd)
}

// ProveWithPartial computes a proof reusing the static signals' work. The
// witness's static values must be those the partial was made from.
func (pr *Prover) ProveWithPartial(w []fr.Element, part *Partial, rnd io.Reader) (*Proof, error) {
	if err := pr.checkWitness(w); err != nil {
		return nil, err
	}
	if !pr.matches(part, w) {
		return nil, ErrPartialMismatch
	}
	return pr.prove(w, part, rnd)
}

// PartialCache keeps Partials by a key of the caller's choosing, e.g. one
// a member, so that a member whose static values changed (a new Merkle
// path) finds its previous Partial to update. It must be safe for
// concurrent use when proofs run concurrently.
type PartialCache interface {
	Get(key [32]byte) (*Partial, bool)
	// Put stores p under key, replacing the Partial stored there.
	Put(key [32]byte, p *Partial)
}

// ProveCached proves with the Partial the cache holds under key: as it is
// when it matches the witness's static values, updated (UpdatePartial)
// and stored back when some differ, computed and stored when there is
// none (or it is another prover's). Concurrent calls with one key may
// each update and store; every proof uses a Partial of its own witness.
func (pr *Prover) ProveCached(w []fr.Element, key [32]byte, cache PartialCache, rnd io.Reader) (*Proof, error) {
	if err := pr.checkWitness(w); err != nil {
		return nil, err
	}
	old, _ := cache.Get(key)
	return pr.prove(w, pr.cachedPartial(w, key, old, cache), rnd)
}

// RefreshCached brings the Partial the cache holds under key up to date
// with the witness's static values (UpdatePartial), without proving: a
// caller that sees a member's path change (another member registered) can
// do it before the member's next message, which then proves at the cost
// of a message whose path did not change. It does nothing, and returns
// false, when the cache holds no Partial of this prover under key: it
// never adds members to the cache.
func (pr *Prover) RefreshCached(w []fr.Element, key [32]byte, cache PartialCache) (bool, error) {
	if err := pr.checkWitness(w); err != nil {
		return false, err
	}
	old, _ := cache.Get(key)
	if old == nil || old.owner != pr {
		return false, nil
	}
	pr.cachedPartial(w, key, old, cache)
	return true, nil
}

// cachedPartial returns the Partial for w: old (the cache's, may be nil)
// as it is, updated, or computed anew, storing a new one under key.
func (pr *Prover) cachedPartial(w []fr.Element, key [32]byte, old *Partial, cache PartialCache) *Partial {
	var part *Partial
	if old == nil || old.owner != pr {
		part = pr.newPartial(w)
	} else {
		part = pr.update(old, w)
	}
	if part != old {
		cache.Put(key, part)
	}
	return part
}

// prove computes the proof from a checked witness and its Partial, in
// two lanes when this is the only proof in progress and there is more
// than one core, in one lane otherwise: concurrent proofs already keep
// the cores busy, and one lane does less work (one bucket reduction for
// the quotient's MSM instead of two, no hand-offs between goroutines).
func (pr *Prover) prove(w []fr.Element, part *Partial, rnd io.Reader) (*Proof, error) {
	lanes := 1
	if pr.inFlight.Add(1) == 1 && runtime.GOMAXPROCS(0) > 1 {
		lanes = 2
	}
	defer pr.inFlight.Add(-1)
	return pr.proveLanes(w, part, rnd, lanes)
}

// proveLanes computes the proof in one lane or two; both give the same
// proof for the same randomness.
func (pr *Prover) proveLanes(w []fr.Element, part *Partial, rnd io.Reader, lanes int) (*Proof, error) {
	pk := pr.pk
	var r, s fr.Element
	if err := randomScalar(rnd, &r); err != nil {
		return nil, err
	}
	if err := randomScalar(rnd, &s); err != nil {
		return nil, err
	}

	scalars := make([]fr.Element, len(pr.dyn.idx))
	for k, i := range pr.dyn.idx {
		scalars[k] = w[i]
	}
	// The quotient's coefficients, the private dynamic signals', then r
	// times every dynamic signal's.
	q := pr.getQuotientBufs()
	defer pr.quotientBufs.Put(q)
	hcScalars := func() []fr.Element {
		hc := pr.quotient(w, q)
		for _, j := range pr.dyn.cIdx {
			hc = append(hc, scalars[j])
		}
		n := len(hc)
		hc = hc[:n+len(scalars)]
		rw := fr.Vector(hc[n:])
		rw.ScalarMul(scalars, &r)
		return hc
	}
	var ar, krs bn254.G1Jac
	var bs2 bn254.G2Jac
	hc := pr.hcMSM
	if lanes == 1 {
		digits := hc.Digits(hcScalars())
		krs = hc.Sum(digits, 0, hc.Windows())
		hc.Release(digits)
		bs2 = pr.dynB2.MultiExp(scalars, 1)
		ar = pr.dynA.MultiExp(scalars, 1)
	} else {
		// Two lanes of work, one a core: the quotient, then the first
		// windows of the H and C MSM; the other MSMs, then the remaining
		// windows. The split puts more windows on the lane that is free
		// sooner.
		var (
			digits          msmDigits
			lo, hi          bn254.G1Jac
			digitsReady, wg sync.WaitGroup
		)
		split := hc.Windows() / 2
		digitsReady.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			digits = hc.Digits(hcScalars())
			digitsReady.Done()
			lo = hc.Sum(digits, 0, split)
		}()
		bs2 = pr.dynB2.MultiExp(scalars, 1)
		ar = pr.dynA.MultiExp(scalars, 1)
		digitsReady.Wait()
		hi = hc.Sum(digits, split, hc.Windows())
		wg.Wait()
		hc.Release(digits)
		krs = lo
		krs.AddAssign(&hi)
	}
	ar.AddAssign(&part.a)
	krs.AddAssign(&part.c)
	bs2.AddAssign(&part.b2)

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

	// The rest of B (G1): its static signals' sum, beta and s delta. The
	// dynamic signals' sum is already in krs, times r.
	bs1 := part.b1
	bs1.AddMixed(&pk.Beta1)
	tmp.FromAffine(&pk.Delta1)
	tmp.ScalarMultiplication(&tmp, &sBig)
	bs1.AddAssign(&tmp)

	// C = sum_private w_i C_i + sum h_i H_i + s A + r B1 - r s delta
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

// matrix is one of the constraint matrices, a coefficient a position.
type matrix struct {
	value              fr.Vector
	signal, constraint []uint32
}

// evaluate adds the matrix times w into out; t is scratch of at least
// one element a coefficient. The products are one vector operation.
func (m *matrix) evaluate(out, w []fr.Element, t fr.Vector) {
	t = t[:len(m.value)]
	for i, sig := range m.signal {
		t[i] = w[sig]
	}
	t.Mul(t, m.value)
	for i, con := range m.constraint {
		out[con].Add(&out[con], &t[i])
	}
}

// quotientBufs is the memory of one quotient: a has room after the n
// coefficients for the other scalars of the H and C MSM (see proveLanes),
// t for the products of the larger matrix and then the FFTs' scratch.
type quotientBufs struct{ a, b, c, t []fr.Element }

func (pr *Prover) getQuotientBufs() *quotientBufs {
	if q, ok := pr.quotientBufs.Get().(*quotientBufs); ok {
		return q
	}
	n := pr.pk.DomainSize
	return &quotientBufs{
		a: make([]fr.Element, n, n+len(pr.dyn.cIdx)+len(pr.dyn.idx)),
		b: make([]fr.Element, n),
		c: make([]fr.Element, n),
		t: make([]fr.Element, max(len(pr.coefA.value), len(pr.coefB.value), n/2)),
	}
}

// quotient evaluates A(x)B(x) - C(x) on the odd coset of the 2n-th roots
// of unity, where A, B interpolate the constraint evaluations A·w, B·w and
// C = A·B on the domain. The proving key's H points absorb the constant
// vanishing polynomial on that coset. It returns q.a, which has room for
// more elements after the n.
func (pr *Prover) quotient(w []fr.Element, q *quotientBufs) []fr.Element {
	n := pr.pk.DomainSize
	a, b, c := q.a[:n], q.b, q.c
	clear(a)
	clear(b)
	pr.coefA.evaluate(a, w, q.t)
	pr.coefB.evaluate(b, w, q.t)
	av, bv, cv := fr.Vector(a), fr.Vector(b), fr.Vector(c)
	cv.Mul(av, bv)
	pr.fft.toCoset(av, q.t)
	pr.fft.toCoset(bv, q.t)
	pr.fft.toCoset(cv, q.t)
	av.Mul(av, bv)
	av.Sub(av, cv)
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
