package p2p

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	ma "github.com/multiformats/go-multiaddr"
	msmux "github.com/multiformats/go-multistream"

	"github.com/rlnd/rlnd/wire"
)

// The resource manager limits inbound connections per source subnet: 8 per
// IPv4 address, 32 per /24, 8 per IPv6 /56; loopback is not limited.
func TestResourceManagerSubnetLimits(t *testing.T) {
	t.Parallel()
	rm, err := resourceManager(DefaultMaxPeers)
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

// A peer may hold 32 inbound streams of a request/response protocol
// (store) at once: the 33rd and later are reset before the handler.
func TestResourceManagerProtocolPeerStreams(t *testing.T) {
	t.Parallel()
	const perPeer, opened = 32, 40
	svc, _ := newTestHost(t, HostConfig{ClusterID: 9})
	client, _ := newTestHost(t, HostConfig{ClusterID: 9})
	release := make(chan struct{})
	handled := make(chan struct{}, opened)
	svc.Libp2p().SetStreamHandler(wire.StoreQueryProtocol, func(s network.Stream) {
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
		if err := msmux.SelectProtoOrFail(wire.StoreQueryProtocol, s); err != nil {
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
