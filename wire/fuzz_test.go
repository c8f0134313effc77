package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/wire/pb/filterpb"
	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
	"github.com/rlnd/rlnd/wire/pb/lightpushpb"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
	"github.com/rlnd/rlnd/wire/pb/metadatapb"
	"github.com/rlnd/rlnd/wire/pb/peerexchangepb"
	"github.com/rlnd/rlnd/wire/pb/storepb"
)

// fuzzDecode checks a decoder on arbitrary bytes: it never panics, every
// error wraps a sentinel, and whatever it accepts encodes and decodes back
// to the same message.
func fuzzDecode[T proto.Message](f *testing.F, newMsg func() T) {
	for _, m := range sampleMessages() {
		if _, ok := m.(T); ok {
			b, err := Encode(m)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		m := newMsg()
		if err := Decode(b, m); err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) &&
				!errors.Is(err, ErrMissingField) && !errors.Is(err, ErrInvalidField) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		enc, err := Encode(m)
		if err != nil {
			if errors.Is(err, ErrTooLarge) {
				return // an absent payload we filled in can push a limit-sized input over
			}
			t.Fatalf("accepted input does not encode: %v", err)
		}
		back := newMsg()
		if err := Decode(enc, back); err != nil {
			t.Fatalf("own encoding does not decode: %v", err)
		}
		if !proto.Equal(m, back) {
			t.Fatalf("round trip changed the message:\n%v\n%v", m, back)
		}
	})
}

func FuzzDecodeWakuMessage(f *testing.F) {
	fuzzDecode(f, func() *messagepb.WakuMessage { return new(messagepb.WakuMessage) })
}

func FuzzDecodeGossipsubRPC(f *testing.F) {
	fuzzDecode(f, func() *gossipsubpb.RPC { return new(gossipsubpb.RPC) })
}

func FuzzDecodeMetadataRequest(f *testing.F) {
	fuzzDecode(f, func() *metadatapb.WakuMetadataRequest { return new(metadatapb.WakuMetadataRequest) })
}

func FuzzDecodeMetadataResponse(f *testing.F) {
	fuzzDecode(f, func() *metadatapb.WakuMetadataResponse { return new(metadatapb.WakuMetadataResponse) })
}

func FuzzDecodeLightPushRequest(f *testing.F) {
	fuzzDecode(f, func() *lightpushpb.LightPushRequest { return new(lightpushpb.LightPushRequest) })
}

func FuzzDecodeLightPushResponse(f *testing.F) {
	fuzzDecode(f, func() *lightpushpb.LightPushResponse { return new(lightpushpb.LightPushResponse) })
}

func FuzzDecodePushRPC(f *testing.F) {
	fuzzDecode(f, func() *lightpushpb.PushRPC { return new(lightpushpb.PushRPC) })
}

func FuzzDecodeStoreQueryRequest(f *testing.F) {
	fuzzDecode(f, func() *storepb.StoreQueryRequest { return new(storepb.StoreQueryRequest) })
}

func FuzzDecodeStoreQueryResponse(f *testing.F) {
	fuzzDecode(f, func() *storepb.StoreQueryResponse { return new(storepb.StoreQueryResponse) })
}

func FuzzDecodeFilterSubscribeRequest(f *testing.F) {
	fuzzDecode(f, func() *filterpb.FilterSubscribeRequest { return new(filterpb.FilterSubscribeRequest) })
}

func FuzzDecodeFilterSubscribeResponse(f *testing.F) {
	fuzzDecode(f, func() *filterpb.FilterSubscribeResponse { return new(filterpb.FilterSubscribeResponse) })
}

func FuzzDecodeMessagePush(f *testing.F) {
	fuzzDecode(f, func() *filterpb.MessagePush { return new(filterpb.MessagePush) })
}

func FuzzDecodePeerExchangeRPC(f *testing.F) {
	fuzzDecode(f, func() *peerexchangepb.PeerExchangeRPC { return new(peerexchangepb.PeerExchangeRPC) })
}

// FuzzReadFrame: the frame reader never panics, never returns more than
// the limit, and frames written by AppendFrame read back.
func FuzzReadFrame(f *testing.F) {
	f.Add(AppendFrame(nil, []byte("hello")), 16)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 16)
	f.Add([]byte{0x80}, 1)
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		if max < 0 || max > 1<<20 {
			return
		}
		r := bytes.NewReader(b)
		for {
			frame, err := ReadFrame(r, max)
			if err != nil {
				if err != io.EOF && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrMalformed) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("unexpected error: %v", err)
				}
				break
			}
			if len(frame) > max {
				t.Fatalf("frame of %d bytes over limit %d", len(frame), max)
			}
			again, err := ReadFrame(bytes.NewReader(AppendFrame(nil, frame)), max)
			if err != nil || !bytes.Equal(again, frame) {
				t.Fatalf("frame does not round-trip: %v", err)
			}
		}
	})
}
