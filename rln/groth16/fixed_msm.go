package groth16

import (
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// fixedMSM computes multi-scalar multiplications over fixed bases with
// precomputed window tables: table[k][j] = 2^(c*k) * P_j. A scalar is cut
// into signed c-bit digits, so every (point, window) pair is one addition
// into one of 2^(c-1) buckets, with no doublings between windows. Bucket
// additions are done in affine coordinates in batches that share one field
// inversion. It serves G1 and G2 through its type parameters: E the
// coordinate field, P the affine point, J the Jacobian point of gnark-crypto.
type fixedMSM[E any, PE field[E], P any, J any, PJ jacobian[J, P]] struct {
	c, windows int
	idx        []int         // caller's index of each finite base (infinity adds nothing)
	table      [][]affine[E] // [window][finite base]
	g          group[E, P, J]
}

// batchAdder sets (x1[i], y1[i]) += (x2[i], y2[i]) for every i as affine
// additions sharing one inversion. When some x1[i] == x2[i] (a doubling or
// a cancellation, which the formula cannot do) it changes nothing and
// returns false.
type batchAdder[E any] func(x1, y1, x2, y2 []E) bool

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

// group adapts one of gnark-crypto's groups to fixedMSM.
type group[E any, P any, J any] struct {
	isInfinity func(*P) bool
	coords     func(*P) affine[E]
	join       func(x, y *E) P
	toJac      func(*P) J
	double     func(*J)
	toAffine   func([]J) []P
	// newAdder returns a batch-addition kernel with scratch for up to n
	// additions; each accumulating goroutine makes its own.
	newAdder func(n int) batchAdder[E]
}

var (
	g1Group = group[fp.Element, bn254.G1Affine, bn254.G1Jac]{
		isInfinity: (*bn254.G1Affine).IsInfinity,
		coords:     func(p *bn254.G1Affine) affine[fp.Element] { return affine[fp.Element]{p.X, p.Y} },
		join:       func(x, y *fp.Element) bn254.G1Affine { return bn254.G1Affine{X: *x, Y: *y} },
		toJac:      func(p *bn254.G1Affine) (j bn254.G1Jac) { j.FromAffine(p); return },
		double:     func(j *bn254.G1Jac) { j.DoubleAssign() },
		toAffine:   bn254.BatchJacobianToAffineG1,
		newAdder:   newG1Adder,
	}
	g2Group = group[bn254.E2, bn254.G2Affine, bn254.G2Jac]{
		isInfinity: (*bn254.G2Affine).IsInfinity,
		coords:     func(p *bn254.G2Affine) affine[bn254.E2] { return affine[bn254.E2]{p.X, p.Y} },
		join:       func(x, y *bn254.E2) bn254.G2Affine { return bn254.G2Affine{X: *x, Y: *y} },
		toJac:      func(p *bn254.G2Affine) (j bn254.G2Jac) { j.FromAffine(p); return },
		double:     func(j *bn254.G2Jac) { j.DoubleAssign() },
		toAffine: func(j []bn254.G2Jac) []bn254.G2Affine {
			a := make([]bn254.G2Affine, len(j))
			for i := range j {
				a[i].FromJacobian(&j[i])
			}
			return a
		},
		newAdder: newScalarAdder[bn254.E2, *bn254.E2],
	}
)

func newG1MSM(points []bn254.G1Affine, c int) *g1MSM {
	return newFixedMSM[*fp.Element, *bn254.G1Jac](points, c, g1Group)
}
func newG2MSM(points []bn254.G2Affine, c int) *g2MSM {
	return newFixedMSM[*bn254.E2, *bn254.G2Jac](points, c, g2Group)
}

// newFixedMSM builds the window tables of the finite points.
func newFixedMSM[PE field[E], PJ jacobian[J, P], E, P, J any](points []P, c int, g group[E, P, J]) *fixedMSM[E, PE, P, J, PJ] {
	f := &fixedMSM[E, PE, P, J, PJ]{c: c, g: g}
	var jac []J
	for i := range points {
		if !g.isInfinity(&points[i]) {
			f.idx = append(f.idx, i)
			jac = append(jac, g.toJac(&points[i]))
		}
	}
	// Signed digits cover 255 bits, one past the scalar field's 254.
	f.windows = (frBits + 1 + c - 1) / c
	for k := range f.windows {
		if k > 0 {
			for i := range jac {
				for range c {
					g.double(&jac[i])
				}
			}
		}
		row := g.toAffine(jac)
		t := make([]affine[E], len(row))
		for i := range row {
			t[i] = g.coords(&row[i])
		}
		f.table = append(f.table, t)
	}
	return f
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

// msmDigits are a scalar vector cut into window-major signed digits:
// d[k*n+j] is digit k of the j-th finite base's scalar, so each window's
// pass reads memory in order.
type msmDigits struct {
	d []int32
	n int
}

// Digits prepares scalars (scalars beyond the bases are ignored).
func (f *fixedMSM[E, PE, P, J, PJ]) Digits(scalars []fr.Element) msmDigits {
	n := 0
	for n < len(f.idx) && f.idx[n] < len(scalars) {
		n++
	}
	dig := make([]int32, n*f.windows)
	d := make([]int32, f.windows)
	for j := range n {
		digits(&scalars[f.idx[j]], f.c, f.windows, d)
		for k, v := range d {
			dig[k*n+j] = v
		}
	}
	return msmDigits{d: dig, n: n}
}

// Windows is the number of windows; Sum over disjoint window ranges that
// cover [0, Windows) adds up to the whole MSM.
func (f *fixedMSM[E, PE, P, J, PJ]) Windows() int { return f.windows }

// Sum is the part of the MSM that windows [lo, hi) contribute.
func (f *fixedMSM[E, PE, P, J, PJ]) Sum(d msmDigits, lo, hi int) J {
	return f.accumulate(d.d, d.n, lo, hi)
}

// MultiExp returns sum scalars[i] * points[i] (scalars beyond the points
// are ignored), splitting the windows over nbTasks goroutines.
func (f *fixedMSM[E, PE, P, J, PJ]) MultiExp(scalars []fr.Element, nbTasks int) J {
	d := f.Digits(scalars)
	nbTasks = max(1, min(nbTasks, f.windows))
	results := make([]J, nbTasks)
	var wg sync.WaitGroup
	for t := range nbTasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[t] = f.Sum(d, t*f.windows/nbTasks, (t+1)*f.windows/nbTasks)
		}()
	}
	wg.Wait()
	for t := 1; t < nbTasks; t++ {
		PJ(&results[0]).AddAssign(&results[t])
	}
	return results[0]
}

// maxBatch bounds how many affine additions share one inversion.
const maxBatch = 512

// accumulate adds the (base, window) pairs of windows [lo, hi) into
// buckets and reduces them: sum over buckets m of (m+1) * bucket[m].
func (f *fixedMSM[E, PE, P, J, PJ]) accumulate(dig []int32, n, lo, hi int) J {
	nb := 1 << (f.c - 1)
	buckets := make([]affine[E], nb)
	filled := make([]bool, nb)
	inBatch := make([]bool, nb)
	// Additions the affine batches cannot take (a doubling, a
	// cancellation, or too many waiting for a busy bucket) go to a
	// Jacobian spill bucket.
	spill := make([]J, nb)
	spilled := make([]bool, nb)
	toSpill := func(b int32, x, y *E) {
		p := f.g.join(x, y)
		spilled[b] = true
		PJ(&spill[b]).AddMixed(&p)
	}

	// A batch holds additions to distinct buckets; an addition to a bucket
	// already in the batch waits in retry for the next batch.
	batchSize := max(16, min(maxBatch, nb/4))
	var (
		batchB          = make([]int32, 0, batchSize)
		px              = make([]E, 0, batchSize)
		py              = make([]E, 0, batchSize)
		bx              = make([]E, batchSize)
		by              = make([]E, batchSize)
		retryB, retryB2 []int32
		retryP, retryP2 []affine[E]
		addBatch        = f.g.newAdder(batchSize)
	)

	// push never flushes: a new bucket is set, a free one joins the batch,
	// a busy one (or any when the batch is full) waits in retry, and when
	// retry is full the addition is spilled.
	push := func(b int32, x, y *E) {
		switch {
		case !filled[b]:
			buckets[b] = affine[E]{*x, *y}
			filled[b] = true
		case inBatch[b] || len(batchB) == batchSize:
			if len(retryB) < batchSize {
				retryB = append(retryB, b)
				retryP = append(retryP, affine[E]{*x, *y})
			} else {
				toSpill(b, x, y)
			}
		default:
			inBatch[b] = true
			batchB = append(batchB, b)
			px = append(px, *x)
			py = append(py, *y)
		}
	}
	flush := func() {
		m := len(batchB)
		if m == 0 {
			return
		}
		for j, b := range batchB {
			bx[j], by[j] = buckets[b].X, buckets[b].Y
		}
		if !addBatch(bx[:m], by[:m], px, py) {
			// Rare: some addition is a doubling or cancels out. Send those
			// to the spill buckets and add the rest.
			keep := 0
			for j, b := range batchB {
				if PE(&bx[j]).Equal(&px[j]) {
					toSpill(b, &px[j], &py[j])
					inBatch[b] = false
					continue
				}
				batchB[keep], px[keep], py[keep], bx[keep], by[keep] = b, px[j], py[j], bx[j], by[j]
				keep++
			}
			batchB, px, py = batchB[:keep], px[:keep], py[:keep]
			m = keep
			if m > 0 && !addBatch(bx[:m], by[:m], px, py) {
				panic("groth16: batch addition failed without equal x")
			}
		}
		for j, b := range batchB {
			buckets[b].X, buckets[b].Y = bx[j], by[j]
			inBatch[b] = false
		}
		batchB, px, py = batchB[:0], px[:0], py[:0]
	}
	// replay pushes the waiting additions again (into a fresh batch after
	// a flush); buffers alternate so the list being replayed is never the
	// one being appended to.
	replay := func() {
		rb, rp := retryB, retryP
		retryB, retryP = retryB2[:0], retryP2[:0]
		retryB2, retryP2 = rb, rp
		for j := range rb {
			push(rb[j], &rp[j].X, &rp[j].Y)
		}
	}

	var negY E
	for k := lo; k < hi; k++ {
		row := f.table[k]
		for j, d := range dig[k*n : (k+1)*n] {
			switch {
			case d > 0:
				push(d-1, &row[j].X, &row[j].Y)
			case d < 0:
				PE(&negY).Neg(&row[j].Y)
				push(-d-1, &row[j].X, &negY)
			default:
				continue
			}
			for len(batchB) == batchSize {
				flush()
				replay()
			}
		}
	}
	for len(batchB) > 0 || len(retryB) > 0 {
		flush()
		replay()
	}

	return f.reduce(buckets, filled, spill, spilled)
}

// reduce returns sum over buckets m of (m+1) * bucket[m], plus the spill
// buckets likewise. The running sums are done in affine coordinates with
// batched additions: the buckets are cut into K chunks of L, and the K
// chunks' running sums advance in lock-step, each step one batch of K
// additions sharing an inversion. With chunk j's running sum R_j = sum of
// its buckets and T_j = sum over its buckets t of (t+1) * bucket[jL+t],
// the result is sum_j T_j + L * sum_j j * R_j; that last sum is over K
// points only and done in Jacobian coordinates.
func (f *fixedMSM[E, PE, P, J, PJ]) reduce(buckets []affine[E], filled []bool, spill []J, spilled []bool) J {
	nb := len(buckets)
	f.foldSpills(buckets, filled, spill, spilled)

	// Chunk length: long enough that the K-point Jacobian tail is small,
	// short enough that each batch shares its inversion among many
	// additions (chosen by benchmark on the RLN key's 4,096 and 512
	// buckets).
	L := min(nb, 8)
	if nb >= 4096 {
		L = 32
	}
	K := nb / L
	run := newLaneSet[E](K)
	tot := newLaneSet[E](K)
	b := &laneBatch[E]{add: f.g.newAdder(K)}
	src := newLaneSet[E](K)
	for t := L - 1; t >= 0; t-- {
		for j := range K {
			m := j*L + t
			src.ok[j] = filled[m]
			if filled[m] {
				src.x[j], src.y[j] = buckets[m].X, buckets[m].Y
			}
		}
		f.addLanes(b, run, src)
		f.addLanes(b, tot, run)
	}

	// sum_j T_j + L * sum_{j>=1} j * R_j.
	var result, running, weighted J
	for j := K - 1; j >= 0; j-- {
		if tot.ok[j] {
			p := f.g.join(&tot.x[j], &tot.y[j])
			PJ(&result).AddMixed(&p)
		}
		if j == 0 {
			break
		}
		if run.ok[j] {
			p := f.g.join(&run.x[j], &run.y[j])
			PJ(&running).AddMixed(&p)
		}
		PJ(&weighted).AddAssign(&running)
	}
	for l := 1; l < L; l <<= 1 {
		f.g.double(&weighted)
	}
	PJ(&result).AddAssign(&weighted)
	return result
}

// foldSpills adds each spill bucket into its affine bucket (rare: the
// accumulation spills only doublings, cancellations and overflow).
func (f *fixedMSM[E, PE, P, J, PJ]) foldSpills(buckets []affine[E], filled []bool, spill []J, spilled []bool) {
	var idx []int
	var jac []J
	for m := range spilled {
		if !spilled[m] {
			continue
		}
		j := spill[m]
		if filled[m] {
			p := f.g.join(&buckets[m].X, &buckets[m].Y)
			PJ(&j).AddMixed(&p)
		}
		idx = append(idx, m)
		jac = append(jac, j)
	}
	if len(idx) == 0 {
		return
	}
	for k, p := range f.g.toAffine(jac) {
		m := idx[k]
		filled[m] = !f.g.isInfinity(&p)
		if filled[m] {
			buckets[m] = f.g.coords(&p)
		}
	}
}

// laneSet is K affine points, some absent (the point at infinity).
type laneSet[E any] struct {
	x, y []E
	ok   []bool
}

func newLaneSet[E any](k int) *laneSet[E] {
	return &laneSet[E]{x: make([]E, k), y: make([]E, k), ok: make([]bool, k)}
}

// laneBatch is the scratch of addLanes.
type laneBatch[E any] struct {
	add            batchAdder[E]
	lane           []int
	x1, y1, x2, y2 []E
}

// addLanes sets dst[j] += src[j] for every lane j: copies where dst is
// absent, one batched affine addition for the rest, and the exact group
// law for the rare pairs with equal x (a doubling or a cancellation).
func (f *fixedMSM[E, PE, P, J, PJ]) addLanes(b *laneBatch[E], dst, src *laneSet[E]) {
	b.lane, b.x1, b.y1, b.x2, b.y2 = b.lane[:0], b.x1[:0], b.y1[:0], b.x2[:0], b.y2[:0]
	for j := range src.ok {
		switch {
		case !src.ok[j]:
		case !dst.ok[j]:
			dst.x[j], dst.y[j], dst.ok[j] = src.x[j], src.y[j], true
		case PE(&dst.x[j]).Equal(&src.x[j]):
			f.exactAdd(dst, j, &src.x[j], &src.y[j])
		default:
			b.lane = append(b.lane, j)
			b.x1, b.y1 = append(b.x1, dst.x[j]), append(b.y1, dst.y[j])
			b.x2, b.y2 = append(b.x2, src.x[j]), append(b.y2, src.y[j])
		}
	}
	if len(b.lane) == 0 {
		return
	}
	if !b.add(b.x1, b.y1, b.x2, b.y2) {
		panic("groth16: batch addition failed without equal x")
	}
	for k, j := range b.lane {
		dst.x[j], dst.y[j] = b.x1[k], b.y1[k]
	}
}

// exactAdd sets dst[j] += (x, y) with the Jacobian group law.
func (f *fixedMSM[E, PE, P, J, PJ]) exactAdd(dst *laneSet[E], j int, x, y *E) {
	p := f.g.join(&dst.x[j], &dst.y[j])
	q := f.g.join(x, y)
	s := f.g.toJac(&p)
	PJ(&s).AddMixed(&q)
	a := f.g.toAffine([]J{s})[0]
	dst.ok[j] = !f.g.isInfinity(&a)
	if dst.ok[j] {
		c := f.g.coords(&a)
		dst.x[j], dst.y[j] = c.X, c.Y
	}
}

// newScalarAdder is the batch addition with one shared inversion
// (Montgomery's trick), one field operation at a time.
func newScalarAdder[E any, PE field[E]](n int) batchAdder[E] {
	dx := make([]E, n)
	prefix := make([]E, n)
	return func(x1, y1, x2, y2 []E) bool {
		var acc E
		PE(&acc).SetOne()
		for j := range x1 {
			PE(&dx[j]).Sub(&x2[j], &x1[j])
			prefix[j] = acc
			PE(&acc).Mul(&acc, &dx[j])
		}
		if PE(&acc).IsZero() {
			return false
		}
		var inv, invj, lambda, x3, y3 E
		PE(&inv).Inverse(&acc)
		for j := len(x1) - 1; j >= 0; j-- {
			PE(&invj).Mul(&inv, &prefix[j])
			PE(&inv).Mul(&inv, &dx[j])
			PE(&lambda).Sub(&y2[j], &y1[j])
			PE(&lambda).Mul(&lambda, &invj)
			PE(&x3).Square(&lambda)
			PE(&x3).Sub(&x3, &x1[j])
			PE(&x3).Sub(&x3, &x2[j])
			PE(&y3).Sub(&x1[j], &x3)
			PE(&y3).Mul(&y3, &lambda)
			PE(&y3).Sub(&y3, &y1[j])
			x1[j], y1[j] = x3, y3
		}
		return true
	}
}

// lanes is the width of gnark-crypto's vector multiplication blocks
// (AVX-512 IFMA where the CPU has it).
const lanes = 8

// newG1Adder is the batch addition for G1 with every multiplication done
// as a vector operation: the inversions run as 8 interleaved Montgomery
// chains (row r holds elements 8r..8r+7), sharing one field inversion.
func newG1Adder(n int) batchAdder[fp.Element] {
	n = (n + lanes - 1) / lanes * lanes
	var (
		dx       = make(fp.Vector, n)
		prefix   = make(fp.Vector, n)
		inv      = make(fp.Vector, n)
		dy       = make(fp.Vector, n)
		lambda   = make(fp.Vector, n)
		x3       = make(fp.Vector, n)
		t        = make(fp.Vector, n)
		laneIn   = make(fp.Vector, lanes)
		laneNext = make(fp.Vector, lanes)
	)
	return func(x1, y1, x2, y2 []fp.Element) bool {
		m := len(x1)
		mp := (m + lanes - 1) / lanes * lanes
		rows := mp / lanes
		d := dx[:mp]
		dm := d[:m]
		dm.Sub(x2, x1)
		for i := m; i < mp; i++ {
			d[i].SetOne() // padding: inverts to 1, unused
		}
		// prefix row r = d row 0 * ... * d row r, lane by lane.
		copy(prefix[:lanes], d[:lanes])
		for r := 1; r < rows; r++ {
			row := prefix[r*lanes : (r+1)*lanes]
			row.Mul(prefix[(r-1)*lanes:r*lanes], d[r*lanes:(r+1)*lanes])
		}
		// Invert the eight lane totals with one inversion.
		top := prefix[(rows-1)*lanes : rows*lanes]
		for l := range top {
			if top[l].IsZero() {
				return false
			}
		}
		var lanePre [lanes]fp.Element
		var acc fp.Element
		acc.SetOne()
		for l := range lanes {
			lanePre[l] = acc
			acc.Mul(&acc, &top[l])
		}
		acc.Inverse(&acc)
		for l := lanes - 1; l >= 0; l-- {
			laneIn[l].Mul(&acc, &lanePre[l])
			acc.Mul(&acc, &top[l])
		}
		// Walk back: inv row r = laneInv * prefix row r-1; laneInv *= d row r.
		for r := rows - 1; r >= 1; r-- {
			row := inv[r*lanes : (r+1)*lanes]
			row.Mul(laneIn, prefix[(r-1)*lanes:r*lanes])
			laneNext.Mul(laneIn, d[r*lanes:(r+1)*lanes])
			laneIn, laneNext = laneNext, laneIn
		}
		copy(inv[:lanes], laneIn)

		// lambda = (y2 - y1) / (x2 - x1); x3 = lambda^2 - x1 - x2;
		// y3 = lambda (x1 - x3) - y1.
		dyv, l, x, tv := dy[:m], lambda[:m], x3[:m], t[:m]
		dyv.Sub(y2, y1)
		l.Mul(dyv, inv[:m])
		tv.Mul(l, l)
		x.Sub(tv, x1)
		tv.Sub(x, x2)
		x, tv = tv, x // x holds x3
		tv.Sub(x1, x)
		dyv.Mul(tv, l)
		tv.Sub(dyv, y1)
		copy(y1, tv)
		copy(x1, x)
		return true
	}
}
