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

	"github.com/rlnd/rlnd/internal/pgtest"
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

// BenchmarkInsert puts batches of benchBatch messages. For SQLite,
// sync=FULL is what OpenSQLite uses and sync=NORMAL shows what the
// per-commit fsync costs; PostgreSQL runs with the server's defaults
// (synchronous_commit=on: every commit waits for its WAL flush).
func BenchmarkInsert(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		b.Run("backend=sqlite/sync="+sync, func(b *testing.B) {
			s, err := openSQLite(filepath.Join(b.TempDir(), "store.db"), sync)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			benchInsert(b, s)
		})
	}
	b.Run("backend=postgres", func(b *testing.B) {
		p, err := OpenPostgres(b.Context(), pgtest.Schema(b))
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		benchInsert(b, p)
	})
}

func benchInsert(b *testing.B, s Archive) {
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

// The page benchmarks' archives are built once per process and backend;
// both hold the same messages.
type pageArchive struct {
	once   sync.Once
	a      Archive
	topics [benchContentTopics][]wire.MessageHash // hashes per content topic, ascending
	err    error
}

var (
	pageBench  = map[string]*pageArchive{"sqlite": {}, "postgres": {}}
	benchDir   string // SQLite's, removed by TestMain
	benchClean []func()
)

func (pa *pageArchive) get(b *testing.B, backend string) *pageArchive {
	pa.once.Do(func() {
		start := time.Now()
		switch backend {
		case "sqlite":
			dir, err := os.MkdirTemp("", "rlnd-store-bench-")
			if err != nil {
				pa.err = err
				return
			}
			benchDir = dir
			pa.a, pa.err = OpenSQLite(filepath.Join(dir, "store.db"))
		case "postgres":
			// The schema outlives this benchmark (the next ones reuse
			// the archive): it is made here and dropped by TestMain.
			pa.a, pa.err = openBenchPostgres(b)
		}
		if pa.err != nil {
			return
		}
		benchClean = append(benchClean, func() { pa.a.Close() })
		ctx := context.Background()
		base := time.Now().Add(-24 * time.Hour).UnixNano()
		batch := make([]Stored, 0, 5000)
		for i := range benchPageRows {
			m := benchMsg(i, base+int64(i)*1000)
			pa.topics[i%benchContentTopics] = append(pa.topics[i%benchContentTopics], m.Hash)
			batch = append(batch, m)
			if len(batch) == cap(batch) || i == benchPageRows-1 {
				if _, err := pa.a.Put(ctx, batch); err != nil {
					pa.err = err
					return
				}
				batch = batch[:0]
			}
		}
		if backend == "postgres" {
			// As an operator would after a bulk load: fresh planner
			// statistics.
			if _, err := pa.a.(*Postgres).w.Exec(`ANALYZE messages`); err != nil {
				pa.err = err
				return
			}
		}
		fmt.Fprintf(os.Stderr, "built a %d-message %s archive in %v\n", benchPageRows, backend, time.Since(start).Round(time.Millisecond))
	})
	if pa.err != nil {
		b.Fatal(pa.err)
	}
	return pa
}

// BenchmarkPage queries random 20-message pages among benchPageRows
// stored messages.
func BenchmarkPage(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		for _, topics := range []int{1, 3} {
			b.Run(fmt.Sprintf("backend=%s/topics=%d", backend, topics), func(b *testing.B) {
				if backend == "postgres" {
					pgtest.URL(b)
				}
				benchPage(b, pageBench[backend].get(b, backend), topics)
			})
		}
	}
}

// benchPage queries random 20-message pages with a cursor, filtered by
// topics content topics (the cursor's own and its neighbours).
func benchPage(b *testing.B, pa *pageArchive, topics int) {
	s := pa.a
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	var lat []time.Duration
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		t := rng.IntN(benchContentTopics)
		hashes := pa.topics[t]
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

// openBenchPostgres opens an archive in a schema dropped by TestMain.
func openBenchPostgres(b *testing.B) (*Postgres, error) {
	u, drop, err := pgtest.NewSchema(pgtest.URL(b))
	if err != nil {
		return nil, err
	}
	benchClean = append(benchClean, func() { drop() })
	return OpenPostgres(b.Context(), u)
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, f := range slices.Backward(benchClean) {
		f()
	}
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}
