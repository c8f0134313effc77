package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rlnd/rlnd/internal/relaytest"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/relay"
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

// archiverNet is a store relay archiving into a flakyArchive over SQLite,
// a publishing relay connected to it, and the test's content topic.
type archiverNet struct {
	db    *SQLite
	flaky *flakyArchive
	m     *metrics // the ones the archiver registers on reg too
	reg   *prometheus.Registry
	pub   *relay.Relay
	topic string
	// arrivals sees the store node's deliveries in the order the
	// archiver's own subscription gets them (one delivery loop feeds both).
	arrivals *relay.Subscription
}

const archiverTopic = "/rlnd/1/archiver-test/proto"

func newArchiverNet(t *testing.T, failures int32, cfg ArchiverConfig) *archiverNet {
	storeNode, pubNode := relaytest.Start(t, testCluster, nil), relaytest.Start(t, testCluster, nil)
	db, err := OpenSQLite(filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	n := &archiverNet{db: db, flaky: &flakyArchive{Archive: db}, reg: prometheus.NewRegistry(), pub: pubNode.Relay, arrivals: storeNode.Relay.Subscribe()}
	n.flaky.failures.Store(failures)
	if n.m, err = newMetrics(n.reg, db); err != nil {
		t.Fatal(err)
	}
	cfg.Registerer = n.reg
	ar, err := NewArchiver(storeNode.Relay, n.flaky, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ar.Close)
	n.topic, _ = pubNode.Relay.TopicFor(archiverTopic)
	relaytest.Link(t, 30*time.Second, pubNode, storeNode, n.topic)
	return n
}

// publish sends n messages with the payloads payload(i).
func (n *archiverNet) publish(t *testing.T, count int, payload func(i int) string) {
	base := time.Now().UnixNano()
	for i := range count {
		if _, _, err := n.pub.Publish(n.topic, wire.NewMessage(archiverTopic, []byte(payload(i)), base+int64(i))); err != nil {
			t.Fatal(err)
		}
	}
}

// waitCount waits until the archive holds want messages.
func (n *archiverNet) waitCount(t *testing.T, want int) {
	t.Helper()
	testnet.WaitFor(t, 30*time.Second, fmt.Sprintf("%d messages archived", want), func() bool {
		c, _ := n.db.Count(context.Background())
		return c == want
	})
}

// The archiver keeps what it received while the archive fails and stores
// it once the archive is back; a message the archive refuses is dropped
// alone, and both are counted.
func TestArchiverRetriesAndIsolatesRefusals(t *testing.T) {
	n := newArchiverNet(t, 3, ArchiverConfig{})
	const count = 20
	n.publish(t, count, func(i int) string {
		if i == 7 {
			return "refuse me"
		}
		return fmt.Sprintf("message %d", i)
	})
	n.waitCount(t, count-1)
	p, err := n.db.Query(context.Background(), Query{Forward: true, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Messages {
		if strings.HasPrefix(string(s.Message.GetPayload()), "refuse") {
			t.Fatal("the refused message was stored")
		}
	}
	m := n.m
	if got := testutil.ToFloat64(m.archiveErrors.WithLabelValues("insert_failure")); got != 3 {
		t.Errorf("insert_failure = %v, want 3", got)
	}
	if got := testutil.ToFloat64(m.archiveErrors.WithLabelValues("invalid_message")); got != 1 {
		t.Errorf("invalid_message = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.droppedTotal); got != 0 {
		t.Errorf("dropped = %v, want 0", got)
	}
	if err := testutil.GatherAndCompare(n.reg, strings.NewReader(fmt.Sprintf(`
# HELP waku_archive_messages Messages in the archive.
# TYPE waku_archive_messages gauge
waku_archive_messages{type="stored"} %d
`, count-1)), "waku_archive_messages"); err != nil {
		t.Error(err)
	}
}

// While the archive keeps failing, at most MaxPending messages are kept:
// the oldest are dropped and counted, the newest stored once it is back.
func TestArchiverBoundsPending(t *testing.T) {
	n := newArchiverNet(t, 1<<20, ArchiverConfig{Batch: 4, MaxPending: 8}) // fails until the test lets it recover
	const count = 20
	n.publish(t, count, func(i int) string { return fmt.Sprintf("message %d", i) })
	// Wait until the archiver has seen all 20 (it keeps the last 8).
	testnet.WaitFor(t, 30*time.Second, fmt.Sprintf("%d messages dropped", count-8), func() bool {
		return testutil.ToFloat64(n.m.droppedTotal) >= count-8
	})
	// The order they reached the store node in (gossipsub may deliver out
	// of publishing order): the 8 that came last are the ones to keep.
	var order []string
	timeout := time.After(30 * time.Second)
	for len(order) < count {
		select {
		case env := <-n.arrivals.C():
			order = append(order, string(env.Message.GetPayload()))
		case <-timeout:
			t.Fatalf("the store node delivered %d of %d", len(order), count)
		}
	}
	n.flaky.failures.Store(0)
	n.waitCount(t, 8)
	p, err := n.db.Query(context.Background(), Query{Forward: true, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, m := range p.Messages {
		kept = append(kept, string(m.Message.GetPayload()))
	}
	slices.Sort(kept)
	want := slices.Clone(order[count-8:])
	slices.Sort(want)
	if !slices.Equal(kept, want) {
		t.Fatalf("kept %v; want the 8 that arrived last, %v (arrival order %v)", kept, want, order)
	}
}
