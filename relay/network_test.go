package relay

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/p2p"
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
	h     *p2p.Host
	r     *Relay
	mu    sync.Mutex
	got   map[wire.MessageHash]int
	sub   *Subscription
	evMu  sync.Mutex
	evils []rln.Evidence
}

func startNetNode(tb testing.TB, f *fixture) *netNode {
	n := &netNode{h: testnet.Host(tb, netCluster), got: map[wire.MessageHash]int{}}
	v, err := NewValidator(ValidatorConfig{
		Group: f.group, Verifier: f.verifier, RLN: true, Signal: rln.SignalTimestamped,
		OnEvidence: func(_ string, ev rln.Evidence) { n.evMu.Lock(); n.evils = append(n.evils, ev); n.evMu.Unlock() },
	})
	if err != nil {
		tb.Fatal(err)
	}
	rc := DefaultRouterConfig()
	rc.Params.HeartbeatInterval = 200 * time.Millisecond
	n.r, err = New(n.h.Libp2p(), Config{ClusterID: netCluster, NumShards: netShards, Validator: v, Router: &rc})
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

// logNetwork logs, for a test that failed, each node's mesh on topic (as
// node indices) and its counters, and which nodes delivered each of
// hashes.
func logNetwork(tb testing.TB, ns []*netNode, topic string, hashes []wire.MessageHash) {
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
		tb.Logf("node %d mesh %v acc %d rej %d ign %d recv %d dup %d", k, mesh, st.Accepted, st.Rejected, st.Ignored, st.MessagesReceived, st.Duplicates)
	}
	for j, h := range hashes {
		var have []int
		for k, o := range ns {
			if o.count(h) > 0 {
				have = append(have, k)
			}
		}
		tb.Logf("message %d delivered at nodes %v", j, have)
	}
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
		testnet.Connect(tb, ns[i].h, ns[(i+1)%n].h)
		if j := rnd.IntN(n); j != i {
			testnet.Connect(tb, ns[i].h, ns[j].h)
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
	evilHost := testnet.Host(t, netCluster)
	rc := DefaultRouterConfig()
	rc.Params.HeartbeatInterval = 200 * time.Millisecond
	evil, err := pubsub.New(evilHost.Libp2p(), pubsub.Config{Router: rc})
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
		testnet.Connect(t, evilHost, v.h)
	}
	for i, n := range ns {
		testnet.WaitFor(t, 10*time.Second, fmt.Sprintf("mesh at node %d", i), func() bool {
			return len(n.r.PubSub().MeshPeers(topic)) >= 2
		})
	}
	testnet.WaitFor(t, 10*time.Second, "victims to see the hostile node", func() bool {
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

	defer func() {
		if t.Failed() {
			logNetwork(t, ns, topic, append(valid, hFirst))
		}
	}()
	for i, n := range ns {
		for j, h := range append(valid, hFirst) {
			testnet.WaitFor(t, 15*time.Second, fmt.Sprintf("message %d at node %d", j, i), func() bool { return n.count(h) >= 1 })
		}
	}
	// Deliberate: wall time must pass to show that nothing more arrives
	// (a late duplicate, spam leaking past the victims); no event marks
	// an absence.
	time.Sleep(time.Second)
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
		testnet.WaitFor(t, 5*time.Second, "the hostile node to be pruned", func() bool {
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
