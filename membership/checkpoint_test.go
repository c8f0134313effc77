package membership

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// resum replaces the checksum of a checkpoint after its body was edited.
func resum(data []byte) []byte {
	body := data[:len(data)-sha256.Size]
	sum := sha256.Sum256(body)
	return append(slices.Clone(body), sum[:]...)
}

// syncedCheckpoint syncs a fake chain with a checkpoint and returns both.
func syncedCheckpoint(t *testing.T) (*fakeChain, SyncConfig) {
	t.Helper()
	c := newFakeChain()
	c.addBlocks(newEventGen(31).blocks(40, 4, true))
	cfg := testSyncConfig(t)
	cfg.CheckpointPath = filepath.Join(t.TempDir(), "sync.ckpt")
	syncOnce(t, newTestManager(t, c, cfg))
	return c, cfg
}

func TestCheckpointCorrupt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func([]byte) []byte
		want string
	}{
		{name: "flipped byte", edit: func(b []byte) []byte { b[len(b)/2] ^= 1; return b }, want: "checksum"},
		{name: "truncated", edit: func(b []byte) []byte { return b[:len(b)/2] }, want: "checksum"},
		{name: "empty", edit: func(b []byte) []byte { return nil }, want: "too short"},
		{name: "trailing byte", edit: func(b []byte) []byte { return append(b, 0) }, want: "checksum"},
		{name: "bad magic", edit: func(b []byte) []byte { b[0] = 'X'; return resum(b) }, want: "magic"},
		{name: "future version", edit: func(b []byte) []byte { b[9] = 2; return resum(b) }, want: "version 2"},
		{name: "last root differs from the tree", edit: func(b []byte) []byte {
			n := binary.BigEndian.Uint32(b[64:])
			b[68+int(n)*rootEntrySize-1] ^= 1 // low byte of the last root
			return resum(b)
		}, want: "root"},
		{name: "next block before start", edit: func(b []byte) []byte {
			binary.BigEndian.PutUint64(b[48:], 0)
			return resum(b)
		}, want: "before the start block"},
		{name: "huge window count", edit: func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[64:], 0xffffffff)
			return resum(b)
		}, want: "do not fit"},
		{name: "snapshot truncated", edit: func(b []byte) []byte { return resum(append(b[:len(b)-64], make([]byte, 32)...)) }, want: "snapshot"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, cfg := syncedCheckpoint(t)
			data, err := os.ReadFile(cfg.CheckpointPath)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cfg.CheckpointPath, tc.edit(data), 0o600); err != nil {
				t.Fatal(err)
			}
			err = newTestManager(t, c, cfg).SyncOnce(t.Context())
			if !errors.Is(err, ErrCorruptCheckpoint) {
				t.Fatalf("SyncOnce with a corrupt checkpoint = %v, want ErrCorruptCheckpoint", err)
			}
			for _, m := range []string{tc.want, cfg.CheckpointPath} {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}

			// With ResyncOnCorrupt the manager starts over and rewrites it.
			cfg.ResyncOnCorrupt = true
			g := newTestManager(t, c, cfg)
			syncOnce(t, g)
			checkMatchesReference(t, c, g, cfg.RootWindow)
			cfg.ResyncOnCorrupt = false
			c.mu.Lock()
			c.ranges = nil
			c.mu.Unlock()
			syncOnce(t, newTestManager(t, c, cfg))
			if r := c.filterRanges(); len(r) != 0 {
				t.Fatalf("the rewritten checkpoint was not used: read %v", r)
			}
		})
	}
}

func TestCheckpointMismatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mod  func(*fakeChain, *SyncConfig)
		want string
	}{
		{name: "other start block", mod: func(_ *fakeChain, c *SyncConfig) { c.StartBlock = 2 }, want: "start block 1, configured 2"},
		{name: "other chain", mod: func(f *fakeChain, c *SyncConfig) { f.chainID, c.ChainID = 5, 0 }, want: "chain 59141, connected to chain 5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, cfg := syncedCheckpoint(t)
			tc.mod(c, &cfg)
			err := newTestManager(t, c, cfg).SyncOnce(t.Context())
			if !errors.Is(err, ErrCheckpointMismatch) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("SyncOnce = %v, want ErrCheckpointMismatch mentioning %q", err, tc.want)
			}
		})
	}
}

func TestCheckpointMissingDirectory(t *testing.T) {
	t.Parallel()
	c := newFakeChain()
	c.addBlock(newEventGen(1).register())
	cfg := testSyncConfig(t)
	cfg.CheckpointPath = filepath.Join(t.TempDir(), "missing", "sync.ckpt")
	err := newTestManager(t, c, cfg).SyncOnce(t.Context())
	if err == nil || !strings.Contains(err.Error(), "saving checkpoint") {
		t.Fatalf("SyncOnce with an unwritable checkpoint = %v, want a saving error", err)
	}
}

func FuzzDecodeCheckpoint(f *testing.F) {
	c := newFakeChain()
	c.addBlocks(newEventGen(2).blocks(6, 3, true))
	cfg := testSyncConfig(f)
	cfg.CheckpointPath = filepath.Join(f.TempDir(), "sync.ckpt")
	g := newTestManager(f, c, cfg)
	if err := g.SyncOnce(f.Context()); err != nil {
		f.Fatal(err)
	}
	data, err := os.ReadFile(cfg.CheckpointPath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data[:len(data)-sha256.Size])
	f.Add([]byte(checkpointMagic))
	f.Fuzz(func(t *testing.T, body []byte) {
		// The harness appends a valid checksum so that the parser itself
		// is exercised.
		sum := sha256.Sum256(body)
		s, err := decodeCheckpoint(append(slices.Clone(body), sum[:]...))
		if err != nil {
			if !errors.Is(err, ErrCorruptCheckpoint) {
				t.Fatalf("error %v does not wrap ErrCorruptCheckpoint", err)
			}
			return
		}
		if root, last := s.tree.Root(), s.window[len(s.window)-1].root; !root.Equal(&last) {
			t.Fatal("accepted a checkpoint whose last root is not the tree's")
		}
	})
}
