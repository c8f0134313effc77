package membership

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common"

	"github.com/rlnd/rlnd/rln/merkle"
)

var (
	// ErrCorruptCheckpoint is returned when the checkpoint file is
	// truncated, fails its checksum or is inconsistent.
	ErrCorruptCheckpoint = errors.New("membership: corrupt checkpoint")
	// ErrCheckpointMismatch is returned when the checkpoint was written for
	// another chain, contract or start block.
	ErrCheckpointMismatch = errors.New("membership: checkpoint belongs to another registry")
)

// Checkpoint file, version 1. Integers are big-endian, field elements 32
// bytes big-endian canonical.
//
//	magic "RLNDSYNC" (8) | version (2) | reserved 0 (2)
//	chain id (8) | contract (20) | start block (8)
//	next block (8) | horizon: highest safe head seen (8)
//	W (4) | W window entries: leaf writes so far (8), root (32); oldest
//	        first, the last one is the tree's root
//	B (4) | B block records: number (8), hash (32), leaf writes (4)
//	U (4) | U undo entries: write number (8), block (8), leaf index (8),
//	        previous leaf (32); consecutive write numbers ending at the last
//	        window entry's
//	snapshot length (8) | tree snapshot (merkle.WriteSnapshot)
//	SHA-256 of everything before (32)
const (
	checkpointMagic   = "RLNDSYNC"
	checkpointVersion = 1
	rootEntrySize     = 8 + fr.Bytes
	recordSize        = 8 + 32 + 4
	undoEntrySize     = 8 + 8 + 8 + fr.Bytes
)

// checkpointState is what a checkpoint holds.
type checkpointState struct {
	chainID    uint64
	contract   common.Address
	startBlock uint64
	next       uint64
	horizon    uint64
	window     []rootEntry
	records    []blockRecord
	undo       []undoEntry
	tree       *merkle.Tree
}

func appendElement(b []byte, e *fr.Element) []byte {
	v := e.Bytes()
	return append(b, v[:]...)
}

// encodeCheckpoint serialises s.
func encodeCheckpoint(s *checkpointState) ([]byte, error) {
	b := make([]byte, 0, 256+len(s.window)*rootEntrySize+len(s.records)*recordSize+len(s.undo)*undoEntrySize)
	b = append(b, checkpointMagic...)
	b = binary.BigEndian.AppendUint16(b, checkpointVersion)
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint64(b, s.chainID)
	b = append(b, s.contract[:]...)
	b = binary.BigEndian.AppendUint64(b, s.startBlock)
	b = binary.BigEndian.AppendUint64(b, s.next)
	b = binary.BigEndian.AppendUint64(b, s.horizon)
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.window)))
	for k := range s.window {
		b = binary.BigEndian.AppendUint64(b, s.window[k].seq)
		b = appendElement(b, &s.window[k].root)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.records)))
	for _, r := range s.records {
		b = binary.BigEndian.AppendUint64(b, r.number)
		b = append(b, r.hash[:]...)
		b = binary.BigEndian.AppendUint32(b, r.changes)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.undo)))
	for k := range s.undo {
		u := &s.undo[k]
		b = binary.BigEndian.AppendUint64(b, u.seq)
		b = binary.BigEndian.AppendUint64(b, u.block)
		b = binary.BigEndian.AppendUint64(b, u.index|txEndFlag(u.txEnd))
		b = appendElement(b, &u.prev)
	}
	lenAt := len(b)
	b = binary.BigEndian.AppendUint64(b, 0)
	buf := bytes.NewBuffer(b)
	if err := s.tree.WriteSnapshot(buf); err != nil {
		return nil, fmt.Errorf("membership: encoding checkpoint: %w", err)
	}
	b = buf.Bytes()
	binary.BigEndian.PutUint64(b[lenAt:], uint64(len(b)-lenAt-8))
	sum := sha256.Sum256(b)
	return append(b, sum[:]...), nil
}

func corruptCheckpoint(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorruptCheckpoint}, args...)...)
}

// checkpointReader reads the fields of a checkpoint in order; the first
// shortfall is remembered and every later read returns zeros.
type checkpointReader struct {
	b   []byte
	err error
}

func (r *checkpointReader) take(n uint64, what string) []byte {
	if r.err != nil {
		return make([]byte, n)
	}
	if uint64(len(r.b)) < n {
		r.err = corruptCheckpoint("truncated in %s", what)
		return make([]byte, n)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *checkpointReader) u16(what string) uint16 { return binary.BigEndian.Uint16(r.take(2, what)) }
func (r *checkpointReader) u32(what string) uint32 { return binary.BigEndian.Uint32(r.take(4, what)) }
func (r *checkpointReader) u64(what string) uint64 { return binary.BigEndian.Uint64(r.take(8, what)) }

func (r *checkpointReader) element(what string) fr.Element {
	raw := r.take(fr.Bytes, what)
	if r.err != nil {
		return fr.Element{}
	}
	e, err := fr.BigEndian.Element((*[fr.Bytes]byte)(raw))
	if err != nil {
		r.err = corruptCheckpoint("%s is not a canonical field element", what)
	}
	return e
}

// count reads a count of items of at least size bytes each, rejecting one
// the rest of the data cannot hold.
func (r *checkpointReader) count(size uint64, what string) uint32 {
	n := r.u32(what)
	if r.err == nil && uint64(n)*size > uint64(len(r.b)) {
		r.err = corruptCheckpoint("%d %s do not fit in the remaining %d bytes", n, what, len(r.b))
		return 0
	}
	return n
}

// decodeCheckpoint parses and checks a checkpoint.
func decodeCheckpoint(data []byte) (*checkpointState, error) {
	if len(data) < sha256.Size {
		return nil, corruptCheckpoint("%d bytes, too short", len(data))
	}
	body, sum := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, corruptCheckpoint("checksum %x, content hashes to %x", sum, got)
	}
	r := &checkpointReader{b: body}
	s := &checkpointState{}
	if err := r.readHeader(s); err != nil {
		return nil, err
	}
	var err error
	if s.window, err = r.readWindow(); err != nil {
		return nil, err
	}
	if s.records, err = r.readRecords(); err != nil {
		return nil, err
	}
	if s.undo, err = r.readUndo(); err != nil {
		return nil, err
	}
	if s.tree, err = r.readSnapshot(); err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	return s, nil
}

// readHeader reads the magic, version and reserved field, checking them,
// then the registry (chain id, contract, start block), the next block and
// the horizon into s. A shortfall is left in r.err.
func (r *checkpointReader) readHeader(s *checkpointState) error {
	if magic := r.take(uint64(len(checkpointMagic)), "magic"); r.err == nil && string(magic) != checkpointMagic {
		return corruptCheckpoint("bad magic %q, want %q", magic, checkpointMagic)
	}
	if v := r.u16("version"); r.err == nil && v != checkpointVersion {
		return corruptCheckpoint("unsupported version %d, want %d", v, checkpointVersion)
	}
	if v := r.u16("reserved"); r.err == nil && v != 0 {
		return corruptCheckpoint("reserved field is %d, want 0", v)
	}
	s.chainID = r.u64("chain id")
	copy(s.contract[:], r.take(common.AddressLength, "contract"))
	s.startBlock = r.u64("start block")
	s.next = r.u64("next block")
	s.horizon = r.u64("horizon")
	return nil
}

// readWindow reads the window entries, whose write counts must increase.
// A shortfall is left in r.err.
func (r *checkpointReader) readWindow() ([]rootEntry, error) {
	nWindow := r.count(rootEntrySize, "window entries")
	window := make([]rootEntry, 0, nWindow)
	for k := uint32(0); k < nWindow && r.err == nil; k++ {
		e := rootEntry{seq: r.u64("window write count"), root: r.element("window root")}
		if r.err == nil && k > 0 && e.seq <= window[k-1].seq {
			return nil, corruptCheckpoint("window entry %d after %d leaf writes follows one after %d", k, e.seq, window[k-1].seq)
		}
		window = append(window, e)
	}
	return window, nil
}

// readRecords reads the block records, whose block numbers must increase.
// A shortfall is left in r.err.
func (r *checkpointReader) readRecords() ([]blockRecord, error) {
	nRecords := r.count(recordSize, "block records")
	records := make([]blockRecord, 0, nRecords)
	for k := uint32(0); k < nRecords && r.err == nil; k++ {
		var rec blockRecord
		rec.number = r.u64("record block number")
		copy(rec.hash[:], r.take(common.HashLength, "record block hash"))
		rec.changes = r.u32("record leaf writes")
		if r.err == nil && k > 0 && rec.number <= records[k-1].number {
			return nil, corruptCheckpoint("record of block %d after block %d", rec.number, records[k-1].number)
		}
		records = append(records, rec)
	}
	return records, nil
}

// undoTxEnd is the top bit of an undo entry's index field: the entry's
// txEnd (files written before it existed read as false, which only makes
// a rollback keep fewer roots).
const undoTxEnd = uint64(1) << 63

func txEndFlag(end bool) uint64 {
	if end {
		return undoTxEnd
	}
	return 0
}

// readUndo reads the undo entries: leaf indices in the tree, consecutive
// write numbers and non-decreasing blocks. A shortfall is left in r.err.
func (r *checkpointReader) readUndo() ([]undoEntry, error) {
	nUndo := r.count(undoEntrySize, "undo entries")
	undo := make([]undoEntry, 0, nUndo)
	for k := uint32(0); k < nUndo && r.err == nil; k++ {
		u := undoEntry{seq: r.u64("undo write number"), block: r.u64("undo block"), index: r.u64("undo index"), prev: r.element("undo leaf")}
		u.txEnd, u.index = u.index&undoTxEnd != 0, u.index&^undoTxEnd
		switch {
		case r.err != nil:
		case u.index >= MaxMembers:
			return nil, corruptCheckpoint("undo entry %d: leaf index %d, want < %d", k, u.index, MaxMembers)
		case k > 0 && (u.seq != undo[k-1].seq+1 || u.block < undo[k-1].block):
			return nil, corruptCheckpoint("undo entry %d (write %d, block %d) does not follow write %d in block %d", k, u.seq, u.block, undo[k-1].seq, undo[k-1].block)
		}
		undo = append(undo, u)
	}
	return undo, nil
}

// readSnapshot reads the snapshot length, which must be what is left, and
// the tree snapshot. It returns the first shortfall of the reads before,
// if any.
func (r *checkpointReader) readSnapshot() (*merkle.Tree, error) {
	snapLen := r.u64("snapshot length")
	if r.err != nil {
		return nil, r.err
	}
	if snapLen != uint64(len(r.b)) {
		return nil, corruptCheckpoint("snapshot length %d, %d bytes left", snapLen, len(r.b))
	}
	tree, err := merkle.ReadSnapshot(bytes.NewReader(r.b))
	if err != nil {
		return nil, corruptCheckpoint("tree snapshot: %w", err)
	}
	return tree, nil
}

// check checks that the parts of a decoded checkpoint agree: the tree's
// depth, the next block against the start block and the records, the undo
// journal against the next block and the window, and the tree's root
// against the window's last.
func (s *checkpointState) check() error {
	tree := s.tree
	switch {
	case tree.Depth() != TreeDepth:
		return corruptCheckpoint("tree depth %d, want %d", tree.Depth(), TreeDepth)
	case s.next < s.startBlock:
		return corruptCheckpoint("next block %d is before the start block %d", s.next, s.startBlock)
	case len(s.window) == 0:
		return corruptCheckpoint("no roots")
	case len(s.undo) > 0 && s.undo[len(s.undo)-1].block >= s.next:
		return corruptCheckpoint("undo entry for block %d, not synced yet (next block %d)", s.undo[len(s.undo)-1].block, s.next)
	case len(s.undo) > 0 && s.undo[len(s.undo)-1].seq != s.window[len(s.window)-1].seq:
		return corruptCheckpoint("the undo journal ends at write %d, the window at write %d", s.undo[len(s.undo)-1].seq, s.window[len(s.window)-1].seq)
	case len(s.records) > 0 && s.records[len(s.records)-1].number+1 != s.next:
		return corruptCheckpoint("last remembered block %d, next block %d", s.records[len(s.records)-1].number, s.next)
	case len(s.records) == 0 && s.next != s.startBlock:
		return corruptCheckpoint("no remembered block but next block %d is past the start block %d", s.next, s.startBlock)
	}
	if root, last := tree.Root(), s.window[len(s.window)-1].root; !root.Equal(&last) {
		return corruptCheckpoint("tree root %s, last recorded root %s", root.String(), last.String())
	}
	return nil
}

// writeFileAtomic replaces path with data: temporary file in the same
// directory, fsync, rename, fsync of the directory.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err = d.Sync(); err != nil {
		_ = d.Close()
		return err
	}
	return d.Close()
}

// saveCheckpoint persists the sync state (stepMu held).
func (g *GroupManager) saveCheckpoint() error {
	if g.cfg.CheckpointPath == "" {
		g.dirty = false
		return nil
	}
	g.mu.RLock()
	data, err := encodeCheckpoint(&checkpointState{
		chainID:    g.chainID,
		contract:   g.cfg.Contract,
		startBlock: g.cfg.StartBlock,
		next:       g.next,
		horizon:    g.horizon,
		window:     g.roots.all(),
		records:    g.records,
		undo:       g.undo,
		tree:       g.tree,
	})
	next := g.next
	g.mu.RUnlock()
	if err != nil {
		return err
	}
	if err := writeFileAtomic(g.cfg.CheckpointPath, data); err != nil {
		return fmt.Errorf("membership: saving checkpoint %s: %w", g.cfg.CheckpointPath, err)
	}
	g.savedNext, g.dirty = next, false
	g.log.Debug("checkpoint saved", "path", g.cfg.CheckpointPath, "next_block", next, "bytes", len(data))
	return nil
}

// loadCheckpoint restores the state saved at CheckpointPath, if there is
// one (stepMu held, chain id known).
func (g *GroupManager) loadCheckpoint() error {
	path := g.cfg.CheckpointPath
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		g.log.Info("no checkpoint yet; syncing from the start block", "path", path, "start_block", g.cfg.StartBlock)
		return nil
	}
	if err != nil {
		return fmt.Errorf("membership: reading checkpoint: %w", err)
	}
	s, err := decodeCheckpoint(data)
	if err == nil {
		switch {
		case s.chainID != g.chainID:
			err = fmt.Errorf("%w: written for chain %d, connected to chain %d", ErrCheckpointMismatch, s.chainID, g.chainID)
		case s.contract != g.cfg.Contract:
			err = fmt.Errorf("%w: written for contract %s, configured %s", ErrCheckpointMismatch, s.contract.Hex(), g.cfg.Contract.Hex())
		case s.startBlock != g.cfg.StartBlock:
			err = fmt.Errorf("%w: written for start block %d, configured %d", ErrCheckpointMismatch, s.startBlock, g.cfg.StartBlock)
		}
	}
	if err != nil {
		if g.cfg.ResyncOnCorrupt {
			g.log.Warn("ignoring the unusable checkpoint; syncing from the start block", "path", path, "start_block", g.cfg.StartBlock, "err", err)
			return nil
		}
		return fmt.Errorf("loading checkpoint %s (set ResyncOnCorrupt or remove it to resync): %w", path, err)
	}
	g.mu.Lock()
	g.tree = s.tree
	g.roots = newRootLog(g.cfg.RootWindow)
	g.roots.reset(s.window)
	g.seq = s.window[len(s.window)-1].seq
	g.next = s.next
	g.mu.Unlock()
	g.records = s.records
	g.undo = s.undo
	g.horizon = s.horizon
	g.savedNext = s.next
	g.dirty = false
	g.log.Info("checkpoint loaded", "path", path, "next_block", s.next, "members_slots", s.tree.NextIndex())
	return nil
}
