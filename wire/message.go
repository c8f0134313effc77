package wire

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// NewMessage builds a WakuMessage with both required fields present.
// timestampNs is Unix nanoseconds; 0 leaves the timestamp absent.
func NewMessage(contentTopic string, payload []byte, timestampNs int64) *messagepb.WakuMessage {
	m := &messagepb.WakuMessage{ContentTopic: proto.String(contentTopic), Payload: nonNil(payload)}
	if timestampNs != 0 {
		m.Timestamp = proto.Int64(timestampNs)
	}
	return m
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Normalize marks payload and content_topic present (empty when absent) so
// that the message encodes with fields 1 and 2, as nwaku requires. Call it
// once when a message enters the node; messages are not mutated after that.
func Normalize(m *messagepb.WakuMessage) {
	if m.Payload == nil {
		m.Payload = []byte{}
	}
	if m.ContentTopic == nil {
		m.ContentTopic = proto.String("")
	}
}

// CheckMessage enforces the rules every WakuMessage rlnd emits or accepts
// obeys: both required fields present, a non-empty content topic, meta at
// most 64 bytes.
func CheckMessage(m *messagepb.WakuMessage) error {
	if m == nil {
		return fmt.Errorf("%w: message is absent", ErrMissingField)
	}
	if m.Payload == nil {
		return fmt.Errorf("%w: WakuMessage.payload (field 1) must be present, even when empty", ErrMissingField)
	}
	if m.ContentTopic == nil {
		return fmt.Errorf("%w: WakuMessage.content_topic (field 2) must be present", ErrMissingField)
	}
	if m.GetContentTopic() == "" {
		return fmt.Errorf("%w: WakuMessage.content_topic is empty", ErrInvalidField)
	}
	if len(m.Meta) > MaxMetaSize {
		return fmt.Errorf("%w: WakuMessage.meta is %d bytes, at most %d allowed", ErrInvalidField, len(m.Meta), MaxMetaSize)
	}
	return nil
}

// EncodeMessage checks and serializes a WakuMessage; the result is at most
// MaxMessageSize bytes.
func EncodeMessage(m *messagepb.WakuMessage) ([]byte, error) { return Encode(m) }

// DecodeMessage parses and checks a serialized WakuMessage. A missing payload
// field is read as an empty payload (js-waku omits empty fields); a missing or
// empty content topic is an error.
func DecodeMessage(b []byte) (*messagepb.WakuMessage, error) {
	m := new(messagepb.WakuMessage)
	if err := Decode(b, m); err != nil {
		return nil, err
	}
	return m, nil
}

// acceptMessage is the ingress rule for a message received from a peer:
// fill an absent payload, then check.
func acceptMessage(m *messagepb.WakuMessage) error {
	if m == nil {
		return fmt.Errorf("%w: message is absent", ErrMissingField)
	}
	if m.Payload == nil {
		m.Payload = []byte{}
	}
	return CheckMessage(m)
}

// MessageHash is the deterministic message hash of 14/WAKU2-MESSAGE.
type MessageHash [32]byte

// String is the 0x-prefixed hex form used by nwaku's REST API and logs.
func (h MessageHash) String() string { return "0x" + hex.EncodeToString(h[:]) }

// ParseMessageHash reads a hash in hex, with or without 0x.
func ParseMessageHash(s string) (MessageHash, error) {
	var h MessageHash
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	if len(s) != 64 {
		return h, fmt.Errorf("%w: message hash must be 32 bytes (64 hex digits), got %d digits", ErrInvalidField, len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("%w: message hash is not hex: %w", ErrInvalidField, err)
	}
	return h, nil
}

// Hash computes sha256(pubsub_topic || payload || content_topic || meta ||
// uint64_BE(timestamp)). Absent meta adds nothing; an absent timestamp
// hashes as eight zero bytes.
func Hash(pubsubTopic string, m *messagepb.WakuMessage) MessageHash {
	h := sha256.New()
	h.Write([]byte(pubsubTopic))
	h.Write(m.GetPayload())
	h.Write([]byte(m.GetContentTopic()))
	h.Write(m.GetMeta())
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(m.GetTimestamp()))
	h.Write(ts[:])
	var out MessageHash
	h.Sum(out[:0])
	return out
}

// GossipMessageID is the gossipsub message id Waku relay uses: sha256 of the
// pubsub message's data (the serialized WakuMessage as received).
func GossipMessageID(data []byte) string {
	sum := sha256.Sum256(data)
	return string(sum[:])
}
