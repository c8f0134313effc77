package filter

import (
	"strconv"

	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/rlnd/rlnd/p2p"
)

// Protocol ids: requests to the service, and the pushes it sends back.
const (
	ProtocolSubscribe protocol.ID = "/vac/waku/filter-subscribe/2.0.0-beta1"
	ProtocolPush      protocol.ID = "/vac/waku/filter-push/2.0.0-beta1"
)

// StatusCode is the status code of a filter-subscribe answer.
type StatusCode uint32

// Status codes of filter-subscribe answers, as nwaku sends them
// (waku_filter_v2/common.nim, FilterSubscribeErrorKind).
const (
	StatusOK StatusCode = 200
	// StatusBadRequest: malformed request, no content topics, more than
	// MaxContentTopicsPerRequest, a pubsub topic the node does not relay,
	// or a content topic autosharding cannot place.
	StatusBadRequest StatusCode = 400
	// StatusNotFound: ping, unsubscribe or unsubscribe-all from a peer
	// with no (matching) subscription ("peer has no subscriptions").
	StatusNotFound StatusCode = 404
	// StatusTooManyRequests: the peer exceeded its request rate.
	StatusTooManyRequests StatusCode = 429
	// StatusUnavailable: the service is at MaxPeers, or the subscription
	// would take the peer over MaxCriteriaPerPeer (nwaku answers both
	// with SERVICE_UNAVAILABLE).
	StatusUnavailable StatusCode = 503
)

// String names the code in nwaku's style (upper snake case), or is the
// number of a code without a name.
func (c StatusCode) String() string {
	switch c {
	case StatusOK:
		return "SUCCESS"
	case StatusBadRequest:
		return "BAD_REQUEST"
	case StatusNotFound:
		return "NOT_FOUND"
	case StatusTooManyRequests:
		return "TOO_MANY_REQUESTS"
	case StatusUnavailable:
		return "SERVICE_UNAVAILABLE"
	}
	return strconv.FormatUint(uint64(c), 10)
}

// StreamLimits bounds the filter streams in the host's resource manager
// (p2p.HostConfig.StreamLimits), each protocol on its own: 32 inbound
// streams per peer, 1,024 in all. Subscribe requests: above what the
// service's admission gate keeps, so that the gate, which answers busy,
// decides first; a peer past 32 gets its streams reset. Pushes (to our
// client): one stream per pushed message.
func StreamLimits() p2p.StreamLimits {
	return p2p.StreamLimits{Protocols: []protocol.ID{ProtocolSubscribe, ProtocolPush}, PerPeer: 32, Total: 1024}
}
