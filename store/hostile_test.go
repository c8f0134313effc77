package store

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	msmux "github.com/multiformats/go-multistream"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/internal/hostile"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/p2p"
	"github.com/rlnd/rlnd/p2p/admission"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/storepb"
)

const hostileCluster = 7

// hostileStore is a store node on 127.0.0.1 (an rlnd libp2p host, with its
// resource manager and metadata check) answering from an SQLite archive.
type hostileStore struct {
	host  *p2p.Host
	svc   *Service
	topic string
	ct    string
}

func startHostileStore(t *testing.T, cfg ServiceConfig, messages, payload int) *hostileStore {
	t.Helper()
	db, err := OpenSQLite(filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := &hostileStore{topic: "/waku/2/rs/7/0", ct: "/rlnd/1/hostile/proto"}
	base := time.Now().Add(-time.Minute).UnixNano()
	var batch []Stored
	for i := range messages {
		body := make([]byte, payload)
		copy(body, fmt.Sprintf("message %d", i))
		batch = append(batch, NewStored(s.topic, wire.NewMessage(s.ct, body, base+int64(i)*1000)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := db.Put(ctx, batch); err != nil {
		t.Fatal(err)
	}
	s.host = testnet.Host(t, hostileCluster, StreamLimits())
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	if s.svc, err = NewService(s.host.Libp2p(), db, cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.svc.Close)
	return s
}

// 1,280 idle store streams from 20 peer ids in 127.0.1.0/24, opened again
// (three times) each time the service resets them, while two honest clients in
// 127.0.2.0/24 and 127.0.3.0/24 query: at least 99% of the honest queries
// are answered in full, the service holds at most its per-prefix bound of
// idle streams for the attacker prefix, and the heap grows by at most
// 64 MiB (this process holds both ends of the attack).
func TestIdleStreamFloodStore(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile-stream test: 20 attacker hosts")
	}
	s := startHostileStore(t, ServiceConfig{}, 30, 100)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	honest := hostile.Clients(t, ctx, hostileCluster, s.host, "127.0.2.1", "127.0.3.1")
	hostile.RunFlood(t, ctx, hostile.FloodRun{
		Target: s.host,
		Flood:  hostile.FloodConfig{Cluster: hostileCluster, Protocol: Protocol, Peers: 20, IPPrefix: "127.0.1.", Streams: 64, Reopens: 3},
		Honest: honest, MinRequests: 100,
		Request: func(ctx context.Context, ci, i int, c *p2p.Host) error {
			resp, err := QueryPeer(ctx, c.Libp2p(), s.host.ID(), &storepb.StoreQueryRequest{
				IncludeData: true, PubsubTopic: proto.String(s.topic), ContentTopics: []string{s.ct}, PaginationLimit: proto.Uint64(10),
			})
			if err == nil && (StatusCode(resp.GetStatusCode()) != StatusOK || len(resp.GetMessages()) != 10) {
				err = fmt.Errorf("client %d query %d: status %d %q, %d messages", ci, i, resp.GetStatusCode(), resp.GetStatusDesc(), len(resp.GetMessages()))
			}
			return err
		},
		Gate: s.svc.Admission(), HeapBound: 64 << 20,
	})
}

// Many concurrent full-page queries whose client never reads the answer:
// the service encodes at most MaxFullPages pages at a time and answers
// the others 503; once the answers are being written, the heap holds
// about one encoded page per allowed page: the bound is 9/8 of a page per
// allowed page plus 16 MiB (before: every stalled query held its page
// twice, ~30 MiB each, 2 GB for 64).
func TestStalledReadersStore(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile-stream test: full pages")
	}
	const (
		queries   = 64
		fullPages = 2
		// A page: 100 messages of 140 KiB, about 14 MiB encoded.
		messages, payload = 100, 140 << 10
	)
	lim := admission.Limits{PeerRequests: queries, PrefixRequests: queries, TotalRequests: queries, Request: 20 * time.Second}
	s := startHostileStore(t, ServiceConfig{Admission: lim, MaxFullPages: fullPages}, messages, payload)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := testnet.HostAt(t, hostileCluster, "127.0.2.1")
	hostile.Connect(t, ctx, c, s.host, "127.0.2.1")
	before := hostile.HeapAfterGC()

	req, err := wire.EncodeFrame(&storepb.StoreQueryRequest{
		RequestId: "stalled", IncludeData: true, PubsubTopic: proto.String(s.topic), ContentTopics: []string{s.ct}, PaginationLimit: proto.Uint64(100),
	})
	if err != nil {
		t.Fatal(err)
	}
	// Every query is sent; the answers are never read. Busy answers are
	// small enough to be written into the stream's window anyway.
	streams := make([]network.Stream, 0, queries)
	for range queries {
		st, err := c.Libp2p().Network().NewStream(ctx, s.host.ID())
		if err != nil {
			t.Fatal(err)
		}
		if err := msmux.SelectProtoOrFail(Protocol, st); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Write(req); err != nil {
			t.Fatal(err)
		}
		streams = append(streams, st)
	}
	t.Cleanup(func() {
		for _, st := range streams {
			_ = st.Reset()
		}
	})
	// Every query is answered, in full (blocked on our reading) or busy:
	// the first byte of each answer arrives. (One byte is all the client
	// ever reads.)
	gate := s.svc.Admission()
	first := make(chan error, queries)
	for _, st := range streams {
		go func() {
			var b [1]byte
			_, err := io.ReadFull(st, b[:])
			first <- err
		}()
	}
	for range queries {
		select {
		case err := <-first:
			if err != nil {
				t.Fatalf("an answer did not start: %v", err)
			}
		case <-ctx.Done():
			t.Fatalf("answers did not start; gate %+v", gate.Stats())
		}
	}
	if st := gate.Stats(); st.Active != fullPages || st.Refusing != 0 {
		t.Fatalf("gate %+v, want %d full answers in progress", st, fullPages)
	}
	during := hostile.HeapAfterGC()
	page := int64(messages * payload)
	bound := uint64(fullPages*(page+page/8) + 16<<20)
	t.Logf("%d stalled full-page queries: gate %+v, heap %d -> %d KiB (bound +%d KiB)", queries, gate.Stats(), before>>10, during>>10, bound>>10)
	if during > before && during-before > bound {
		t.Fatalf("heap grew by %d KiB with stalled readers, bound %d KiB", (during-before)>>10, bound>>10)
	}
	// The stalled ones hold the budget: a further full-page query is
	// answered 503 with the reason.
	resp, err := QueryPeer(ctx, c.Libp2p(), s.host.ID(), &storepb.StoreQueryRequest{
		IncludeData: true, PubsubTopic: proto.String(s.topic), ContentTopics: []string{s.ct}, PaginationLimit: proto.Uint64(100),
	})
	if err != nil {
		t.Fatal(err)
	}
	if StatusCode(resp.GetStatusCode()) != StatusUnavailable || len(resp.GetMessages()) != 0 {
		t.Fatalf("a full-page query with the budget used: status %d %q, want 503", resp.GetStatusCode(), resp.GetStatusDesc())
	}
	t.Logf("busy answer: %d %q", resp.GetStatusCode(), resp.GetStatusDesc())
	// A small hash-only query still fits.
	resp, err = QueryPeer(ctx, c.Libp2p(), s.host.ID(), &storepb.StoreQueryRequest{
		PubsubTopic: proto.String(s.topic), ContentTopics: []string{s.ct}, PaginationLimit: proto.Uint64(5),
	})
	if err != nil || StatusCode(resp.GetStatusCode()) != StatusOK || len(resp.GetMessages()) != 5 {
		t.Fatalf("a hash-only query with the page budget used: %v, status %d %q", err, resp.GetStatusCode(), resp.GetStatusDesc())
	}
}
