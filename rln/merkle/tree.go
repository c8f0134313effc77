// Package merkle implements the append-mostly Poseidon Merkle tree that holds
// the RLN membership set.
//
// Leaves are BN254 scalar field elements, the empty leaf is 0 and an inner
// node is poseidon.Hash2(left, right), as in the RLN circuits (which use depth
// 20). Only the occupied part of the tree is stored; empty subtrees are
// represented by precomputed zero hashes.
//
// A Tree is not safe for concurrent mutation: Append, AppendBatch, Set and
// SetBatch must not run concurrently with each other or with any other
// method. Read-only methods (Root, Leaf, Proof, RecentRoots, WriteSnapshot,
// ...) may run concurrently with each other.
package merkle

import (
	"errors"
	"fmt"
	"slices"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/rlnd/rlnd/rln/poseidon"
)

var (
	// ErrFull is returned when an append does not fit in the tree.
	ErrFull = errors.New("merkle: tree is full")
	// ErrIndexOutOfRange is returned for a leaf index >= Capacity.
	ErrIndexOutOfRange = errors.New("merkle: leaf index out of range")
	// ErrCorruptSnapshot is returned when a snapshot is truncated, fails
	// its checksum or is otherwise inconsistent.
	ErrCorruptSnapshot = errors.New("merkle: corrupt snapshot")
	// ErrInvalidArgument is returned for a bad depth, option or batch.
	ErrInvalidArgument = errors.New("merkle: invalid argument")
)

const (
	// MinDepth and MaxDepth bound the depth accepted by New.
	MinDepth = 1
	MaxDepth = 32
	// DefaultRootHistory is the number of roots remembered by default.
	DefaultRootHistory = 50
	// MaxRootHistory is the largest root history WithRootHistory accepts.
	MaxRootHistory = 1 << 16
)

// Option configures New.
type Option func(*config)

type config struct {
	rootHistory int
}

// WithRootHistory sets how many recent roots the tree remembers
// (1..MaxRootHistory, default DefaultRootHistory).
func WithRootHistory(n int) Option {
	return func(c *config) { c.rootHistory = n }
}

// Tree is a fixed-depth Poseidon Merkle tree. See the package documentation
// for its concurrency rules.
type Tree struct {
	depth   int
	next    uint64
	levels  []level // levels[0] are the leaves, levels[depth] the root
	history rootRing
}

// New returns an empty tree of the given depth (MinDepth..MaxDepth). Its
// root history starts with the empty tree's root.
func New(depth int, opts ...Option) (*Tree, error) {
	cfg := config{rootHistory: DefaultRootHistory}
	for _, o := range opts {
		o(&cfg)
	}
	return newTree(depth, cfg.rootHistory, maxPageShift)
}

// newTree builds an empty tree; pageShift is the log2 of the largest node
// page (tests use small pages to exercise page boundaries).
func newTree(depth, history, pageShift int) (*Tree, error) {
	if depth < MinDepth || depth > MaxDepth {
		return nil, fmt.Errorf("%w: depth %d, want %d..%d", ErrInvalidArgument, depth, MinDepth, MaxDepth)
	}
	if history < 1 || history > MaxRootHistory {
		return nil, fmt.Errorf("%w: root history %d, want 1..%d", ErrInvalidArgument, history, MaxRootHistory)
	}
	t := &Tree{
		depth:   depth,
		levels:  make([]level, depth+1),
		history: newRootRing(history),
	}
	for h := range t.levels {
		t.levels[h] = newLevel(depth, h, pageShift)
	}
	t.history.push(t.Root())
	return t, nil
}

// Depth returns the depth of the tree.
func (t *Tree) Depth() int { return t.depth }

// Capacity returns the number of leaves, 1<<Depth.
func (t *Tree) Capacity() uint64 { return 1 << uint(t.depth) }

// NextIndex returns the number of leaf slots in use: one past the highest
// index ever written. Append writes at this index.
func (t *Tree) NextIndex() uint64 { return t.next }

// Root returns the current root.
func (t *Tree) Root() fr.Element { return t.levels[t.depth].get(0) }

// RootHistorySize returns how many roots the tree remembers.
func (t *Tree) RootHistorySize() int { return len(t.history.buf) }

// RecentRoots returns the remembered roots, oldest first; the last one is
// the current root. A root is recorded after every Append and Set and after
// every non-empty AppendBatch and SetBatch.
func (t *Tree) RecentRoots() []fr.Element { return t.history.list() }

// Leaf returns leaf i (0 if it was never set). i must be below Capacity.
func (t *Tree) Leaf(i uint64) (fr.Element, error) {
	if err := t.checkIndex(i); err != nil {
		return fr.Element{}, err
	}
	return t.levels[0].get(i), nil
}

func (t *Tree) checkIndex(i uint64) error {
	if i >= t.Capacity() {
		return fmt.Errorf("%w: index %d, capacity %d (depth %d)", ErrIndexOutOfRange, i, t.Capacity(), t.depth)
	}
	return nil
}

// Append writes leaf at NextIndex, returns that index and records the new
// root. It returns ErrFull if NextIndex == Capacity.
func (t *Tree) Append(leaf fr.Element) (uint64, error) {
	i := t.next
	if i >= t.Capacity() {
		return 0, fmt.Errorf("%w: all %d leaves used", ErrFull, t.Capacity())
	}
	t.updatePath(i, &leaf)
	t.next = i + 1
	t.history.push(t.Root())
	return i, nil
}

// AppendBatch appends leaves at NextIndex, NextIndex+1, ... and returns the
// first index used. Every affected inner node is hashed once, and only the
// final root is recorded. If the leaves do not all fit it returns ErrFull
// and leaves the tree unchanged. An empty batch changes nothing.
func (t *Tree) AppendBatch(leaves []fr.Element) (first uint64, err error) {
	first = t.next
	n := uint64(len(leaves))
	if n == 0 {
		return first, nil
	}
	if free := t.Capacity() - first; n > free {
		return first, fmt.Errorf("%w: appending %d leaves at index %d, only %d of %d free", ErrFull, n, first, free, t.Capacity())
	}
	l := &t.levels[0]
	for done := uint64(0); done < n; {
		i := first + done
		pg := l.ensurePage(i)
		done += uint64(copy(pg[i&l.mask():], leaves[done:]))
	}
	t.rehash([]span{{first, first + n}})
	t.next = first + n
	t.history.push(t.Root())
	return first, nil
}

// Set writes leaf i (0 erases it) and records the new root. Any i below
// Capacity is allowed; NextIndex becomes max(NextIndex, i+1).
func (t *Tree) Set(i uint64, leaf fr.Element) error {
	if err := t.checkIndex(i); err != nil {
		return err
	}
	t.updatePath(i, &leaf)
	t.next = max(t.next, i+1)
	t.history.push(t.Root())
	return nil
}

// SetBatch writes leaves[k] at indices[k] for every k (a later duplicate
// index wins) and recomputes the affected inner nodes in one pass, recording
// only the final root. The tree is unchanged if any index is out of range or
// the lengths differ. An empty batch changes nothing.
func (t *Tree) SetBatch(indices []uint64, leaves []fr.Element) error {
	if len(indices) != len(leaves) {
		return fmt.Errorf("%w: %d indices but %d leaves", ErrInvalidArgument, len(indices), len(leaves))
	}
	if len(indices) == 0 {
		return nil
	}
	for k, i := range indices {
		if err := t.checkIndex(i); err != nil {
			return fmt.Errorf("batch entry %d: %w", k, err)
		}
	}
	for k, i := range indices {
		t.levels[0].set(i, &leaves[k])
	}
	sorted := slices.Clone(indices)
	slices.Sort(sorted)
	dirty := make([]span, 0, len(sorted))
	for _, i := range sorted {
		if n := len(dirty); n > 0 && i <= dirty[n-1].hi {
			dirty[n-1].hi = i + 1
			continue
		}
		dirty = append(dirty, span{i, i + 1})
	}
	t.rehash(dirty)
	t.next = max(t.next, sorted[len(sorted)-1]+1)
	t.history.push(t.Root())
	return nil
}

// updatePath writes leaf i and recomputes its depth ancestors.
func (t *Tree) updatePath(i uint64, leaf *fr.Element) {
	t.levels[0].set(i, leaf)
	cur := *leaf
	for h := 0; h < t.depth; h++ {
		l := &t.levels[h]
		sib := l.get(i ^ 1)
		var parent fr.Element
		switch {
		case cur.Equal(&l.zero) && sib.Equal(&l.zero):
			parent = t.levels[h+1].zero
		case i&1 == 0:
			parent = poseidon.Hash2(cur, sib)
		default:
			parent = poseidon.Hash2(sib, cur)
		}
		i >>= 1
		t.levels[h+1].set(i, &parent)
		cur = parent
	}
}

// rootRing keeps the last len(buf) roots.
type rootRing struct {
	buf   []fr.Element
	start int // index of the oldest root
	n     int // number of roots held
}

func newRootRing(size int) rootRing {
	return rootRing{buf: make([]fr.Element, size)}
}

func (r *rootRing) push(root fr.Element) {
	if r.n < len(r.buf) {
		r.buf[(r.start+r.n)%len(r.buf)] = root
		r.n++
		return
	}
	r.buf[r.start] = root
	r.start = (r.start + 1) % len(r.buf)
}

func (r *rootRing) list() []fr.Element {
	out := make([]fr.Element, r.n)
	for k := range out {
		out[k] = r.buf[(r.start+k)%len(r.buf)]
	}
	return out
}
