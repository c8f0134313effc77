package interop

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/filter"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/lightpush"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/store"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/filterpb"
	"github.com/rlnd/rlnd/wire/pb/lightpushpb"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
	"github.com/rlnd/rlnd/wire/pb/storepb"
)

// The newest js-waku light node (@waku/sdk 0.0.36, light/light.mjs) against
// whole rlnd nodes built by node.New. Its sdk autoshards content topics over
// the cluster's 8 shards itself, so the harness is given no shards.

// newestSDK is the @waku/sdk version light/package-lock.json pins.
const newestSDK = "0.0.36"

// startWakuLight starts light/light.mjs; a missing node_modules (or Node.js
// 22) fails the test.
func startWakuLight(tb testing.TB) *WakuNode {
	tb.Helper()
	dir, err := Dir()
	if err != nil {
		tb.Fatal(err)
	}
	n, err := StartWakuLight(context.Background(), dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := n.Close(); err != nil {
			tb.Logf("light.mjs: %v", err)
		}
		if tb.Failed() {
			tb.Logf("light.mjs stderr:\n%s", n.Stderr())
		}
	})
	return n
}

// startNewest starts the newest js-waku light node connected to n.svc and
// waits for waitFor ("lightpush-peer", "store-peer", "filter-peer": the
// sdk's waitForPeers, i.e. identify listed the protocol and a metadata
// handshake happened).
func (n *serviceNet) startNewest(t *testing.T, ctx context.Context, waitFor string) (*WakuNode, *WakuStarted) {
	t.Helper()
	js := startWakuLight(t)
	started, err := js.Start(ctx, WakuStart{Peer: wsAddr(t, n.svc.Host()), ClusterID: 42, Mode: "light", WaitFor: waitFor})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("js-waku %s waited on %+v; our protocols as identified: %v", started.SDK, started.Waited, started.RemoteProtocols)
	if started.SDK != newestSDK {
		t.Fatalf("light.mjs runs @waku/sdk %q, want %s", started.SDK, newestSDK)
	}
	return js, started
}

// The newest js-waku light node pushes messages without an RLN proof with
// its sdk's light push, which speaks /vac/waku/lightpush/3.0.0 to a peer
// that announces it. rlnd answers 200 with the number of relay peers, attaches
// a proof from its own membership (proof as a service) and relays the
// message; the second rlnd node, whose RLN validator judges it, delivers
// js-waku's bytes plus the proof. The same with v2 (the sdk's useLegacy).
func TestJSWakuNewestLightPush(t *testing.T) {
	t.Parallel()
	const contentTopic = "/rlnd/1/interop-newest-lightpush/proto"
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	n := newServiceNetWith(t, ctx, true)
	js, started := n.startNewest(t, ctx, "lightpush-peer")
	if !hasAll(started.RemoteProtocols, lightpush.ProtocolV3, lightpush.ProtocolV2) {
		t.Fatalf("js-waku did not identify %s and %s among %v", lightpush.ProtocolV3, lightpush.ProtocolV2, started.RemoteProtocols)
	}
	sub := n.pub.Relay().Subscribe()
	defer sub.Cancel()
	// Proofs made, not slots left: the pushes may straddle an epoch
	// boundary (a CI run met one), and slots are counted per epoch.
	proofs := n.svc.Lightpush().ProofsAttached()
	// The first push goes on the stream js-waku opened ahead of use after
	// identify, the second on the one it opened after the first.
	for i, legacy := range []bool{false, false, true} {
		payload := fmt.Sprintf("newest light push %d", i)
		t0 := time.Now()
		pushed, err := js.LightPush(ctx, WakuLightPush{ContentTopic: contentTopic, Payload: []byte(payload), TimestampMs: time.Now().UnixMilli(), UseLegacy: legacy})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("push %q (%s): ok %v in %d ms, status %v %v, relay peers %v, failures %v", payload, pushed.Protocol, pushed.OK, pushed.Ms,
			deref(pushed.StatusCode), deref(pushed.StatusDesc), deref(pushed.RelayPeerCount), pushed.Failures)
		sent := n.checkNewestPush(t, pushed, legacy)
		n.checkRelayed(t, ctx, sub, pushed, sent)
		t.Logf("push %q: relayed by rlnd within %v", payload, time.Since(t0).Round(time.Millisecond))
	}
	if used := n.svc.Lightpush().ProofsAttached() - proofs; used != 3 {
		t.Fatalf("the service used %d proof slots for 3 pushes", used)
	}
}

// checkNewestPush checks js-waku's result of a push and the exchange behind
// it: one request and one response, v3 (LightPushRequest / LightPushResponse
// 200 with a relay peer count) or v2 (PushRpc, is_success), and returns the
// message js-waku pushed.
func (n *serviceNet) checkNewestPush(t *testing.T, pushed *WakuLightPushed, legacy bool) *messagepb.WakuMessage {
	t.Helper()
	svcID := n.svc.Host().ID().String()
	if !pushed.OK || !slices.Equal(pushed.Recipients, []string{svcID}) || len(pushed.Failures) != 0 || !pushed.Connected || pushed.PubsubTopic != n.topic {
		t.Fatalf("push: %+v", pushed)
	}
	sent, err := wire.DecodeMessage(pushed.Wire)
	if err != nil {
		t.Fatal(err)
	}
	if sent.RateLimitProof != nil || sent.GetTimestamp() != pushed.TimestampMs*1_000_000 {
		t.Fatalf("js-waku's message %v", sent)
	}
	if len(pushed.Requests) != 1 || len(pushed.Responses) != 1 {
		t.Fatalf("requests %+v, responses %+v", pushed.Requests, pushed.Responses)
	}
	rq, rs := pushed.Requests[0], pushed.Responses[0]
	if legacy {
		var req lightpushpb.PushRPC
		if pushed.Protocol != "v2" || rq.Protocol != "v2" || proto.Unmarshal(rq.RPC, &req) != nil ||
			req.GetRequest().GetPubsubTopic() != n.topic || !proto.Equal(req.GetRequest().GetMessage(), sent) {
			t.Fatalf("v2 request %+v (%v)", rq, &req)
		}
		if rs.Protocol != "v2" || rs.RequestID != req.GetRequestId() || !rs.HasResponse || rs.IsSuccess == nil || !*rs.IsSuccess {
			t.Fatalf("v2 response %+v to %q", rs, req.GetRequestId())
		}
		return sent
	}
	// v3: the wire as js-waku wrote and read it, decoded here.
	var req lightpushpb.LightPushRequest
	if pushed.Protocol != "v3" || rq.Protocol != "v3" {
		t.Fatalf("pushed with %q (request %+v), want v3", pushed.Protocol, rq)
	}
	if err := proto.Unmarshal(rq.RPC, &req); err != nil {
		t.Fatalf("v3 request: %v", err)
	}
	if req.GetRequestId() == "" || req.PubsubTopic == nil || req.GetPubsubTopic() != n.topic || !proto.Equal(req.GetMessage(), sent) {
		t.Fatalf("v3 request %v", &req)
	}
	var resp lightpushpb.LightPushResponse
	if err := proto.Unmarshal(rs.RPC, &resp); err != nil {
		t.Fatalf("v3 response: %v", err)
	}
	if resp.GetRequestId() != req.GetRequestId() || lightpush.StatusCode(resp.GetStatusCode()) != lightpush.StatusOK ||
		resp.RelayPeerCount == nil || resp.GetRelayPeerCount() < 1 {
		t.Fatalf("v3 response %v to %q", &resp, req.GetRequestId())
	}
	// What js-waku made of it.
	if pushed.StatusCode == nil || *pushed.StatusCode != uint32(lightpush.StatusOK) || pushed.RelayPeerCount == nil || *pushed.RelayPeerCount != resp.GetRelayPeerCount() {
		t.Fatalf("js-waku read status %v, relay peers %v", deref(pushed.StatusCode), deref(pushed.RelayPeerCount))
	}
	return sent
}

// checkRelayed waits for the relay peer (pub) to deliver the pushed
// message from svc, with a proof of the message's epoch and otherwise
// js-waku's bytes.
func (n *serviceNet) checkRelayed(t *testing.T, ctx context.Context, sub *relay.Subscription, pushed *WakuLightPushed, sent *messagepb.WakuMessage) {
	t.Helper()
	svcID := n.svc.Host().ID()
	var got *messagepb.WakuMessage
	for got == nil {
		select {
		case env := <-sub.C():
			if env.Local || !bytes.Equal(env.Message.GetPayload(), sent.GetPayload()) {
				continue
			}
			if env.From != svcID || env.PubsubTopic != n.topic {
				t.Fatalf("%q delivered from %s on %s", sent.GetPayload(), env.From, env.PubsubTopic)
			}
			got = env.Message
		case <-ctx.Done():
			t.Fatalf("the relay peer did not deliver %q; service stats %+v, peer stats %+v",
				sent.GetPayload(), n.svc.Relay().PubSub().Stats(), n.pub.Relay().PubSub().Stats())
		}
	}
	p, err := rln.UnmarshalRateLimitProof(got.RateLimitProof)
	if err != nil {
		t.Fatalf("delivered proof: %v", err)
	}
	if want := rln.Epoch(time.UnixMilli(pushed.TimestampMs), n.cfg.RLN.EpochPeriod); p.Epoch != want {
		t.Fatalf("proof for epoch %d, message of epoch %d", p.Epoch, want)
	}
	stripped := proto.Clone(got).(*messagepb.WakuMessage)
	stripped.RateLimitProof = nil
	if !proto.Equal(stripped, sent) {
		t.Fatalf("delivered %v, js-waku pushed %v", stripped, sent)
	}
}

// The newest js-waku light node subscribes with its sdk's filter client at
// an rlnd node serving filter (and lightpush and store). js-waku's own
// autosharding picks the pubsub topic rlnd's does. Messages with RLN proofs
// published on the rlnd relay network on the subscribed content topics are
// pushed to it and reach its callback, each once and unchanged; a content
// topic of the same shard it did not subscribe to is not pushed. Its ping
// gets 200. After it unsubscribes from one content topic, that one's
// messages stop and the other's go on.
func TestJSWakuNewestFilter(t *testing.T) {
	t.Parallel()
	const subscribed = "/rlnd/1/interop-newest-filter/proto"
	const unsubscribed = "/rlnd/1/interop-newest-filter-other/proto" // same shard
	const sentinel = "/rlnd/1/interop-newest-filter-sentinel/proto"  // same shard
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	n := newServiceNetWith(t, ctx, true)
	svc := n.svc.Filter()
	svcID := n.svc.Host().ID().String()
	js, started := n.startNewest(t, ctx, "filter-peer")
	if !hasAll(started.RemoteProtocols, filter.ProtocolSubscribe) {
		t.Fatalf("js-waku did not identify %s among %v", filter.ProtocolSubscribe, started.RemoteProtocols)
	}
	jsID, err := peer.Decode(started.PeerID)
	if err != nil {
		t.Fatal(err)
	}

	for i, ct := range []string{subscribed, sentinel} {
		sub, err := js.Subscribe(ctx, ct, "") // js-waku's autosharding
		if err != nil {
			t.Fatal(err)
		}
		if !sub.OK || sub.PubsubTopic != n.topic {
			t.Fatalf("subscribe to %s: %+v (rlnd shards it to %s)", ct, sub, n.topic)
		}
		checkFilterExchange(t, "subscribe to "+ct, sub.WakuFilterResult, filterpb.FilterSubscribeRequest_SUBSCRIBE, n.topic, []string{ct}, filter.StatusOK)
		if !svc.Subscribed(jsID) || svc.Criteria() != i+1 {
			t.Fatalf("after subscribing to %s: subscribed %v, %d criteria", ct, svc.Subscribed(jsID), svc.Criteria())
		}
	}
	ping, err := js.FilterPing(ctx, n.topic)
	if err != nil {
		t.Fatal(err)
	}
	if !ping.OK || !slices.Equal(ping.Successes, []string{svcID}) {
		t.Fatalf("ping: %+v", ping)
	}
	checkFilterExchange(t, "ping", ping.WakuFilterResult, filterpb.FilterSubscribeRequest_SUBSCRIBER_PING, "", nil, filter.StatusOK)

	// Messages on both content topics, then a sentinel: when the sentinel
	// has arrived, so has everything published before it.
	seen := &filterSeen{pushes: map[string][]*filterpb.MessagePush{}, messages: map[string][]WakuEvent{}}
	var wanted, unwanted []*messagepb.WakuMessage
	for _, p := range []struct{ ct, payload string }{
		{subscribed, "newest filter 0"}, {unsubscribed, "newest other 0"}, {subscribed, "newest filter 1"},
		{subscribed, "newest filter 2"}, {unsubscribed, "newest other 1"}, {subscribed, "newest filter 3"},
	} {
		m := n.publish(t, ctx, p.ct, p.payload)
		if p.ct == subscribed {
			wanted = append(wanted, m)
		} else {
			unwanted = append(unwanted, m)
		}
	}
	s1 := n.publish(t, ctx, sentinel, "newest sentinel 1")
	seen.readUntil(t, ctx, js, "sentinel 1", func() bool { return len(seen.messages["newest sentinel 1"]) > 0 }, 2*time.Second)
	for _, m := range append(wanted, s1) {
		seen.once(t, n.topic, m)
	}
	for _, m := range unwanted {
		seen.never(t, m)
	}

	// Unsubscribe from the first content topic: js-waku writes its request
	// and does not read the answer, so wait for the service to act.
	unsub, err := js.Unsubscribe(ctx, subscribed)
	if err != nil {
		t.Fatal(err)
	}
	if !unsub.OK {
		t.Fatalf("unsubscribe: %+v", unsub)
	}
	checkFilterExchange(t, "unsubscribe", unsub.WakuFilterResult, filterpb.FilterSubscribeRequest_UNSUBSCRIBE, n.topic, []string{subscribed}, 0)
	testnet.WaitFor(t, 30*time.Second, "the service to drop the unsubscribed criterion", func() bool { return svc.Criteria() == 1 })
	late := n.publish(t, ctx, subscribed, "newest late")
	s2 := n.publish(t, ctx, sentinel, "newest sentinel 2")
	seen.readUntil(t, ctx, js, "sentinel 2", func() bool { return len(seen.messages["newest sentinel 2"]) > 0 }, 2*time.Second)
	seen.once(t, n.topic, s2)
	seen.never(t, late)
	if got, want := svc.Pushed(), uint64(len(wanted)+2); got != want || svc.PushFailures() != 0 || svc.Dropped() != 0 {
		t.Fatalf("service pushed %d (want %d), %d failed, %d dropped", got, want, svc.PushFailures(), svc.Dropped())
	}
	if d := js.DroppedEvents(); d != 0 {
		t.Fatalf("%d harness events dropped", d)
	}
}

// The newest js-waku light node reads an rlnd node's store with its sdk's
// store client: by content topic, paging forward and backward (js-waku pages
// by itself until an empty page), and by message hash, which the sdk sends
// with the pubsub topic (js-waku's buildQueryParams; rlnd answered 400 to
// that before it let a pubsub topic narrow a hash lookup). The lookup
// returns exactly the messages asked for, from two content topics, and
// js-waku's next request (the last hash as cursor, with the same hashes)
// gets an empty page; an unknown hash gets an empty answer.
func TestJSWakuNewestStore(t *testing.T) {
	t.Parallel()
	const mainTopic = "/rlnd/1/interop-newest-store/proto"
	const otherTopic = "/rlnd/1/interop-newest-store-other/proto" // same shard
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	n := newServiceNetWith(t, ctx, true)
	var msgs, others, all []*messagepb.WakuMessage
	for i := range 12 {
		m := n.publish(t, ctx, mainTopic, fmt.Sprintf("newest store %d", i))
		msgs, all = append(msgs, m), append(all, m)
		if i%5 == 2 {
			o := n.publish(t, ctx, otherTopic, fmt.Sprintf("newest other %d", i))
			others, all = append(others, o), append(all, o)
		}
	}
	archive := n.svc.Archive()
	testnet.WaitFor(t, 30*time.Second, "the archive to hold every message", func() bool {
		c, err := archive.Count(ctx)
		return err == nil && c == len(all)
	})
	js, started := n.startNewest(t, ctx, "store-peer")
	if !hasAll(started.RemoteProtocols, store.Protocol) {
		t.Fatalf("js-waku did not identify %s among %v", store.Protocol, started.RemoteProtocols)
	}

	backward := false
	for _, c := range []storeCase{
		{
			name: "forward, pages of 5", q: WakuStoreQuery{ContentTopics: []string{mainTopic}, PageSize: 5},
			topics: []string{mainTopic}, limit: 5, forward: true, pages: pagesOf(msgs, 5, true),
		},
		{
			name: "backward, two content topics, default page size", q: WakuStoreQuery{ContentTopics: []string{mainTopic, otherTopic}, Forward: &backward},
			topics: []string{mainTopic, otherTopic}, forward: false, pages: pagesOf(all, store.DefaultPageSize, false),
		},
	} {
		c.q.Timeout = 30 * time.Second
		res, err := js.Store(ctx, c.q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		t.Logf("%s: ok %v in %d ms, %d messages, pages %v", c.name, res.OK, res.Ms, len(res.Messages), res.Pages)
		checkStoreCase(t, n.topic, c, res)
	}

	// Lookups by hash through the sdk. The wanted messages come back in
	// the store's order (time, then hash).
	lookup := func(name string, want []*messagepb.WakuMessage, hashes ...[]byte) {
		t.Helper()
		var hexes []string
		for _, h := range hashes {
			hexes = append(hexes, hex.EncodeToString(h))
		}
		res, err := js.Store(ctx, WakuStoreQuery{ContentTopics: []string{mainTopic, otherTopic}, MessageHashesHex: hexes, Timeout: 30 * time.Second})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: ok %v in %d ms, %d messages, %d requests, error %q", name, res.OK, res.Ms, len(res.Messages), len(res.Requests), res.QueryError)
		if !res.OK || len(res.Messages) != len(want) {
			t.Fatalf("%s: %+v", name, res)
		}
		for i, m := range want {
			checkStoredMessage(t, fmt.Sprintf("%s: message %d", name, i), n.topic, res.Messages[i], m)
		}
		// One request with the hashes and the pubsub topic, answered with
		// the messages; with any, a second one from the last hash, answered
		// with an empty page.
		pages := 1
		if len(want) > 0 {
			pages = 2
		}
		if len(res.Requests) != pages || len(res.Responses) != pages {
			t.Fatalf("%s: %d requests, %d responses, want %d", name, len(res.Requests), len(res.Responses), pages)
		}
		for i := range pages {
			var req storepb.StoreQueryRequest
			var resp storepb.StoreQueryResponse
			if proto.Unmarshal(res.Requests[i], &req) != nil || proto.Unmarshal(res.Responses[i], &resp) != nil {
				t.Fatalf("%s: exchange %d does not decode", name, i)
			}
			var cursor []byte
			if i > 0 {
				h := wire.Hash(n.topic, want[len(want)-1])
				cursor = h[:]
			}
			if req.GetPubsubTopic() != n.topic || len(req.GetContentTopics()) != 0 || !slices.EqualFunc(req.GetMessageHashes(), hashes, bytes.Equal) ||
				req.TimeStart != nil || req.TimeEnd != nil || !req.GetIncludeData() || !bytes.Equal(req.GetPaginationCursor(), cursor) {
				t.Fatalf("%s: request %d is %v", name, i, &req)
			}
			wantLen := len(want)
			if i > 0 {
				wantLen = 0
			}
			if resp.GetRequestId() != req.GetRequestId() || store.StatusCode(resp.GetStatusCode()) != store.StatusOK || len(resp.GetMessages()) != wantLen {
				t.Fatalf("%s: response %d: status %d %q, %d messages, want %d", name, i, resp.GetStatusCode(), resp.GetStatusDesc(), len(resp.GetMessages()), wantLen)
			}
		}
	}
	hashOf := func(m *messagepb.WakuMessage) []byte { h := wire.Hash(n.topic, m); return h[:] }
	// Asked out of order, from both content topics.
	lookup("hash lookup", []*messagepb.WakuMessage{msgs[1], others[0], msgs[9]}, hashOf(msgs[9]), hashOf(msgs[1]), hashOf(others[0]))
	unknown := bytes.Repeat([]byte{0xab}, 32)
	lookup("unknown hash", nil, unknown)
}

// 50 fresh connections in a row, each from a new js-waku light node (a new
// peer id; the node before it stopped and rlnd saw it go). On each, js-waku
// records rlnd's cluster and shards in its peer store from rlnd's metadata
// request alone (js-waku never queries by itself; its handler answers, then
// reads rlnd's request and stores it as rlnd's shard info): the record names
// cluster 42 and rlnd's shards, the metadata service's handshake record
// agrees, its peer manager takes rlnd for the cluster's pubsub topic, and
// rlnd admitted js-waku. Before rlnd wrote its request only after the
// protocol negotiation, js-waku sometimes read nothing there and recorded
// cluster 0, and then chose no rlnd service at all. RLN is off: no message
// is sent.
func TestJSWakuNewestMetadataCluster(t *testing.T) {
	t.Parallel()
	const rounds = 50
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	dir := t.TempDir()
	svc, cfg := startRlndNode(t, 42, 8, nil, nil, func(c *config.Config) {
		c.RLN.Enabled = false
		c.Store.Enabled, c.Store.DBPath = true, filepath.Join(dir, "store.db")
		c.Filter.Enabled = true
		c.Lightpush.Enabled, c.Lightpush.SlotsFile = true, filepath.Join(dir, "slots")
	})
	var shards []uint32
	for _, s := range cfg.ShardList() {
		shards = append(shards, uint32(s))
	}
	topic, err := svc.Relay().TopicFor("/rlnd/1/interop-newest-metadata/proto")
	if err != nil {
		t.Fatal(err)
	}
	addr := wsAddr(t, svc.Host())
	js := startWakuLight(t)
	var slowest time.Duration
	t0 := time.Now()
	for i := range rounds {
		r0 := time.Now()
		started, err := js.Start(ctx, WakuStart{Peer: addr, ClusterID: 42, Mode: "light", WaitFor: "shard-info", TimeoutMs: 20000})
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		what := fmt.Sprintf("round %d (js-waku %s)", i, started.PeerID)
		rec, hs := started.RemoteShardInfo, started.MetadataHandshake
		if rec == nil || rec.Error != "" || rec.ClusterID != 42 || !slices.Equal(rec.Shards, shards) {
			t.Fatalf("%s: js-waku recorded rlnd as %+v, want cluster 42 shards %v; metadata it read: %+v", what, rec, shards, started.MetadataReads)
		}
		if hs == nil || hs.ClusterID != 42 || !slices.Equal(hs.Shards, shards) {
			t.Fatalf("%s: js-waku's handshake record %+v", what, hs)
		}
		// What it read: rlnd's request, one frame, js-waku's only metadata
		// read (it did not query).
		if len(started.MetadataReads) != 1 || started.MetadataReads[0].Error != nil || started.MetadataReads[0].ClusterID == nil ||
			*started.MetadataReads[0].ClusterID != 42 {
			t.Fatalf("%s: js-waku read %+v", what, started.MetadataReads)
		}
		info, err := js.InfoOn(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		if info.RemoteOnTopic == nil || !*info.RemoteOnTopic {
			t.Fatalf("%s: js-waku's peer manager does not take rlnd for %s (record %+v)", what, topic, info.RemoteShardInfo)
		}
		jsID, err := peer.Decode(started.PeerID)
		if err != nil {
			t.Fatal(err)
		}
		testnet.WaitFor(t, 10*time.Second, what+": rlnd to admit js-waku", func() bool {
			md, ok := svc.Host().Peer(jsID)
			return ok && md.ClusterID == 42
		})
		if err := js.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		testnet.WaitFor(t, 10*time.Second, what+": rlnd to see js-waku disconnect", func() bool {
			return svc.Host().Libp2p().Network().Connectedness(jsID) != network.Connected
		})
		slowest = max(slowest, time.Since(r0))
	}
	t.Logf("%d fresh connections in %v (slowest %v)", rounds, time.Since(t0).Round(time.Millisecond), slowest.Round(time.Millisecond))
}
