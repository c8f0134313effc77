package membership

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/crypto"
)

// repairPage is how many leaves one getRateCommitmentsInRangeBoundsInclusive
// call reads during a repair (32 KiB of return data).
const repairPage = 1024

var (
	selNextFreeIndex = crypto.Keccak256([]byte("nextFreeIndex()"))[:4]
	selLeafRange     = crypto.Keccak256([]byte("getRateCommitmentsInRangeBoundsInclusive(uint32,uint32)"))[:4]
)

// verifyRoot compares the local root with the registry's root() at the
// last synced block. On a mismatch it repairs the tree from the registry's
// leaves at that block (repairLeaves), counts the repair, says so in the
// log, and leaves only the repaired root in the window: the roots since
// the last match may be ones the contract never had.
func (g *GroupManager) verifyRoot(ctx context.Context) error {
	block := g.next - 1
	onChain, err := g.rootAt(ctx, block)
	if err != nil {
		return err
	}
	local := g.Root()
	if local.Equal(&onChain) {
		g.needVerify = false
		g.rootMatches.Add(1)
		return nil
	}
	g.log.Warn("the local membership root differs from the registry's; repairing the tree from the registry's leaves",
		"block", block, "local", local.String(), "registry", onChain.String())
	fixed, err := g.repairLeaves(ctx, block)
	if err != nil {
		return fmt.Errorf("membership: repairing the tree at block %d: %w", block, err)
	}
	g.repairs.Add(1)
	g.repairedLeaves.Add(uint64(fixed))
	if local = g.Root(); !local.Equal(&onChain) {
		return fmt.Errorf("membership: root %s still differs from the registry's %s at block %d after repairing %d leaves",
			local.String(), onChain.String(), block, fixed)
	}
	g.needVerify = false
	g.lastRepair.Store(&Repair{At: time.Now(), Block: block, Leaves: fixed})
	g.log.Warn("membership tree repaired: its root matches the registry's again",
		"block", block, "leaves_fixed", fixed, "repairs_so_far", g.repairs.Load())
	return nil
}

// Repair describes the last repair of the tree (see verifyRoot).
type Repair struct {
	At     time.Time // when it was made
	Block  uint64    // the block whose root() the tree did not match
	Leaves int       // leaves rewritten from the registry
}

// LastRepair returns the last repair, if the tree was ever repaired since
// the manager started.
func (g *GroupManager) LastRepair() (Repair, bool) {
	r := g.lastRepair.Load()
	if r == nil {
		return Repair{}, false
	}
	return *r, true
}

// repairLeaves reads every leaf below the registry's nextFreeIndex at
// block, writes the ones that differ (journaled at block, like the
// events' writes, so a reorg undoes them), and returns how many it wrote.
func (g *GroupManager) repairLeaves(ctx context.Context, block uint64) (int, error) {
	n, err := g.uint32At(ctx, selNextFreeIndex, block)
	if err != nil {
		return 0, err
	}
	if n > MaxMembers {
		return 0, fmt.Errorf("membership: the registry reports nextFreeIndex %d at block %d, past the depth-%d tree's %d leaves", n, block, TreeDepth, MaxMembers)
	}
	var indices []uint64
	var leaves []fr.Element
	for start := uint64(0); start < uint64(n); start += repairPage {
		end := min(start+repairPage, uint64(n)) - 1
		got, err := g.leavesAt(ctx, start, end, block)
		if err != nil {
			return 0, err
		}
		g.mu.RLock()
		for k := range got {
			cur, err := g.tree.Leaf(start + uint64(k))
			if err != nil {
				g.mu.RUnlock()
				return 0, err
			}
			if !cur.Equal(&got[k]) {
				indices = append(indices, start+uint64(k))
				leaves = append(leaves, got[k])
			}
		}
		g.mu.RUnlock()
	}
	return len(indices), g.writeRepairLocked(block, indices, leaves)
}

// writeRepairLocked writes the repaired leaves as writes of block (the
// last synced one) and resets the window to the repaired root.
func (g *GroupManager) writeRepairLocked(block uint64, indices []uint64, leaves []fr.Element) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, i := range indices {
		prev, err := g.tree.Leaf(i)
		if err != nil {
			return err
		}
		g.undo = append(g.undo, undoEntry{seq: g.seq + uint64(k) + 1, block: block, index: i, prev: prev, txEnd: k == len(indices)-1})
	}
	if err := g.tree.SetBatch(indices, leaves); err != nil {
		return err
	}
	g.seq += uint64(len(indices))
	if n := len(g.records); n > 0 && g.records[n-1].number == block {
		g.records[n-1].changes += uint32(len(indices))
	}
	g.roots.reset([]rootEntry{{seq: g.seq, root: g.tree.Root()}})
	g.dirty = true
	g.pruneLocked()
	return nil
}

// call runs a view of the registry at block.
func (g *GroupManager) call(ctx context.Context, data []byte, block uint64) ([]byte, error) {
	what := fmt.Sprintf("eth_call 0x%x at block %d", data[:4], block)
	return retryCall(ctx, g, what, func(ctx context.Context) ([]byte, error) {
		return g.src.CallContract(ctx, ethereum.CallMsg{To: &g.cfg.Contract, Data: data}, new(big.Int).SetUint64(block))
	})
}

// rootAt is root() at block.
func (g *GroupManager) rootAt(ctx context.Context, block uint64) (fr.Element, error) {
	out, err := g.call(ctx, append([]byte(nil), rootSelector...), block)
	if err != nil {
		return fr.Element{}, err
	}
	if len(out) != abiWord {
		return fr.Element{}, fmt.Errorf("membership: root() at block %d returned %d bytes, want %d", block, len(out), abiWord)
	}
	r, err := fr.BigEndian.Element((*[abiWord]byte)(out))
	if err != nil {
		return fr.Element{}, fmt.Errorf("membership: root() at block %d returned 0x%x, not below the field modulus", block, out)
	}
	return r, nil
}

// uint32At calls a view without arguments that returns a uint32.
func (g *GroupManager) uint32At(ctx context.Context, sel []byte, block uint64) (uint32, error) {
	out, err := g.call(ctx, append([]byte(nil), sel...), block)
	if err != nil {
		return 0, err
	}
	return decodeUint32(out, fmt.Sprintf("view 0x%x at block %d", sel, block))
}

// leavesAt calls getRateCommitmentsInRangeBoundsInclusive(start, end) at
// block.
func (g *GroupManager) leavesAt(ctx context.Context, start, end, block uint64) ([]fr.Element, error) {
	data := make([]byte, 4+2*abiWord)
	copy(data, selLeafRange)
	new(big.Int).SetUint64(start).FillBytes(data[4 : 4+abiWord])
	new(big.Int).SetUint64(end).FillBytes(data[4+abiWord:])
	out, err := g.call(ctx, data, block)
	if err != nil {
		return nil, err
	}
	want := int(end - start + 1)
	if len(out) != (2+want)*abiWord {
		return nil, fmt.Errorf("membership: leaves %d..%d at block %d: %d bytes returned, want %d", start, end, block, len(out), (2+want)*abiWord)
	}
	if off, ok := uint32Word((*[abiWord]byte)(out)); !ok || off != abiWord {
		return nil, fmt.Errorf("membership: leaves %d..%d at block %d: array offset 0x%x, want 0x20", start, end, block, out[:abiWord])
	}
	if n, ok := uint32Word((*[abiWord]byte)(out[abiWord:])); !ok || int(n) != want {
		return nil, fmt.Errorf("membership: leaves %d..%d at block %d: length word 0x%x, want %d", start, end, block, out[abiWord:2*abiWord], want)
	}
	leaves := make([]fr.Element, want)
	for k := range leaves {
		w := (*[abiWord]byte)(out[(2+k)*abiWord:])
		if leaves[k], err = fr.BigEndian.Element(w); err != nil {
			return nil, fmt.Errorf("membership: leaf %d at block %d is 0x%x, not below the field modulus", start+uint64(k), block, w[:])
		}
	}
	return leaves, nil
}
