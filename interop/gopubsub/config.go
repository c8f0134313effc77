// Package gopubsub runs go-libp2p-pubsub (v0.19.0, pinned in go.mod) nodes
// configured the way go-waku configures Waku relay, as the reference
// gossipsub peers of rlnd's interop tests: mixed networks of rlnd nodes and
// these, where each side has to accept, forward, score and gossip what the
// other sends.
//
// It is test support. Only _test.go files may import it, so that
// go-libp2p-pubsub stays out of everything rlnd builds (cmd/rlnd imports the
// interop package for its benchmark harness, not this one).
//
// What is mirrored from go-waku (waku/v2/protocol/relay: waku_relay.go and
// config.go) and what is not is listed in config.go's functions; the wire
// facts are those of shared/PROTOCOLS.md.
package gopubsub

import (
	"crypto/sha256"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Protocol ids, written here rather than taken from rlnd's packages: the
// reference side must not change when rlnd's constants do.
const (
	// WakuRelayID is Waku relay's gossipsub protocol id.
	WakuRelayID = protocol.ID("/vac/waku/relay/2.0.0")
	// MetadataID is Waku metadata (66/WAKU2-METADATA).
	MetadataID = protocol.ID("/vac/waku/metadata/1.0.0")
)

// Protocol lists offered to peers, most preferred first (go-libp2p dials
// the first one the peer supports).
var (
	// ProtocolsV11 is go-waku's list without its legacy entries
	// (/meshsub/1.0.0 and floodsub, which rlnd does not speak): the relay
	// id first, then /meshsub/1.1.0.
	ProtocolsV11 = []protocol.ID{WakuRelayID, pubsub.GossipSubID_v11}
	// ProtocolsV12 adds /meshsub/1.2.0 (IDONTWANT) in front, the place
	// go-libp2p-pubsub's own default list gives the newest version. Behind
	// the relay id it would never be chosen between two peers that both
	// serve the relay id, and the list would behave as ProtocolsV11.
	ProtocolsV12 = []protocol.ID{pubsub.GossipSubID_v12, WakuRelayID, pubsub.GossipSubID_v11}
)

// Features is go-waku's feature test extended to /meshsub/1.2.0: every
// protocol of the lists above runs the mesh and peer exchange (go-waku
// grants both to the relay id), and only /meshsub/1.2.0 has IDONTWANT, as
// in go-libp2p-pubsub's defaults (go-waku grants IDONTWANT to nothing).
func Features(feat pubsub.GossipSubFeature, proto protocol.ID) bool {
	switch feat {
	case pubsub.GossipSubFeatureMesh, pubsub.GossipSubFeaturePX:
		return proto == WakuRelayID || proto == pubsub.GossipSubID_v11 || proto == pubsub.GossipSubID_v12
	case pubsub.GossipSubFeatureIdontwant:
		return proto == pubsub.GossipSubID_v12
	}
	return false
}

// MessageID is Waku's gossipsub message id, as go-waku's msgIDFn and
// nwaku compute it: sha256 of the pubsub message's data (the serialized
// WakuMessage as sent). It is written out here, not taken from rlnd's
// wire.GossipMessageID, so that a change on rlnd's side shows as a
// disagreement.
func MessageID(m *pubsubpb.Message) string {
	sum := sha256.Sum256(m.GetData())
	return string(sum[:])
}

// WakuParams are go-waku's gossipsub parameters: go-libp2p-pubsub's
// defaults with D 6, Dlo 4, Dhi 8, Dlazy 6, heartbeat 1 s, history 6
// (gossip 3), fanout TTL 1 min, prune backoff 1 min, unsubscribe backoff
// 5 s and gossip factor 0.25 (waku/v2/protocol/relay/config.go,
// defaultPubsubOptions; an earlier version had Dhi 12). Dscore keeps the
// default (4): go-waku does not set it.
//
// One change: go-waku sets Dout 3, which go-libp2p-pubsub v0.19.0 refuses
// with D 6 ("Dout must be less than Dlo and must not exceed D / 2" is
// checked as Dout < D/2). go-waku pins an older go-libp2p-pubsub whose
// WithGossipSubParams did not validate. Dout is therefore 2, the largest
// value v0.19.0 accepts with D 6 (and its default).
func WakuParams() pubsub.GossipSubParams {
	p := pubsub.DefaultGossipSubParams()
	p.PruneBackoff = time.Minute
	p.UnsubscribeBackoff = 5 * time.Second
	p.GossipFactor = 0.25
	p.D, p.Dlo, p.Dhi, p.Dlazy = 6, 4, 8, 6
	p.Dout = 2
	p.HeartbeatInterval = time.Second
	p.HistoryLength, p.HistoryGossip = 6, 3
	p.FanoutTTL = time.Minute
	return p
}

// WakuSeenTTL is go-waku's seen-messages TTL.
const WakuSeenTTL = 2 * time.Minute

// WakuPeerScoreParams are go-waku's peer score parameters (config.go,
// setDefaultPeerScoreParams): decay every 12 s to zero below 0.01, scores
// kept 10 min after a disconnection, no application score, IP colocation
// -50 above 5 peers, behaviour penalty -10 decaying by 0.986. Topics get
// WakuTopicScoreParams when joined.
func WakuPeerScoreParams() *pubsub.PeerScoreParams {
	return &pubsub.PeerScoreParams{
		Topics:                      map[string]*pubsub.TopicScoreParams{},
		DecayInterval:               12 * time.Second,
		DecayToZero:                 0.01,
		RetainScore:                 10 * time.Minute,
		AppSpecificScore:            func(peer.ID) float64 { return 0 },
		AppSpecificWeight:           0,
		IPColocationFactorWeight:    -50,
		IPColocationFactorThreshold: 5,
		BehaviourPenaltyWeight:      -10,
		BehaviourPenaltyDecay:       0.986,
	}
}

// WakuThresholds are go-waku's score thresholds: gossip -100, publish
// -1000, graylist -10000, opportunistic graft 0 (off); accept PX is left at
// 0, as go-waku leaves it.
func WakuThresholds() *pubsub.PeerScoreThresholds {
	return &pubsub.PeerScoreThresholds{
		GossipThreshold:             -100,
		PublishThreshold:            -1000,
		GraylistThreshold:           -10000,
		OpportunisticGraftThreshold: 0,
	}
}

// WakuTopicScoreParams are go-waku's per-topic score parameters (config.go,
// setDefaultTopicParams): time in mesh 0.01 a second up to 10, first
// deliveries 1.0 decaying by 0.5 up to 10, mesh delivery counters (P3,
// P3b) off, invalid messages -100 decaying by 0.5.
func WakuTopicScoreParams() *pubsub.TopicScoreParams {
	return &pubsub.TopicScoreParams{
		TopicWeight:                    1,
		TimeInMeshWeight:               0.01,
		TimeInMeshQuantum:              time.Second,
		TimeInMeshCap:                  10,
		FirstMessageDeliveriesWeight:   1,
		FirstMessageDeliveriesDecay:    0.5,
		FirstMessageDeliveriesCap:      10,
		InvalidMessageDeliveriesWeight: -100,
		InvalidMessageDeliveriesDecay:  0.5,
	}
}
