package gossipsub

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
)

// testNet runs routers against each other on a virtual clock: every RPC
// goes through protobuf encoding, as on the wire, and validation answers
// at once with the net's validator.
type testNet struct {
	t        testing.TB
	now      time.Time
	routers  map[PeerID]*Router
	ids      []PeerID
	links    map[[2]PeerID]bool
	validate func(at PeerID, v Validation) Result
	// delivered[node][msg id] counts deliveries of remote messages.
	delivered map[PeerID]map[string]int
	// copies counts message copies received per message id.
	copies   map[string]int
	sends    []sent
	px       []PeerExchange
	frameMax int
}

type sent struct {
	from, to PeerID
	rpc      *gossipsubpb.RPC
}

func testMsgID(m *gossipsubpb.Message) string {
	s := sha256.Sum256(m.GetData())
	return string(s[:])
}

func newTestNet(t testing.TB, n int, seed uint64, params func(*Params)) *testNet {
	net := &testNet{
		t: t, now: time.Unix(1_700_000_000, 0),
		routers: map[PeerID]*Router{}, links: map[[2]PeerID]bool{},
		delivered: map[PeerID]map[string]int{}, copies: map[string]int{},
		validate: func(PeerID, Validation) Result { return Accept },
	}
	for i := range n {
		id := PeerID(fmt.Sprintf("peer-%02d", i))
		p := DefaultParams()
		if params != nil {
			params(&p)
		}
		r, err := New(Config{Params: p, Score: DefaultScoreParams(), Thresholds: DefaultThresholds(), MsgID: testMsgID, Seed: FixedSeed(seed + uint64(i))})
		if err != nil {
			t.Fatal(err)
		}
		net.routers[id] = r
		net.ids = append(net.ids, id)
		net.delivered[id] = map[string]int{}
		net.frameMax = p.MaxRPCSize
	}
	return net
}

// connect makes a dial b.
func (n *testNet) connect(a, b PeerID) {
	if a == b || n.links[[2]PeerID{a, b}] || n.links[[2]PeerID{b, a}] {
		return
	}
	n.links[[2]PeerID{a, b}] = true
	n.routers[a].AddPeer(n.now, b, Meshsub12, true, "10.0.0."+string(b[len(b)-2:]))
	n.routers[b].AddPeer(n.now, a, Meshsub12, false, "10.0.0."+string(a[len(a)-2:]))
}

func (n *testNet) disconnect(a, b PeerID) {
	delete(n.links, [2]PeerID{a, b})
	delete(n.links, [2]PeerID{b, a})
	n.routers[a].RemovePeer(n.now, b)
	n.routers[b].RemovePeer(n.now, a)
}

func (n *testNet) linked(a, b PeerID) bool {
	return n.links[[2]PeerID{a, b}] || n.links[[2]PeerID{b, a}]
}

// randomTopology connects every node to degree random others.
func (n *testNet) randomTopology(degree int, seed uint64) {
	rnd := rand.New(rand.NewPCG(seed, 1))
	for _, a := range n.ids {
		for range degree {
			n.connect(a, n.ids[rnd.IntN(len(n.ids))])
		}
	}
}

// pump carries RPCs and validations until every router is quiet.
func (n *testNet) pump() {
	for range 1000 {
		busy := false
		for _, id := range n.ids {
			rd := n.routers[id].Ready()
			if rd.Empty() {
				continue
			}
			busy = true
			for _, d := range rd.Deliveries {
				if !d.Local {
					n.delivered[id][d.ID]++
				}
			}
			n.px = append(n.px, rd.PeerExchanges...)
			for _, v := range rd.Validations {
				n.routers[id].ValidationResult(n.now, v.ID, n.validate(id, v))
			}
			for _, s := range rd.Sends {
				b, err := proto.Marshal(s.RPC)
				if err != nil {
					n.t.Fatal(err)
				}
				if len(b) > n.frameMax+1024 {
					n.t.Fatalf("frame of %d bytes from %s", len(b), id)
				}
				n.sends = append(n.sends, sent{from: id, to: s.To, rpc: s.RPC})
				if !n.linked(id, s.To) {
					continue
				}
				var rpc gossipsubpb.RPC
				if err := proto.Unmarshal(b, &rpc); err != nil {
					n.t.Fatal(err)
				}
				for _, m := range rpc.Publish {
					n.copies[testMsgID(m)]++
				}
				n.routers[s.To].HandleRPC(n.now, id, &rpc)
			}
		}
		if !busy {
			return
		}
	}
	n.t.Fatal("network did not settle")
}

func (n *testNet) joinAll(topic string) {
	for _, id := range n.ids {
		n.routers[id].Join(n.now, topic)
	}
	n.pump()
}

func (n *testNet) tick(beats int) {
	for range beats {
		n.now = n.now.Add(time.Second)
		for _, id := range n.ids {
			n.routers[id].Tick(n.now)
		}
		n.pump()
	}
}

func (n *testNet) publish(from PeerID, topic string, data []byte) string {
	id, _, err := n.routers[from].Publish(n.now, topic, data)
	if err != nil {
		n.t.Fatal(err)
	}
	n.pump()
	return id
}

// inject hands router `to` an RPC as if peer `from` sent it.
func (n *testNet) inject(from, to PeerID, rpc *gossipsubpb.RPC) {
	b, _ := proto.Marshal(rpc)
	var dec gossipsubpb.RPC
	if err := proto.Unmarshal(b, &dec); err != nil {
		n.t.Fatal(err)
	}
	n.routers[to].HandleRPC(n.now, from, &dec)
}

func (n *testNet) clearSends() { n.sends = nil }

// sendsTo returns the RPCs sent from a to b since the last clearSends.
func (n *testNet) sendsTo(a, b PeerID) []*gossipsubpb.RPC {
	var out []*gossipsubpb.RPC
	for _, s := range n.sends {
		if s.from == a && s.to == b {
			out = append(out, s.rpc)
		}
	}
	return out
}
