package node

import (
	"context"
	"errors"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/contracts/devchain"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/membership"
)

// chainFixture is a dev chain (blocks sealed on Commit only) with the
// registry deployed after some empty blocks.
type chainFixture struct {
	chain *devchain.Chain
	reg   devchain.Registry
	next  int64 // next id commitment to register
}

func newChainFixture(t *testing.T, emptyBlocks int) *chainFixture {
	t.Helper()
	c, err := devchain.Start(devchain.Config{HTTP: "127.0.0.1:0", Accounts: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for range emptyBlocks {
		c.Commit()
	}
	reg, err := c.DeployRegistry(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ApproveDeposits(t.Context(), 0, reg); err != nil {
		t.Fatal(err)
	}
	return &chainFixture{chain: c, reg: reg, next: 1000}
}

// register registers n memberships, one transaction each, and seals them.
func (f *chainFixture) register(t *testing.T, n int) {
	t.Helper()
	auth, err := f.chain.Transactor(0)
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		f.next++
		tx, err := f.reg.Contract.Register(auth, big.NewInt(f.next), 20, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r, err := f.chain.WaitMined(t.Context(), tx); err != nil || r.Status != types.ReceiptStatusSuccessful {
			t.Fatalf("registration failed: %v", err)
		}
	}
}

// config is a devnet node on loopback syncing the fixture's registry, with
// its data in dataDir and metrics on a free port.
func (f *chainFixture) config(t *testing.T, dataDir string) *config.Config {
	t.Helper()
	cfg, err := config.Preset("devnet")
	cfg.REST.Enabled = false // tests that want REST listen on a free port
	if err != nil {
		t.Fatal(err)
	}
	cfg.Node.DataDir = dataDir
	cfg.Chain.RPCURL, cfg.Chain.Contract, cfg.Chain.ChainID = f.chain.URL(), f.reg.Address.Hex(), devchain.ChainID
	cfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.Metrics.Enabled, cfg.Metrics.Address = true, "127.0.0.1:0"
	return &cfg
}

// recordingSource records the FromBlock of every eth_getLogs and, once
// poisoned, answers eth_getLogs with a malformed log (one marked removed).
type recordingSource struct {
	membership.ChainSource
	mu       sync.Mutex
	from     []uint64
	poisoned atomic.Bool
}

func (s *recordingSource) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	s.mu.Lock()
	s.from = append(s.from, q.FromBlock.Uint64())
	s.mu.Unlock()
	if s.poisoned.Load() {
		return []types.Log{{Address: q.Addresses[0], BlockNumber: q.FromBlock.Uint64(), Removed: true}}, nil
	}
	return s.ChainSource.FilterLogs(ctx, q)
}

// lowest is the lowest FromBlock asked for, and how many calls there were.
func (s *recordingSource) lowest() (uint64, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	low := ^uint64(0)
	for _, b := range s.from {
		low = min(low, b)
	}
	return low, len(s.from)
}

// startNode starts a node on cfg whose chain reads go through src.
func startNode(t *testing.T, cfg *config.Config, src *recordingSource) *Node {
	t.Helper()
	n, err := New(t.Context(), Options{Config: cfg,
		SyncConfig: membership.SyncConfig{PollInterval: 20 * time.Millisecond},
		WrapChain: func(c membership.ChainSource) membership.ChainSource {
			src.ChainSource = c
			return src
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// A first start reads no log before the registry's deployment block (the
// registry deployed after 5 empty blocks); its checkpoint is in
// <data-dir>/membership/<chain id>-<contract>.ckpt. A restart resumes from
// the checkpoint and reads no log before it.
func TestNodeSyncStartsAtDeploymentAndResumes(t *testing.T) {
	t.Parallel()
	f := newChainFixture(t, 5)
	f.register(t, 3)
	dir := filepath.Join(t.TempDir(), "data")
	cfg := f.config(t, dir)

	first := &recordingSource{}
	n := startNode(t, cfg, first)
	if low, calls := first.lowest(); calls == 0 || low != f.reg.Block {
		t.Fatalf("first start: lowest eth_getLogs block %d (%d calls), want the deployment block %d", low, calls, f.reg.Block)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(dir, "membership", "1337-"+strings.ToLower(f.reg.Address.Hex())+".ckpt")
	info, err := membership.ReadCheckpointInfo(ckpt)
	if err != nil {
		t.Fatalf("no checkpoint where expected: %v", err)
	}
	if info.StartBlock != f.reg.Block || info.NextBlock <= f.reg.Block {
		t.Fatalf("checkpoint %+v, want start block %d and some blocks synced", info, f.reg.Block)
	}

	f.register(t, 2)
	again := &recordingSource{}
	n2 := startNode(t, cfg, again)
	if low, calls := again.lowest(); calls == 0 || low < info.NextBlock {
		t.Fatalf("restart: lowest eth_getLogs block %d (%d calls), want >= the checkpoint's next block %d", low, calls, info.NextBlock)
	}
	head, err := f.chain.Client().BlockNumber(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := n2.gm.SyncedBlock(); got != head {
		t.Fatalf("restarted node synced to block %d, want the head %d", got, head)
	}
	// /health's RLN component says how far the sync is once ready.
	testnet.WaitFor(t, 10*time.Second, "the node ready", func() bool { return n2.Health().Ready })
	h := n2.Health()
	if rc := h.Components[len(h.Components)-1]; rc.Name != ComponentRLNRelay || !strings.Contains(rc.Reason, "synced to block ") || !strings.Contains(rc.Reason, ", chain head ") {
		t.Fatalf("ready RLN component %+v, want its sync progress", rc)
	}
}

// An endpoint nothing listens on fails the start after
// chain.start-timeout (1 s here; the bound checked is 1 s + 10 s) with one
// line naming the endpoint without its API key and the last error.
func TestNodeUnreachableChain(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	const key = "9aa3d95b3bc440fa88ea12eaa4456161"
	cfg, err := config.Preset("devnet")
	cfg.REST.Enabled = false // tests that want REST listen on a free port
	if err != nil {
		t.Fatal(err)
	}
	cfg.Chain.RPCURL = "http://" + addr + "/v3/" + key
	cfg.Chain.StartTimeout = time.Second
	cfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.Metrics.Enabled = false
	start := time.Now()
	_, err = New(t.Context(), Options{Config: &cfg})
	took := time.Since(start)
	if !errors.Is(err, membership.ErrChainUnreachable) {
		t.Fatalf("New = %v, want ErrChainUnreachable", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "http://"+addr) || !strings.Contains(msg, "connection refused") || strings.Contains(msg, key) || strings.Contains(msg, "\n") {
		t.Fatalf("error %q: want one line naming http://%s, without its key, with the last error", msg, addr)
	}
	if took < time.Second || took > 11*time.Second {
		t.Fatalf("gave up after %v, want chain.start-timeout (1 s), at most 10 s more", took)
	}
}

// A registry without deployedBlockNumber() and no chain.start-block is a
// clear error telling the operator to set it; with it set, the node syncs.
func TestNodeStartBlockNeeded(t *testing.T) {
	t.Parallel()
	f := newChainFixture(t, 0)
	cfg := f.config(t, t.TempDir())
	src := &recordingSource{}
	_, err := New(t.Context(), Options{Config: cfg, WrapChain: func(c membership.ChainSource) membership.ChainSource {
		src.ChainSource = c
		return noDeployedBlockSource{src}
	}})
	if !errors.Is(err, membership.ErrNoDeployedBlock) || !strings.Contains(err.Error(), "chain.start-block") {
		t.Fatalf("New = %v, want ErrNoDeployedBlock naming chain.start-block", err)
	}
	cfg.Chain.StartBlock = f.reg.Block
	n, err := New(t.Context(), Options{Config: cfg, WrapChain: func(c membership.ChainSource) membership.ChainSource {
		src.ChainSource = c
		return noDeployedBlockSource{src}
	}})
	if err != nil {
		t.Fatalf("with chain.start-block set: %v", err)
	}
	defer n.Close()
	if low, _ := src.lowest(); low != f.reg.Block {
		t.Fatalf("lowest eth_getLogs block %d, want chain.start-block %d", low, f.reg.Block)
	}
}

// noDeployedBlockSource reverts every eth_call, as a registry without the
// view does.
type noDeployedBlockSource struct{ membership.ChainSource }

func (noDeployedBlockSource) CallContract(context.Context, ethereum.CallMsg, *big.Int) ([]byte, error) {
	return nil, errors.New("execution reverted")
}
