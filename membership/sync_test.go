package membership

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

func TestSyncFullMatchesReference(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		blocks     int
		maxPer     int
		batch      uint64
		window     int
		reorgDepth uint64
	}{
		{name: "one batch, all final, bulk path", blocks: 80, maxPer: 8, batch: 1000, window: 10, reorgDepth: 2},
		{name: "many small batches", blocks: 60, maxPer: 5, batch: 7, window: 10, reorgDepth: 8},
		{name: "window larger than history", blocks: 5, maxPer: 3, batch: 100, window: 50, reorgDepth: 64},
		{name: "window of one", blocks: 40, maxPer: 6, batch: 9, window: 1, reorgDepth: 3},
		{name: "everything journaled", blocks: 30, maxPer: 6, batch: 1000, window: 5, reorgDepth: 64},
		{name: "empty chain", blocks: 10, maxPer: 0, batch: 4, window: 10, reorgDepth: 4},
	}
	for k, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newFakeChain()
			c.addBlocks(newEventGen(uint64(k)+1).blocks(tc.blocks, tc.maxPer, true))
			cfg := testSyncConfig(t)
			cfg.BatchSize, cfg.RootWindow, cfg.ReorgDepth = tc.batch, tc.window, tc.reorgDepth
			g := newTestManager(t, c, cfg)
			syncOnce(t, g)
			if got, want := g.SyncedBlock(), c.head(); got != want {
				t.Fatalf("SyncedBlock = %d, want the head %d", got, want)
			}
			checkMatchesReference(t, c, g, tc.window)
			ok, err := g.CheckOnChainRoot(t.Context())
			if err != nil || !ok {
				t.Fatalf("CheckOnChainRoot = %v, %v; want true", ok, err)
			}
			// Following the head one block at a time keeps the window exact.
			gen := newEventGen(uint64(k) + 100)
			for range 5 {
				c.addBlocks(gen.blocks(1, 4, false))
				syncOnce(t, g)
				checkMatchesReference(t, c, g, tc.window)
			}
		})
	}
}

func TestSyncResumesFromCheckpoint(t *testing.T) {
	t.Parallel()
	c := newFakeChain()
	c.addBlocks(newEventGen(7).blocks(50, 4, true))
	cfg := testSyncConfig(t)
	cfg.BatchSize = 10
	cfg.CheckpointPath = filepath.Join(t.TempDir(), "sync.ckpt")

	// Kill the first manager when it starts its third batch.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	calls := 0
	c.onFilterLogs = func(from, to uint64) {
		if calls++; calls == 3 {
			cancel()
		}
	}
	g1 := newTestManager(t, c, cfg)
	err := g1.SyncOnce(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("SyncOnce with a cancelled context = %v, want context.Canceled", err)
	}
	if got := g1.SyncedBlock(); got != 20 {
		t.Fatalf("first manager synced to block %d, want 20 (two batches of 10)", got)
	}

	c.mu.Lock()
	c.onFilterLogs, c.ranges = nil, nil
	c.mu.Unlock()
	g2 := newTestManager(t, c, cfg)
	syncOnce(t, g2)
	ranges := c.filterRanges()
	if len(ranges) == 0 || ranges[0][0] != 21 {
		t.Fatalf("resumed manager read %v, want to start at block 21", ranges)
	}
	for _, r := range ranges {
		if r[0] <= 20 {
			t.Fatalf("resumed manager read blocks %d..%d again, before the checkpoint's block 20", r[0], r[1])
		}
	}
	checkMatchesReference(t, c, g2, cfg.RootWindow)

	// A restart with nothing new reads no logs at all.
	c.mu.Lock()
	c.ranges = nil
	c.mu.Unlock()
	g3 := newTestManager(t, c, cfg)
	syncOnce(t, g3)
	if r := c.filterRanges(); len(r) != 0 {
		t.Fatalf("restart at the head read logs %v", r)
	}
	checkMatchesReference(t, c, g3, cfg.RootWindow)
}

func TestSyncReorg(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		replace   int // blocks dropped
		newBlocks int // blocks added on the new branch
		restart   bool
		confirm   uint64
		maxPer    int // events per block, default 4
	}{
		{name: "same length", replace: 3, newBlocks: 3},
		{name: "shorter", replace: 3, newBlocks: 1},
		{name: "longer", replace: 3, newBlocks: 5},
		{name: "empty new branch", replace: 2, newBlocks: 0},
		{name: "at the depth limit", replace: 8, newBlocks: 8},
		{name: "after restart from checkpoint", replace: 3, newBlocks: 4, restart: true},
		{name: "with confirmations", replace: 5, newBlocks: 5, confirm: 2},
		{name: "dense blocks", replace: 2, newBlocks: 2, maxPer: 25},
		{name: "dense blocks, deep", replace: 7, newBlocks: 1, maxPer: 25, restart: true},
	}
	for k, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gen := newEventGen(uint64(k) + 40)
			c := newFakeChain()
			c.addBlocks(gen.blocks(30, cmp.Or(tc.maxPer, 4), true))
			cfg := testSyncConfig(t)
			cfg.Confirmations = tc.confirm
			cfg.CheckpointPath = filepath.Join(t.TempDir(), "sync.ckpt")
			g := newTestManager(t, c, cfg)
			syncOnce(t, g)
			checkMatchesReference(t, c, g, cfg.RootWindow)

			_, oldRoots, err := c.reference(c.head())
			if err != nil {
				t.Fatal(err)
			}
			forkAt := c.head() - uint64(tc.replace) // last common block
			_, commonRoots, err := c.reference(forkAt)
			if err != nil {
				t.Fatal(err)
			}
			orphaned := oldRoots[len(commonRoots):]

			// The new branch re-registers at the orphaned indices too.
			branch := make([][]fakeEvent, tc.newBlocks)
			for i := range branch {
				for range 3 {
					branch[i] = append(branch[i], gen.register())
				}
			}
			c.reorg(tc.replace, branch...)
			if tc.restart {
				g = newTestManager(t, c, cfg)
			}
			syncOnce(t, g)
			if got, want := g.SyncedBlock(), c.head()-tc.confirm; got != want {
				t.Fatalf("SyncedBlock = %d, want %d", got, want)
			}
			checkMatchesReference(t, c, g, cfg.RootWindow)
			_, newRoots, _ := c.reference(g.SyncedBlock())
			for _, r := range orphaned {
				if g.IsValidRoot(r) && !slices.Contains(newRoots, r) {
					t.Fatalf("root %s of an orphaned event is still valid", r.String())
				}
			}
		})
	}
}

func TestSyncReorgTooDeep(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		replace int
		ok      bool
	}{
		{name: "at the limit", replace: 4, ok: true},
		{name: "one block deeper", replace: 5},
		{name: "much deeper", replace: 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Every block has an event, so every block is remembered and
			// the limit is exact.
			gen := newEventGen(99)
			c := newFakeChain()
			for range 30 {
				c.addBlock(gen.register())
			}
			cfg := testSyncConfig(t)
			cfg.ReorgDepth = 4
			g := newTestManager(t, c, cfg)
			syncOnce(t, g)
			branch := make([][]fakeEvent, tc.replace)
			for i := range branch {
				branch[i] = []fakeEvent{gen.register()}
			}
			c.reorg(tc.replace, branch...)
			err := g.SyncOnce(t.Context())
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				checkMatchesReference(t, c, g, cfg.RootWindow)
				return
			}
			if !errors.Is(err, ErrReorgTooDeep) {
				t.Fatalf("SyncOnce after a %d-block reorg with ReorgDepth 4 = %v, want ErrReorgTooDeep", tc.replace, err)
			}
			if !strings.Contains(err.Error(), "resync") {
				t.Errorf("error %q does not tell the caller to resync", err)
			}
		})
	}
}

// A reorg reaching below ReorgDepth is still undone exactly when the
// blocks between the newest remembered final block and the fork had no
// registry events.
func TestSyncReorgPastQuietBlocks(t *testing.T) {
	t.Parallel()
	gen := newEventGen(98)
	c := newFakeChain()
	for range 10 {
		c.addBlock(gen.register())
	}
	c.addBlocks(make([][]fakeEvent, 20)) // quiet blocks 11..30
	cfg := testSyncConfig(t)
	cfg.ReorgDepth = 4
	g := newTestManager(t, c, cfg)
	syncOnce(t, g)
	c.reorg(10, [][]fakeEvent{{gen.register()}, {gen.register()}}...)
	syncOnce(t, g)
	checkMatchesReference(t, c, g, cfg.RootWindow)
}

func TestSyncFlakyRPC(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		failEvery int
		maxLogs   int
	}{
		{name: "every other call fails", failEvery: 2},
		{name: "every third call fails", failEvery: 3},
		{name: "too many results", maxLogs: 12},
		{name: "too many results and failures", failEvery: 2, maxLogs: 12},
	}
	for k, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gen := newEventGen(uint64(k) + 200)
			c := newFakeChain()
			c.addBlocks(gen.blocks(60, 4, true))
			c.failEvery, c.maxLogs = tc.failEvery, tc.maxLogs
			cfg := testSyncConfig(t)
			cfg.BatchSize = 32
			cfg.CheckpointPath = filepath.Join(t.TempDir(), "sync.ckpt")
			g := newTestManager(t, c, cfg)
			syncOnce(t, g)
			checkMatchesReference(t, c, g, cfg.RootWindow)

			// Through a reorg as well.
			c.reorg(3, gen.blocks(4, 4, false)...)
			syncOnce(t, g)
			checkMatchesReference(t, c, g, cfg.RootWindow)

			if tc.failEvery > 0 && c.failures == 0 {
				t.Fatal("no failure was injected")
			}
		})
	}
}

func TestSyncRangeGrowsBack(t *testing.T) {
	t.Parallel()
	gen := newEventGen(5)
	c := newFakeChain()
	// A burst of events early on, then quiet blocks.
	c.addBlocks(gen.blocks(8, 10, false))
	c.addBlocks(make([][]fakeEvent, 200))
	c.maxLogs = 10
	cfg := testSyncConfig(t)
	cfg.BatchSize = 64
	g := newTestManager(t, c, cfg)
	syncOnce(t, g)
	checkMatchesReference(t, c, g, cfg.RootWindow)
	ranges := c.filterRanges()
	narrowest := 0
	for k, r := range ranges {
		if r[1]-r[0] < ranges[narrowest][1]-ranges[narrowest][0] {
			narrowest = k
		}
	}
	if w := ranges[narrowest][1] - ranges[narrowest][0] + 1; w >= 64 {
		t.Fatalf("the range was never halved (ranges %v)", ranges)
	}
	grown := false
	for _, r := range ranges[narrowest:] {
		grown = grown || r[1]-r[0]+1 == 64
	}
	if !grown {
		t.Errorf("the range did not grow back to 64 blocks after being halved (ranges %v)", ranges)
	}
}

func TestSyncStartChecks(t *testing.T) {
	t.Parallel()
	other := common.HexToAddress("0x00000000000000000000000000000000deadbeef")
	tests := []struct {
		name     string
		chainID  uint64
		contract common.Address
		want     error
		mention  []string
	}{
		{name: "wrong chain", chainID: 1337, contract: testContract, want: ErrWrongChain, mention: []string{"1337", "59141"}},
		{name: "no contract", chainID: testChainID, contract: other, want: ErrNoContract, mention: []string{"no contract at " + other.Hex(), "on chain 59141"}},
		{name: "any chain accepted", chainID: 0, contract: testContract},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newFakeChain()
			c.addBlock(newEventGen(1).register())
			cfg := testSyncConfig(t)
			cfg.ChainID, cfg.Contract = tc.chainID, tc.contract
			g := newTestManager(t, c, cfg)
			err := g.Start(t.Context())
			defer g.Stop()
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Start = %v, want %v", err, tc.want)
			}
			for _, m := range tc.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			if err := g.SyncOnce(t.Context()); !errors.Is(err, tc.want) {
				t.Errorf("SyncOnce after a failed Start = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSyncMalformedLogs(t *testing.T) {
	t.Parallel()
	reg := encodeEvent(fakeEvent{kind: eventRegistered, id: fr.NewElement(7), rate: 100, index: 3})
	mod := func(f func(l *types.Log)) types.Log {
		l := reg
		l.Topics = slices.Clone(reg.Topics)
		l.Data = slices.Clone(reg.Data)
		f(&l)
		return l
	}
	tests := []struct {
		name string
		log  types.Log
		want string
	}{
		{name: "short data", log: mod(func(l *types.Log) { l.Data = l.Data[:95] }), want: "95 data bytes"},
		{name: "long data", log: mod(func(l *types.Log) { l.Data = append(l.Data, 0) }), want: "97 data bytes"},
		{name: "no data", log: mod(func(l *types.Log) { l.Data = nil }), want: "0 data bytes"},
		{name: "index out of range", log: mod(func(l *types.Log) { copy(l.Data[64:], word(1<<20)) }), want: "index 1048576"},
		{name: "index not a uint32", log: mod(func(l *types.Log) { l.Data[64] = 1 }), want: "not a uint32"},
		{name: "commitment above the modulus", log: mod(func(l *types.Log) {
			for k := range 32 {
				l.Data[k] = 0xff
			}
		}), want: "idCommitment"},
		{name: "rate limit above the modulus", log: mod(func(l *types.Log) {
			for k := 32; k < 64; k++ {
				l.Data[k] = 0xff
			}
		}), want: "membershipRateLimit"},
		{name: "erased rate limit not a uint32", log: mod(func(l *types.Log) {
			l.Topics[0] = topicErased
			l.Data[32] = 1
		}), want: "not a uint32"},
		{name: "extended with registration size", log: mod(func(l *types.Log) { l.Topics[0] = topicExtended }), want: "want 128"},
		{name: "unknown topic", log: mod(func(l *types.Log) { l.Topics[0] = common.HexToHash("0x1234") }), want: "unknown topic"},
		{name: "indexed topic", log: mod(func(l *types.Log) { l.Topics = append(l.Topics, common.Hash{}) }), want: "2 topics"},
		{name: "no topic", log: mod(func(l *types.Log) { l.Topics = nil }), want: "0 topics"},
		{name: "other address", log: mod(func(l *types.Log) { l.Address = common.HexToAddress("0x01") }), want: "emitted by"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gen := newEventGen(3)
			c := newFakeChain()
			c.sloppy = true // let logs the filter would drop through
			c.addBlocks(gen.blocks(3, 3, false))
			c.addBlock(gen.register())
			bad := c.addRawBlock(tc.log)
			c.addBlock(gen.register())
			cfg := testSyncConfig(t)
			cfg.BatchSize = 2
			g := newTestManager(t, c, cfg)
			err := g.SyncOnce(t.Context())
			if !errors.Is(err, ErrMalformedLog) {
				t.Fatalf("SyncOnce = %v, want ErrMalformedLog", err)
			}
			for _, m := range []string{tc.want, fmt.Sprintf("block %d", bad), "log index 0"} {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			// Nothing of the bad batch was applied.
			if got := g.SyncedBlock(); got != bad-1 {
				t.Fatalf("SyncedBlock = %d, want %d (the batch with the bad log is not applied)", got, bad-1)
			}
			checkMatchesReference(t, c, g, cfg.RootWindow)
			// The sync stays stopped there.
			if err := g.SyncOnce(t.Context()); !errors.Is(err, ErrMalformedLog) {
				t.Fatalf("second SyncOnce = %v, want ErrMalformedLog", err)
			}
		})
	}
}

func TestSyncConfirmations(t *testing.T) {
	t.Parallel()
	gen := newEventGen(11)
	c := newFakeChain()
	for range 10 {
		c.addBlock(gen.register())
	}
	cfg := testSyncConfig(t)
	cfg.Confirmations = 3
	g := newTestManager(t, c, cfg)
	for _, step := range []struct{ add, want uint64 }{{0, 7}, {1, 8}, {2, 10}, {0, 10}} {
		for range step.add {
			c.addBlock(gen.register())
		}
		syncOnce(t, g)
		if got := g.SyncedBlock(); got != step.want {
			t.Fatalf("head %d, 3 confirmations: SyncedBlock = %d, want %d", c.head(), got, step.want)
		}
		checkMatchesReference(t, c, g, cfg.RootWindow)
		// The newest, unburied registrations are not in the tree yet.
		_, unburied, _ := c.reference(c.head())
		if root := g.Root(); root.Equal(&unburied[len(unburied)-1]) {
			t.Fatal("events of the last 3 blocks were applied")
		}
	}
}

func TestSyncShortChain(t *testing.T) {
	t.Parallel()
	c := newFakeChain()
	c.addBlock(newEventGen(1).register())
	cfg := testSyncConfig(t)
	cfg.Confirmations = 5 // the head is below the confirmation depth
	g := newTestManager(t, c, cfg)
	syncOnce(t, g)
	if got := g.SyncedBlock(); got != 0 {
		t.Fatalf("SyncedBlock = %d, want 0", got)
	}
	if _, err := g.CheckOnChainRoot(t.Context()); !errors.Is(err, ErrNotSynced) {
		t.Fatalf("CheckOnChainRoot before any block = %v, want ErrNotSynced", err)
	}
}

func TestGroupManagerStartStop(t *testing.T) {
	t.Parallel()
	gen := newEventGen(21)
	c := newFakeChain()
	c.addBlocks(gen.blocks(20, 3, true))
	cfg := testSyncConfig(t)
	cfg.CheckpointPath = filepath.Join(t.TempDir(), "sync.ckpt")
	g := newTestManager(t, c, cfg)
	steps := make(chan error, 1)
	g.afterStep = func(err error) {
		select {
		case steps <- err:
		default:
		}
	}
	waitFor := func(block uint64) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for g.SyncedBlock() != block {
			select {
			case err := <-steps:
				if err != nil && !errors.Is(err, context.Canceled) {
					t.Fatalf("step failed: %v", err)
				}
			case <-deadline:
				t.Fatalf("not synced to block %d (at %d)", block, g.SyncedBlock())
			}
		}
	}
	if err := g.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := g.Start(t.Context()); !errors.Is(err, ErrAlreadyStarted) {
		t.Fatalf("second Start = %v, want ErrAlreadyStarted", err)
	}
	waitFor(c.head())
	c.addBlocks(gen.blocks(3, 3, false))
	waitFor(c.head())
	g.Stop()
	g.Stop() // idempotent
	checkMatchesReference(t, c, g, cfg.RootWindow)

	// Stop saved the checkpoint: a new manager starts at the head.
	c.mu.Lock()
	c.ranges = nil
	c.mu.Unlock()
	g2 := newTestManager(t, c, cfg)
	syncOnce(t, g2)
	if r := c.filterRanges(); len(r) != 0 {
		t.Fatalf("manager restarted after Stop read logs %v", r)
	}
}

func TestGroupManagerLoopStopsOnMalformedLog(t *testing.T) {
	t.Parallel()
	c := newFakeChain()
	c.addBlock(newEventGen(1).register())
	c.addRawBlock(types.Log{Topics: []common.Hash{topicRegistered}, Data: make([]byte, 10)})
	g := newTestManager(t, c, testSyncConfig(t))
	steps := make(chan error, 16)
	g.afterStep = func(err error) { steps <- err }
	if err := g.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	select {
	case err := <-steps:
		if !errors.Is(err, ErrMalformedLog) {
			t.Fatalf("step = %v, want ErrMalformedLog", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no step")
	}
	g.Stop()
	if err := g.Err(); !errors.Is(err, ErrMalformedLog) {
		t.Fatalf("Err = %v, want ErrMalformedLog", err)
	}
}

func TestSyncConfigValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mod  func(*SyncConfig)
	}{
		{name: "no contract", mod: func(c *SyncConfig) { c.Contract = common.Address{} }},
		{name: "negative window", mod: func(c *SyncConfig) { c.RootWindow = -1 }},
		{name: "tiny poll interval", mod: func(c *SyncConfig) { c.PollInterval = time.Nanosecond }},
		{name: "retry max below initial", mod: func(c *SyncConfig) { c.Retry = RetryConfig{Initial: time.Second, Max: time.Millisecond} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testSyncConfig(t)
			tc.mod(&cfg)
			if _, err := NewGroupManager(newFakeChain(), cfg); !errors.Is(err, ErrInvalidSyncConfig) {
				t.Fatalf("NewGroupManager = %v, want ErrInvalidSyncConfig", err)
			}
		})
	}
}

func TestCheckOnChainRootMismatch(t *testing.T) {
	t.Parallel()
	gen := newEventGen(8)
	c := newFakeChain()
	c.addBlocks(gen.blocks(10, 3, false))
	g := newTestManager(t, c, testSyncConfig(t))
	syncOnce(t, g)
	// Tamper with the local tree: the contract's root no longer matches.
	g.mu.Lock()
	if err := g.tree.Set(1000, fr.NewElement(1)); err != nil {
		t.Fatal(err)
	}
	g.mu.Unlock()
	ok, err := g.CheckOnChainRoot(t.Context())
	if err != nil || ok {
		t.Fatalf("CheckOnChainRoot of a tampered tree = %v, %v; want false, nil", ok, err)
	}
}

func FuzzDecodeRegistryLog(f *testing.F) {
	for _, e := range []fakeEvent{
		{kind: eventRegistered, id: fr.NewElement(1), rate: 20, index: 0},
		{kind: eventErased, id: fr.NewElement(2), rate: 20, index: 5},
		{kind: eventExtended, id: fr.NewElement(3), rate: 20, index: 9},
	} {
		l := encodeEvent(e)
		f.Add(l.Topics[0].Bytes(), l.Data)
	}
	f.Fuzz(func(t *testing.T, topic, data []byte) {
		l := types.Log{Address: testContract, Topics: []common.Hash{common.BytesToHash(topic)}, Data: data}
		ev, err := decodeLog(&l, testContract)
		if err != nil {
			if !errors.Is(err, ErrMalformedLog) {
				t.Fatalf("error %v does not wrap ErrMalformedLog", err)
			}
			return
		}
		if ev.index >= MaxMembers {
			t.Fatalf("accepted index %d", ev.index)
		}
	})
}
