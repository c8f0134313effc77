package peermgr

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/rlnd/rlnd/p2p/admission"
)

// Capabilities are the Waku services a peer offers, with the bits of the
// ENR `waku2` field (shared/PROTOCOLS.md, Discovery), so that discovery can
// pass that byte through unchanged.
type Capabilities uint8

// Capability bits.
const (
	CapRelay     Capabilities = 1 << 0
	CapStore     Capabilities = 1 << 1
	CapFilter    Capabilities = 1 << 2
	CapLightpush Capabilities = 1 << 3
	CapSync      Capabilities = 1 << 4
)

// capNames are the capabilities in bit order, for String.
var capNames = []struct {
	c    Capabilities
	name string
}{{CapRelay, "relay"}, {CapStore, "store"}, {CapFilter, "filter"}, {CapLightpush, "lightpush"}, {CapSync, "sync"}}

// Has reports whether every capability of o is in c.
func (c Capabilities) Has(o Capabilities) bool { return c&o == o }

// String lists the capabilities ("relay,store"); "unknown" for none.
func (c Capabilities) String() string {
	var names []string
	for _, n := range capNames {
		if c.Has(n.c) {
			names = append(names, n.name)
		}
	}
	if len(names) == 0 {
		return "unknown"
	}
	return strings.Join(names, ",")
}

// Sources of candidates, for Candidate.Source. Any other short name is
// accepted; the metrics count it as "other".
const (
	SourceDiscv5       = "discv5"
	SourceDNS          = "dns"
	SourcePeerExchange = "peer-exchange"
	SourceStatic       = "static"
	SourceAPI          = "api"
)

// knownSources are the sources the metrics name.
var knownSources = []string{SourceDiscv5, SourceDNS, SourcePeerExchange, SourceStatic, SourceAPI}

// sourceLabel is a source as the metrics label it (a bounded set).
func sourceLabel(s string) string {
	if slices.Contains(knownSources, s) {
		return s
	}
	return "other"
}

// Candidate is a peer that discovery found, offered to the manager with Add.
type Candidate struct {
	// Info is the peer's id and the addresses to dial it on. An address
	// that ends in /p2p/<id> must name Info.ID.
	Info peer.AddrInfo
	// ClusterKnown tells whether Cluster and Shards are known (from an
	// ENR's rs or rsv field). A candidate of unknown cluster is dialled
	// like any other; the metadata check finds its cluster, and a peer of
	// another cluster is then not dialled again.
	ClusterKnown bool
	Cluster      uint16
	// Shards are the shards the candidate relays (when ClusterKnown).
	Shards []uint16
	// Caps are the services it offers; zero means unknown (a multiaddr
	// without an ENR), and such a candidate is taken as a possible relay
	// peer.
	Caps Capabilities
	// Source names where the candidate came from (Source* constants or
	// another short name).
	Source string
}

// Bounds on a candidate: everything in it came from the network.
const (
	// MaxAddrs is the number of addresses kept per peer (the rest are
	// dropped). An ENR carries at most a few.
	MaxAddrs = 8
	// MaxAddrLen bounds one multiaddr's binary length.
	MaxAddrLen = 256
	// MaxShard is the highest shard index (rsv's 1024-bit vector).
	MaxShard = 1023
	// MaxSourceLen bounds a source name.
	MaxSourceLen = 32
)

// Reasons Add refuses a candidate.
var (
	// ErrInvalidCandidate: no id, no usable address, or a field out of
	// bounds.
	ErrInvalidCandidate = errors.New("peermgr: invalid candidate")
	// ErrSelf: the candidate is this node.
	ErrSelf = errors.New("peermgr: candidate is this node")
	// ErrOtherCluster: the candidate is on another cluster.
	ErrOtherCluster = errors.New("peermgr: candidate is on another cluster")
	// ErrBanned: the peer was disconnected for its gossipsub score or found
	// on another cluster, and is not taken back yet.
	ErrBanned = errors.New("peermgr: peer is banned for now")
	// ErrPrefixFull: the peer store holds as many peers of the
	// candidate's address prefix as it keeps (Config.MaxPerPrefix).
	ErrPrefixFull = errors.New("peermgr: peer store holds enough peers of this address prefix")
	// ErrStoreFull: every record of the full peer store is of a peer
	// connected or being dialled, so none can make room.
	ErrStoreFull = errors.New("peermgr: peer store full of live peers")
	// ErrClosed: the manager is closed.
	ErrClosed = errors.New("peermgr: closed")
	// ErrStarted: Start was called twice.
	ErrStarted = errors.New("peermgr: already started")
)

// normalise checks a candidate and returns its bounded, canonical form:
// addresses without their /p2p part, deduplicated, at most MaxAddrs;
// shards sorted and deduplicated.
func normalise(c Candidate) (Candidate, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidCandidate, fmt.Sprintf(format, a...))
	}
	if c.Info.ID == "" {
		return c, bad("no peer id")
	}
	if len(c.Source) > MaxSourceLen || strings.ContainsFunc(c.Source, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return c, bad("source %.40q: want at most %d printable ASCII characters", c.Source, MaxSourceLen)
	}
	addrs, err := normaliseAddrs(c.Info.ID, c.Info.Addrs)
	if err != nil {
		return c, fmt.Errorf("%w: %v", ErrInvalidCandidate, err)
	}
	if len(addrs) == 0 {
		return c, bad("peer %s has no dialable address (got %d)", c.Info.ID, len(c.Info.Addrs))
	}
	c.Info.Addrs = addrs
	if !c.ClusterKnown {
		c.Cluster, c.Shards = 0, nil
	} else {
		c.Shards = slices.Clone(c.Shards)
		slices.Sort(c.Shards)
		c.Shards = slices.Compact(c.Shards)
		if len(c.Shards) > 0 && c.Shards[len(c.Shards)-1] > MaxShard {
			return c, bad("shard %d: want at most %d", c.Shards[len(c.Shards)-1], MaxShard)
		}
	}
	return c, nil
}

// normaliseAddrs strips a trailing /p2p/<id> (which must be id), drops
// empty, oversized and duplicate addresses and keeps at most MaxAddrs.
func normaliseAddrs(id peer.ID, in []ma.Multiaddr) ([]ma.Multiaddr, error) {
	var out []ma.Multiaddr
	for _, a := range in {
		if len(out) == MaxAddrs {
			break
		}
		if len(a) == 0 || len(a.Bytes()) > MaxAddrLen {
			continue
		}
		transport, last := ma.SplitLast(a)
		if last != nil && last.Protocol().Code == ma.P_P2P {
			named, err := peer.IDFromBytes(last.RawValue())
			if err != nil || named != id {
				return nil, fmt.Errorf("address %s names another peer than %s", a, id)
			}
			a = transport
		}
		if len(a) == 0 || slices.ContainsFunc(out, a.Equal) {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// prefixKey groups peers by where their first address points: the IP's /24
// (IPv4) or /56 (IPv6) prefix, or the DNS name. ip is the address's IP, if
// it has one.
func prefixKey(addrs []ma.Multiaddr) (key string, ip netip.Addr) {
	for _, a := range addrs {
		if p, ok := admission.PrefixOf(a); ok {
			nip, _ := manet.ToIP(a)
			addr, _ := netip.AddrFromSlice(nip)
			return p.String(), addr.Unmap()
		}
		for _, c := range a {
			switch c.Protocol().Code {
			case ma.P_DNS, ma.P_DNS4, ma.P_DNS6, ma.P_DNSADDR:
				return "dns:" + strings.ToLower(c.Value()), netip.Addr{}
			}
		}
	}
	return "", netip.Addr{}
}

// exempt reports whether ip is in one of the prefixes.
func exempt(prefixes []netip.Prefix, ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
