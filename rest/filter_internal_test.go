package rest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rlnd/rlnd/filter"
	"github.com/rlnd/rlnd/internal/relaytest"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/lightpush"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/rest/api"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/filterpb"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

const (
	internalCluster = 9
	internalCT      = "/rest-internal/1/filter/proto"
	// internalWait bounds a subscription or a push on loopback.
	internalWait = 15 * time.Second
)

// readPayloads GETs a messages path of h and returns the payloads.
func readPayloads(t *testing.T, h http.Handler, path string) (int, []string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if rec.Code != http.StatusOK {
		return rec.Code, nil
	}
	var msgs []api.Message
	if err := json.Unmarshal(rec.Body.Bytes(), &msgs); err != nil {
		t.Fatalf("answer %q: %v", rec.Body.String(), err)
	}
	out := make([]string, len(msgs))
	for i, m := range msgs {
		b, _ := base64.StdEncoding.DecodeString(m.Payload)
		out[i] = string(b)
	}
	return rec.Code, out
}

// The cache of a subscription keeps the newest CacheCapacity messages,
// oldest first, and only those pushed by the peer holding it.
func TestFilterCacheKeepsNewest(t *testing.T) {
	t.Parallel()
	dropped := prometheus.NewCounter(prometheus.CounterOpts{Name: "test_dropped"})
	f := &filterState{s: &Server{cfg: Config{CacheCapacity: 3}}, dropped: dropped, subs: map[filterKey]*filterSub{}}
	k := filterKey{pubsub: "/waku/2/rs/9/1", content: internalCT}
	f.subs[k] = &filterSub{peer: "holder"}
	f.subs[filterKey{pubsub: "/waku/2/rs/9/2", content: internalCT}] = &filterSub{peer: "holder"}
	start := time.Now()
	env := func(i int, from peer.ID, pubsub string) *relay.Envelope {
		return &relay.Envelope{PubsubTopic: pubsub, From: from, Received: start.Add(time.Duration(i) * time.Millisecond),
			Message: wire.NewMessage(internalCT, []byte(fmt.Sprintf("m%d", i)), 1)}
	}
	for i := range 5 {
		f.keep(env(i, "holder", k.pubsub))
	}
	f.keep(env(9, "stranger", k.pubsub))       // not the holder: ignored
	f.keep(env(8, "holder", "/waku/2/rs/9/3")) // not subscribed: ignored
	f.keep(env(7, "holder", "/waku/2/rs/9/2")) // the other subscription
	if got := testutil.ToFloat64(dropped); got != 2 {
		t.Fatalf("dropped %v, want 2", got)
	}
	r := chi.NewRouter()
	r.Get(PathFilterMessages, f.messages)
	r.Get(PathFilterTopicMessages, f.messages)
	byPair := "/filter/v2/messages/" + url.PathEscape(k.pubsub) + "/" + url.PathEscape(internalCT)
	if code, got := readPayloads(t, r, byPair); code != 200 || strings.Join(got, ",") != "m2,m3,m4" {
		t.Fatalf("by pair: %d %q, want m2,m3,m4", code, got)
	}
	if code, got := readPayloads(t, r, "/filter/v2/messages/"+url.PathEscape(internalCT)); code != 200 || strings.Join(got, ",") != "m7" {
		t.Fatalf("by content topic (the rest): %d %q, want m7", code, got)
	}
	if code, _ := readPayloads(t, r, "/filter/v2/messages/"+url.PathEscape("/rest-internal/1/other/proto")); code != 404 {
		t.Fatalf("unsubscribed: %d, want 404", code)
	}
}

// serviceNode is a relay node with a filter service.
type serviceNode struct {
	*relaytest.Node
	svc *filter.Service
}

func startService(t *testing.T) serviceNode {
	t.Helper()
	n := relaytest.Start(t, internalCluster, nil)
	svc, err := filter.NewService(n.Host.Libp2p(), filter.ServiceConfig{Relay: n.Relay})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return serviceNode{Node: n, svc: svc}
}

// The keep-alive round pings the service peer; when the peer lost the
// subscriptions (expired, restarted), it subscribes again, at the service
// peer a request would use now, and pushes flow again. When the service
// peer changed, the old one's subscriptions are ended.
func TestFilterKeepAliveResubscribes(t *testing.T) {
	t.Parallel()
	first, second := startService(t), startService(t)
	client := relaytest.Start(t, internalCluster, nil)
	h := client.Host.Libp2p()
	for _, s := range []serviceNode{first, second} {
		h.Peerstore().AddAddrs(s.Host.ID(), s.Host.Libp2p().Addrs(), peerstore.PermanentAddrTTL)
	}
	var current atomic.Value
	current.Store(first.Host.ID())
	srv, err := New(Config{Address: "127.0.0.1:0", Host: h, Relay: client.Relay,
		Publish: func(_ context.Context, topic string, m *messagepb.WakuMessage) lightpush.Response {
			return lightpush.RelayResponse(client.Relay.Publish(topic, m))
		},
		ServiceNode: func(protocol.ID) (peer.ID, bool) { return current.Load().(peer.ID), true },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	base := "http://" + srv.Addr().String()
	req := `{"requestId": "k", "contentFilters": ["` + internalCT + `"]}`
	resp, err := http.Post(base+PathFilterSubscriptions, "application/json", strings.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("subscribe: %d %s", resp.StatusCode, body)
	}
	me := h.ID()
	drop := func(s serviceNode) {
		t.Helper()
		if r := s.svc.Handle(me, &filterpb.FilterSubscribeRequest{RequestId: "drop", FilterSubscribeType: filterpb.FilterSubscribeRequest_UNSUBSCRIBE_ALL}); r.Status != filter.StatusOK {
			t.Fatalf("dropping the subscription at the service: %+v", r)
		}
	}
	receive := func(s serviceNode, payload string) {
		t.Helper()
		if _, _, err := s.Relay.Publish("", wire.NewMessage(internalCT, []byte(payload), time.Now().UnixNano())); err != nil {
			t.Fatal(err)
		}
		var got []string
		testnet.WaitFor(t, internalWait, "the message "+payload, func() bool {
			_, page := readPayloads(t, srv.srv.Handler, "/filter/v2/messages/"+url.PathEscape(internalCT))
			got = append(got, page...)
			return len(got) > 0
		})
		if len(got) != 1 || got[0] != payload {
			t.Fatalf("got %q, want [%s]", got, payload)
		}
	}
	ctx := t.Context()

	// The service lost the subscription: the round subscribes again.
	drop(first)
	if first.svc.Subscribed(me) {
		t.Fatal("the service still holds the subscription")
	}
	srv.filter.maintain(ctx)
	if !first.svc.Subscribed(me) {
		t.Fatal("the keep-alive round did not subscribe again")
	}
	receive(first, "after resubscribing")

	// A round with the subscription in place changes nothing.
	srv.filter.maintain(ctx)
	if !first.svc.Subscribed(me) || second.svc.Subscribed(me) {
		t.Fatal("a round with a live subscription moved it")
	}

	// The service peer changed and the old one lost the subscription: it
	// moves to the new one.
	current.Store(second.Host.ID())
	drop(first)
	srv.filter.maintain(ctx)
	if !second.svc.Subscribed(me) || first.svc.Subscribed(me) {
		t.Fatalf("after the move: second holds %v, first %v; want only the second", second.svc.Subscribed(me), first.svc.Subscribed(me))
	}
	receive(second, "from the new service peer")
	if got := srv.filter.heldPeers(); len(got) != 1 || got[0] != second.Host.ID() {
		t.Fatalf("held at %v, want only the second service peer", got)
	}
}
