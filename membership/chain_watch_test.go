package membership

import (
	"context"
	"errors"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"
)

// The header of a checkpoint names its registry and how far it got; a
// missing file is fs.ErrNotExist and a file that is not a checkpoint
// ErrCorruptCheckpoint.
func TestReadCheckpointInfo(t *testing.T) {
	t.Parallel()
	c := newFakeChain()
	c.addBlocks(newEventGen(3).blocks(10, 2, false))
	cfg := testSyncConfig(t)
	cfg.CheckpointPath = filepath.Join(t.TempDir(), "sync.ckpt")
	g := newTestManager(t, c, cfg)
	syncOnce(t, g)
	info, err := ReadCheckpointInfo(cfg.CheckpointPath)
	if err != nil {
		t.Fatal(err)
	}
	want := CheckpointInfo{ChainID: testChainID, Contract: testContract, StartBlock: cfg.StartBlock, NextBlock: c.head() + 1}
	if info != want {
		t.Fatalf("ReadCheckpointInfo = %+v, want %+v", info, want)
	}

	dir := t.TempDir()
	if _, err := ReadCheckpointInfo(filepath.Join(dir, "none.ckpt")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v, want fs.ErrNotExist", err)
	}
	data, err := os.ReadFile(cfg.CheckpointPath)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{
		"short":     data[:20],
		"bad magic": append([]byte("NOTASYNC"), data[8:]...),
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadCheckpointInfo(p); !errors.Is(err, ErrCorruptCheckpoint) {
			t.Errorf("%s: %v, want ErrCorruptCheckpoint", name, err)
		}
	}
}

// Run against an endpoint nothing listens on gives up after the stall
// limit with ErrChainUnreachable and the transport's error, not the
// cancellation's.
func TestWatchedSourceUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	eth, err := ethclient.DialContext(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer eth.Close()
	w := Watch(eth)
	g := newTestManager(t, w, testSyncConfig(t))
	const stall = 300 * time.Millisecond
	start := time.Now()
	err = w.Run(t.Context(), stall, g.SyncOnce)
	took := time.Since(start)
	if !errors.Is(err, ErrChainUnreachable) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Run = %v, want ErrChainUnreachable with the connection error", err)
	}
	if took < stall || took > stall+10*time.Second {
		t.Fatalf("Run gave up after %v, want %v (+ at most 10 s)", took, stall)
	}
}

// Answers keep Run going past the stall limit: it bounds the wait for an
// answer, not the work.
func TestWatchedSourceProgressExtends(t *testing.T) {
	t.Parallel()
	w := Watch(newFakeChain())
	const stall = 100 * time.Millisecond
	err := w.Run(t.Context(), stall, func(ctx context.Context) error {
		end := time.Now().Add(3 * stall)
		for time.Now().Before(end) {
			if _, err := w.ChainID(ctx); err != nil {
				return err
			}
			if _, err := w.HeaderByNumber(ctx, big.NewInt(0)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Run with steady answers = %v", err)
	}
	// f's own error comes back as it is.
	boom := errors.New("boom")
	if err := w.Run(t.Context(), stall, func(context.Context) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want f's error", err)
	}
}
