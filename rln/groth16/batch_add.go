package groth16

import (
	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
)

// pointAdder does affine additions in batches that share one field
// inversion. Both methods return false and change nothing when some
// addition has equal x coordinates (a doubling or a cancellation, which
// the affine formula cannot do).
type pointAdder[E any] interface {
	// addPoints sets buckets[b[i]] += table[ref[i]] for every i, negating
	// the table point when ref[i] < 0 (the index is ref[i] & refIndex).
	// The b[i] are distinct.
	addPoints(buckets, table []affine[E], b, ref []int32) bool
	// addInPlace sets (x1[i], y1[i]) += (x2[i], y2[i]) for every i.
	addInPlace(x1, y1, x2, y2 []E) bool
}

// refIndex masks the sign bit off a table reference.
const refIndex = 1<<31 - 1

// lanes is the width of gnark-crypto's vector multiplication blocks
// (AVX-512 IFMA where the CPU has it).
const lanes = 8

// fpInverter inverts a vector of base field elements with one field
// inversion (Montgomery's trick), every multiplication a vector
// operation. While the vector splits into two halves of whole lanes it
// goes up a product tree of contiguous halves (level k+1 = low half times
// high half of level k), whose long vector products keep the multiplier
// busy; the top level (8 lanes, or an odd number of rows of 8) is done by
// 8 interleaved chains. Going back down, the inverse of a product gives
// each half's inverse as it times the other half.
type fpInverter struct {
	tree, treeInv    fp.Vector // the levels above the input, and their inverses
	prefix           fp.Vector // the chains' running products
	laneIn, laneNext fp.Vector
}

func newFpInverter(n int) fpInverter {
	return fpInverter{
		tree: make(fp.Vector, n), treeInv: make(fp.Vector, n), prefix: make(fp.Vector, n),
		laneIn: make(fp.Vector, lanes), laneNext: make(fp.Vector, lanes),
	}
}

// invert sets inv[i] = 1/d[i]; len(d) = len(inv) is a multiple of lanes
// and at most the inverter's size. It returns false, leaving inv
// unspecified, when some d[i] is zero.
func (v *fpInverter) invert(inv, d fp.Vector) bool {
	// levels[k] is level k+1 of the tree: tree[off : off+len].
	var levels [32]struct{ off, n int }
	nl, off, cur := 0, 0, d
	for len(cur) > lanes && len(cur)%(2*lanes) == 0 {
		h := len(cur) / 2
		next := v.tree[off : off+h]
		next.Mul(cur[:h], cur[h:])
		levels[nl].off, levels[nl].n = off, h
		nl++
		off += h
		cur = next
	}
	if nl == 0 {
		return v.invertRows(inv, d)
	}
	top := levels[nl-1]
	if !v.invertRows(v.treeInv[top.off:top.off+top.n], cur) {
		return false
	}
	for k := nl - 1; k >= 0; k-- {
		vals, out := d, inv // level k, and where its inverses go
		if k > 0 {
			l := levels[k-1]
			vals, out = v.tree[l.off:l.off+l.n], v.treeInv[l.off:l.off+l.n]
		}
		l := levels[k]
		up := v.treeInv[l.off : l.off+l.n]
		h := len(vals) / 2
		lo, hi := out[:h], out[h:]
		lo.Mul(up, vals[h:])
		hi.Mul(up, vals[:h])
	}
	return true
}

// invertRows is invert by 8 interleaved Montgomery chains (row r holds
// elements 8r..8r+7) whose 8 totals share one field inversion.
func (v *fpInverter) invertRows(inv, d fp.Vector) bool {
	rows := len(d) / lanes
	prefix := v.prefix[:len(d)]
	// prefix row r = d row 0 * ... * d row r, lane by lane.
	copy(prefix[:lanes], d[:lanes])
	for r := 1; r < rows; r++ {
		row := prefix[r*lanes : (r+1)*lanes]
		row.Mul(prefix[(r-1)*lanes:r*lanes], d[r*lanes:(r+1)*lanes])
	}
	// Invert the eight lane totals with one inversion.
	top := prefix[(rows-1)*lanes:]
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
	laneIn, laneNext := v.laneIn, v.laneNext
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
	return true
}

// roundUp rounds n up to a multiple of lanes.
func roundUp(n int) int { return (n + lanes - 1) / lanes * lanes }

// g1Adder is the G1 batch addition: the pairs are gathered into vectors,
// then lambda = (y2 - y1) / (x2 - x1), x3 = lambda^2 - x1 - x2 and y3 =
// lambda (x1 - x3) - y1 are computed with vector operations only (which
// beat gnark-crypto's scalar Add and Sub, not inlined, even for the
// subtractions), and the sums are scattered back.
type g1Adder struct {
	x1, y1, x2, y2, dx, dy, inv, t fp.Vector
	inverter                       fpInverter
}

func newG1Adder(n int) pointAdder[fp.Element] {
	if have52 {
		return newG1Adder52(n)
	}
	return newG1AdderVec(n)
}

// newG1AdderVec is the batch addition on gnark-crypto's vector operations,
// where the radix-2^52 kernels are not available.
func newG1AdderVec(n int) *g1Adder {
	n = roundUp(n)
	v := func() fp.Vector { return make(fp.Vector, n) }
	return &g1Adder{
		x1: v(), y1: v(), x2: v(), y2: v(), dx: v(), dy: v(), inv: v(), t: v(),
		inverter: newFpInverter(n),
	}
}

func (a *g1Adder) addPoints(buckets, table []affine[fp.Element], b, ref []int32) bool {
	m := len(b)
	gatherG1(a.x1[:m], a.y1[:m], a.x2[:m], a.y2[:m], buckets, table, b, ref)
	if !a.compute(m) {
		return false
	}
	scatterG1(buckets, b, a.x1[:m], a.y1[:m])
	return true
}

// gatherG1 copies the batch's additions, buckets[b[i]] + table[ref[i]]
// (the table point negated where ref[i] < 0), into x1, y1, x2, y2 (each
// len(b) long: local slices, so the loop has no bounds checks).
func gatherG1(x1, y1, x2, y2 []fp.Element, buckets, table []affine[fp.Element], b, ref []int32) {
	ref = ref[:len(b)]
	for i, bi := range b {
		q := &buckets[bi]
		r := ref[i]
		p := &table[r&refIndex]
		x1[i] = q.X
		y1[i] = q.Y
		x2[i] = p.X
		if r < 0 {
			y2[i].Neg(&p.Y)
		} else {
			y2[i] = p.Y
		}
	}
}

// scatterG1 writes the batch's sums back into their buckets.
func scatterG1(buckets []affine[fp.Element], b []int32, x3, y3 []fp.Element) {
	for i, bi := range b {
		q := &buckets[bi]
		q.X = x3[i]
		q.Y = y3[i]
	}
}

func (a *g1Adder) addInPlace(x1, y1, x2, y2 []fp.Element) bool {
	m := len(x1)
	copy(a.x1[:m], x1)
	copy(a.y1[:m], y1)
	copy(a.x2[:m], x2)
	copy(a.y2[:m], y2)
	if !a.compute(m) {
		return false
	}
	copy(x1, a.x1[:m])
	copy(y1, a.y1[:m])
	return true
}

// compute replaces the gathered (x1, y1) with the m sums.
func (a *g1Adder) compute(m int) bool {
	mp := roundUp(m)
	dx := a.dx[:m]
	dx.Sub(a.x2[:m], a.x1[:m])
	for i := m; i < mp; i++ {
		a.dx[i].SetOne() // padding: inverts to 1, unused
	}
	if !a.inverter.invert(a.inv[:mp], a.dx[:mp]) {
		return false
	}
	x1, y1, x2, y2, dy, inv, t := a.x1[:m], a.y1[:m], a.x2[:m], a.y2[:m], a.dy[:m], a.inv[:m], a.t[:m]
	dy.Sub(y2, y1)
	dy.Mul(dy, inv) // lambda
	t.Mul(dy, dy)
	t.Sub(t, x1)
	t.Sub(t, x2) // x3
	x2.Sub(x1, t)
	x2.Mul(x2, dy)
	y1.Sub(x2, y1)
	copy(x1, t)
	return true
}

// g2Adder is the G2 batch addition, with the E2 coordinates split into
// their two base field components so that every multiplication is a
// vector operation. 1/d for d = d0 + d1 u (u^2 = -1) is (d0 - d1 u) / N
// with N = d0^2 + d1^2 in the base field, so the batch inverts the norms.
type g2Adder struct {
	x10, x11, y10, y11, dx0, dx1, dy0, dy1, sx0, sx1 fp.Vector
	n, inv, t0, t1, t2, t3                           fp.Vector
	inverter                                         fpInverter
}

func newG2Adder(n int) pointAdder[bn254.E2] {
	if have52 {
		return newG2Adder52(n)
	}
	return newG2AdderVec(n)
}

// newG2AdderVec is the G2 batch addition on gnark-crypto's vector
// operations, where the radix-2^52 kernels are not available.
func newG2AdderVec(n int) *g2Adder {
	n = roundUp(n)
	v := func() fp.Vector { return make(fp.Vector, n) }
	return &g2Adder{
		x10: v(), x11: v(), y10: v(), y11: v(), dx0: v(), dx1: v(), dy0: v(), dy1: v(), sx0: v(), sx1: v(),
		n: v(), inv: v(), t0: v(), t1: v(), t2: v(), t3: v(),
		inverter: newFpInverter(n),
	}
}

func (a *g2Adder) addPoints(buckets, table []affine[bn254.E2], b, ref []int32) bool {
	for i, bi := range b {
		q := &buckets[bi]
		r := ref[i]
		p := &table[r&refIndex]
		a.gather(i, &q.X, &q.Y, &p.X, &p.Y, r < 0)
	}
	if !a.compute(len(b)) {
		return false
	}
	for i, bi := range b {
		a.result(i, &buckets[bi].X, &buckets[bi].Y)
	}
	return true
}

func (a *g2Adder) addInPlace(x1, y1, x2, y2 []bn254.E2) bool {
	for i := range x1 {
		a.gather(i, &x1[i], &y1[i], &x2[i], &y2[i], false)
	}
	if !a.compute(len(x1)) {
		return false
	}
	for i := range x1 {
		a.result(i, &x1[i], &y1[i])
	}
	return true
}

// gather stores addition i: (x1, y1) + (x2, +-y2).
func (a *g2Adder) gather(i int, x1, y1, x2, y2 *bn254.E2, neg bool) {
	a.x10[i], a.x11[i] = x1.A0, x1.A1
	a.y10[i], a.y11[i] = y1.A0, y1.A1
	a.dx0[i].Sub(&x2.A0, &x1.A0)
	a.dx1[i].Sub(&x2.A1, &x1.A1)
	a.sx0[i].Add(&x2.A0, &x1.A0)
	a.sx1[i].Add(&x2.A1, &x1.A1)
	if neg {
		a.dy0[i].Add(&y2.A0, &y1.A0)
		a.dy0[i].Neg(&a.dy0[i])
		a.dy1[i].Add(&y2.A1, &y1.A1)
		a.dy1[i].Neg(&a.dy1[i])
	} else {
		a.dy0[i].Sub(&y2.A0, &y1.A0)
		a.dy1[i].Sub(&y2.A1, &y1.A1)
	}
}

// result writes addition i's sum: x3 is in sx, lambda (x1 - x3) in t0, t1.
func (a *g2Adder) result(i int, x, y *bn254.E2) {
	x.A0, x.A1 = a.sx0[i], a.sx1[i]
	y.A0.Sub(&a.t0[i], &a.y10[i])
	y.A1.Sub(&a.t1[i], &a.y11[i])
}

// compute turns the gathered m additions into sx = x3 and t0 + t1 u =
// lambda (x1 - x3).
func (a *g2Adder) compute(m int) bool {
	mp := roundUp(m)
	// N = dx0^2 + dx1^2; the padding inverts to 1, unused.
	n, t0, t1, t2, t3 := a.n[:mp], a.t0[:m], a.t1[:m], a.t2[:m], a.t3[:m]
	dx0, dx1, dy0, dy1 := a.dx0[:m], a.dx1[:m], a.dy0[:m], a.dy1[:m]
	nm := n[:m]
	nm.Mul(dx0, dx0)
	t0.Mul(dx1, dx1)
	nm.Add(nm, t0)
	for i := m; i < mp; i++ {
		n[i].SetOne()
	}
	if !a.inverter.invert(a.inv[:mp], n) {
		return false
	}
	inv := a.inv[:m]
	// 1/dx = (dx0 - dx1 u) / N, kept as (t0, -t1).
	t0.Mul(dx0, inv)
	t1.Mul(dx1, inv)
	// lambda = dy / dx = (dy0 + dy1 u)(t0 - t1 u)
	//        = (dy0 t0 + dy1 t1) + (dy1 t0 - dy0 t1) u, into (dx0, dx1).
	t2.Mul(dy0, t0)
	t3.Mul(dy1, t1)
	dx0.Add(t2, t3)
	t2.Mul(dy1, t0)
	t3.Mul(dy0, t1)
	dx1.Sub(t2, t3)
	// lambda^2 = (l0 + l1)(l0 - l1) + 2 l0 l1 u; x3 = lambda^2 - (x1 + x2).
	t0.Add(dx0, dx1)
	t1.Sub(dx0, dx1)
	t2.Mul(t0, t1)
	t3.Mul(dx0, dx1)
	t3.Add(t3, t3)
	sx0, sx1 := a.sx0[:m], a.sx1[:m]
	sx0.Sub(t2, sx0)
	sx1.Sub(t3, sx1)
	// lambda (x1 - x3) = (l0 + l1 u)(e0 + e1 u)
	//                  = (l0 e0 - l1 e1) + (l0 e1 + l1 e0) u.
	e0, e1 := dy0, dy1 // free now
	e0.Sub(a.x10[:m], sx0)
	e1.Sub(a.x11[:m], sx1)
	t2.Mul(dx0, e0)
	t3.Mul(dx1, e1)
	t0.Sub(t2, t3)
	t2.Mul(dx0, e1)
	t3.Mul(dx1, e0)
	t1.Add(t2, t3)
	return true
}
