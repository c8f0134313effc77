package lightpush

import (
	"strconv"

	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/rlnd/rlnd/p2p"
)

// Protocol ids.
const (
	ProtocolV3 protocol.ID = "/vac/waku/lightpush/3.0.0"
	ProtocolV2 protocol.ID = "/vac/waku/lightpush/2.0.0-beta1"
)

// StatusCode is a lightpush v3 status code. v2 answers carry none: they
// stand for StatusOK or StatusInternal.
type StatusCode uint32

// Status codes of lightpush v3, as nwaku sends them
// (waku_lightpush/common.nim, LightPushErrorCode).
const (
	StatusOK               StatusCode = 200
	StatusBadRequest       StatusCode = 400
	StatusTooLarge         StatusCode = 413
	StatusInvalidMessage   StatusCode = 420
	StatusUnsupportedTopic StatusCode = 421
	StatusTooManyRequests  StatusCode = 429
	StatusInternal         StatusCode = 500
	StatusUnavailable      StatusCode = 503
	StatusOutOfProofs      StatusCode = 504
	StatusNoPeers          StatusCode = 505
)

// String is nwaku's name of the code, or the number of one it has no name
// for.
func (c StatusCode) String() string {
	switch c {
	case StatusOK:
		return "SUCCESS"
	case StatusBadRequest:
		return "BAD_REQUEST"
	case StatusTooLarge:
		return "PAYLOAD_TOO_LARGE"
	case StatusInvalidMessage:
		return "INVALID_MESSAGE"
	case StatusUnsupportedTopic:
		return "UNSUPPORTED_PUBSUB_TOPIC"
	case StatusTooManyRequests:
		return "TOO_MANY_REQUESTS"
	case StatusInternal:
		return "INTERNAL_SERVER_ERROR"
	case StatusUnavailable:
		return "SERVICE_NOT_AVAILABLE"
	case StatusOutOfProofs:
		return "OUT_OF_RLN_PROOF"
	case StatusNoPeers:
		return "NO_PEERS_TO_RELAY"
	}
	return strconv.FormatUint(uint64(c), 10)
}

// StreamLimits bounds the lightpush streams (v3 and v2) in the host's
// resource manager (p2p.HostConfig.StreamLimits): 32 inbound streams per
// peer, 1,024 in all, above what the service's admission gates keep, so
// that the gates, which answer busy, decide first; a peer past 32 gets its
// streams reset.
func StreamLimits() p2p.StreamLimits {
	return p2p.StreamLimits{Protocols: []protocol.ID{ProtocolV3, ProtocolV2}, PerPeer: 32, Total: 1024}
}
