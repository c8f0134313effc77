package merkle

import (
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	iden3 "github.com/iden3/go-iden3-crypto/poseidon"
)

// iden3Hash2 is the reference node hash (go-iden3-crypto, big.Int based).
func iden3Hash2(tb testing.TB, a, b *big.Int) *big.Int {
	tb.Helper()
	h, err := iden3.Hash([]*big.Int{a, b})
	if err != nil {
		tb.Fatalf("iden3 poseidon.Hash: %v", err)
	}
	return h
}

// referenceRoot recomputes the root of a depth-d tree holding leaves (index
// i = position in the slice, missing ones 0) level by level with big.Int and
// go-iden3-crypto, independently of the package's code and of its Poseidon.
func referenceRoot(tb testing.TB, depth int, leaves []fr.Element) fr.Element {
	tb.Helper()
	zero := new(big.Int)
	cur := make([]*big.Int, len(leaves))
	for i := range leaves {
		cur[i] = leaves[i].BigInt(new(big.Int))
	}
	for h := 0; h < depth; h++ {
		next := make([]*big.Int, (len(cur)+1)/2)
		for i := range next {
			right := zero
			if 2*i+1 < len(cur) {
				right = cur[2*i+1]
			}
			next[i] = iden3Hash2(tb, cur[2*i], right)
		}
		zero = iden3Hash2(tb, zero, zero)
		cur = next
	}
	var root fr.Element
	if len(cur) == 0 {
		root.SetBigInt(zero)
	} else {
		root.SetBigInt(cur[0])
	}
	return root
}

// model is the list of leaves a tree should hold.
type model []fr.Element

func (m *model) set(i uint64, v fr.Element) {
	for uint64(len(*m)) <= i {
		*m = append(*m, fr.Element{})
	}
	(*m)[i] = v
}

func randLeaves(rng *rand.Rand, n int) []fr.Element {
	out := make([]fr.Element, n)
	for i := range out {
		out[i].SetUint64(rng.Uint64())
		var hi fr.Element
		hi.SetUint64(rng.Uint64())
		hi.Square(&hi) // spread values over the whole field
		out[i].Add(&out[i], &hi)
	}
	return out
}

func newTestRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0xa5a5)) }

func mustNew(tb testing.TB, depth int, opts ...Option) *Tree {
	tb.Helper()
	tr, err := New(depth, opts...)
	if err != nil {
		tb.Fatalf("New(%d): %v", depth, err)
	}
	return tr
}

func checkRoot(tb testing.TB, tr *Tree, m model, when string) {
	tb.Helper()
	want := referenceRoot(tb, tr.Depth(), m)
	if got := tr.Root(); !got.Equal(&want) {
		tb.Fatalf("%s: root %s, reference %s", when, got.String(), want.String())
	}
	if got := tr.NextIndex(); got != uint64(len(m)) {
		tb.Fatalf("%s: NextIndex %d, want %d", when, got, len(m))
	}
}

func TestNewValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		depth int
		opts  []Option
		ok    bool
	}{
		{0, nil, false},
		{-1, nil, false},
		{33, nil, false},
		{1, nil, true},
		{20, nil, true},
		{32, nil, true},
		{4, []Option{WithRootHistory(0)}, false},
		{4, []Option{WithRootHistory(MaxRootHistory + 1)}, false},
		{4, []Option{WithRootHistory(1)}, true},
	}
	for _, tc := range tests {
		tr, err := New(tc.depth, tc.opts...)
		if !tc.ok {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("New(%d): err = %v, want ErrInvalidArgument", tc.depth, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("New(%d): %v", tc.depth, err)
			continue
		}
		if tr.Depth() != tc.depth || tr.Capacity() != 1<<tc.depth || tr.NextIndex() != 0 {
			t.Errorf("New(%d): depth %d capacity %d next %d", tc.depth, tr.Depth(), tr.Capacity(), tr.NextIndex())
		}
	}
}

func TestEmptyRootMatchesReference(t *testing.T) {
	t.Parallel()
	for _, depth := range []int{1, 2, 20, 32} {
		tr := mustNew(t, depth)
		checkRoot(t, tr, nil, fmt.Sprintf("empty depth %d", depth))
		if h := tr.RecentRoots(); len(h) != 1 || !h[0].Equal(ptr(tr.Root())) {
			t.Errorf("depth %d: RecentRoots of empty tree = %d roots, want [root]", depth, len(h))
		}
	}
}

func ptr(e fr.Element) *fr.Element { return &e }

// TestRootMatchesReference drives trees through appends, batch appends, sets,
// erases and batch sets and compares the root with the big.Int/iden3
// reference after each phase.
func TestRootMatchesReference(t *testing.T) {
	t.Parallel()
	tests := []struct {
		depth     int
		pageShift int
		n         int // leaves appended in total
	}{
		{4, maxPageShift, 16},
		{4, 1, 13},
		{10, maxPageShift, 300},
		{10, 3, 300},
		{20, maxPageShift, 300},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("depth%d_page%d", tc.depth, tc.pageShift), func(t *testing.T) {
			t.Parallel()
			rng := newTestRand(uint64(tc.depth*100 + tc.pageShift))
			tr, err := newTree(tc.depth, DefaultRootHistory, tc.pageShift)
			if err != nil {
				t.Fatal(err)
			}
			var m model
			leaves := randLeaves(rng, tc.n)

			// Phase 1: single appends.
			single := tc.n / 4
			for i, l := range leaves[:single] {
				idx, err := tr.Append(l)
				if err != nil || idx != uint64(i) {
					t.Fatalf("Append #%d = %d, %v", i, idx, err)
				}
				m.set(idx, l)
			}
			checkRoot(t, tr, m, "after appends")

			// Phase 2: batch appends of varied sizes.
			rest := leaves[single:]
			for len(rest) > 0 {
				k := min(len(rest), 1+rng.IntN(70))
				first, err := tr.AppendBatch(rest[:k])
				if err != nil || first != uint64(len(m)) {
					t.Fatalf("AppendBatch(%d) = %d, %v; want first %d", k, first, err, len(m))
				}
				for j, l := range rest[:k] {
					m.set(first+uint64(j), l)
				}
				rest = rest[k:]
			}
			checkRoot(t, tr, m, "after batch appends")

			// Phase 3: overwrite and erase single leaves.
			for k := 0; k < 10; k++ {
				i := rng.Uint64N(uint64(len(m)))
				v := randLeaves(rng, 1)[0]
				if k%2 == 1 {
					v.SetZero()
				}
				if err := tr.Set(i, v); err != nil {
					t.Fatalf("Set(%d): %v", i, err)
				}
				m.set(i, v)
			}
			checkRoot(t, tr, m, "after sets and erases")

			// Phase 4: batch sets and erases, with a duplicate index.
			var idx []uint64
			var vals []fr.Element
			for k := 0; k < 25; k++ {
				i := rng.Uint64N(uint64(len(m)))
				v := randLeaves(rng, 1)[0]
				if k%3 == 0 {
					v.SetZero()
				}
				idx = append(idx, i)
				vals = append(vals, v)
			}
			idx = append(idx, idx[0])
			vals = append(vals, randLeaves(rng, 1)[0])
			if err := tr.SetBatch(idx, vals); err != nil {
				t.Fatalf("SetBatch: %v", err)
			}
			for k, i := range idx {
				m.set(i, vals[k])
			}
			checkRoot(t, tr, m, "after batch sets")

			// Phase 5: erase everything; the root is the empty root again
			// but NextIndex stays.
			all := make([]uint64, len(m))
			for i := range all {
				all[i] = uint64(i)
			}
			if err := tr.SetBatch(all, make([]fr.Element, len(all))); err != nil {
				t.Fatal(err)
			}
			clear(m)
			checkRoot(t, tr, m, "after erasing all")
			empty := mustNew(t, tc.depth).Root()
			if got := tr.Root(); !got.Equal(&empty) {
				t.Errorf("root after erasing all = %s, want empty root %s", got.String(), empty.String())
			}
		})
	}
}

func TestSetBeyondNextIndex(t *testing.T) {
	t.Parallel()
	rng := newTestRand(3)
	tr := mustNew(t, 10)
	var m model
	v := randLeaves(rng, 4)
	steps := []struct {
		index uint64
		next  uint64
	}{{700, 701}, {3, 701}, {1023, 1024}}
	for k, s := range steps {
		if err := tr.Set(s.index, v[k]); err != nil {
			t.Fatal(err)
		}
		m.set(s.index, v[k])
		if tr.NextIndex() != s.next {
			t.Fatalf("after Set(%d): NextIndex %d, want %d", s.index, tr.NextIndex(), s.next)
		}
	}
	checkRoot(t, tr, m, "after sparse sets")
	if _, err := tr.Append(v[3]); !errors.Is(err, ErrFull) {
		t.Fatalf("Append after Set(last index): err = %v, want ErrFull", err)
	}
}

// TestAppendBatchEqualsAppends checks that batch appends produce exactly the
// same nodes as one-by-one appends, across page boundaries.
func TestAppendBatchEqualsAppends(t *testing.T) {
	t.Parallel()
	for _, pageShift := range []int{1, 2, 5, maxPageShift} {
		t.Run(fmt.Sprint("page", pageShift), func(t *testing.T) {
			t.Parallel()
			const depth = 9
			rng := newTestRand(uint64(pageShift))
			leaves := randLeaves(rng, 300)
			one, _ := newTree(depth, 1000, pageShift)
			batch, _ := newTree(depth, 1000, pageShift)
			var batchRoots []fr.Element
			for rest := leaves; len(rest) > 0; {
				k := min(len(rest), 1+rng.IntN(90))
				for _, l := range rest[:k] {
					if _, err := one.Append(l); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := batch.AppendBatch(rest[:k]); err != nil {
					t.Fatal(err)
				}
				r1, r2 := one.Root(), batch.Root()
				if !r1.Equal(&r2) {
					t.Fatalf("after %d leaves: append root %s, batch root %s", len(leaves)-len(rest)+k, r1.String(), r2.String())
				}
				batchRoots = append(batchRoots, r2)
				rest = rest[k:]
			}
			for i := uint64(0); i < one.Capacity(); i++ {
				p1, _ := one.Proof(i)
				p2, _ := batch.Proof(i)
				if !slices.Equal(p1.PathElements, p2.PathElements) || !slices.Equal(p1.PathIndices, p2.PathIndices) {
					t.Fatalf("proof %d differs between append and batch trees", i)
				}
			}
			// The batch tree records one root per batch (after the empty root).
			if got := batch.RecentRoots()[1:]; !slices.Equal(got, batchRoots) {
				t.Errorf("batch tree history has %d roots, want the %d batch roots", len(got), len(batchRoots))
			}
			if got := one.RecentRoots(); len(got) != len(leaves)+1 {
				t.Errorf("append tree history has %d roots, want %d", len(got), len(leaves)+1)
			}
		})
	}
}

func TestRootHistory(t *testing.T) {
	t.Parallel()
	rng := newTestRand(5)
	tr := mustNew(t, 6, WithRootHistory(5))
	if tr.RootHistorySize() != 5 {
		t.Fatalf("RootHistorySize = %d, want 5", tr.RootHistorySize())
	}
	want := []fr.Element{tr.Root()}
	record := func() { want = append(want, tr.Root()) }
	v := randLeaves(rng, 20)

	if _, err := tr.Append(v[0]); err != nil {
		t.Fatal(err)
	}
	record()
	if _, err := tr.AppendBatch(v[1:4]); err != nil {
		t.Fatal(err)
	}
	record()
	if _, err := tr.AppendBatch(nil); err != nil { // no-op, no root
		t.Fatal(err)
	}
	if err := tr.Set(2, fr.Element{}); err != nil {
		t.Fatal(err)
	}
	record()
	if got := tr.RecentRoots(); !slices.Equal(got, want) {
		t.Fatalf("RecentRoots = %d roots, want %d (%v)", len(got), len(want), got)
	}
	if err := tr.SetBatch([]uint64{0, 1}, v[4:6]); err != nil {
		t.Fatal(err)
	}
	record()
	if err := tr.SetBatch(nil, nil); err != nil { // no-op, no root
		t.Fatal(err)
	}
	for _, l := range v[6:9] {
		if _, err := tr.Append(l); err != nil {
			t.Fatal(err)
		}
		record()
	}
	got := tr.RecentRoots()
	if !slices.Equal(got, want[len(want)-5:]) {
		t.Fatalf("RecentRoots after overflow = %v, want last 5 of %v", got, want)
	}
	if last := got[len(got)-1]; !last.Equal(ptr(tr.Root())) {
		t.Errorf("newest remembered root is not the current root")
	}
	// The returned slice is a copy.
	got[0].SetOne()
	if again := tr.RecentRoots(); again[0].Equal(&got[0]) {
		t.Errorf("RecentRoots exposes internal state")
	}
	if def := mustNew(t, 4); def.RootHistorySize() != DefaultRootHistory {
		t.Errorf("default RootHistorySize = %d, want %d", def.RootHistorySize(), DefaultRootHistory)
	}
}

func TestCapacityAndRange(t *testing.T) {
	t.Parallel()
	rng := newTestRand(9)
	tr := mustNew(t, 2)
	v := randLeaves(rng, 6)
	for i := 0; i < 4; i++ {
		if _, err := tr.Append(v[i]); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
	root := tr.Root()
	if _, err := tr.Append(v[4]); !errors.Is(err, ErrFull) {
		t.Errorf("Append to a full tree: err = %v, want ErrFull", err)
	}
	if _, err := tr.AppendBatch(v[4:5]); !errors.Is(err, ErrFull) {
		t.Errorf("AppendBatch to a full tree: err = %v, want ErrFull", err)
	}

	part := mustNew(t, 2)
	if _, err := part.AppendBatch(v[:3]); err != nil {
		t.Fatal(err)
	}
	partRoot := part.Root()
	if _, err := part.AppendBatch(v[3:5]); !errors.Is(err, ErrFull) {
		t.Errorf("AppendBatch past capacity: err = %v, want ErrFull", err)
	}
	if r := part.Root(); !r.Equal(&partRoot) || part.NextIndex() != 3 || len(part.RecentRoots()) != 2 {
		t.Errorf("failed AppendBatch changed the tree")
	}

	for _, i := range []uint64{4, 5, 1 << 40, ^uint64(0)} {
		if err := tr.Set(i, v[0]); !errors.Is(err, ErrIndexOutOfRange) {
			t.Errorf("Set(%d): err = %v, want ErrIndexOutOfRange", i, err)
		}
		if _, err := tr.Leaf(i); !errors.Is(err, ErrIndexOutOfRange) {
			t.Errorf("Leaf(%d): err = %v, want ErrIndexOutOfRange", i, err)
		}
		if _, err := tr.Proof(i); !errors.Is(err, ErrIndexOutOfRange) {
			t.Errorf("Proof(%d): err = %v, want ErrIndexOutOfRange", i, err)
		}
	}
	if err := tr.SetBatch([]uint64{0, 4}, v[:2]); !errors.Is(err, ErrIndexOutOfRange) {
		t.Errorf("SetBatch with index 4: err = %v, want ErrIndexOutOfRange", err)
	}
	if err := tr.SetBatch([]uint64{0}, v[:2]); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("SetBatch with mismatched lengths: err = %v, want ErrInvalidArgument", err)
	}
	if r := tr.Root(); !r.Equal(&root) {
		t.Errorf("rejected calls changed the root")
	}
	for i := uint64(0); i < 4; i++ {
		if l, err := tr.Leaf(i); err != nil || !l.Equal(&v[i]) {
			t.Errorf("Leaf(%d) = %s, %v; want %s", i, l.String(), err, v[i].String())
		}
	}
}

// TestConcurrentReads runs readers in parallel (meaningful under -race).
func TestConcurrentReads(t *testing.T) {
	t.Parallel()
	tr := mustNew(t, 8)
	if _, err := tr.AppendBatch(randLeaves(newTestRand(1), 100)); err != nil {
		t.Fatal(err)
	}
	root := tr.Root()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			for i := uint64(g); i < 100; i += 4 {
				p, err := tr.Proof(i)
				if err != nil {
					t.Error(err)
					return
				}
				leaf, _ := tr.Leaf(i)
				if !VerifyProof(root, leaf, p) {
					t.Errorf("proof %d does not verify", i)
				}
				_ = tr.RecentRoots()
			}
		})
	}
	wg.Wait()
}

// TestLargeBatches uses batches big enough to take the multi-goroutine path
// (several hash jobs per level).
func TestLargeBatches(t *testing.T) {
	t.Parallel()
	for _, pageShift := range []int{4, maxPageShift} {
		t.Run(fmt.Sprint("page", pageShift), func(t *testing.T) {
			t.Parallel()
			rng := newTestRand(uint64(77 + pageShift))
			tr, err := newTree(11, DefaultRootHistory, pageShift)
			if err != nil {
				t.Fatal(err)
			}
			var m model
			leaves := randLeaves(rng, 1500)
			if _, err := tr.AppendBatch(leaves); err != nil {
				t.Fatal(err)
			}
			for i, l := range leaves {
				m.set(uint64(i), l)
			}
			checkRoot(t, tr, m, "after a 1500-leaf batch")

			var idx []uint64
			vals := randLeaves(rng, 700)
			for k := range vals {
				i := rng.Uint64N(tr.Capacity())
				if k%4 == 0 {
					vals[k].SetZero()
				}
				idx = append(idx, i)
			}
			if err := tr.SetBatch(idx, vals); err != nil {
				t.Fatal(err)
			}
			for k, i := range idx {
				m.set(i, vals[k])
			}
			checkRoot(t, tr, m, "after a 700-entry scattered SetBatch")
		})
	}
}

// TestEraseUnwrittenLeaves erases leaves whose pages were never allocated,
// next to and far from written ones.
func TestEraseUnwrittenLeaves(t *testing.T) {
	t.Parallel()
	for _, pageShift := range []int{1, 2, maxPageShift} {
		tr, err := newTree(4, DefaultRootHistory, pageShift)
		if err != nil {
			t.Fatal(err)
		}
		var m model
		v := randLeaves(newTestRand(uint64(pageShift)), 1)[0]
		if err := tr.Set(0, v); err != nil {
			t.Fatal(err)
		}
		m.set(0, v)
		if err := tr.SetBatch([]uint64{2, 9}, make([]fr.Element, 2)); err != nil {
			t.Fatal(err)
		}
		m.set(9, fr.Element{})
		checkRoot(t, tr, m, fmt.Sprintf("page shift %d", pageShift))
		if err := tr.Set(13, fr.Element{}); err != nil {
			t.Fatal(err)
		}
		m.set(13, fr.Element{})
		checkRoot(t, tr, m, fmt.Sprintf("page shift %d after Set(13, 0)", pageShift))
	}
}
