package filter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	manet "github.com/multiformats/go-multiaddr/net"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rlnd/rlnd/internal/relaytest"
	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/p2p"
	"github.com/rlnd/rlnd/relay"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/filterpb"
)

const (
	cluster = 7
	ctA     = "/rlnd/1/filter-a/proto"
	ctB     = "/rlnd/1/filter-b/proto"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testNet is a filter service on a relay node, and a relay peer that
// publishes.
type testNet struct {
	svc      *Service
	node     *relaytest.Node
	svcHost  host.Host
	svcRelay *relay.Relay
	pub      *relay.Relay
	topicA   string
	topicB   string
	reg      *prometheus.Registry
}

func startNet(tb testing.TB, edit func(*ServiceConfig)) *testNet {
	tb.Helper()
	n := &testNet{reg: prometheus.NewRegistry()}
	n.node = relaytest.Start(tb, cluster, nil)
	n.svcHost, n.svcRelay = n.node.Host.Libp2p(), n.node.Relay
	cfg := ServiceConfig{Relay: n.svcRelay, Registerer: n.reg}
	if edit != nil {
		edit(&cfg)
	}
	s, err := NewService(n.svcHost, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	n.svc = s
	n.topicA, _ = n.svcRelay.TopicFor(ctA)
	n.topicB, _ = n.svcRelay.TopicFor(ctB)
	pub := relaytest.Start(tb, cluster, nil)
	n.pub = pub.Relay
	relaytest.Link(tb, 10*time.Second, pub, n.node, n.topicA, n.topicB)
	return n
}

// client is a filter client on a new host connected to the service.
func (n *testNet) client(tb testing.TB) (*Client, *p2p.Host) {
	return n.clientAt(tb, "127.0.0.1")
}

// clientAt is a filter client on a host at ip (testnet.HostAt: the
// service sees it in ip's /24), connected to the service.
func (n *testNet) clientAt(tb testing.TB, ip string) (*Client, *p2p.Host) {
	h := testnet.HostAt(tb, cluster, ip)
	testnet.Connect(tb, h, n.node.Host)
	c := NewClient(h.Libp2p())
	tb.Cleanup(c.Close)
	return c, h
}

func (n *testNet) publish(tb testing.TB, ct, payload string) {
	tb.Helper()
	m := wire.NewMessage(ct, []byte(payload), time.Now().UnixNano())
	if _, _, err := n.pub.Publish("", m); err != nil {
		tb.Fatal(err)
	}
}

func ctx(tb testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	tb.Cleanup(cancel)
	return c
}

// receive waits for the message with payload, failing on any other.
func receive(tb testing.TB, c *Client, payload string) *relay.Envelope {
	tb.Helper()
	select {
	case env := <-c.C():
		if got := string(env.Message.GetPayload()); got != payload {
			tb.Fatalf("received %q, want %q", got, payload)
		}
		return env
	case <-time.After(10 * time.Second):
		tb.Fatalf("never received %q", payload)
		return nil
	}
}

// quiet checks that nothing arrives for a while.
func quiet(tb testing.TB, c *Client) {
	tb.Helper()
	select {
	case env := <-c.C():
		tb.Fatalf("unexpected push %q on %s", env.Message.GetPayload(), env.PubsubTopic)
	case <-time.After(300 * time.Millisecond):
	}
}

func statusCode(err error) StatusCode {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func TestSubscribePushUnsubscribe(t *testing.T) {
	n := startNet(t, nil)
	c, _ := n.client(t)
	svc := n.svcHost.ID()
	if err := c.Subscribe(ctx(t), svc, n.topicA, []string{ctA}); err != nil {
		t.Fatal(err)
	}
	// Autosharded: no pubsub topic.
	if err := c.Subscribe(ctx(t), svc, "", []string{ctB}); err != nil {
		t.Fatal(err)
	}
	if n.svc.Peers() != 1 || n.svc.Criteria() != 2 {
		t.Fatalf("%d peers, %d criteria", n.svc.Peers(), n.svc.Criteria())
	}
	n.publish(t, "/rlnd/1/other/proto", "not subscribed")
	n.publish(t, ctA, "a1")
	env := receive(t, c, "a1")
	if env.PubsubTopic != n.topicA || env.From != svc || env.Hash != wire.Hash(n.topicA, env.Message) {
		t.Fatalf("envelope %+v", env)
	}
	n.publish(t, ctB, "b1")
	if env := receive(t, c, "b1"); env.PubsubTopic != n.topicB {
		t.Fatalf("pushed on %s, want %s", env.PubsubTopic, n.topicB)
	}
	quiet(t, c)

	// Unsubscribe stops ctA's pushes, ctB's go on.
	if err := c.Unsubscribe(ctx(t), svc, n.topicA, []string{ctA}); err != nil {
		t.Fatal(err)
	}
	n.publish(t, ctA, "a2")
	n.publish(t, ctB, "b2")
	receive(t, c, "b2")
	quiet(t, c)
	// Again: the service no longer has it.
	if err := c.Unsubscribe(ctx(t), svc, n.topicA, []string{ctA}); statusCode(err) != StatusNotFound {
		t.Fatalf("second unsubscribe: %v", err)
	}

	// Unsubscribe-all ends everything.
	if err := c.UnsubscribeAll(ctx(t), svc); err != nil {
		t.Fatal(err)
	}
	if n.svc.Peers() != 0 || n.svc.Criteria() != 0 {
		t.Fatalf("%d peers, %d criteria after unsubscribe-all", n.svc.Peers(), n.svc.Criteria())
	}
	n.publish(t, ctB, "b3")
	quiet(t, c)
	if err := c.Ping(ctx(t), svc); statusCode(err) != StatusNotFound {
		t.Fatalf("ping after unsubscribe-all: %v", err)
	}
	if err := c.UnsubscribeAll(ctx(t), svc); statusCode(err) != StatusNotFound {
		t.Fatalf("unsubscribe-all twice: %v", err)
	}
	if got := testutil.ToFloat64(n.svc.m.requests.WithLabelValues("SUBSCRIBE", "200")); got != 2 {
		t.Fatalf("waku_filter_requests{SUBSCRIBE,200} = %v", got)
	}
	if got := testutil.ToFloat64(n.svc.m.pushes.WithLabelValues("ok")); got != 3 {
		t.Fatalf("pushes ok = %v, want 3", got)
	}
}

func TestPingUnknown(t *testing.T) {
	n := startNet(t, nil)
	c, _ := n.client(t)
	err := c.Ping(ctx(t), n.svcHost.ID())
	var se *StatusError
	if !errors.As(err, &se) || se.Code != StatusNotFound || se.Description == "" {
		t.Fatalf("ping of an unknown subscriber: %v", err)
	}
	if err := c.Unsubscribe(ctx(t), n.svcHost.ID(), n.topicA, []string{ctA}); statusCode(err) != StatusNotFound {
		t.Fatalf("unsubscribe of an unknown subscriber: %v", err)
	}
	if err := c.Subscribe(ctx(t), n.svcHost.ID(), n.topicA, []string{ctA}); err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(ctx(t), n.svcHost.ID()); err != nil {
		t.Fatal(err)
	}
}

func TestLimits(t *testing.T) {
	n := startNet(t, func(c *ServiceConfig) { c.MaxPeers = 1 })
	c, _ := n.client(t)
	svc := n.svcHost.ID()
	topics := func(from, count int) []string {
		var out []string
		for i := range count {
			out = append(out, fmt.Sprintf("/rlnd/1/limit-%d/proto", from+i))
		}
		return out
	}
	if err := c.Subscribe(ctx(t), svc, n.topicA, topics(0, 101)); statusCode(err) != StatusBadRequest {
		t.Fatalf("101 content topics: %v", err)
	}
	if err := c.Subscribe(ctx(t), svc, n.topicA, nil); statusCode(err) != StatusBadRequest {
		t.Fatalf("no content topics: %v", err)
	}
	if err := c.Subscribe(ctx(t), svc, "/waku/2/rs/99/0", []string{ctA}); statusCode(err) != StatusBadRequest {
		t.Fatalf("a topic not relayed: %v", err)
	}
	if err := c.Subscribe(ctx(t), svc, "", []string{"not-a-content-topic"}); statusCode(err) != StatusBadRequest {
		t.Fatalf("autosharding a bad content topic: %v", err)
	}
	for i := range 10 {
		if err := c.Subscribe(ctx(t), svc, n.topicA, topics(i*100, 100)); err != nil {
			t.Fatalf("subscription %d: %v", i, err)
		}
	}
	// Re-subscribing to held criteria adds none.
	if err := c.Subscribe(ctx(t), svc, n.topicA, topics(0, 100)); err != nil {
		t.Fatal(err)
	}
	err := c.Subscribe(ctx(t), svc, n.topicA, topics(1000, 1))
	if statusCode(err) != StatusUnavailable {
		t.Fatalf("criterion 1001: %v", err)
	}
	if n.svc.Criteria() != 1000 {
		t.Fatalf("%d criteria", n.svc.Criteria())
	}
	// MaxPeers 1: another peer is refused.
	c2, _ := n.client(t)
	if err := c2.Subscribe(ctx(t), svc, n.topicA, []string{ctA}); statusCode(err) != StatusUnavailable {
		t.Fatalf("second peer at MaxPeers 1: %v", err)
	}
	if got := testutil.ToFloat64(n.svc.m.requests.WithLabelValues("SUBSCRIBE", "400")); got != 4 {
		t.Fatalf("400s counted %v", got)
	}
}

func TestRateLimit(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	n := startNet(t, func(c *ServiceConfig) { c.RequestBurst, c.RequestRate, c.Now = 3, 1, clock.Now })
	c, _ := n.client(t)
	svc := n.svcHost.ID()
	for range 3 {
		if err := c.Subscribe(ctx(t), svc, n.topicA, []string{ctA}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Ping(ctx(t), svc); statusCode(err) != StatusTooManyRequests {
		t.Fatalf("fourth request: %v", err)
	}
	clock.Add(time.Second)
	if err := c.Ping(ctx(t), svc); err != nil {
		t.Fatalf("after a second: %v", err)
	}
}

func TestExpiry(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	n := startNet(t, func(c *ServiceConfig) { c.Now = clock.Now; c.SweepInterval = time.Hour })
	c, h := n.client(t)
	svc := n.svcHost.ID()
	if err := c.Subscribe(ctx(t), svc, n.topicA, []string{ctA}); err != nil {
		t.Fatal(err)
	}
	clock.Add(4 * time.Minute)
	n.svc.sweep()
	if err := c.Ping(ctx(t), svc); err != nil {
		t.Fatal(err) // refreshes
	}
	clock.Add(4 * time.Minute)
	n.svc.sweep()
	if !n.svc.Subscribed(h.ID()) {
		t.Fatal("expired 4 min after a ping")
	}
	// Past the expiry, no more pushes even before the sweep.
	clock.Add(time.Minute + time.Second)
	n.publish(t, ctA, "too late")
	quiet(t, c)
	n.svc.sweep()
	if n.svc.Subscribed(h.ID()) || n.svc.Criteria() != 0 {
		t.Fatal("not expired 5 min after the last ping")
	}
	if err := c.Ping(ctx(t), svc); statusCode(err) != StatusNotFound {
		t.Fatalf("ping after expiry: %v", err)
	}
	// A new subscribe starts over.
	if err := c.Subscribe(ctx(t), svc, n.topicA, []string{ctA}); err != nil {
		t.Fatal(err)
	}
	n.publish(t, ctA, "back")
	receive(t, c, "back")
}

// A subscriber that stops reading does not hold up the others, and one
// that is gone is removed after repeated failed pushes.
func TestSlowAndDeadSubscribers(t *testing.T) {
	n := startNet(t, func(c *ServiceConfig) {
		c.PushQueue, c.PushTimeout, c.MaxPushFailures = 8, 300*time.Millisecond, 3
	})
	svc := n.svcHost.ID()
	good, _ := n.client(t)
	stalled, sh := n.client(t)
	dead, dh := n.client(t)
	for _, c := range []*Client{good, stalled, dead} {
		if err := c.Subscribe(ctx(t), svc, n.topicA, []string{ctA}); err != nil {
			t.Fatal(err)
		}
	}
	// The stalled subscriber's connection is lost and its address now
	// accepts TCP and never speaks: each push hangs until PushTimeout.
	stallAt(t, n.svcHost, sh)
	// The dead one goes away.
	dh.Close()
	const count = 40
	payload := make([]byte, 50_000)
	for i := range count {
		body := append(fmt.Appendf(nil, "%d-", i), payload...)
		m := wire.NewMessage(ctA, body, time.Now().UnixNano())
		if _, _, err := n.pub.Publish("", m); err != nil {
			t.Fatal(err)
		}
		// One at a time, each received before the next is published: a
		// steady flow the good subscriber keeps up with, not a burst past
		// its queue.
		select {
		case env := <-good.C():
			if !bytes.Equal(env.Message.GetPayload(), body) {
				t.Fatalf("the good subscriber got %.10q, want %.10q", env.Message.GetPayload(), body)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("the good subscriber got %d of %d (pushed %d, failed %d, dropped %d, relay dropped %d)", i, count, n.svc.Pushed(), n.svc.PushFailures(), n.svc.Dropped(), n.svcRelay.Dropped())
		}
	}
	// (The last push is counted once its stream closes, maybe after the
	// client read it.)
	testnet.WaitFor(t, 10*time.Second, "the dead and the stalled subscriber to be removed, every push to the good one counted", func() bool {
		return !n.svc.Subscribed(dh.ID()) && !n.svc.Subscribed(sh.ID()) && n.svc.Pushed() >= count
	})
	if n.svc.PushFailures() < 6 || n.svc.Dropped() == 0 || n.svc.Pushed() != count {
		t.Fatalf("pushed %d, failed %d, dropped %d", n.svc.Pushed(), n.svc.PushFailures(), n.svc.Dropped())
	}
	t.Logf("pushed %d, failed %d, dropped %d", n.svc.Pushed(), n.svc.PushFailures(), n.svc.Dropped())
}

// Pushes from a peer the client has no subscription with, or for topics it
// did not subscribe to, are ignored.
func TestClientIgnoresUnsolicitedPushes(t *testing.T) {
	n := startNet(t, nil)
	c, ch := n.client(t)
	if err := c.Subscribe(ctx(t), n.svcHost.ID(), n.topicA, []string{ctA}); err != nil {
		t.Fatal(err)
	}
	// A rogue service: its own relay feed, pushing to whoever subscribed.
	rogueNode := relaytest.Start(t, cluster, nil)
	rogueRelay := rogueNode.Relay
	rogue, err := NewService(rogueNode.Host.Libp2p(), ServiceConfig{Relay: rogueRelay})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rogue.Close)
	// The rogue is made to hold a subscription the client never asked for.
	testnet.Connect(t, rogueNode.Host, ch)
	rogue.subscribe(ch.ID(), []criterion{{pubsub: n.topicA, content: ctA}}, time.Now())
	m := wire.NewMessage(ctA, []byte("rogue"), time.Now().UnixNano())
	if _, _, err := rogueRelay.Publish(n.topicA, m); err != nil {
		t.Logf("rogue publish: %v", err) // no relay peers: delivered locally
	}
	testnet.WaitFor(t, 10*time.Second, "the rogue push", func() bool { return rogue.Pushed() != 0 || c.Ignored() != 0 })
	quiet(t, c)
	if c.Ignored() == 0 {
		t.Fatal("rogue push not counted as ignored")
	}
	// Our service, but a content topic the client did not subscribe to at
	// it: also ignored (the service is made to push it).
	n.svc.subscribe(ch.ID(), []criterion{{pubsub: n.topicB, content: ctB}}, time.Now())
	before := c.Ignored()
	n.publish(t, ctB, "unasked")
	n.publish(t, ctA, "asked")
	receive(t, c, "asked")
	testnet.WaitFor(t, 10*time.Second, "the unasked push to be ignored", func() bool { return c.Ignored() != before })
	quiet(t, c)
}

// A stream opened ahead of use (as js-waku does) is served when its request
// comes; a malformed request gets 400 with a description.
func TestStreamHandling(t *testing.T) {
	n := startNet(t, nil)
	h := testnet.Host(t, cluster)
	testnet.Connect(t, h, n.node.Host)
	st, err := h.Libp2p().NewStream(ctx(t), n.svcHost.ID(), ProtocolSubscribe)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Deliberately idle (wall time must pass; there is no event to wait
	// for): the stream sits unused before its request, as the streams
	// js-waku opens ahead of use do.
	time.Sleep(300 * time.Millisecond)
	if err := wire.WriteFrame(st, []byte{0x0a, 0xff, 0xff}); err != nil {
		t.Fatal(err)
	}
	var resp filterpb.FilterSubscribeResponse
	if err := wire.ReadMsg(st, &resp); err != nil {
		t.Fatal(err)
	}
	if StatusCode(resp.GetStatusCode()) != StatusBadRequest || resp.GetStatusDesc() == "" {
		t.Fatalf("answer %v", &resp)
	}
	checkState(t, n.svc)
}

// stallAt closes h and gives svc, as h's only address, one that accepts
// TCP connections and never speaks: a dial to h then hangs in the
// handshake until its deadline.
func stallAt(t *testing.T, svc host.Host, h *p2p.Host) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held sync.WaitGroup
	t.Cleanup(func() { ln.Close(); held.Wait() })
	held.Go(func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	})
	hole, err := manet.FromNetAddr(ln.Addr())
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	svc.Peerstore().ClearAddrs(h.ID())
	svc.Peerstore().AddAddr(h.ID(), hole, time.Hour)
}
