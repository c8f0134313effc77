package membership

import (
	"errors"
	"slices"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/rlnd/rlnd/rln/merkle"
)

func TestStaticGroup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		members int
		window  int
	}{
		{name: "empty", members: 0, window: 5},
		{name: "fewer than the window", members: 3, window: 5},
		{name: "window exactly filled", members: 4, window: 5},
		{name: "many members", members: 300, window: 7},
		{name: "default window", members: 80, window: 0},
	}
	for k, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gen := newEventGen(uint64(k) + 500)
			leaves := make([]fr.Element, tc.members)
			for i := range leaves {
				leaves[i] = gen.register().leaf()
			}
			var g Group
			s, err := NewStaticGroup(leaves, tc.window)
			if err != nil {
				t.Fatal(err)
			}
			g = s
			if s.Size() != uint64(tc.members) {
				t.Fatalf("Size = %d, want %d", s.Size(), tc.members)
			}
			ref, err := newMembershipTree()
			if err != nil {
				t.Fatal(err)
			}
			roots := []fr.Element{ref.Root()}
			for i, l := range leaves {
				if err := ref.Set(uint64(i), l); err != nil {
					t.Fatal(err)
				}
				roots = append(roots, ref.Root())
			}
			window := tc.window
			if window == 0 {
				window = DefaultRootWindow
			}
			want := roots[max(0, len(roots)-window):]
			if got := g.ValidRoots(); !slices.Equal(got, want) {
				t.Fatalf("window = %v, want %v", shortRoots(got), shortRoots(want))
			}
			root := g.Root()
			if wantRoot := ref.Root(); !root.Equal(&wantRoot) {
				t.Fatal("root differs from the reference tree")
			}
			for _, r := range want {
				if !g.IsValidRoot(r) {
					t.Fatal("a window root is not valid")
				}
			}
			if len(roots) > window && g.IsValidRoot(roots[len(roots)-window-1]) {
				t.Fatal("a root older than the window is valid")
			}
			for i, l := range leaves {
				p, err := g.Proof(uint64(i))
				if err != nil {
					t.Fatal(err)
				}
				if !merkle.VerifyProof(root, l, p) {
					t.Fatalf("proof of member %d does not verify", i)
				}
			}
			if _, err := g.Proof(MaxMembers); !errors.Is(err, merkle.ErrIndexOutOfRange) {
				t.Fatalf("Proof(MaxMembers) = %v, want ErrIndexOutOfRange", err)
			}
		})
	}
}

func TestStaticGroupInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		leaves int
		window int
	}{
		{name: "negative window", leaves: 1, window: -1},
		{name: "too many leaves", leaves: MaxMembers + 1, window: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := NewStaticGroup(make([]fr.Element, tc.leaves), tc.window); !errors.Is(err, ErrInvalidGroup) {
				t.Fatalf("NewStaticGroup = %v, want ErrInvalidGroup", err)
			}
		})
	}
}

// TestRootAge: a root's age is the number of leaf writes after it, and a
// root leaves the window at the window's age.
func TestRootAge(t *testing.T) {
	t.Parallel()
	const window = 4
	gen := newEventGen(77)
	leaves := make([]fr.Element, 10)
	for i := range leaves {
		leaves[i] = gen.register().leaf()
	}
	var roots []fr.Element // roots[k]: after k leaves
	for k := range len(leaves) + 1 {
		g, err := NewStaticGroup(leaves[:k], window)
		if err != nil {
			t.Fatal(err)
		}
		roots = append(roots, g.Root())
	}
	g, err := NewStaticGroup(leaves, window)
	if err != nil {
		t.Fatal(err)
	}
	if g.RootWindow() != window {
		t.Fatalf("RootWindow = %d, want %d", g.RootWindow(), window)
	}
	for k, r := range roots {
		age, ok := g.RootAge(r)
		wantAge := uint64(len(leaves) - k)
		if inWindow := wantAge < window; ok != inWindow || (ok && age != wantAge) {
			t.Errorf("root after %d leaves: RootAge = %d, %v; want %d, %v", k, age, ok, wantAge, inWindow)
		}
		if ok != g.IsValidRoot(r) {
			t.Errorf("root after %d leaves: RootAge says in window %v, IsValidRoot %v", k, ok, g.IsValidRoot(r))
		}
	}
}
