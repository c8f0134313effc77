package interop

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	ma "github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/p2p"
	"github.com/rlnd/rlnd/p2p/mplex"
	"github.com/rlnd/rlnd/relay/pubsub"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// relayProtocols are the relay protocol ids an rlnd node will serve.
var relayProtocols = []protocol.ID{pubsub.WakuRelayID, pubsub.Meshsub12ID, pubsub.Meshsub11ID}

// rpcSeen is one inbound relay stream and the first RPC frame read on it.
type rpcSeen struct {
	protocol protocol.ID
	rpc      *gossipsubpb.RPC
	err      error
}

// relayTap stands in for the gossipsub driver: it accepts relay streams,
// reports every RPC frame read, and can write RPCs to a peer.
type relayTap struct {
	h   *p2p.Host
	rpc chan rpcSeen
	mu  sync.Mutex
	out map[peer.ID]network.Stream
}

func newRelayTap(h *p2p.Host) *relayTap {
	t := &relayTap{h: h, rpc: make(chan rpcSeen, 64), out: map[peer.ID]network.Stream{}}
	for _, id := range relayProtocols {
		h.Libp2p().SetStreamHandler(id, t.handle)
	}
	return t
}

func (t *relayTap) handle(s network.Stream) {
	go func() {
		defer s.Reset()
		for {
			frame, err := wire.ReadFrame(s, wire.MaxFrameSize)
			if err != nil {
				return // js-waku's unused dial stream ends here too
			}
			var rpc gossipsubpb.RPC
			err = proto.Unmarshal(frame, &rpc)
			select {
			case t.rpc <- rpcSeen{protocol: s.Protocol(), rpc: &rpc, err: err}:
			default:
			}
		}
	}()
}

// send writes one RPC to p on our outbound relay stream.
func (t *relayTap) send(ctx context.Context, p peer.ID, rpc *gossipsubpb.RPC) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.out[p]
	if s == nil {
		var err error
		if s, err = t.h.Libp2p().NewStream(ctx, p, relayProtocols...); err != nil {
			return err
		}
		t.out[p] = s
	}
	b, err := proto.Marshal(rpc)
	if err != nil {
		return err
	}
	return wire.WriteFrame(s, b)
}

// next returns the next RPC accepted by match.
func (t *relayTap) next(tb testing.TB, what string, match func(rpcSeen) bool) rpcSeen {
	tb.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case r := <-t.rpc:
			if r.err != nil {
				tb.Fatalf("undecodable RPC frame on %s: %v", r.protocol, r.err)
			}
			if match(r) {
				return r
			}
		case <-timeout:
			tb.Fatalf("no %s within 30 s", what)
		}
	}
}

func wsAddr(tb testing.TB, h *p2p.Host) string {
	tb.Helper()
	for _, a := range h.Addrs() {
		if _, err := a.ValueForProtocol(ma.P_WS); err == nil {
			return a.String()
		}
	}
	tb.Fatalf("no websocket address in %v", h.Addrs())
	return ""
}

// startWaku starts waku.mjs; a missing node or node_modules fails the test.
func startWaku(tb testing.TB) *WakuNode {
	tb.Helper()
	dir, err := Dir()
	if err != nil {
		tb.Fatal(err)
	}
	n, err := StartWaku(context.Background(), dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := n.Close(); err != nil {
			tb.Logf("waku.mjs: %v", err)
		}
		if tb.Failed() {
			tb.Logf("waku.mjs stderr:\n%s", n.Stderr())
		}
	})
	return n
}

type admitted struct {
	p  peer.ID
	md p2p.PeerMetadata
}

func newRlndHost(tb testing.TB, cluster uint16, shards []uint32) (*p2p.Host, chan admitted, chan error) {
	tb.Helper()
	ready := make(chan admitted, 4)
	rejected := make(chan error, 4)
	h, err := p2p.NewHost(p2p.HostConfig{
		ClusterID:      cluster,
		Shards:         func() []uint32 { return shards },
		Listen:         []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/0/ws"},
		OnPeerReady:    func(p peer.ID, md p2p.PeerMetadata) { ready <- admitted{p, md} },
		OnPeerRejected: func(p peer.ID, err error) { rejected <- err },
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close() })
	return h, ready, rejected
}

// A js-waku relay node on its default stack connects to an rlnd host over
// websocket: the connection runs noise and mplex, metadata goes both ways,
// and js-waku opens its relay stream and subscribes first thing.
func TestJSWakuRelayNodeConnects(t *testing.T) {
	t.Parallel()
	shards := []uint32{0, 1, 2, 3, 4, 5, 6, 7}
	h, ready, rejected := newRlndHost(t, 42, shards)
	tap := newRelayTap(h)
	js := startWaku(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	started, err := js.Start(ctx, WakuStart{
		Peer:          wsAddr(t, h),
		ClusterID:     42,
		Shards:        []uint32{0, 3},
		Mode:          "relay",
		WaitFor:       "relay-peer",
		QueryMetadata: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("js-waku waited on %+v (dial error: %v)", started.Waited, started.DialError)
	jsID, err := peer.Decode(started.PeerID)
	if err != nil {
		t.Fatal(err)
	}

	// Our side: mplex and noise over websocket, as js-waku's default.
	conns := h.Libp2p().Network().ConnsToPeer(jsID)
	if len(conns) != 1 {
		t.Fatalf("%d connections to js-waku, want 1", len(conns))
	}
	st := conns[0].ConnState()
	if st.StreamMultiplexer != mplex.ID || st.Security != noise.ID || st.Transport != "websocket" {
		t.Fatalf("connection state %+v, want %s, %s, websocket", st, mplex.ID, noise.ID)
	}
	// js-waku's side agrees.
	if len(started.Connections) != 1 || started.Connections[0].Multiplexer != mplex.ID || started.Connections[0].Encryption != string(noise.ID) {
		t.Fatalf("js-waku connections %+v", started.Connections)
	}

	// Our query of js-waku: it serves metadata with its cluster and shards.
	select {
	case a := <-ready:
		if a.p != jsID || a.md.ClusterID != 42 || !slices.Equal(a.md.Shards, []uint32{0, 3}) {
			t.Fatalf("admitted %s with %+v, want js-waku with cluster 42 shards [0 3]", a.p, a.md)
		}
	case err := <-rejected:
		t.Fatalf("js-waku rejected: %v", err)
	case <-ctx.Done():
		t.Fatal("js-waku not admitted")
	}
	// js-waku's query of us decodes our answer (unpacked shards), and its
	// peer store has our shards (from our request or its query).
	if q := started.MetadataQuery; q == nil || q.Error != nil || q.ShardInfo == nil ||
		q.ShardInfo.ClusterID != 42 || !slices.Equal(q.ShardInfo.Shards, shards) {
		t.Fatalf("js-waku's metadata query: %+v", q)
	}
	info, err := js.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.RemoteShardInfo == nil || info.RemoteShardInfo.ClusterID != 42 || !slices.Equal(info.RemoteShardInfo.Shards, shards) {
		t.Fatalf("js-waku's peer store has our shards as %+v", info.RemoteShardInfo)
	}
	if info.RemoteAgent != p2p.DefaultUserAgent || !slices.Contains(info.RemoteProtocols, string(p2p.ProtocolMetadata)) ||
		!slices.Contains(info.RemoteProtocols, string(pubsub.WakuRelayID)) {
		t.Fatalf("js-waku identified us as %q with %v", info.RemoteAgent, info.RemoteProtocols)
	}

	// The first RPC js-waku sends on its relay stream: its subscriptions.
	first := tap.next(t, "subscription RPC", func(r rpcSeen) bool { return len(r.rpc.GetSubscriptions()) > 0 })
	if first.protocol != pubsub.WakuRelayID {
		t.Errorf("js-waku's relay stream speaks %s, want %s", first.protocol, pubsub.WakuRelayID)
	}
	var topics []string
	for _, s := range first.rpc.GetSubscriptions() {
		if !s.GetSubscribe() {
			t.Errorf("unsubscribe from %s in the first RPC", s.GetTopicid())
		}
		topics = append(topics, s.GetTopicid())
	}
	slices.Sort(topics)
	if want := []string{"/waku/2/rs/42/0", "/waku/2/rs/42/3"}; !slices.Equal(topics, want) {
		t.Fatalf("js-waku subscribed to %v, want %v", topics, want)
	}
	if len(first.rpc.GetPublish()) != 0 || first.rpc.GetControl() != nil {
		t.Errorf("first RPC carries more than subscriptions: %v", first.rpc)
	}
	t.Logf("first relay RPC from js-waku on %s: %v", first.protocol, first.rpc)
}

// The bytes js-waku publishes for a message with an RLN proof: the tap
// subscribes by hand (no gossipsub router yet) and reads js-waku's publish.
func TestJSWakuPublishesRateLimitProof(t *testing.T) {
	t.Parallel()
	h, ready, _ := newRlndHost(t, 42, []uint32{0})
	tap := newRelayTap(h)
	js := startWaku(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	started, err := js.Start(ctx, WakuStart{Peer: wsAddr(t, h), ClusterID: 42, Shards: []uint32{0}, WaitFor: "relay-peer"})
	if err != nil {
		t.Fatal(err)
	}
	jsID, _ := peer.Decode(started.PeerID)
	<-ready
	const topic = "/waku/2/rs/42/0"
	const contentTopic = "/rlnd/1/interop/proto"

	// Without a subscription from us js-waku refuses to publish.
	sent, err := js.Send(ctx, WakuSend{ContentTopic: contentTopic, PubsubTopic: topic, Payload: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	if sent.OK || sent.PublishError != "PublishError.NoPeersSubscribedToTopic" {
		t.Fatalf("send before any subscription: %+v, want PublishError.NoPeersSubscribedToTopic", sent)
	}

	if err := tap.send(ctx, jsID, &gossipsubpb.RPC{Subscriptions: []*gossipsubpb.SubOpts{{Subscribe: proto.Bool(true), Topicid: proto.String(topic)}}}); err != nil {
		t.Fatal(err)
	}
	// A canonical RateLimitProof: fields 1..7, none empty.
	rlp := &messagepb.RateLimitProof{
		Proof: bytes.Repeat([]byte{1}, 128), MerkleRoot: bytes.Repeat([]byte{2}, 32), Epoch: bytes.Repeat([]byte{3}, 32),
		ShareX: bytes.Repeat([]byte{4}, 32), ShareY: bytes.Repeat([]byte{5}, 32), Nullifier: bytes.Repeat([]byte{6}, 32),
		RlnIdentifier: bytes.Repeat([]byte{7}, 32),
	}
	rlpBytes, err := proto.MarshalOptions{Deterministic: true}.Marshal(rlp)
	if err != nil {
		t.Fatal(err)
	}
	if err := js.Wait(ctx, "subscribed", 0); err != nil {
		t.Fatal(err)
	}
	const ms = int64(1_700_000_000_123)
	sent, err = js.Send(ctx, WakuSend{ContentTopic: contentTopic, PubsubTopic: topic, Payload: []byte("hello rlnd"), TimestampMs: ms, RateLimitProof: rlpBytes})
	if err != nil {
		t.Fatal(err)
	}
	if !sent.OK {
		t.Fatalf("send after our subscription: %+v", sent)
	}
	publish := tap.next(t, "publish", func(r rpcSeen) bool { return len(r.rpc.GetPublish()) > 0 }).rpc.GetPublish()[0]
	if !slices.Equal(sent.Recipients, []string{h.ID().String()}) {
		t.Errorf("recipients %v, want us", sent.Recipients)
	}
	if publish.GetTopic() != topic || !bytes.Equal(publish.GetData(), sent.Wire) {
		t.Fatalf("published %v, want data %x on %s", publish, sent.Wire, topic)
	}
	if publish.From != nil || publish.Seqno != nil || publish.Signature != nil || publish.Key != nil {
		t.Errorf("StrictNoSign violated: %v", publish)
	}
	if id := hex.EncodeToString([]byte(wire.GossipMessageID(publish.GetData()))); id != sent.MsgIDHex {
		t.Errorf("js-waku's message id %s, ours %s", sent.MsgIDHex, id)
	}
	m, err := wire.DecodeMessage(publish.GetData())
	if err != nil {
		t.Fatal(err)
	}
	if m.GetContentTopic() != contentTopic || string(m.GetPayload()) != "hello rlnd" || m.GetTimestamp() != ms*1_000_000 ||
		!bytes.Equal(m.GetRateLimitProof(), rlpBytes) || m.Version == nil || m.GetVersion() != 0 || m.Ephemeral == nil || m.GetEphemeral() {
		t.Fatalf("decoded %v", m)
	}
	t.Logf("js-waku's WakuMessage on the wire: %x", publish.GetData())
}

// Non-canonical proof bytes are refused by the harness (js-waku would
// re-encode them differently).
func TestJSWakuRefusesNonCanonicalProof(t *testing.T) {
	t.Parallel()
	h, _, _ := newRlndHost(t, 42, []uint32{0})
	newRelayTap(h)
	js := startWaku(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := js.Start(ctx, WakuStart{Peer: wsAddr(t, h), ClusterID: 42, Shards: []uint32{0}, WaitFor: "connection"}); err != nil {
		t.Fatal(err)
	}
	// Field 2 before field 1.
	bad := []byte{0x12, 0x01, 0x02, 0x0a, 0x01, 0x01}
	_, err := js.Send(ctx, WakuSend{ContentTopic: "/rlnd/1/x/proto", Payload: []byte("x"), RateLimitProof: bad})
	var werr *WakuError
	if !errors.As(err, &werr) {
		t.Fatalf("send with non-canonical proof: %v, want a WakuError", err)
	}
}

// A js-waku node on another cluster is disconnected by our metadata check;
// js-waku itself never checks (a relay node does not query metadata).
func TestJSWakuOtherClusterRejected(t *testing.T) {
	t.Parallel()
	h, ready, rejected := newRlndHost(t, 42, []uint32{0})
	newRelayTap(h)
	js := startWaku(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	started, err := js.Start(ctx, WakuStart{Peer: wsAddr(t, h), ClusterID: 43, Shards: []uint32{0}, WaitFor: "connection"})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-rejected:
		if !errors.Is(err, p2p.ErrClusterMismatch) {
			t.Fatalf("rejected with %v, want %v", err, p2p.ErrClusterMismatch)
		}
	case a := <-ready:
		t.Fatalf("admitted js-waku on cluster 43: %+v", a.md)
	case <-ctx.Done():
		t.Fatal("js-waku on cluster 43 neither admitted nor rejected")
	}
	for ev := range js.Events() {
		if ev.Event == "peer:disconnect" && ev.PeerID == h.ID().String() {
			break
		}
	}
	jsID, _ := peer.Decode(started.PeerID)
	if reason, ok := h.Rejected(jsID); !ok || !errors.Is(reason, p2p.ErrClusterMismatch) {
		t.Fatalf("Rejected(js-waku) = %v, %v", reason, ok)
	}
}

// A js-waku light node (createLightNode) is admitted too; it serves
// metadata with its cluster and shards.
func TestJSWakuLightNodeConnects(t *testing.T) {
	t.Parallel()
	h, ready, rejected := newRlndHost(t, 42, []uint32{0, 1})
	tap := newRelayTap(h)
	js := startWaku(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	started, err := js.Start(ctx, WakuStart{Peer: wsAddr(t, h), ClusterID: 42, Shards: []uint32{1}, Mode: "light", QueryMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-ready:
		if a.md.ClusterID != 42 || !slices.Equal(a.md.Shards, []uint32{1}) {
			t.Fatalf("admitted with %+v, want cluster 42 shards [1]", a.md)
		}
	case err := <-rejected:
		t.Fatalf("light node rejected: %v", err)
	case <-ctx.Done():
		t.Fatal("light node not admitted")
	}
	if q := started.MetadataQuery; q == nil || q.Error != nil || q.ShardInfo == nil || q.ShardInfo.ClusterID != 42 {
		t.Fatalf("light node's metadata query: %+v", q)
	}
	info, err := js.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var streams []WakuStream
	for _, c := range info.Connections {
		streams = append(streams, c.Streams...)
	}
	t.Logf("light node: waited %+v, streams %+v, gossipsub %+v", started.Waited, streams, info.Gossipsub)
	// js-waku opened metadata streams ahead of use; its next query runs
	// on one of them, which our handler has kept open.
	if q, err := js.QueryMetadata(ctx); err != nil || q.Error != nil || q.ShardInfo == nil || q.ShardInfo.ClusterID != 42 {
		t.Fatalf("second metadata query: %+v, %v", q, err)
	}
	select {
	case r := <-tap.rpc:
		t.Logf("light node sent a relay RPC on %s: %v", r.protocol, r.rpc)
	default:
	}
}
