package membership

import (
	"math/big"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/rlnd/rlnd/contracts"
)

// lifecycle drives memberships on the dev chain's registry through every
// tree-changing path and checks the sync after each step.
type lifecycle struct {
	t      *testing.T
	d      *devnet
	g      *GroupManager
	holder *bind.TransactOpts // dev account 0: registers
	other  *bind.TransactOpts // dev account 1: erases what has expired
	// roots are root() at every block since the deployment.
	roots map[fr.Element]bool
}

// send mines one transaction (one block) and returns its receipt, which
// must succeed.
func (l *lifecycle) send(tx *types.Transaction, err error) *types.Receipt {
	l.t.Helper()
	if err != nil {
		l.t.Fatal(err)
	}
	r, err := l.d.chain.WaitMined(l.t.Context(), tx)
	if err != nil || r.Status != types.ReceiptStatusSuccessful {
		l.t.Fatalf("transaction failed: %v", err)
	}
	return r
}

// events lists the registry events of a receipt by name.
func events(r *types.Receipt) []string {
	names := map[[32]byte]string{
		contracts.EventTopics.Registered: "Registered", contracts.EventTopics.Expired: "Expired",
		contracts.EventTopics.Erased: "Erased", contracts.EventTopics.Extended: "Extended",
	}
	var out []string
	for _, lg := range r.Logs {
		if n, ok := names[lg.Topics[0]]; ok {
			out = append(out, n)
		}
	}
	return out
}

// check syncs, then compares the local root with root(), every local leaf
// with the contract's, and every root in the window with the contract's
// roots at the blocks so far; no repair may have been needed.
func (l *lifecycle) check(step string) {
	l.t.Helper()
	syncAndCheck(l.t, l.g)
	opts := &bind.CallOpts{Context: l.t.Context()}
	n, err := l.d.reg.NextFreeIndex(opts)
	if err != nil {
		l.t.Fatal(err)
	}
	if n > 0 {
		leaves, err := l.d.reg.GetRateCommitmentsInRangeBoundsInclusive(opts, 0, n-1)
		if err != nil {
			l.t.Fatal(err)
		}
		for i, want := range leaves {
			got, err := l.g.tree.Leaf(uint64(i))
			if err != nil {
				l.t.Fatal(err)
			}
			if got.BigInt(new(big.Int)).Cmp(want) != 0 {
				l.t.Fatalf("%s: leaf %d is %s locally, %s in the registry", step, i, got.String(), want)
			}
		}
	}
	head, err := l.d.chain.Client().BlockNumber(l.t.Context())
	if err != nil {
		l.t.Fatal(err)
	}
	for b := l.d.deployed; b <= head; b++ {
		r, err := l.g.rootAt(l.t.Context(), b)
		if err != nil {
			l.t.Fatal(err)
		}
		l.roots[r] = true
	}
	for _, r := range l.g.ValidRoots() {
		if !l.roots[r] {
			l.t.Fatalf("%s: the window holds %s, a root the registry never had", step, r.String())
		}
	}
	if r := l.g.repairs.Load(); r != 0 {
		l.t.Fatalf("%s: the sync needed %d repairs, want none", step, r)
	}
}

// The dev chain's registry behaves like WakuRlnV2 (lazy erasure unless
// asked for a full one, both events on expiry, reuse of freed indices):
// after registrations, a lazy erase, a full erase, an extension, a
// register-with-erase of an expired membership, the reuse of freed
// indices and a full erase of several expired memberships in one
// transaction, the local tree equals the registry's leaf for leaf, its
// root is root(), and the window holds only roots the registry had.
func TestSyncDevchainLifecycle(t *testing.T) {
	d := newDevnet(t)
	other, err := d.chain.Transactor(1)
	if err != nil {
		t.Fatal(err)
	}
	other.GasLimit = registerGas
	cfg := d.config(t)
	cfg.RootWindow = 100
	l := &lifecycle{t: t, d: d, g: newTestManager(t, d.chain.Client(), cfg), holder: d.auth, other: other, roots: map[fr.Element]bool{}}
	id := func(k int64) *big.Int { return big.NewInt(7000 + k) }
	opts := &bind.CallOpts{Context: t.Context()}

	for k := range int64(6) {
		l.send(d.reg.Register(l.holder, id(k), 20, nil))
	}
	l.check("6 registrations")

	// 180 days on: every membership is in its grace period.
	if err := d.chain.AdjustTime(180*24*time.Hour + time.Minute); err != nil {
		t.Fatal(err)
	}
	_, idx0, leaf0, err := d.reg.GetMembershipInfo(opts, id(0))
	if err != nil {
		t.Fatal(err)
	}
	rootBefore := l.g.Root()
	if ev := events(l.send(d.reg.EraseMemberships(l.holder, []*big.Int{id(0)}))); len(ev) != 1 || ev[0] != "Erased" {
		t.Fatalf("holder's erasure in grace emitted %v, want [Erased]", ev)
	}
	l.check("lazy erase")
	if got, _ := l.g.tree.Leaf(uint64(idx0)); got.BigInt(new(big.Int)).Cmp(leaf0) != 0 || l.g.Root() != rootBefore {
		t.Fatal("a lazy erasure changed the tree")
	}

	l.send(d.reg.EraseMemberships0(l.holder, []*big.Int{id(1)}, true))
	l.check("full erase")
	l.send(d.reg.ExtendMemberships(l.holder, []*big.Int{id(2)}))
	l.check("extension")

	// 31 more days: 3, 4 and 5 have expired, 2 (extended) has not.
	if err := d.chain.AdjustTime(31 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if ev := events(l.send(d.reg.Register(l.other, id(10), 20, []*big.Int{id(3)}))); len(ev) != 3 ||
		ev[0] != "Expired" || ev[1] != "Erased" || ev[2] != "Registered" {
		t.Fatalf("register with an expired membership to erase emitted %v, want [Expired Erased Registered]", ev)
	}
	l.check("register with erase")
	l.send(d.reg.Register(l.other, id(11), 20, nil))
	l.send(d.reg.Register(l.other, id(12), 20, nil))
	l.check("reuse of freed indices")
	if n, _ := d.reg.NextFreeIndex(opts); n != 6 {
		t.Fatalf("nextFreeIndex %d after reusing three freed indices, want 6", n)
	}
	l.send(d.reg.EraseMemberships0(l.other, []*big.Int{id(4), id(5)}, true))
	l.check("full erase of two expired memberships")
	l.send(d.reg.Register(l.other, id(13), 20, nil))
	l.check("reuse of a fully erased index")
}

// A wrong leaf in the local tree (as a sync bug or a bad checkpoint would
// leave) is found by the root check after the next step and repaired from
// the registry's leaves; the repair is counted and the root matches again.
func TestSyncDevchainRepairsDivergence(t *testing.T) {
	d := newDevnet(t)
	d.register(t, 5)
	g := newTestManager(t, d.chain.Client(), d.config(t))
	syncAndCheck(t, g)

	g.mu.Lock()
	if err := g.tree.Set(3, fr.NewElement(42)); err != nil {
		t.Fatal(err)
	}
	g.mu.Unlock()
	d.register(t, 1)
	syncAndCheck(t, g)
	if r, n := g.repairs.Load(), g.repairedLeaves.Load(); r != 1 || n != 1 {
		t.Fatalf("%d repairs of %d leaves, want 1 of 1", r, n)
	}
	if r, ok := g.LastRepair(); !ok || r.Leaves != 1 || r.Block != g.SyncedBlock() {
		t.Fatalf("LastRepair %+v, %v; want 1 leaf at block %d", r, ok, g.SyncedBlock())
	}
	if roots := g.ValidRoots(); len(roots) != 1 || roots[0] != g.Root() {
		t.Fatalf("window after the repair holds %d roots, want only the repaired one", len(roots))
	}
}

// An erasure whose transaction reaches the registry through another
// contract cannot be decoded: it is taken as lazy, counted, and when it
// was a full one the root check repairs the tree in the same step.
func TestSyncUndecodableErasure(t *testing.T) {
	c := newFakeChain()
	gen := newEventGen(7)
	c.addBlocks(gen.blocks(3, 4, false))
	g := newTestManager(t, c, testSyncConfig(t))
	syncOnce(t, g)
	checkMatchesReference(t, c, g, DefaultRootWindow)

	lazy := fakeEvent{kind: eventErased, id: gen.randomElement(), rate: 100, index: 1, indirect: true}
	c.addBlock(lazy)
	syncOnce(t, g)
	checkMatchesReference(t, c, g, DefaultRootWindow)
	if n := g.undecodedErasures.Load(); n != 1 {
		t.Fatalf("%d undecoded erasures counted, want 1", n)
	}

	full := fakeEvent{kind: eventErased, id: gen.randomElement(), rate: 100, index: 2, indirect: true, full: true}
	c.addBlock(full)
	syncOnce(t, g)
	tree, _, err := c.reference(g.SyncedBlock())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := g.Root(), tree.Root(); !got.Equal(&want) {
		t.Fatalf("root %s after an undecodable full erasure, reference %s", got.String(), want.String())
	}
	if r, n := g.repairs.Load(), g.repairedLeaves.Load(); r != 1 || n != 1 {
		t.Fatalf("%d repairs of %d leaves, want 1 of 1", r, n)
	}
	if !g.IsValidRoot(tree.Root()) || len(g.ValidRoots()) != 1 {
		t.Fatalf("window after the repair: %d roots, want only the registry's", len(g.ValidRoots()))
	}
}
