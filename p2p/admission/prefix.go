package admission

import (
	"net/netip"

	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// Prefix lengths that group source addresses: one IPv4 /24 or one IPv6 /56
// is what one operator commonly gets, so limits per prefix hold against
// one source using many addresses.
const (
	PrefixBitsV4 = 24
	PrefixBitsV6 = 56
)

// PrefixOf is the address prefix of a remote multiaddr: its IP masked to
// /24 (IPv4, also IPv4-mapped IPv6) or /56 (IPv6). ok is false for an
// address without an IP (a relayed or in-memory connection); callers
// group all of those under the zero Prefix.
func PrefixOf(a ma.Multiaddr) (p netip.Prefix, ok bool) {
	if a == nil {
		return netip.Prefix{}, false
	}
	ip, err := manet.ToIP(a)
	if err != nil {
		return netip.Prefix{}, false
	}
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Prefix{}, false
	}
	return PrefixOfAddr(addr), true
}

// PrefixOfAddr masks addr to its /24 (IPv4) or /56 (IPv6) prefix.
func PrefixOfAddr(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap().WithZone("")
	bits := PrefixBitsV6
	if addr.Is4() {
		bits = PrefixBitsV4
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}
