package wire

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/wire/pb/filterpb"
	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
	"github.com/rlnd/rlnd/wire/pb/lightpushpb"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
	"github.com/rlnd/rlnd/wire/pb/metadatapb"
	"github.com/rlnd/rlnd/wire/pb/peerexchangepb"
	"github.com/rlnd/rlnd/wire/pb/storepb"
)

// sampleMessages is one valid instance of every protocol message; the fuzz
// seeds are built from the same list.
func sampleMessages() []proto.Message {
	msg := func() *messagepb.WakuMessage {
		m := NewMessage("/toychat/2/huilong/proto", []byte("hello"), 1700000000000000000)
		m.Meta = []byte("meta")
		return m
	}
	return []proto.Message{
		msg(),
		&gossipsubpb.RPC{
			Subscriptions: []*gossipsubpb.SubOpts{{Subscribe: proto.Bool(true), Topicid: proto.String("/waku/2/rs/1/3")}},
			Publish:       []*gossipsubpb.Message{{Data: []byte{0x0a, 0x00, 0x12, 0x01, 'x'}, Topic: proto.String("/waku/2/rs/1/3")}},
			Control: &gossipsubpb.ControlMessage{
				Ihave:     []*gossipsubpb.ControlIHave{{TopicId: proto.String("/waku/2/rs/1/3"), MessageIds: [][]byte{make([]byte, 32)}}},
				Iwant:     []*gossipsubpb.ControlIWant{{MessageIds: [][]byte{make([]byte, 32)}}},
				Graft:     []*gossipsubpb.ControlGraft{{TopicId: proto.String("/waku/2/rs/1/3")}},
				Prune:     []*gossipsubpb.ControlPrune{{TopicId: proto.String("/waku/2/rs/1/3"), Backoff: proto.Uint64(60), Peers: []*gossipsubpb.PeerInfo{{PeerId: []byte("peer")}}}},
				Idontwant: []*gossipsubpb.ControlIDontWant{{MessageIds: [][]byte{make([]byte, 32)}}},
			},
		},
		&metadatapb.WakuMetadataRequest{ClusterId: proto.Uint32(1), Shards: []uint32{0, 1, 7}},
		&metadatapb.WakuMetadataResponse{ClusterId: proto.Uint32(1), Shards: []uint32{0, 1023}},
		&lightpushpb.LightPushRequest{RequestId: "r1", PubsubTopic: proto.String("/waku/2/rs/1/3"), Message: msg()},
		&lightpushpb.LightPushResponse{RequestId: "r1", StatusCode: 200, StatusDesc: proto.String("OK"), RelayPeerCount: proto.Uint32(3)},
		&lightpushpb.PushRPC{RequestId: "r2", Request: &lightpushpb.PushRequest{PubsubTopic: "/waku/2/rs/1/3", Message: msg()}},
		&lightpushpb.PushRPC{RequestId: "r2", Response: &lightpushpb.PushResponse{IsSuccess: true, Info: "ok"}},
		&storepb.StoreQueryRequest{RequestId: "q", IncludeData: true, PubsubTopic: proto.String("/waku/2/rs/1/3"),
			ContentTopics: []string{"/toychat/2/huilong/proto"}, TimeStart: proto.Int64(1), TimeEnd: proto.Int64(2),
			PaginationCursor: make([]byte, 32), PaginationForward: true, PaginationLimit: proto.Uint64(20)},
		&storepb.StoreQueryResponse{RequestId: "q", StatusCode: proto.Uint32(200), StatusDesc: proto.String("OK"),
			Messages: []*storepb.WakuMessageKeyValue{
				{MessageHash: make([]byte, 32), Message: msg(), PubsubTopic: proto.String("/waku/2/rs/1/3")},
				{MessageHash: make([]byte, 32)},
			}, PaginationCursor: make([]byte, 32)},
		&filterpb.FilterSubscribeRequest{RequestId: "f", FilterSubscribeType: filterpb.FilterSubscribeRequest_SUBSCRIBE,
			PubsubTopic: proto.String("/waku/2/rs/1/3"), ContentTopics: []string{"/toychat/2/huilong/proto"}},
		&filterpb.FilterSubscribeResponse{RequestId: "f", StatusCode: 200, StatusDesc: proto.String("OK")},
		&filterpb.MessagePush{WakuMessage: msg(), PubsubTopic: proto.String("/waku/2/rs/1/3")},
		&peerexchangepb.PeerExchangeRPC{Query: &peerexchangepb.PeerExchangeQuery{NumPeers: proto.Uint64(0)}},
		&peerexchangepb.PeerExchangeRPC{Response: &peerexchangepb.PeerExchangeResponse{PeerInfos: []*peerexchangepb.PeerInfo{{Enr: []byte("enr:-")}}}},
	}
}

func TestEncodeDecodeRoundTripEveryMessage(t *testing.T) {
	t.Parallel()
	for _, m := range sampleMessages() {
		name := string(m.ProtoReflect().Descriptor().Name())
		b, err := Encode(m)
		if err != nil {
			t.Fatalf("%s: Encode: %v", name, err)
		}
		back := m.ProtoReflect().New().Interface()
		if err := Decode(b, back); err != nil {
			t.Fatalf("%s: Decode: %v", name, err)
		}
		if !proto.Equal(m, back) {
			t.Fatalf("%s: round trip changed the message:\n%v\n%v", name, m, back)
		}
		// Through a frame too.
		var buf bytes.Buffer
		if err := WriteMsg(&buf, m); err != nil {
			t.Fatalf("%s: WriteMsg: %v", name, err)
		}
		framed := m.ProtoReflect().New().Interface()
		if err := ReadMsg(&buf, framed); err != nil || !proto.Equal(m, framed) {
			t.Fatalf("%s: ReadMsg: %v", name, err)
		}
	}
}

// Embedded WakuMessages follow the message rules in every protocol.
func TestEmbeddedMessageRules(t *testing.T) {
	t.Parallel()
	noPayload := &messagepb.WakuMessage{ContentTopic: proto.String("/a/1/b/c")}
	bigMeta := NewMessage("/a/1/b/c", nil, 0)
	bigMeta.Meta = make([]byte, 65)
	tests := []struct {
		name string
		m    proto.Message
		want error
		msg  string
	}{
		{"lightpush v3 without message", &lightpushpb.LightPushRequest{RequestId: "x"}, ErrMissingField, "LightPushRequest.message is absent"},
		{"lightpush v3 message without payload field", &lightpushpb.LightPushRequest{Message: noPayload}, ErrMissingField, "payload (field 1)"},
		{"lightpush v2 without message", &lightpushpb.PushRPC{Request: &lightpushpb.PushRequest{}}, ErrMissingField, "PushRPC.request.message"},
		{"filter push without message", &filterpb.MessagePush{}, ErrMissingField, "MessagePush.waku_message"},
		{"store response meta 65", &storepb.StoreQueryResponse{Messages: []*storepb.WakuMessageKeyValue{{Message: bigMeta}}}, ErrInvalidField, "messages[0].message"},
		{"px query without num_peers", &peerexchangepb.PeerExchangeRPC{Query: &peerexchangepb.PeerExchangeQuery{}}, ErrMissingField, "num_peers"},
		{"metadata shard 1024", &metadatapb.WakuMetadataRequest{ClusterId: proto.Uint32(1), Shards: []uint32{1024}}, ErrInvalidField, "shard 1024"},
		{"metadata cluster 65536", &metadatapb.WakuMetadataResponse{ClusterId: proto.Uint32(65536)}, ErrInvalidField, "cluster_id 65536"},
	}
	for _, tt := range tests {
		_, err := Encode(tt.m)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: Encode error %v, want %v containing %q", tt.name, err, tt.want, tt.msg)
		}
	}

	// On ingress, an absent payload reads as empty and an absent num_peers as 0.
	raw, _ := proto.Marshal(&lightpushpb.LightPushRequest{Message: noPayload})
	var req lightpushpb.LightPushRequest
	if err := Decode(raw, &req); err != nil || req.GetMessage().Payload == nil {
		t.Fatalf("Decode lightpush with payload absent: %v", err)
	}
	raw, _ = proto.Marshal(&peerexchangepb.PeerExchangeRPC{Query: &peerexchangepb.PeerExchangeQuery{}})
	var px peerexchangepb.PeerExchangeRPC
	if err := Decode(raw, &px); err != nil || px.GetQuery().NumPeers == nil {
		t.Fatalf("Decode px query: %v", err)
	}
	if b, err := Encode(&px); err != nil || !bytes.Equal(b, []byte{0x0a, 0x02, 0x08, 0x00}) {
		t.Fatalf("px query re-encoded as %x, %v; want field 1 present", b, err)
	}
	// A decoded message without its required embedded message is refused.
	raw, _ = proto.Marshal(&filterpb.MessagePush{PubsubTopic: proto.String("/waku/2/rs/1/0")})
	if err := Decode(raw, new(filterpb.MessagePush)); !errors.Is(err, ErrMissingField) {
		t.Fatalf("Decode push without message: %v", err)
	}
}

func TestMetadataShardsPacked(t *testing.T) {
	t.Parallel()
	b, err := Encode(&metadatapb.WakuMetadataRequest{ClusterId: proto.Uint32(1), Shards: []uint32{0, 5}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x08, 0x01, 0x12, 0x02, 0x00, 0x05}; !bytes.Equal(b, want) {
		t.Fatalf("metadata = %x, want %x (packed shards)", b, want)
	}
	// Unpacked shards, as some peers send them, decode the same.
	unpacked := []byte{0x08, 0x01, 0x10, 0x00, 0x10, 0x05}
	var m metadatapb.WakuMetadataRequest
	if err := Decode(unpacked, &m); err != nil || len(m.Shards) != 2 || m.Shards[1] != 5 {
		t.Fatalf("unpacked decode: %v %v", &m, err)
	}
}

func TestStrictNoSignLayout(t *testing.T) {
	t.Parallel()
	b, err := Encode(&gossipsubpb.RPC{Publish: []*gossipsubpb.Message{{Data: []byte("d"), Topic: proto.String("t")}}})
	if err != nil {
		t.Fatal(err)
	}
	// RPC{publish(2): Message{data(2), topic(4)}}: no from, seqno, signature, key.
	inner := protowire.AppendTag(nil, 2, protowire.BytesType)
	inner = protowire.AppendBytes(inner, []byte("d"))
	inner = protowire.AppendTag(inner, 4, protowire.BytesType)
	inner = protowire.AppendString(inner, "t")
	want := protowire.AppendTag(nil, 2, protowire.BytesType)
	want = protowire.AppendBytes(want, inner)
	if !bytes.Equal(b, want) {
		t.Fatalf("RPC = %x, want %x", b, want)
	}
}

func TestDecodeSizeLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		m   proto.Message
		max int
	}{
		{&messagepb.WakuMessage{}, MaxMessageSize},
		{&gossipsubpb.RPC{}, MaxFrameSize},
		{&lightpushpb.LightPushRequest{}, MaxFrameSize},
		{&lightpushpb.LightPushResponse{}, MaxControlFrameSize},
		{&storepb.StoreQueryRequest{}, MaxControlFrameSize},
		{&storepb.StoreQueryResponse{}, MaxStoreResponseSize},
		{&metadatapb.WakuMetadataRequest{}, MaxControlFrameSize},
		{&peerexchangepb.PeerExchangeRPC{}, MaxPeerExchangeFrameSize},
	}
	for _, tt := range tests {
		if got := MaxSize(tt.m); got != tt.max {
			t.Errorf("MaxSize(%T) = %d, want %d", tt.m, got, tt.max)
		}
		// One byte over the limit is refused before parsing.
		if err := Decode(make([]byte, tt.max+1), tt.m); !errors.Is(err, ErrTooLarge) {
			t.Errorf("Decode(%T, %d bytes) = %v, want ErrTooLarge", tt.m, tt.max+1, err)
		}
	}
}

func TestReadFrame(t *testing.T) {
	t.Parallel()
	framed := AppendFrame(nil, []byte("hello"))
	framed = AppendFrame(framed, nil)
	r := bytes.NewReader(framed)
	if b, err := ReadFrame(r, 10); err != nil || string(b) != "hello" {
		t.Fatalf("frame 1 = %q, %v", b, err)
	}
	if b, err := ReadFrame(r, 10); err != nil || len(b) != 0 {
		t.Fatalf("frame 2 = %q, %v", b, err)
	}
	if _, err := ReadFrame(r, 10); err != io.EOF {
		t.Fatalf("clean end = %v, want io.EOF", err)
	}

	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"too large, refused unread", AppendFrame(nil, make([]byte, 11)), ErrTooLarge},
		{"huge announced length", []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, ErrTooLarge},
		{"truncated body", []byte{0x05, 'a', 'b'}, io.ErrUnexpectedEOF},
		{"truncated length", []byte{0x80}, io.ErrUnexpectedEOF},
		{"varint overflow", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, ErrMalformed},
	}
	for _, tt := range tests {
		if _, err := ReadFrame(bytes.NewReader(tt.in), 10); !errors.Is(err, tt.want) {
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.want)
		}
	}
}

// A frame announcing more than the limit is refused without reading (and so
// without allocating) its body.
func TestReadFrameDoesNotReadOversizedBody(t *testing.T) {
	t.Parallel()
	r := &countingReader{r: bytes.NewReader(AppendFrame(nil, make([]byte, 1000)))}
	if _, err := ReadFrame(r, 100); !errors.Is(err, ErrTooLarge) {
		t.Fatal(err)
	}
	if r.n > 2 {
		t.Fatalf("read %d bytes, want only the 2-byte length", r.n)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
