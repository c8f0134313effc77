package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// The modes of p2p.nat, as nwaku's --nat names them.
const (
	NATNone  = "none"
	NATAny   = "any"
	NATUPnP  = "upnp"
	NATPMP   = "pmp"
	NATExtIP = "extip"
)

// NAT is a parsed p2p.nat.
type NAT struct {
	// Mode is NATNone, NATAny or NATExtIP.
	Mode string
	// ExtIP is the public address of NATExtIP (invalid otherwise).
	ExtIP netip.Addr
}

// errNATMapping explains why upnp and pmp are refused.
var errNATMapping = errors.New("rlnd does no UPnP or NAT-PMP port mapping: forward the listen ports on the gateway " +
	"and set extip:<public IP> (or p2p.ext-multiaddr)")

// ParseNAT reads a p2p.nat value: "none" (or empty), "any" (nwaku tries UPnP then
// NAT-PMP and goes on without; rlnd maps no ports, so it is none, and the
// node logs a warning saying so), or "extip:<IP>" (the listen ports are
// announced on that IPv4 or IPv6 address). "upnp" and "pmp", which ask for
// a port mapping rlnd does not do, are errors. Mode names are not case
// sensitive.
func ParseNAT(s string) (NAT, error) {
	mode, arg, hasArg := strings.Cut(s, ":")
	mode = strings.ToLower(strings.TrimSpace(mode))
	switch {
	case mode == "" && !hasArg:
		return NAT{Mode: NATNone}, nil
	case (mode == NATNone || mode == NATAny) && !hasArg:
		return NAT{Mode: mode}, nil
	case mode == NATUPnP || mode == NATPMP:
		return NAT{}, fmt.Errorf("%q is not supported: %w", s, errNATMapping)
	case mode == NATExtIP && hasArg:
		ip, err := netip.ParseAddr(strings.TrimSpace(arg))
		if err != nil {
			return NAT{}, fmt.Errorf("%q: %q is not an IP address, allowed extip:<IPv4 or IPv6 address>", s, arg)
		}
		ip = ip.Unmap()
		if ip.Zone() != "" || ip.IsUnspecified() || ip.IsMulticast() {
			return NAT{}, fmt.Errorf("%q: %s cannot be dialled, allowed extip:<the node's public IP address>", s, ip)
		}
		return NAT{Mode: NATExtIP, ExtIP: ip}, nil
	}
	return NAT{}, fmt.Errorf("%q is not allowed, allowed none|any|extip:<IP>", s)
}
