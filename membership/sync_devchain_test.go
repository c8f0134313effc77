package membership

import (
	"context"
	"errors"
	"math/big"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/rlnd/rlnd/contracts/bindings"
	"github.com/rlnd/rlnd/contracts/devchain"
)

// registerGas covers one registration (about 0.5-1.1M gas, see BENCHMARKS.md).
const registerGas = 3_000_000

// devnet is a dev chain with the registry deployed.
type devnet struct {
	chain    *devchain.Chain
	reg      *bindings.RlnRegistry
	dev      *bindings.DevRlnRegistry // registerBatch, to fill the chain
	addr     common.Address
	auth     *bind.TransactOpts
	deployed uint64
	next     int64
}

func newDevnet(t *testing.T) *devnet {
	t.Helper()
	d, closeChain := startDevnet(t)
	t.Cleanup(closeChain)
	return d
}

// startDevnet starts a dev chain and deploys the registry; the caller
// closes the chain.
func startDevnet(tb testing.TB) (*devnet, func()) {
	tb.Helper()
	c, err := devchain.Start(devchain.Config{HTTP: "127.0.0.1:0", Accounts: 2})
	if err != nil {
		tb.Fatal(err)
	}
	closeChain := func() { c.Close() }
	reg, err := c.DeployRegistry(tb.Context())
	if err != nil {
		closeChain()
		tb.Fatal(err)
	}
	// Both dev accounts allow the registry to take their deposits.
	for i := range 2 {
		if err := c.ApproveDeposits(tb.Context(), i, reg); err != nil {
			closeChain()
			tb.Fatal(err)
		}
	}
	auth, err := c.Transactor(0)
	if err != nil {
		closeChain()
		tb.Fatal(err)
	}
	// Several registrations share a block: estimating each against the same
	// pre-state can fall short, so give them a fixed, ample limit.
	auth.GasLimit = registerGas
	return &devnet{chain: c, reg: reg.Contract, dev: reg.Dev, addr: reg.Address, auth: auth, deployed: reg.Block, next: 1000}, closeChain
}

// withNonces numbers a batch of transactions from one account itself:
// asking the pool for each pending nonce races with the pool's reset after
// a block or a fork and can hand out one nonce twice.
func withNonces(tb testing.TB, c *devchain.Chain, auth *bind.TransactOpts) func() *bind.TransactOpts {
	tb.Helper()
	n, err := c.Client().PendingNonceAt(tb.Context(), auth.From)
	if err != nil {
		tb.Fatal(err)
	}
	return func() *bind.TransactOpts {
		o := *auth
		o.Nonce = new(big.Int).SetUint64(n)
		n++
		return &o
	}
}

// register sends n registrations and seals them in one block.
func (d *devnet) register(t *testing.T, n int) {
	t.Helper()
	next := withNonces(t, d.chain, d.auth)
	var last *types.Transaction
	for range n {
		d.next++
		tx, err := d.reg.Register(next(), big.NewInt(d.next), 20, nil)
		if err != nil {
			t.Fatal(err)
		}
		last = tx
	}
	if r, err := d.chain.WaitMined(t.Context(), last); err != nil || r.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("registration failed: %v", err)
	}
}

func (d *devnet) config(t *testing.T) SyncConfig {
	cfg := testSyncConfig(t)
	cfg.Contract, cfg.ChainID, cfg.StartBlock = d.addr, devchain.ChainID, d.deployed
	return cfg
}

// countingSource counts eth_getLogs calls and the lowest block asked for,
// and can fail every other call.
type countingSource struct {
	ChainSource
	calls, lowest atomic.Uint64
	flaky         bool
	n             atomic.Uint64
}

func (s *countingSource) fail() bool { return s.flaky && s.n.Add(1)%2 == 0 }

func (s *countingSource) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	if s.fail() {
		return nil, errors.New("injected failure")
	}
	s.calls.Add(1)
	if from := q.FromBlock.Uint64(); s.lowest.Load() == 0 || from < s.lowest.Load() {
		s.lowest.Store(from)
	}
	return s.ChainSource.FilterLogs(ctx, q)
}

func (s *countingSource) HeaderByNumber(ctx context.Context, n *big.Int) (*types.Header, error) {
	if s.fail() {
		return nil, errors.New("injected failure")
	}
	return s.ChainSource.HeaderByNumber(ctx, n)
}

func syncAndCheck(t *testing.T, g *GroupManager) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := g.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	ok, err := g.CheckOnChainRoot(ctx)
	if err != nil || !ok {
		t.Fatalf("local root differs from the contract's at block %d: %v", g.SyncedBlock(), err)
	}
}

// Against the real registry on the dev chain: a sync matches root(); a
// restart resumes from the checkpoint without reading history again; an RPC
// failing every other call still converges.
func TestSyncDevchainCheckpointAndFlakyRPC(t *testing.T) {
	d := newDevnet(t)
	d.register(t, 6)
	d.register(t, 4)
	cfg := d.config(t)
	cfg.CheckpointPath = filepath.Join(t.TempDir(), "sync.ckpt")
	src := &countingSource{ChainSource: d.chain.Client()}
	g := newTestManager(t, src, cfg)
	syncAndCheck(t, g)
	g.Stop()
	synced := g.SyncedBlock()

	d.register(t, 3)
	src2 := &countingSource{ChainSource: d.chain.Client()}
	g2 := newTestManager(t, src2, cfg)
	syncAndCheck(t, g2)
	if src2.lowest.Load() <= synced {
		t.Fatalf("restart read logs from block %d, history up to %d was checkpointed", src2.lowest.Load(), synced)
	}

	d.register(t, 2)
	flaky := &countingSource{ChainSource: d.chain.Client(), flaky: true}
	fresh := d.config(t)
	syncAndCheck(t, newTestManager(t, flaky, fresh))
}

func TestSyncDevchainWrongChainOrContract(t *testing.T) {
	d := newDevnet(t)
	cfg := d.config(t)
	cfg.ChainID = 59141
	if err := newTestManager(t, d.chain.Client(), cfg).SyncOnce(t.Context()); !errors.Is(err, ErrWrongChain) {
		t.Fatalf("wrong chain id: %v", err)
	}
	cfg = d.config(t)
	cfg.Contract = common.HexToAddress("0x000000000000000000000000000000000000dEaD")
	if err := newTestManager(t, d.chain.Client(), cfg).SyncOnce(t.Context()); !errors.Is(err, ErrNoContract) {
		t.Fatalf("wrong contract: %v", err)
	}
}

// A reorg on the dev chain (the block with the last registrations replaced
// by one with others) is rolled back: the sync converges to the new chain's
// root, and roots only the orphaned block produced leave the window.
func TestSyncDevchainReorg(t *testing.T) {
	d := newDevnet(t)
	d.register(t, 3)
	g := newTestManager(t, d.chain.Client(), d.config(t))
	syncAndCheck(t, g)
	ctx := t.Context()
	head, err := d.chain.Client().HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.register(t, 2) // the block that will be orphaned
	syncAndCheck(t, g)
	orphanRoot := g.Root()

	if err := d.chain.Fork(head.Hash()); err != nil {
		t.Fatal(err)
	}
	// Other registrations, from the second dev account, on the new branch.
	auth1, err := d.chain.Transactor(1)
	if err != nil {
		t.Fatal(err)
	}
	auth1.GasLimit = registerGas
	next := withNonces(t, d.chain, auth1)
	var last *types.Transaction
	for i := range 4 {
		tx, err := d.reg.Register(next(), big.NewInt(int64(900_000+i)), 30, nil)
		if err != nil {
			t.Fatal(err)
		}
		last = tx
	}
	r, err := d.chain.WaitMined(ctx, last)
	if err != nil || r.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("registration on the new branch failed: %v", err)
	}
	d.chain.Commit()
	d.chain.Commit()
	newHead, err := d.chain.Client().HeaderByNumber(ctx, new(big.Int).Add(head.Number, big.NewInt(1)))
	if err != nil {
		t.Fatal(err)
	}
	if newHead.ParentHash != head.Hash() {
		t.Fatal("the fork did not build on the chosen block")
	}
	syncAndCheck(t, g)
	if g.Root() == orphanRoot {
		t.Fatal("root unchanged after the reorg")
	}
}

// Batches from registerBatch (one event per member, one transaction each
// batch) sync like single registrations; the window holds the root after
// each transaction, not the roots inside a batch, which the contract never
// had at the end of a transaction.
func TestSyncDevchainBatchRegistrations(t *testing.T) {
	d := newDevnet(t)
	d.register(t, 2)
	if blocks := d.fillBatches(t, 70); blocks != 3 {
		t.Fatalf("70 members in %d blocks, want 3 (16+16 twice, then 6)", blocks)
	}
	d.register(t, 1)
	cfg := d.config(t)
	cfg.RootWindow = 100
	g := newTestManager(t, d.chain.Client(), cfg)
	syncAndCheck(t, g)
	if n := g.tree.NextIndex(); n != 73 {
		t.Fatalf("synced %d members, want 73", n)
	}
	// Rebuild the history leaf by leaf: the root after each transaction
	// (2 single registrations, batches of 16, 16, 16, 16 and 6, one more
	// single) is valid, roots inside a batch are not.
	txEnds := map[uint64]bool{1: true, 2: true, 18: true, 34: true, 50: true, 66: true, 72: true, 73: true}
	ref, err := newMembershipTree()
	if err != nil {
		t.Fatal(err)
	}
	for i := range uint64(73) {
		leaf, err := g.tree.Leaf(i)
		if err != nil {
			t.Fatal(err)
		}
		if err := ref.Set(i, leaf); err != nil {
			t.Fatal(err)
		}
		if r := ref.Root(); g.IsValidRoot(r) != txEnds[i+1] {
			t.Fatalf("root after %d members: in the window %v, want %v", i+1, g.IsValidRoot(r), txEnds[i+1])
		}
	}
}
