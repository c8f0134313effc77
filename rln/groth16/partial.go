package groth16

import (
	"errors"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// Partial holds the multi-scalar multiplications over the static signals
// of a witness, and the static values it was computed from. A Partial is
// never changed once made: UpdatePartial returns a new one, so a Partial
// may be shared by concurrent proofs.
type Partial struct {
	owner    *Prover
	static   []fr.Element // the witness's values at owner.stat.idx
	a, b1, c bn254.G1Jac
	b2       bn254.G2Jac
}

// ErrPartialMismatch: the witness's static signals are not the ones the
// partial was computed from, or the partial is another prover's.
var ErrPartialMismatch = errors.New("groth16: partial computed for other static signals")

// statWindow is the window of the static signals' fixed-base tables: the
// one with the fewest additions over the RLN key's 5,339 static signals,
// for a full computation and for updates of a few hundred signals alike
// (measured for windows of 11 to 16 bits).
const statWindow = 13

// staticTables are fixed-base tables for the static signals' points, so
// that a Partial, and an update of one, costs additions only.
type staticTables struct {
	a, b1, c *g1MSM
	b2       *g2MSM
}

// staticValues copies the static signals' values out of a witness.
func (pr *Prover) staticValues(w []fr.Element) []fr.Element {
	v := make([]fr.Element, len(pr.stat.idx))
	for k, i := range pr.stat.idx {
		v[k] = w[i]
	}
	return v
}

// matches reports whether part is this prover's Partial for the static
// values of w.
func (pr *Prover) matches(part *Partial, w []fr.Element) bool {
	if part.owner != pr {
		return false
	}
	for k, i := range pr.stat.idx {
		if !part.static[k].Equal(&w[i]) {
			return false
		}
	}
	return true
}

// staticSums returns the four sums over the static signals' points with
// scalars s (one a static signal, in the order of pr.stat.idx), in two
// lanes of about equal work: the G2 sum and the G1 B sum (two thirds of
// the signals have B points, and a G2 addition costs about three G1
// ones), then the G1 A and C sums (every signal, or nearly).
func (pr *Prover) staticSums(s []fr.Element) (a, b1, c bn254.G1Jac, b2 bn254.G2Jac) {
	var wg sync.WaitGroup
	wg.Go(func() {
		b2 = pr.statT.b2.MultiExp(s, 1)
		b1 = pr.statT.b1.MultiExp(s, 1)
	})
	a = pr.statT.a.MultiExp(s, 1)
	c = pr.statT.c.MultiExp(s, 1)
	wg.Wait()
	return
}

// Precompute computes the Partial of a witness's static signals.
func (pr *Prover) Precompute(w []fr.Element) (*Partial, error) {
	if err := pr.checkWitness(w); err != nil {
		return nil, err
	}
	return pr.newPartial(w), nil
}

// newPartial computes the static signals' sums of a checked witness.
func (pr *Prover) newPartial(w []fr.Element) *Partial {
	p := &Partial{owner: pr, static: pr.staticValues(w)}
	p.a, p.b1, p.c, p.b2 = pr.staticSums(p.static)
	return p
}

// UpdatePartial returns the Partial for witness w, given old, this
// prover's Partial for another witness (nil: none). The sums are linear
// in the witness, so only the static signals whose values differ are
// added in, each as (new - old) times its points: when a member's Merkle
// path changes in one sibling, that is the signals of the hashes from
// that sibling's level up. When as many signals changed as there are
// non-zero static values in w, the sums are computed afresh. old is left
// as it was; it is returned itself when nothing changed.
func (pr *Prover) UpdatePartial(old *Partial, w []fr.Element) (*Partial, error) {
	if err := pr.checkWitness(w); err != nil {
		return nil, err
	}
	if old == nil {
		return pr.newPartial(w), nil
	}
	if old.owner != pr {
		return nil, ErrPartialMismatch
	}
	return pr.update(old, w), nil
}

// update is UpdatePartial for a checked witness and this prover's old.
func (pr *Prover) update(old *Partial, w []fr.Element) *Partial {
	if pr.matches(old, w) {
		return old
	}
	d, changed, nonZero := pr.staticDelta(old, w)
	defer pr.deltaBufs.Put(&d)
	if changed >= nonZero {
		return pr.newPartial(w)
	}
	p := &Partial{owner: pr, static: pr.staticValues(w)}
	p.a, p.b1, p.c, p.b2 = pr.staticSums(d)
	p.a.AddAssign(&old.a)
	p.b1.AddAssign(&old.b1)
	p.c.AddAssign(&old.c)
	p.b2.AddAssign(&old.b2)
	return p
}

// staticDelta returns the static signals' values in w minus those of old
// (zero where they agree), how many differ, and how many are non-zero in
// w: the additions of an update against those of a fresh computation.
// d is from pr.deltaBufs (an update makes one a proof, ~170 KB with the
// RLN key, and the garbage makes the collector run more often).
func (pr *Prover) staticDelta(old *Partial, w []fr.Element) (d []fr.Element, changed, nonZero int) {
	if p, ok := pr.deltaBufs.Get().(*[]fr.Element); ok {
		d = *p
		clear(d)
	} else {
		d = make([]fr.Element, len(pr.stat.idx))
	}
	for k, i := range pr.stat.idx {
		if !w[i].IsZero() {
			nonZero++
		}
		if !w[i].Equal(&old.static[k]) {
			d[k].Sub(&w[i], &old.static[k])
			changed++
		}
	}
	return d, changed, nonZero
}
