package groth16

import (
	"runtime"
	"sync"
	"unsafe"

	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// fixedMSM computes multi-scalar multiplications over fixed bases with
// precomputed window tables: table[k][j] = 2^(o_k) * P_j, o_k the first bit
// of window k. A scalar is cut into signed digits of about c bits, so every
// (point, window) pair is one addition into one of 2^(c-1) buckets, with no
// doublings between windows. Bucket additions are done in affine
// coordinates in batches that share one field inversion. It serves G1 and
// G2 through its type parameters: E the coordinate field, P the affine
// point, J the Jacobian point of gnark-crypto.
type fixedMSM[E any, PE field[E], P any, J any, PJ jacobian[J, P]] struct {
	c, windows int
	width      []uint      // bits of each window: c or c-1, summing to frBits+1
	idx        []int       // caller's index of each finite base (infinity adds nothing)
	table      []affine[E] // [window*len(idx) + finite base]; see tableMemory
	g          group[E, P, J]
	scratch    sync.Pool // *msmScratch[E, J]: one accumulation's buffers
	digitBufs  sync.Pool // *[]int32: the memory of msmDigits
	regBufs    sync.Pool // *fr.Vector: the scalars of Digits, gathered
}

// field is what the rare paths of the bucket additions need of a
// coordinate field (the batch kernels are written per group).
type field[E any] interface {
	*E
	Neg(a *E) *E
	Equal(b *E) bool
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
	// additions; each accumulating goroutine uses its own.
	newAdder func(n int) pointAdder[E]
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
		toAffine:   batchToAffineG2,
		newAdder:   newG2Adder,
	}
)

// batchToAffineG2 is BatchJacobianToAffineG1 for G2 (gnark-crypto has
// none): the points' Z inverted together by Montgomery's trick, one
// inversion in all instead of one a point.
func batchToAffineG2(j []bn254.G2Jac) []bn254.G2Affine {
	a := make([]bn254.G2Affine, len(j))
	prefix := make([]bn254.E2, len(j)) // product of the finite points' Z before i
	var acc bn254.E2
	acc.SetOne()
	for i := range j {
		prefix[i] = acc
		if !j[i].Z.IsZero() {
			acc.Mul(&acc, &j[i].Z)
		}
	}
	acc.Inverse(&acc) // 1 / (product of all finite Z)
	for i := len(j) - 1; i >= 0; i-- {
		if j[i].Z.IsZero() {
			continue // infinity: (0, 0)
		}
		var zInv, zInv2 bn254.E2
		zInv.Mul(&acc, &prefix[i])
		acc.Mul(&acc, &j[i].Z)
		zInv2.Square(&zInv)
		a[i].X.Mul(&j[i].X, &zInv2)
		a[i].Y.Mul(&j[i].Y, &zInv2).Mul(&a[i].Y, &zInv)
	}
	return a
}

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
	f.windows, f.width = windowWidths(c)
	f.table = tableMemory[E](f, f.windows*len(jac))
	for k := range f.windows {
		if k > 0 {
			for i := range jac {
				for range f.width[k-1] {
					g.double(&jac[i])
				}
			}
		}
		row := f.table[k*len(jac) : (k+1)*len(jac)]
		for i, p := range g.toAffine(jac) {
			row[i] = g.coords(&p)
		}
	}
	return f
}

// windowWidths cuts the 255 bits of a signed-digit scalar (one past the
// scalar field's 254) into the fewest windows of at most c bits, as even
// as possible: widths c and c-1 only. A short top window (e.g. 7 bits
// when 20 windows of 13 bits would cover 260) would send all its points
// to a few buckets, which the batched additions cannot take at once.
func windowWidths(c int) (int, []uint) {
	windows := (frBits + 1 + c - 1) / c
	width := make([]uint, windows)
	long := (frBits + 1) - windows*(c-1) // windows of c bits, the rest c-1
	for k := range width {
		width[k] = uint(c - 1)
		if k < long {
			width[k] = uint(c)
		}
	}
	return windows, width
}

// digits writes the signed digits of s (its regular, not Montgomery, form:
// little-endian limbs) into d[k*stride] for each window k, least
// significant first: with windows of width[k] bits starting at bit o_k, s
// = sum d[k] 2^(o_k) and -2^(width[k]-1) < d[k] <= 2^(width[k]-1). Since s
// < 2^254 and the windows cover 255 bits, the top digit never carries out.
func digits(s *[4]uint64, width []uint, d []int32, stride int) {
	var limbs [8]uint64 // zero limbs past the top
	copy(limbs[:4], s[:])
	var carry int64
	bit := uint(0)
	for k, w := range width {
		limb, off := bit/64, bit%64
		// The bits of limb+1 shifted by 64-off, in two steps so that off
		// = 0 gives 0 without a shift count of 64.
		v := (limbs[limb&7]>>off | limbs[(limb+1)&7]<<1<<(63-off)) & (1<<(w&63) - 1)
		x := int64(v) + carry
		// x > 2^(w-1): take 2^w off and carry one.
		over := (int64(1)<<((w-1)&63) - x) >> 63 // -1 or 0
		x += over << (w & 63)
		carry = -over
		d[k*stride] = int32(x)
		bit += w
	}
}

// msmDigits are a scalar vector cut into window-major signed digits:
// d[k*n+j] is digit k of the j-th finite base's scalar, so each window's
// pass reads memory in order.
type msmDigits struct {
	d   []int32
	n   int
	buf *[]int32 // pooled memory of d
}

// Digits prepares scalars (scalars beyond the bases are ignored). Release
// hands the memory back once the sums are done.
func (f *fixedMSM[E, PE, P, J, PJ]) Digits(scalars []fr.Element) msmDigits {
	n := 0
	for n < len(f.idx) && f.idx[n] < len(scalars) {
		n++
	}
	buf, _ := f.digitBufs.Get().(*[]int32)
	if buf == nil || cap(*buf) < n*f.windows {
		b := make([]int32, n*f.windows)
		buf = &b
	}
	dig := (*buf)[:n*f.windows] // every entry is written below
	// The finite bases' scalars, gathered. Whole blocks of 8 go to a
	// digit kernel where there is one for c (it leaves Montgomery form
	// itself); the rest leave it all at once here, a vector product with
	// the element whose Montgomery limbs are 1 dividing by R, and are cut
	// one by one.
	reg, _ := f.regBufs.Get().(*fr.Vector)
	if reg == nil || cap(*reg) < n {
		r := make(fr.Vector, n)
		reg = &r
	}
	rv := (*reg)[:n]
	for j := range n {
		rv[j] = scalars[f.idx[j]]
	}
	done := 0
	if kernel := digitKernel(f.c); kernel != nil && n >= blockLanes {
		done = n / blockLanes * blockLanes
		kernel(&dig[0], (*uint64)(unsafe.Pointer(&rv[0])), &transposeIdx[0], &fr52Consts, done/blockLanes, 4*n)
	}
	tail := rv[done:]
	tail.ScalarMul(tail, &montOne)
	for j := range tail {
		digits((*[4]uint64)(&tail[j]), f.width, dig[done+j:], n)
	}
	f.regBufs.Put(reg)
	return msmDigits{d: dig, n: n, buf: buf}
}

// montOne is the field element whose Montgomery limbs are those of 1:
// x times it is x / R, the regular form of x's limbs.
var montOne = fr.Element{1, 0, 0, 0}

// Release returns the memory of digits no longer needed.
func (f *fixedMSM[E, PE, P, J, PJ]) Release(d msmDigits) {
	if d.buf != nil {
		f.digitBufs.Put(d.buf)
	}
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
	defer f.Release(d)
	nbTasks = max(1, min(nbTasks, f.windows))
	if nbTasks == 1 {
		return f.Sum(d, 0, f.windows)
	}
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

// Bucket states during an accumulation.
const (
	bucketEmpty   = iota // infinity
	bucketFilled         // holds a point, not in the open batch
	bucketInBatch        // holds a point and has an addition in the open batch
)

// msmScratch is the memory of one accumulation, kept in a pool between
// proofs. Only state needs clearing: a bucket's point is read only when
// its state says it holds one.
type msmScratch[E any, J any] struct {
	buckets        []affine[E]
	state          []uint8
	batchB         []int32 // the open batch: bucket, table reference
	batchR         []int32
	retryB         []int32 // additions waiting for a bucket in the batch
	retryR         []int32
	retryB2        []int32
	retryR2        []int32
	spill          []J // Jacobian buckets for what the batches cannot take
	spilled        []bool
	add            pointAdder[E]
	redAdd         pointAdder[E]
	run, tot       laneSet[E]
	src            laneSet[E]
	lane           []int
	x1, y1, x2, y2 []E
	exact          []int // lanes with equal x, and their exact sums
	exactSum       []J
}

func (f *fixedMSM[E, PE, P, J, PJ]) getScratch() *msmScratch[E, J] {
	if s, ok := f.scratch.Get().(*msmScratch[E, J]); ok {
		return s
	}
	nb := 1 << (f.c - 1)
	bs := f.batchSize()
	_, K := reduceShape(nb)
	return &msmScratch[E, J]{
		buckets: make([]affine[E], nb),
		state:   make([]uint8, nb),
		batchB:  make([]int32, 0, bs),
		batchR:  make([]int32, 0, bs),
		retryB:  make([]int32, 0, bs),
		retryR:  make([]int32, 0, bs),
		retryB2: make([]int32, 0, bs),
		retryR2: make([]int32, 0, bs),
		add:     f.g.newAdder(bs),
		redAdd:  f.g.newAdder(K),
		run:     newLaneSet[E](K),
		tot:     newLaneSet[E](K),
		src:     newLaneSet[E](K),
	}
}

// batchSize: a batch holds additions to distinct buckets, so it is kept to
// a quarter of them.
func (f *fixedMSM[E, PE, P, J, PJ]) batchSize() int {
	return max(16, min(maxBatch, (1<<(f.c-1))/4))
}

// accumulate adds the (base, window) pairs of windows [lo, hi) into
// buckets and reduces them: sum over buckets m of (m+1) * bucket[m].
func (f *fixedMSM[E, PE, P, J, PJ]) accumulate(dig []int32, n, lo, hi int) J {
	s := f.getScratch()
	defer f.scratch.Put(s)
	clear(s.state)
	s.spill, s.spilled = nil, nil
	batchSize := cap(s.batchB)
	buckets, state, table := s.buckets, s.state, f.table
	batchB, batchR := s.batchB[:0], s.batchR[:0]
	retryB, retryR := s.retryB[:0], s.retryR[:0]
	retryB2, retryR2 := s.retryB2[:0], s.retryR2[:0]

	// push never flushes: an empty bucket takes the point, a free one
	// joins the batch, a busy one (or any when the batch is full) waits in
	// retry, and when retry is full the addition is spilled.
	push := func(b, r int32) {
		switch {
		case state[b] == bucketEmpty:
			p := &table[r&refIndex]
			buckets[b] = *p
			if r < 0 {
				PE(&buckets[b].Y).Neg(&p.Y)
			}
			state[b] = bucketFilled
		case state[b] == bucketInBatch || len(batchB) == batchSize:
			if len(retryB) < batchSize {
				retryB = append(retryB, b)
				retryR = append(retryR, r)
			} else {
				f.toSpill(s, b, r)
			}
		default:
			state[b] = bucketInBatch
			batchB = append(batchB, b)
			batchR = append(batchR, r)
		}
	}
	flush := func() {
		if len(batchB) == 0 {
			return
		}
		if !s.add.addPoints(buckets, table, batchB, batchR) {
			// Rare: some addition is a doubling or cancels out. Send
			// those to the spill buckets and add the rest.
			keep := 0
			for j, b := range batchB {
				if PE(&buckets[b].X).Equal(&table[batchR[j]&refIndex].X) {
					f.toSpill(s, b, batchR[j])
					state[b] = bucketFilled
					continue
				}
				batchB[keep], batchR[keep] = b, batchR[j]
				keep++
			}
			batchB, batchR = batchB[:keep], batchR[:keep]
			if keep > 0 && !s.add.addPoints(buckets, table, batchB, batchR) {
				panic("groth16: batch addition failed without equal x")
			}
		}
		for _, b := range batchB {
			state[b] = bucketFilled
		}
		batchB, batchR = batchB[:0], batchR[:0]
	}
	// replay pushes the waiting additions again (into a fresh batch after
	// a flush); buffers alternate so the list being replayed is never the
	// one being appended to.
	replay := func() {
		rb, rr := retryB, retryR
		retryB, retryR = retryB2[:0], retryR2[:0]
		retryB2, retryR2 = rb, rr
		for j := range rb {
			push(rb[j], rr[j])
		}
	}

	stride := len(f.idx)
	for k := lo; k < hi; k++ {
		base := int32(k * stride)
		for j, d := range dig[k*n : (k+1)*n] {
			if d == 0 {
				continue
			}
			b, r := d-1, base+int32(j)
			if d < 0 {
				b, r = -d-1, r|-1<<31
			}
			if state[b] == bucketFilled && len(batchB) < batchSize {
				// push's common case, inline
				state[b] = bucketInBatch
				batchB = append(batchB, b)
				batchR = append(batchR, r)
			} else {
				push(b, r)
			}
			if len(batchB) == batchSize {
				flush()
				replay()
			}
		}
	}
	for len(batchB) > 0 || len(retryB) > 0 {
		flush()
		replay()
	}
	s.batchB, s.batchR, s.retryB, s.retryR, s.retryB2, s.retryR2 = batchB, batchR, retryB, retryR, retryB2, retryR2
	runtime.KeepAlive(f) // the table may be memory that f's cleanup unmaps
	return f.reduce(s)
}

// toSpill adds +-table[r] to the Jacobian spill bucket b.
func (f *fixedMSM[E, PE, P, J, PJ]) toSpill(s *msmScratch[E, J], b, r int32) {
	if s.spill == nil {
		nb := len(s.buckets)
		s.spill, s.spilled = make([]J, nb), make([]bool, nb)
	}
	q := f.table[r&refIndex]
	if r < 0 {
		PE(&q.Y).Neg(&q.Y)
	}
	p := f.g.join(&q.X, &q.Y)
	s.spilled[b] = true
	PJ(&s.spill[b]).AddMixed(&p)
}

// reduceShape is the chunking of the bucket reduction: K chunks of L
// buckets. Chunks long enough that the K-point Jacobian tail is small,
// short enough that each batch shares its inversion among many additions
// (chosen by benchmark on the RLN key's 4,096 and 512 buckets).
func reduceShape(nb int) (L, K int) {
	L = min(nb, 8)
	if nb >= 4096 {
		L = 32
	}
	return L, nb / L
}

// reduce returns sum over buckets m of (m+1) * bucket[m], plus the spill
// buckets likewise. The running sums are done in affine coordinates with
// batched additions: the buckets are cut into K chunks of L, and the K
// chunks' running sums advance in lock-step, each step one batch of K
// additions sharing an inversion. With chunk j's running sum R_j = sum of
// its buckets and T_j = sum over its buckets t of (t+1) * bucket[jL+t],
// the result is sum_j T_j + L * sum_j j * R_j; that last sum is over K
// points only and done in Jacobian coordinates.
func (f *fixedMSM[E, PE, P, J, PJ]) reduce(s *msmScratch[E, J]) J {
	f.foldSpills(s)
	L, K := reduceShape(len(s.buckets))
	run, tot, src := &s.run, &s.tot, &s.src
	clear(run.ok)
	clear(tot.ok)
	for t := L - 1; t >= 0; t-- {
		for j := range K {
			m := j*L + t
			src.ok[j] = s.state[m] != bucketEmpty
			if src.ok[j] {
				src.x[j], src.y[j] = s.buckets[m].X, s.buckets[m].Y
			}
		}
		f.addLanes(s, run, src)
		f.addLanes(s, tot, run)
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
func (f *fixedMSM[E, PE, P, J, PJ]) foldSpills(s *msmScratch[E, J]) {
	var idx []int
	var jac []J
	for m, sp := range s.spilled {
		if !sp {
			continue
		}
		j := s.spill[m]
		if s.state[m] != bucketEmpty {
			p := f.g.join(&s.buckets[m].X, &s.buckets[m].Y)
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
		s.state[m] = bucketEmpty
		if !f.g.isInfinity(&p) {
			s.buckets[m] = f.g.coords(&p)
			s.state[m] = bucketFilled
		}
	}
}

// laneSet is K affine points, some absent (the point at infinity).
type laneSet[E any] struct {
	x, y []E
	ok   []bool
}

func newLaneSet[E any](k int) laneSet[E] {
	return laneSet[E]{x: make([]E, k), y: make([]E, k), ok: make([]bool, k)}
}

// addLanes sets dst[j] += src[j] for every lane j. When every lane of
// both is present, one batched addition in place does it; otherwise (or
// when some pair has equal x) copies where dst is absent, one batched
// addition for the rest, and the exact group law for the pairs with
// equal x (a doubling or a cancellation). Those are rare when the buckets
// are full, but a sparse bucket set (an MSM of few points) meets one in
// most lanes: a lane's total is a copy of its running sum after the
// lane's first bucket, and doubles if the next bucket is empty.
func (f *fixedMSM[E, PE, P, J, PJ]) addLanes(s *msmScratch[E, J], dst, src *laneSet[E]) {
	full := true
	for j := range src.ok {
		if !src.ok[j] || !dst.ok[j] {
			full = false
			break
		}
	}
	if full && s.redAdd.addInPlace(dst.x, dst.y, src.x, src.y) {
		return
	}
	s.lane, s.x1, s.y1, s.x2, s.y2 = s.lane[:0], s.x1[:0], s.y1[:0], s.x2[:0], s.y2[:0]
	s.exact = s.exact[:0]
	for j := range src.ok {
		switch {
		case !src.ok[j]:
		case !dst.ok[j]:
			dst.x[j], dst.y[j], dst.ok[j] = src.x[j], src.y[j], true
		case PE(&dst.x[j]).Equal(&src.x[j]):
			s.exact = append(s.exact, j)
		default:
			s.lane = append(s.lane, j)
			s.x1, s.y1 = append(s.x1, dst.x[j]), append(s.y1, dst.y[j])
			s.x2, s.y2 = append(s.x2, src.x[j]), append(s.y2, src.y[j])
		}
	}
	f.exactAdds(s, dst, src)
	if len(s.lane) == 0 {
		return
	}
	if !s.redAdd.addInPlace(s.x1, s.y1, s.x2, s.y2) {
		panic("groth16: batch addition failed without equal x")
	}
	for k, j := range s.lane {
		dst.x[j], dst.y[j] = s.x1[k], s.y1[k]
	}
}

// exactAdds sets dst[j] += src[j] for the lanes j in s.exact with the
// Jacobian group law, and brings the sums back to affine coordinates
// together (one inversion).
func (f *fixedMSM[E, PE, P, J, PJ]) exactAdds(s *msmScratch[E, J], dst, src *laneSet[E]) {
	if len(s.exact) == 0 {
		return
	}
	sums := s.exactSum[:0]
	for _, j := range s.exact {
		p := f.g.join(&dst.x[j], &dst.y[j])
		q := f.g.join(&src.x[j], &src.y[j])
		sum := f.g.toJac(&p)
		PJ(&sum).AddMixed(&q)
		sums = append(sums, sum)
	}
	s.exactSum = sums
	for k, a := range f.g.toAffine(sums) {
		j := s.exact[k]
		dst.ok[j] = !f.g.isInfinity(&a)
		if dst.ok[j] {
			c := f.g.coords(&a)
			dst.x[j], dst.y[j] = c.X, c.Y
		}
	}
}
