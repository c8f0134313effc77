package membership

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common"
)

// checkReorg compares the last synced block with the chain and rolls back
// to the newest remembered block still on it.
func (g *GroupManager) checkReorg(ctx context.Context) error {
	n := len(g.records)
	for i := n - 1; i >= 0; i-- {
		r := g.records[i]
		h, err := g.header(ctx, new(big.Int).SetUint64(r.number))
		if err != nil && !errors.Is(err, errChainMoved) {
			return err
		}
		if err == nil && h.Hash() == r.hash {
			if i == n-1 {
				return nil
			}
			return g.rollback(i)
		}
	}
	if n == 0 {
		return nil
	}
	return fmt.Errorf("%w: none of the %d remembered blocks %d..%d is on the chain any more (reorg depth limit %d); remove the checkpoint and resync from block %d",
		ErrReorgTooDeep, n, g.records[0].number, g.records[n-1].number, g.cfg.ReorgDepth, g.cfg.StartBlock)
}

// rollback undoes the writes of the blocks after records[fork], newest
// first, rebuilds the window and resumes after records[fork].
func (g *GroupManager) rollback(fork int) error {
	forkBlock := g.records[fork].number
	last := g.records[len(g.records)-1].number
	var orphaned uint64
	for _, r := range g.records[fork+1:] {
		orphaned += uint64(r.changes)
	}
	keep := len(g.undo)
	for keep > 0 && g.undo[keep-1].block > forkBlock {
		keep--
	}
	if journaled := uint64(len(g.undo) - keep); journaled != orphaned {
		return fmt.Errorf("%w: rolling back to block %d means undoing %d leaf writes but the journal holds %d; remove the checkpoint and resync from block %d",
			ErrReorgTooDeep, forkBlock, orphaned, journaled, g.cfg.StartBlock)
	}
	undone := g.undo[keep:]
	indices := make([]uint64, 0, len(undone))
	leaves := make([]fr.Element, 0, len(undone))
	// Newest first: SetBatch lets a later duplicate win, so the oldest
	// previous value of an index is what remains.
	for k := len(undone) - 1; k >= 0; k-- {
		indices = append(indices, undone[k].index)
		leaves = append(leaves, undone[k].prev)
	}

	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.tree.SetBatch(indices, leaves); err != nil {
		return fmt.Errorf("membership: rolling back to block %d: %w", forkBlock, err)
	}
	g.seq -= orphaned
	g.undo = g.undo[:keep]
	if err := g.rebuildWindowLocked(); err != nil {
		return fmt.Errorf("membership: rolling back to block %d: %w", forkBlock, err)
	}
	g.records = g.records[:fork+1]
	g.next = forkBlock + 1
	g.dirty = true
	g.log.Warn("chain reorganisation: rolled back", "last_synced", last, "common_block", forkBlock,
		"depth", last-forkBlock, "undone_writes", orphaned)
	return nil
}

// rebuildWindowLocked makes the window hold the roots after writes
// seq-RootWindow+1 .. seq that ended a transaction, once the writes after
// seq were undone. Roots still in the log are kept; a root that was never
// computed (its write was applied in a batch) is recomputed by undoing the
// journaled writes one by one from the current state; they are then redone
// in one batch.
func (g *GroupManager) rebuildWindowLocked() error {
	seq, rw := g.seq, uint64(g.cfg.RootWindow)
	lo := uint64(0)
	if seq+1 > rw {
		lo = seq + 1 - rw
	}
	known := make(map[uint64]fr.Element, rw)
	for _, e := range g.roots.all() {
		if e.seq >= lo && e.seq <= seq {
			known[e.seq] = e.root
		}
	}
	known[seq] = g.tree.Root()
	lowest := seq
	for s := lo; s < seq; s++ {
		if _, ok := known[s]; !ok {
			lowest = s
			break
		}
	}
	var redoIdx []uint64
	var redoLeaf []fr.Element
	for s := seq; s > lowest; s-- {
		pos := len(g.undo) - 1 - int(seq-s)
		if pos < 0 || g.undo[pos].seq != s {
			g.log.Warn("the window after the rollback lacks roots the journal cannot rebuild", "writes", seq, "missing_below", s)
			break
		}
		e := g.undo[pos]
		cur, err := g.tree.Leaf(e.index)
		if err != nil {
			return err
		}
		redoIdx = append(redoIdx, e.index)
		redoLeaf = append(redoLeaf, cur)
		if err := g.tree.Set(e.index, e.prev); err != nil {
			return err
		}
		// The tree is now as after write s-1: a root the contract had only
		// if that write ended its transaction.
		if pos > 0 && g.undo[pos-1].seq == s-1 && g.undo[pos-1].txEnd {
			known[s-1] = g.tree.Root()
		}
	}
	slices.Reverse(redoIdx)
	slices.Reverse(redoLeaf)
	if err := g.tree.SetBatch(redoIdx, redoLeaf); err != nil {
		return err
	}
	entries := make([]rootEntry, 0, len(known))
	for s := lo; s <= seq; s++ {
		if r, ok := known[s]; ok {
			entries = append(entries, rootEntry{seq: s, root: r})
		}
	}
	g.roots.reset(entries)
	return nil
}

// apply writes the events of blocks up to `to` (hash toHash) into the tree.
// Only the last RootWindow writes leave a root in the window, so the writes
// before them go in as one SetBatch and the rest one by one, recording each
// root. Writes in blocks that can still be reorganised, and the RootWindow
// writes before them, get undo entries.
func (g *GroupManager) apply(events []registryEvent, to uint64, toHash common.Hash) error {
	records, w := collectWrites(events)
	n, rw := len(w.indices), g.cfg.RootWindow
	firstUnfinal := n
	for k := range n {
		if !g.final(w.blocks[k]) {
			firstUnfinal = k
			break
		}
	}
	// Writes [0, bulk) go in one batch, ending with a whole transaction
	// so that the one root it leaves is one the contract had.
	bulk := max(0, n-rw)
	for bulk > 0 && !w.txEnd(bulk-1) {
		bulk++
	}
	journal := max(0, min(n-rw, firstUnfinal-rw)) // writes [journal, n) get undo entries
	undo := make([]undoEntry, 0, n-journal)

	g.mu.Lock()
	defer g.mu.Unlock()
	base := g.seq
	var err error
	start := time.Now()
	if journal < bulk {
		if undo, err = g.journalBatchLocked(&w, base, journal, bulk, to, undo); err != nil {
			return err
		}
	}
	if undo, err = g.writeLocked(&w, base, journal, bulk, to, undo); err != nil {
		return err
	}
	if n > 0 {
		g.insertion.Store(int64(time.Since(start)))
	}
	g.seq = base + uint64(n)
	g.undo = append(g.undo, undo...)
	if n := len(records); n == 0 || records[n-1].number != to {
		records = append(records, blockRecord{number: to, hash: toHash})
	}
	g.records = append(g.records, records...)
	g.next = to + 1
	if n > 0 {
		g.dirty = true
	}
	g.pruneLocked()
	return nil
}

// treeWrites are the leaf writes of a run of events, in order: the block
// and transaction of each write, the leaf index it writes and the new leaf.
type treeWrites struct {
	blocks  []uint64
	txs     []common.Hash
	indices []uint64
	leaves  []fr.Element
}

// txEnd reports whether write k is the last of its transaction among the
// writes: only then is the tree in a state the contract had.
func (w *treeWrites) txEnd(k int) bool {
	return k == len(w.indices)-1 || w.txs[k+1] != w.txs[k] || w.blocks[k+1] != w.blocks[k]
}

// collectWrites returns a record of each block the events are in, counting
// its leaf writes, and the writes: a registration writes its rate
// commitment, a full erasure writes 0 (see registryEvent.writesLeaf).
func collectWrites(events []registryEvent) ([]blockRecord, treeWrites) {
	var (
		records []blockRecord
		w       treeWrites
		pairs   []fr.Element // (idCommitment, rateLimit) per registration
		isReg   []bool
	)
	for k := range events {
		ev := &events[k]
		if n := len(records); n == 0 || records[n-1].number != ev.block {
			records = append(records, blockRecord{number: ev.block, hash: ev.blockHash})
		}
		if !ev.writesLeaf() {
			continue
		}
		records[len(records)-1].changes++
		w.blocks = append(w.blocks, ev.block)
		w.txs = append(w.txs, ev.txHash)
		w.indices = append(w.indices, ev.index)
		isReg = append(isReg, ev.kind == eventRegistered)
		if ev.kind == eventRegistered {
			pairs = append(pairs, ev.commitment, ev.rateLimit)
		}
	}
	regLeaves := rateCommitments(pairs)
	w.leaves = make([]fr.Element, len(w.indices))
	for k, r := 0, 0; k < len(w.leaves); k++ {
		if isReg[k] {
			w.leaves[k] = regLeaves[r]
			r++
		} // else: fully erased, leaf 0
	}
	return records, w
}

// journalBatchLocked appends to undo the entries of the batched writes
// [journal, bulk) of w, numbered from base+1. The previous value of a
// batched write is the last earlier write to the index in this batch,
// else the tree's leaf.
func (g *GroupManager) journalBatchLocked(w *treeWrites, base uint64, journal, bulk int, to uint64, undo []undoEntry) ([]undoEntry, error) {
	need := make(map[uint64]bool, bulk-journal)
	for k := journal; k < bulk; k++ {
		need[w.indices[k]] = true
	}
	written := make(map[uint64]fr.Element, len(need))
	for k := range bulk {
		i := w.indices[k]
		if k >= journal {
			prev, ok := written[i]
			if !ok {
				var err error
				if prev, err = g.tree.Leaf(i); err != nil {
					return undo, fmt.Errorf("membership: applying blocks up to %d: %w", to, err)
				}
			}
			undo = append(undo, undoEntry{seq: base + uint64(k) + 1, block: w.blocks[k], index: i, prev: prev, txEnd: w.txEnd(k)})
		}
		if need[i] {
			written[i] = w.leaves[k]
		}
	}
	return undo, nil
}

// writeLocked writes w into the tree: writes [0, bulk) in one SetBatch,
// leaving one root in the window, then the rest one by one, the last write
// of each transaction leaving its root. Writes from journal on get undo
// entries, appended to undo.
func (g *GroupManager) writeLocked(w *treeWrites, base uint64, journal, bulk int, to uint64, undo []undoEntry) ([]undoEntry, error) {
	if bulk > 0 {
		if err := g.tree.SetBatch(w.indices[:bulk], w.leaves[:bulk]); err != nil {
			return undo, fmt.Errorf("membership: applying blocks up to %d: %w", to, err)
		}
		g.roots.push(base+uint64(bulk), g.tree.Root())
	}
	for k := bulk; k < len(w.indices); k++ {
		seq := base + uint64(k) + 1
		if k >= journal {
			prev, err := g.tree.Leaf(w.indices[k])
			if err != nil {
				return undo, fmt.Errorf("membership: applying block %d: %w", w.blocks[k], err)
			}
			undo = append(undo, undoEntry{seq: seq, block: w.blocks[k], index: w.indices[k], prev: prev, txEnd: w.txEnd(k)})
		}
		if err := g.tree.Set(w.indices[k], w.leaves[k]); err != nil {
			return undo, fmt.Errorf("membership: applying block %d: %w", w.blocks[k], err)
		}
		if w.txEnd(k) {
			g.roots.push(seq, g.tree.Root())
		}
	}
	return undo, nil
}

// pruneLocked forgets the records older than the anchor (the newest final
// record) and the undo entries no rollback can need: it keeps the writes
// in blocks that are not final and the RootWindow writes before them (to
// rebuild the window after a rollback), or the last RootWindow writes if
// every write is final.
func (g *GroupManager) pruneLocked() {
	for i := len(g.records) - 1; i > 0; i-- {
		if g.final(g.records[i].number) {
			g.records = append([]blockRecord(nil), g.records[i:]...)
			break
		}
	}
	first := len(g.undo)
	for k := range g.undo {
		if !g.final(g.undo[k].block) {
			first = k
			break
		}
	}
	if cut := max(0, first-g.cfg.RootWindow); cut > 0 {
		g.undo = append([]undoEntry(nil), g.undo[cut:]...)
	}
}
