package store

import (
	"strconv"

	"github.com/libp2p/go-libp2p/core/protocol"
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
