package p2p

import (
	"fmt"

	"github.com/libp2p/go-libp2p/core/protocol"
)

// Protocol ids of the protocols this package speaks.
const (
	// ProtocolMetadata is Waku metadata (66/WAKU2-METADATA): the cluster
	// and shards each side is on, asked on every connection.
	ProtocolMetadata protocol.ID = "/vac/waku/metadata/1.0.0"
	// ProtocolPeerExchange is Waku peer exchange (34/WAKU2-PEER-EXCHANGE).
	ProtocolPeerExchange protocol.ID = "/vac/waku/peer-exchange/2.0.0-alpha1"
)

// StreamLimits is a scope of the host's resource manager: for each of
// Protocols, the inbound streams one peer (PerPeer) and all peers (Total)
// may hold open at once on that protocol. Outbound streams (ours) are
// bounded at twice these. Streams past a bound are reset before any
// handler sees them. For the request/response protocols this is a
// backstop below their admission gates (p2p/admission), which keep fewer:
// per peer and protocol at most 4 idle streams, 8 requests in progress and
// the busy answers (bounded per prefix), in all 512 idle, 128 requests and
// 128 busy answers.
//
// The host bounds its own protocol (metadata); every other protocol
// package declares its scope next to its protocol ids
// (lightpush.StreamLimits, store.StreamLimits, filter.StreamLimits,
// pubsub.StreamLimits, peerexchange.StreamLimits) and the node passes them
// in HostConfig.StreamLimits.
type StreamLimits struct {
	Protocols      []protocol.ID
	PerPeer, Total int
}

// hostStreamLimits are the scopes of the host's own protocols.
//   - metadata: one request per connection (js-waku also opens one ahead
//     of use on each peer-store update): 8 per peer.
//
// Peer exchange's scope is p2p/peerexchange's (StreamLimits), which serves
// it.
func hostStreamLimits() []StreamLimits {
	return []StreamLimits{
		{Protocols: []protocol.ID{ProtocolMetadata}, PerPeer: 8, Total: 1024},
	}
}

// checkStreamLimits checks that every scope bounds something and that no
// protocol has two scopes (the second would silently replace the first).
func checkStreamLimits(scopes []StreamLimits) error {
	seen := map[protocol.ID]bool{}
	for _, s := range scopes {
		if len(s.Protocols) == 0 || s.PerPeer <= 0 || s.Total <= 0 {
			return fmt.Errorf("p2p: stream limits %+v: want protocols and positive bounds", s)
		}
		for _, id := range s.Protocols {
			if seen[id] {
				return fmt.Errorf("p2p: stream limits for %s given twice", id)
			}
			seen[id] = true
		}
	}
	return nil
}
