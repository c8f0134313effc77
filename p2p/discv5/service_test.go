package discv5

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/rlnd/rlnd/p2p/wakuenr"
)

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	noUDP, err := wakuenr.Build(newKey(t), 1, wakuenr.LocalRecord{})
	if err != nil {
		t.Fatal(err)
	}
	var big []string
	for k := range 6 {
		big = append(big, "/dns4/node-0"+string(rune('0'+k))+".a-long-name.example.org/tcp/443/wss")
	}
	tooBig := wakuenr.LocalRecord{}
	for _, s := range big {
		a, err := newMultiaddr(s)
		if err != nil {
			t.Fatal(err)
		}
		tooBig.Multiaddrs = append(tooBig.Multiaddrs, a)
	}
	tests := []struct {
		name    string
		cfg     Config
		target  error
		wantErr string
	}{
		{"no key", Config{}, ErrInvalidConfig, "no PrivKey"},
		{"protocol id length", Config{PrivKey: key, ProtocolID: "waku"}, ErrInvalidConfig, `ProtocolID "waku" is 4 bytes, want 6`},
		{"listen without port", Config{PrivKey: key, Listen: "127.0.0.1"}, ErrInvalidConfig, "Listen"},
		{"listen port", Config{PrivKey: key, Listen: "127.0.0.1:70000"}, ErrInvalidConfig, `port "70000"`},
		{"listen host name", Config{PrivKey: key, Listen: "localhost:9000"}, ErrInvalidConfig, "want an IP address"},
		{"negative limit", Config{PrivKey: key, Limits: Limits{Burst: -1}}, ErrInvalidConfig, "negative limit"},
		{"bootnode without udp", Config{PrivKey: key, Bootnodes: []*enode.Node{noUDP}}, ErrInvalidRecords, "record 0 ("},
		{"record too big", Config{PrivKey: key, Listen: "127.0.0.1:0", Record: tooBig}, wakuenr.ErrTooBig, "over the 300-byte ENR limit"},
	}
	for _, tc := range tests {
		svc, err := New(tc.cfg)
		if err == nil {
			svc.Close()
		}
		if !errors.Is(err, tc.target) || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: error %v, want %v with %q", tc.name, err, tc.target, tc.wantErr)
		}
	}
}

func TestParseBootnodes(t *testing.T) {
	t.Parallel()
	// One of The Waku Network's bootstrap records (nwaku's twn preset;
	// see p2p/wakuenr's twn_test.go).
	const twn = "enr:-QESuED0qW1BCmF-oH_ARGPr97Nv767bl_43uoy70vrbah3EaCAdK3Q0iRQ6wkSTTpdrg_dU_NC2ydO8leSlRpBX4pxiAYJpZIJ2NIJpcIRA4VDAim11bHRpYWRkcnO4XAArNiZub2RlLTAxLmRvLWFtczMud2FrdS5zYW5kYm94LnN0YXR1cy5pbQZ2XwAtNiZub2RlLTAxLmRvLWFtczMud2FrdS5zYW5kYm94LnN0YXR1cy5pbQYfQN4DgnJzkwABCAAAAAEAAgADAAQABQAGAAeJc2VjcDI1NmsxoQOTd-h5owwj-cx7xrmbvQKU8CV3Fomfdvcv1MBc-67T5oN0Y3CCdl-DdWRwgiMohXdha3UyDw"
	nodes, err := ParseBootnodes([]string{"", "# a comment", twn})
	if err != nil || len(nodes) != 1 {
		t.Fatalf("ParseBootnodes: %d nodes, %v", len(nodes), err)
	}
	if ep, ok := nodes[0].UDPEndpoint(); !ok || ep.String() != "64.225.80.192:9000" {
		t.Errorf("udp endpoint %v", ep)
	}
	if _, err := ParseBootnodes([]string{twn, "enr:bogus"}); !errors.Is(err, ErrInvalidRecords) || !strings.Contains(err.Error(), "record 1") {
		t.Errorf("bad record: %v, want ErrInvalidRecords naming record 1", err)
	}
	if _, err := ParseBootnodes([]string{"/dns4/x.org/tcp/30303/p2p/16Uiu2HAmNaeL4p3WEYzC9mgXBmBWSgWjPHRvatZTXnp8Jgv3iKsb"}); !errors.Is(err, ErrInvalidRecords) {
		t.Errorf("multiaddr: %v, want ErrInvalidRecords", err)
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	svc := newService(t, relay1, nil, nil)
	if _, err := svc.Candidates(context.Background()); !errors.Is(err, ErrNotStarted) {
		t.Errorf("Candidates before Start: %v", err)
	}
	if _, err := svc.Iterator(); !errors.Is(err, ErrNotStarted) {
		t.Errorf("Iterator before Start: %v", err)
	}
	if svc.LocalAddr() != nil {
		t.Error("LocalAddr before Start")
	}
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(); !errors.Is(err, ErrStarted) {
		t.Errorf("second Start: %v", err)
	}
	addr := svc.LocalAddr()
	if addr == nil || addr.Port == 0 || !addr.IP.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Fatalf("LocalAddr %v", addr)
	}
	self := svc.Self()
	if self.UDP() != addr.Port || !self.IP().Equal(net.IPv4(127, 0, 0, 1)) || self.TCP() != 60000 {
		t.Errorf("our record says %v udp %d tcp %d, want 127.0.0.1 udp %d tcp 60000", self.IP(), self.UDP(), self.TCP(), addr.Port)
	}
	if svc.Record().UDP != addr.Port {
		t.Errorf("Record().UDP %d, want %d", svc.Record().UDP, addr.Port)
	}
	p, err := wakuenr.ParsePeer(svc.SelfText())
	if err != nil || !p.Shards.Equal(wakuenr.Shards{Cluster: 1, Indices: []uint16{0, 1}}) || p.Capabilities != wakuenr.Relay {
		t.Errorf("SelfText reads as %+v, %v", p, err)
	}
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := svc.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := svc.Start(); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close: %v", err)
	}
	if _, err := svc.Candidates(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Candidates after Close: %v", err)
	}
	if err := svc.Update(wakuenr.LocalRecord{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Update after Close: %v", err)
	}
}

// Update changes our record (a peer asking for it sees the new one) and
// the filter; a record that does not fit is refused and the old stays.
func TestUpdate(t *testing.T) {
	t.Parallel()
	a := startService(t, relay1, nil, nil)
	b := startService(t, relay1, nil, nil)
	before := a.Self().Seq()
	rec := a.Record()
	sh, err := wakuenr.NewShards(1, 5, 6)
	if err != nil {
		t.Fatal(err)
	}
	rec.Shards = &sh
	rec.Capabilities = wakuenr.Relay | wakuenr.Store
	rec.IP = net.IPv4(127, 0, 0, 1)
	ws, err := newMultiaddr("/ip4/127.0.0.1/tcp/8000/ws")
	if err != nil {
		t.Fatal(err)
	}
	rec.Multiaddrs = []multiaddr{ws}
	if err := a.Update(rec); err != nil {
		t.Fatal(err)
	}
	if a.Self().Seq() <= before {
		t.Errorf("seq %d after update, want above %d", a.Self().Seq(), before)
	}
	if shards, _ := a.ours(); !shards.Equal(sh) {
		t.Errorf("filter shards %v, want %v", shards, sh)
	}
	udp, err := b.transport()
	if err != nil {
		t.Fatal(err)
	}
	got, err := udp.RequestENR(a.Self()) // bounded by the 700 ms response timeout
	if err != nil {
		t.Fatal(err)
	}
	p, err := wakuenr.Decode(got)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Shards.Equal(sh) || p.Capabilities != wakuenr.Relay|wakuenr.Store || len(p.Addrs) != 2 || got.UDP() != a.LocalAddr().Port {
		t.Errorf("peer sees %+v (udp %d)", p, got.UDP())
	}

	text := a.SelfText()
	for range 6 {
		big, err := newMultiaddr("/dns4/node-0.a-long-name.example.org/tcp/443/wss")
		if err != nil {
			t.Fatal(err)
		}
		rec.Multiaddrs = append(rec.Multiaddrs, big)
	}
	if err := a.Update(rec); !errors.Is(err, wakuenr.ErrTooBig) {
		t.Fatalf("Update of a big record: %v, want wakuenr.ErrTooBig", err)
	}
	if a.SelfText() != text {
		t.Error("record changed after a refused update")
	}
}

// With a node database on disk, a restarted node's record has a higher
// sequence number than before, so peers take the new one.
func TestNodeDBOnDisk(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nodes")
	key := newKey(t)
	first := newService(t, relay1, nil, func(c *Config) { c.NodeDB, c.PrivKey = path, key })
	for i := range 3 {
		rec := first.Record()
		rec.TCP = 61000 + i
		if err := first.Update(rec); err != nil {
			t.Fatal(err)
		}
	}
	seq := first.Self().Seq()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second := newService(t, relay1, nil, func(c *Config) { c.NodeDB, c.PrivKey = path, key })
	if got := second.Self().Seq(); got <= seq {
		t.Errorf("seq after restart %d, want above %d", got, seq)
	}
}

func TestTooManyFeeds(t *testing.T) {
	t.Parallel()
	svc := startService(t, relay1, nil, func(c *Config) { c.Limits.MaxFeeds = 2 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f1, err := svc.Candidates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Candidates(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Candidates(ctx); !errors.Is(err, ErrTooManyFeeds) {
		t.Fatalf("third feed: %v, want ErrTooManyFeeds", err)
	}
	if _, err := svc.FindPeers(ctx, 0); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("FindPeers(0): %v", err)
	}
	if _, err := svc.FindPeers(ctx, 10_000); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("FindPeers(10000): %v", err)
	}
	// Ending a feed frees its place (the slot is given back just after
	// the channel closes; 5 s bound the wait).
	cancel()
	waitClosed(t, f1, 5*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for {
		f, err := svc.Candidates(context.Background())
		if err == nil {
			_ = f
			break
		}
		if !errors.Is(err, ErrTooManyFeeds) || time.Now().After(deadline) {
			t.Fatalf("feed after one ended: %v", err)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}

func waitClosed(t *testing.T, feed <-chan wakuenr.Peer, within time.Duration) {
	t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		select {
		case _, ok := <-feed:
			if !ok {
				return
			}
		case <-timer.C:
			t.Fatalf("feed not closed within %v", within)
		}
	}
}

// FindPeers returns what it found when its context ends.
func TestFindPeersDeadline(t *testing.T) {
	t.Parallel()
	boot := startService(t, spec{cluster: 1, shards: []uint16{0}, caps: wakuenr.Relay}, nil, nil)
	svc := startService(t, relay1, []*enode.Node{boot.Self()}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	// Only the bootnode fits; asking for 5 runs into the deadline.
	peers, err := svc.FindPeers(ctx, 5)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("FindPeers: %v, want the deadline", err)
	}
	if len(peers) != 1 || peers[0].Node.ID() != boot.Self().ID() {
		t.Errorf("found %d peers, want the bootnode", len(peers))
	}
}

// Close ends the running feeds (their channels close) and every goroutine
// of the services, go-ethereum's included. Not parallel: it counts the
// process's goroutines.
func TestCloseStopsEverything(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	func() {
		boot := newService(t, relay1, nil, nil)
		if err := boot.Start(); err != nil {
			t.Fatal(err)
		}
		var feeds []<-chan wakuenr.Peer
		var svcs []*Service
		for range 3 {
			svc := newService(t, relay1, []*enode.Node{boot.Self()}, func(c *Config) { c.NodeDB = filepath.Join(t.TempDir(), "db") })
			if err := svc.Start(); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				f, err := svc.Candidates(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				feeds = append(feeds, f)
			}
			it, err := svc.Iterator()
			if err != nil {
				t.Fatal(err)
			}
			defer it.Close()
			svcs = append(svcs, svc)
		}
		for _, s := range append(svcs, boot) {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range feeds {
			waitClosed(t, f, 5*time.Second)
		}
	}()
	if err := waitNoLeaks(leakDeadline, ignore); err != nil {
		t.Fatalf("goroutines left %v after Close: %v", leakDeadline, err)
	}
}

// Two services may share a registry (the first one's table is reported);
// the metrics carry nwaku's names where nwaku has them.
func TestMetricsRegistered(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	a := newService(t, relay1, nil, func(c *Config) { c.Registerer = reg })
	b := newService(t, relay1, nil, func(c *Config) { c.Registerer = reg })
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	a.metrics.filtered(ReasonMalformed)
	b.metrics.filtered(ReasonCluster)
	b.metrics.discovered.Inc()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			name := f.GetName()
			for _, l := range m.GetLabel() {
				name += "{" + l.GetValue() + "}"
			}
			got[name] = v
		}
	}
	want := map[string]float64{
		"waku_discv5_discovered":                1,
		"waku_discv5_errors{malformed}":         1,
		"rlnd_discv5_filtered_total{malformed}": 1,
		"rlnd_discv5_filtered_total{cluster}":   1,
		"rlnd_discv5_table_nodes":               0,
	}
	for name, v := range want {
		if g, ok := got[name]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v; all: %v", name, g, ok, v, got)
		}
	}
}
