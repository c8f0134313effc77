// Package api holds the JSON types of rlnd's REST API, which follows
// nwaku's: the shapes of its requests and answers, and their conversion to
// and from the wire's WakuMessage. The server (package rest) and the Go
// client (package rest/client) share them.
package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// ErrBadMessage wraps what is wrong with a message in a request.
var ErrBadMessage = errors.New("bad message")

// Message is a WakuMessage in nwaku's REST JSON: payload, meta and proof
// in standard base64, the timestamp in Unix nanoseconds.
type Message struct {
	Payload      string  `json:"payload"`
	ContentTopic string  `json:"contentTopic"`
	Version      *uint32 `json:"version,omitempty"`
	Timestamp    *int64  `json:"timestamp,omitempty"`
	Meta         string  `json:"meta,omitempty"`
	Ephemeral    *bool   `json:"ephemeral,omitempty"`
	// Proof is the serialized RateLimitProof (field 21): set on messages
	// the node hands out; on a message given to publish, a proof made by
	// the client, used instead of one from the node's membership.
	Proof string `json:"proof,omitempty"`
}

// FromWaku converts a WakuMessage to its JSON form.
func FromWaku(m *messagepb.WakuMessage) Message {
	out := Message{
		Payload:      base64.StdEncoding.EncodeToString(m.GetPayload()),
		ContentTopic: m.GetContentTopic(),
		Version:      proto.Uint32(m.GetVersion()),
		Timestamp:    proto.Int64(m.GetTimestamp()),
	}
	if len(m.Meta) > 0 {
		out.Meta = base64.StdEncoding.EncodeToString(m.Meta)
	}
	if m.Ephemeral != nil {
		out.Ephemeral = proto.Bool(m.GetEphemeral())
	}
	if len(m.RateLimitProof) > 0 {
		out.Proof = base64.StdEncoding.EncodeToString(m.RateLimitProof)
	}
	return out
}

// ToWaku converts a message from a request to a WakuMessage, checked as
// nwaku checks it: a payload and a content topic are required, base64
// fields must decode. A missing or zero timestamp is left absent (the
// caller stamps it: nowNs); the result passes wire.CheckMessage.
func (m Message) ToWaku(nowNs int64) (*messagepb.WakuMessage, error) {
	if strings.TrimSpace(m.Payload) == "" {
		return nil, fmt.Errorf("%w: field `payload` is missing or empty", ErrBadMessage)
	}
	if strings.TrimSpace(m.ContentTopic) == "" {
		return nil, fmt.Errorf("%w: field `contentTopic` is missing or empty", ErrBadMessage)
	}
	payload, err := decodeBase64("payload", m.Payload)
	if err != nil {
		return nil, err
	}
	out := wire.NewMessage(m.ContentTopic, payload, 0)
	if m.Timestamp != nil && *m.Timestamp != 0 {
		if *m.Timestamp < 0 {
			return nil, fmt.Errorf("%w: field `timestamp` is %d, want Unix nanoseconds > 0", ErrBadMessage, *m.Timestamp)
		}
		out.Timestamp = proto.Int64(*m.Timestamp)
	} else if nowNs != 0 {
		out.Timestamp = proto.Int64(nowNs)
	}
	if m.Version != nil && *m.Version != 0 {
		out.Version = proto.Uint32(*m.Version)
	}
	if m.Meta != "" {
		if out.Meta, err = decodeBase64("meta", m.Meta); err != nil {
			return nil, err
		}
	}
	if m.Ephemeral != nil && *m.Ephemeral {
		out.Ephemeral = proto.Bool(true)
	}
	if m.Proof != "" {
		if out.RateLimitProof, err = decodeBase64("proof", m.Proof); err != nil {
			return nil, err
		}
	}
	if err := wire.CheckMessage(out); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	return out, nil
}

// decodeBase64 reads a base64 field: standard alphabet with padding, as
// nwaku writes it; URL-safe and unpadded forms are taken too.
func decodeBase64(field, s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%w: field `%s` is not base64", ErrBadMessage, field)
}

// DecodeJSON reads one JSON value from b into v; anything after the value
// is an error. Unknown fields are ignored, as nwaku ignores them.
func DecodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}
