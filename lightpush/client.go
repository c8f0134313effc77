package lightpush

import (
	"context"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/lightpushpb"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// Push sends a message to a lightpush v3 service and returns its answer;
// pubsubTopic may be empty (the service derives it by autosharding). The
// returned Hash is the hash of the message as sent (a service attaching a
// proof publishes it with the proof, which the hash does not cover).
func Push(ctx context.Context, h host.Host, p peer.ID, pubsubTopic string, m *messagepb.WakuMessage) (*Response, error) {
	s, err := h.NewStream(ctx, p, ProtocolV3)
	if err != nil {
		return nil, fmt.Errorf("lightpush: open a v3 stream to %s: %w", p, err)
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	} else {
		_ = s.SetDeadline(time.Now().Add(streamTimeout))
	}
	req := &lightpushpb.LightPushRequest{RequestId: newRequestID(), Message: m}
	if pubsubTopic != "" {
		req.PubsubTopic = &pubsubTopic
	}
	if err := wire.WriteMsg(s, req); err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("lightpush: send: %w", err)
	}
	_ = s.CloseWrite()
	var resp lightpushpb.LightPushResponse
	if err := wire.ReadMsg(s, &resp); err != nil {
		return nil, fmt.Errorf("lightpush: read the answer: %w", err)
	}
	if resp.GetRequestId() != req.RequestId {
		return nil, fmt.Errorf("lightpush: answer to request %q, sent %q", resp.GetRequestId(), req.RequestId)
	}
	r := &Response{Status: StatusCode(resp.GetStatusCode()), Description: resp.GetStatusDesc(), RelayPeers: resp.GetRelayPeerCount()}
	if r.Status == StatusOK && pubsubTopic != "" {
		r.Hash = wire.Hash(pubsubTopic, m)
	}
	return r, nil
}

// PushV2 sends a message with lightpush v2-beta1 (go-waku's version). Its
// answer has only success and an info string: the status is 200 on
// success, else 500 with the info as the description.
func PushV2(ctx context.Context, h host.Host, p peer.ID, pubsubTopic string, m *messagepb.WakuMessage) (*Response, error) {
	s, err := h.NewStream(ctx, p, ProtocolV2)
	if err != nil {
		return nil, fmt.Errorf("lightpush: open a v2 stream to %s: %w", p, err)
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(streamTimeout))
	rpc := &lightpushpb.PushRPC{RequestId: newRequestID(), Request: &lightpushpb.PushRequest{PubsubTopic: pubsubTopic, Message: m}}
	if err := wire.WriteMsg(s, rpc); err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("lightpush: send: %w", err)
	}
	_ = s.CloseWrite()
	var resp lightpushpb.PushRPC
	if err := wire.ReadMsg(s, &resp); err != nil {
		return nil, fmt.Errorf("lightpush: read the answer: %w", err)
	}
	if resp.GetResponse() == nil {
		return nil, fmt.Errorf("lightpush: v2 answer without a response")
	}
	if resp.GetResponse().GetIsSuccess() {
		return &Response{Status: StatusOK, Description: resp.GetResponse().GetInfo()}, nil
	}
	return &Response{Status: StatusInternal, Description: resp.GetResponse().GetInfo()}, nil
}
