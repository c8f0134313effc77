package interop

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/filter"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/wire/pb/filterpb"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

// filterSeen collects what reaches a js-waku light node by filter: the
// MessagePushes js-waku decoded off the wire and the messages its
// subscription callbacks got, by payload.
type filterSeen struct {
	pushes   map[string][]*filterpb.MessagePush
	messages map[string][]WakuEvent
}

// readUntil collects js's events until done holds, then for grace more.
func (s *filterSeen) readUntil(t *testing.T, ctx context.Context, js *WakuNode, what string, done func() bool, grace time.Duration) {
	t.Helper()
	var graceEnd <-chan time.Time
	if done() {
		graceEnd = time.After(grace)
	}
	for {
		select {
		case ev, ok := <-js.Events():
			if !ok {
				t.Fatalf("waiting for %s: waku.mjs ended", what)
			}
			switch ev.Event {
			case "filter-push":
				var p filterpb.MessagePush
				if err := proto.Unmarshal(ev.Push, &p); err != nil {
					t.Fatalf("js-waku decoded a push that does not decode here: %v", err)
				}
				key := string(p.GetWakuMessage().GetPayload())
				s.pushes[key] = append(s.pushes[key], &p)
			case "message":
				s.messages[string(ev.Payload)] = append(s.messages[string(ev.Payload)], ev)
			}
			if graceEnd == nil && done() {
				graceEnd = time.After(grace)
			}
		case <-graceEnd:
			return
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		}
	}
}

// once checks that m reached js-waku exactly once, both on the wire and in
// its subscription callback, unchanged and with the pubsub topic.
func (s *filterSeen) once(t *testing.T, topic string, m *messagepb.WakuMessage) {
	t.Helper()
	key := string(m.GetPayload())
	if n := len(s.pushes[key]); n != 1 {
		t.Fatalf("%q pushed %d times", key, n)
	}
	if p := s.pushes[key][0]; p.PubsubTopic == nil || p.GetPubsubTopic() != topic || !proto.Equal(p.GetWakuMessage(), m) {
		t.Fatalf("%q pushed as %v, published %v on %s", key, p, m, topic)
	}
	if n := len(s.messages[key]); n != 1 {
		t.Fatalf("%q delivered %d times to js-waku's callback", key, n)
	}
	ev := s.messages[key][0]
	if ev.PubsubTopic != topic || ev.ContentTopic != m.GetContentTopic() || ev.TimestampNs != strconv.FormatInt(m.GetTimestamp(), 10) ||
		!bytes.Equal(ev.RateLimitProof, m.GetRateLimitProof()) || ev.Ephemeral {
		t.Fatalf("%q delivered as %s, published %v", key, ev.Raw, m)
	}
}

// never checks that m reached js-waku neither on the wire nor in a
// callback.
func (s *filterSeen) never(t *testing.T, m *messagepb.WakuMessage) {
	t.Helper()
	key := string(m.GetPayload())
	if len(s.pushes[key]) != 0 || len(s.messages[key]) != 0 {
		t.Fatalf("%q (%s) reached js-waku: %d pushes, %d callbacks", key, m.GetContentTopic(), len(s.pushes[key]), len(s.messages[key]))
	}
}

// checkFilterExchange checks the FilterSubscribeRequests js-waku wrote for
// one call (one, of type typ, naming contentTopics on topic) and its
// responses (one with status, or none when status is 0).
func checkFilterExchange(t *testing.T, what string, r WakuFilterResult, typ filterpb.FilterSubscribeRequest_FilterSubscribeType, topic string, contentTopics []string, status filter.StatusCode) {
	t.Helper()
	if len(r.Requests) != 1 {
		t.Fatalf("%s: %d requests written", what, len(r.Requests))
	}
	var req filterpb.FilterSubscribeRequest
	if err := proto.Unmarshal(r.Requests[0], &req); err != nil {
		t.Fatalf("%s: request: %v", what, err)
	}
	if req.GetRequestId() == "" || req.GetFilterSubscribeType() != typ || req.GetPubsubTopic() != topic || !slices.Equal(req.GetContentTopics(), contentTopics) {
		t.Fatalf("%s: request %v", what, &req)
	}
	if status == 0 {
		if len(r.Responses) != 0 {
			t.Fatalf("%s: js-waku read %d responses", what, len(r.Responses))
		}
		return
	}
	if len(r.Responses) != 1 {
		t.Fatalf("%s: %d responses read", what, len(r.Responses))
	}
	var resp filterpb.FilterSubscribeResponse
	if err := proto.Unmarshal(r.Responses[0], &resp); err != nil {
		t.Fatalf("%s: response: %v", what, err)
	}
	if resp.GetRequestId() != req.GetRequestId() || filter.StatusCode(resp.GetStatusCode()) != status || resp.StatusDesc == nil {
		t.Fatalf("%s: response %v to request %q, want status %d", what, &resp, req.GetRequestId(), status)
	}
}

// A js-waku light node subscribes with its filter v2 client
// (/vac/waku/filter-subscribe/2.0.0-beta1) to a content topic at an rlnd
// node serving filter. Messages with RLN proofs published on the rlnd relay
// network on that topic are pushed to it (/vac/waku/filter-push/2.0.0-beta1)
// and reach its callback, each exactly once and unchanged; messages on
// another content topic of the same shard do not; after js-waku
// unsubscribes, no more come. js-waku's ping gets 200 while subscribed and
// is refused (404) once nothing is left.
func TestJSWakuFilter(t *testing.T) {
	t.Parallel()
	const subscribed = "/rlnd/1/interop-filter/proto"
	const unsubscribed = "/rlnd/1/interop-filter-other/proto" // same shard
	const sentinel = "/rlnd/1/interop-filter-sentinel/proto"  // same shard
	ctx, cancel := context.WithTimeout(context.Background(), 240*time.Second)
	defer cancel()
	n := newServiceNet(t, ctx)
	svc := n.svc.Filter()
	svcID := n.svc.Host().ID().String()

	js, started := n.startLight(t, ctx, "filter-peer")
	if !hasAll(started.RemoteProtocols, filter.ProtocolSubscribe) {
		t.Fatalf("js-waku did not identify %s among %v", filter.ProtocolSubscribe, started.RemoteProtocols)
	}
	jsID, err := peer.Decode(started.PeerID)
	if err != nil {
		t.Fatal(err)
	}

	// Subscribe to two content topics (one subscription of js-waku's for
	// the pubsub topic), and ping.
	for i, ct := range []string{subscribed, sentinel} {
		sub, err := js.Subscribe(ctx, ct, n.topic)
		if err != nil {
			t.Fatal(err)
		}
		if !sub.OK || !slices.Equal(sub.Successes, []string{svcID}) || len(sub.Failures) != 0 || sub.PubsubTopic != n.topic {
			t.Fatalf("subscribe to %s: %+v", ct, sub)
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

	// Messages on both content topics, then a sentinel on the third: when
	// the sentinel has arrived, so has everything published before it.
	seen := &filterSeen{pushes: map[string][]*filterpb.MessagePush{}, messages: map[string][]WakuEvent{}}
	var wanted, unwanted []*messagepb.WakuMessage
	for i, p := range []struct{ ct, payload string }{
		{subscribed, "filter 0"}, {unsubscribed, "other 0"}, {subscribed, "filter 1"}, {unsubscribed, "other 1"},
		{subscribed, "filter 2"}, {subscribed, "filter 3"}, {unsubscribed, "other 2"}, {subscribed, "filter 4"},
	} {
		m := n.publish(t, ctx, p.ct, p.payload)
		if p.ct == subscribed {
			wanted = append(wanted, m)
		} else {
			unwanted = append(unwanted, m)
		}
		if i == 0 {
			// The first one arrives before more are published.
			seen.readUntil(t, ctx, js, "the first message", func() bool { return len(seen.messages["filter 0"]) > 0 }, 0)
		}
	}
	s1 := n.publish(t, ctx, sentinel, "sentinel 1")
	seen.readUntil(t, ctx, js, "sentinel 1", func() bool { return len(seen.messages["sentinel 1"]) > 0 }, 2*time.Second)
	for _, m := range append(wanted, s1) {
		seen.once(t, n.topic, m)
	}
	for _, m := range unwanted {
		seen.never(t, m)
	}

	// Unsubscribe from the first content topic. js-waku writes the request
	// and does not wait for the answer, so wait for the service to act.
	unsub, err := js.Unsubscribe(ctx, subscribed)
	if err != nil {
		t.Fatal(err)
	}
	if !unsub.OK || !slices.Equal(unsub.Successes, []string{svcID}) || len(unsub.Failures) != 0 {
		t.Fatalf("unsubscribe: %+v", unsub)
	}
	checkFilterExchange(t, "unsubscribe", unsub.WakuFilterResult, filterpb.FilterSubscribeRequest_UNSUBSCRIBE, n.topic, []string{subscribed}, 0)
	testnet.WaitFor(t, 30*time.Second, "the service to drop the criterion", func() bool { return svc.Criteria() == 1 })
	var late []*messagepb.WakuMessage
	for _, payload := range []string{"late 0", "late 1", "late 2"} {
		late = append(late, n.publish(t, ctx, subscribed, payload))
	}
	s2 := n.publish(t, ctx, sentinel, "sentinel 2")
	seen.readUntil(t, ctx, js, "sentinel 2", func() bool { return len(seen.messages["sentinel 2"]) > 0 }, 2*time.Second)
	seen.once(t, n.topic, s2)
	for _, m := range append(late, unwanted...) {
		seen.never(t, m)
	}
	for _, m := range wanted {
		seen.once(t, n.topic, m) // still once
	}

	// Unsubscribe from the sentinel too: the service forgets js-waku, and
	// js-waku's ping is refused.
	if unsub, err = js.Unsubscribe(ctx, sentinel); err != nil || !unsub.OK {
		t.Fatalf("unsubscribe from the sentinel: %+v %v", unsub, err)
	}
	testnet.WaitFor(t, 30*time.Second, "the service to forget js-waku", func() bool { return !svc.Subscribed(jsID) })
	ping, err = js.FilterPing(ctx, n.topic)
	if err != nil {
		t.Fatal(err)
	}
	if ping.OK || len(ping.Successes) != 0 || len(ping.Failures) != 1 ||
		ping.Failures[0].Error != "Remote peer rejected" || ping.Failures[0].PeerID != svcID {
		t.Fatalf("ping with no subscription: %+v", ping)
	}
	checkFilterExchange(t, "ping with no subscription", ping.WakuFilterResult, filterpb.FilterSubscribeRequest_SUBSCRIBER_PING, "", nil, filter.StatusNotFound)

	// The service's own count: one push per delivered message, none
	// failed or dropped.
	if got, want := svc.Pushed(), uint64(len(wanted)+2); got != want || svc.PushFailures() != 0 || svc.Dropped() != 0 {
		t.Fatalf("service pushed %d (want %d), %d failed, %d dropped", got, want, svc.PushFailures(), svc.Dropped())
	}
	if d := js.DroppedEvents(); d != 0 {
		t.Fatalf("%d harness events dropped", d)
	}
}
