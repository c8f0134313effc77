package node

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rlnd/rlnd/config"
)

// The data directory is created 0700 with its parents; one that cannot be
// created or written is a one-line error naming it and the key. With no
// paths set, the store archive lives in it.
func TestNodeDataDir(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	cfg, err := config.Preset("devnet")
	cfg.REST.Enabled = false // tests that want REST listen on a free port
	if err != nil {
		t.Fatal(err)
	}
	cfg.RLN.Enabled = false
	cfg.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.Metrics.Enabled = false
	cfg.Store.Enabled = true
	cfg.Node.DataDir = filepath.Join(base, "a", "b")
	n, err := New(t.Context(), Options{Config: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	n.Close()
	st, err := os.Stat(cfg.Node.DataDir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("data directory: %v, mode %v; want created 0700", err, st.Mode())
	}
	if _, err := os.Stat(filepath.Join(cfg.Node.DataDir, "store.db")); err != nil {
		t.Fatalf("the archive is not in the data directory: %v", err)
	}

	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ dir, want string }{
		{filepath.Join(file, "sub"), "cannot be created"},
		{unwritableDir(t), "is not writable"},
	} {
		cfg.Node.DataDir = tt.dir
		_, err := New(t.Context(), Options{Config: &cfg})
		if err == nil || !strings.Contains(err.Error(), tt.dir) || !strings.Contains(err.Error(), tt.want) ||
			!strings.Contains(err.Error(), "node.data-dir") || strings.Contains(err.Error(), "\n") {
			t.Errorf("data directory %s: %v, want one line naming it, node.data-dir and %q", tt.dir, err, tt.want)
		}
	}
}

// unwritableDir is a directory the test cannot create files in: a 0500
// folder, or for root (who ignores modes) /proc.
func unwritableDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() == 0 {
		return "/proc"
	}
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A file whose key is not set lives in the data directory, unless only
// its old default in the working directory exists: an upgraded node keeps
// using that one (its archive, its used RLN slots). Not parallel: it
// changes the working directory.
func TestNodeDataFileLegacy(t *testing.T) {
	t.Chdir(t.TempDir())
	dataDir := t.TempDir()
	n := &Node{dataDir: dataDir, log: slog.New(slog.DiscardHandler)}
	inDir := filepath.Join(dataDir, slotsFile)
	check := func(what, want string) {
		t.Helper()
		got, err := n.dataFile("lightpush.slots-file", slotsFile, legacySlotsFile)
		if err != nil || got != want {
			t.Fatalf("%s: dataFile = %q, %v; want %q", what, got, err, want)
		}
	}
	check("neither exists", inDir)
	if err := os.WriteFile(legacySlotsFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	check("only the old one exists", legacySlotsFile)
	if err := os.WriteFile(inDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	check("both exist", inDir)

	none := &Node{log: n.log}
	if _, err := none.dataFile("store.db-path", storeFile, legacyStoreFile); err == nil || !strings.Contains(err.Error(), "store.db-path") {
		t.Fatalf("no data directory: %v, want an error naming store.db-path", err)
	}
}
