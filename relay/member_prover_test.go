package relay

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/rln/merkle"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// treeGroup is a membership.Group whose leaves a test sets, as
// registrations would: its window is the tree's own root history.
type treeGroup struct {
	mu   sync.Mutex
	tree *merkle.Tree
}

var _ membership.Group = (*treeGroup)(nil)

func newTreeGroup(tb testing.TB, window int) *treeGroup {
	tb.Helper()
	tree, err := merkle.New(membership.TreeDepth, merkle.WithRootHistory(window))
	if err != nil {
		tb.Fatal(err)
	}
	return &treeGroup{tree: tree}
}

func (g *treeGroup) set(tb testing.TB, i uint64, leaf fr.Element) {
	tb.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.tree.Set(i, leaf); err != nil {
		tb.Fatal(err)
	}
}

func (g *treeGroup) Root() fr.Element {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.tree.Root()
}

func (g *treeGroup) ValidRoots() []fr.Element {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.tree.RecentRoots()
}

func (g *treeGroup) IsValidRoot(r fr.Element) bool {
	for _, v := range g.ValidRoots() {
		if v.Equal(&r) {
			return true
		}
	}
	return false
}

// RootAge: every Set records a root, so the age is the distance from
// the newest.
func (g *treeGroup) RootAge(r fr.Element) (uint64, bool) {
	roots := g.ValidRoots()
	for k := len(roots) - 1; k >= 0; k-- {
		if roots[k].Equal(&r) {
			return uint64(len(roots) - 1 - k), true
		}
	}
	return 0, false
}

func (g *treeGroup) RootWindow() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.tree.RootHistorySize()
}

func (g *treeGroup) Proof(i uint64) (merkle.Proof, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.tree.Proof(i)
}

// memberProverCase is a group with one member at index 0 that has proved
// once, so that the MemberProver knows its path.
type memberProverCase struct {
	f     *fixture
	g     *treeGroup
	mem   Member
	mp    *MemberProver
	stale chan Member // onStale's calls, when the case was made with one
}

func newMemberProverCase(t testing.TB, window int, seed string, signal bool) *memberProverCase {
	f := loadFixture(t)
	c := &memberProverCase{f: f, g: newTreeGroup(t, window)}
	c.mem = Member{Identity: rln.IdentityFromSeed([]byte(seed)), Index: 0, UserMessageLimit: testLimit}
	c.g.set(t, 0, c.mem.Identity.RateCommitment(testLimit))
	var onStale func(Member)
	if signal {
		c.stale = make(chan Member, 16)
		onStale = func(m Member) { c.stale <- m }
	}
	c.mp = NewMemberProver(f.prover, c.g, onStale)
	t.Cleanup(c.mp.Wait)
	c.attach(t, 0)
	return c
}

// attach proves message mid of the member and checks the proof against
// the group's window and the verifier.
func (c *memberProverCase) attach(tb testing.TB, mid uint64) *rln.RateLimitProof {
	tb.Helper()
	ts := time.Now().UnixNano()
	topic := "/rlnd/1/test/proto"
	m := &messagepb.WakuMessage{Payload: fmt.Appendf(nil, "member prover %d", mid), ContentTopic: &topic, Timestamp: &ts}
	p, err := c.mp.Attach(c.mem, ProofParams{}, m, mid)
	if err != nil {
		tb.Fatal(err)
	}
	if !c.g.IsValidRoot(p.MerkleRoot) {
		tb.Fatal("proof made against a root outside the group's window")
	}
	x := rln.SignalHash(rln.Signal(rln.SignalTimestamped, m.GetPayload(), m.GetContentTopic(), ts))
	if err := c.f.verifier.Verify(p, x); err != nil {
		tb.Fatalf("proof does not verify: %v", err)
	}
	return p
}

// register sets a foreign leaf at index i (i > 0), as a registration does.
func (c *memberProverCase) register(tb testing.TB, i uint64, seed int) {
	tb.Helper()
	id := rln.IdentityFromSeed(fmt.Appendf(nil, "member prover foreign %d", seed))
	c.g.set(tb, i, id.RateCommitment(testLimit))
}

func TestMemberProverProvesAgainstRecentRoot(t *testing.T) {
	c := newMemberProverCase(t, membership.DefaultRootWindow, "member prover recent", true)
	before := c.g.Root()
	c.register(t, 1<<9, 1)
	after := c.g.Root()

	p := c.attach(t, 1)
	if !p.MerkleRoot.Equal(&before) {
		t.Fatal("the proof right after a registration should be made against the member's previous root")
	}
	if got := c.mp.StaleProofs(); got != 1 {
		t.Fatalf("StaleProofs = %d, want 1", got)
	}
	select {
	case m := <-c.stale:
		if m.Index != c.mem.Index {
			t.Fatalf("onStale for member %d, want %d", m.Index, c.mem.Index)
		}
	default:
		t.Fatal("onStale was not called after a proof against the previous root")
	}

	refreshed, err := c.mp.Refresh(c.mem)
	if err != nil || !refreshed {
		t.Fatalf("Refresh = %v, %v; want true, nil", refreshed, err)
	}
	if p = c.attach(t, 2); !p.MerkleRoot.Equal(&after) {
		t.Fatal("after the refresh the proof should be made against the current root")
	}
	if got := c.mp.StaleProofs(); got != 1 {
		t.Fatalf("StaleProofs = %d after a proof on the current path, want 1", got)
	}
}

func TestMemberProverRefreshesInBackground(t *testing.T) {
	c := newMemberProverCase(t, membership.DefaultRootWindow, "member prover background", false)
	before := c.g.Root()
	c.register(t, 1<<19, 1)
	after := c.g.Root()
	if p := c.attach(t, 1); !p.MerkleRoot.Equal(&before) {
		t.Fatal("the proof right after a registration should be made against the member's previous root")
	}
	c.mp.Wait()
	if got := c.mp.Refreshes(); got != 1 {
		t.Fatalf("Refreshes = %d after the background refresh, want 1", got)
	}
	if p := c.attach(t, 2); !p.MerkleRoot.Equal(&after) {
		t.Fatal("after the background refresh the proof should be made against the current root")
	}
}

func TestMemberProverOldRootUsesCurrentPath(t *testing.T) {
	const window = 8
	c := newMemberProverCase(t, window, "member prover old root", true)
	// window/2 registrations leave the member's root just outside the
	// newest half of the window (it is still in the window itself).
	old := c.g.Root()
	for k := range window / 2 {
		c.register(t, uint64(1+k), k)
	}
	if !c.g.IsValidRoot(old) {
		t.Fatal("test setup: the member's root should still be in the window")
	}
	cur := c.g.Root()
	if p := c.attach(t, 1); !p.MerkleRoot.Equal(&cur) {
		t.Fatal("a root past the newest half of the window should not be proved against")
	}
	if got := c.mp.StaleProofs(); got != 0 {
		t.Fatalf("StaleProofs = %d, want 0", got)
	}
}

func TestMemberProverOtherIdentityAtIndex(t *testing.T) {
	c := newMemberProverCase(t, membership.DefaultRootWindow, "member prover first owner", true)
	// The index is erased and reused by another identity: the path the
	// first owner proved with is not the new owner's.
	c.mem = Member{Identity: rln.IdentityFromSeed([]byte("member prover second owner")), Index: 0, UserMessageLimit: testLimit}
	c.g.set(t, 0, c.mem.Identity.RateCommitment(testLimit))
	cur := c.g.Root()
	if p := c.attach(t, 1); !p.MerkleRoot.Equal(&cur) {
		t.Fatal("another identity at the index must prove against the current path")
	}
	if got := c.mp.StaleProofs(); got != 0 {
		t.Fatalf("StaleProofs = %d, want 0", got)
	}
}

// agedGroup is a group of fixed root ages.
type agedGroup struct {
	membership.Group
	ages   map[fr.Element]uint64
	window int
}

func (g agedGroup) RootAge(r fr.Element) (uint64, bool) { a, ok := g.ages[r]; return a, ok }
func (g agedGroup) RootWindow() int                     { return g.window }

func TestRecentRoot(t *testing.T) {
	root := func(v uint64) fr.Element { var e fr.Element; e.SetUint64(v); return e }
	ages := map[fr.Element]uint64{root(0): 0, root(3): 3, root(4): 4, root(24): 24, root(25): 25}
	for _, c := range []struct {
		window int
		root   uint64
		want   bool
	}{
		{8, 0, true}, {8, 3, true}, {8, 4, false}, // half of our window
		{50, 24, true}, {50, 25, false},
		{1000, 24, true}, {1000, 25, false}, // half of nwaku's 50, however large ours
		{1, 0, true}, {50, 99, false}, // a root not in the window
	} {
		g := agedGroup{ages: ages, window: c.window}
		if got := recentRoot(g, root(c.root)); got != c.want {
			t.Errorf("window %d, root of age %d: recentRoot = %v, want %v", c.window, c.root, got, c.want)
		}
	}
	// A group that cannot tell a root's age never has a recent one.
	static, err := membership.NewStaticGroup(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if recentRoot(struct{ membership.Group }{static}, static.Root()) {
		t.Error("a group without RootAge has no recent older root")
	}
	if !recentRoot(static, static.Root()) {
		t.Error("StaticGroup: its current root is recent")
	}
}
