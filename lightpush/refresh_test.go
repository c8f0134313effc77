package lightpush

import (
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/libp2p/go-libp2p/core/host"

	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/rln/merkle"
)

// swapGroup is a membership group that a test replaces, as a registration
// on the chain changes the synced group.
type swapGroup struct {
	mu  sync.Mutex
	cur *membership.StaticGroup
}

func (g *swapGroup) get() *membership.StaticGroup {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cur
}

func (g *swapGroup) Root() fr.Element                     { return g.get().Root() }
func (g *swapGroup) ValidRoots() []fr.Element             { return g.get().ValidRoots() }
func (g *swapGroup) IsValidRoot(r fr.Element) bool        { return g.get().IsValidRoot(r) }
func (g *swapGroup) Proof(i uint64) (merkle.Proof, error) { return g.get().Proof(i) }
func (g *swapGroup) set(next *membership.StaticGroup)     { g.mu.Lock(); g.cur = next; g.mu.Unlock() }

// agingGroup is a swapGroup that tells its roots' ages, as the synced
// group does (membership.RootAger).
type agingGroup struct{ swapGroup }

func (g *agingGroup) RootAge(r fr.Element) (uint64, bool) { return g.get().RootAge(r) }
func (g *agingGroup) RootWindow() int                     { return g.get().RootWindow() }

// registerNewcomer returns the net's group after another member's
// registration at a new leaf: every member's path changes.
func registerNewcomer(t *testing.T, n *testNet) *membership.StaticGroup {
	t.Helper()
	var leaves []fr.Element
	for _, m := range n.members {
		leaves = append(leaves, m.Identity.RateCommitment(m.UserMessageLimit))
	}
	newcomer := rln.IdentityFromSeed([]byte("lightpush test newcomer"))
	next, err := membership.NewStaticGroup(append(leaves, newcomer.RateCommitment(5)), 0)
	if err != nil {
		t.Fatal(err)
	}
	return next
}

// pushedRoot pushes a message with payload and returns the root its
// relayed proof was made against.
func pushedRoot(t *testing.T, c host.Host, n *testNet, payload string) fr.Element {
	t.Helper()
	if r := push(t, c, n, "", message(payload)); r.Status != StatusOK {
		t.Fatalf("response %+v", r)
	}
	env := n.waitRelayed(t, payload)
	proof, err := rln.UnmarshalRateLimitProof(env.Message.RateLimitProof)
	if err != nil {
		t.Fatal(err)
	}
	return proof.MerkleRoot
}

// With a group that tells its roots' ages, the request right after a
// registration is proved against the membership's previous root (still
// in the window, and what peers a block behind accept) at the cost of an
// unchanged path; the proof kicks the refresher, and the next request is
// proved against the new root.
func TestProofRightAfterRegistrationUsesPreviousRoot(t *testing.T) {
	var ag *agingGroup
	n := startNet(t, 1, 5, func(c *ServiceConfig) {
		ag = &agingGroup{swapGroup{cur: c.Group.(*membership.StaticGroup)}}
		// Only a kick can refresh within the test's deadlines.
		c.Group, c.PathRefresh = ag, time.Hour
	})
	c := n.client(t)
	before := pushedRoot(t, c, n, "before the registration")
	next := registerNewcomer(t, n)
	ag.set(next)
	if root := pushedRoot(t, c, n, "right after the registration"); !root.Equal(&before) {
		t.Fatal("the proof right after the registration is not against the previous root")
	}
	if got := n.service.prover.StaleProofs(); got != 1 {
		t.Fatalf("StaleProofs = %d, want 1", got)
	}
	testnet.WaitFor(t, 30*time.Second, "the kicked refresher to refresh the membership's proof part", func() bool {
		return n.service.refresh.refreshed.Load() >= 1
	})
	if root, want := pushedRoot(t, c, n, "after the refresh"), next.Root(); !root.Equal(&want) {
		t.Fatal("the proof after the refresh is not against the new root")
	}
}

// When another member registers (the group's root changes), the service
// refreshes the cached proof part of the membership it proved with, ahead
// of the next request, which still proves against the new root.
func TestPathRefreshAfterRegistration(t *testing.T) {
	var sg *swapGroup
	n := startNet(t, 1, 5, func(c *ServiceConfig) {
		sg = &swapGroup{cur: c.Group.(*membership.StaticGroup)}
		c.Group, c.PathRefresh = sg, 10*time.Millisecond
	})
	c := n.client(t)
	pushedRoot(t, c, n, "before the registration")

	next := registerNewcomer(t, n)
	sg.set(next)
	testnet.WaitFor(t, 30*time.Second, "the service to refresh its membership's proof part", func() bool {
		return n.service.refresh.refreshed.Load() >= 1
	})
	if root, want := pushedRoot(t, c, n, "after the registration"), next.Root(); !root.Equal(&want) {
		t.Fatal("the proof after the registration is not against the new root")
	}
}
