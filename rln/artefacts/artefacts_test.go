package artefacts

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultDirHoldsValidArtefacts(t *testing.T) {
	dir := DefaultDir()
	if dir == "" {
		t.Fatal("../shared/rln/tree_depth_20 not found beside the repository: the RLN tests need the ceremony artefacts")
	}
	if err := Check(dir); err != nil {
		t.Fatal(err)
	}
}

func TestReadErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Read(dir, ZKey); !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), ZKey) {
		t.Fatalf("missing file: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, VKey), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir, VKey); !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), VKey) {
		t.Fatalf("wrong digest: %v", err)
	}
	if _, err := Read("", Graph); !errors.Is(err, ErrMissing) {
		t.Fatalf("no folder: %v", err)
	}
	if _, err := Read(dir, "other.bin"); err == nil {
		t.Fatal("unknown file accepted")
	}
	err := Check(dir)
	for _, name := range []string{ZKey, VKey, Graph} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Fatalf("Check does not name %s: %v", name, err)
		}
	}
	if !errors.Is(err, ErrMissing) || !errors.Is(err, ErrChecksum) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Check's error is not one line wrapping ErrMissing and ErrChecksum: %v", err)
	}
}
