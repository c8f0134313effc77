package groth16

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
)

// g1Adder52 is the G1 batch addition on the radix-2^52 kernels: the pairs
// are copied into 64-bit block vectors (padded to a power of two of blocks
// with harmless additions) and converted, every step from the differences
// to the sums is a kernel call, including the batch inversion's product
// tree, and the sums are converted back and scattered. Only the tree's top
// block (8 elements) is inverted with scalar field operations.
type g1Adder52 struct {
	in64, in52                        []uint64 // a batch's x1 | y1 | x2 | y2, nb blocks each
	out64                             []uint64 // its x3 | y3
	dx, inv, lam, t, e, tree, treeInv []uint64 // tree: the levels above dx, treeInv their inverses
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
		in64: make([]uint64, 4*nb*wideWords), in52: make([]uint64, 4*nb*blockWords), out64: make([]uint64, 2*nb*wideWords),
		dx: v(), inv: v(), lam: v(), t: v(), e: v(), tree: v(), treeInv: v(),
	}
}

func (a *g1Adder52) addPoints(buckets, table []affine[fp.Element], b, ref []int32) bool {
	ref = ref[:len(b)]
	lanes := blocksFor(len(b)) * blockLanes
	in := a.in64
	for i, bi := range b {
		q := &buckets[bi]
		r := ref[i]
		p := &table[r&refIndex]
		put64(in, i, &q.X)
		put64(in, lanes+i, &q.Y)
		put64(in, 2*lanes+i, &p.X)
		if r < 0 {
			var ny fp.Element
			ny.Neg(&p.Y)
			put64(in, 3*lanes+i, &ny)
		} else {
			put64(in, 3*lanes+i, &p.Y)
		}
	}
	if !a.compute(len(b)) {
		return false
	}
	out := a.out64
	for i, bi := range b {
		q := &buckets[bi]
		get64(out, i, &q.X)
		get64(out, lanes+i, &q.Y)
	}
	return true
}

func (a *g1Adder52) addInPlace(x1, y1, x2, y2 []fp.Element) bool {
	lanes := blocksFor(len(x1)) * blockLanes
	in := a.in64
	for i := range x1 {
		put64(in, i, &x1[i])
		put64(in, lanes+i, &y1[i])
		put64(in, 2*lanes+i, &x2[i])
		put64(in, 3*lanes+i, &y2[i])
	}
	if !a.compute(len(x1)) {
		return false
	}
	out := a.out64
	for i := range x1 {
		get64(out, i, &x1[i])
		get64(out, lanes+i, &y1[i])
	}
	return true
}

// padOne is a non-zero x difference for the padding lanes.
var padOne = fp.Element{1}

// compute turns the m gathered additions into the 64-bit x3 | y3:
// lambda = (y2 - y1) / (x2 - x1), x3 = lambda^2 - x1 - x2, y3 = lambda
// (x1 - x3) - y1.
func (a *g1Adder52) compute(m int) bool {
	nb := blocksFor(m)
	lanes := nb * blockLanes
	var zero fp.Element
	for i := m; i < lanes; i++ {
		put64(a.in64, i, &zero)
		put64(a.in64, lanes+i, &zero)
		put64(a.in64, 2*lanes+i, &padOne)
		put64(a.in64, 3*lanes+i, &zero)
	}
	in := a.in52[:4*nb*blockWords]
	vecTo52(in, a.in64[:4*nb*wideWords])
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
	vecFrom52(a.out64[:nb*wideWords], t)
	vecFrom52(a.out64[nb*wideWords:2*nb*wideWords], e)
	return true
}

// invert sets inv = 1/d for nb blocks (a power of two); false when some
// element is zero. Up the tree, level k+1 is the low half of level k
// times its high half, down to one block, whose 8 elements are inverted
// with one field inversion; going down, a half's inverse is its parent's
// inverse times the other half.
func (a *g1Adder52) invert(inv, d []uint64, nb int) bool {
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
