package groth16

import (
	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
)

// g1Adder52 is the G1 batch addition on the radix-2^52 kernels: the pairs
// are copied into plain vectors (padded to a power of two of blocks with
// harmless additions) and converted into blocks by the kernels' in-register
// transposes, every step from the differences to the sums is a kernel
// call, including the batch inversion's product tree, and the sums are
// converted back and scattered. Only the tree's top block (8 elements) is
// inverted with scalar field operations.
type g1Adder52 struct {
	in                 []fp.Element // a batch's x1 | y1 | x2 | y2, 8 nb each
	in52               []uint64     // the same as blocks
	out                []fp.Element // its x3 | y3
	dx, inv, lam, t, e []uint64
	inverter52
}

// inverter52 is the memory of a batch inversion on the kernels: the
// product tree's levels above the input, and their inverses.
type inverter52 struct{ tree, treeInv []uint64 }

func newInverter52(nb int) inverter52 {
	return inverter52{tree: make([]uint64, nb*blockWords), treeInv: make([]uint64, nb*blockWords)}
}

// blocksFor is the number of blocks that holds n elements: a power of two.
func blocksFor(n int) int {
	nb := 1
	for nb*blockLanes < n {
		nb *= 2
	}
	return nb
}

func newG1Adder52(n int) *g1Adder52 {
	nb := blocksFor(n)
	v := func() []uint64 { return make([]uint64, nb*blockWords) }
	return &g1Adder52{
		in: make([]fp.Element, 4*nb*blockLanes), in52: make([]uint64, 4*nb*blockWords), out: make([]fp.Element, 2*nb*blockLanes),
		dx: v(), inv: v(), lam: v(), t: v(), e: v(), inverter52: newInverter52(nb),
	}
}

func (a *g1Adder52) addPoints(buckets, table []affine[fp.Element], b, ref []int32) bool {
	m := len(b)
	lanes := blocksFor(m) * blockLanes
	gatherG1(a.in[:m], a.in[lanes:lanes+m], a.in[2*lanes:2*lanes+m], a.in[3*lanes:3*lanes+m], buckets, table, b, ref)
	if !a.compute(m) {
		return false
	}
	scatterG1(buckets, b, a.out[:m], a.out[lanes:lanes+m])
	return true
}

func (a *g1Adder52) addInPlace(x1, y1, x2, y2 []fp.Element) bool {
	m := len(x1)
	lanes := blocksFor(m) * blockLanes
	copy(a.in, x1)
	copy(a.in[lanes:], y1)
	copy(a.in[2*lanes:], x2)
	copy(a.in[3*lanes:], y2)
	if !a.compute(m) {
		return false
	}
	copy(x1, a.out[:m])
	copy(y1, a.out[lanes:lanes+m])
	return true
}

// padOne is a non-zero x difference for the padding lanes.
var padOne = fp.Element{1}

// compute turns the m gathered additions into x3 | y3 in out:
// lambda = (y2 - y1) / (x2 - x1), x3 = lambda^2 - x1 - x2, y3 = lambda
// (x1 - x3) - y1.
func (a *g1Adder52) compute(m int) bool {
	nb := blocksFor(m)
	lanes := nb * blockLanes
	for i := m; i < lanes; i++ {
		a.in[i], a.in[lanes+i], a.in[2*lanes+i], a.in[3*lanes+i] = fp.Element{}, fp.Element{}, padOne, fp.Element{}
	}
	in := a.in52[:4*nb*blockWords]
	elemsTo52(in, a.in[:4*lanes])
	x1, y1, x2, y2 := blocks(in, 0, nb), blocks(in, nb, 2*nb), blocks(in, 2*nb, 3*nb), blocks(in, 3*nb, 4*nb)
	dx, inv, lam, t, e := blocks(a.dx, 0, nb), blocks(a.inv, 0, nb), blocks(a.lam, 0, nb), blocks(a.t, 0, nb), blocks(a.e, 0, nb)
	vecSub52(dx, x2, x1)
	if !a.invert(inv, dx, nb) {
		return false
	}
	vecSub52(lam, y2, y1)
	vecMul52(lam, lam, inv)
	vecMul52(t, lam, lam)
	vecSub52(t, t, x1)
	vecSub52(t, t, x2)
	vecSub52(e, x1, t)
	vecMul52(e, lam, e)
	vecSub52(e, e, y1)
	elemsFrom52(a.out[:lanes], t)
	elemsFrom52(a.out[lanes:2*lanes], e)
	return true
}

// invert sets inv = 1/d for nb blocks (a power of two); false when some
// element is zero. Up the tree, level k+1 is the low half of level k
// times its high half, down to one block, whose 8 elements are inverted
// with one field inversion; going down, a half's inverse is its parent's
// inverse times the other half.
func (a *inverter52) invert(inv, d []uint64, nb int) bool {
	var offs [32]int // level k+1 at tree[offs[k]:], of nb>>(k+1) blocks
	levels, off, cur := 0, 0, d
	for n := nb; n > 1; n /= 2 {
		h := n / 2
		next := blocks(a.tree, off, off+h)
		vecMul52(next, blocks(cur, 0, h), blocks(cur, h, n))
		offs[levels] = off
		levels++
		off += h
		cur = next
	}
	topInv := inv
	if levels > 0 {
		topInv = blocks(a.treeInv, offs[levels-1], offs[levels-1]+1)
	}
	if !invertBlock(topInv, cur) {
		return false
	}
	for k := levels - 1; k >= 0; k-- {
		n := nb >> k // blocks of level k
		vals, out := d, inv
		if k > 0 {
			vals, out = blocks(a.tree, offs[k-1], offs[k-1]+n), blocks(a.treeInv, offs[k-1], offs[k-1]+n)
		}
		up := blocks(a.treeInv, offs[k], offs[k]+n/2)
		vecMul52(blocks(out, 0, n/2), up, blocks(vals, n/2, n))
		vecMul52(blocks(out, n/2, n), up, blocks(vals, 0, n/2))
	}
	return true
}

// invertBlock sets the 8 lanes of out to the inverses of those of in,
// with one field inversion; false when one of them is zero.
func invertBlock(out, in []uint64) bool {
	var e, pre [blockLanes]fp.Element
	var acc fp.Element
	acc.SetOne()
	for l := range blockLanes {
		get52(in, l, &e[l])
		pre[l] = acc
		acc.Mul(&acc, &e[l])
	}
	if acc.IsZero() {
		return false
	}
	acc.Inverse(&acc)
	for l := blockLanes - 1; l >= 0; l-- {
		var x fp.Element
		x.Mul(&acc, &pre[l])
		acc.Mul(&acc, &e[l])
		put52(out, l, &x)
	}
	return true
}

// g2Adder52 is the G2 batch addition on the kernels, with the E2
// coordinates as their two base field components: 1/d for d = d0 + d1 u
// (u^2 = -1) is (d0 - d1 u) / N with N = d0^2 + d1^2, so the batch inverts
// the norms.
type g2Adder52 struct {
	in   []fp.Element // x1 | y1 | x2 | y2 by component (x1.A0, x1.A1, ...): 8 operands of 8 nb
	in52 []uint64     // the same as blocks
	out  []fp.Element // x3.A0 | x3.A1 | y3.A0 | y3.A1
	work []uint64     // 12 operands of nb blocks
	inverter52
}

func newG2Adder52(n int) *g2Adder52 {
	nb := blocksFor(n)
	return &g2Adder52{
		in: make([]fp.Element, 8*nb*blockLanes), in52: make([]uint64, 8*nb*blockWords),
		out: make([]fp.Element, 4*nb*blockLanes), work: make([]uint64, 12*nb*blockWords),
		inverter52: newInverter52(nb),
	}
}

// put stores addition i: (x1, y1) + (x2, +-y2), on a batch of lanes lanes.
func (a *g2Adder52) put(i, lanes int, x1, y1, x2, y2 *bn254.E2, neg bool) {
	in := a.in
	in[i], in[lanes+i] = x1.A0, x1.A1
	in[2*lanes+i], in[3*lanes+i] = y1.A0, y1.A1
	in[4*lanes+i], in[5*lanes+i] = x2.A0, x2.A1
	if neg {
		in[6*lanes+i].Neg(&y2.A0)
		in[7*lanes+i].Neg(&y2.A1)
	} else {
		in[6*lanes+i], in[7*lanes+i] = y2.A0, y2.A1
	}
}

// get reads sum i.
func (a *g2Adder52) get(i, lanes int, x, y *bn254.E2) {
	out := a.out
	x.A0, x.A1 = out[i], out[lanes+i]
	y.A0, y.A1 = out[2*lanes+i], out[3*lanes+i]
}

func (a *g2Adder52) addPoints(buckets, table []affine[bn254.E2], b, ref []int32) bool {
	ref = ref[:len(b)]
	lanes := blocksFor(len(b)) * blockLanes
	for i, bi := range b {
		q := &buckets[bi]
		r := ref[i]
		p := &table[r&refIndex]
		a.put(i, lanes, &q.X, &q.Y, &p.X, &p.Y, r < 0)
	}
	if !a.compute(len(b)) {
		return false
	}
	for i, bi := range b {
		q := &buckets[bi]
		a.get(i, lanes, &q.X, &q.Y)
	}
	return true
}

func (a *g2Adder52) addInPlace(x1, y1, x2, y2 []bn254.E2) bool {
	lanes := blocksFor(len(x1)) * blockLanes
	for i := range x1 {
		a.put(i, lanes, &x1[i], &y1[i], &x2[i], &y2[i], false)
	}
	if !a.compute(len(x1)) {
		return false
	}
	for i := range x1 {
		a.get(i, lanes, &x1[i], &y1[i])
	}
	return true
}

// compute turns the m gathered additions into the sums in out: lambda =
// dy / dx, x3 = lambda^2 - x1 - x2, y3 = lambda (x1 - x3) - y1, in E2.
func (a *g2Adder52) compute(m int) bool {
	nb := blocksFor(m)
	lanes := nb * blockLanes
	for i := m; i < lanes; i++ { // padding: x2 - x1 = 1
		for k := range 8 {
			a.in[k*lanes+i] = fp.Element{}
		}
		a.in[4*lanes+i] = padOne
	}
	in := a.in52[:8*nb*blockWords]
	elemsTo52(in, a.in[:8*lanes])
	op := func(v []uint64, k int) []uint64 { return blocks(v, k*nb, (k+1)*nb) }
	x10, x11, y10, y11, x20, x21, y20, y21 := op(in, 0), op(in, 1), op(in, 2), op(in, 3), op(in, 4), op(in, 5), op(in, 6), op(in, 7)
	w := a.work
	dx0, dx1, dy0, dy1, sx0, sx1 := op(w, 0), op(w, 1), op(w, 2), op(w, 3), op(w, 4), op(w, 5)
	nrm, inv, t0, t1, t2, t3 := op(w, 6), op(w, 7), op(w, 8), op(w, 9), op(w, 10), op(w, 11)
	vecSub52(dx0, x20, x10)
	vecSub52(dx1, x21, x11)
	vecSub52(dy0, y20, y10)
	vecSub52(dy1, y21, y11)
	vecAdd52(sx0, x20, x10)
	vecAdd52(sx1, x21, x11)
	vecMul52(nrm, dx0, dx0)
	vecMul52(t0, dx1, dx1)
	vecAdd52(nrm, nrm, t0)
	if !a.invert(inv, nrm, nb) {
		return false
	}
	// 1/dx = (t0 - t1 u) with t0 = dx0 / N, t1 = dx1 / N.
	vecMul52(t0, dx0, inv)
	vecMul52(t1, dx1, inv)
	// lambda = (dy0 t0 + dy1 t1) + (dy1 t0 - dy0 t1) u, into (dx0, dx1).
	vecMul52(t2, dy0, t0)
	vecMul52(t3, dy1, t1)
	vecAdd52(dx0, t2, t3)
	vecMul52(t2, dy1, t0)
	vecMul52(t3, dy0, t1)
	vecSub52(dx1, t2, t3)
	// lambda^2 = (l0 + l1)(l0 - l1) + 2 l0 l1 u; x3 = lambda^2 - (x1 + x2), into (sx0, sx1).
	vecAdd52(t0, dx0, dx1)
	vecSub52(t1, dx0, dx1)
	vecMul52(t2, t0, t1)
	vecMul52(t3, dx0, dx1)
	vecAdd52(t3, t3, t3)
	vecSub52(sx0, t2, sx0)
	vecSub52(sx1, t3, sx1)
	// y3 = lambda (x1 - x3) - y1 = (l0 e0 - l1 e1 - y10) + (l0 e1 + l1 e0 - y11) u.
	e0, e1 := dy0, dy1 // free now
	vecSub52(e0, x10, sx0)
	vecSub52(e1, x11, sx1)
	vecMul52(t2, dx0, e0)
	vecMul52(t3, dx1, e1)
	vecSub52(t0, t2, t3)
	vecSub52(t0, t0, y10)
	vecMul52(t2, dx0, e1)
	vecMul52(t3, dx1, e0)
	vecAdd52(t1, t2, t3)
	vecSub52(t1, t1, y11)
	out := a.out
	elemsFrom52(out[:lanes], sx0)
	elemsFrom52(out[lanes:2*lanes], sx1)
	elemsFrom52(out[2*lanes:3*lanes], t0)
	elemsFrom52(out[3*lanes:4*lanes], t1)
	return true
}
