package merkle

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/rlnd/rlnd/rln/poseidon"
)

// Node storage: every level of the tree is split into fixed-size pages that
// are allocated on first write. A missing page stands for a run of empty
// subtrees, whose value at that level is the precomputed zero hash. Memory is
// therefore proportional to the occupied part of the tree, and growing it
// never copies existing nodes.
const (
	maxPageShift = 12 // at most 4096 nodes (128 KiB) per page

	// hashTask is the largest number of parents one task hashes; tasks are
	// shared out among goroutines when a level has at least parallelMin
	// parents to compute.
	hashTask    = 256
	parallelMin = 128
)

// zeroHashes[h] is the root of an empty subtree of height h:
// zeroHashes[0] = 0, zeroHashes[h+1] = Hash2(zeroHashes[h], zeroHashes[h]).
var zeroHashes = sync.OnceValue(func() [MaxDepth + 1]fr.Element {
	var z [MaxDepth + 1]fr.Element
	for h := 0; h < MaxDepth; h++ {
		z[h+1] = poseidon.Hash2(z[h], z[h])
	}
	return z
})

type level struct {
	shift    uint       // log2 of the page size
	maxPages uint64     // number of pages that cover the level
	zero     fr.Element // value of an unwritten node
	pages    [][]fr.Element
}

func newLevel(depth, h, pageShift int) level {
	shift := min(pageShift, depth-h)
	return level{
		shift:    uint(shift),
		maxPages: 1 << uint(depth-h-shift),
		zero:     zeroHashes()[h],
	}
}

func (l *level) mask() uint64 { return 1<<l.shift - 1 }

// page returns the page holding node pageIndex<<shift, or nil if it was
// never written.
func (l *level) page(pageIndex uint64) []fr.Element {
	if pageIndex < uint64(len(l.pages)) {
		return l.pages[pageIndex]
	}
	return nil
}

// ensurePage returns the page holding node i, allocating it (filled with the
// level's empty value) if needed.
func (l *level) ensurePage(i uint64) []fr.Element {
	pi := i >> l.shift
	if pi >= uint64(len(l.pages)) {
		grown := make([][]fr.Element, pi+1, min(l.maxPages, max(pi+1, 2*uint64(len(l.pages)))))
		copy(grown, l.pages)
		l.pages = grown
	}
	pg := l.pages[pi]
	if pg == nil {
		pg = make([]fr.Element, 1<<l.shift)
		if !l.zero.IsZero() {
			for k := range pg {
				pg[k] = l.zero
			}
		}
		l.pages[pi] = pg
	}
	return pg
}

func (l *level) get(i uint64) fr.Element {
	if pg := l.page(i >> l.shift); pg != nil {
		return pg[i&l.mask()]
	}
	return l.zero
}

func (l *level) set(i uint64, v *fr.Element) {
	if l.page(i>>l.shift) == nil && v.Equal(&l.zero) {
		return // already implied by the missing page
	}
	l.ensurePage(i)[i&l.mask()] = *v
}

// span is a half-open range [lo, hi) of node indices at one level.
type span struct{ lo, hi uint64 }

// parentSpans maps sorted, non-overlapping spans of one level to the sorted,
// merged spans of their parents, reusing the input slice.
func parentSpans(spans []span) []span {
	out := spans[:0]
	for _, s := range spans {
		p := span{s.lo >> 1, (s.hi + 1) >> 1}
		if n := len(out); n > 0 && p.lo <= out[n-1].hi {
			out[n-1].hi = max(out[n-1].hi, p.hi)
			continue
		}
		out = append(out, p)
	}
	return out
}

// rehash recomputes every ancestor of the level-0 nodes in dirty (sorted,
// non-overlapping spans), level by level, hashing each affected node once.
// It consumes dirty.
func (t *Tree) rehash(dirty []span) {
	for h := 0; h < t.depth; h++ {
		dirty = parentSpans(dirty)
		t.hashLevel(h, dirty)
	}
}

type hashJob struct {
	dst, src []fr.Element
}

// hashLevel recomputes the level-(h+1) nodes in parents from level h.
// Parent pages are allocated up front, so the jobs only write disjoint
// ranges of existing pages and can run concurrently.
func (t *Tree) hashLevel(h int, parents []span) {
	child, par := &t.levels[h], &t.levels[h+1]
	var jobs []hashJob
	total := 0
	for _, s := range parents {
		for lo := s.lo; lo < s.hi; {
			cpi := (2 * lo) >> child.shift
			// Parents whose children all lie in child page cpi.
			pageEnd := ((cpi + 1) << child.shift) >> 1
			hi := min(s.hi, pageEnd, lo+hashTask)
			cp := child.page(cpi)
			if cp == nil {
				// Both children of every parent here are empty.
				if pp := par.page(lo >> par.shift); pp != nil {
					for i := lo; i < hi; i++ {
						pp[i&par.mask()] = par.zero
					}
				}
			} else {
				pp := par.ensurePage(lo)
				po, co := lo&par.mask(), (2*lo)&child.mask()
				n := hi - lo
				jobs = append(jobs, hashJob{dst: pp[po : po+n], src: cp[co : co+2*n]})
				total += int(n)
			}
			lo = hi
		}
	}
	runJobs(jobs, total)
}

func runJobs(jobs []hashJob, total int) {
	workers := min(runtime.GOMAXPROCS(0), len(jobs))
	if total < parallelMin || workers < 2 {
		for _, j := range jobs {
			poseidon.HashPairs(j.dst, j.src)
		}
		return
	}
	var next atomic.Int64
	work := func() {
		for {
			k := next.Add(1) - 1
			if k >= int64(len(jobs)) {
				return
			}
			poseidon.HashPairs(jobs[k].dst, jobs[k].src)
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}
