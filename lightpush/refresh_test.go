package lightpush

import (
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

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
	if r := push(t, c, n, "", message("before the registration")); r.Status != StatusOK {
		t.Fatalf("response %+v", r)
	}
	n.waitRelayed(t, "before the registration")

	// A registration at a new leaf: every member's path changes.
	var leaves []fr.Element
	for _, m := range n.members {
		leaves = append(leaves, m.Identity.RateCommitment(m.UserMessageLimit))
	}
	newcomer := rln.IdentityFromSeed([]byte("lightpush test newcomer"))
	next, err := membership.NewStaticGroup(append(leaves, newcomer.RateCommitment(5)), 0)
	if err != nil {
		t.Fatal(err)
	}
	sg.set(next)
	testnet.WaitFor(t, 30*time.Second, "the service to refresh its membership's proof part", func() bool {
		return n.service.refresh.refreshed.Load() >= 1
	})
	if r := push(t, c, n, "", message("after the registration")); r.Status != StatusOK {
		t.Fatalf("response %+v", r)
	}
	env := n.waitRelayed(t, "after the registration")
	proof, err := rln.UnmarshalRateLimitProof(env.Message.RateLimitProof)
	if err != nil {
		t.Fatal(err)
	}
	if root := next.Root(); !proof.MerkleRoot.Equal(&root) {
		t.Fatal("the proof after the registration is not against the new root")
	}
}
