package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rlnd/rlnd/wire"
)

const (
	benchPayload       = 100 // bytes per message payload
	benchBatch         = 100 // messages per Put
	benchPageRows      = 1_000_000
	benchContentTopics = 100
)

// benchMsg builds a deterministic message for benchmark row i.
func benchMsg(i int, ts int64) Stored {
	payload := make([]byte, benchPayload)
	for j := range payload {
		payload[j] = byte(i >> (8 * (j % 4)))
	}
	copy(payload, fmt.Appendf(nil, "%d", i))
	m := wire.NewMessage(fmt.Sprintf("/bench/1/t%d/proto", i%benchContentTopics), payload, ts)
	return NewStored(testPubsub, m)
}

// BenchmarkSQLiteInsert puts batches of benchBatch messages. sync=FULL is
// what OpenSQLite uses; sync=NORMAL shows what the per-commit fsync costs.
func BenchmarkSQLiteInsert(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		b.Run("sync="+sync, func(b *testing.B) { benchInsert(b, sync) })
	}
}

func benchInsert(b *testing.B, synchronous string) {
	s, err := openSQLite(filepath.Join(b.TempDir(), "store.db"), synchronous)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	// Messages are built outside the timer, one batch ahead.
	base := time.Now().UnixNano()
	next := 0
	build := func() []Stored {
		batch := make([]Stored, benchBatch)
		for j := range batch {
			batch[j] = benchMsg(next, base+int64(next))
			next++
		}
		return batch
	}
	total := 0
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		batch := build()
		b.StartTimer()
		n, err := s.Put(ctx, batch)
		if err != nil || n != benchBatch {
			b.Fatalf("Put = %d, %v", n, err)
		}
		total += n
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(0, "ns/op")
}

// The page benchmark's archive is built once per process.
var pageBench struct {
	once   sync.Once
	dir    string
	s      *SQLite
	topics [benchContentTopics][]wire.MessageHash // hashes per content topic, ascending
	err    error
}

func pageArchive(b *testing.B) *SQLite {
	pageBench.once.Do(func() {
		start := time.Now()
		dir, err := os.MkdirTemp("", "rlnd-store-bench-")
		if err != nil {
			pageBench.err = err
			return
		}
		pageBench.dir = dir
		s, err := OpenSQLite(filepath.Join(dir, "store.db"))
		if err != nil {
			pageBench.err = err
			return
		}
		pageBench.s = s
		ctx := context.Background()
		base := time.Now().Add(-24 * time.Hour).UnixNano()
		batch := make([]Stored, 0, 5000)
		for i := range benchPageRows {
			m := benchMsg(i, base+int64(i)*1000)
			pageBench.topics[i%benchContentTopics] = append(pageBench.topics[i%benchContentTopics], m.Hash)
			batch = append(batch, m)
			if len(batch) == cap(batch) || i == benchPageRows-1 {
				if _, err := s.Put(ctx, batch); err != nil {
					pageBench.err = err
					return
				}
				batch = batch[:0]
			}
		}
		fmt.Fprintf(os.Stderr, "built %d-message archive in %v\n", benchPageRows, time.Since(start).Round(time.Millisecond))
	})
	if pageBench.err != nil {
		b.Fatal(pageBench.err)
	}
	return pageBench.s
}

func BenchmarkSQLitePage(b *testing.B) {
	for _, topics := range []int{1, 3} {
		b.Run(fmt.Sprintf("topics=%d", topics), func(b *testing.B) { benchPage(b, topics) })
	}
}

// benchPage queries random 20-message pages with a cursor, filtered by
// topics content topics (the cursor's own and its neighbours).
func benchPage(b *testing.B, topics int) {
	s := pageArchive(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	var lat []time.Duration
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		t := rng.IntN(benchContentTopics)
		hashes := pageBench.topics[t]
		idx := rng.IntN(len(hashes))
		cursor := hashes[idx]
		q := Query{
			PubsubTopic:   testPubsub,
			ContentTopics: benchTopics(t, topics),
			Cursor:        &cursor,
			Forward:       rng.IntN(2) == 0,
			Limit:         20,
		}
		b.StartTimer()
		start := time.Now()
		p, err := s.Query(ctx, q)
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if idx >= 20 && idx < len(hashes)-20 && len(p.Messages) != 20 {
			b.Fatalf("page of %d messages for topic %d, want 20", len(p.Messages), t)
		}
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
}

func benchTopics(t, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("/bench/1/t%d/proto", (t+i)%benchContentTopics)
	}
	return out
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pageBench.s != nil {
		pageBench.s.Close()
	}
	if pageBench.dir != "" {
		os.RemoveAll(pageBench.dir)
	}
	os.Exit(code)
}
