package p2p

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
	msmux "github.com/multiformats/go-multistream"
)

// testProtocol is a request/response protocol of the tests.
const testProtocol protocol.ID = "/rlnd/test/request/1.0.0"

// The resource manager limits inbound connections per source subnet: 8 per
// IPv4 address, 32 per /24, 8 per IPv6 /56; loopback is not limited.
func TestResourceManagerSubnetLimits(t *testing.T) {
	t.Parallel()
	rm, err := resourceManager(DefaultMaxPeers, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rm.Close() })
	open := func(addr string) error {
		s, err := rm.OpenConnection(network.DirInbound, false, ma.StringCast(addr))
		if err == nil {
			t.Cleanup(s.Done)
		}
		return err
	}
	for i := range 8 {
		if err := open(fmt.Sprintf("/ip4/192.0.2.1/tcp/%d", 1000+i)); err != nil {
			t.Fatalf("connection %d from one IPv4 address refused: %v", i+1, err)
		}
	}
	if err := open("/ip4/192.0.2.1/tcp/2000"); err == nil {
		t.Fatal("a 9th connection from one IPv4 address was accepted")
	}
	for i := 8; i < 32; i++ {
		if err := open(fmt.Sprintf("/ip4/192.0.2.%d/tcp/1000", 2+i)); err != nil {
			t.Fatalf("connection %d from one /24 refused: %v", i+1, err)
		}
	}
	if err := open("/ip4/192.0.2.200/tcp/1000"); err == nil {
		t.Fatal("a 33rd connection from one /24 was accepted")
	}
	if err := open("/ip4/198.51.100.1/tcp/1000"); err != nil {
		t.Fatalf("a connection from another /24 refused: %v", err)
	}
	for i := range 8 {
		if err := open(fmt.Sprintf("/ip6/2001:db8:0:%x::1/tcp/1000", i)); err != nil {
			t.Fatalf("connection %d from one IPv6 /56 refused: %v", i+1, err)
		}
	}
	if err := open("/ip6/2001:db8:0:ff::1/tcp/1000"); err == nil {
		t.Fatal("a 9th connection from one IPv6 /56 was accepted")
	}
	// Above the 8 per address and within the transient scope's bound on
	// connections not yet upgraded (these never are).
	for i := range 16 {
		if err := open(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", 3000+i)); err != nil {
			t.Fatalf("loopback connection %d refused: %v", i+1, err)
		}
	}
}

// A peer may hold as many inbound streams of a protocol at once as its
// StreamLimits allow (32, as the request/response protocols have): the
// 33rd and later are reset before the handler.
func TestResourceManagerProtocolPeerStreams(t *testing.T) {
	t.Parallel()
	const perPeer, opened = 32, 40
	limits := []StreamLimits{{Protocols: []protocol.ID{testProtocol}, PerPeer: perPeer, Total: 1024}}
	svc, _ := newTestHost(t, HostConfig{ClusterID: 9, StreamLimits: limits})
	client, _ := newTestHost(t, HostConfig{ClusterID: 9, StreamLimits: limits})
	release := make(chan struct{})
	handled := make(chan struct{}, opened)
	svc.Libp2p().SetStreamHandler(testProtocol, func(s network.Stream) {
		handled <- struct{}{}
		<-release
		_ = s.Reset()
	})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := client.Connect(ctx, addrInfo(t, svc, "tcp")); err != nil {
		t.Fatal(err)
	}
	refused := make(chan struct{}, opened)
	for range opened {
		s, err := client.Libp2p().Network().NewStream(ctx, svc.ID())
		if err != nil {
			t.Fatal(err)
		}
		if err := msmux.SelectProtoOrFail(testProtocol, s); err != nil {
			refused <- struct{}{}
			continue
		}
		go func() {
			var b [1]byte
			if _, err := s.Read(b[:]); err != nil {
				select {
				case <-release:
				default:
					refused <- struct{}{} // reset before the test ended
				}
			}
		}()
	}
	var got, lost int
	for got+lost < opened {
		select {
		case <-handled:
			got++
		case <-refused:
			lost++
		case <-ctx.Done():
			t.Fatalf("%d streams handled and %d refused of %d", got, lost, opened)
		}
	}
	if got != perPeer || lost != opened-perPeer {
		t.Fatalf("%d streams handled and %d refused, want %d and %d", got, lost, perPeer, opened-perPeer)
	}
}

// Stream limits name protocols and bound them; a protocol has one scope.
func TestStreamLimitsChecked(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		limits []StreamLimits
	}{
		{"no protocols", []StreamLimits{{PerPeer: 1, Total: 1}}},
		{"zero per peer", []StreamLimits{{Protocols: []protocol.ID{testProtocol}, Total: 1}}},
		{"negative total", []StreamLimits{{Protocols: []protocol.ID{testProtocol}, PerPeer: 1, Total: -1}}},
		{"twice", []StreamLimits{{Protocols: []protocol.ID{testProtocol}, PerPeer: 1, Total: 1}, {Protocols: []protocol.ID{testProtocol}, PerPeer: 2, Total: 2}}},
		{"a host protocol", []StreamLimits{{Protocols: []protocol.ID{ProtocolMetadata}, PerPeer: 1, Total: 1}}},
	} {
		if _, err := NewHost(HostConfig{ClusterID: 9, StreamLimits: tc.limits}); err == nil {
			t.Errorf("%s: NewHost accepted %+v", tc.name, tc.limits)
		}
	}
}
