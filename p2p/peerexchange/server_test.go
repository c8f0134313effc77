package peerexchange

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/p2p"
	"github.com/rlnd/rlnd/p2p/admission"
)

// service is a peer-exchange server on an rlnd host at 127.0.0.1 and its
// cache of n records.
type service struct {
	host    *p2p.Host
	srv     *Server
	cache   *Cache
	reg     *prometheus.Registry
	records []*enode.Node
}

func startService(t *testing.T, n int, cfg ServerConfig) *service {
	t.Helper()
	s := &service{host: testnet.Host(t, cluster, StreamLimits()), reg: prometheus.NewRegistry()}
	var err error
	if s.cache, err = NewCache(CacheConfig{Registerer: s.reg}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		r, _ := record(t, 1, fmt.Sprintf("127.0.%d.%d", 10+i/250, 1+i%250), 60000)
		if err := s.cache.Add(r); err != nil {
			t.Fatal(err)
		}
		s.records = append(s.records, r)
	}
	cfg.Cache = s.cache
	cfg.Registerer = s.reg
	if s.srv, err = NewServer(s.host.Libp2p(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.srv.Close)
	return s
}

func (s *service) result(t *testing.T, result string) float64 {
	t.Helper()
	return metricValue(t, s.reg, "rlnd_px_requests_total", map[string]string{"result": result})
}

// A client on another host gets what it asks for, capped at MaxPeers and
// at what the cache holds, each record one the cache holds and signed.
func TestRequest(t *testing.T) {
	t.Parallel()
	s := startService(t, 80, ServerConfig{})
	c := testnet.Host(t, cluster)
	testnet.Connect(t, c, s.host)
	held := ids(s.records)
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	sent := 0
	for _, numPeers := range []int{1, 5, MaxPeers} {
		nodes, err := Request(ctx, c.Libp2p(), s.host.ID(), numPeers)
		if err != nil {
			t.Fatalf("Request(%d): %v", numPeers, err)
		}
		if len(nodes) != numPeers || len(ids(nodes)) != numPeers {
			t.Fatalf("Request(%d) = %d records (%d distinct)", numPeers, len(nodes), len(ids(nodes)))
		}
		for _, n := range nodes {
			if !held[n.ID()] {
				t.Fatalf("record %s is not one the cache holds", n.ID())
			}
			if _, err := enode.New(enode.ValidSchemes, n.Record()); err != nil {
				t.Fatalf("record %s: %v", n.ID(), err)
			}
		}
		sent += numPeers
	}
	for _, bad := range []int{0, -1, MaxPeers + 1} {
		if _, err := Request(ctx, c.Libp2p(), s.host.ID(), bad); !errors.Is(err, ErrInvalidNumPeers) {
			t.Fatalf("Request(%d) error %v, want ErrInvalidNumPeers", bad, err)
		}
	}
	if got := metricValue(t, s.reg, "waku_px_peers_sent_total", nil); got != float64(sent) {
		t.Fatalf("waku_px_peers_sent_total = %v, want %d", got, sent)
	}
	if got := s.result(t, ResultServed); got != 3 {
		t.Fatalf("served %v requests, want 3", got)
	}
	if got := metricValue(t, s.reg, "waku_px_peers_cached", nil); got != 80 {
		t.Fatalf("waku_px_peers_cached = %v, want 80", got)
	}
}

// A server capped below MaxPeers answers at most its cap; a cache with few
// records answers what it has; the requester never gets its own record.
func TestRequestCaps(t *testing.T) {
	t.Parallel()
	s := startService(t, 3, ServerConfig{MaxPeers: 2, RateLimit: RateLimits{PeerBurst: 100}})
	c := testnet.Host(t, cluster)
	testnet.Connect(t, c, s.host)
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	nodes, err := Request(ctx, c.Libp2p(), s.host.ID(), 10)
	if err != nil || len(nodes) != 2 {
		t.Fatalf("Request(10) from a server capped at 2 = %d records, %v", len(nodes), err)
	}

	// The client's own record (its libp2p key is its ENR key) is left out.
	own := recordWithKey(t, nodeKey(t, c), 1, "127.0.0.1", 60000)
	if got := nodeIDOf(c.ID()); got != own.ID() {
		t.Fatalf("nodeIDOf(peer) = %s, want the ENR node id %s", got, own.ID())
	}
	if err := s.cache.Add(own); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		nodes, err := Request(ctx, c.Libp2p(), s.host.ID(), 4)
		if err != nil {
			t.Fatal(err)
		}
		if len(nodes) != 2 {
			t.Fatalf("%d records, want 2 (the cap)", len(nodes))
		}
		if ids(nodes)[own.ID()] {
			t.Fatal("the requester got its own record")
		}
	}

	empty := startService(t, 0, ServerConfig{})
	testnet.Connect(t, c, empty.host)
	if nodes, err := Request(ctx, c.Libp2p(), empty.host.ID(), 5); err != nil || len(nodes) != 0 {
		t.Fatalf("Request to an empty cache = %d records, %v; want none, no error", len(nodes), err)
	}
}

func TestServerConfig(t *testing.T) {
	t.Parallel()
	h := testnet.Host(t, cluster)
	cache, _ := NewCache(CacheConfig{})
	for _, tc := range []struct {
		cfg  ServerConfig
		want string
	}{
		{ServerConfig{}, "a cache is required"},
		{ServerConfig{Cache: cache, MaxPeers: MaxPeers + 1}, "max peers per answer 61, want 1 to 60"},
		{ServerConfig{Cache: cache, RateLimit: RateLimits{PeerBurst: -1}}, "peer burst -1"},
	} {
		if _, err := NewServer(h.Libp2p(), tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewServer(%+v) = %v, want an error saying %q", tc.cfg, err, tc.want)
		}
	}
	s, err := NewServer(h.Libp2p(), ServerConfig{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := s.Config()
	if got.MaxPeers != MaxPeers || got.Admission != DefaultAdmission() || got.RateLimit.PeerBurst != DefaultPeerBurst {
		t.Fatalf("defaults %+v", got)
	}
}

// Close ends a request in progress (within admission.CloseGrace) before it
// returns, and the protocol is no longer served.
func TestServerClose(t *testing.T) {
	t.Parallel()
	s := startService(t, 5, ServerConfig{})
	c := testnet.Host(t, cluster)
	testnet.Connect(t, c, s.host)
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	st := rawStream(t, ctx, c, s.host)
	if _, err := st.Write([]byte{0x04}); err != nil { // started, stalled
		t.Fatal(err)
	}
	if err := s.srv.Admission().Wait(ctx, func(st admission.Stats) bool { return st.Active == 1 }); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	began := time.Now()
	go func() {
		s.srv.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-ctx.Done():
		t.Fatal("Close did not return with a request in progress")
	}
	if took := time.Since(began); took > admission.CloseGrace+time.Second {
		t.Fatalf("Close took %s, grace %s", took, admission.CloseGrace)
	}
	if s := s.srv.Admission().Stats(); s.Active != 0 {
		t.Fatalf("after Close %d requests active", s.Active)
	}
	if _, err := Request(ctx, c.Libp2p(), s.host.ID(), 5); err == nil || !strings.Contains(err.Error(), "open a stream") {
		t.Fatalf("Request after Close: %v, want the stream refused", err)
	}
}
