package merkle

import (
	"math/big"
	"slices"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// referenceFold recomputes a root from a proof with go-iden3-crypto,
// following the circuit's path convention.
func referenceFold(tb testing.TB, leaf fr.Element, p Proof) fr.Element {
	cur := leaf.BigInt(new(big.Int))
	for h, sib := range p.PathElements {
		s := sib.BigInt(new(big.Int))
		if p.PathIndices[h] == 0 {
			cur = iden3Hash2(tb, cur, s)
		} else {
			cur = iden3Hash2(tb, s, cur)
		}
	}
	var out fr.Element
	out.SetBigInt(cur)
	return out
}

func TestProofs(t *testing.T) {
	t.Parallel()
	rng := newTestRand(21)
	const depth = 7
	tr := mustNew(t, depth)
	leaves := randLeaves(rng, 90)
	if _, err := tr.AppendBatch(leaves); err != nil {
		t.Fatal(err)
	}
	if err := tr.Set(10, fr.Element{}); err != nil { // an erased member
		t.Fatal(err)
	}
	root := tr.Root()

	// Every slot, used or not, has a verifying proof for its current leaf.
	for i := uint64(0); i < tr.Capacity(); i++ {
		p, err := tr.Proof(i)
		if err != nil {
			t.Fatalf("Proof(%d): %v", i, err)
		}
		if p.Index != i || len(p.PathElements) != depth || len(p.PathIndices) != depth {
			t.Fatalf("Proof(%d): index %d, %d elements, %d indices", i, p.Index, len(p.PathElements), len(p.PathIndices))
		}
		for h, b := range p.PathIndices {
			if uint64(b) != i>>h&1 {
				t.Fatalf("Proof(%d).PathIndices[%d] = %d, want bit %d of the index", i, h, b, h)
			}
		}
		leaf, err := tr.Leaf(i)
		if err != nil {
			t.Fatal(err)
		}
		if !VerifyProof(root, leaf, p) {
			t.Fatalf("proof of leaf %d does not verify", i)
		}
		if got := ComputeRoot(leaf, p); !got.Equal(&root) {
			t.Fatalf("ComputeRoot(leaf %d) = %s, want %s", i, got.String(), root.String())
		}
		if i%16 == 3 {
			if ref := referenceFold(t, leaf, p); !ref.Equal(&root) {
				t.Fatalf("reference fold of proof %d = %s, want root %s", i, ref.String(), root.String())
			}
		}
	}

	p, _ := tr.Proof(37)
	leaf, _ := tr.Leaf(37)
	var one fr.Element
	one.SetOne()
	mutations := []struct {
		name string
		leaf fr.Element
		edit func(p *Proof)
	}{
		{"wrong leaf", leaves[36], nil},
		{"leaf plus one", *new(fr.Element).Add(&leaf, &one), nil},
		{"changed element 0", leaf, func(p *Proof) { p.PathElements[0].Add(&p.PathElements[0], &one) }},
		{"changed top element", leaf, func(p *Proof) { p.PathElements[depth-1].SetZero() }},
		{"flipped index bit", leaf, func(p *Proof) { p.PathIndices[2] ^= 1 }},
		{"index disagrees with bits", leaf, func(p *Proof) { p.Index = 36 }},
		{"index beyond depth", leaf, func(p *Proof) { p.Index |= 1 << depth }},
		{"index value 2", leaf, func(p *Proof) { p.PathIndices[0] = 2 }},
		{"short indices", leaf, func(p *Proof) { p.PathIndices = p.PathIndices[:depth-1] }},
		{"short path", leaf, func(p *Proof) {
			p.PathElements = p.PathElements[:depth-1]
			p.PathIndices = p.PathIndices[:depth-1]
		}},
		{"empty proof", leaf, func(p *Proof) { *p = Proof{} }},
	}
	for _, m := range mutations {
		q := Proof{Index: p.Index, PathElements: slices.Clone(p.PathElements), PathIndices: slices.Clone(p.PathIndices)}
		if m.edit != nil {
			m.edit(&q)
		}
		if VerifyProof(root, m.leaf, q) {
			t.Errorf("%s: proof still verifies", m.name)
		}
	}
	var otherRoot fr.Element
	otherRoot.Add(&root, &one)
	if VerifyProof(otherRoot, leaf, p) {
		t.Errorf("proof verifies against a different root")
	}
}
