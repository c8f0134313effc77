package interop

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
	msmux "github.com/multiformats/go-multistream"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/config"
	"github.com/rlnd/rlnd/filter"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/lightpush"
	"github.com/rlnd/rlnd/membership"
	"github.com/rlnd/rlnd/node"
	"github.com/rlnd/rlnd/p2p"
	"github.com/rlnd/rlnd/p2p/admission"
	"github.com/rlnd/rlnd/store"
	"github.com/rlnd/rlnd/wire/pb/filterpb"
)

// admissionStreams reads the gauge rlnd_admission_streams of a node for
// protocol id and state.
func admissionStreams(t *testing.T, n *node.Node, id protocol.ID, state string) float64 {
	t.Helper()
	mfs, err := n.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "rlnd_admission_streams" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label(m, "protocol") == string(id) && label(m, "state") == state {
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// busyNode starts an rlnd node that allows one request in progress
// (p2p.requests-total 1), with edit applied to its configuration, and a
// js-waku light node connected to it that waited for waitFor. It returns
// the node, contentTopic's pubsub topic and js-waku.
func busyNode(t *testing.T, ctx context.Context, contentTopic, waitFor string, edit func(*config.Config)) (*node.Node, string, *WakuNode) {
	t.Helper()
	const cluster = 42
	_, verifier := loadEngine(t)
	group, err := membership.NewStaticGroup([]fr.Element{{}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := startRlndNode(t, cluster, 8, group, verifier, func(c *config.Config) {
		edit(c)
		c.P2P.RequestsTotal = 1
	})
	topic, err := svc.Relay().TopicFor(contentTopic)
	if err != nil {
		t.Fatal(err)
	}
	var shard uint32
	if _, err := fmt.Sscanf(topic, "/waku/2/rs/42/%d", &shard); err != nil {
		t.Fatal(err)
	}
	js := startWaku(t)
	if _, err := js.Start(ctx, WakuStart{Peer: wsAddr(t, svc.Host()), ClusterID: cluster, Shards: []uint32{shard}, Mode: "light", WaitFor: waitFor}); err != nil {
		t.Fatal(err)
	}
	return svc, topic, js
}

// stall opens a stream of protocol to svc from a Go client and writes the
// first byte of a request, never the rest: the request holds a place until
// the stream is reset.
func stall(t *testing.T, ctx context.Context, svc *p2p.Host, id protocol.ID) network.Stream {
	t.Helper()
	staller := testnet.Host(t, 42)
	testnet.Connect(t, staller, svc)
	st, err := staller.Libp2p().Network().NewStream(ctx, svc.ID())
	if err != nil {
		t.Fatal(err)
	}
	if err := msmux.SelectProtoOrFail(id, st); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Write([]byte{0x0a}); err != nil {
		t.Fatal(err)
	}
	return st
}

// What js-waku 0.0.27 makes of a store that is busy. The node allows one
// store request in progress (p2p.requests-total 1); a Go client starts a
// request and stalls, holding it. js-waku's query then gets 503 with the
// admission's description, and js-waku throws it as "Store query failed
// with status code: 503, description: busy: ..." without retrying; the
// same query made again once the stalled request is gone succeeds.
func TestJSWakuStoreBusy(t *testing.T) {
	t.Parallel()
	const contentTopic = "/rlnd/1/interop-busy/proto"
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	svc, _, js := busyNode(t, ctx, contentTopic, "store-peer", func(c *config.Config) {
		c.Store.Enabled, c.Store.DBPath = true, t.TempDir()+"/store.db"
	})
	st := stall(t, ctx, svc.Host(), store.Protocol)
	testnet.WaitFor(t, 30*time.Second, "the stalled request to hold the store's one place", func() bool {
		return admissionStreams(t, svc, store.Protocol, "active") == 1
	})

	q := WakuStoreQuery{ContentTopics: []string{contentTopic}, PageSize: 10, Timeout: 60 * time.Second}
	res, err := js.Store(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("busy store: ok %v, queryError %q, %d requests, %d responses", res.OK, res.QueryError, len(res.Requests), len(res.Responses))
	if res.OK || !strings.Contains(res.QueryError, "Store query failed with status code: 503") || !strings.Contains(res.QueryError, "busy: the service has 1 requests in progress") {
		t.Fatalf("js-waku's query of a busy store: %+v", res)
	}
	if len(res.Requests) != 1 {
		t.Fatalf("js-waku sent %d requests to the busy store, want 1 (no retry)", len(res.Requests))
	}

	_ = st.Reset()
	testnet.WaitFor(t, 30*time.Second, "the stalled request to end", func() bool {
		return admissionStreams(t, svc, store.Protocol, "active") == 0
	})
	res, err = js.Store(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.QueryError != "" {
		t.Fatalf("js-waku's query once the store is free: %+v", res)
	}
}

// What js-waku 0.0.27 makes of a busy lightpush service (v2-beta1, the
// only version it speaks). The service allows one v2 request in progress;
// a Go client starts one and stalls. js-waku's push then gets is_success
// false with the admission's description as info, which js-waku reports as
// "Remote peer rejected" (the info goes to its log; its sdk would drop the
// peer for 30 s, LightPushCore keeps it). Once the stalled request is
// gone, the same push is proved and published.
func TestJSWakuLightPushBusy(t *testing.T) {
	t.Parallel()
	const contentTopic = "/rlnd/1/interop-lightpush-busy/proto"
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	n := newLightPushNetWith(t, ctx, contentTopic, func(c *lightpush.ServiceConfig) { c.Admission.TotalRequests = 1 })
	gate := n.lp.Admission(lightpush.ProtocolV2)

	st := stall(t, ctx, n.svc.Host(), lightpush.ProtocolV2)
	if err := gate.Wait(ctx, func(s admission.Stats) bool { return s.Active == 1 }); err != nil {
		t.Fatal(err)
	}

	push := WakuLightPush{ContentTopic: contentTopic, PubsubTopic: n.topic, Payload: []byte("pushed while busy"), Direct: true}
	pushed, err := n.js.LightPush(ctx, push)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("busy push: failures %v, info %v, connected %v", pushed.Failures, deref(pushed.Info), pushed.Connected)
	if pushed.OK || len(pushed.Failures) != 1 || pushed.Failures[0].Error != "Remote peer rejected" {
		t.Fatalf("js-waku's push to a busy service: %+v", pushed)
	}
	if pushed.IsSuccess == nil || *pushed.IsSuccess || pushed.Info == nil ||
		!strings.Contains(*pushed.Info, "busy: the service has 1 requests in progress") || !pushed.Connected {
		t.Fatalf("js-waku's push to a busy service: responses %+v, connected %v", pushed.Responses, pushed.Connected)
	}
	if left := n.lp.SlotsLeft(); left != 20 {
		t.Fatalf("a busy answer used a slot: %d of 20 left", left)
	}

	_ = st.Reset()
	if err := gate.Wait(ctx, func(s admission.Stats) bool { return s.Active == 0 }); err != nil {
		t.Fatal(err)
	}
	push.Payload = []byte("pushed once free")
	if pushed, err = n.js.LightPush(ctx, push); err != nil {
		t.Fatal(err)
	}
	if !pushed.OK || pushed.IsSuccess == nil || !*pushed.IsSuccess {
		t.Fatalf("js-waku's push once the service is free: %+v", pushed)
	}
}

// What js-waku 0.0.27 makes of a busy filter service. The node allows one
// request in progress (p2p.requests-total 1); a Go client starts a
// filter-subscribe request and stalls. js-waku's subscribe then gets 503
// with the admission's description, which js-waku reports as "Remote peer
// rejected" for the service (the app sees the failure; js-waku does not
// retry by itself); once the stalled request is gone, the app's next
// subscribe on that pubsub topic reaches the service and succeeds.
func TestJSWakuFilterBusy(t *testing.T) {
	t.Parallel()
	const contentTopic = "/rlnd/1/interop-filter-busy/proto"
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	svc, topic, js := busyNode(t, ctx, contentTopic, "filter-peer", func(c *config.Config) { c.Filter.Enabled = true })
	st := stall(t, ctx, svc.Host(), filter.ProtocolSubscribe)
	testnet.WaitFor(t, 30*time.Second, "the stalled request to hold the filter service's one place", func() bool {
		return admissionStreams(t, svc, filter.ProtocolSubscribe, "active") == 1
	})

	sub, err := js.Subscribe(ctx, contentTopic, topic)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("busy subscribe: ok %v, failures %v, error %q", sub.OK, sub.Failures, sub.SubscribeError)
	if len(sub.Successes) != 0 || len(sub.Failures) != 1 || sub.Failures[0].Error != "Remote peer rejected" ||
		sub.Failures[0].PeerID != svc.Host().ID().String() {
		t.Fatalf("js-waku's subscribe at a busy service: %+v", sub)
	}
	checkFilterExchange(t, "busy subscribe", sub.WakuFilterResult, filterpb.FilterSubscribeRequest_SUBSCRIBE, topic, []string{contentTopic}, filter.StatusUnavailable)
	var resp filterpb.FilterSubscribeResponse
	if err := proto.Unmarshal(sub.Responses[0], &resp); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp.GetStatusDesc(), "busy: the service has 1 requests in progress") {
		t.Fatalf("busy subscribe: description %q", resp.GetStatusDesc())
	}

	_ = st.Reset()
	testnet.WaitFor(t, 30*time.Second, "the stalled request to end", func() bool {
		return admissionStreams(t, svc, filter.ProtocolSubscribe, "active") == 0
	})
	// The app subscribes again (the harness keeps the first content
	// topic's subscription object, so another topic of the same shard):
	// js-waku's subscription for the pubsub topic asks the service again.
	const again = "/rlnd/1/interop-filter-busy-again/proto"
	if sub, err = js.Subscribe(ctx, again, topic); err != nil {
		t.Fatal(err)
	}
	t.Logf("subscribe once free: ok %v, successes %v, failures %v", sub.OK, sub.Successes, sub.Failures)
	if !sub.OK || len(sub.Failures) != 0 || len(sub.Successes) != 1 {
		t.Fatalf("js-waku's subscribe once the service is free: %+v", sub)
	}
}
