package node

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/config"
)

// nodeKeyFile is the node key's file in the data directory.
const nodeKeyFile = "nodekey"

// maxNodeKeyFile bounds what is read of a node key file: 64 hex digits, a
// 0x and white space fit many times over.
const maxNodeKeyFile = 1024

// nodeKey is the node's libp2p key, which its peer id derives from: the
// one given (Options.PrivKey), else p2p.nodekey, else <data-dir>/nodekey
// (created on the first start), else, without a data directory, a fresh
// key each start (with a warning: the peer id changes).
func (n *Node) nodeKey(given crypto.PrivKey) (crypto.PrivKey, error) {
	switch {
	case given != nil:
		return given, nil
	case n.cfg.P2P.NodeKey != "":
		raw, err := config.DecodeNodeKey(n.cfg.P2P.NodeKey)
		if err != nil {
			return nil, fmt.Errorf("node: p2p.nodekey (the value is not shown: it is secret) %w", err)
		}
		key, err := crypto.UnmarshalSecp256k1PrivateKey(raw)
		if err != nil {
			return nil, fmt.Errorf("node: p2p.nodekey: %w", err)
		}
		if n.dataDir != "" {
			if _, err := os.Stat(filepath.Join(n.dataDir, nodeKeyFile)); err == nil {
				n.log.Info("p2p.nodekey is set: the key file in the data directory is not used", "file", filepath.Join(n.dataDir, nodeKeyFile))
			}
		}
		return key, nil
	case n.dataDir != "":
		return loadOrCreateNodeKey(filepath.Join(n.dataDir, nodeKeyFile), n.log.Info)
	}
	key, _, err := crypto.GenerateSecp256k1Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("node: generate a node key: %w", err)
	}
	n.log.Warn("no node key and no data directory: using a fresh key, so the peer id changes on every start (set node.data-dir or p2p.nodekey)")
	return key, nil
}

// loadOrCreateNodeKey reads the node key file at path, or creates it with
// a fresh secp256k1 key when there is none; created is told of it.
func loadOrCreateNodeKey(path string, created func(msg string, args ...any)) (crypto.PrivKey, error) {
	key, err := readNodeKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key, _, err = crypto.GenerateSecp256k1Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("node: generate a node key: %w", err)
	}
	raw, err := key.Raw()
	if err != nil {
		return nil, fmt.Errorf("node: encode the node key: %w", err)
	}
	if err := writeFileAtomic(path, []byte(hex.EncodeToString(raw)+"\n")); err != nil {
		return nil, fmt.Errorf("node: node key file %s cannot be written: %w", path, err)
	}
	id, _ := peer.IDFromPrivateKey(key)
	created("created the node key; the peer id stays the same across restarts", "file", path, "peer", id)
	return key, nil
}

// readNodeKey reads a node key file: the key in hex as p2p.nodekey takes
// it, in a regular file no one but its owner may access (mode 0600 or
// stricter: like ssh, rlnd refuses a private key others could read). A
// missing file is an error wrapping fs.ErrNotExist; the others name the
// file and what is wrong.
func readNodeKey(path string) (crypto.PrivKey, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("node: node key file %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("node: node key file %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("node: node key file %s is not a regular file (%s)", path, st.Mode().Type())
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("node: node key file %s has mode %04o: group or others may access the private key; "+
			"like ssh, rlnd refuses it: chmod 600 %s (and make a new key if others could have read it)", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxNodeKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("node: node key file %s: %w", path, err)
	}
	if len(data) > maxNodeKeyFile {
		return nil, fmt.Errorf("node: node key file %s is larger than %d bytes: it holds no node key (64 hex digits)", path, maxNodeKeyFile)
	}
	raw, err := config.DecodeNodeKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("node: node key file %s is damaged: it %w (move it away to start with a new key, and a new peer id)", path, err)
	}
	key, err := crypto.UnmarshalSecp256k1PrivateKey(raw)
	if err != nil {
		return nil, fmt.Errorf("node: node key file %s: %w", path, err)
	}
	return key, nil
}

// writeFileAtomic makes path hold data (mode 0600) or leaves it as it was:
// a temporary file in the same directory, synced, renamed over path, then
// the directory synced so that the rename survives a crash.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*.tmp") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
