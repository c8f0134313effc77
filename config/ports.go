package config

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"

	ma "github.com/multiformats/go-multiaddr"
)

// The kinds of listen addresses: TCP, websocket and secure websocket, each
// over TCP.
const (
	listenTCP = "tcp"
	listenWS  = "ws"
	listenWSS = "wss"
)

// listenAllowed describes the listen addresses p2p.listen takes.
const listenAllowed = "allowed /ip4/<IP>/tcp/<port> or /ip6/<IP>/tcp/<port>, followed by nothing, /ws, /wss or /tls/ws"

// listenAddr is one parsed p2p.listen address.
type listenAddr struct {
	ip   netip.Addr
	port int
	kind string // listenTCP, listenWS or listenWSS
}

// String is the address as a multiaddr; a secure websocket is written
// /tls/ws, go-libp2p's form.
func (l listenAddr) String() string {
	family := "ip4"
	if l.ip.Is6() {
		family = "ip6"
	}
	s := fmt.Sprintf("/%s/%s/tcp/%d", family, l.ip, l.port)
	switch l.kind {
	case listenWS:
		s += "/ws"
	case listenWSS:
		s += "/tls/ws"
	}
	return s
}

// parseListenAddr reads one p2p.listen address. The errors quote it.
func parseListenAddr(s string) (listenAddr, error) {
	addr, err := ma.NewMultiaddr(s)
	if err != nil {
		return listenAddr{}, fmt.Errorf("%q is not a multiaddr (%v), %s", s, err, listenAllowed)
	}
	codes := make([]int, len(addr))
	for i, c := range addr {
		codes[i] = c.Protocol().Code
	}
	if len(codes) < 2 || (codes[0] != ma.P_IP4 && codes[0] != ma.P_IP6) || codes[1] != ma.P_TCP {
		return listenAddr{}, fmt.Errorf("%q is not a TCP listen address, %s", s, listenAllowed)
	}
	var l listenAddr
	if l.ip, err = netip.ParseAddr(addr[0].Value()); err != nil {
		return listenAddr{}, fmt.Errorf("%q: %v, %s", s, err, listenAllowed)
	}
	l.ip = l.ip.Unmap()
	if l.port, err = strconv.Atoi(addr[1].Value()); err != nil {
		return listenAddr{}, fmt.Errorf("%q: %v, %s", s, err, listenAllowed)
	}
	switch rest := codes[2:]; {
	case len(rest) == 0:
		l.kind = listenTCP
	case slices.Equal(rest, []int{ma.P_WS}):
		l.kind = listenWS
	case slices.Equal(rest, []int{ma.P_WSS}), slices.Equal(rest, []int{ma.P_TLS, ma.P_WS}):
		l.kind = listenWSS
	default:
		return listenAddr{}, fmt.Errorf("%q has a transport rlnd does not listen on, %s", s, listenAllowed)
	}
	return l, nil
}

// shiftPort is port moved by shift; 0 (a port the system picks) stays 0.
func shiftPort(port, shift int) (int, error) {
	if port == 0 {
		return 0, nil
	}
	shifted := port + shift
	if port < 0 || port > 65535 || shift < 0 || shifted > 65535 {
		return 0, fmt.Errorf("port %d shifted by p2p.ports-shift %d is %d, allowed ports 0..65535", port, shift, shifted)
	}
	return shifted, nil
}

// ShiftPort is port moved by p2p.ports-shift (nwaku's --ports-shift): the
// port a listener configured on port listens on. Port 0 (the system picks
// one) stays 0. Every listener of the node goes through it: libp2p's
// (ListenAddrs), the metrics and REST servers (ShiftHostPort), discv5's
// UDP port. It fails when the result is beyond 65535; Validate has checked
// the configured ports.
func (c *Config) ShiftPort(port int) (int, error) {
	return shiftPort(port, c.P2P.PortsShift)
}

// ShiftHostPort is a host:port listen address (metrics.address,
// rest.address) with its port moved by p2p.ports-shift.
func (c *Config) ShiftHostPort(hostPort string) (string, error) {
	host, portText, err := net.SplitHostPort(hostPort)
	if err != nil {
		return "", fmt.Errorf("%q is not host:port: %w", hostPort, err)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return "", fmt.Errorf("%q has port %q, allowed 0..65535", hostPort, portText)
	}
	shifted, err := c.ShiftPort(int(port))
	if err != nil {
		return "", fmt.Errorf("%s: %w", hostPort, err)
	}
	return net.JoinHostPort(host, strconv.Itoa(shifted)), nil
}

// ListenAddrs are the libp2p listen addresses as the node listens on them:
// p2p.listen with each port moved by p2p.ports-shift and, with
// p2p.websocket-secure-support, every websocket address served over TLS
// (written /tls/ws). Validate has checked them.
func (c *Config) ListenAddrs() ([]string, error) {
	addrs, err := c.listenAddrs()
	if err != nil {
		return nil, err
	}
	out := make([]string, len(addrs))
	for i, l := range addrs {
		out[i] = l.String()
	}
	return out, nil
}

func (c *Config) listenAddrs() ([]listenAddr, error) {
	out := make([]listenAddr, 0, len(c.P2P.Listen))
	for i, s := range c.P2P.Listen {
		l, err := parseListenAddr(s)
		if err != nil {
			return nil, fmt.Errorf("p2p.listen[%d]: %w", i, err)
		}
		if l.port, err = c.ShiftPort(l.port); err != nil {
			return nil, fmt.Errorf("p2p.listen[%d] %q: %w", i, s, err)
		}
		if l.kind == listenWS && c.P2P.WebsocketSecureSupport {
			l.kind = listenWSS
		}
		out = append(out, l)
	}
	return out, nil
}

// endpoint is one TCP listener of the node, for finding two on one port.
type endpoint struct {
	key, value string // where it is configured, for the error
	// hosts are the addresses it binds; name is a host name when the
	// address is not an IP (it may be any of the addresses).
	hosts []netip.Addr
	name  string
	port  int
}

// overlaps reports whether e and o would bind the same TCP port on one
// address (a wildcard address binds every address of its family).
func (e endpoint) overlaps(o endpoint) bool {
	if e.port == 0 || e.port != o.port {
		return false
	}
	if e.name != "" || o.name != "" {
		if e.name == o.name {
			return true
		}
		// A name may be any address: it meets a wildcard of either
		// family.
		for _, h := range append(slices.Clone(e.hosts), o.hosts...) {
			if h.IsUnspecified() {
				return true
			}
		}
		return false
	}
	for _, a := range e.hosts {
		for _, b := range o.hosts {
			if a.Is4() == b.Is4() && (a == b || a.IsUnspecified() || b.IsUnspecified()) {
				return true
			}
		}
	}
	return false
}

// hostPortEndpoint is the endpoint of a Go net.Listen("tcp", hostPort)
// listener, its port already shifted: an empty host or "::" is a
// dual-stack wildcard, "localhost" both loopback addresses.
func hostPortEndpoint(key, value, host string, port int) endpoint {
	e := endpoint{key: key, value: value, port: port}
	switch ip, err := netip.ParseAddr(host); {
	case host == "" || (err == nil && ip.Is6() && ip.IsUnspecified()):
		e.hosts = []netip.Addr{netip.IPv4Unspecified(), netip.IPv6Unspecified()}
	case err == nil:
		e.hosts = []netip.Addr{ip.Unmap()}
	case host == "localhost":
		e.hosts = []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}
	default:
		e.name = host
	}
	return e
}
