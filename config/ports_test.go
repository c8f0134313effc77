package config

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// testPeerID is a peer id for addresses that must not carry one.
const testPeerID = "QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC"

// ShiftPort moves every port but 0 by p2p.ports-shift and refuses to go
// beyond 65535.
func TestShiftPort(t *testing.T) {
	t.Parallel()
	tests := []struct {
		shift, port, want int
		err               string
	}{
		{shift: 0, port: 60000, want: 60000},
		{shift: 1, port: 60000, want: 60001},
		{shift: 10, port: 9000, want: 9010},
		{shift: 100, port: 0, want: 0},
		{shift: 65534, port: 1, want: 65535},
		{shift: 1, port: 65535, err: "port 65535 shifted by p2p.ports-shift 1 is 65536, allowed ports 0..65535"},
		{shift: -1, port: 60000, err: "shifted by p2p.ports-shift -1"},
		{shift: 0, port: 70000, err: "port 70000"},
	}
	for _, tt := range tests {
		c := Config{P2P: P2PConfig{PortsShift: tt.shift}}
		got, err := c.ShiftPort(tt.port)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ShiftPort(%d) with shift %d = %d, %v; want an error containing %q", tt.port, tt.shift, got, err, tt.err)
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("ShiftPort(%d) with shift %d = %d, %v; want %d", tt.port, tt.shift, got, err, tt.want)
		}
	}
}

// ListenAddrs shifts every libp2p port and, with secure websocket support,
// serves the websocket addresses over TLS; ShiftHostPort does the same
// for the metrics and REST addresses.
func TestListenAddrs(t *testing.T) {
	t.Parallel()
	c, err := Preset("twn")
	if err != nil {
		t.Fatal(err)
	}
	c.P2P.Listen = []string{"/ip4/0.0.0.0/tcp/60000", "/ip4/0.0.0.0/tcp/8000/ws", "/ip6/::/tcp/0", "/ip4/10.0.0.1/tcp/443/wss"}
	c.P2P.PortsShift = 2
	got, err := c.ListenAddrs()
	want := []string{"/ip4/0.0.0.0/tcp/60002", "/ip4/0.0.0.0/tcp/8002/ws", "/ip6/::/tcp/0", "/ip4/10.0.0.1/tcp/445/tls/ws"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("ListenAddrs() = %q, %v; want %q", got, err, want)
	}
	c.P2P.WebsocketSecureSupport = true
	got, _ = c.ListenAddrs()
	if want[1] = "/ip4/0.0.0.0/tcp/8002/tls/ws"; !slices.Equal(got, want) {
		t.Errorf("with secure websocket support ListenAddrs() = %q; want %q", got, want)
	}
	for in, want := range map[string]string{"127.0.0.1:8008": "127.0.0.1:8010", ":0": ":0", "[::1]:8645": "[::1]:8647", "localhost:1": "localhost:3"} {
		if got, err := c.ShiftHostPort(in); err != nil || got != want {
			t.Errorf("ShiftHostPort(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"127.0.0.1", "127.0.0.1:http", "127.0.0.1:65534"} {
		if got, err := c.ShiftHostPort(in); err == nil || !strings.Contains(err.Error(), in) {
			t.Errorf("ShiftHostPort(%q) = %q, %v; want an error naming it", in, got, err)
		}
	}
	c.P2P.Listen = []string{"/ip4/0.0.0.0/udp/9000"}
	if _, err := c.ListenAddrs(); err == nil || !strings.Contains(err.Error(), "p2p.listen[0]") {
		t.Errorf("ListenAddrs() of a UDP address: %v, want an error naming p2p.listen[0]", err)
	}
}

// Two listeners meet when they share a port on one address, or one of
// them binds the wildcard address of the other's family; Go's "" and
// "::" hosts bind both families, libp2p's /ip6/:: only IPv6.
func TestEndpointOverlaps(t *testing.T) {
	t.Parallel()
	ip := func(s string) endpoint {
		l, err := parseListenAddr(s)
		if err != nil {
			t.Fatal(err)
		}
		return endpoint{value: s, hosts: []netip.Addr{l.ip}, port: l.port}
	}
	hp := func(host string, port int) endpoint { return hostPortEndpoint("", host, host, port) }
	tests := []struct {
		a, b endpoint
		want bool
	}{
		{ip("/ip4/0.0.0.0/tcp/1"), ip("/ip4/127.0.0.1/tcp/1/ws"), true},
		{ip("/ip4/127.0.0.1/tcp/1"), ip("/ip4/127.0.0.2/tcp/1"), false},
		{ip("/ip4/0.0.0.0/tcp/1"), ip("/ip4/0.0.0.0/tcp/2"), false},
		{ip("/ip4/0.0.0.0/tcp/0"), ip("/ip4/0.0.0.0/tcp/0"), false},
		{ip("/ip4/0.0.0.0/tcp/1"), ip("/ip6/::/tcp/1"), false},
		{ip("/ip6/::/tcp/1"), ip("/ip6/::1/tcp/1"), true},
		{hp("", 1), ip("/ip4/127.0.0.1/tcp/1"), true},
		{hp("::", 1), ip("/ip4/127.0.0.1/tcp/1"), true},
		{hp("0.0.0.0", 1), ip("/ip6/::1/tcp/1"), false},
		{hp("localhost", 1), ip("/ip6/::1/tcp/1"), true},
		{hp("localhost", 1), ip("/ip4/127.0.0.2/tcp/1"), false},
		{hp("node.internal", 1), hp("node.internal", 1), true},
		{hp("node.internal", 1), ip("/ip4/0.0.0.0/tcp/1"), true},
		{hp("node.internal", 1), ip("/ip4/10.0.0.1/tcp/1"), false},
	}
	for _, tt := range tests {
		if got := tt.a.overlaps(tt.b); got != tt.want {
			t.Errorf("%s overlaps %s = %v, want %v", tt.a.value, tt.b.value, got, tt.want)
		}
		if got := tt.b.overlaps(tt.a); got != tt.want {
			t.Errorf("%s overlaps %s = %v, want %v", tt.b.value, tt.a.value, got, tt.want)
		}
	}
}
