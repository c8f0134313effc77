// Package wire holds the Waku v2 wire formats rlnd speaks: the .proto files
// under wire/proto, the generated Go under wire/pb, and the codecs on top of
// them that enforce what real peers expect (WakuMessage fields 1 and 2 always
// present, meta and size limits, length-prefixed frames), the deterministic
// message hash and the gossipsub message id.
package wire

import "errors"

// Limits.
const (
	// MaxMessageSize bounds an encoded WakuMessage (150 KiB).
	MaxMessageSize = 150 * 1024
	// MaxMetaSize bounds WakuMessage.meta.
	MaxMetaSize = 64
	// EnvelopeOverhead is the room a frame allows around the messages it
	// carries (topics, request ids, cursors, control messages).
	EnvelopeOverhead = 64 * 1024
	// MaxFrameSize bounds a frame that carries at most one message: a
	// gossipsub RPC (nwaku bounds RPC frames by the message size too), a
	// lightpush request, a filter push.
	MaxFrameSize = MaxMessageSize + EnvelopeOverhead
	// MaxControlFrameSize bounds frames that carry no message: metadata,
	// lightpush responses, store queries, filter subscriptions.
	MaxControlFrameSize = EnvelopeOverhead
	// MaxStorePageSize is the largest store page a client may ask for.
	MaxStorePageSize = 100
	// MaxStoreResponseSize bounds a store response: a full page of
	// messages of the largest size.
	MaxStoreResponseSize = MaxStorePageSize*MaxMessageSize + EnvelopeOverhead
	// MaxPeerExchangeFrameSize bounds a peer-exchange frame (ENRs are at
	// most 300 bytes each).
	MaxPeerExchangeFrameSize = 1 << 20
)

// Sentinel errors callers branch on; every codec error wraps one of them.
var (
	ErrMalformed    = errors.New("malformed protobuf")
	ErrTooLarge     = errors.New("too large")
	ErrMissingField = errors.New("missing required field")
	ErrInvalidField = errors.New("invalid field")
)
