package filter

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/filterpb"
)

// A thousand throwaway subscribers from one /24 (127.0.1.x: each a new
// peer id that subscribes and goes away, never to ping) get the prefix's
// share (MaxPeersPerPrefix, 100) and 429 beyond it; honest subscribers
// from 127.0.2.x and 127.0.3.x still subscribe and receive every matching
// message. The throwaways are removed as pushes to them fail with no
// connection left, which frees the prefix's places.
func TestSybilSubscribersFromOnePrefix(t *testing.T) {
	t.Parallel()
	n := startNet(t, func(c *ServiceConfig) { c.PushTimeout = 2 * time.Second })
	svc := n.svcHost.ID()
	attackers := netip.MustParsePrefix("127.0.1.0/24")
	const throwaways, workers = 1000, 4
	var ok, refused atomic.Int64
	var others sync.Map // unexpected answers
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				h, err := testnet.NewHost(cluster, fmt.Sprintf("127.0.1.%d", 1+i%250))
				if err != nil {
					others.Store(i, err)
					continue
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err = h.Connect(ctx, peer.AddrInfo{ID: svc, Addrs: n.svcHost.Addrs()})
				if err == nil {
					c := NewClient(h.Libp2p())
					err = c.Subscribe(ctx, svc, n.topicA, []string{ctA})
					c.Close()
				}
				cancel()
				h.Close()
				switch {
				case err == nil:
					ok.Add(1)
				case statusCode(err) == StatusTooManyRequests && strings.Contains(err.Error(), "subscribed already"):
					refused.Add(1) // the prefix's share, not another limit
				default:
					others.Store(i, err)
				}
			}
		})
	}
	start := time.Now()
	for i := range throwaways {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	others.Range(func(k, v any) bool {
		t.Errorf("throwaway %v: %v", k, v)
		return true
	})
	t.Logf("%d throwaway subscribers in %v: %d subscribed, %d refused with 429", throwaways, time.Since(start).Round(time.Millisecond), ok.Load(), refused.Load())
	if ok.Load() != DefaultMaxPeersPerPrefix || refused.Load() != throwaways-DefaultMaxPeersPerPrefix {
		t.Fatalf("%d subscribed and %d refused, want %d and %d", ok.Load(), refused.Load(), DefaultMaxPeersPerPrefix, throwaways-DefaultMaxPeersPerPrefix)
	}
	if got := n.svc.PrefixPeers(attackers); got != DefaultMaxPeersPerPrefix {
		t.Fatalf("%d subscribers counted in %v, want %d", got, attackers, DefaultMaxPeersPerPrefix)
	}
	if got := testutil.ToFloat64(n.svc.m.refusals.WithLabelValues("max_peers_per_prefix")); got != throwaways-DefaultMaxPeersPerPrefix {
		t.Fatalf("rlnd_filter_refused_total{max_peers_per_prefix} = %v", got)
	}

	// Honest subscribers from two other prefixes get in and receive every
	// message on their content topic.
	var honest []*Client
	for _, ip := range []string{"127.0.2.1", "127.0.2.2", "127.0.3.1", "127.0.3.2"} {
		c, _ := n.clientAt(t, ip)
		if err := c.Subscribe(ctx(t), svc, n.topicA, []string{ctA}); err != nil {
			t.Fatalf("honest subscriber at %s: %v", ip, err)
		}
		honest = append(honest, c)
	}
	for _, p := range []string{"127.0.2.0/24", "127.0.3.0/24"} {
		if got := n.svc.PrefixPeers(netip.MustParsePrefix(p)); got != 2 {
			t.Fatalf("%d subscribers counted in %s, want 2", got, p)
		}
	}
	const count = 30
	for i := range count {
		n.publish(t, ctA, fmt.Sprintf("honest %d", i))
	}
	for k, c := range honest {
		got := map[string]bool{}
		timeout := time.After(20 * time.Second)
		for len(got) < count {
			select {
			case env := <-c.C():
				got[string(env.Message.GetPayload())] = true
			case <-timeout:
				t.Fatalf("honest subscriber %d got %d of %d messages", k, len(got), count)
			}
		}
	}

	// Every push to a throwaway failed with nothing to dial: each is
	// removed after MaxPushFailures, and its prefix may subscribe again.
	testnet.WaitFor(t, 30*time.Second, "throwaway subscribers removed", func() bool { return n.svc.PrefixPeers(attackers) == 0 })
	if got := testutil.ToFloat64(n.svc.m.removals.WithLabelValues("unreachable")); got != DefaultMaxPeersPerPrefix {
		t.Fatalf("rlnd_filter_removed_total{unreachable} = %v, want %d", got, DefaultMaxPeersPerPrefix)
	}
	if n.svc.Peers() != len(honest) {
		t.Fatalf("%d subscribers left, want the %d honest ones", n.svc.Peers(), len(honest))
	}
	back, _ := n.clientAt(t, "127.0.1.251")
	if err := back.Subscribe(ctx(t), svc, n.topicA, []string{ctA}); err != nil {
		t.Fatalf("a subscriber from the freed prefix: %v", err)
	}
}

// A subscriber whose pushes keep failing is removed after MaxPushFailures
// in a row: one that stays connected but refuses the push protocol, and
// one that went away; the others keep getting every message.
func TestFailedPushes(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	n := startNet(t, func(c *ServiceConfig) {
		c.Now, c.SweepInterval, c.PushTimeout, c.MaxPushFailures = clock.Now, time.Hour, 2*time.Second, 3
	})
	svc := n.svcHost.ID()
	refusing, rh := n.client(t)
	gone, gh := n.client(t)
	good, goodHost := n.client(t)
	for _, c := range []*Client{refusing, gone, good} {
		if err := c.Subscribe(ctx(t), svc, n.topicA, []string{ctA}); err != nil {
			t.Fatal(err)
		}
	}
	rh.Libp2p().RemoveStreamHandler(ProtocolPush) // connected, but every push stream is refused
	gh.Close()
	testnet.WaitFor(t, 10*time.Second, "the service to see the gone subscriber's connection closed", func() bool {
		return len(n.svcHost.Network().ConnsToPeer(gh.ID())) == 0
	})
	const count = 6 // twice MaxPushFailures
	for i := range count {
		n.publish(t, ctA, fmt.Sprintf("m%d", i))
		receive(t, good, fmt.Sprintf("m%d", i))
	}
	// Every message was pushed to the good subscriber; the refusing one
	// and the gone one were tried until each was removed, after 3
	// failures in a row.
	testnet.WaitFor(t, 20*time.Second, "both failing subscribers removed", func() bool {
		return !n.svc.Subscribed(gh.ID()) && !n.svc.Subscribed(rh.ID())
	})
	if got := n.svc.PushFailures(); got != 6 {
		t.Fatalf("%d failed pushes, want 3 to each failing subscriber", got)
	}
	if !n.svc.Subscribed(goodHost.ID()) {
		t.Fatal("the good subscriber was removed")
	}
	for _, reason := range []string{"unreachable", "push_failures"} {
		if got := testutil.ToFloat64(n.svc.m.removals.WithLabelValues(reason)); got != 1 {
			t.Fatalf("rlnd_filter_removed_total{%s} = %v, want 1", reason, got)
		}
	}
	if got := testutil.ToFloat64(n.svc.m.errors.WithLabelValues("push_failure")); got != 6 {
		t.Fatalf("waku_filter_errors{push_failure} = %v, want 6", got)
	}

	t.Logf("pushed %d, failed %d", n.svc.Pushed(), n.svc.PushFailures())
}

// A subscriber whose pushes hang holds at most PushQueueBytes of queued
// frames (here a third of a megabyte: two pushes of 100 KiB messages);
// the rest is dropped and counted, and the others get every message.
func TestPushQueueBytes(t *testing.T) {
	t.Parallel()
	const queueBytes = wire.MaxFrameSize + 100<<10
	n := startNet(t, func(c *ServiceConfig) { c.PushQueueBytes, c.PushTimeout = queueBytes, time.Minute })
	svc := n.svcHost.ID()
	good, _ := n.client(t)
	stalled, sh := n.client(t)
	for _, c := range []*Client{good, stalled} {
		if err := c.Subscribe(ctx(t), svc, n.topicA, []string{ctA}); err != nil {
			t.Fatal(err)
		}
	}
	// The stalled subscriber's address now accepts TCP and never speaks:
	// its first push hangs in the dial, and its queue fills.
	stallAt(t, n.svcHost, sh)
	testnet.WaitFor(t, 10*time.Second, "the stalled subscriber's connection closed", func() bool {
		return len(n.svcHost.Network().ConnsToPeer(sh.ID())) == 0
	})
	const count = 10
	payload := strings.Repeat("p", 100<<10)
	for i := range count {
		body := fmt.Sprintf("%d-%s", i, payload)
		n.publish(t, ctA, body)
		receive(t, good, body)
	}
	// One push hangs (taken off the queue), the queue holds what fits in
	// queueBytes, the rest is dropped.
	frame := len(wire.AppendFrame(nil, make([]byte, 100<<10+64)))
	fit := queueBytes / frame
	testnet.WaitFor(t, 10*time.Second, "the stalled subscriber's messages dropped", func() bool {
		return n.svc.Dropped() == uint64(count-1-fit)
	})
	if q := n.svc.QueuedBytes(); q > queueBytes || q < int64(fit*(100<<10)) {
		t.Fatalf("%d bytes queued, want %d frames of about %d within %d", q, fit, frame, queueBytes)
	}
	t.Logf("%d messages of 100 KiB: %d queued (%d bytes, bound %d), %d dropped", count, fit, n.svc.QueuedBytes(), queueBytes, n.svc.Dropped())
}

// The stated memory bound holds at capacity: MaxPeers subscribers with
// MaxCriteriaPerPeer criteria each, every content topic
// MaxContentTopicLength bytes long and no two alike, take less heap and
// stack than MemoryBound (less the push queues, empty here; their bytes
// are bounded by TestPushQueueBytes). Past capacity, requests are refused
// and hold nothing. (Not parallel: it measures the process's heap.)
func TestMemoryBound(t *testing.T) {
	const peers, perPeer = 40, 1000
	n := startNet(t, func(c *ServiceConfig) {
		c.MaxPeers, c.MaxPeersPerPrefix, c.MaxCriteriaPerPeer, c.RequestBurst = peers, peers, perPeer, -1
	})
	topic := func(p, i int) string {
		ct := fmt.Sprintf("/app/1/peer-%d-topic-%d-", p, i)
		return ct + strings.Repeat("x", DefaultMaxContentTopicLength-len(ct)-len("/proto")) + "/proto"
	}
	subscribe := func(p peer.ID, cts []string) Response {
		return n.svc.Handle(p, &filterpb.FilterSubscribeRequest{RequestId: "r", FilterSubscribeType: filterpb.FilterSubscribeRequest_SUBSCRIBE, PubsubTopic: &n.topicA, ContentTopics: cts})
	}
	var ms runtime.MemStats
	used := func() int64 {
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc + ms.StackInuse)
	}
	before := used()
	for p := range peers {
		id := peer.ID(fmt.Sprintf("subscriber-%d", p))
		for r := range perPeer / DefaultMaxContentTopicsPerRequest {
			var cts []string
			for i := range DefaultMaxContentTopicsPerRequest {
				cts = append(cts, topic(p, r*DefaultMaxContentTopicsPerRequest+i))
			}
			if resp := subscribe(id, cts); resp.Status != StatusOK {
				t.Fatalf("subscriber %d request %d: %+v", p, r, resp)
			}
		}
	}
	if len(topic(0, 0)) != DefaultMaxContentTopicLength || n.svc.Criteria() != peers*perPeer {
		t.Fatalf("%d criteria of %d bytes", n.svc.Criteria(), len(topic(0, 0)))
	}
	// Full: one more criterion, one more subscriber, a longer topic.
	if r := subscribe("subscriber-0", []string{topic(0, perPeer)}); r.Status != StatusUnavailable {
		t.Fatalf("criterion %d: %+v", perPeer+1, r)
	}
	if r := subscribe("one-too-many", []string{topic(peers, 0)}); r.Status != StatusUnavailable {
		t.Fatalf("subscriber %d: %+v", peers+1, r)
	}
	if r := subscribe("subscriber-0", []string{topic(0, 0) + "x"}); r.Status != StatusBadRequest {
		t.Fatalf("a %d-byte content topic: %+v", DefaultMaxContentTopicLength+1, r)
	}
	growth := used() - before
	bound := n.svc.MemoryBound() - int64(peers)*DefaultPushQueueBytes
	perCriterion := float64(growth) / float64(peers*perPeer)
	t.Logf("%d subscribers x %d criteria of %d bytes: %.1f MiB (%.0f bytes a criterion), bound %.1f MiB; defaults' bound %.2f GiB",
		peers, perPeer, DefaultMaxContentTopicLength, float64(growth)/(1<<20), perCriterion, float64(bound)/(1<<20), float64(defaultMemoryBound())/(1<<30))
	if growth > bound {
		t.Fatalf("subscriptions hold %d bytes, over the bound of %d", growth, bound)
	}
	runtime.KeepAlive(n)
}

// defaultMemoryBound is MemoryBound with the default configuration.
func defaultMemoryBound() int64 {
	s := &Service{cfg: ServiceConfig{MaxPeers: DefaultMaxPeers, MaxCriteriaPerPeer: DefaultMaxCriteriaPerPeer, MaxContentTopicLength: DefaultMaxContentTopicLength, PushQueueBytes: DefaultPushQueueBytes}}
	return s.MemoryBound()
}
