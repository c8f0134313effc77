package membership

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sync"
	"sync/atomic"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/rlnd/rlnd/rln/merkle"
)

// ChainSource is what the manager needs of a JSON-RPC endpoint;
// *ethclient.Client satisfies it. HeaderByNumber(nil) is the latest block;
// a block that does not exist gives ethereum.NotFound.
type ChainSource interface {
	ChainID(ctx context.Context) (*big.Int, error)
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
	FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error)
	CodeAt(ctx context.Context, account common.Address, blockNumber *big.Int) ([]byte, error)
	CallContract(ctx context.Context, call ethereum.CallMsg, blockNumber *big.Int) ([]byte, error)
	// TransactionByHash tells a lazy erasure from a full one (see
	// classifyErasures).
	TransactionByHash(ctx context.Context, hash common.Hash) (tx *types.Transaction, isPending bool, err error)
}

var (
	// ErrWrongChain is returned when the endpoint is on another chain
	// than SyncConfig.ChainID.
	ErrWrongChain = errors.New("membership: wrong chain")
	// ErrNoContract is returned when there is no code at the registry
	// address.
	ErrNoContract = errors.New("membership: no registry contract")
	// ErrReorgTooDeep is returned when none of the remembered blocks is
	// on the chain any more: the reorg is deeper than ReorgDepth and the
	// caller must resync from scratch (remove the checkpoint).
	ErrReorgTooDeep = errors.New("membership: reorg deeper than the remembered blocks")
	// ErrNotSynced is returned by CheckOnChainRoot before any block has
	// been synced.
	ErrNotSynced = errors.New("membership: nothing synced yet")
	// ErrAlreadyStarted is returned by Start on a running manager.
	ErrAlreadyStarted = errors.New("membership: group manager already started")

	// errChainMoved means the chain changed while a step was reading it;
	// the step starts over (after a reorg check).
	errChainMoved = errors.New("membership: chain changed during the sync step")
)

// undoEntry is the journal entry of leaf write number seq (counting from
// 1), made in block: leaf index had value prev before it.
type undoEntry struct {
	seq   uint64
	block uint64
	index uint64
	prev  fr.Element
	// txEnd marks the last write of its transaction: the tree after it is
	// a state the contract had, so its root may be in the window.
	txEnd bool
}

// blockRecord is a remembered block: one with registry events, or the last
// block of a batch (the newest record is always the last synced block).
type blockRecord struct {
	number  uint64
	hash    common.Hash
	changes uint32 // leaf writes applied for this block
}

// GroupManager follows the registry contract's events into the depth-20
// membership tree and keeps the window of valid roots. Reads (Root,
// ValidRoots, IsValidRoot, Proof, SyncedBlock) are safe concurrently with
// the sync.
//
// Reorg handling: the manager remembers the hashes of the blocks it applied
// events from and of the last synced block, back to the newest block that
// is at least ReorgDepth blocks below the highest safe head seen (the
// anchor). Leaf writes in blocks above the anchor, and the RootWindow writes
// before them, are kept in an undo journal (index and previous leaf). Each
// step compares the last synced block's hash with the chain; on a mismatch
// it walks back to the newest remembered block still on the chain, undoes
// the newer writes, rebuilds the window (from the journal where a root was
// never computed) and resyncs from there. A reorg of at most ReorgDepth
// blocks below the safe head is always undone; a deeper one too if no
// registry event happened between the anchor and the fork, otherwise it is
// ErrReorgTooDeep.
type GroupManager struct {
	src ChainSource
	cfg SyncConfig
	log *slog.Logger

	// stepMu serialises steps (SyncOnce, Start's checks, the final save);
	// the fields below it are only touched with it held.
	stepMu      sync.Mutex
	initialised bool
	chainID     uint64
	batch       uint64 // current eth_getLogs range, <= cfg.BatchSize
	records     []blockRecord
	undo        []undoEntry // consecutive seqs, ending at the last write
	horizon     uint64      // highest safe head seen
	savedNext   uint64      // next at the last checkpoint
	dirty       bool        // tree changed since the last checkpoint
	history     *historyRun // the current step's progress (sync_status.go)
	needVerify  bool        // compare the root with the registry's after the step

	// Counters of the root checks (read by the metrics).
	rootMatches       atomic.Uint64 // checks that found the registry's root
	repairs           atomic.Uint64 // mismatches repaired
	repairedLeaves    atomic.Uint64 // leaves written by repairs
	undecodedErasures atomic.Uint64 // erasures taken as lazy without knowing
	lastRepair        atomic.Pointer[Repair]
	// insertion is how long the last batch of leaf writes took, in ns
	// (waku_rln_membership_insertion_duration_seconds).
	insertion atomic.Int64

	// mu guards what readers see. Only the holder of stepMu writes.
	mu    sync.RWMutex
	tree  *merkle.Tree
	roots *rootLog
	seq   uint64 // leaf writes applied so far
	next  uint64 // next block to read
	fatal error  // why the loop stopped

	// status is what the health check reads (sync_status.go).
	status syncStatus

	runMu  sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}

	// afterStep, if set (tests), is called by the loop after each step.
	afterStep func(error)
}

var _ Group = (*GroupManager)(nil)

// NewGroupManager returns a manager for cfg's registry read through src,
// its metrics registered on cfg.Registerer. It does no I/O: Start (or the
// first SyncOnce) checks the chain and loads the checkpoint.
func NewGroupManager(src ChainSource, cfg SyncConfig) (*GroupManager, error) {
	if src == nil {
		return nil, fmt.Errorf("%w: nil chain source", ErrInvalidSyncConfig)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	tree, err := newMembershipTree()
	if err != nil {
		return nil, fmt.Errorf("membership: %w", err)
	}
	roots := newRootLog(cfg.RootWindow)
	roots.push(0, tree.Root())
	g := &GroupManager{
		src:       src,
		cfg:       cfg,
		log:       cfg.Logger.With("component", "membership-sync", "contract", cfg.Contract.Hex()),
		batch:     cfg.BatchSize,
		savedNext: cfg.StartBlock,
		tree:      tree,
		roots:     roots,
		next:      cfg.StartBlock,
	}
	if err := g.registerMetrics(cfg.Registerer); err != nil {
		return nil, err
	}
	return g, nil
}

// Start checks that the endpoint is on the configured chain and that the
// registry has code, loads the checkpoint, and then syncs in a goroutine
// owned by the manager: history first, then the head every PollInterval.
// It returns once the checks are done. The loop runs until Stop or until
// ctx is cancelled; a malformed log or a too-deep reorg stops it (see Err).
func (g *GroupManager) Start(ctx context.Context) error {
	g.runMu.Lock()
	defer g.runMu.Unlock()
	if g.done != nil {
		return ErrAlreadyStarted
	}
	g.stepMu.Lock()
	err := g.initLocked(ctx)
	g.stepMu.Unlock()
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.fatal = nil
	g.mu.Unlock()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	g.cancel, g.done = cancel, done
	go g.run(runCtx, done)
	return nil
}

// Stop stops the loop started by Start, waits for it to finish and saves
// the checkpoint. It is a no-op if the loop is not running.
func (g *GroupManager) Stop() {
	g.runMu.Lock()
	defer g.runMu.Unlock()
	if g.done == nil {
		return
	}
	g.cancel()
	<-g.done
	g.cancel, g.done = nil, nil
}

// Err returns the error that stopped the loop, or nil.
func (g *GroupManager) Err() error {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.fatal
}

// isFatal reports whether retrying err cannot help.
func isFatal(err error) bool {
	for _, e := range []error{ErrMalformedLog, ErrReorgTooDeep, ErrWrongChain, ErrNoContract, ErrCorruptCheckpoint, ErrCheckpointMismatch} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func (g *GroupManager) run(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	defer g.saveOnExit()
	retry := newBackoff(g.cfg.Retry)
	for {
		err := g.SyncOnce(ctx)
		if g.afterStep != nil {
			g.afterStep(err)
		}
		if ctx.Err() != nil {
			return
		}
		wait := g.cfg.PollInterval
		switch {
		case err == nil:
			retry.reset()
		case isFatal(err):
			g.log.Error("membership sync stopped", "err", err)
			g.mu.Lock()
			g.fatal = err
			g.mu.Unlock()
			return
		default:
			wait = retry.wait()
			g.log.Warn("membership sync step failed; retrying", "err", err, "retry_in", wait)
		}
		if sleepCtx(ctx, wait) != nil {
			return
		}
	}
}

func (g *GroupManager) saveOnExit() {
	g.stepMu.Lock()
	defer g.stepMu.Unlock()
	if !g.initialised || (!g.dirty && g.next == g.savedNext) {
		return
	}
	if err := g.saveCheckpoint(); err != nil {
		g.log.Error("saving the membership checkpoint on stop failed", "err", err)
	}
}

// SyncOnce runs one step: it checks for a reorg and applies the events of
// every block up to the current safe head (head - Confirmations), in
// batches, saving the checkpoint as it goes. RPC failures are retried with
// backoff while ctx is alive. The first call does Start's checks.
func (g *GroupManager) SyncOnce(ctx context.Context) error {
	g.stepMu.Lock()
	defer g.stepMu.Unlock()
	if err := g.initLocked(ctx); err != nil {
		return err
	}
	retry := newBackoff(g.cfg.Retry)
	var err error
	for {
		err = g.step(ctx)
		if !errors.Is(err, errChainMoved) {
			break
		}
		g.log.Info("the chain changed during the sync step; starting it over", "err", err)
		if err = sleepCtx(ctx, retry.wait()); err != nil {
			break
		}
	}
	if err == nil && g.dirty {
		err = g.saveCheckpoint()
	}
	if err == nil {
		g.stepDone()
	}
	return err
}

// initLocked does Start's checks and loads the checkpoint, once.
func (g *GroupManager) initLocked(ctx context.Context) error {
	if g.initialised {
		return nil
	}
	id, err := retryCall(ctx, g, "eth_chainId", func(ctx context.Context) (*big.Int, error) {
		return g.src.ChainID(ctx)
	})
	if err != nil {
		return err
	}
	if id == nil || !id.IsUint64() {
		return fmt.Errorf("%w: the endpoint reports chain id %v, want a uint64", ErrWrongChain, id)
	}
	chainID := id.Uint64()
	if g.cfg.ChainID != 0 && chainID != g.cfg.ChainID {
		return fmt.Errorf("%w: the endpoint is on chain %d, want chain %d", ErrWrongChain, chainID, g.cfg.ChainID)
	}
	code, err := retryCall(ctx, g, "eth_getCode", func(ctx context.Context) ([]byte, error) {
		return g.src.CodeAt(ctx, g.cfg.Contract, nil)
	})
	if err != nil {
		return err
	}
	if len(code) == 0 {
		return fmt.Errorf("%w: no contract at %s on chain %d", ErrNoContract, g.cfg.Contract.Hex(), chainID)
	}
	g.chainID = chainID
	if err := g.loadCheckpoint(); err != nil {
		return err
	}
	// Check the checkpoint's tree against the registry once caught up.
	g.needVerify = g.next > g.cfg.StartBlock
	g.initialised = true
	g.log.Info("membership sync ready", "chain_id", chainID, "next_block", g.next)
	return nil
}

// final reports whether block b is too old to be reorganised:
// ReorgDepth or more below the highest safe head seen.
func (g *GroupManager) final(b uint64) bool {
	return g.horizon >= g.cfg.ReorgDepth && b <= g.horizon-g.cfg.ReorgDepth
}

// step is SyncOnce without the retry of errChainMoved.
func (g *GroupManager) step(ctx context.Context) error {
	head, err := g.header(ctx, nil)
	if err != nil {
		return err
	}
	if err := g.checkReorg(ctx); err != nil {
		return err
	}
	if !head.Number.IsUint64() {
		return fmt.Errorf("membership: head block number %v does not fit a uint64", head.Number)
	}
	h := head.Number.Uint64()
	g.sawHead(h)
	if h < g.cfg.Confirmations {
		return nil
	}
	safe := h - g.cfg.Confirmations
	if safe < g.next {
		if g.needVerify && g.next > g.cfg.StartBlock {
			return g.verifyRoot(ctx)
		}
		return nil
	}
	g.horizon = max(g.horizon, safe)
	g.beginRun(safe, h)
	for g.next <= safe {
		if err := g.syncBatch(ctx, safe); err != nil {
			return err
		}
		g.batchApplied()
	}
	if g.needVerify && g.next > g.cfg.StartBlock {
		return g.verifyRoot(ctx)
	}
	return nil
}

// syncBatch reads and applies the events of blocks next..min(next+batch-1,
// safe).
func (g *GroupManager) syncBatch(ctx context.Context, safe uint64) error {
	from := g.next
	to := safe
	if to-from >= g.batch {
		to = from + g.batch - 1
	}
	logs, to, err := g.fetchLogs(ctx, from, to)
	if err != nil {
		return err
	}
	toHeader, err := g.header(ctx, new(big.Int).SetUint64(to))
	if err != nil {
		return err
	}
	toHash := toHeader.Hash()
	events, err := decodeLogs(logs, from, to, g.cfg.Contract)
	if err != nil {
		return err
	}
	if err := g.classifyErasures(ctx, events); err != nil {
		return err
	}
	if len(events) > 0 {
		g.needVerify = true
	}
	// Writes in blocks that can still be reorganised are journaled by
	// block hash, so check those hashes against the chain now: the logs
	// and the header may have come from different forks.
	checked := map[uint64]bool{to: true}
	for k := range events {
		ev := &events[k]
		if ev.block == to && ev.blockHash != toHash {
			return fmt.Errorf("%w: logs of block %d have hash %s, its header %s", errChainMoved, to, ev.blockHash.Hex(), toHash.Hex())
		}
		if g.final(ev.block) || checked[ev.block] {
			continue
		}
		checked[ev.block] = true
		h, err := g.header(ctx, new(big.Int).SetUint64(ev.block))
		if err != nil {
			return err
		}
		if h.Hash() != ev.blockHash {
			return fmt.Errorf("%w: logs of block %d have hash %s, its header %s", errChainMoved, ev.block, ev.blockHash.Hex(), h.Hash().Hex())
		}
	}
	if err := g.apply(events, to, toHash); err != nil {
		return err
	}
	g.batch = min(g.cfg.BatchSize, g.batch*2)
	if g.cfg.CheckpointPath != "" && (g.dirty || g.next-g.savedNext >= g.cfg.BatchSize) {
		return g.saveCheckpoint()
	}
	return nil
}

// Root returns the current root.
func (g *GroupManager) Root() fr.Element {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.tree.Root()
}

// ValidRoots returns the last RootWindow roots, one per leaf write applied
// (the empty tree's root before any), oldest first.
func (g *GroupManager) ValidRoots() []fr.Element {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.roots.list()
}

// IsValidRoot reports whether r is in the window of valid roots.
func (g *GroupManager) IsValidRoot(r fr.Element) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.roots.contains(r)
}

// RootAge returns how many leaf writes were applied after r's entry in
// the window (membership.RootAger).
func (g *GroupManager) RootAge(r fr.Element) (uint64, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.roots.age(r)
}

// RootWindow returns the window's size in leaf writes.
func (g *GroupManager) RootWindow() int { return g.roots.window }

// Proof returns the Merkle path of leaf index against Root().
func (g *GroupManager) Proof(index uint64) (merkle.Proof, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	p, err := g.tree.Proof(index)
	if err != nil {
		return merkle.Proof{}, fmt.Errorf("membership: proof of leaf %d: %w", index, err)
	}
	return p, nil
}

// SyncedBlock returns the last block whose events are applied (StartBlock-1
// before any, 0 if that is negative).
func (g *GroupManager) SyncedBlock() uint64 {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.next == 0 {
		return 0
	}
	return g.next - 1
}

// CheckOnChainRoot compares the local root with the contract's root() at
// SyncedBlock.
func (g *GroupManager) CheckOnChainRoot(ctx context.Context) (bool, error) {
	g.mu.RLock()
	next, local := g.next, g.tree.Root()
	g.mu.RUnlock()
	if next <= g.cfg.StartBlock {
		return false, ErrNotSynced
	}
	block := next - 1
	onChain, err := g.rootAt(ctx, block)
	if err != nil {
		return false, err
	}
	if !onChain.Equal(&local) {
		g.log.Warn("local root differs from the contract's", "block", block, "local", local.String(), "on_chain", onChain.String())
		return false, nil
	}
	return true, nil
}
