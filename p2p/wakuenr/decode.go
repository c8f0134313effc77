package wakuenr

import (
	"encoding/base64"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/p2p/enr"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// TextPrefix starts the text form of a record.
const TextPrefix = "enr:"

// maxTextLen is the longest text record: the prefix and the unpadded
// base64url of enr.SizeLimit bytes.
var maxTextLen = len(TextPrefix) + base64.RawURLEncoding.EncodedLen(enr.SizeLimit)

// Peer is what a Waku node's record says about it.
type Peer struct {
	// Node is the record.
	Node *enode.Node
	// ID is the libp2p peer id of the record's secp256k1 key.
	ID peer.ID
	// Addrs are the addresses to dial, without a /p2p part (AddrInfo pairs
	// them with ID): first /ip4/<ip>/tcp/<tcp> and /ip6/<ip6>/tcp/<tcp6 or
	// tcp> when the record has them (an unspecified address or a zero
	// port is left out), then the multiaddrs entry in its order, without
	// duplicates.
	Addrs []ma.Multiaddr
	// Capabilities is the waku2 entry; HasCapabilities is false (and
	// Capabilities 0) when the record has none.
	Capabilities    Capabilities
	HasCapabilities bool
	// Shards is the rs entry, or the rsv entry when there is no rs (as
	// nwaku reads them); HasShards is false when the record has neither.
	Shards    Shards
	HasShards bool
}

// AddrInfo is the peer's id and addresses, for a libp2p peer store.
func (p Peer) AddrInfo() peer.AddrInfo { return peer.AddrInfo{ID: p.ID, Addrs: p.Addrs} }

// Parse reads an "enr:..." text record (identity scheme v4, its signature
// checked). Surrounding white space is ignored; anything else that is not
// a valid record, including enode:// URLs, is an error.
func Parse(text string) (*enode.Node, error) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, TextPrefix) {
		return nil, fmt.Errorf("%w: record text %q does not start with %q", ErrMalformed, clip(text), TextPrefix)
	}
	if len(text) > maxTextLen {
		return nil, fmt.Errorf("%w: record text is %d characters, want at most %d (a %d-byte record)", ErrMalformed, len(text), maxTextLen, enr.SizeLimit)
	}
	n, err := enode.Parse(enode.ValidSchemes, text)
	if err != nil {
		return nil, fmt.Errorf("%w: record %q: %w", ErrMalformed, clip(text), err)
	}
	return n, nil
}

// ParsePeer is Parse then Decode.
func ParsePeer(text string) (Peer, error) {
	n, err := Parse(text)
	if err != nil {
		return Peer{}, err
	}
	return Decode(n)
}

// Text is the "enr:..." text form of n.
func Text(n *enode.Node) string { return n.String() }

// clip shortens text for an error message.
func clip(text string) string {
	if len(text) > 40 {
		return text[:40] + "..."
	}
	return text
}

// Decode reads a Waku peer from a record. The record must carry a
// secp256k1 key (identity scheme v4); any Waku, ip or port entry present
// must be well-formed (errors wrap ErrMalformed and name the entry).
// Absent entries leave their fields unknown.
func Decode(n *enode.Node) (Peer, error) {
	if n == nil {
		return Peer{}, fmt.Errorf("%w: no record", ErrMalformed)
	}
	pub := n.Pubkey()
	if pub == nil {
		return Peer{}, fmt.Errorf("%w: record has no secp256k1 key (identity scheme %q)", ErrMalformed, n.Record().IdentityScheme())
	}
	id, err := PeerID(pub)
	if err != nil {
		return Peer{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	p := Peer{Node: n, ID: id}

	if b, ok, err := loadBytes(n, KeyCapabilities); err != nil {
		return Peer{}, err
	} else if ok {
		if p.Capabilities, err = DecodeCapabilities(b); err != nil {
			return Peer{}, err
		}
		p.HasCapabilities = true
	}

	list, hasList, err := loadBytes(n, KeyShardList)
	if err != nil {
		return Peer{}, err
	}
	vec, hasVec, err := loadBytes(n, KeyShardVector)
	if err != nil {
		return Peer{}, err
	}
	if hasList {
		if p.Shards, err = DecodeShardList(list); err != nil {
			return Peer{}, err
		}
		p.HasShards = true
	}
	if hasVec {
		s, err := DecodeShardVector(vec)
		if err != nil {
			return Peer{}, err
		}
		if !hasList {
			p.Shards, p.HasShards = s, true
		}
	}

	if p.Addrs, err = transportAddrs(n); err != nil {
		return Peer{}, err
	}
	if b, ok, err := loadBytes(n, KeyMultiaddrs); err != nil {
		return Peer{}, err
	} else if ok {
		addrs, err := DecodeMultiaddrs(b)
		if err != nil {
			return Peer{}, err
		}
		for k, a := range addrs {
			bare, err := stripPeer(a, id)
			if err != nil {
				return Peer{}, fmt.Errorf("%w: %s entry %d: %w", ErrMalformed, KeyMultiaddrs, k, err)
			}
			if !ma.Contains(p.Addrs, bare) {
				p.Addrs = append(p.Addrs, bare)
			}
		}
	}
	return p, nil
}

// loadBytes reads the RLP string value of key; ok is false when the
// record has no such entry.
func loadBytes(n *enode.Node, key string) (b []byte, ok bool, err error) {
	err = n.Load(enr.WithEntry(key, &b))
	switch {
	case err == nil:
		return b, true, nil
	case enr.IsNotFound(err):
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("%w: %s is not an RLP byte string: %w", ErrMalformed, key, err)
}

// loadOptional reads entry e; ok is false when the record has none.
func loadOptional(n *enode.Node, e enr.Entry) (ok bool, err error) {
	err = n.Load(e)
	switch {
	case err == nil:
		return true, nil
	case enr.IsNotFound(err):
		return false, nil
	}
	return false, fmt.Errorf("%w: %s: %w", ErrMalformed, e.ENRKey(), err)
}

// transportAddrs are the /ip4|ip6/tcp addresses of the ip, ip6, tcp and
// tcp6 entries.
func transportAddrs(n *enode.Node) ([]ma.Multiaddr, error) {
	var (
		ip4  enr.IPv4
		ip6  enr.IPv6
		tcp  enr.TCP
		tcp6 enr.TCP6
	)
	has4, err := loadOptional(n, &ip4)
	if err != nil {
		return nil, err
	}
	has6, err := loadOptional(n, &ip6)
	if err != nil {
		return nil, err
	}
	hasTCP, err := loadOptional(n, &tcp)
	if err != nil {
		return nil, err
	}
	hasTCP6, err := loadOptional(n, &tcp6)
	if err != nil {
		return nil, err
	}
	if !hasTCP6 {
		tcp6, hasTCP6 = enr.TCP6(tcp), hasTCP // EIP-778: tcp6 defaults to tcp
	}
	var addrs []ma.Multiaddr
	add := func(proto string, ip net.IP, port uint16) error {
		if ip.IsUnspecified() || port == 0 {
			return nil
		}
		if proto == "ip6" && ip.To4() != nil {
			return fmt.Errorf("%w: ip6 holds the IPv4-mapped address %v, want an IPv6 address", ErrMalformed, ip)
		}
		a, err := ma.NewMultiaddr("/" + proto + "/" + ip.String() + "/tcp/" + strconv.Itoa(int(port)))
		if err != nil {
			return fmt.Errorf("%w: %s %v tcp %d: %w", ErrMalformed, proto, ip, port, err)
		}
		addrs = append(addrs, a)
		return nil
	}
	if has4 && hasTCP {
		if err := add("ip4", net.IP(ip4), uint16(tcp)); err != nil {
			return nil, err
		}
	}
	if has6 && hasTCP6 {
		if err := add("ip6", net.IP(ip6), uint16(tcp6)); err != nil {
			return nil, err
		}
	}
	return addrs, nil
}
