package membership

import (
	"path/filepath"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// benchChain builds a fake chain of blocks blocks with perBlock
// registrations each (at consecutive indices) and returns the expected root.
func benchChain(b *testing.B, blocks, perBlock int) (*fakeChain, fr.Element) {
	b.Helper()
	gen := newEventGen(1234)
	c := newFakeChain()
	var leaves []fr.Element
	for range blocks {
		evs := make([]fakeEvent, perBlock)
		for k := range evs {
			evs[k] = gen.register()
			leaves = append(leaves, evs[k].leaf())
		}
		c.addBlock(evs...)
	}
	s, err := NewStaticGroup(leaves, 1)
	if err != nil {
		b.Fatal(err)
	}
	return c, s.Root()
}

func benchSync(b *testing.B, blocks, perBlock int, checkpoint bool) {
	c, want := benchChain(b, blocks, perBlock)
	cfg := SyncConfig{Contract: testContract, ChainID: testChainID, StartBlock: 1}
	b.ReportAllocs()
	for b.Loop() {
		if checkpoint {
			cfg.CheckpointPath = filepath.Join(b.TempDir(), "sync.ckpt")
		}
		g := newTestManager(b, c, cfg)
		if err := g.SyncOnce(b.Context()); err != nil {
			b.Fatal(err)
		}
		if got := g.Root(); !got.Equal(&want) {
			b.Fatal("root differs from the reference")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(blocks*perBlock), "ns/registration")
}

// BenchmarkSyncFake100k syncs 100,000 registrations in 10,000 blocks from
// the in-memory fake chain (default batch size, root window and reorg
// depth).
func BenchmarkSyncFake100k(b *testing.B) { benchSync(b, 10_000, 10, false) }

// BenchmarkSyncFake100kCheckpoint is BenchmarkSyncFake100k with the
// checkpoint written after each batch.
func BenchmarkSyncFake100kCheckpoint(b *testing.B) { benchSync(b, 10_000, 10, true) }

// BenchmarkSyncFake100kDense puts the 100,000 registrations in 100 blocks,
// so most of them are within ReorgDepth of the head and journaled.
func BenchmarkSyncFake100kDense(b *testing.B) { benchSync(b, 100, 1000, false) }
