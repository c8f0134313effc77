package discv5

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rlnd/rlnd/p2p/wakuenr"
)

// record builds a signed record of a fresh key (or key, when given).
func record(t *testing.T, s spec, ip net.IP, seq uint64) *enode.Node {
	t.Helper()
	rec := s.record(t)
	rec.IP, rec.UDP = ip, 9000
	n, err := wakuenr.Build(newKey(t), seq, rec)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// feedAll runs svc's feed filter over nodes and returns what it yields
// (the feed ends with the nodes; 10 s bound it).
func feedAll(t *testing.T, svc *Service, nodes []*enode.Node) []wakuenr.Peer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := make(chan wakuenr.Peer, len(nodes))
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.runFeed(ctx, enode.IterNodes(nodes), out)
	}()
	var got []wakuenr.Peer
	for p := range out {
		got = append(got, p)
	}
	<-done
	if ctx.Err() != nil {
		t.Fatal("feed did not end within 10 s")
	}
	return got
}

var relay1 = spec{cluster: 1, shards: []uint16{0, 1}, caps: wakuenr.Relay}

func TestFeedFilter(t *testing.T) {
	t.Parallel()
	lan := net.IPv4(127, 0, 0, 1)
	tests := []struct {
		name   string
		ours   spec
		edit   func(*Config)
		theirs spec
		reason string // "" when yielded
	}{
		{"fits", relay1, nil, spec{1, []uint16{1, 5}, wakuenr.Relay | wakuenr.Store}, ""},
		{"other cluster", relay1, nil, spec{2, []uint16{0, 1}, wakuenr.Relay}, ReasonCluster},
		{"no shards", relay1, nil, spec{caps: wakuenr.Relay}, ReasonCluster},
		{"no shard in common", relay1, nil, spec{1, []uint16{2, 3}, wakuenr.Relay}, ReasonShards},
		{"no relay", relay1, nil, spec{1, []uint16{0}, wakuenr.Store}, ReasonCapabilities},
		{"waku2 of no capabilities", relay1, nil, spec{1, []uint16{0}, 0}, ReasonCapabilities},
		{"store required", relay1, func(c *Config) { c.RequiredCapabilities = wakuenr.Store }, spec{1, []uint16{0}, wakuenr.Relay}, ReasonCapabilities},
		{"any capabilities", relay1, func(c *Config) { c.AnyCapabilities = true }, spec{1, []uint16{0}, 0}, ""},
		{"we have no shards: any cluster", spec{caps: wakuenr.Relay}, nil, spec{7, []uint16{9}, wakuenr.Relay}, ""},
		{"we list no shard: cluster only", spec{cluster: 1, shards: []uint16{}, caps: wakuenr.Relay}, nil, spec{1, []uint16{9}, wakuenr.Relay}, ""},
		{"we list no shard, other cluster", spec{cluster: 1, shards: []uint16{}, caps: wakuenr.Relay}, nil, spec{2, []uint16{9}, wakuenr.Relay}, ReasonCluster},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc := newService(t, tc.ours, nil, tc.edit)
			got := feedAll(t, svc, []*enode.Node{record(t, tc.theirs, lan, 1)})
			if (len(got) == 1) != (tc.reason == "") {
				t.Fatalf("yielded %d peers, want reason %q", len(got), tc.reason)
			}
			if tc.reason != "" {
				if n := testutil.ToFloat64(svc.metrics.filteredBy.WithLabelValues(tc.reason)); n != 1 {
					t.Errorf("filtered for %s: %v, want 1", tc.reason, n)
				}
			}
		})
	}
}

func TestFeedSkipsSelfAndMalformed(t *testing.T) {
	t.Parallel()
	svc := newService(t, relay1, nil, nil)
	// A record whose rs entry lies about its count.
	bad := wakuenr.LocalRecord{Capabilities: wakuenr.Relay}
	badNode, err := wakuenr.Build(newKey(t), 1, bad)
	if err != nil {
		t.Fatal(err)
	}
	r := badNode.Record()
	r.Set(enrEntry("rs", []byte{0, 1, 5, 0, 0}))
	key := newKey(t)
	if err := enode.SignV4(r, key); err != nil {
		t.Fatal(err)
	}
	malformed, err := enode.New(enode.ValidSchemes, r)
	if err != nil {
		t.Fatal(err)
	}
	got := feedAll(t, svc, []*enode.Node{svc.Self(), malformed})
	if len(got) != 0 {
		t.Fatalf("yielded %v", got)
	}
	for _, reason := range []string{ReasonSelf, ReasonMalformed} {
		if n := testutil.ToFloat64(svc.metrics.filteredBy.WithLabelValues(reason)); n != 1 {
			t.Errorf("filtered for %s: %v, want 1", reason, n)
		}
	}
	if n := testutil.ToFloat64(svc.metrics.errors.WithLabelValues(ReasonMalformed)); n != 1 {
		t.Errorf("waku_discv5_errors{type=malformed} %v, want 1", n)
	}
}

// A node is yielded once, again only with a newer record; the feed
// remembers at most SeenCache nodes.
func TestFeedDeduplicates(t *testing.T) {
	t.Parallel()
	svc := newService(t, relay1, nil, func(c *Config) { c.Limits.SeenCache = 3 })
	key := newKey(t)
	build := func(seq uint64) *enode.Node {
		rec := relay1.record(t)
		rec.IP, rec.UDP = net.IPv4(127, 0, 0, 1), 9000
		n, err := wakuenr.Build(key, seq, rec)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	a1, a1again, a2 := build(1), build(1), build(2)
	others := []*enode.Node{record(t, relay1, nil, 1), record(t, relay1, nil, 1), record(t, relay1, nil, 1)}
	// a1, a1 (seen), a2 (newer: again), 3 others (a forgotten), a1 (a
	// forgotten: yielded as new).
	nodes := append([]*enode.Node{a1, a1again, a2}, others...)
	nodes = append(nodes, a1)
	got := feedAll(t, svc, nodes)
	if len(got) != 6 {
		t.Fatalf("yielded %d peers, want 6 (a1, a2, 3 others, a1 after it was forgotten)", len(got))
	}
	if got[0].Node.Seq() != 1 || got[1].Node.Seq() != 2 || got[5].ID != got[0].ID {
		t.Errorf("yielded seqs %d, %d and last %s, want a1, a2 ... a1", got[0].Node.Seq(), got[1].Node.Seq(), got[5].ID)
	}
	if n := testutil.ToFloat64(svc.metrics.filteredBy.WithLabelValues(ReasonSeen)); n != 1 {
		t.Errorf("filtered as seen: %v, want 1", n)
	}
}

// Public addresses are limited per /24 (IPv4) or /48 (IPv6); LAN
// addresses are not.
func TestFeedLimitsPerPrefix(t *testing.T) {
	t.Parallel()
	svc := newService(t, relay1, nil, func(c *Config) { c.Limits.PerPrefix = 3 })
	var nodes []*enode.Node
	for i := range 5 {
		nodes = append(nodes, record(t, relay1, net.IPv4(203, 0, 113, byte(10+i)), 1)) // one /24
	}
	for i := range 5 {
		nodes = append(nodes, record(t, relay1, net.ParseIP("2001:db8:1:"+string(rune('a'+i))+"::1"), 1)) // one /48
	}
	nodes = append(nodes, record(t, relay1, net.IPv4(198, 51, 100, 1), 1)) // another /24
	for i := range 5 {
		nodes = append(nodes, record(t, relay1, net.IPv4(192, 168, 1, byte(10+i)), 1)) // LAN
	}
	got := feedAll(t, svc, nodes)
	if want := 3 + 3 + 1 + 5; len(got) != want {
		t.Errorf("yielded %d peers, want %d", len(got), want)
	}
	if n := testutil.ToFloat64(svc.metrics.filteredBy.WithLabelValues(ReasonPrefix)); n != 4 {
		t.Errorf("filtered by prefix: %v, want 4", n)
	}
}

// After its burst a feed yields PerSecond peers a second.
func TestFeedRate(t *testing.T) {
	t.Parallel()
	const perSecond, burst, total = 20, 2, 8
	svc := newService(t, relay1, nil, func(c *Config) { c.Limits.PerSecond, c.Limits.Burst = perSecond, burst })
	var nodes []*enode.Node
	for range total {
		nodes = append(nodes, record(t, relay1, net.IPv4(127, 0, 0, 1), 1))
	}
	start := time.Now()
	got := feedAll(t, svc, nodes)
	took := time.Since(start)
	if len(got) != total {
		t.Fatalf("yielded %d, want %d", len(got), total)
	}
	if min := time.Duration(total-burst) * time.Second / perSecond; took < min-10*time.Millisecond {
		t.Errorf("%d peers took %v, want at least %v at %d a second after %d", total, took, min, perSecond, burst)
	}
}

func TestTokenBucket(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	b := newTokenBucket(4, 2, now)
	waits := []time.Duration{b.take(now), b.take(now), b.take(now), b.take(now)}
	want := []time.Duration{0, 0, 250 * time.Millisecond, 500 * time.Millisecond}
	for k := range want {
		if waits[k] != want[k] {
			t.Errorf("take %d waits %v, want %v", k, waits[k], want[k])
		}
	}
	// After 10 s the bucket is full again, not fuller.
	later := now.Add(10 * time.Second)
	if w := b.take(later); w != 0 {
		t.Errorf("after a pause: wait %v", w)
	}
	b.take(later)
	if w := b.take(later); w != 250*time.Millisecond {
		t.Errorf("burst after a pause exceeded: wait %v, want 250ms", w)
	}
}
