package pubsub

import (
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/rlnd/rlnd/p2p"
	"github.com/rlnd/rlnd/relay/gossipsub"
)

// The pubsub protocol ids: the router's protocols (relay/gossipsub) as
// libp2p protocol ids.
const (
	WakuRelayID = protocol.ID(gossipsub.WakuRelay)
	Meshsub12ID = protocol.ID(gossipsub.Meshsub12)
	Meshsub11ID = protocol.ID(gossipsub.Meshsub11)
)

// protocols are the ids served and dialled, in the order we offer them:
// gossipsub v1.2 first, so that a peer that speaks it (go-libp2p-pubsub with
// 1.2 on, js-libp2p) runs IDONTWANT both ways with us; a Waku peer that
// serves only Waku relay's id (go-waku's default list) gets that next.
var protocols = []protocol.ID{Meshsub12ID, WakuRelayID, Meshsub11ID}

// protoOf is the router's protocol of a stream negotiated with id.
func protoOf(id protocol.ID) gossipsub.Protocol {
	switch id {
	case Meshsub12ID:
		return gossipsub.Meshsub12
	case Meshsub11ID:
		return gossipsub.Meshsub11
	}
	return gossipsub.WakuRelay
}

// StreamLimits bounds the pubsub streams in the host's resource manager
// (p2p.HostConfig.StreamLimits), each of the three ids on its own: one
// long-lived stream per peer and id is used; 4 per peer leave room for a
// replacement while the old one closes; 1,024 in all.
func StreamLimits() p2p.StreamLimits {
	return p2p.StreamLimits{Protocols: []protocol.ID{WakuRelayID, Meshsub12ID, Meshsub11ID}, PerPeer: 4, Total: 1024}
}
