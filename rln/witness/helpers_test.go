package witness

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// rlnDirEnv overrides the directory holding the RLN circuit artifacts.
const rlnDirEnv = "RLND_RLN_DIR"

// rlnGraphPath returns the path of the depth-20 RLN graph.bin: under
// $RLND_RLN_DIR if set, otherwise ../shared/rln/tree_depth_20 relative to the
// module root. It fails the test when the file is absent.
func rlnGraphPath(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv(rlnDirEnv)
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			tb.Fatalf("locate module root: %v", err)
		}
		dir = filepath.Join(root, "..", "shared", "rln", "tree_depth_20")
	}
	path := filepath.Join(dir, "graph.bin")
	if _, err := os.Stat(path); err != nil {
		tb.Fatalf("RLN witness graph not found at %s (%v); provide it there or set %s to the directory holding graph.bin",
			path, err, rlnDirEnv)
	}
	return path
}

// moduleRoot walks up from the working directory to the first directory
// containing go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		_, err := os.Stat(filepath.Join(dir, "go.mod"))
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod found above the working directory")
		}
		dir = parent
	}
}

// loadRLNGraph loads the depth-20 RLN graph or fails the test.
func loadRLNGraph(tb testing.TB) *Graph {
	tb.Helper()
	path := rlnGraphPath(tb)
	g, err := LoadFile(path)
	if err != nil {
		tb.Fatalf("load %s: %v", path, err)
	}
	return g
}
