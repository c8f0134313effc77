package merkle

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/rlnd/rlnd/rln/poseidon"
)

// Proof is a Merkle path in the RLN circuit's convention: PathElements[i] is
// the sibling at level i (0 = leaf level) and PathIndices[i] is bit i of
// Index: 0 if the path node at level i is a left child (parent =
// H(node, sibling)), 1 if it is a right child (parent = H(sibling, node)).
// Both slices have one entry per level.
type Proof struct {
	Index        uint64
	PathElements []fr.Element
	PathIndices  []uint8
}

// Proof returns the Merkle path of leaf i (i < Capacity; an unused leaf has
// a valid path for the value 0).
func (t *Tree) Proof(i uint64) (Proof, error) {
	if err := t.checkIndex(i); err != nil {
		return Proof{}, err
	}
	p := Proof{
		Index:        i,
		PathElements: make([]fr.Element, t.depth),
		PathIndices:  make([]uint8, t.depth),
	}
	for h := 0; h < t.depth; h++ {
		p.PathElements[h] = t.levels[h].get(i ^ 1)
		p.PathIndices[h] = uint8(i & 1)
		i >>= 1
	}
	return p, nil
}

// ComputeRoot folds leaf up the path: at level i it hashes with
// PathElements[i] on the side given by PathIndices[i] (any non-zero value
// means the node is the right child; a missing entry means left).
func ComputeRoot(leaf fr.Element, p Proof) fr.Element {
	cur := leaf
	for h := range p.PathElements {
		if h < len(p.PathIndices) && p.PathIndices[h] != 0 {
			cur = poseidon.Hash2(p.PathElements[h], cur)
		} else {
			cur = poseidon.Hash2(cur, p.PathElements[h])
		}
	}
	return cur
}

// VerifyProof reports whether p proves that leaf is in the tree with the
// given root. Besides the hashes it checks that the proof is well formed:
// 1..MaxDepth levels, as many indices as elements, every index 0 or 1 and
// equal to the matching bit of p.Index, and p.Index below 1<<levels.
func VerifyProof(root, leaf fr.Element, p Proof) bool {
	depth := len(p.PathElements)
	if depth < MinDepth || depth > MaxDepth || len(p.PathIndices) != depth {
		return false
	}
	if p.Index>>uint(depth) != 0 {
		return false
	}
	for h, b := range p.PathIndices {
		if uint64(b) != p.Index>>uint(h)&1 {
			return false
		}
	}
	got := ComputeRoot(leaf, p)
	return got.Equal(&root)
}
