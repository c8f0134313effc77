package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
)

// Names inside the data directory.
const (
	membershipDir = "membership"
	storeFile     = "store.db"
	slotsFile     = "lightpush-slots"
	ownSlotsFile  = "rln-slots"
)

// Where store.db-path and lightpush.slots-file used to default to, in the
// working directory; a node upgraded in place keeps using such a file.
const (
	legacyStoreFile = "rlnd-store.db"
	legacySlotsFile = "rlnd-lightpush-slots"
)

// prepareDataDir creates dir (mode 0700, with its missing parents) if it
// does not exist, and checks that the node can create files in it. Each
// error is one line naming the directory and the key that sets it.
func prepareDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("node: data directory %s (node.data-dir, --data-dir) cannot be created: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".rlnd-write-check-*")
	if err != nil {
		return fmt.Errorf("node: data directory %s (node.data-dir, --data-dir) is not writable: %w", dir, err)
	}
	name := f.Name()
	if err := errors.Join(f.Close(), os.Remove(name)); err != nil {
		return fmt.Errorf("node: data directory %s (node.data-dir, --data-dir) is not usable: %w", dir, err)
	}
	return nil
}

// checkpointPath is the membership sync's checkpoint for one registry:
// <data-dir>/membership/<chain id>-<contract, lower-case hex>.ckpt, so that
// another chain or contract never reads it.
func checkpointPath(dataDir string, chainID uint64, contract common.Address) string {
	name := strconv.FormatUint(chainID, 10) + "-" + strings.ToLower(contract.Hex()) + ".ckpt"
	return filepath.Join(dataDir, membershipDir, name)
}

// dataFile is where a file whose key is not set lives: name in the data
// directory, unless only legacy, the key's old default in the working
// directory, exists: an upgraded node keeps its archive and, above all,
// the RLN slots it used (a slot handed out twice is a double signal), and
// is told to move the file.
func (n *Node) dataFile(key, name, legacy string) (string, error) {
	inDir := ""
	if n.dataDir != "" {
		inDir = filepath.Join(n.dataDir, name)
		if _, err := os.Stat(inDir); err == nil {
			return inDir, nil
		}
	}
	if _, err := os.Stat(legacy); err == nil {
		n.log.Warn("using a file at its old default place in the working directory; move it into the data directory or set its key",
			"key", key, "file", legacy, "data_dir_file", inDir)
		return legacy, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("node: %s: looking for %s: %w", key, legacy, err)
	}
	if inDir == "" {
		return "", fmt.Errorf("node: %s is not set and there is no node.data-dir", key)
	}
	return inDir, nil
}
