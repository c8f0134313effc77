package interop

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/lightpush"
	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/node"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/lightpushpb"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// lightPushNet is an rlnd node serving lightpush with proof as a service
// (svc), a second rlnd relay node meshed with it (peer), and a js-waku light
// node connected to svc over websocket.
type lightPushNet struct {
	svc, peer *node.Node
	cfg       *config.Config
	lp        *lightpush.Service
	js        *WakuNode
	started   *WakuStarted
	topic     string // contentTopic's pubsub topic
	shard     uint32
}

// newLightPushNet builds a lightPushNet on cluster 42 with 8 shards; js-waku
// is configured with contentTopic's shard and extraShards.
func newLightPushNet(t *testing.T, ctx context.Context, contentTopic string, extraShards ...uint32) *lightPushNet {
	t.Helper()
	return newLightPushNetWith(t, ctx, contentTopic, nil, extraShards...)
}

// newLightPushNetWith is newLightPushNet with edit applied to the lightpush
// service's configuration.
func newLightPushNetWith(t *testing.T, ctx context.Context, contentTopic string, edit func(*lightpush.ServiceConfig), extraShards ...uint32) *lightPushNet {
	t.Helper()
	const cluster, numShards = 42, 8
	prover, verifier := loadEngine(t)
	// The service's membership, the only one in the group.
	member := relay.Member{Identity: rln.IdentityFromSeed([]byte("interop lightpush member")), Index: 0, UserMessageLimit: 20}
	leaves := []fr.Element{member.Identity.RateCommitment(member.UserMessageLimit)}
	newNode := func() (*node.Node, *config.Config, membership.Group) {
		group, err := membership.NewStaticGroup(leaves, 0)
		if err != nil {
			t.Fatal(err)
		}
		nd, cfg := startRlndNode(t, cluster, numShards, group, verifier)
		return nd, cfg, group
	}
	n := &lightPushNet{}
	var svcGroup membership.Group
	n.svc, n.cfg, svcGroup = newNode()
	n.peer, _, _ = newNode()
	var err error
	if n.topic, err = n.svc.Relay().TopicFor(contentTopic); err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Sscanf(n.topic, fmt.Sprintf("/waku/2/rs/%d/%%d", cluster), &n.shard); err != nil {
		t.Fatal(err)
	}

	// The relay peer: the service refuses to push with no one to relay to.
	meshNodes(t, ctx, n.peer, n.svc, n.topic)

	// The service goes up before js-waku dials: js-waku learns a peer's
	// protocols from identify when it connects, and does not take
	// identify pushes.
	signal, err := rln.ParseSignalMode(n.cfg.RLN.Signal)
	if err != nil {
		t.Fatal(err)
	}
	sc := lightpush.ServiceConfig{
		Relay:       n.svc.Relay(),
		Prover:      prover,
		Group:       svcGroup,
		Memberships: []relay.Member{member},
		EpochPeriod: n.cfg.RLN.EpochPeriod,
		Signal:      signal,
		SlotsPath:   filepath.Join(t.TempDir(), "slots"),
		Registerer:  prometheus.NewRegistry(),
	}
	if edit != nil {
		edit(&sc)
	}
	n.lp, err = lightpush.NewService(n.svc.Host().Libp2p(), sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.lp.Close)

	n.js = startWaku(t)
	n.started, err = n.js.Start(ctx, WakuStart{
		Peer: wsAddr(t, n.svc.Host()), ClusterID: cluster, Shards: append([]uint32{n.shard}, extraShards...), Mode: "light", WaitFor: "lightpush-peer",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("js-waku waited on %+v; our protocols as identified: %v", n.started.Waited, n.started.RemoteProtocols)
	if !slices.Contains(n.started.RemoteProtocols, string(lightpush.ProtocolV2)) {
		t.Fatalf("js-waku did not identify %s among %v", lightpush.ProtocolV2, n.started.RemoteProtocols)
	}
	return n
}

// pushDelivered has js-waku push payload (no proof) with the sdk's send and
// checks js-waku's result and exchange, then that the relay peer's sub
// delivers the message from the service with a proof of its epoch and
// otherwise js-waku's bytes.
func (n *lightPushNet) pushDelivered(t *testing.T, ctx context.Context, sub *relay.Subscription, contentTopic, payload string) {
	t.Helper()
	svcID := n.svc.Host().ID()
	pushed, err := n.js.LightPush(ctx, WakuLightPush{ContentTopic: contentTopic, PubsubTopic: n.topic, Payload: []byte(payload), TimestampMs: time.Now().UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("push %q: ok %v in %d ms, recipients %v, failures %v, info %v", payload, pushed.OK, pushed.Ms, pushed.Recipients, pushed.Failures, deref(pushed.Info))
	if !pushed.OK || !slices.Equal(pushed.Recipients, []string{svcID.String()}) || len(pushed.Failures) != 0 {
		t.Fatalf("push %q: %+v", payload, pushed)
	}
	if !pushed.Connected {
		t.Errorf("push %q: js-waku hung up on the service", payload)
	}
	sent, err := wire.DecodeMessage(pushed.Wire)
	if err != nil {
		t.Fatal(err)
	}
	if sent.RateLimitProof != nil || sent.GetTimestamp() != pushed.TimestampMs*1_000_000 {
		t.Fatalf("push %q: js-waku's message %v", payload, sent)
	}

	// What js-waku wrote and read: one PushRpc each way, the answer's
	// request id echoing the request's (js-waku does not check it).
	if len(pushed.Requests) != 1 || len(pushed.Responses) != 1 {
		t.Fatalf("push %q: requests %+v, responses %+v", payload, pushed.Requests, pushed.Responses)
	}
	var req lightpushpb.PushRPC
	if err := proto.Unmarshal(pushed.Requests[0].RPC, &req); err != nil {
		t.Fatal(err)
	}
	if req.GetRequestId() == "" || req.GetRequest().GetPubsubTopic() != n.topic || !proto.Equal(req.GetRequest().GetMessage(), sent) || req.GetResponse() != nil {
		t.Fatalf("push %q: js-waku's request %v", payload, &req)
	}
	resp := pushed.Responses[0]
	if resp.RequestID != req.GetRequestId() || !resp.HasResponse || resp.IsSuccess == nil || !*resp.IsSuccess {
		t.Fatalf("push %q: response %+v to request %q", payload, resp, req.GetRequestId())
	}

	// The message reaches the relay peer with the service's proof.
	var got *messagepb.WakuMessage
	for got == nil {
		select {
		case env := <-sub.C():
			if env.Local || !bytes.Equal(env.Message.GetPayload(), []byte(payload)) {
				continue
			}
			if env.From != svcID || env.PubsubTopic != n.topic {
				t.Fatalf("push %q: delivered from %s on %s", payload, env.From, env.PubsubTopic)
			}
			got = env.Message
		case <-ctx.Done():
			t.Fatalf("push %q: the relay peer did not get the message; service stats %+v, peer stats %+v",
				payload, n.svc.Relay().PubSub().Stats(), n.peer.Relay().PubSub().Stats())
		}
	}
	p, err := rln.UnmarshalRateLimitProof(got.RateLimitProof)
	if err != nil {
		t.Fatalf("push %q: delivered proof: %v", payload, err)
	}
	if want := rln.Epoch(time.UnixMilli(pushed.TimestampMs), n.cfg.RLN.EpochPeriod); p.Epoch != want {
		t.Errorf("push %q: proof for epoch %d, message of epoch %d", payload, p.Epoch, want)
	}
	stripped := proto.Clone(got).(*messagepb.WakuMessage)
	stripped.RateLimitProof = nil
	if !proto.Equal(stripped, sent) {
		t.Fatalf("push %q: delivered %v, js-waku pushed %v", payload, stripped, sent)
	}
}

// A js-waku light node (createLightNode on its default stack: websocket,
// noise, mplex) pushes messages without an RLN proof to an rlnd node that
// serves lightpush with proof as a service. js-waku 0.0.27 speaks only
// /vac/waku/lightpush/2.0.0-beta1. The service attaches proofs and
// publishes, and a second rlnd node, whose RLN validator judges them,
// delivers the messages: js-waku's bytes plus the proof, nothing else
// changed.
func TestJSWakuLightPush(t *testing.T) {
	t.Parallel()
	const contentTopic = "/rlnd/1/interop-lightpush/proto"
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	n := newLightPushNet(t, ctx, contentTopic)
	sub := n.peer.Relay().Subscribe()
	defer sub.Cancel()
	// The first push runs on the stream js-waku opened ahead of use when
	// identify listed the protocol, the second on the one it opened after
	// the first push.
	n.pushDelivered(t, ctx, sub, contentTopic, "light push from js-waku")
	n.pushDelivered(t, ctx, sub, contentTopic, "second light push")
	t.Logf("%d proofs left this epoch", n.lp.SlotsLeft())
}

// js-waku opens a lightpush stream ahead of use (after identify, and after
// each push) and sends its next push on it whenever that comes. A push
// after the stream sat idle longer than the service's per-request timeout
// must still work: the service may not answer, close or reset a stream on
// which no request has begun, or js-waku fails the push and hangs up.
func TestJSWakuLightPushAfterIdle(t *testing.T) {
	t.Parallel()
	const contentTopic = "/rlnd/1/interop-lightpush-idle/proto"
	const idle = 40 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), idle+120*time.Second)
	defer cancel()
	n := newLightPushNet(t, ctx, contentTopic)
	sub := n.peer.Relay().Subscribe()
	defer sub.Cancel()
	n.pushDelivered(t, ctx, sub, contentTopic, "before the pause")
	// Deliberate: the stream js-waku opened ahead of use must sit idle for
	// longer than the service's request timeout; wall time must pass.
	time.Sleep(idle)
	n.pushDelivered(t, ctx, sub, contentTopic, "after the pause")
}

// What js-waku makes of a refusal. Its failure is only "Remote peer
// rejected" (the info string stays in its log; the harness reads it off the
// wire), and its sdk then drops the service: it hangs up and leaves the peer
// out for 30 s, so the next push finds no peer and reports neither success
// nor failure. LightPushCore (Direct) keeps the connection.
func TestJSWakuLightPushRejected(t *testing.T) {
	t.Parallel()
	const contentTopic = "/rlnd/1/interop-lightpush-rejected/proto"
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	n := newLightPushNet(t, ctx, contentTopic)
	svcID := n.svc.Host().ID().String()
	rejected := func(what string, pushed *WakuLightPushed) {
		t.Helper()
		t.Logf("%s: failures %v, info %v, connected %v", what, pushed.Failures, deref(pushed.Info), pushed.Connected)
		if pushed.OK || len(pushed.Recipients) != 0 || len(pushed.Failures) != 1 ||
			pushed.Failures[0].Error != "Remote peer rejected" || pushed.Failures[0].PeerID != svcID {
			t.Fatalf("%s: %+v", what, pushed)
		}
		if len(pushed.Responses) != 1 || pushed.IsSuccess == nil || *pushed.IsSuccess || pushed.Info == nil || *pushed.Info == "" {
			t.Fatalf("%s: responses %+v", what, pushed.Responses)
		}
	}

	// A shard the service does not relay (421), past the sdk's check of
	// the node's own topics.
	const unrelayed = "/waku/2/rs/42/9"
	pushed, err := n.js.LightPush(ctx, WakuLightPush{ContentTopic: contentTopic, PubsubTopic: unrelayed, Payload: []byte("x"), Direct: true})
	if err != nil {
		t.Fatal(err)
	}
	rejected("direct push on "+unrelayed, pushed)
	if !strings.Contains(*pushed.Info, unrelayed) || !pushed.Connected {
		t.Fatalf("direct push on %s: info %q, connected %v", unrelayed, *pushed.Info, pushed.Connected)
	}

	// A message a minute old (420), with the sdk.
	pushed, err = n.js.LightPush(ctx, WakuLightPush{ContentTopic: contentTopic, PubsubTopic: n.topic, Payload: []byte("stale"), TimestampMs: time.Now().Add(-time.Minute).UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	rejected("stale push", pushed)
	info, err := n.js.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.LightPushPeers) != 0 {
		t.Fatalf("js-waku still pushes to %v after a refusal", info.LightPushPeers)
	}
	pushed, err = n.js.LightPush(ctx, WakuLightPush{ContentTopic: contentTopic, PubsubTopic: n.topic, Payload: []byte("fresh")})
	if err != nil {
		t.Fatal(err)
	}
	if pushed.OK || len(pushed.Recipients) != 0 || len(pushed.Failures) != 0 || len(pushed.Requests) != 0 {
		t.Fatalf("push right after a refusal: %+v", pushed)
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
