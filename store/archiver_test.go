package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rlnd/rlnd/wire"
)

// flakyArchive fails its first failures Puts as an unreachable database
// would, and refuses any batch holding a message whose payload starts with
// "refuse" as an invalid message.
type flakyArchive struct {
	Archive
	failures atomic.Int32
	puts     atomic.Int32
}

func (f *flakyArchive) Put(ctx context.Context, msgs []Stored) (int, error) {
	f.puts.Add(1)
	if f.failures.Add(-1) >= 0 {
		return 0, errors.New("connection refused")
	}
	for _, m := range msgs {
		if strings.HasPrefix(string(m.Message.GetPayload()), "refuse") {
			return 0, fmt.Errorf("%w: refused for the test", ErrInvalidMessage)
		}
	}
	return f.Archive.Put(ctx, msgs)
}

// The archiver keeps what it received while the archive fails and stores
// it once the archive is back; a message the archive refuses is dropped
// alone, and both are counted.
func TestArchiverRetriesAndIsolatesRefusals(t *testing.T) {
	storeHost, pubHost := serviceHost(t), serviceHost(t)
	storeRelay, pubRelay := serviceRelay(t, storeHost), serviceRelay(t, pubHost)
	db, err := OpenSQLite(filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	flaky := &flakyArchive{Archive: db}
	flaky.failures.Store(3)
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg, db)
	if err != nil {
		t.Fatal(err)
	}
	ar := NewArchiver(storeRelay, flaky, ArchiverConfig{Metrics: m})
	t.Cleanup(ar.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pubHost.Connect(ctx, peer.AddrInfo{ID: storeHost.ID(), Addrs: storeHost.Addrs()}); err != nil {
		t.Fatal(err)
	}
	const ct = "/rlnd/1/archiver-test/proto"
	topic, _ := pubRelay.TopicFor(ct)
	for len(pubRelay.PubSub().TopicPeers(topic)) == 0 {
		if ctx.Err() != nil {
			t.Fatal("store node not subscribed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	base := time.Now().UnixNano()
	const n = 20
	for i := range n {
		payload := fmt.Sprintf("message %d", i)
		if i == 7 {
			payload = "refuse me"
		}
		if _, _, err := pubRelay.Publish(topic, wire.NewMessage(ct, []byte(payload), base+int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	for {
		c, _ := db.Count(ctx)
		if c == n-1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("archived %d of %d", c, n-1)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p, err := db.Query(ctx, Query{PubsubTopic: topic, ContentTopics: []string{ct}, Forward: true, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Messages {
		if strings.HasPrefix(string(s.Message.GetPayload()), "refuse") {
			t.Fatal("the refused message was stored")
		}
	}
	if got := testutil.ToFloat64(m.archiveErrors.WithLabelValues("insert_failure")); got != 3 {
		t.Errorf("insert_failure = %v, want 3", got)
	}
	if got := testutil.ToFloat64(m.archiveErrors.WithLabelValues("invalid_message")); got != 1 {
		t.Errorf("invalid_message = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.droppedTotal); got != 0 {
		t.Errorf("dropped = %v, want 0", got)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(fmt.Sprintf(`
# HELP waku_archive_messages Messages in the archive.
# TYPE waku_archive_messages gauge
waku_archive_messages{type="stored"} %d
`, n-1)), "waku_archive_messages"); err != nil {
		t.Error(err)
	}
}

// While the archive keeps failing, at most MaxPending messages are kept:
// the oldest are dropped and counted, the newest stored once it is back.
func TestArchiverBoundsPending(t *testing.T) {
	storeHost, pubHost := serviceHost(t), serviceHost(t)
	storeRelay, pubRelay := serviceRelay(t, storeHost), serviceRelay(t, pubHost)
	db, err := OpenSQLite(filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	flaky := &flakyArchive{Archive: db}
	flaky.failures.Store(1 << 20) // until the test lets it recover
	m, err := NewMetrics(prometheus.NewRegistry(), db)
	if err != nil {
		t.Fatal(err)
	}
	ar := NewArchiver(storeRelay, flaky, ArchiverConfig{Metrics: m, Batch: 4, MaxPending: 8})
	t.Cleanup(ar.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pubHost.Connect(ctx, peer.AddrInfo{ID: storeHost.ID(), Addrs: storeHost.Addrs()}); err != nil {
		t.Fatal(err)
	}
	const ct = "/rlnd/1/archiver-test/proto"
	topic, _ := pubRelay.TopicFor(ct)
	for len(pubRelay.PubSub().TopicPeers(topic)) == 0 {
		if ctx.Err() != nil {
			t.Fatal("store node not subscribed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	base := time.Now().UnixNano()
	const n = 20
	for i := range n {
		if _, _, err := pubRelay.Publish(topic, wire.NewMessage(ct, []byte(fmt.Sprintf("message %d", i)), base+int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	// Wait until the archiver has seen all 20 (it keeps the last 8).
	for testutil.ToFloat64(m.droppedTotal) < n-8 {
		if ctx.Err() != nil {
			t.Fatalf("dropped %v, want %d", testutil.ToFloat64(m.droppedTotal), n-8)
		}
		time.Sleep(20 * time.Millisecond)
	}
	flaky.failures.Store(0)
	for {
		c, _ := db.Count(ctx)
		if c == 8 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("archived %d, want the 8 newest", c)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p, err := db.Query(ctx, Query{Forward: true, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Messages) != 8 || string(p.Messages[0].Message.GetPayload()) != "message 12" {
		t.Fatalf("kept %d messages starting with %q; want the 8 newest", len(p.Messages), p.Messages[0].Message.GetPayload())
	}
}
