package node

import (
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/internal/testnet"
)

// quickConfig is a node without RLN on a loopback port the system picks.
func quickConfig(t *testing.T, dataDir string) config.Config {
	t.Helper()
	cfg, err := config.Preset("devnet")
	if err != nil {
		t.Fatal(err)
	}
	cfg.RLN.Enabled = false
	cfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.Metrics.Enabled, cfg.REST.Enabled = false, false
	cfg.Node.DataDir = dataDir
	return cfg
}

// startQuickNode starts a node and returns its peer id, closing it after.
func startQuickNode(t *testing.T, cfg config.Config, log *slog.Logger) peer.ID {
	t.Helper()
	n, err := New(t.Context(), Options{Config: &cfg, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	return n.Host().ID()
}

// The node key is created on the first start in the data directory (mode
// 0600, the key in hex, no temporary file left) and read on the next:
// the peer id stays the same.
func TestNodeKeyPersists(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	cfg := quickConfig(t, dir)
	var logs testnet.Buffer
	first := startQuickNode(t, cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if !strings.Contains(logs.String(), "created the node key") {
		t.Errorf("no log line tells of the new key: %s", logs.String())
	}
	second := startQuickNode(t, cfg, nil)
	if first != second {
		t.Fatalf("peer id %s after a restart, want %s", second, first)
	}
	file := filepath.Join(dir, nodeKeyFile)
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %04o, want 0600", file, st.Mode().Perm())
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}\n$`).Match(data) {
		t.Errorf("%s holds %d bytes, want 64 hex digits and a newline", file, len(data))
	}
	if got := idOfHexKey(t, strings.TrimSpace(string(data))); got != first {
		t.Errorf("the file's key has peer id %s, the node had %s", got, first)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left in the data directory", e.Name())
		}
	}
}

// idOfHexKey computes the libp2p peer id of a secp256k1 private key
// without libp2p's key code: the compressed public key (go-ethereum) in a
// libp2p PublicKey protobuf (KeyType Secp256k1 = 2), under the identity
// multihash (the encoding is at most 42 bytes), base58 as peer ids are
// written.
func idOfHexKey(t *testing.T, keyHex string) peer.ID {
	t.Helper()
	priv, err := ethcrypto.HexToECDSA(strings.TrimPrefix(keyHex, "0x"))
	if err != nil {
		t.Fatal(err)
	}
	pub := ethcrypto.CompressPubkey(&priv.PublicKey) // 33 bytes
	proto := append([]byte{0x08, 0x02, 0x12, byte(len(pub))}, pub...)
	mh := append([]byte{0x00, byte(len(proto))}, proto...) // identity multihash
	id, err := peer.IDFromBytes(mh)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id.String(), "16Uiu2") {
		t.Fatalf("computed peer id %s lacks the prefix of secp256k1 ids", id)
	}
	return id
}

// p2p.nodekey (nwaku's --nodekey) sets the peer id, over the key file,
// which it neither reads nor creates.
func TestNodeKeyFromConfig(t *testing.T) {
	t.Parallel()
	const key = "0x2c1f6e2f3e3a9f0d5b8e7c6a4b2d1f0e9c8b7a6f5e4d3c2b1a09f8e7d6c5b4a3"
	want := idOfHexKey(t, key)
	dir := t.TempDir()
	cfg := quickConfig(t, dir)
	cfg.P2P.NodeKey = key
	if got := startQuickNode(t, cfg, nil); got != want {
		t.Fatalf("peer id %s, want %s (from the key)", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, nodeKeyFile)); !os.IsNotExist(err) {
		t.Errorf("a key file was written though p2p.nodekey is set (%v)", err)
	}
	// The key file of another identity is not used either.
	if err := os.WriteFile(filepath.Join(dir, nodeKeyFile), []byte(strings.Repeat("11", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := startQuickNode(t, cfg, nil); got != want {
		t.Fatalf("with a key file: peer id %s, want %s", got, want)
	}
	// Without p2p.nodekey the key file is read.
	cfg.P2P.NodeKey = ""
	if got := startQuickNode(t, cfg, nil); got != idOfHexKey(t, strings.Repeat("11", 32)) {
		t.Fatalf("peer id %s, want the key file's", got)
	}
}

// A key file that is damaged, of the wrong length, too large, not a file
// or open to group or others fails the start with one line naming the
// file and what is wrong; the file stays as it was.
func TestNodeKeyFileErrors(t *testing.T) {
	t.Parallel()
	valid := strings.Repeat("2a", 32) + "\n"
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		dir     bool
		want    string
	}{
		{name: "too short", content: "abcdef\n", mode: 0o600, want: "holds 6 characters, want 64 hex digits"},
		{name: "a 33-byte key", content: strings.Repeat("2a", 33), mode: 0o600, want: "holds 66 characters"},
		{name: "not hex", content: strings.Repeat("x", 64), mode: 0o600, want: "is not hex"},
		{name: "zero", content: strings.Repeat("0", 64), mode: 0o600, want: "not a secp256k1 private key"},
		{name: "empty", content: "", mode: 0o600, want: "holds 0 characters"},
		{name: "too large", content: strings.Repeat("a", 4096), mode: 0o600, want: "larger than 1024 bytes"},
		{name: "readable by others", content: valid, mode: 0o644, want: "has mode 0644: group or others may access the private key"},
		{name: "writable by group", content: valid, mode: 0o620, want: "chmod 600"},
		{name: "a directory", dir: true, want: "is not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			file := filepath.Join(dir, nodeKeyFile)
			if tt.dir {
				if err := os.Mkdir(file, 0o700); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := os.WriteFile(file, []byte(tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(file, tt.mode); err != nil {
					t.Fatal(err)
				}
			}
			cfg := quickConfig(t, dir)
			n, err := New(t.Context(), Options{Config: &cfg})
			if err == nil {
				n.Close()
				t.Fatal("the node started")
			}
			if msg := err.Error(); !strings.Contains(msg, file) || !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line naming %s and %q", msg, file, tt.want)
			}
			if !tt.dir {
				if data, _ := os.ReadFile(file); string(data) != tt.content {
					t.Errorf("the key file was changed")
				}
			}
			if tt.content != "" && len(tt.content) >= 16 && strings.Contains(err.Error(), tt.content[:16]) {
				t.Errorf("the error quotes the file's content: %v", err)
			}
		})
	}
}

// Without a data directory or a key the node runs on a fresh key and
// says that its peer id will change.
func TestNodeKeyEphemeral(t *testing.T) {
	t.Parallel()
	cfg := quickConfig(t, "")
	var logs testnet.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	first, second := startQuickNode(t, cfg, log), startQuickNode(t, cfg, log)
	if first == second {
		t.Errorf("two starts without a data directory had one peer id %s", first)
	}
	if got := strings.Count(logs.String(), "the peer id changes on every start"); got != 2 {
		t.Errorf("%d warnings about the changing peer id, want 2:\n%s", got, logs.String())
	}
}
