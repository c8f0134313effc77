package pubsub

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/internal/testnet"
	"github.com/rlnd/rlnd/relay/gossipsub"
	"github.com/rlnd/rlnd/wire"
	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
)

const topic = "/waku/2/rs/1/0"

func routerConfig(seed uint64) gossipsub.Config {
	p := gossipsub.DefaultParams()
	p.HeartbeatInterval = 100 * time.Millisecond
	return gossipsub.Config{
		Params: p, Score: gossipsub.DefaultScoreParams(), Thresholds: gossipsub.DefaultThresholds(),
		MsgID: func(m *gossipsubpb.Message) string { return wire.GossipMessageID(m.GetData()) },
		Seed:  gossipsub.FixedSeed(seed),
	}
}

// newHost is a plain libp2p host on loopback. pubsub is tested below the
// metadata check of p2p's hosts (testnet.Host), and its attackers open
// more streams than p2p's resource manager lets a peer have.
func newHost(t testing.TB) host.Host {
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func connect(t testing.TB, a, b host.Host) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
		t.Fatal(err)
	}
}

// rejectPrefix rejects messages whose data starts with a prefix, asynchronously.
type rejectPrefix struct {
	prefix string
	mu     sync.Mutex
	seen   int
}

func (v *rejectPrefix) Validate(id, topic string, data []byte, from peer.ID, done func(gossipsub.Result)) bool {
	v.mu.Lock()
	v.seen++
	v.mu.Unlock()
	go func() {
		if strings.HasPrefix(string(data), v.prefix) {
			done(gossipsub.Reject)
			return
		}
		done(gossipsub.Accept)
	}()
	return true
}

// A line of five nodes: messages published at one end reach the other
// through four hops; rejected ones stop at the first.
func TestLineRelays(t *testing.T) {
	const n = 5
	var hosts []host.Host
	var pss []*PubSub
	var subs []*Subscription
	for i := range n {
		h := newHost(t)
		ps, err := New(h, Config{Router: routerConfig(uint64(i)), Validator: &rejectPrefix{prefix: "bad"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ps.Close() })
		s, err := ps.Subscribe(topic)
		if err != nil {
			t.Fatal(err)
		}
		hosts, pss, subs = append(hosts, h), append(pss, ps), append(subs, s)
	}
	for i := 1; i < n; i++ {
		connect(t, hosts[i-1], hosts[i])
	}
	for i := range n {
		want := 2
		if i == 0 || i == n-1 {
			want = 1
		}
		testnet.WaitFor(t, 10*time.Second, fmt.Sprintf("mesh at node %d", i), func() bool { return len(pss[i].MeshPeers(topic)) == want })
	}
	if _, sent, err := pss[0].Publish(topic, []byte("bad message")); err != nil || sent != 1 {
		t.Fatalf("publish: %d %v", sent, err)
	}
	if _, _, err := pss[0].Publish(topic, []byte("good message")); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < n; i++ {
		select {
		case m := <-subs[i].C():
			if string(m.Data) != "good message" || m.Local {
				t.Fatalf("node %d got %q", i, m.Data)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("node %d got nothing", i)
		}
	}
	// Our own message is delivered locally once.
	for _, want := range []string{"bad message", "good message"} {
		m := <-subs[0].C()
		if string(m.Data) != want || !m.Local {
			t.Fatalf("local delivery %q", m.Data)
		}
	}
	st := pss[1].Stats()
	if st.Rejected != 1 || st.Accepted != 1 {
		t.Fatalf("node 1 stats %+v", st)
	}
	if st := pss[2].Stats(); st.MessagesReceived != 1 {
		t.Fatalf("node 2 received %d messages: the rejected one travelled", st.MessagesReceived)
	}
	if s := pss[1].Score(hosts[0].ID()); s >= 0 {
		t.Fatalf("publisher of a rejected message scores %v", s)
	}
	// Scores reads the same scores, of every peer at once.
	scores := pss[1].Scores()
	if s, ok := scores[hosts[0].ID()]; len(scores) != 2 || !ok || s >= 0 {
		t.Fatalf("node 1 scores %v: want its two neighbours, the publisher's negative", scores)
	}
	if _, ok := scores[hosts[2].ID()]; !ok {
		t.Fatalf("node 1 scores %v: no score for node 2", scores)
	}
}

// A frame over the bound resets the stream and is counted.
func TestOversizedFrame(t *testing.T) {
	a, b := newHost(t), newHost(t)
	ps, err := New(b, Config{Router: routerConfig(1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	connect(t, a, b)
	s, err := a.NewStream(context.Background(), b.ID(), WakuRelayID)
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, ps.maxFrame()+1)
	_ = wire.WriteFrame(s, big)
	testnet.WaitFor(t, 10*time.Second, "bad frame counted", func() bool { return ps.Stats().BadFrames == 1 })
}
