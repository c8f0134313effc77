package wire

import (
	"encoding/binary"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/wire/pb/filterpb"
	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
	"github.com/rlnd/rlnd/wire/pb/lightpushpb"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
	"github.com/rlnd/rlnd/wire/pb/metadatapb"
	"github.com/rlnd/rlnd/wire/pb/peerexchangepb"
	"github.com/rlnd/rlnd/wire/pb/storepb"
)

// MaxSize is the largest encoding a message of m's type may have on the
// wire; frames announcing more are refused unread.
func MaxSize(m proto.Message) int {
	switch m.(type) {
	case *messagepb.WakuMessage:
		return MaxMessageSize
	case *gossipsubpb.RPC, *lightpushpb.LightPushRequest, *lightpushpb.PushRPC, *filterpb.MessagePush:
		return MaxFrameSize
	case *storepb.StoreQueryResponse:
		return MaxStoreResponseSize
	case *peerexchangepb.PeerExchangeRPC:
		return MaxPeerExchangeFrameSize
	default:
		return MaxControlFrameSize
	}
}

// embedded calls fn for every WakuMessage slot m carries: the message (nil
// when absent), whether the protocol requires it, and where it sits.
func embedded(m proto.Message, fn func(msg *messagepb.WakuMessage, required bool, where string) error) error {
	switch v := m.(type) {
	case *lightpushpb.LightPushRequest:
		return fn(v.GetMessage(), true, "LightPushRequest.message")
	case *lightpushpb.PushRPC:
		if v.GetRequest() != nil {
			return fn(v.GetRequest().GetMessage(), true, "PushRPC.request.message")
		}
	case *filterpb.MessagePush:
		return fn(v.GetWakuMessage(), true, "MessagePush.waku_message")
	case *storepb.StoreQueryResponse:
		for i, kv := range v.GetMessages() {
			if kv.GetMessage() == nil {
				continue // include_data was false
			}
			if err := fn(kv.GetMessage(), false, fmt.Sprintf("StoreQueryResponse.messages[%d].message", i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Decode parses b into m and applies the ingress rules of m's protocol:
// the size limit, required embedded messages, and the WakuMessage checks
// (an absent payload reads as empty).
func Decode(b []byte, m proto.Message) error {
	name := m.ProtoReflect().Descriptor().Name()
	if max := MaxSize(m); len(b) > max {
		return fmt.Errorf("%w: %s is %d bytes, at most %d allowed", ErrTooLarge, name, len(b), max)
	}
	if err := proto.Unmarshal(b, m); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrMalformed, name, err)
	}
	// Lenient on what peers omit where the protocol has an obvious value.
	if px, ok := m.(*peerexchangepb.PeerExchangeRPC); ok && px.GetQuery() != nil && px.GetQuery().NumPeers == nil {
		px.Query.NumPeers = proto.Uint64(0)
	}
	if msg, ok := m.(*messagepb.WakuMessage); ok {
		return acceptMessage(msg)
	}
	if err := embedded(m, func(msg *messagepb.WakuMessage, required bool, where string) error {
		if msg == nil {
			if required {
				return fmt.Errorf("%w: %s is absent", ErrMissingField, where)
			}
			return nil
		}
		if err := acceptMessage(msg); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		return nil
	}); err != nil {
		return err
	}
	return checkFields(m)
}

// checkFields holds the per-protocol field rules beyond embedded messages.
func checkFields(m proto.Message) error {
	switch v := m.(type) {
	case *metadatapb.WakuMetadataRequest:
		return checkMetadata(v.ClusterId, v.GetShards())
	case *metadatapb.WakuMetadataResponse:
		return checkMetadata(v.ClusterId, v.GetShards())
	}
	return nil
}

func checkMetadata(cluster *uint32, shards []uint32) error {
	if cluster != nil && *cluster > 65535 {
		return fmt.Errorf("%w: metadata cluster_id %d is out of range, allowed 0..65535", ErrInvalidField, *cluster)
	}
	for _, s := range shards {
		if s > 1023 {
			return fmt.Errorf("%w: metadata shard %d is out of range, allowed 0..1023", ErrInvalidField, s)
		}
	}
	return nil
}

// Encode checks m against what real peers accept and serializes it:
// embedded WakuMessages carry fields 1 and 2 with meta within 64 bytes, a
// peer-exchange query carries num_peers, and the result fits MaxSize.
func Encode(m proto.Message) ([]byte, error) {
	return encode(m, 0)
}

// EncodeFrame is Encode with the frame's length prefix in front: the bytes
// WriteMsg writes. The message is serialized once, straight after room
// left for the prefix, so the frame needs no second buffer.
func EncodeFrame(m proto.Message) ([]byte, error) {
	buf, err := encode(m, binary.MaxVarintLen64)
	if err != nil {
		return nil, err
	}
	body := len(buf) - binary.MaxVarintLen64
	var hdr [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(hdr[:], uint64(body))
	start := binary.MaxVarintLen64 - n
	copy(buf[start:], hdr[:n])
	return buf[start:], nil
}

// encode runs Encode's checks and serializes m after headroom bytes of
// space, into a buffer sized once from proto.Size.
func encode(m proto.Message, headroom int) ([]byte, error) {
	name := m.ProtoReflect().Descriptor().Name()
	if msg, ok := m.(*messagepb.WakuMessage); ok {
		if err := CheckMessage(msg); err != nil {
			return nil, err
		}
	}
	if err := embedded(m, func(msg *messagepb.WakuMessage, required bool, where string) error {
		if msg == nil {
			if required {
				return fmt.Errorf("%w: %s is absent", ErrMissingField, where)
			}
			return nil
		}
		if err := CheckMessage(msg); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if px, ok := m.(*peerexchangepb.PeerExchangeRPC); ok && px.GetQuery() != nil && px.GetQuery().NumPeers == nil {
		return nil, fmt.Errorf("%w: PeerExchangeQuery.num_peers (field 1) must be present", ErrMissingField)
	}
	if err := checkFields(m); err != nil {
		return nil, err
	}
	// The size first: an oversized message is refused before a buffer is
	// allocated for it, and the marshal reuses the sizes computed here.
	size := proto.Size(m)
	if max := MaxSize(m); size > max {
		return nil, fmt.Errorf("%w: %s encodes to %d bytes, at most %d allowed", ErrTooLarge, name, size, max)
	}
	buf := make([]byte, headroom, headroom+size)
	buf, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(buf, m)
	if err != nil {
		return nil, fmt.Errorf("%w: encode %s: %w", ErrMalformed, name, err)
	}
	if len(buf) != headroom+size {
		return nil, fmt.Errorf("%w: encode %s: %d bytes written, %d sized (changed while encoding?)", ErrMalformed, name, len(buf)-headroom, size)
	}
	return buf, nil
}

// ReadMsg reads one frame of m's protocol from r and decodes it into m.
func ReadMsg(r io.Reader, m proto.Message) error {
	b, err := ReadFrame(r, MaxSize(m))
	if err != nil {
		return err
	}
	return Decode(b, m)
}

// WriteMsg encodes m and writes it as one frame, with a single Write of
// one buffer (EncodeFrame).
func WriteMsg(w io.Writer, m proto.Message) error {
	b, err := EncodeFrame(m)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
