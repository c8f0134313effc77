package peermgr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/p2p"
	"github.com/rlnd/rlnd/relay/gossipsub"
)

// within bounds every wait of these tests: dials and metadata checks on
// loopback take milliseconds; the bound is for a loaded 2-core machine.
const within = 10 * time.Second

const (
	relayProto     = protocol.ID(gossipsub.WakuRelay)
	storeProto     = protocol.ID("/vac/waku/store-query/3.0.0")
	lightpushProto = protocol.ID("/vac/waku/lightpush/3.0.0")
)

// node is an rlnd host on loopback that serves the given protocols (their
// handlers reset every stream: identify announcing them is what counts)
// and counts the connections dialled to it.
type node struct {
	h       *p2p.Host
	inbound atomic.Int64
}

func newNode(t *testing.T, cluster uint16, shards []uint16, protos ...protocol.ID) *node {
	t.Helper()
	sh := make([]uint32, len(shards))
	for i, s := range shards {
		sh[i] = uint32(s)
	}
	h, err := p2p.NewHost(p2p.HostConfig{ClusterID: cluster, Shards: func() []uint32 { return sh }, Listen: []string{"/ip4/127.0.0.1/tcp/0"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	for _, p := range protos {
		h.Libp2p().SetStreamHandler(p, func(s network.Stream) { s.Reset() })
	}
	n := &node{h: h}
	h.Libp2p().Network().Notify(&network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		if c.Stat().Direction == network.DirInbound {
			n.inbound.Add(1)
		}
	}})
	return n
}

func (n *node) info() peer.AddrInfo { return peer.AddrInfo{ID: n.h.ID(), Addrs: n.h.Libp2p().Addrs()} }

// cand is n as a candidate on cluster 1 with the given services and shards.
func (n *node) cand(caps Capabilities, shards ...uint16) Candidate {
	return Candidate{Info: n.info(), ClusterKnown: true, Cluster: 1, Shards: shards, Caps: caps, Source: SourceDiscv5}
}

func isConnected(n *node, p peer.ID) bool {
	return n.h.Libp2p().Network().Connectedness(p) == network.Connected
}

// newManager builds a manager on n with test timings: a 20 ms loop, dials
// bounded by 5 s; it is closed at the end of the test.
func newManager(t *testing.T, n *node, cfg Config) (*Manager, *testnet.Buffer) {
	t.Helper()
	logs := &testnet.Buffer{}
	cfg.Host = n.h
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	setDefault(&cfg.Interval, 20*time.Millisecond)
	setDefault(&cfg.DialTimeout, 5*time.Second)
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, logs
}

// startManager is newManager, started.
func startManager(t *testing.T, n *node, cfg Config) (*Manager, *testnet.Buffer) {
	t.Helper()
	m, logs := newManager(t, n, cfg)
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	return m, logs
}

func add(t *testing.T, m *Manager, cs ...Candidate) {
	t.Helper()
	for _, c := range cs {
		if err := m.Add(c); err != nil {
			t.Fatalf("add %s: %v", c.Info.ID, err)
		}
	}
}

// steps waits for the run loop to pass n more times (it runs every 20 ms).
func steps(t *testing.T, m *Manager, n uint64) {
	t.Helper()
	start := m.Stats().Steps
	testnet.WaitFor(t, within, fmt.Sprintf("%d steps", n), func() bool { return m.Stats().Steps >= start+n })
}

// From a pool of candidates each shard gets its target of relay peers, and
// no more are dialled once it has (the outbound target being met too).
func TestShardTargetsFromPool(t *testing.T) {
	us := newNode(t, 1, []uint16{0, 1}, relayProto)
	var pool0, pool1 []*node
	for range 4 {
		pool0 = append(pool0, newNode(t, 1, []uint16{0}, relayProto))
	}
	for range 2 {
		pool1 = append(pool1, newNode(t, 1, []uint16{1}, relayProto))
	}
	reg := prometheus.NewRegistry()
	m, logs := startManager(t, us, Config{Shards: []uint16{0, 1}, ShardTarget: 2, MaxPeers: 20, RelayPeers: 10, OutRelayPeers: 2, Registerer: reg})
	for _, n := range pool0 {
		add(t, m, n.cand(CapRelay, 0))
	}
	for _, n := range pool1 {
		add(t, m, n.cand(CapRelay, 1))
	}
	testnet.WaitFor(t, within, "both shards at target", func() bool {
		st := m.Stats()
		return st.ShardPeers[0] >= 2 && st.ShardPeers[1] >= 2
	})
	steps(t, m, 10)
	st := m.Stats()
	if st.ShardPeers[0] != 2 || st.ShardPeers[1] != 2 || st.Dials != 4 || st.RelayOut != 4 {
		t.Fatalf("stats %+v: want 2 relay peers per shard from 4 dials", st)
	}
	for _, n := range pool1 {
		if !isConnected(us, n.h.ID()) {
			t.Fatalf("shard 1 candidate %s not connected: shard 1 has only those two", n.h.ID())
		}
	}
	// Metrics: the four outbound relay connections, the six known peers.
	if got := testutil.ToFloat64(m.met.dials.WithLabelValues("successful")); got != 4 {
		t.Fatalf("waku_peers_dials_total{outcome=successful} %v, want 4", got)
	}
	want := `
# HELP waku_peer_store_size Number of peers managed by the peer store.
# TYPE waku_peer_store_size gauge
waku_peer_store_size 6
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "waku_peer_store_size"); err != nil {
		t.Fatal(err)
	}
	if got := gaugeValue(t, reg, "waku_connected_peers", map[string]string{"direction": "Out", "protocol": string(relayProto)}); got != 4 {
		t.Fatalf(`waku_connected_peers{direction="Out",protocol=relay} %v, want 4`, got)
	}
	// One "peer connected" line per peer.
	for _, n := range pool1 {
		if c := strings.Count(logs.String(), "msg=\"peer connected\" peer="+n.h.ID().String()); c != 1 {
			t.Fatalf("%d connection lines for %s, want 1:\n%s", c, n.h.ID(), logs)
		}
	}
}

// gaugeValue reads one series of a gathered metric.
func gaugeValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue series
				}
			}
			return s.GetGauge().GetValue()
		}
	}
	t.Fatalf("no %s%v", name, labels)
	return 0
}

// A candidate on both short shards is dialled rather than one on each.
func TestPrefersUnderServedShards(t *testing.T) {
	us := newNode(t, 1, []uint16{0, 1}, relayProto)
	a, b, c := newNode(t, 1, []uint16{0}, relayProto), newNode(t, 1, []uint16{1}, relayProto), newNode(t, 1, []uint16{0, 1}, relayProto)
	// All three are known before the first step.
	m, _ := newManager(t, us, Config{Shards: []uint16{0, 1}, ShardTarget: 1, MaxPeers: 10, RelayPeers: 4, OutRelayPeers: 1})
	add(t, m, a.cand(CapRelay, 0), b.cand(CapRelay, 1), c.cand(CapRelay, 0, 1))
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	testnet.WaitFor(t, within, "c connected", func() bool { return isConnected(us, c.h.ID()) })
	steps(t, m, 10)
	if isConnected(us, a.h.ID()) || isConnected(us, b.h.ID()) || a.inbound.Load()+b.inbound.Load() != 0 {
		t.Fatalf("a or b dialled (%d, %d) though c covers both shards", a.inbound.Load(), b.inbound.Load())
	}
}

// Many peers dialling in do not take the outbound share: inbound relay
// peers beyond the relay budget less the outbound target are disconnected
// and the outbound target is dialled.
func TestInboundOutboundRatio(t *testing.T) {
	us := newNode(t, 1, []uint16{0}, relayProto)
	// MaxPeers 12, relay budget 6, outbound 2: at most 4 inbound relay peers.
	m, _ := startManager(t, us, Config{Shards: []uint16{0}, ShardTarget: 2, MaxPeers: 12, RelayPeers: 6, OutRelayPeers: 2})
	// Six dial in while the manager runs (it may close the first ones
	// before the last are up: no waiting on each one's admission).
	var in []*node
	for range 6 {
		n := newNode(t, 1, []uint16{0}, relayProto)
		ctx, cancel := context.WithTimeout(context.Background(), within)
		err := n.h.Libp2p().Connect(ctx, us.info())
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, n)
	}
	out1, out2 := newNode(t, 1, []uint16{0}, relayProto), newNode(t, 1, []uint16{0}, relayProto)
	add(t, m, out1.cand(CapRelay, 0), out2.cand(CapRelay, 0))
	testnet.WaitFor(t, within, "4 inbound and 2 outbound relay peers", func() bool {
		st := m.Stats()
		return st.RelayIn == 4 && st.RelayOut == 2
	})
	steps(t, m, 10)
	if st := m.Stats(); st.RelayIn != 4 || st.RelayOut != 2 || st.Disconnects != 2 {
		t.Fatalf("stats %+v: want 4 in, 2 out, 2 inbound disconnected", st)
	}
	connectedIn := 0
	for _, n := range in {
		if isConnected(us, n.h.ID()) {
			connectedIn++
		}
	}
	if connectedIn != 4 || !isConnected(us, out1.h.ID()) || !isConnected(us, out2.h.ID()) {
		t.Fatalf("%d inbound connected, outbound %v %v", connectedIn, isConnected(us, out1.h.ID()), isConnected(us, out2.h.ID()))
	}
}

// Service slots are filled, one peer each, beside a full relay budget.
func TestServiceSlotsFilled(t *testing.T) {
	us := newNode(t, 1, []uint16{0}, relayProto)
	relay := newNode(t, 1, []uint16{0}, relayProto)
	store1, store2, lp := newNode(t, 1, nil, storeProto), newNode(t, 1, nil, storeProto), newNode(t, 1, nil, lightpushProto)
	m, _ := startManager(t, us, Config{Shards: []uint16{0}, ShardTarget: 1, MaxPeers: 10, RelayPeers: 1, OutRelayPeers: 1,
		ServiceSlots: ServiceSlots{Store: 1, Lightpush: 1}})
	add(t, m, relay.cand(CapRelay, 0), store1.cand(CapStore), store2.cand(CapStore), lp.cand(CapLightpush))
	testnet.WaitFor(t, within, "relay, a store and the lightpush peer connected", func() bool {
		return isConnected(us, relay.h.ID()) && isConnected(us, lp.h.ID()) && (isConnected(us, store1.h.ID()) || isConnected(us, store2.h.ID()))
	})
	steps(t, m, 10)
	if isConnected(us, store1.h.ID()) == isConnected(us, store2.h.ID()) || store1.inbound.Load()+store2.inbound.Load() != 1 {
		t.Fatalf("store peers dialled %d + %d times: want one store slot filled once", store1.inbound.Load(), store2.inbound.Load())
	}
	if st := m.Stats(); st.RelayOut != 1 || st.Connected != 3 {
		t.Fatalf("stats %+v: want 1 relay peer and 3 peers connected", st)
	}
}

// A candidate whose dials fail is dialled again only after its backoff:
// each gap between two dials is at least the backoff after the failures
// so far, so over the first 1.1 s it is dialled at most 5 times (every
// 20 ms step would dial it without backoff).
func TestFailingCandidateBackedOff(t *testing.T) {
	us := newNode(t, 1, []uint16{0}, relayProto)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepts := make(chan time.Time, 64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepts <- time.Now()
			c.Close() // not a libp2p peer: the handshake fails
		}
	}()
	backoff := Backoff{Initial: 100 * time.Millisecond, Factor: 2, Max: 400 * time.Millisecond}
	m, _ := startManager(t, us, Config{Shards: []uint16{0}, Backoff: backoff})
	bad := Candidate{Info: peer.AddrInfo{ID: newID(t), Addrs: []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/" + fmt.Sprint(ln.Addr().(*net.TCPAddr).Port))}},
		ClusterKnown: true, Cluster: 1, Shards: []uint16{0}, Caps: CapRelay}
	add(t, m, bad)
	var at []time.Time
	for len(at) < 5 {
		select {
		case a := <-accepts:
			at = append(at, a)
		case <-time.After(within):
			t.Fatalf("%d dials within %v, want 5", len(at), within)
		}
	}
	for i := 1; i < len(at); i++ {
		if gap, min := at[i].Sub(at[i-1]), backoff.Delay(i); gap < min {
			t.Fatalf("dial %d came %v after the previous, before the backoff of %v", i+1, gap, min)
		}
	}
	recs := m.Peers()
	if len(recs) != 1 || recs[0].Failures < 4 || m.Stats().DialFailures < 4 {
		t.Fatalf("records %+v, stats %+v: want the failures counted", recs, m.Stats())
	}
}

// A peer whose gossipsub score falls below the graylist threshold is
// disconnected, banned, not redialled, and closed when it dials in again.
func TestGraylistedPeerDisconnected(t *testing.T) {
	us := newNode(t, 1, []uint16{0}, relayProto)
	good, bad := newNode(t, 1, []uint16{0}, relayProto), newNode(t, 1, []uint16{0}, relayProto)
	var badScore atomic.Bool
	scores := func() map[peer.ID]float64 {
		s := map[peer.ID]float64{good.h.ID(): 5, bad.h.ID(): 0}
		if badScore.Load() {
			s[bad.h.ID()] = -20000
		}
		return s
	}
	m, logs := startManager(t, us, Config{Shards: []uint16{0}, ShardTarget: 2, Scores: scores})
	add(t, m, good.cand(CapRelay, 0), bad.cand(CapRelay, 0))
	testnet.WaitFor(t, within, "both connected", func() bool { return isConnected(us, good.h.ID()) && isConnected(us, bad.h.ID()) })
	badScore.Store(true)
	testnet.WaitFor(t, within, "the graylisted peer disconnected", func() bool { return !isConnected(us, bad.h.ID()) })
	steps(t, m, 10)
	if isConnected(us, bad.h.ID()) || bad.inbound.Load() != 1 || !isConnected(us, good.h.ID()) {
		t.Fatalf("graylisted peer dialled %d times, connected %v; want once and not again", bad.inbound.Load(), isConnected(us, bad.h.ID()))
	}
	if err := m.Add(bad.cand(CapRelay, 0)); !errors.Is(err, ErrBanned) {
		t.Fatalf("re-adding the graylisted peer: %v, want ErrBanned", err)
	}
	if st := m.Stats(); st.Graylisted != 1 || st.Banned != 1 {
		t.Fatalf("stats %+v: want one peer graylisted and banned", st)
	}
	if !strings.Contains(logs.String(), "disconnecting graylisted peer") {
		t.Fatalf("no log of the graylisting:\n%s", logs)
	}
	// It dials in: it is admitted by the host and closed by the manager.
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if err := bad.h.Libp2p().Connect(ctx, us.info()); err != nil {
		t.Fatal(err)
	}
	testnet.WaitFor(t, within, "the graylisted peer's own connection closed", func() bool { return !isConnected(us, bad.h.ID()) })
}

// A peer of another cluster is never dialled when the candidate says so,
// and dialled once, then never again, when only the metadata check finds
// out.
func TestOtherClusterNeverDialled(t *testing.T) {
	us := newNode(t, 1, []uint16{0}, relayProto)
	known, unknown := newNode(t, 2, []uint16{0}, relayProto), newNode(t, 2, []uint16{0}, relayProto)
	m, _ := startManager(t, us, Config{Shards: []uint16{0}})
	c := known.cand(CapRelay, 0)
	c.Cluster = 2
	if err := m.Add(c); !errors.Is(err, ErrOtherCluster) {
		t.Fatalf("candidate of cluster 2: %v, want ErrOtherCluster", err)
	}
	add(t, m, Candidate{Info: unknown.info(), Source: SourcePeerExchange})
	testnet.WaitFor(t, within, "the unknown-cluster peer dialled and banned", func() bool { return m.Stats().Banned == 1 })
	steps(t, m, 10)
	if known.inbound.Load() != 0 || unknown.inbound.Load() != 1 {
		t.Fatalf("dials: cluster 2 candidate %d (want 0), unknown-cluster peer %d (want 1)", known.inbound.Load(), unknown.inbound.Load())
	}
	if len(m.Peers()) != 0 {
		t.Fatalf("peers of another cluster kept: %+v", m.Peers())
	}
	if err := m.Add(Candidate{Info: unknown.info()}); !errors.Is(err, ErrBanned) {
		t.Fatalf("re-adding: %v, want ErrBanned", err)
	}
	if err := m.Add(Candidate{Info: us.info()}); !errors.Is(err, ErrSelf) {
		t.Fatalf("adding ourselves: %v, want ErrSelf", err)
	}
}

// The peer store is written at Close and read at start: a manager on a new
// host dials the peers it knows without being told of them.
func TestPeerStoreSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peers.json")
	a, b := newNode(t, 1, []uint16{0}, relayProto), newNode(t, 1, []uint16{0, 1}, relayProto, storeProto)
	us1 := newNode(t, 1, []uint16{0}, relayProto)
	m1, _ := startManager(t, us1, Config{Shards: []uint16{0}, StorePath: path})
	add(t, m1, a.cand(CapRelay, 0), Candidate{Info: b.info(), Source: SourceDiscv5})
	testnet.WaitFor(t, within, "both connected", func() bool { return m1.Stats().Connected == 2 })
	if err := m1.Close(); err != nil {
		t.Fatal(err)
	}
	us2 := newNode(t, 1, []uint16{0}, relayProto)
	m2, err := New(Config{Host: us2.h, Shards: []uint16{0}, StorePath: path, Interval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m2.Close() })
	got := m2.Peers()
	if len(got) != 2 {
		t.Fatalf("%d peers loaded, want 2", len(got))
	}
	for _, k := range got {
		if k.ID == b.h.ID() && (k.Caps != CapRelay|CapStore || !slices.Equal(k.Shards, []uint16{0, 1}) || !k.ClusterKnown || k.Source != SourceDiscv5) {
			t.Fatalf("b's record %+v: want what the connection showed (relay and store, shards 0 and 1)", k)
		}
	}
	if err := m2.Start(); err != nil {
		t.Fatal(err)
	}
	testnet.WaitFor(t, within, "the stored peers dialled", func() bool { return isConnected(us2, a.h.ID()) && isConnected(us2, b.h.ID()) })
}

// A corrupt store file is kept aside and the manager starts empty; a failed
// write at Close leaves the previous file intact.
func TestPeerStoreFaults(t *testing.T) {
	h, err := p2p.NewHost(p2p.HostConfig{ClusterID: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	dir := t.TempDir()
	path := filepath.Join(dir, "peers.json")
	c := candidate(t, "192.0.2.1", 0)
	good, err := encodeStore([]KnownPeer{{ID: c.Info.ID, Addrs: c.Info.Addrs, LastSeen: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{{"truncated", good[:len(good)-20]}, {"bytes damaged", bytes.Replace(good, []byte("ip4"), []byte("ip5"), 1)}} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			logs := &testnet.Buffer{}
			reg := prometheus.NewRegistry()
			m, err := New(Config{Host: h, StorePath: path, Registerer: reg, Logger: slog.New(slog.NewTextHandler(logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if len(m.Peers()) != 0 || !strings.Contains(logs.String(), "level=WARN msg=\"peer store file corrupt: kept aside") {
				t.Fatalf("peers %d, logs:\n%s", len(m.Peers()), logs)
			}
			if aside, err := os.ReadFile(path + ".corrupt"); err != nil || !bytes.Equal(aside, tc.data) {
				t.Fatalf("corrupt file not kept aside: %v", err)
			}
			if got := testutil.ToFloat64(m.met.faults.WithLabelValues("corrupt")); got != 1 {
				t.Fatalf("corrupt files counted %v, want 1", got)
			}
		})
	}
	t.Run("failed write", func(t *testing.T) {
		if err := os.WriteFile(path, good, 0o600); err != nil {
			t.Fatal(err)
		}
		fsys := newFaultFS()
		m, err := New(Config{Host: h, StorePath: path, fs: fsys})
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Peers()) != 1 {
			t.Fatalf("%d peers loaded, want 1", len(m.Peers()))
		}
		add(t, m, candidate(t, "192.0.2.2", 0))
		fsys.mu.Lock()
		fsys.tornAt = 10
		fsys.mu.Unlock()
		if err := m.Close(); err == nil {
			t.Fatal("Close reported no error for a failed write")
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, good) {
			t.Fatalf("previous file changed by a failed write: %.80q", got)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		m, err := New(Config{Host: h, StorePath: filepath.Join(dir, "none", "peers.json")})
		if err != nil || len(m.Peers()) != 0 {
			t.Fatalf("missing file: %v, %d peers", err, len(m.Peers()))
		}
		m.Close()
	})
}

// A static peer is redialled after it hangs up.
func TestStaticPeerRedialled(t *testing.T) {
	us := newNode(t, 1, []uint16{0}, relayProto)
	s := newNode(t, 1, []uint16{0}, relayProto)
	m, _ := startManager(t, us, Config{Shards: []uint16{0}, Static: []peer.AddrInfo{s.info()},
		StaticBackoff: Backoff{Initial: 50 * time.Millisecond, Factor: 2, Max: 200 * time.Millisecond}})
	// Both sides see the connection before s hangs up (ours may be up
	// before s has registered it).
	testnet.WaitFor(t, within, "static peer connected", func() bool { return isConnected(us, s.h.ID()) && isConnected(s, us.h.ID()) })
	if err := m.Add(Candidate{Info: s.info()}); err != nil {
		t.Fatalf("adding a static peer as a candidate: %v", err)
	}
	_ = s.h.Libp2p().Network().ClosePeer(us.h.ID())
	testnet.WaitFor(t, within, "static peer redialled", func() bool {
		return s.inbound.Load() == 2 && isConnected(us, s.h.ID()) && isConnected(s, us.h.ID())
	})
	if len(m.Peers()) != 0 {
		t.Fatal("a static peer went to the peer store")
	}
}

// A static peer that cannot be reached is redialled when its backoff
// ends, not at the run loop's next Interval: with a one-minute loop and a
// 400 ms backoff (longer than the loop's 250 ms gap between steps, as the
// default 1 s is), three dials reach it in about a second. (The peer's
// listener hangs up at once, so every dial fails.)
func TestStaticPeerRedialledOnBackoff(t *testing.T) {
	us := newNode(t, 1, []uint16{0}, relayProto)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	static := peer.AddrInfo{ID: newID(t), Addrs: []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/" + fmt.Sprint(ln.Addr().(*net.TCPAddr).Port))}}
	startManager(t, us, Config{Shards: []uint16{0}, Static: []peer.AddrInfo{static}, Interval: time.Minute,
		StaticBackoff: Backoff{Initial: 400 * time.Millisecond, Factor: 1, Max: 400 * time.Millisecond}})
	testnet.WaitFor(t, within, "three dials of the unreachable static peer", func() bool { return accepted.Load() >= 3 })
}

// Close cancels the dials in flight and waits for them.
func TestCloseCancelsDials(t *testing.T) {
	us := newNode(t, 1, []uint16{0}, relayProto)
	// A listener that accepts and then says nothing: the dial waits for
	// the security handshake until its timeout.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var held sync.WaitGroup
	accepted := make(chan net.Conn, 1)
	held.Add(1)
	go func() {
		defer held.Done()
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	m, err := New(Config{Host: us.h, Shards: []uint16{0}, Interval: 20 * time.Millisecond, DialTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	add(t, m, Candidate{Info: peer.AddrInfo{ID: newID(t), Addrs: []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/" + fmt.Sprint(ln.Addr().(*net.TCPAddr).Port))}}})
	var conn net.Conn
	select {
	case conn = <-accepted:
	case <-time.After(within):
		t.Fatal("no dial")
	}
	defer conn.Close()
	if m.Stats().Dialing != 1 {
		t.Fatalf("stats %+v: want the dial in flight", m.Stats())
	}
	start := time.Now()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > within || m.Stats().Dialing != 0 {
		t.Fatalf("Close took %v with %d dials left: want the dial cancelled", took, m.Stats().Dialing)
	}
	if err := m.Add(candidate(t, "192.0.2.1")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close: %v, want ErrClosed", err)
	}
	if err := m.Start(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close: %v, want ErrClosed", err)
	}
	held.Wait()
}

func TestConfigRejected(t *testing.T) {
	t.Parallel()
	h, err := p2p.NewHost(p2p.HostConfig{ClusterID: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no host", Config{}, "no host"},
		{"relay over max", Config{Host: h, MaxPeers: 10, RelayPeers: 11}, "relay peers 11"},
		{"outbound over relay", Config{Host: h, RelayPeers: 4, OutRelayPeers: 5}, "outbound relay peers 5"},
		{"shard target over relay", Config{Host: h, Shards: []uint16{0}, RelayPeers: 4, OutRelayPeers: 1, ShardTarget: 5}, "shard target 5"},
		{"shard out of range", Config{Host: h, Shards: []uint16{1024}}, "shard 1024"},
		{"positive graylist", Config{Host: h, GraylistThreshold: 5}, "graylist threshold"},
		{"bad backoff", Config{Host: h, Backoff: Backoff{Initial: time.Second, Factor: 0.5, Max: time.Minute}}, "candidate backoff"},
		{"static is us", Config{Host: h, Static: []peer.AddrInfo{{ID: h.ID(), Addrs: []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/1")}}}}, "this node"},
		{"static without address", Config{Host: h, Static: []peer.AddrInfo{{ID: newID(t)}}}, "no dialable address"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tc.cfg)
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrInvalidConfig saying %q", err, tc.want)
			}
		})
	}
}

// A peer that connects and disconnects again and again is logged once
// each way per log window.
func TestFlappingPeerLogBounded(t *testing.T) {
	us := newNode(t, 1, []uint16{0}, relayProto)
	flapper := newNode(t, 1, []uint16{0}, relayProto)
	m, logs := startManager(t, us, Config{Shards: []uint16{0}})
	for i := range 5 {
		testnet.Connect(t, flapper.h, us.h)
		testnet.WaitFor(t, within, fmt.Sprintf("connection %d seen", i+1), func() bool { return m.Stats().Connected == 1 })
		_ = flapper.h.Libp2p().Network().ClosePeer(us.h.ID())
		testnet.WaitFor(t, within, fmt.Sprintf("disconnection %d seen", i+1), func() bool { return m.Stats().Connected == 0 })
	}
	id := flapper.h.ID().String()
	if c, d := strings.Count(logs.String(), `msg="peer connected" peer=`+id), strings.Count(logs.String(), `msg="peer disconnected" peer=`+id); c != 1 || d != 1 {
		t.Fatalf("%d connection and %d disconnection lines for 5 of each, want 1 and 1:\n%s", c, d, logs)
	}
}
