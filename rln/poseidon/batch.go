package poseidon

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// batchSize is the number of permutations HashPairs runs in lock-step. The
// states are kept as one vector per state cell so that every multiplication
// is an element-wise vector operation (gnark-crypto uses AVX-512 IFMA for
// those where the CPU has it). 64 keeps the working set within L1.
const batchSize = 64

// minVector is the smallest batch worth running through the vector path;
// smaller ones use the scalar permutation.
const minVector = 8

// HashPairs sets dst[i] = Hash2(src[2i], src[2i+1]) for every i, i.e. it
// hashes adjacent pairs, which is one level of a Merkle tree. It gives the
// same results as calling Hash2 in a loop but is faster for long inputs. dst
// and src must not overlap. It panics if len(src) != 2*len(dst).
func HashPairs(dst, src []fr.Element) {
	if len(src) != 2*len(dst) {
		panic(fmt.Sprintf("poseidon.HashPairs: len(src) = %d, want 2*len(dst) = %d", len(src), 2*len(dst)))
	}
	p := paramsByWidth[3]()
	var b batchState
	for off := 0; off < len(dst); off += batchSize {
		n := min(batchSize, len(dst)-off)
		in := src[2*off : 2*(off+n)]
		if n < minVector {
			for i := 0; i < n; i++ {
				s := [maxWidth]fr.Element{1: in[2*i], 2: in[2*i+1]}
				p.permute(&s)
				dst[off+i] = s[0]
			}
			continue
		}
		b.cur = &b.bufs[0]
		b.next = &b.bufs[1]
		for i := 0; i < n; i++ {
			b.cur[0][i].SetZero()
			b.cur[1][i] = in[2*i]
			b.cur[2][i] = in[2*i+1]
		}
		b.permute(p, n)
		copy(dst[off:off+n], b.cur[0][:n])
	}
}

// batchState holds up to batchSize states in structure-of-arrays form.
// cur and next point into bufs and are swapped after each full mix.
type batchState struct {
	bufs      [2][maxWidth][batchSize]fr.Element
	tmp       [batchSize]fr.Element
	cur, next *[maxWidth][batchSize]fr.Element
}

func addConst(v fr.Vector, c *fr.Element) {
	for i := range v {
		v[i].Add(&v[i], c)
	}
}

// sboxVec sets v = v^5 element-wise, using tmp as scratch.
func sboxVec(v, tmp fr.Vector) {
	tmp.Mul(v, v)
	tmp.Mul(tmp, tmp)
	v.Mul(v, tmp)
}

// mixVec sets b.cur = m*b.cur for the first n states.
func (b *batchState) mixVec(m *matrix, t, n int) {
	tmp := fr.Vector(b.tmp[:n])
	for i := 0; i < t; i++ {
		out := fr.Vector(b.next[i][:n])
		out.ScalarMul(b.cur[0][:n], &m[i][0])
		for j := 1; j < t; j++ {
			tmp.ScalarMul(b.cur[j][:n], &m[i][j])
			out.Add(out, tmp)
		}
	}
	b.cur, b.next = b.next, b.cur
}

// permute runs the same optimised permutation as params.permute on the first
// n states; afterwards b.cur[0][:n] holds the digests.
func (b *batchState) permute(p *params, n int) {
	t := p.t
	half := fullRounds / 2
	tmp := fr.Vector(b.tmp[:n])

	fullRound := func(r int, m *matrix) {
		c := p.fullConsts[r*t : r*t+t]
		for i := 0; i < t; i++ {
			v := fr.Vector(b.cur[i][:n])
			addConst(v, &c[i])
			sboxVec(v, tmp)
		}
		if m != nil {
			b.mixVec(m, t, n)
		}
	}

	for r := 0; r < half-1; r++ {
		fullRound(r, &p.mds)
	}
	fullRound(half-1, &p.preSparse)

	s0 := fr.Vector(b.cur[0][:n])
	n0 := fr.Vector(b.next[0][:n])
	for k := range p.sparse {
		sp := &p.sparse[k]
		addConst(s0, &p.partialConsts[k])
		sboxVec(s0, tmp)
		n0.ScalarMul(s0, &sp.row[0])
		for j := 1; j < t; j++ {
			sj := fr.Vector(b.cur[j][:n])
			tmp.ScalarMul(sj, &sp.row[j])
			n0.Add(n0, tmp)
			tmp.ScalarMul(s0, &sp.col[j])
			sj.Add(sj, tmp)
		}
		s0, n0 = n0, s0
	}
	if &s0[0] != &b.cur[0][0] {
		// An odd number of partial rounds left the result in next[0].
		b.cur[0], b.next[0] = b.next[0], b.cur[0]
	}

	for r := half; r < fullRounds-1; r++ {
		fullRound(r, &p.mds)
	}
	fullRound(fullRounds-1, nil)
	// Last mix: first row only.
	m := &p.mds
	out := fr.Vector(b.next[0][:n])
	out.ScalarMul(b.cur[0][:n], &m[0][0])
	for j := 1; j < t; j++ {
		tmp.ScalarMul(b.cur[j][:n], &m[0][j])
		out.Add(out, tmp)
	}
	b.cur, b.next = b.next, b.cur
}
