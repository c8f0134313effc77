package relay

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/relay/pubsub"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/messagepb"
)

const (
	netCluster = 1
	netShards  = 8
	netContent = "/rlnd/1/network-test/proto"
)

type netNode struct {
	h     host.Host
	r     *Relay
	mu    sync.Mutex
	got   map[wire.MessageHash]int
	sub   *Subscription
	evMu  sync.Mutex
	evils []rln.Evidence
}

func newNetHost(tb testing.TB) host.Host {
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close() })
	return h
}

func startNetNode(tb testing.TB, f *fixture) *netNode {
	n := &netNode{h: newNetHost(tb), got: map[wire.MessageHash]int{}}
	v, err := NewValidator(ValidatorConfig{
		Group: f.group, Verifier: f.verifier, RLN: true, Signal: rln.SignalTimestamped,
		OnEvidence: func(_ string, ev rln.Evidence) { n.evMu.Lock(); n.evils = append(n.evils, ev); n.evMu.Unlock() },
	})
	if err != nil {
		tb.Fatal(err)
	}
	rc := DefaultRouterConfig()
	rc.Params.HeartbeatInterval = 200 * time.Millisecond
	n.r, err = New(n.h, Config{ClusterID: netCluster, NumShards: netShards, Validator: v, Router: &rc})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { n.r.Close() })
	n.sub = n.r.Subscribe()
	go func() {
		for env := range n.sub.C() {
			n.mu.Lock()
			n.got[env.Hash]++
			n.mu.Unlock()
		}
	}()
	return n
}

func (n *netNode) count(h wire.MessageHash) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.got[h]
}

func linkHosts(tb testing.TB, a, b host.Host) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
		tb.Fatal(err)
	}
}

func eventually(tb testing.TB, what string, d time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out: %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(25 * time.Millisecond)
	}
	return true
}

// startRingNetwork starts n relays linked in a ring plus random chords,
// which keeps the graph connected with degree ~4.
func startRingNetwork(tb testing.TB, f *fixture, n int) []*netNode {
	var ns []*netNode
	for range n {
		ns = append(ns, startNetNode(tb, f))
	}
	rnd := rand.New(rand.NewPCG(42, 1))
	for i := range n {
		linkHosts(tb, ns[i].h, ns[(i+1)%n].h)
		if j := rnd.IntN(n); j != i {
			linkHosts(tb, ns[i].h, ns[j].h)
		}
	}
	return ns
}

// provenMessage makes a message of member mem with message id mid, proved
// now.
func provenMessage(tb testing.TB, f *fixture, mem int, mid uint64, payload string) *messagepb.WakuMessage {
	m := wire.NewMessage(netContent, []byte(payload), time.Now().UnixNano())
	_, err := AttachProof(f.prover, f.group, Member{Identity: f.ids[mem], Index: uint64(mem), UserMessageLimit: testLimit},
		ProofParams{Signal: rln.SignalTimestamped}, m, mid)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// Twenty relays on loopback: every valid message reaches all of them
// exactly once; a member that exceeds its rate and a sender of invalid
// proofs (publishing raw, as a hostile node would) are stopped at the first
// hop, the double signal yields the member's secret, and the hostile
// node's score falls until its neighbours prune it.
func TestTwentyNodeNetwork(t *testing.T) {
	f := loadFixture(t)
	const nodes = 20
	ns := startRingNetwork(t, f, nodes)
	// The hostile node runs gossipsub without validation and publishes
	// whatever it likes.
	evilHost := newNetHost(t)
	rc := DefaultRouterConfig()
	rc.Params.HeartbeatInterval = 200 * time.Millisecond
	evil, err := pubsub.New(evilHost, pubsub.Config{Router: rc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { evil.Close() })
	topic, err := ns[0].r.TopicFor(netContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := evil.Join(topic); err != nil {
		t.Fatal(err)
	}
	victims := []*netNode{ns[3], ns[11]}
	for _, v := range victims {
		linkHosts(t, evilHost, v.h)
	}
	for i, n := range ns {
		eventually(t, fmt.Sprintf("mesh at node %d", i), 10*time.Second, func() bool {
			return len(n.r.PubSub().MeshPeers(topic)) >= 2
		})
	}
	eventually(t, "victims see the hostile node", 10*time.Second, func() bool {
		for _, v := range victims {
			if len(v.r.PubSub().TopicPeers(topic)) == 0 {
				return false
			}
		}
		return true
	})

	// Valid traffic: 5 members, 4 messages each, from different nodes.
	var valid []wire.MessageHash
	for mem := range 5 {
		for mid := range 4 {
			m := provenMessage(t, f, mem, uint64(mid), fmt.Sprintf("hello %d/%d", mem, mid))
			h, sent, err := ns[(mem*4+mid)%nodes].r.Publish("", m)
			if err != nil {
				t.Fatal(err)
			}
			if sent == 0 {
				t.Fatalf("message %d sent to no peer", len(valid))
			}
			valid = append(valid, h)
		}
	}
	// Spam: member 6 uses message id 0 twice with different payloads; the
	// first is within its rate, the second is a double signal.
	first := provenMessage(t, f, 6, 0, "within the rate")
	second := provenMessage(t, f, 6, 0, "over the rate")
	// Invalid: a proof of member 7 whose y share is tampered with.
	bad := provenMessage(t, f, 7, 0, "tampered")
	p, err := rln.UnmarshalRateLimitProof(bad.RateLimitProof)
	if err != nil {
		t.Fatal(err)
	}
	p.ShareY.SetUint64(12345)
	bad.RateLimitProof = p.Marshal()
	for _, m := range []*messagepb.WakuMessage{first, second, bad} {
		b, err := wire.EncodeMessage(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := evil.Publish(topic, b); err != nil {
			t.Fatal(err)
		}
	}
	hFirst, hSecond, hBad := wire.Hash(topic, first), wire.Hash(topic, second), wire.Hash(topic, bad)

	for i, n := range ns {
		for j, h := range append(valid, hFirst) {
			if !waitUntil(15*time.Second, func() bool { return n.count(h) >= 1 }) {
				var have []int
				for k, o := range ns {
					if o.count(h) > 0 {
						have = append(have, k)
					}
				}
				for k, o := range ns {
					var mesh []int
					for _, p := range o.r.PubSub().MeshPeers(topic) {
						for q, x := range ns {
							if x.h.ID() == p {
								mesh = append(mesh, q)
							}
						}
					}
					st := o.r.PubSub().Stats()
					t.Logf("node %d mesh %v acc %d rej %d ign %d recv %d dup %d", k, mesh, st.Accepted, st.Rejected, st.Ignored, st.MessagesReceived, st.Duplicates)
				}
				t.Fatalf("message %d missing at node %d; nodes having it: %v", j, i, have)
			}
		}
	}
	time.Sleep(time.Second) // room for late duplicates or leaks
	for i, n := range ns {
		for j, h := range append(valid, hFirst) {
			if c := n.count(h); c != 1 {
				t.Errorf("message %d delivered %d times at node %d", j, c, i)
			}
		}
		if n.count(hSecond) != 0 || n.count(hBad) != 0 {
			t.Errorf("node %d delivered spam (%d) or an invalid proof (%d)", i, n.count(hSecond), n.count(hBad))
		}
	}
	// Stopped at the first hop: the victims rejected, nobody else saw them.
	for i, n := range ns {
		st := n.r.PubSub().Stats()
		isVictim := n == victims[0] || n == victims[1]
		if !isVictim && st.Rejected != 0 {
			t.Errorf("node %d beyond the first hop rejected %d messages", i, st.Rejected)
		}
		if isVictim && st.Rejected != 2 {
			t.Errorf("victim node %d rejected %d messages, want 2", i, st.Rejected)
		}
	}
	for _, v := range victims {
		v.evMu.Lock()
		evs := v.evils
		v.evMu.Unlock()
		if len(evs) != 1 || !evs[0].Secret.Equal(&f.ids[6].Secret) {
			t.Fatalf("victim evidence %v, want member 6's secret", evs)
		}
		eventually(t, "hostile node pruned", 5*time.Second, func() bool {
			if v.r.PubSub().Score(evilHost.ID()) >= 0 {
				return false
			}
			for _, p := range v.r.PubSub().MeshPeers(topic) {
				if p == evilHost.ID() {
					return false
				}
			}
			return true
		})
	}
}
