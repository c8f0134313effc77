package gossipsub

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Params are the router's gossipsub parameters. DefaultParams returns the
// values nwaku and go-waku run with (shared/PROTOCOLS.md).
type Params struct {
	D, Dlo, Dhi, Dscore, Dout, Dlazy int

	// HeartbeatInterval is how often the driver calls Tick; the router
	// uses it to count heartbeats in time (backoff slack, promises).
	HeartbeatInterval time.Duration
	// HistoryLength and HistoryGossip are the message cache's windows, in
	// heartbeats: messages are served to IWANT for HistoryLength
	// heartbeats and advertised in IHAVE for HistoryGossip.
	HistoryLength, HistoryGossip int
	// GossipFactor is the share of the non-mesh peers of a topic that get
	// IHAVE gossip each heartbeat (at least Dlazy of them).
	GossipFactor float64
	FanoutTTL    time.Duration
	SeenTTL      time.Duration
	// PruneBackoff is how long a pruned peer must wait before grafting
	// again; UnsubscribeBackoff is the backoff sent when leaving a topic.
	PruneBackoff, UnsubscribeBackoff time.Duration
	// GraftFloodThreshold: a GRAFT this soon after a PRUNE costs an extra
	// behaviour penalty.
	GraftFloodThreshold time.Duration
	// PrunePeers is how many peers a PRUNE offers for peer exchange.
	PrunePeers int
	// FloodPublish sends our own messages to every peer of the topic whose
	// score is above the publish threshold, not only to the mesh.
	FloodPublish bool
	// MaxIHaveLength caps the message ids asked for with IWANT per peer per
	// heartbeat, and advertised per topic in one IHAVE; MaxIHaveMessages
	// caps the IHAVE messages taken from one peer per heartbeat.
	MaxIHaveLength, MaxIHaveMessages int
	// GossipRetransmission is how often one peer may IWANT the same message.
	GossipRetransmission int
	// IWantFollowupTime is how long a peer that advertised a message has to
	// deliver it after our IWANT before it is penalised (a broken promise).
	IWantFollowupTime time.Duration
	// OpportunisticGraftTicks is the number of heartbeats between
	// opportunistic grafts; OpportunisticGraftPeers how many peers each adds.
	OpportunisticGraftTicks, OpportunisticGraftPeers int
	// IDontWantMinSize: messages larger than this and than ten times their
	// id (nim-libp2p's rule) are announced with IDONTWANT, before
	// validation, to the mesh peers on gossipsub v1.2 or Waku relay's id.
	IDontWantMinSize int
	// MaxIDontWant caps the IDONTWANT ids remembered per peer per heartbeat;
	// IDontWantTTL is how long they are honoured.
	MaxIDontWant int
	IDontWantTTL time.Duration
	// MaxMessageSize bounds a message's data. MaxRPCSize bounds an RPC the
	// router makes (outgoing RPCs are split to fit, and a message whose own
	// RPC would not fit is refused at publish): nwaku reads frames of the
	// message size plus 64 KiB of protocol overhead. MaxIncomingRPCSize
	// bounds an RPC the router accepts: go-libp2p-pubsub peers bundle
	// several messages, e.g. its IWANT replies, in frames of up to 1 MiB.
	MaxMessageSize, MaxRPCSize, MaxIncomingRPCSize int
	// MaxPendingValidation bounds the messages awaiting a validation
	// result; beyond it new messages are dropped unseen (back-pressure: a
	// later copy may be validated once there is room).
	MaxPendingValidation int
	// MaxPeerTopics bounds the topics remembered per peer subscription.
	MaxPeerTopics int
}

// DefaultParams are nwaku's and go-waku's relay parameters.
func DefaultParams() Params {
	return Params{
		D: 6, Dlo: 4, Dhi: 8, Dscore: 6, Dout: 3, Dlazy: 6,
		HeartbeatInterval:       time.Second,
		HistoryLength:           6,
		HistoryGossip:           3,
		GossipFactor:            0.25,
		FanoutTTL:               60 * time.Second,
		SeenTTL:                 2 * time.Minute,
		PruneBackoff:            time.Minute,
		UnsubscribeBackoff:      5 * time.Second,
		GraftFloodThreshold:     10 * time.Second,
		PrunePeers:              16,
		FloodPublish:            true,
		MaxIHaveLength:          5000,
		MaxIHaveMessages:        10,
		GossipRetransmission:    3,
		IWantFollowupTime:       3 * time.Second,
		OpportunisticGraftTicks: 60,
		OpportunisticGraftPeers: 2,
		IDontWantMinSize:        512,
		MaxIDontWant:            1000,
		IDontWantTTL:            3 * time.Second,
		MaxMessageSize:          150 * 1024,
		MaxRPCSize:              150*1024 + 64*1024,
		MaxIncomingRPCSize:      1 << 20,
		MaxPendingValidation:    4096,
		MaxPeerTopics:           1024,
	}
}

// ErrInvalidParams reports parameters the router cannot run with.
var ErrInvalidParams = errors.New("gossipsub: invalid parameters")

// Validate checks the invariants between the parameters.
func (p Params) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidParams, fmt.Sprintf(format, a...))
	}
	switch {
	case p.Dlo < 1 || !(p.Dlo <= p.D && p.D <= p.Dhi):
		return bad("want 1 <= Dlo <= D <= Dhi, have %d, %d, %d", p.Dlo, p.D, p.Dhi)
	case p.Dout < 0 || p.Dout >= p.Dlo || p.Dout > p.D/2:
		return bad("want 0 <= Dout < Dlo and Dout <= D/2, have Dout %d", p.Dout)
	case p.Dscore < 0 || p.Dscore > p.D:
		return bad("want 0 <= Dscore <= D, have %d", p.Dscore)
	case p.Dlazy < 0:
		return bad("Dlazy %d < 0", p.Dlazy)
	case p.HistoryGossip < 1 || p.HistoryGossip > p.HistoryLength:
		return bad("want 1 <= HistoryGossip <= HistoryLength, have %d, %d", p.HistoryGossip, p.HistoryLength)
	case p.HeartbeatInterval <= 0 || p.SeenTTL <= 0 || p.FanoutTTL <= 0:
		return bad("heartbeat, seen TTL and fanout TTL must be positive")
	case p.GossipFactor < 0 || p.GossipFactor > 1:
		return bad("gossip factor %v outside [0, 1]", p.GossipFactor)
	case p.MaxMessageSize <= 0 || p.MaxRPCSize < p.MaxMessageSize || p.MaxIncomingRPCSize < p.MaxRPCSize:
		return bad("want 0 < MaxMessageSize <= MaxRPCSize <= MaxIncomingRPCSize")
	case p.MaxPendingValidation < 1 || p.MaxIHaveLength < 1 || p.MaxIHaveMessages < 1:
		return bad("queue and IHAVE bounds must be positive")
	case p.MaxPeerTopics < 1 || p.MaxIDontWant < 0 || p.GossipRetransmission < 1:
		return bad("peer topic, IDONTWANT and retransmission bounds out of range")
	}
	return nil
}

// TopicScoreParams are the per-topic parts of the v1.1 peer score. The
// mesh message delivery counters (P3, P3b) are off in Waku's parameters
// and not modelled.
type TopicScoreParams struct {
	TopicWeight float64
	// P1: time in mesh, counted in quanta up to a cap.
	TimeInMeshWeight  float64
	TimeInMeshQuantum time.Duration
	TimeInMeshCap     float64
	// P2: first deliveries of valid messages.
	FirstMessageDeliveriesWeight, FirstMessageDeliveriesDecay, FirstMessageDeliveriesCap float64
	// P4: invalid messages (squared).
	InvalidMessageDeliveriesWeight, InvalidMessageDeliveriesDecay float64
}

// ScoreParams are the v1.1 peer score parameters. Every topic the router
// joins is scored with Topic (Waku's shards share one set).
type ScoreParams struct {
	Topic TopicScoreParams
	// TopicScoreCap caps the sum of the topic scores (0: no cap).
	TopicScoreCap float64
	// P6: more than IPColocationFactorThreshold peers on one IP.
	IPColocationFactorWeight    float64
	IPColocationFactorThreshold int
	// IPColocationWhitelist: peers on these networks are not counted for
	// colocation (default: loopback, where a devnet runs all its nodes).
	IPColocationWhitelist []netip.Prefix
	// P7: behaviour penalty (GRAFT in backoff, broken IWANT promises).
	BehaviourPenaltyWeight, BehaviourPenaltyThreshold, BehaviourPenaltyDecay float64
	DecayInterval                                                            time.Duration
	DecayToZero                                                              float64
	RetainScore                                                              time.Duration
}

// Thresholds are the score thresholds of gossipsub v1.1.
type Thresholds struct {
	// Below Gossip, a peer's gossip is ignored and it gets none; below
	// Publish, our messages are not flood-published to it; below Graylist
	// its RPCs are ignored altogether.
	Gossip, Publish, Graylist float64
	// AcceptPX: peer exchange is taken only from peers scoring at least
	// this; OpportunisticGraft: the median mesh score below which the
	// router grafts better peers.
	AcceptPX, OpportunisticGraft float64
}

// DefaultScoreParams are nwaku's peer score parameters.
func DefaultScoreParams() ScoreParams {
	return ScoreParams{
		Topic: TopicScoreParams{
			TopicWeight:                    1,
			TimeInMeshWeight:               0.01,
			TimeInMeshQuantum:              time.Second,
			TimeInMeshCap:                  10,
			FirstMessageDeliveriesWeight:   1,
			FirstMessageDeliveriesDecay:    0.5,
			FirstMessageDeliveriesCap:      10,
			InvalidMessageDeliveriesWeight: -100,
			InvalidMessageDeliveriesDecay:  0.5,
		},
		IPColocationFactorWeight:    -50,
		IPColocationFactorThreshold: 5,
		IPColocationWhitelist:       []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		BehaviourPenaltyWeight:      -10,
		BehaviourPenaltyThreshold:   0,
		BehaviourPenaltyDecay:       0.986,
		DecayInterval:               12 * time.Second,
		DecayToZero:                 0.01,
		RetainScore:                 10 * time.Minute,
	}
}

// DefaultThresholds are nwaku's score thresholds.
func DefaultThresholds() Thresholds {
	return Thresholds{Gossip: -100, Publish: -1000, Graylist: -10000, AcceptPX: 100, OpportunisticGraft: 1}
}
