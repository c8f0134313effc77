package store

import (
	"strconv"

	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/rlnd/rlnd/p2p"
)

// Protocol is store v3's protocol id.
const Protocol protocol.ID = "/vac/waku/store-query/3.0.0"

// StatusCode is a store v3 status code (StoreQueryResponse.status_code).
type StatusCode uint32

// Status codes of store v3.
const (
	StatusOK              StatusCode = 200
	StatusBadRequest      StatusCode = 400
	StatusTooManyRequests StatusCode = 429
	StatusInternal        StatusCode = 500
	StatusUnavailable     StatusCode = 503
)

// String names the code in nwaku's style (upper snake case), or is the
// number of a code without a name.
func (c StatusCode) String() string {
	switch c {
	case StatusOK:
		return "SUCCESS"
	case StatusBadRequest:
		return "BAD_REQUEST"
	case StatusTooManyRequests:
		return "TOO_MANY_REQUESTS"
	case StatusInternal:
		return "INTERNAL_SERVER_ERROR"
	case StatusUnavailable:
		return "SERVICE_UNAVAILABLE"
	}
	return strconv.FormatUint(uint64(c), 10)
}

// StreamLimits bounds the store streams in the host's resource manager
// (p2p.HostConfig.StreamLimits): 32 inbound streams per peer, 1,024 in all,
// above what the service's admission gate keeps, so that the gate, which
// answers busy, decides first; a peer past 32 gets its streams reset.
func StreamLimits() p2p.StreamLimits {
	return p2p.StreamLimits{Protocols: []protocol.ID{Protocol}, PerPeer: 32, Total: 1024}
}
