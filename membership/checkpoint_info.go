package membership

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ethereum/go-ethereum/common"
)

// checkpointHeaderSize is the length of a checkpoint's header: magic,
// version, reserved, chain id, contract, start block, next block, horizon.
const checkpointHeaderSize = 8 + 2 + 2 + 8 + common.AddressLength + 8 + 8 + 8

// CheckpointInfo is what a checkpoint file's header says: the registry it
// was written for and how far it got.
type CheckpointInfo struct {
	ChainID    uint64
	Contract   common.Address
	StartBlock uint64
	// NextBlock is the first block the sync has not applied yet.
	NextBlock uint64
}

// ReadCheckpointInfo reads the header of the checkpoint at path, without
// the rest: a caller that must configure a GroupManager before it loads the
// checkpoint (its StartBlock has to match the checkpoint's) learns it here.
// The whole file is checked when the manager loads it. A missing file is an
// error that wraps fs.ErrNotExist; a header that is short or not a
// checkpoint's is ErrCorruptCheckpoint.
func ReadCheckpointInfo(path string) (CheckpointInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return CheckpointInfo{}, fmt.Errorf("membership: reading checkpoint: %w", err)
	}
	defer f.Close()
	buf := make([]byte, checkpointHeaderSize)
	if _, err := io.ReadFull(f, buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return CheckpointInfo{}, corruptCheckpoint("%s: truncated in its header", path)
		}
		return CheckpointInfo{}, fmt.Errorf("membership: reading checkpoint: %w", err)
	}
	r := &checkpointReader{b: buf}
	var s checkpointState
	if err := r.readHeader(&s); err != nil {
		return CheckpointInfo{}, fmt.Errorf("%s: %w", path, err)
	}
	if r.err != nil {
		return CheckpointInfo{}, fmt.Errorf("%s: %w", path, r.err)
	}
	return CheckpointInfo{ChainID: s.chainID, Contract: s.contract, StartBlock: s.startBlock, NextBlock: s.next}, nil
}
