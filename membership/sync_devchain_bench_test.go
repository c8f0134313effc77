package membership

import (
	"context"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/rlnd/rlnd/contracts/devchain"
)

// Filling the dev chain: registerBatch of batchMembers per transaction
// (~800k gas a member on the dev chain's rules: WakuRlnV2's five-slot
// membership record, the deposit transfer and the leaf), each with a fixed limit
// under EIP-7825's 2^24 cap, txsPerBlock transactions per block: ~26M gas,
// under the 30M target of a 60M block, so the base fee does not climb.
const (
	batchMembers = 16
	batchGas     = 16_000_000
	txsPerBlock  = 2
)

// fillBatches registers n members (ids from d.next on, rate limit 1) with
// registerBatch and seals them; it returns the blocks sealed.
func (d *devnet) fillBatches(tb testing.TB, n int) int {
	tb.Helper()
	auth := *d.auth
	auth.GasLimit = batchGas
	next := withNonces(tb, d.chain, &auth)
	blocks := 0
	var last *types.Transaction
	for n > 0 {
		for k := 0; k < txsPerBlock && n > 0; k++ {
			ids := make([]*big.Int, min(batchMembers, n))
			for j := range ids {
				d.next++
				ids[j] = big.NewInt(d.next)
			}
			n -= len(ids)
			tx, err := d.dev.RegisterBatch(next(), ids, 1)
			if err != nil {
				tb.Fatal(err)
			}
			last = tx
		}
		d.chain.Commit()
		blocks++
	}
	r, err := d.chain.WaitMined(tb.Context(), last)
	if err != nil || r.Status != types.ReceiptStatusSuccessful {
		tb.Fatalf("registerBatch failed: %v", err)
	}
	return blocks
}

// bench100k is the dev chain of BenchmarkSyncDevchain100k, filled once per
// process (about two minutes on two cores) and shared by its -count runs.
var bench100k struct {
	once   sync.Once
	d      *devnet
	blocks int
}

// BenchmarkSyncDevchain100k syncs 100,000 registrations from the embedded
// dev chain (the registry contract, registered 32 per registerBatch, 64
// per block) over HTTP JSON-RPC, with the default configuration: each run is
// a fresh manager reading the history with eth_getLogs, building the tree
// and the root window, and comparing its root with the contract's root().
// The chain is filled before the timer starts.
func BenchmarkSyncDevchain100k(b *testing.B) {
	const members = 100_000
	bench100k.once.Do(func() {
		start := time.Now()
		// The chain outlives this run (no cleanup): later -count runs use it.
		bench100k.d, _ = startDevnet(b)
		bench100k.blocks = bench100k.d.fillBatches(b, members)
		b.Logf("dev chain filled: %d registrations in %d blocks in %v", members, bench100k.blocks, time.Since(start).Round(time.Second))
	})
	d := bench100k.d
	if d == nil {
		b.Fatal("dev chain fill failed in an earlier run")
	}
	client, err := ethclient.Dial(d.chain.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	cfg := SyncConfig{Contract: d.addr, ChainID: devchain.ChainID, StartBlock: d.deployed}
	for b.Loop() {
		g, err := NewGroupManager(client, cfg)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		if err := g.SyncOnce(ctx); err != nil {
			cancel()
			b.Fatal(err)
		}
		ok, err := g.CheckOnChainRoot(ctx)
		cancel()
		if err != nil || !ok {
			b.Fatalf("local root differs from the contract's: %v", err)
		}
		if got := g.tree.NextIndex(); got != members {
			b.Fatalf("synced %d members, want %d", got, members)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/sync")
	b.ReportMetric(float64(members)*float64(b.N)/b.Elapsed().Seconds(), "registrations/s")
}
