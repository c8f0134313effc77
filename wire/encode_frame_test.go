package wire

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/wire/pb/messagepb"
	"github.com/rlnd/rlnd/wire/pb/storepb"
)

// fullStorePage is a store response of n entries each carrying a message
// with a payload of size bytes.
func fullStorePage(n, size int) *storepb.StoreQueryResponse {
	code, topic := uint32(200), "/waku/2/rs/1/0"
	resp := &storepb.StoreQueryResponse{RequestId: "r", StatusCode: &code}
	for i := range n {
		m := NewMessage("/app/1/t/proto", bytes.Repeat([]byte{byte(i)}, size), int64(i+1))
		resp.Messages = append(resp.Messages, &storepb.WakuMessageKeyValue{MessageHash: make([]byte, 32), Message: m, PubsubTopic: &topic})
	}
	return resp
}

// EncodeFrame is the length prefix and Encode's bytes, in one buffer of
// exactly that size: a full store page is not copied a second time. (Not
// parallel: AllocsPerRun.)
func TestEncodeFrame(t *testing.T) {
	for _, m := range append(sampleMessages(), fullStorePage(MaxStorePageSize, MaxMessageSize-200)) {
		name := m.ProtoReflect().Descriptor().Name()
		body, err := Encode(m)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		frame, err := EncodeFrame(m)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := AppendFrame(nil, body); !bytes.Equal(frame, want) {
			t.Fatalf("%s: EncodeFrame differs from the length-prefixed Encode", name)
		}
		var buf bytes.Buffer
		if err := WriteMsg(&buf, m); err != nil || !bytes.Equal(buf.Bytes(), frame) {
			t.Fatalf("%s: WriteMsg wrote other bytes (%v)", name, err)
		}
		if extra := cap(frame) - len(frame); extra != 0 {
			t.Fatalf("%s: frame buffer has %d bytes of spare capacity", name, extra)
		}
	}
	// The bytes allocated for a full page: its frame, once, plus small
	// change (the checks' per-message bookkeeping), not a second copy.
	page := fullStorePage(MaxStorePageSize, MaxMessageSize-200)
	size := proto.Size(page)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	frame, err := EncodeFrame(page)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	const slack = 64 << 10
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(size+slack) {
		t.Fatalf("EncodeFrame of a %d-byte page (frame %d) allocated %d bytes, want at most the frame + %d", size, len(frame), alloc, slack)
	}
}

// EncodeFrame keeps Encode's checks: an oversized response or a message
// without content topic is refused, before any buffer for it is made.
func TestEncodeFrameChecks(t *testing.T) {
	t.Parallel()
	over := fullStorePage(MaxStorePageSize+1, MaxMessageSize-200)
	for _, tc := range []struct {
		m    proto.Message
		want error
	}{
		{over, ErrTooLarge},
		{&messagepb.WakuMessage{Payload: []byte("x")}, ErrMissingField},
	} {
		_, err := EncodeFrame(tc.m)
		if !errors.Is(err, tc.want) {
			t.Errorf("EncodeFrame(%s): %v, want %v", tc.m.ProtoReflect().Descriptor().Name(), err, tc.want)
		}
		if err2 := WriteMsg(new(bytes.Buffer), tc.m); fmt.Sprint(err2) != fmt.Sprint(err) {
			t.Errorf("WriteMsg and EncodeFrame disagree: %v / %v", err2, err)
		}
	}
}
