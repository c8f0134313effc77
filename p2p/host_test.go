package p2p

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	noise "github.com/libp2p/go-libp2p/p2p/security/noise"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/rlnd/rlnd/relay/gossipsub"
)

// events collects a host's admission callbacks.
type events struct {
	ready    chan readyEvent
	rejected chan rejectEvent
}

type readyEvent struct {
	p  peer.ID
	md PeerMetadata
}

type rejectEvent struct {
	p   peer.ID
	err error
}

func newEvents() *events {
	return &events{ready: make(chan readyEvent, 16), rejected: make(chan rejectEvent, 16)}
}

func (e *events) hook(cfg *HostConfig) {
	cfg.OnPeerReady = func(p peer.ID, md PeerMetadata) { e.ready <- readyEvent{p, md} }
	cfg.OnPeerRejected = func(p peer.ID, err error) { e.rejected <- rejectEvent{p, err} }
}

func (e *events) waitReady(t *testing.T, p peer.ID) PeerMetadata {
	t.Helper()
	select {
	case ev := <-e.ready:
		if ev.p != p {
			t.Fatalf("ready: peer %s, want %s", ev.p, p)
		}
		return ev.md
	case ev := <-e.rejected:
		t.Fatalf("peer %s rejected: %v", ev.p, ev.err)
	case <-time.After(10 * time.Second):
		t.Fatal("no admission within 10 s")
	}
	return PeerMetadata{}
}

func (e *events) waitRejected(t *testing.T, p peer.ID, want error) error {
	t.Helper()
	select {
	case ev := <-e.rejected:
		if ev.p != p {
			t.Fatalf("rejected: peer %s, want %s", ev.p, p)
		}
		if !errors.Is(ev.err, want) {
			t.Fatalf("rejected with %v, want %v", ev.err, want)
		}
		return ev.err
	case ev := <-e.ready:
		t.Fatalf("peer %s admitted, want rejection (%v)", ev.p, want)
	case <-time.After(10 * time.Second):
		t.Fatal("no rejection within 10 s")
	}
	return nil
}

func shards(s ...uint32) func() []uint32 { return func() []uint32 { return s } }

// newTestHost starts a host on loopback TCP and websocket.
func newTestHost(t *testing.T, cfg HostConfig) (*Host, *events) {
	t.Helper()
	ev := newEvents()
	ev.hook(&cfg)
	if cfg.Listen == nil {
		cfg.Listen = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/0/ws"}
	}
	h, err := NewHost(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h, ev
}

// addrInfo is h's address info restricted to one transport, from its
// listen addresses (those it announces may not be dialable here).
func addrInfo(t *testing.T, h *Host, transport string) peer.AddrInfo {
	t.Helper()
	ai := peer.AddrInfo{ID: h.ID()}
	listen, err := h.Libp2p().Network().InterfaceListenAddresses()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range listen {
		ws := false
		ma.ForEach(a, func(c ma.Component) bool {
			if c.Protocol().Code == ma.P_WS {
				ws = true
			}
			return true
		})
		if (transport == "ws") == ws {
			ai.Addrs = append(ai.Addrs, a)
		}
	}
	if len(ai.Addrs) == 0 {
		t.Fatalf("host has no %s address in %v", transport, listen)
	}
	return ai
}

func connState(t *testing.T, h *Host, p peer.ID) network.ConnectionState {
	t.Helper()
	conns := h.Libp2p().Network().ConnsToPeer(p)
	if len(conns) != 1 {
		t.Fatalf("%d connections to %s, want 1", len(conns), p)
	}
	return conns[0].ConnState()
}

// Two hosts connect over each transport with each muxer forced; both sides
// query each other and admit.
func TestConnectExchangesMetadata(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{"tcp", "ws"} {
		for _, muxer := range []string{MuxerYamux, MuxerMplex} {
			t.Run(transport+strings.ReplaceAll(muxer, "/", "_"), func(t *testing.T) {
				t.Parallel()
				a, aev := newTestHost(t, HostConfig{ClusterID: 42, Shards: shards(3, 1, 1), Muxers: []string{muxer}})
				b, bev := newTestHost(t, HostConfig{ClusterID: 42, Shards: shards(1, 2)})
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				md, err := b.Connect(ctx, addrInfo(t, a, transport))
				if err != nil {
					t.Fatal(err)
				}
				if md.ClusterID != 42 || !slices.Equal(md.Shards, []uint32{1, 3}) {
					t.Fatalf("b learnt %+v, want cluster 42 shards [1 3]", md)
				}
				if got := bev.waitReady(t, a.ID()); !slices.Equal(got.Shards, []uint32{1, 3}) {
					t.Fatalf("b's OnPeerReady got %+v", got)
				}
				if got := aev.waitReady(t, b.ID()); got.ClusterID != 42 || !slices.Equal(got.Shards, []uint32{1, 2}) {
					t.Fatalf("a learnt %+v, want cluster 42 shards [1 2]", got)
				}
				if got, ok := a.Peer(b.ID()); !ok || got.ClusterID != 42 {
					t.Fatalf("a.Peer(b) = %+v, %v", got, ok)
				}
				for _, side := range []struct {
					h *Host
					p peer.ID
				}{{a, b.ID()}, {b, a.ID()}} {
					st := connState(t, side.h, side.p)
					if string(st.StreamMultiplexer) != muxer {
						t.Errorf("muxer %q, want %q", st.StreamMultiplexer, muxer)
					}
					if st.Security != noise.ID {
						t.Errorf("security %q, want %q", st.Security, noise.ID)
					}
					if want := map[string]string{"tcp": "tcp", "ws": "websocket"}[transport]; st.Transport != want {
						t.Errorf("transport %q, want %q", st.Transport, want)
					}
				}
			})
		}
	}
}

// A peer on another cluster is disconnected, whichever side dials, and both
// sides report it.
func TestClusterMismatchDisconnects(t *testing.T) {
	t.Parallel()
	for _, dialer := range []string{"a", "b"} {
		t.Run("dialer_"+dialer, func(t *testing.T) {
			t.Parallel()
			a, aev := newTestHost(t, HostConfig{ClusterID: 1, Shards: shards(0)})
			b, bev := newTestHost(t, HostConfig{ClusterID: 2, Shards: shards(0)})
			from, to := b, a
			if dialer == "a" {
				from, to = a, b
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := from.Connect(ctx, addrInfo(t, to, "tcp"))
			if !errors.Is(err, ErrClusterMismatch) {
				t.Fatalf("Connect: %v, want %v", err, ErrClusterMismatch)
			}
			aev.waitRejected(t, b.ID(), ErrClusterMismatch)
			bev.waitRejected(t, a.ID(), ErrClusterMismatch)
			for _, h := range []*Host{a, b} {
				if reason, ok := h.Rejected(other(h, a, b).ID()); !ok || !errors.Is(reason, ErrClusterMismatch) {
					t.Errorf("Rejected = %v, %v", reason, ok)
				}
			}
			waitDisconnected(t, a, b.ID())
			waitDisconnected(t, b, a.ID())
		})
	}
}

func other(h, a, b *Host) *Host {
	if h == a {
		return b
	}
	return a
}

// waitDisconnected waits until h has no connection to p.
func waitDisconnected(t *testing.T, h *Host, p peer.ID) {
	t.Helper()
	gone := make(chan struct{}, 1)
	nb := &network.NotifyBundle{DisconnectedF: func(n network.Network, c network.Conn) {
		if c.RemotePeer() == p && n.Connectedness(p) != network.Connected {
			select {
			case gone <- struct{}{}:
			default:
			}
		}
	}}
	h.Libp2p().Network().Notify(nb)
	defer h.Libp2p().Network().StopNotify(nb)
	if h.Libp2p().Network().Connectedness(p) != network.Connected {
		return
	}
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s still connected to %s", h.ID(), p)
	}
}

// A peer that opens the metadata stream but never answers is dropped after
// the timeout.
func TestStalledMetadataTimesOut(t *testing.T) {
	t.Parallel()
	a, aev := newTestHost(t, HostConfig{ClusterID: 7, MetadataTimeout: 300 * time.Millisecond})
	b, _ := newTestHost(t, HostConfig{ClusterID: 7})
	release := make(chan struct{})
	defer close(release)
	b.Libp2p().SetStreamHandler(ProtocolMetadata, func(s network.Stream) {
		<-release
		s.Reset()
	})
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Libp2p().Connect(ctx, addrInfo(t, a, "tcp")); err != nil {
		t.Fatal(err)
	}
	aev.waitRejected(t, b.ID(), ErrMetadataTimeout)
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("rejected after %v, before the 300 ms timeout", d)
	}
	waitDisconnected(t, a, b.ID())
}

// A peer without the metadata protocol is dropped, unless tolerated.
func TestNoMetadataProtocol(t *testing.T) {
	t.Parallel()
	for _, tolerate := range []bool{false, true} {
		t.Run(map[bool]string{false: "strict", true: "tolerant"}[tolerate], func(t *testing.T) {
			t.Parallel()
			a, aev := newTestHost(t, HostConfig{ClusterID: 7, TolerateNoMetadata: tolerate})
			b, _ := newTestHost(t, HostConfig{ClusterID: 7})
			b.Libp2p().RemoveStreamHandler(ProtocolMetadata)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := b.Libp2p().Connect(ctx, addrInfo(t, a, "tcp")); err != nil {
				t.Fatal(err)
			}
			if tolerate {
				if md := aev.waitReady(t, b.ID()); !md.Missing {
					t.Fatalf("admitted with %+v, want Missing", md)
				}
				return
			}
			aev.waitRejected(t, b.ID(), ErrNoMetadata)
			waitDisconnected(t, a, b.ID())
		})
	}
}

// A relay peer that shares none of our shards is dropped; a non-relay peer
// (a light client) is kept whatever its shards.
func TestNoSharedShard(t *testing.T) {
	t.Parallel()
	for _, relay := range []bool{true, false} {
		t.Run(map[bool]string{true: "relay", false: "light"}[relay], func(t *testing.T) {
			t.Parallel()
			a, aev := newTestHost(t, HostConfig{ClusterID: 7, Shards: shards(0, 1)})
			b, _ := newTestHost(t, HostConfig{ClusterID: 7, Shards: shards(5)})
			if relay {
				b.Libp2p().SetStreamHandler(protocol.ID(gossipsub.WakuRelay), func(s network.Stream) { s.Reset() })
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := b.Libp2p().Connect(ctx, addrInfo(t, a, "tcp")); err != nil {
				t.Fatal(err)
			}
			if !relay {
				aev.waitReady(t, b.ID())
				return
			}
			aev.waitRejected(t, b.ID(), ErrNoSharedShard)
		})
	}
}

func TestNewHostRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []HostConfig{
		{Listen: []string{"not a multiaddr"}},
		{Muxers: []string{"/spdy/3.1.0"}},
		{Muxers: []string{MuxerMplex, MuxerMplex}},
	} {
		if h, err := NewHost(cfg); err == nil {
			h.Close()
			t.Errorf("NewHost(%+v) succeeded", cfg)
		}
	}
}

// A listen address that cannot be listened on fails NewHost, naming it,
// even when the others work (go-libp2p alone would drop it with a log
// line). A port another host holds is in use: SO_REUSEPORT is off, so
// two nodes cannot share one.
func TestListenFailureNamesTheAddress(t *testing.T) {
	t.Parallel()
	holder, _ := newTestHost(t, HostConfig{ClusterID: 1, Shards: shards(0)})
	tcpAddr, wsAddr := addrInfo(t, holder, "tcp").Addrs[0], addrInfo(t, holder, "ws").Addrs[0]
	tests := []struct {
		name   string
		listen []string
		want   string // the address named
		inUse  bool
	}{
		{name: "TCP port of another host", listen: []string{tcpAddr.String()}, want: tcpAddr.String(), inUse: true},
		{name: "websocket port of another host", listen: []string{wsAddr.String()}, want: wsAddr.String(), inUse: true},
		{name: "the second of two", listen: []string{"/ip4/127.0.0.1/tcp/0", tcpAddr.String() + "/ws"},
			want: tcpAddr.String() + "/ws", inUse: true},
		{name: "an address not on this host", listen: []string{"/ip4/127.0.0.1/tcp/0/ws", "/ip4/192.0.2.1/tcp/0"}, want: "/ip4/192.0.2.1/tcp/0"},
		{name: "secure websocket without a certificate", listen: []string{"/ip4/127.0.0.1/tcp/0/tls/ws"}, want: "/ip4/127.0.0.1/tcp/0/tls/ws"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := NewHost(HostConfig{ClusterID: 1, Listen: tt.listen})
			if err == nil {
				h.Close()
				t.Fatalf("NewHost(%q) succeeded", tt.listen)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %s", err, tt.want)
			}
			if tt.inUse && (!errors.Is(err, ErrListen) || !errors.Is(err, syscall.EADDRINUSE)) {
				t.Errorf("error %v does not wrap ErrListen and EADDRINUSE", err)
			}
		})
	}
}

// A host never dials itself: its own peer id, or a peer id at one of its
// own addresses, is refused with ErrSelf before any dial; its addresses
// given for another peer are left out.
func TestConnectSelf(t *testing.T) {
	t.Parallel()
	a, _ := newTestHost(t, HostConfig{ClusterID: 1, Shards: shards(0)})
	b, _ := newTestHost(t, HostConfig{ClusterID: 1, Shards: shards(0)})
	own := addrInfo(t, a, "tcp")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, ai := range []peer.AddrInfo{
		own,
		{ID: a.ID()},
		{ID: b.ID(), Addrs: own.Addrs},
		{ID: b.ID(), Addrs: append(slices.Clone(own.Addrs), addrInfo(t, a, "ws").Addrs...)},
	} {
		if !a.IsSelf(ai) {
			t.Errorf("IsSelf(%v) = false", ai)
		}
		if _, err := a.Connect(ctx, ai); !errors.Is(err, ErrSelf) {
			t.Errorf("Connect(%v) = %v, want ErrSelf", ai, err)
		}
	}
	if n := len(a.Libp2p().Network().Conns()); n != 0 {
		t.Fatalf("%d connections after dialing itself, want none", n)
	}
	other := addrInfo(t, b, "tcp")
	if a.IsSelf(other) || a.IsSelf(peer.AddrInfo{ID: b.ID()}) {
		t.Errorf("IsSelf(%v) = true for another host", other)
	}
	mixed := peer.AddrInfo{ID: b.ID(), Addrs: append(slices.Clone(own.Addrs), other.Addrs...)}
	if a.IsSelf(mixed) {
		t.Errorf("IsSelf(%v) = true with one address of another host", mixed)
	}
	if _, err := a.Connect(ctx, mixed); err != nil {
		t.Fatalf("Connect(%v): %v", mixed, err)
	}
}

// A host dials from its listen address (go-libp2p does so only through
// SO_REUSEPORT, which is off): a peer sees a host on 127.0.1.5 connect
// from 127.0.1.5, so per-address limits count it as such.
func TestDialsFromListenAddress(t *testing.T) {
	t.Parallel()
	server, sev := newTestHost(t, HostConfig{ClusterID: 1, Shards: shards(0), Listen: []string{"/ip4/127.0.0.1/tcp/0"}})
	client, _ := newTestHost(t, HostConfig{ClusterID: 1, Shards: shards(0), Listen: []string{"/ip4/127.0.1.5/tcp/0"}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := client.Connect(ctx, addrInfo(t, server, "tcp")); err != nil {
		t.Fatal(err)
	}
	sev.waitReady(t, client.ID())
	conns := server.Libp2p().Network().ConnsToPeer(client.ID())
	if len(conns) != 1 {
		t.Fatalf("%d connections, want 1", len(conns))
	}
	if ip, _ := conns[0].RemoteMultiaddr().ValueForProtocol(ma.P_IP4); ip != "127.0.1.5" {
		t.Errorf("the server sees the client at %s, want 127.0.1.5", conns[0].RemoteMultiaddr())
	}
}

// dialFrom binds the source address only where the listen addresses say
// which: a loopback one for loopback, the one specific address otherwise.
func TestDialFrom(t *testing.T) {
	t.Parallel()
	tests := []struct {
		listen []string
		dst    string
		want   string // "" : the system picks
	}{
		{[]string{"/ip4/127.0.1.5/tcp/1", "/ip4/127.0.1.5/tcp/2/ws"}, "/ip4/127.0.0.1/tcp/9", "127.0.1.5"},
		{[]string{"/ip4/0.0.0.0/tcp/1", "/ip4/127.0.2.1/tcp/2"}, "/ip4/127.0.0.1/tcp/9", "127.0.2.1"},
		{[]string{"/ip4/0.0.0.0/tcp/1"}, "/ip4/127.0.0.1/tcp/9", ""},
		{[]string{"/ip4/203.0.113.5/tcp/1", "/ip4/203.0.113.5/tcp/2/ws"}, "/ip4/198.51.100.1/tcp/9", "203.0.113.5"},
		{[]string{"/ip4/203.0.113.5/tcp/1", "/ip4/0.0.0.0/tcp/2"}, "/ip4/198.51.100.1/tcp/9", ""},
		{[]string{"/ip4/203.0.113.5/tcp/1", "/ip4/203.0.113.6/tcp/2"}, "/ip4/198.51.100.1/tcp/9", ""},
		{[]string{"/ip4/127.0.1.5/tcp/1"}, "/ip4/198.51.100.1/tcp/9", ""},
		{[]string{"/ip4/203.0.113.5/tcp/1"}, "/ip6/2001:db8::1/tcp/9", ""},
		{[]string{"/ip6/::1/tcp/1", "/ip4/127.0.1.5/tcp/1"}, "/ip6/::1/tcp/9", "::1"},
		{nil, "/dns4/example.org/tcp/9", ""},
	}
	for _, tt := range tests {
		ref := &listenRef{}
		listen := addrs(t, tt.listen...)
		ref.set(func() []ma.Multiaddr { return listen })
		d, err := dialFrom(ref)(addrs(t, tt.dst)[0])
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if la := d.(*net.Dialer).LocalAddr; la != nil {
			got = la.(*net.TCPAddr).IP.String()
		}
		if got != tt.want {
			t.Errorf("listening on %v, dialing %s from %q, want %q", tt.listen, tt.dst, got, tt.want)
		}
	}
}
