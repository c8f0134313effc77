package membership

import (
	"runtime"
	"slices"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/rlnd/rlnd/rln/merkle"
	"github.com/rlnd/rlnd/rln/poseidon"
)

// Group is the membership set as a relay validator and a prover see it: the
// current Merkle root, the window of recent roots a proof may be made
// against, and Merkle paths for members. GroupManager (synced from the
// registry contract) and StaticGroup (a fixed list) implement it. All
// methods are safe for concurrent use.
type Group interface {
	// Root returns the current Merkle root.
	Root() fr.Element
	// ValidRoots returns the window of acceptable roots, oldest first; the
	// last one is Root().
	ValidRoots() []fr.Element
	// IsValidRoot reports whether r is in the window.
	IsValidRoot(r fr.Element) bool
	// Proof returns the Merkle path of leaf index against Root().
	Proof(index uint64) (merkle.Proof, error)
}

// HealthReporter is implemented by a Group that can fall out of step with
// the registry (GroupManager, whose sync can stop or stall). Healthy
// reports the sync's health for readiness checks: nil while it follows the
// chain, an error saying why not otherwise. WindowTrusted is the relay
// validator's question, with a longer patience for a stalled sync: whether
// the window of roots can still be trusted (nil) or is frozen. A validator
// ignores messages, neither relaying nor penalising them, while
// WindowTrusted fails; a Group without the methods is always healthy.
type HealthReporter interface {
	Healthy() error
	WindowTrusted() error
}

var _ HealthReporter = (*GroupManager)(nil)

// ProgressReporter is implemented by a Group synced from a chain
// (GroupManager): the last block applied and the latest chain head seen
// (0 before the first step).
type ProgressReporter interface {
	Progress() (synced, head uint64)
}

var _ ProgressReporter = (*GroupManager)(nil)

// RepairReporter is implemented by a Group whose tree can be repaired
// from the registry (GroupManager): LastRepair says when it last was.
type RepairReporter interface {
	LastRepair() (Repair, bool)
}

var _ RepairReporter = (*GroupManager)(nil)

// RootAger is implemented by a Group that knows how old the roots of its
// window are (GroupManager, StaticGroup). A prover uses it to tell whether
// a proof against an older root will stay valid while it travels.
type RootAger interface {
	// RootAge returns how many leaf writes were applied after r's entry
	// in the window (0: r is the current root), and false for a root not
	// in the window.
	RootAge(r fr.Element) (uint64, bool)
	// RootWindow returns the window's size in leaf writes: a root leaves
	// it at that age.
	RootWindow() int
}

var (
	_ RootAger = (*GroupManager)(nil)
	_ RootAger = (*StaticGroup)(nil)
)

const (
	// TreeDepth is the depth of the RLN membership tree (the circuit's).
	TreeDepth = 20
	// MaxMembers is the number of leaves of the membership tree.
	MaxMembers = 1 << TreeDepth
	// DefaultRootWindow is how many recent roots are accepted, as in nwaku.
	DefaultRootWindow = 50
)

// newMembershipTree returns an empty depth-20 tree. The tree's own root
// history is not used (rootLog keeps the window), so it is kept minimal.
func newMembershipTree() (*merkle.Tree, error) {
	return merkle.New(TreeDepth, merkle.WithRootHistory(1))
}

// rootEntry is the root of the tree after seq leaf writes.
type rootEntry struct {
	seq  uint64
	root fr.Element
}

// rootLog is the window of valid roots: the roots after the last window
// leaf writes, one per write, oldest first (roots of writes applied as one
// batch are missing, but the window never reaches back to those; see
// GroupManager.apply). inWindow counts the roots so that membership is a map
// lookup (a root can occur more than once, e.g. after an erasure).
type rootLog struct {
	window   int
	entries  []rootEntry
	inWindow map[fr.Element]int
}

func newRootLog(window int) *rootLog {
	return &rootLog{window: window, inWindow: make(map[fr.Element]int, window+1)}
}

func (l *rootLog) add(r fr.Element) { l.inWindow[r]++ }

func (l *rootLog) remove(r fr.Element) {
	if n := l.inWindow[r]; n > 1 {
		l.inWindow[r] = n - 1
	} else {
		delete(l.inWindow, r)
	}
}

// push records root r after seq writes (seq above every recorded one) and
// drops the roots that leave the window.
func (l *rootLog) push(seq uint64, r fr.Element) {
	l.entries = append(l.entries, rootEntry{seq: seq, root: r})
	l.add(r)
	drop := 0
	for drop < len(l.entries) && l.entries[drop].seq+uint64(l.window) <= seq {
		l.remove(l.entries[drop].root)
		drop++
	}
	l.entries = l.entries[drop:]
}

// reset replaces the log with entries (seqs increasing), keeping those in
// the window of the last one.
func (l *rootLog) reset(entries []rootEntry) {
	l.entries = nil
	clear(l.inWindow)
	for _, e := range entries {
		l.push(e.seq, e.root)
	}
}

func (l *rootLog) contains(r fr.Element) bool { return l.inWindow[r] > 0 }

// list returns the window's roots, oldest first.
func (l *rootLog) list() []fr.Element {
	out := make([]fr.Element, len(l.entries))
	for k, e := range l.entries {
		out[k] = e.root
	}
	return out
}

// age returns how many writes were applied after r's entry (0: r is the
// current root); the entry leaves the window at an age of window.
func (l *rootLog) age(r fr.Element) (uint64, bool) {
	if len(l.entries) == 0 {
		return 0, false
	}
	last := l.entries[len(l.entries)-1].seq
	for k := len(l.entries) - 1; k >= 0; k-- {
		if l.entries[k].root.Equal(&r) {
			return last - l.entries[k].seq, true
		}
	}
	return 0, false
}

// all returns a copy of the entries.
func (l *rootLog) all() []rootEntry { return slices.Clone(l.entries) }

// parallelLeaves is the smallest number of leaves per worker worth a
// goroutine when hashing rate commitments.
const parallelLeaves = 2048

// rateCommitments returns Poseidon(pairs[2i], pairs[2i+1]) for each i, i.e.
// the leaves for (idCommitment, rateLimit) pairs, using the batched Poseidon
// on all CPUs for large inputs.
func rateCommitments(pairs []fr.Element) []fr.Element {
	n := len(pairs) / 2
	out := make([]fr.Element, n)
	workers := min(runtime.GOMAXPROCS(0), n/parallelLeaves)
	if workers < 2 {
		poseidon.HashPairs(out, pairs[:2*n])
		return out
	}
	per := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += per {
		hi := min(lo+per, n)
		wg.Go(func() { poseidon.HashPairs(out[lo:hi], pairs[2*lo:2*hi]) })
	}
	wg.Wait()
	return out
}
