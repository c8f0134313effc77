package membership

import (
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/rlnd/rlnd/rln/merkle"
)

// ErrInvalidGroup is returned by NewStaticGroup for a bad leaf list or
// window size.
var ErrInvalidGroup = errors.New("membership: invalid static group")

// StaticGroup is a fixed membership set, for tests and offline use: the
// leaves (rate commitments) given to NewStaticGroup at indices 0, 1, ...
// It is immutable and safe for concurrent use.
type StaticGroup struct {
	tree  *merkle.Tree
	roots *rootLog
}

var _ Group = (*StaticGroup)(nil)

// NewStaticGroup builds the depth-20 tree of leaves. The window holds the
// last rootWindow roots of inserting the leaves one by one (the empty
// tree's root first), as if they had been registered in that order;
// rootWindow 0 means DefaultRootWindow.
func NewStaticGroup(leaves []fr.Element, rootWindow int) (*StaticGroup, error) {
	if rootWindow == 0 {
		rootWindow = DefaultRootWindow
	}
	if rootWindow < 0 {
		return nil, fmt.Errorf("%w: root window %d, want > 0", ErrInvalidGroup, rootWindow)
	}
	if len(leaves) > MaxMembers {
		return nil, fmt.Errorf("%w: %d leaves, at most %d fit a depth-%d tree", ErrInvalidGroup, len(leaves), MaxMembers, TreeDepth)
	}
	tree, err := newMembershipTree()
	if err != nil {
		return nil, fmt.Errorf("membership: static group: %w", err)
	}
	roots := newRootLog(rootWindow)
	roots.push(0, tree.Root())
	// Only the last rootWindow insertions can leave a root in the window,
	// so the rest go in as one batch.
	bulk := max(0, len(leaves)-rootWindow)
	if bulk > 0 {
		if _, err := tree.AppendBatch(leaves[:bulk]); err != nil {
			return nil, fmt.Errorf("membership: static group: %w", err)
		}
		roots.push(uint64(bulk), tree.Root())
	}
	for k, leaf := range leaves[bulk:] {
		if _, err := tree.Append(leaf); err != nil {
			return nil, fmt.Errorf("membership: static group: %w", err)
		}
		roots.push(uint64(bulk+k+1), tree.Root())
	}
	return &StaticGroup{tree: tree, roots: roots}, nil
}

// Root returns the root of the tree of all leaves.
func (s *StaticGroup) Root() fr.Element { return s.tree.Root() }

// ValidRoots returns the window, oldest first.
func (s *StaticGroup) ValidRoots() []fr.Element { return s.roots.list() }

// IsValidRoot reports whether r is in the window.
func (s *StaticGroup) IsValidRoot(r fr.Element) bool { return s.roots.contains(r) }

// RootAge returns how many leaves were inserted after r's entry in the
// window (membership.RootAger).
func (s *StaticGroup) RootAge(r fr.Element) (uint64, bool) { return s.roots.age(r) }

// RootWindow returns the window's size in leaf insertions.
func (s *StaticGroup) RootWindow() int { return s.roots.window }

// Proof returns the Merkle path of leaf index.
func (s *StaticGroup) Proof(index uint64) (merkle.Proof, error) {
	p, err := s.tree.Proof(index)
	if err != nil {
		return merkle.Proof{}, fmt.Errorf("membership: proof of leaf %d: %w", index, err)
	}
	return p, nil
}

// Size returns the number of leaves.
func (s *StaticGroup) Size() uint64 { return s.tree.NextIndex() }
