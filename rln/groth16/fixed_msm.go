package groth16

import (
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// fixedMSM computes multi-scalar multiplications over fixed bases with
// precomputed window tables: table[k][i] = 2^(c*k) * P_i. A scalar is cut
// into signed c-bit digits, so every (point, window) pair is one addition
// into one of 2^(c-1) buckets, with no doublings between windows. Bucket
// additions are done in affine coordinates in batches that share one field
// inversion (about 7 multiplications an addition). It serves G1 and G2
// through its type parameters: E the coordinate field, P the affine point,
// J the Jacobian point of gnark-crypto.
type fixedMSM[E any, PE field[E], P any, J any, PJ jacobian[J, P]] struct {
	c, windows, n int
	table         [][]affine[E] // [window][point]
	join          func(x, y *E) P
}

// field is what the bucket additions need of a coordinate field.
type field[E any] interface {
	*E
	Sub(a, b *E) *E
	Mul(a, b *E) *E
	Square(a *E) *E
	Inverse(a *E) *E
	Neg(a *E) *E
	SetOne() *E
	Equal(b *E) bool
	IsZero() bool
}

// jacobian is what the bucket reduction needs of a Jacobian point type.
type jacobian[J any, P any] interface {
	*J
	AddMixed(a *P) *J
	AddAssign(a *J) *J
}

type affine[E any] struct{ X, Y E }

type (
	g1MSM = fixedMSM[fp.Element, *fp.Element, bn254.G1Affine, bn254.G1Jac, *bn254.G1Jac]
	g2MSM = fixedMSM[bn254.E2, *bn254.E2, bn254.G2Affine, bn254.G2Jac, *bn254.G2Jac]
)

// frBits is the bit length of BN254's scalar field.
const frBits = 254

func newG1MSM(points []bn254.G1Affine, c int) *g1MSM {
	rows := windowRows(points, c, func(p []bn254.G1Affine) []bn254.G1Jac {
		j := make([]bn254.G1Jac, len(p))
		for i := range p {
			j[i].FromAffine(&p[i])
		}
		return j
	}, func(j *bn254.G1Jac) { j.DoubleAssign() }, bn254.BatchJacobianToAffineG1)
	f := &g1MSM{c: c, windows: len(rows), n: len(points), join: func(x, y *fp.Element) bn254.G1Affine { return bn254.G1Affine{X: *x, Y: *y} }}
	for _, r := range rows {
		t := make([]affine[fp.Element], len(r))
		for i := range r {
			t[i] = affine[fp.Element]{r[i].X, r[i].Y}
		}
		f.table = append(f.table, t)
	}
	return f
}

func newG2MSM(points []bn254.G2Affine, c int) *g2MSM {
	rows := windowRows(points, c, func(p []bn254.G2Affine) []bn254.G2Jac {
		j := make([]bn254.G2Jac, len(p))
		for i := range p {
			j[i].FromAffine(&p[i])
		}
		return j
	}, func(j *bn254.G2Jac) { j.DoubleAssign() }, func(j []bn254.G2Jac) []bn254.G2Affine {
		a := make([]bn254.G2Affine, len(j))
		for i := range j {
			a[i].FromJacobian(&j[i])
		}
		return a
	})
	f := &g2MSM{c: c, windows: len(rows), n: len(points), join: func(x, y *bn254.E2) bn254.G2Affine { return bn254.G2Affine{X: *x, Y: *y} }}
	for _, r := range rows {
		t := make([]affine[bn254.E2], len(r))
		for i := range r {
			t[i] = affine[bn254.E2]{r[i].X, r[i].Y}
		}
		f.table = append(f.table, t)
	}
	return f
}

// windowRows returns the points times 2^(c*k) for every window k.
func windowRows[P, J any](points []P, c int, toJac func([]P) []J, double func(*J), toAffine func([]J) []P) [][]P {
	// Signed digits cover 255 bits, one past the scalar field's 254.
	windows := (frBits + 1 + c - 1) / c
	rows := [][]P{append([]P(nil), points...)}
	jac := toJac(points)
	for k := 1; k < windows; k++ {
		for i := range jac {
			for range c {
				double(&jac[i])
			}
		}
		rows = append(rows, toAffine(jac))
	}
	return rows
}

// digits writes the signed base-2^c digits of s (canonical form) into d,
// least significant first: s = sum d[k] 2^(ck), -2^(c-1) < d[k] <= 2^(c-1).
// Since s < 2^254 and the windows cover 255 bits, the top digit never
// carries out.
func digits(s *fr.Element, c, windows int, d []int32) {
	limbs := s.Bits() // regular form, little-endian limbs
	uc := uint(c)
	mask := uint64(1)<<uc - 1
	half := int64(1) << (uc - 1)
	var carry int64
	for k := range windows {
		bit := uint(k) * uc
		var v uint64
		if limb := bit / 64; limb < 4 {
			off := bit % 64
			v = limbs[limb] >> off
			if off+uc > 64 && limb+1 < 4 {
				v |= limbs[limb+1] << (64 - off)
			}
			v &= mask
		}
		x := int64(v) + carry
		carry = 0
		if x > half {
			x -= int64(1) << uc
			carry = 1
		}
		d[k] = int32(x)
	}
}

// MultiExp returns sum scalars[i] * points[i], splitting the windows over
// nbTasks goroutines.
func (f *fixedMSM[E, PE, P, J, PJ]) MultiExp(scalars []fr.Element, nbTasks int) J {
	n := min(len(scalars), f.n)
	dig := make([]int32, n*f.windows)
	for i := range n {
		digits(&scalars[i], f.c, f.windows, dig[i*f.windows:(i+1)*f.windows])
	}
	nbTasks = max(1, min(nbTasks, f.windows))
	results := make([]J, nbTasks)
	var wg sync.WaitGroup
	for t := range nbTasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lo, hi := t*f.windows/nbTasks, (t+1)*f.windows/nbTasks
			results[t] = f.accumulate(dig, n, lo, hi)
		}()
	}
	wg.Wait()
	for t := 1; t < nbTasks; t++ {
		PJ(&results[0]).AddAssign(&results[t])
	}
	return results[0]
}

// maxBatch bounds how many affine additions share one inversion; a batch is
// also kept well below the number of buckets, so that few additions hit a
// bucket already in the batch.
const maxBatch = 512

// accumulate adds the (point, window) pairs of windows [lo, hi) into
// buckets and reduces them: sum over buckets m of m * bucket[m].
func (f *fixedMSM[E, PE, P, J, PJ]) accumulate(dig []int32, n, lo, hi int) J {
	nb := 1 << (f.c - 1)
	buckets := make([]affine[E], nb)
	filled := make([]bool, nb)
	inBatch := make([]bool, nb)
	// Additions that hit a bucket already in the batch (or need a doubling
	// or cancel out) go to a Jacobian spill bucket.
	spill := make([]J, nb)
	spilled := make([]bool, nb)

	type pending struct {
		b int32
		p affine[E]
	}
	batchSize := max(16, min(maxBatch, nb/4))
	batch := make([]pending, 0, batchSize)
	dx := make([]E, batchSize)
	prefix := make([]E, batchSize)

	flush := func() {
		m := len(batch)
		if m == 0 {
			return
		}
		// dx_j = x_p - x_bucket; one inversion for the batch.
		var acc E
		PE(&acc).SetOne()
		for j := range batch {
			e := &batch[j]
			PE(&dx[j]).Sub(&e.p.X, &buckets[e.b].X)
			prefix[j] = acc
			PE(&acc).Mul(&acc, &dx[j])
		}
		var inv E
		PE(&inv).Inverse(&acc)
		var invj, lambda, x3, y3 E
		for j := m - 1; j >= 0; j-- {
			e := &batch[j]
			PE(&invj).Mul(&inv, &prefix[j])
			PE(&inv).Mul(&inv, &dx[j])
			bk := &buckets[e.b]
			PE(&lambda).Sub(&e.p.Y, &bk.Y)
			PE(&lambda).Mul(&lambda, &invj)
			PE(&x3).Square(&lambda)
			PE(&x3).Sub(&x3, &bk.X)
			PE(&x3).Sub(&x3, &e.p.X)
			PE(&y3).Sub(&bk.X, &x3)
			PE(&y3).Mul(&y3, &lambda)
			PE(&y3).Sub(&y3, &bk.Y)
			bk.X, bk.Y = x3, y3
			inBatch[e.b] = false
		}
		batch = batch[:0]
	}

	add := func(b int32, p *affine[E]) {
		if PE(&p.X).IsZero() && PE(&p.Y).IsZero() {
			return // the point at infinity adds nothing
		}
		switch {
		case !filled[b]:
			buckets[b] = *p
			filled[b] = true
		case inBatch[b] || PE(&buckets[b].X).Equal(&p.X):
			pp := f.join(&p.X, &p.Y)
			if !spilled[b] {
				var zero J
				spill[b] = zero
				spilled[b] = true
			}
			PJ(&spill[b]).AddMixed(&pp)
		default:
			inBatch[b] = true
			batch = append(batch, pending{b: b, p: *p})
			if len(batch) == batchSize {
				flush()
			}
		}
	}

	var neg affine[E]
	for k := lo; k < hi; k++ {
		row := f.table[k]
		for i := range n {
			d := dig[i*f.windows+k]
			switch {
			case d > 0:
				add(d-1, &row[i])
			case d < 0:
				neg.X = row[i].X
				PE(&neg.Y).Neg(&row[i].Y)
				add(-d-1, &neg)
			}
		}
	}
	flush()

	// sum_m (m+1) * bucket[m] by running sums, top bucket first.
	var running, total J
	for b := nb - 1; b >= 0; b-- {
		if filled[b] {
			pb := f.join(&buckets[b].X, &buckets[b].Y)
			PJ(&running).AddMixed(&pb)
		}
		if spilled[b] {
			PJ(&running).AddAssign(&spill[b])
		}
		PJ(&total).AddAssign(&running)
	}
	return total
}
