package wire

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The test vectors of RFC 14/WAKU2-MESSAGE, "Deterministic message hashing".
func TestHashRFC14Vectors(t *testing.T) {
	t.Parallel()
	const (
		pubsub  = "/waku/2/default-waku/proto"
		content = "/waku/2/default-content/proto"
		ts      = 0x175789bfa23f8400
	)
	meta64 := make([]byte, 64)
	for i := range meta64 {
		meta64[i] = byte(i)
	}
	tests := []struct {
		name    string
		payload []byte
		meta    []byte
		want    string
	}{
		{"meta 12 bytes", mustHex(t, "010203045445535405060708"), mustHex(t, "73757065722d736563726574"), "64cce733fed134e83da02b02c6f689814872b1a0ac97ea56b76095c3c72bfe05"},
		{"meta 64 bytes", mustHex(t, "010203045445535405060708"), meta64, "7158b6498753313368b9af8f6e0a0a05104f68f972981da42a43bc53fb0c1b27"},
		{"meta absent", mustHex(t, "010203045445535405060708"), nil, "a2554498b31f5bcdfcbf7fa58ad1c2d45f0254f3f8110a85588ec3cf10720fd8"},
		{"payload empty", []byte{}, mustHex(t, "73757065722d736563726574"), "483ea950cb63f9b9d6926b262bb36194d3f40a0463ce8446228350bd44e96de4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := NewMessage(content, tt.payload, ts)
			m.Meta = tt.meta
			got := Hash(pubsub, m)
			if hex.EncodeToString(got[:]) != tt.want {
				t.Fatalf("Hash = %x, want %s", got, tt.want)
			}
			// The hash survives the wire: encode, decode, hash again.
			b, err := EncodeMessage(m)
			if err != nil {
				t.Fatal(err)
			}
			back, err := DecodeMessage(b)
			if err != nil {
				t.Fatal(err)
			}
			if Hash(pubsub, back) != got {
				t.Fatal("hash changed across encode/decode")
			}
			parsed, err := ParseMessageHash(got.String())
			if err != nil || parsed != got {
				t.Fatalf("ParseMessageHash(%s) = %x, %v", got, parsed, err)
			}
		})
	}
}

func TestHashAbsentTimestampIsZero(t *testing.T) {
	t.Parallel()
	m := NewMessage("/a/1/b/c", []byte("x"), 0)
	want := sha256.Sum256([]byte("/waku/2/rs/1/0" + "x" + "/a/1/b/c" + "\x00\x00\x00\x00\x00\x00\x00\x00"))
	if got := Hash("/waku/2/rs/1/0", m); got != MessageHash(want) {
		t.Fatalf("Hash = %x, want %x", got, want)
	}
}

func TestParseMessageHashErrors(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "0x", "0x12", strings.Repeat("zz", 32), "0x" + strings.Repeat("00", 33)} {
		if _, err := ParseMessageHash(s); !errors.Is(err, ErrInvalidField) {
			t.Errorf("ParseMessageHash(%q) error = %v", s, err)
		}
	}
}

// fieldNumbers lists the field numbers present on the wire, in order.
func fieldNumbers(t *testing.T, b []byte) []protowire.Number {
	t.Helper()
	var nums []protowire.Number
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			t.Fatalf("bad value: %v", protowire.ParseError(m))
		}
		b = b[m:]
		nums = append(nums, num)
	}
	return nums
}

func TestEncodeAlwaysCarriesFieldsOneAndTwo(t *testing.T) {
	t.Parallel()
	b, err := EncodeMessage(NewMessage("/a/1/b/c", nil, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte{0x0a, 0x00, 0x12}) {
		t.Fatalf("empty payload not on the wire: %x", b)
	}
	if got := fieldNumbers(t, b); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("fields %v, want [1 2]", got)
	}

	// A message built by hand without the fields is refused, not sent
	// in a form nwaku rejects; Normalize fixes it.
	raw := &messagepb.WakuMessage{ContentTopic: proto.String("/a/1/b/c")}
	if _, err := EncodeMessage(raw); !errors.Is(err, ErrMissingField) || !strings.Contains(err.Error(), "payload (field 1)") {
		t.Fatalf("EncodeMessage without payload: %v", err)
	}
	raw2 := &messagepb.WakuMessage{Payload: []byte("x")}
	if _, err := EncodeMessage(raw2); !errors.Is(err, ErrMissingField) || !strings.Contains(err.Error(), "content_topic (field 2)") {
		t.Fatalf("EncodeMessage without content topic: %v", err)
	}
	Normalize(raw)
	if b, err := EncodeMessage(raw); err != nil || !bytes.HasPrefix(b, []byte{0x0a, 0x00}) {
		t.Fatalf("after Normalize: %x, %v", b, err)
	}
}

func TestEncodeFieldLayout(t *testing.T) {
	t.Parallel()
	m := NewMessage("/a/1/b/c", []byte("hi"), -1)
	m.Meta = []byte{1}
	m.Version = proto.Uint32(0)
	m.Ephemeral = proto.Bool(true)
	m.RateLimitProof = []byte{9}
	b, err := EncodeMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	want := []protowire.Number{1, 2, 3, 10, 11, 21, 31}
	got := fieldNumbers(t, b)
	if len(got) != len(want) {
		t.Fatalf("fields %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("fields %v, want %v", got, want)
		}
	}
	// Timestamp is sint64 (zigzag): -1 encodes as varint 1 after tag 0x50.
	if !bytes.Contains(b, []byte{0x50, 0x01}) {
		t.Fatalf("timestamp not zigzag-encoded: %x", b)
	}
}

func TestDecodeMessageRules(t *testing.T) {
	t.Parallel()
	// Field 2 only (as js-waku sends an empty payload): payload reads as empty.
	b := protowire.AppendTag(nil, 2, protowire.BytesType)
	b = protowire.AppendString(b, "/a/1/b/c")
	m, err := DecodeMessage(b)
	if err != nil || m.Payload == nil || len(m.Payload) != 0 {
		t.Fatalf("DecodeMessage(field 2 only) = %v, %v", m, err)
	}
	again, err := EncodeMessage(m)
	if err != nil || !bytes.HasPrefix(again, []byte{0x0a, 0x00}) {
		t.Fatalf("re-encode = %x, %v", again, err)
	}

	meta65 := NewMessage("/a/1/b/c", nil, 0)
	meta65.Meta = make([]byte, 65)
	enc65, _ := proto.Marshal(meta65)

	big := NewMessage("/a/1/b/c", make([]byte, MaxMessageSize), 0)
	encBig, _ := proto.Marshal(big)

	tests := []struct {
		name string
		in   []byte
		want error
		msg  string
	}{
		{"no content topic", []byte{0x0a, 0x01, 'x'}, ErrMissingField, "content_topic"},
		{"empty content topic", []byte{0x0a, 0x00, 0x12, 0x00}, ErrInvalidField, "content_topic is empty"},
		{"meta 65 bytes", enc65, ErrInvalidField, "meta is 65 bytes, at most 64"},
		{"over 150 KiB", encBig, ErrTooLarge, "at most 153600"},
		{"truncated", []byte{0x0a, 0x05, 'x'}, ErrMalformed, "WakuMessage"},
		{"wrong wire type", []byte{0x12, 0x80}, ErrMalformed, "WakuMessage"},
	}
	for _, tt := range tests {
		_, err := DecodeMessage(tt.in)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: error %v, want %v containing %q", tt.name, err, tt.want, tt.msg)
		}
	}
	if _, err := EncodeMessage(meta65); !errors.Is(err, ErrInvalidField) {
		t.Errorf("EncodeMessage(meta 65) = %v", err)
	}
	if _, err := EncodeMessage(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("EncodeMessage(big) = %v", err)
	}
	// The largest payload that still fits encodes.
	fit := NewMessage("/a/1/b/c", make([]byte, MaxMessageSize-20), 0)
	if _, err := EncodeMessage(fit); err != nil {
		t.Errorf("EncodeMessage(fits) = %v", err)
	}
}

func TestGossipMessageID(t *testing.T) {
	t.Parallel()
	data, _ := EncodeMessage(NewMessage("/a/1/b/c", []byte("x"), 5))
	want := sha256.Sum256(data)
	if got := GossipMessageID(data); got != string(want[:]) {
		t.Fatalf("GossipMessageID = %x, want %x", got, want)
	}
}

func BenchmarkHash(b *testing.B) {
	m := NewMessage("/toychat/2/huilong/proto", make([]byte, 1024), 1700000000000000000)
	b.SetBytes(1024)
	for b.Loop() {
		Hash("/waku/2/rs/1/3", m)
	}
}

func BenchmarkEncodeMessage(b *testing.B) {
	m := NewMessage("/toychat/2/huilong/proto", make([]byte, 1024), 1700000000000000000)
	m.RateLimitProof = make([]byte, 128+6*32)
	for b.Loop() {
		if _, err := EncodeMessage(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeMessage(b *testing.B) {
	m := NewMessage("/toychat/2/huilong/proto", make([]byte, 1024), 1700000000000000000)
	m.RateLimitProof = make([]byte, 128+6*32)
	enc, _ := EncodeMessage(m)
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, err := DecodeMessage(enc); err != nil {
			b.Fatal(err)
		}
	}
}
