package p2p

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	ma "github.com/multiformats/go-multiaddr"
)

func addrs(t *testing.T, ss ...string) []ma.Multiaddr {
	t.Helper()
	out := make([]ma.Multiaddr, len(ss))
	for i, s := range ss {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = a
	}
	return out
}

func addrStrings(as []ma.Multiaddr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	slices.Sort(out)
	return out
}

// The address factory announces what go-libp2p found, replaced by the
// domain name or the external IP for the listen ports of their family,
// then the external addresses, or those alone.
func TestAdvertiseAddrs(t *testing.T) {
	t.Parallel()
	listen := addrs(t, "/ip4/0.0.0.0/tcp/60000", "/ip4/0.0.0.0/tcp/8000/ws", "/ip4/10.0.0.5/tcp/443/tls/ws", "/ip6/::/tcp/60001")
	local := addrs(t, "/ip4/127.0.0.1/tcp/60000", "/ip4/10.0.0.5/tcp/60000", "/ip4/127.0.0.1/tcp/8000/ws",
		"/ip4/10.0.0.5/tcp/443/tls/ws", "/ip6/::1/tcp/60001", "/ip6/2001:db8::5/tcp/60001")
	ext := addrs(t, "/dns4/gw.example.org/tcp/30303", "/ip4/198.51.100.1/tcp/60000")
	tests := []struct {
		name string
		cfg  Advertise
		want []string
	}{
		{name: "what go-libp2p found", want: addrStrings(local)},
		{name: "and external addresses", cfg: Advertise{ExtAddrs: ext},
			want: addrStrings(append(slices.Clone(local), ext...))},
		{name: "external addresses only", cfg: Advertise{ExtAddrs: ext, ExtAddrsOnly: true, DNS4DomainName: "node.example.org"},
			want: addrStrings(ext)},
		{name: "domain name for IPv4", cfg: Advertise{DNS4DomainName: "node.example.org"}, want: []string{
			"/dns4/node.example.org/tcp/443/wss", "/dns4/node.example.org/tcp/60000", "/dns4/node.example.org/tcp/8000/ws",
			"/ip6/2001:db8::5/tcp/60001", "/ip6/::1/tcp/60001"}},
		{name: "external IPv4", cfg: Advertise{ExtIP: netip.MustParseAddr("203.0.113.7"), ExtAddrs: ext[:1]}, want: []string{
			"/dns4/gw.example.org/tcp/30303", "/ip4/203.0.113.7/tcp/443/wss", "/ip4/203.0.113.7/tcp/60000", "/ip4/203.0.113.7/tcp/8000/ws",
			"/ip6/2001:db8::5/tcp/60001", "/ip6/::1/tcp/60001"}},
		{name: "external IPv6", cfg: Advertise{ExtIP: netip.MustParseAddr("2001:db8::7")}, want: addrStrings(append(slices.Clone(local[:4]),
			addrs(t, "/ip6/2001:db8::7/tcp/60001")...))},
		{name: "the domain name before an external IPv4", cfg: Advertise{DNS4DomainName: "node.example.org", ExtIP: netip.MustParseAddr("203.0.113.7")},
			want: []string{"/dns4/node.example.org/tcp/443/wss", "/dns4/node.example.org/tcp/60000", "/dns4/node.example.org/tcp/8000/ws",
				"/ip6/2001:db8::5/tcp/60001", "/ip6/::1/tcp/60001"}},
	}
	for _, tt := range tests {
		a := &advertiser{cfg: tt.cfg, listen: &listenRef{}}
		a.listen.set(func() []ma.Multiaddr { return listen })
		if got := addrStrings(a.addrs(slices.Clone(local))); !slices.Equal(got, tt.want) {
			t.Errorf("%s: announced\n%q\nwant\n%q", tt.name, got, tt.want)
		}
	}
	// Before the host listens (or for a dial-only host) a domain name
	// has no ports to announce.
	a := &advertiser{cfg: Advertise{DNS4DomainName: "node.example.org", ExtAddrs: ext}, listen: &listenRef{}}
	if got := addrStrings(a.addrs(nil)); !slices.Equal(got, addrStrings(ext)) {
		t.Errorf("without listeners: %q, want %q", got, addrStrings(ext))
	}
}

// A peer learns the announced addresses by identify: the domain name or
// external IP with the ports the system picked, the external addresses,
// and none of the loopback listen addresses they replace.
func TestIdentifySeesAdvertisedAddrs(t *testing.T) {
	t.Parallel()
	ext := addrs(t, "/ip4/198.51.100.1/tcp/60000", "/dns4/gw.example.org/tcp/443/wss")
	tests := []struct {
		name string
		adv  Advertise
		want func(tcpPort, wsPort string) []string
	}{
		{name: "domain name", adv: Advertise{DNS4DomainName: "node.example.org", ExtAddrs: ext[:1]},
			want: func(tcp, ws string) []string {
				return []string{"/dns4/node.example.org/tcp/" + tcp, "/dns4/node.example.org/tcp/" + ws + "/ws", ext[0].String()}
			}},
		{name: "external IP", adv: Advertise{ExtIP: netip.MustParseAddr("203.0.113.7")},
			want: func(tcp, ws string) []string {
				return []string{"/ip4/203.0.113.7/tcp/" + tcp, "/ip4/203.0.113.7/tcp/" + ws + "/ws"}
			}},
		{name: "external addresses only", adv: Advertise{ExtAddrs: ext, ExtAddrsOnly: true},
			want: func(string, string) []string { return addrStrings(ext) }},
		{name: "listen addresses", adv: Advertise{ExtAddrs: ext[1:]},
			want: func(tcp, ws string) []string {
				return []string{"/ip4/127.0.0.1/tcp/" + tcp, "/ip4/127.0.0.1/tcp/" + ws + "/ws", ext[1].String()}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, _ := newTestHost(t, HostConfig{ClusterID: 1, Shards: shards(0), Advertise: tt.adv})
			b, _ := newTestHost(t, HostConfig{ClusterID: 1, Shards: shards(0)})
			tcpPort, wsPort := listenPort(t, a, "tcp"), listenPort(t, a, "ws")
			want := tt.want(tcpPort, wsPort)
			slices.Sort(want)
			if got := addrStrings(a.AdvertisedAddrs()); !slices.Equal(got, want) {
				t.Errorf("AdvertisedAddrs() = %q, want %q", got, want)
			}

			sub, err := b.Libp2p().EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted))
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := b.Connect(ctx, addrInfo(t, a, "tcp")); err != nil {
				t.Fatal(err)
			}
			// The first identify may carry the addresses from before
			// the host's protocols were set: a push follows each change.
			var got []string
			for !slices.Equal(got, want) {
				select {
				case e := <-sub.Out():
					if ev := e.(event.EvtPeerIdentificationCompleted); ev.Peer == a.ID() {
						got = addrStrings(ev.ListenAddrs)
					}
				case <-ctx.Done():
					t.Fatalf("identify: the peer announces %q, want %q (waited 10 s)", got, want)
				}
			}
		})
	}
}

// listenPort is the port of h's listener of one transport ("tcp", "ws").
func listenPort(t *testing.T, h *Host, transport string) string {
	t.Helper()
	ai := addrInfo(t, h, transport)
	port, err := ai.Addrs[0].ValueForProtocol(ma.P_TCP)
	if err != nil {
		t.Fatal(fmt.Errorf("%s: %w", ai.Addrs[0], err))
	}
	return port
}
