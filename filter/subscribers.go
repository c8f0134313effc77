package filter

import (
	"fmt"
	"net/netip"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/p2p/admission"
)

// Defaults of the bounds on subscribers (the others are in filter.go).
const (
	// DefaultMaxPeersPerPrefix: a tenth of DefaultMaxPeers, so that
	// taking every place needs ten address prefixes (/24 or /56), while
	// many honest clients behind one NAT still get in.
	DefaultMaxPeersPerPrefix = 100
	// DefaultPushQueueBytes holds the largest push (wire.MaxFrameSize,
	// 214 KiB) four times over, or the 64 messages of DefaultPushQueue at
	// 16 KiB each.
	DefaultPushQueueBytes = 1 << 20
	// DefaultMaxContentTopicLength is well above the content topics in use
	// (/{app}/{version}/{name}/{encoding}, Status' with a 66-character
	// name are under 100 bytes), and bounds what a criterion holds.
	DefaultMaxContentTopicLength = 256
)

// What subscriptions cost beyond their content topics' bytes, measured
// (TestMemoryBound) with a margin: criterionOverhead is one criterion no
// other subscriber shares (its key in the subscriber's set, its own index
// entry with a one-peer map, its pubsub topic); subscriberOverhead is one
// subscriber with no criteria (its state, queue channel, push goroutine
// and its stack, request bucket).
const (
	criterionOverhead  = 640
	subscriberOverhead = 16 << 10
)

// MemoryBound is the most memory the subscriptions can hold, in bytes:
// MaxPeers subscribers, each with MaxCriteriaPerPeer criteria whose
// content topics are MaxContentTopicLength bytes long and a full push
// queue of PushQueueBytes. Subscribers of a criterion share its index
// entry, and pushes of one message share one frame, so real use costs
// less. It does not count a push in progress (at most one frame per
// subscriber, while its stream is written).
func (s *Service) MemoryBound() int64 {
	perCriterion := int64(s.cfg.MaxContentTopicLength + criterionOverhead)
	perPeer := int64(s.cfg.MaxCriteriaPerPeer)*perCriterion + int64(s.cfg.PushQueueBytes) + subscriberOverhead
	return int64(s.cfg.MaxPeers) * perPeer
}

// QueuedBytes is the number of framed bytes waiting in every subscriber's
// push queue.
func (s *Service) QueuedBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, sub := range s.peers {
		n += sub.queued.Load()
	}
	return n
}

// PrefixPeers is the number of subscribers from an address prefix.
func (s *Service) PrefixPeers(p netip.Prefix) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.prefixes[p]
}

// prefixOf is the address prefix (admission.PrefixOf: /24 IPv4, /56 IPv6)
// of a connection to p, the zero Prefix for a peer with no connection
// that has an IP address. A peer connected from several prefixes is
// counted in the first one found.
func (s *Service) prefixOf(p peer.ID) netip.Prefix {
	for _, c := range s.h.Network().ConnsToPeer(p) {
		if pfx, ok := admission.PrefixOf(c.RemoteMultiaddr()); ok {
			return pfx
		}
	}
	return netip.Prefix{}
}

// prefixName names a prefix in answers: "this /24" (the client knows its
// address), or the peers without an IP address.
func prefixName(p netip.Prefix) string {
	if !p.IsValid() {
		return "connections without an IP address"
	}
	return fmt.Sprintf("this address prefix (/%d)", p.Bits())
}
