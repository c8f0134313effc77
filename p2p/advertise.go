package p2p

import (
	"fmt"
	"net/netip"
	"slices"
	"sync/atomic"

	ma "github.com/multiformats/go-multiaddr"
)

// Advertise says which addresses the host announces to peers: in identify
// (and its signed peer record), and through Host.AdvertisedAddrs to the ENR
// builder. The zero value announces what go-libp2p finds: the listen
// addresses on every interface, and addresses peers observed and confirmed.
// The options are nwaku's.
type Advertise struct {
	// ExtAddrs are announced besides the others (nwaku's
	// --ext-multiaddr): addresses the host is reachable at that it cannot
	// see, such as a port forwarded by a gateway. Without /p2p/<id>.
	ExtAddrs []ma.Multiaddr
	// ExtAddrsOnly announces ExtAddrs alone (nwaku's
	// --ext-multiaddr-only).
	ExtAddrsOnly bool
	// ExtIP, when valid, is announced with the port of each listen
	// address of its IP family instead of the addresses go-libp2p finds
	// for them (nwaku's --nat=extip:<IP>).
	ExtIP netip.Addr
	// DNS4DomainName, when set, is announced as /dns4/<name>/tcp/<port>,
	// followed by /ws or /wss for websocket listeners, for each IPv4
	// listen address instead of IP addresses (nwaku's
	// --dns4-domain-name); it takes precedence over an IPv4 ExtIP. A
	// browser dials wss only to a name its certificate is for.
	DNS4DomainName string
}

// listenRef gives the host's listen addresses (with the ports the system
// picked) to what is built before the host: none until set.
type listenRef struct {
	f atomic.Pointer[func() []ma.Multiaddr]
}

func (r *listenRef) set(f func() []ma.Multiaddr) { r.f.Store(&f) }

func (r *listenRef) addrs() []ma.Multiaddr {
	if f := r.f.Load(); f != nil {
		return (*f)()
	}
	return nil
}

// advertiser is the host's address factory.
type advertiser struct {
	cfg    Advertise
	listen *listenRef
}

// addrs is go-libp2p's AddrsFactory: it turns the addresses go-libp2p
// found (local) into those announced. It may run on any goroutine.
func (a *advertiser) addrs(local []ma.Multiaddr) []ma.Multiaddr {
	c := a.cfg
	if c.ExtAddrsOnly {
		return slices.Clone(c.ExtAddrs)
	}
	// The IP families whose addresses are replaced: IPv4 by the domain
	// name, ExtIP's family by ExtIP.
	replace4 := c.DNS4DomainName != "" || (c.ExtIP.IsValid() && c.ExtIP.Is4())
	replace6 := c.ExtIP.IsValid() && c.ExtIP.Is6()
	var out []ma.Multiaddr
	for _, l := range local {
		ip, ok := addrIP(l)
		if ok && ((ip.Is4() && replace4) || (ip.Is6() && replace6)) {
			continue
		}
		out = append(out, l)
	}
	if replace4 || replace6 {
		for _, l := range a.listen.addrs() {
			if r, ok := c.replacement(l); ok {
				out = append(out, r)
			}
		}
	}
	out = append(out, c.ExtAddrs...)
	return ma.Unique(out)
}

// replacement is what listen address l is announced as: its port on the
// domain name (IPv4) or on ExtIP (its family); false when neither applies.
func (c Advertise) replacement(l ma.Multiaddr) (ma.Multiaddr, bool) {
	ip, ok := addrIP(l)
	if !ok || len(l) < 2 || l[1].Protocol().Code != ma.P_TCP {
		return nil, false
	}
	var suffix string
	switch codes := protocolCodes(l[2:]); {
	case len(codes) == 0:
	case slices.Equal(codes, []int{ma.P_WS}):
		suffix = "/ws"
	case slices.Equal(codes, []int{ma.P_WSS}), slices.Equal(codes, []int{ma.P_TLS, ma.P_WS}),
		slices.Equal(codes, []int{ma.P_TLS, ma.P_SNI, ma.P_WS}):
		// nwaku's form, which js-waku and nim-libp2p read.
		suffix = "/wss"
	default:
		return nil, false
	}
	var host string
	switch {
	case ip.Is4() && c.DNS4DomainName != "":
		host = "/dns4/" + c.DNS4DomainName
	case c.ExtIP.IsValid() && ip.Is4() == c.ExtIP.Is4():
		host = "/ip4/" + c.ExtIP.String()
		if c.ExtIP.Is6() {
			host = "/ip6/" + c.ExtIP.String()
		}
	default:
		return nil, false
	}
	a, err := ma.NewMultiaddr(fmt.Sprintf("%s/tcp/%s%s", host, l[1].Value(), suffix))
	if err != nil {
		return nil, false
	}
	return a, true
}

// addrIP is the IP address a multiaddr starts with, if it does.
func addrIP(a ma.Multiaddr) (netip.Addr, bool) {
	if len(a) == 0 {
		return netip.Addr{}, false
	}
	switch a[0].Protocol().Code {
	case ma.P_IP4, ma.P_IP6:
		ip, err := netip.ParseAddr(a[0].Value())
		return ip.Unmap(), err == nil
	}
	return netip.Addr{}, false
}

func protocolCodes(a ma.Multiaddr) []int {
	out := make([]int, len(a))
	for i, c := range a {
		out[i] = c.Protocol().Code
	}
	return out
}
